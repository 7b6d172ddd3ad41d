import { api } from '../api';
import { ErrorNote, StatusBadge, useLoad } from '../components';
import type { Integration, Job, QueueStats } from '../types';
import { JobTable } from './jobs';

export function HomePage() {
  const recent = useLoad(
    () => api<{ jobs: Job[]; total: number }>('GET', 'jobs', undefined, { limit: 8 }),
    [],
    5000,
  );
  const failed = useLoad(
    () => api<{ jobs: Job[]; total: number }>('GET', 'jobs', undefined, { status: 'failed', limit: 5 }),
    [],
    10000,
  );
  const partial = useLoad(
    () => api<{ jobs: Job[]; total: number }>('GET', 'jobs', undefined, { status: 'partial', limit: 5 }),
    [],
    10000,
  );
  const queues = useLoad(() => api<{ adapter: string; stages: QueueStats[] }>('GET', 'queues'), [], 5000);
  const integrations = useLoad(() => api<{ integrations: Integration[] }>('GET', 'integrations'), []);
  const names = new Map((integrations.data?.integrations ?? []).map((i) => [i.id, i.name]));
  const failures = [...(failed.data?.jobs ?? []), ...(partial.data?.jobs ?? [])].sort((a, b) =>
    b.createdAt.localeCompare(a.createdAt),
  );
  const deadLetters = (queues.data?.stages ?? []).reduce((n, s) => n + s.deadLetters, 0);
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">Overview</h1>
      <div class="cards">
        <div class="card">
          <h2>Queue health</h2>
          <ErrorNote error={queues.error} />
          {queues.data && (
            <>
              <p>
                Adapter <code>{queues.data.adapter}</code>
              </p>
              <ul class="plain">
                {queues.data.stages.map((s) => (
                  <li key={s.stage}>
                    <strong>{s.stage}</strong>: {s.depth} waiting, {s.unacked} in flight, {s.consumers}{' '}
                    consumers
                  </li>
                ))}
              </ul>
              <p>
                {deadLetters === 0 ? (
                  'No dead letters.'
                ) : (
                  <a href="queues">{deadLetters} dead letters to inspect</a>
                )}
              </p>
            </>
          )}
        </div>
        <div class="card">
          <h2>Failures</h2>
          {failures.length === 0 ? (
            <p class="empty">No failed or partial jobs.</p>
          ) : (
            <ul class="plain">
              {failures.slice(0, 5).map((j) => (
                <li key={j.id}>
                  <a href={`jobs/${encodeURIComponent(j.id)}`}>
                    {names.get(j.integrationId) ?? j.integrationId}
                  </a>{' '}
                  <StatusBadge status={j.status} />{' '}
                  <span class="error-text">{j.errors.at(-1)?.message ?? ''}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <h2>Recent jobs</h2>
      <ErrorNote error={recent.error} />
      <JobTable jobs={recent.data?.jobs ?? []} names={names} />
      <p>
        <a href="jobs">All jobs</a>
      </p>
    </section>
  );
}
