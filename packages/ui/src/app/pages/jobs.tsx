import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, apiUrl, readOnly } from '../api';
import { Dialog, ErrorNote, Pager, Sparkline, StatusBadge, shortId, useLoad } from '../components';
import { formatTime, usePrefs } from '../prefs';
import { navigate, type Route } from '../router';
import {
  finishedStatuses,
  jobStatuses,
  type ConnectorInfo,
  type EngineEvent,
  type Integration,
  type Job,
  type StreamState,
} from '../types';

function JobActions({ job, onChange }: { job: Job; onChange: (job: Job) => void }) {
  const [error, setError] = useState<unknown>(undefined);
  if (readOnly) return null;
  const act = (action: 'pause' | 'resume' | 'cancel') => async () => {
    try {
      setError(undefined);
      onChange((await api<{ job: Job }>('POST', `jobs/${encodeURIComponent(job.id)}/${action}`, {})).job);
    } catch (e) {
      setError(e);
    }
  };
  const finished = finishedStatuses.includes(job.status);
  return (
    <span class="actions">
      {(job.status === 'running' || job.status === 'queued') && (
        <button type="button" onClick={act('pause')} aria-label={`Pause job ${job.id}`}>
          Pause
        </button>
      )}
      {job.status === 'paused' && (
        <button type="button" onClick={act('resume')} aria-label={`Resume job ${job.id}`}>
          Resume
        </button>
      )}
      {!finished && (
        <button type="button" class="danger" onClick={act('cancel')} aria-label={`Cancel job ${job.id}`}>
          Cancel
        </button>
      )}
      <ErrorNote error={error} />
    </span>
  );
}

function StartJobDialog({
  open,
  onClose,
  onStarted,
}: {
  open: boolean;
  onClose: () => void;
  onStarted: (job: Job) => void;
}) {
  const { data: integrations } = useLoad(
    () => api<{ integrations: Integration[] }>('GET', 'integrations'),
    [open],
  );
  const { data: connectors } = useLoad(() => api<{ connectors: ConnectorInfo[] }>('GET', 'connectors'), []);
  const [integrationId, setIntegrationId] = useState('');
  const [mode, setMode] = useState('incremental');
  const [streams, setStreams] = useState<string[]>([]);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const list = integrations?.integrations ?? [];
  const selected = list.find((i) => i.id === integrationId) ?? list[0];
  const available = connectors?.connectors.find((c) => c.name === selected?.connector)?.streams ?? [];

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!selected) return;
    const window =
      mode === 'backfill' && (from || to)
        ? {
            from: from ? new Date(from).toISOString() : undefined,
            to: to ? new Date(to).toISOString() : undefined,
          }
        : undefined;
    try {
      setError(undefined);
      const { job } = await api<{ job: Job }>('POST', 'jobs', {
        integrationId: selected.id,
        mode,
        streams: streams.length > 0 ? streams : undefined,
        window,
      });
      onStarted(job);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <Dialog title="Start a job" open={open} onClose={onClose}>
      {list.length === 0 ? (
        <p>
          No integrations yet. <a href="integrations">Create one</a> first.
        </p>
      ) : (
        <form onSubmit={submit} class="form">
          <label>
            Integration
            <select
              value={selected?.id}
              onChange={(e) => {
                setIntegrationId(e.currentTarget.value);
                setStreams([]);
              }}
            >
              {list.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name} ({i.connector})
                </option>
              ))}
            </select>
          </label>
          <label>
            Mode
            <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
              <option value="incremental">incremental</option>
              <option value="full">full</option>
              <option value="backfill">backfill</option>
            </select>
          </label>
          {mode === 'backfill' && (
            <div class="row">
              <label>
                From
                <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
              </label>
              <label>
                To
                <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
              </label>
            </div>
          )}
          {available.length > 0 && (
            <fieldset>
              <legend>Streams (none ticked = all)</legend>
              {available.map((s) => (
                <label key={s.name} class="check">
                  <input
                    type="checkbox"
                    checked={streams.includes(s.name)}
                    onChange={(e) =>
                      setStreams(
                        e.currentTarget.checked ? [...streams, s.name] : streams.filter((n) => n !== s.name),
                      )
                    }
                  />
                  {s.name}
                </label>
              ))}
            </fieldset>
          )}
          <ErrorNote error={error} />
          <div class="buttons">
            <button type="submit" class="primary">
              Start
            </button>
            <button type="button" onClick={onClose}>
              Close
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

export function JobsPage({ route }: { route: Route }) {
  const prefs = usePrefs();
  const status = route.query.get('status') ?? '';
  const integration = route.query.get('integration') ?? '';
  const connector = route.query.get('connector') ?? '';
  const [offset, setOffset] = useState(0);
  const [starting, setStarting] = useState(route.query.get('start') === '1');
  const { data, error, reload } = useLoad(
    () =>
      api<{ jobs: Job[]; total: number }>('GET', 'jobs', undefined, {
        status,
        integration,
        connector,
        limit: prefs.pageSize,
        offset,
      }),
    [status, integration, connector, offset, prefs.pageSize],
    3000,
  );
  const { data: integrations } = useLoad(
    () => api<{ integrations: Integration[] }>('GET', 'integrations'),
    [],
  );
  const names = new Map((integrations?.integrations ?? []).map((i) => [i.id, i.name]));
  const connectors = [...new Set((integrations?.integrations ?? []).map((i) => i.connector))];
  const setFilter = (key: string, value: string) => {
    const query = new URLSearchParams(route.query);
    if (value) query.set(key, value);
    else query.delete(key);
    setOffset(0);
    navigate(`jobs${query.size ? '?' + query.toString() : ''}`, true);
  };

  return (
    <section aria-labelledby="jobs-title">
      <div class="page-head">
        <h1 id="jobs-title">Jobs</h1>
        {!readOnly && (
          <button type="button" class="primary" onClick={() => setStarting(true)}>
            Start job
          </button>
        )}
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Job filters">
        <label>
          Status
          <select value={status} onChange={(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">any</option>
            {jobStatuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Integration
          <select value={integration} onChange={(e) => setFilter('integration', e.currentTarget.value)}>
            <option value="">any</option>
            {(integrations?.integrations ?? []).map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Connector
          <select value={connector} onChange={(e) => setFilter('connector', e.currentTarget.value)}>
            <option value="">any</option>
            {connectors.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      <JobTable jobs={data?.jobs ?? []} names={names} onChange={reload} />
      {data && <Pager total={data.total} limit={prefs.pageSize} offset={offset} onChange={setOffset} />}
      <StartJobDialog
        open={starting}
        onClose={() => setStarting(false)}
        onStarted={(job) => {
          setStarting(false);
          navigate(`jobs/${encodeURIComponent(job.id)}`);
        }}
      />
    </section>
  );
}

export function JobTable({
  jobs,
  names,
  onChange,
}: {
  jobs: Job[];
  names: Map<string, string>;
  onChange?: () => void;
}) {
  const prefs = usePrefs();
  if (jobs.length === 0) return <p class="empty">No jobs match.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Integration</th>
            <th scope="col">Mode</th>
            <th scope="col">Status</th>
            <th scope="col">Loaded</th>
            <th scope="col">Failed</th>
            <th scope="col">Created</th>
            <th scope="col">Duration</th>
            {!readOnly && onChange && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id}>
              <td>
                <a href={`jobs/${encodeURIComponent(job.id)}`}>{shortId(job.id)}</a>
              </td>
              <td>{names.get(job.integrationId) ?? job.integrationId}</td>
              <td>{job.mode}</td>
              <td>
                <StatusBadge status={job.status} />
              </td>
              <td>{job.counters.loaded}</td>
              <td>{job.counters.failed}</td>
              <td>{formatTime(job.createdAt, prefs)}</td>
              <td>{duration(job)}</td>
              {!readOnly && onChange && (
                <td>
                  <JobActions job={job} onChange={onChange} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface LiveState {
  job: Job | null;
  streams: Map<string, StreamState & { done?: boolean; rate?: number }>;
  throughput: number[];
  events: EngineEvent[];
  throttledUntil: { until: string; reason: string } | null;
  connected: boolean;
}

function streamKey(stream: string, partition: string | null): string {
  return partition ? `${stream} · ${partition}` : stream;
}

/** Follows a job through `GET api/jobs/:id/events`; EventSource resumes with Last-Event-ID by itself. */
function useJobEvents(jobId: string): [LiveState, (job: Job) => void] {
  const [state, setState] = useState<LiveState>({
    job: null,
    streams: new Map(),
    throughput: [],
    events: [],
    connected: false,
    throttledUntil: null,
  });
  useEffect(() => {
    const source = new EventSource(apiUrl(`jobs/${encodeURIComponent(jobId)}/events`));
    const update = (fn: (s: LiveState) => LiveState) => setState((s) => fn(s));
    const onSnapshot = (message: MessageEvent<string>) => {
      const job = JSON.parse(message.data) as Job;
      update((s) => {
        const streams = new Map(s.streams);
        for (const st of job.streamStates ?? []) {
          const key = streamKey(st.stream, st.partition);
          streams.set(key, { ...streams.get(key), ...st, done: st.status === 'done' });
        }
        return { ...s, job, streams };
      });
    };
    source.addEventListener('open', () => update((s) => ({ ...s, connected: true })));
    source.addEventListener('error', () => update((s) => ({ ...s, connected: false })));
    source.addEventListener('job', onSnapshot);
    source.addEventListener('end', (message) => {
      onSnapshot(message as MessageEvent<string>);
      source.close();
      update((s) => ({ ...s, connected: false }));
    });
    const onEvent = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as EngineEvent;
      update((s) => {
        const events = [...s.events.slice(-199), event];
        if (event.type === 'job.progress' && s.job)
          return { ...s, events, job: { ...s.job, counters: event.counters } };
        if (event.type === 'job.status' && s.job)
          return { ...s, events, job: { ...s.job, status: event.status } };
        if (event.type === 'error' && s.job) {
          const error = { at: event.at, stage: event.stage, stream: event.stream, message: event.message };
          return { ...s, events, job: { ...s.job, errors: [...s.job.errors, error] } };
        }
        if (event.type === 'stream.progress') {
          const streams = new Map(s.streams);
          const key = streamKey(event.stream, event.partition);
          const before = streams.get(key);
          streams.set(key, {
            stream: event.stream,
            partition: event.partition,
            status: event.done ? 'done' : 'running',
            failed: before?.failed ?? 0,
            error: before?.error ?? null,
            extracted: event.extracted,
            loaded: event.loaded,
            pages: event.pages,
            done: event.done,
            rate: event.recordsPerSecond,
          });
          const total = [...streams.values()].reduce((sum, st) => sum + (st.done ? 0 : (st.rate ?? 0)), 0);
          return { ...s, events, streams, throughput: [...s.throughput.slice(-59), total] };
        }
        if (event.type === 'throttled')
          return { ...s, events, throttledUntil: { until: event.until, reason: event.reason } };
        return { ...s, events };
      });
    };
    for (const type of [
      'job.status',
      'job.progress',
      'stream.progress',
      'throttled',
      'error',
      'dead_letter',
    ]) {
      source.addEventListener(type, onEvent as EventListener);
    }
    return () => source.close();
  }, [jobId]);
  return [state, (job) => setState((s) => ({ ...s, job: { ...job, streamStates: s.job?.streamStates } }))];
}

/** How long a job ran (or has been running), as `1h 2m 3s`. */
export function duration(job: Job, now = Date.now()): string {
  if (!job.startedAt) return '—';
  const end = job.finishedAt ? new Date(job.finishedAt).getTime() : now;
  let seconds = Math.max(0, Math.round((end - new Date(job.startedAt).getTime()) / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  parts.push(`${seconds}s`);
  return parts.join(' ');
}

function percent(loaded: number, extracted: number, done: boolean): number {
  if (extracted === 0) return done ? 100 : 0;
  return Math.min(100, Math.round((loaded / extracted) * 100));
}

export function JobDetailPage({ jobId }: { jobId: string }) {
  const prefs = usePrefs();
  const [live, setJob] = useJobEvents(jobId);
  const { error } = useLoad(() => api<{ job: Job }>('GET', `jobs/${encodeURIComponent(jobId)}`), [jobId]);
  const job = live.job;
  const streams = useMemo(
    () => [...live.streams.entries()].sort(([a], [b]) => a.localeCompare(b)),
    [live.streams],
  );
  if (error) return <ErrorNote error={error} />;
  if (!job) return <p aria-busy="true">Loading job…</p>;
  const finished = finishedStatuses.includes(job.status);
  const overall =
    finished && job.status === 'succeeded'
      ? 100
      : percent(job.counters.loaded, job.counters.extracted, finished);
  return (
    <section aria-labelledby="job-title">
      <p>
        <a href="jobs">← Jobs</a>
      </p>
      <div class="page-head">
        <h1 id="job-title">
          Job <code>{shortId(job.id)}</code> <StatusBadge status={job.status} />
        </h1>
        <JobActions job={job} onChange={setJob} />
      </div>
      <dl class="facts">
        <dt>Integration</dt>
        <dd>{job.integrationId}</dd>
        <dt>Connector</dt>
        <dd>{job.connector}</dd>
        <dt>Mode</dt>
        <dd>{job.mode}</dd>
        <dt>Requested by</dt>
        <dd>{job.requestedBy ?? '—'}</dd>
        <dt>Created</dt>
        <dd>{formatTime(job.createdAt, prefs)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(job.startedAt, prefs)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(job.finishedAt, prefs)}</dd>
        <dt>Duration</dt>
        <dd>{duration(job)}</dd>
        <dt>Live updates</dt>
        <dd>{live.connected ? 'connected' : finished ? 'job finished' : 'reconnecting…'}</dd>
      </dl>
      <h2>Progress</h2>
      <div class="progress-row">
        <label for="job-progress">Overall</label>
        <progress
          id="job-progress"
          max={100}
          value={overall}
          aria-valuetext={`${overall}%`}
          data-status={job.status}
        />
        <span class="pct" data-testid="job-progress-text">
          {overall}%
        </span>
      </div>
      <p class="counters">
        extracted {job.counters.extracted} · transformed {job.counters.transformed} · loaded{' '}
        {job.counters.loaded} · failed {job.counters.failed} · inserted {job.counters.inserted} · updated{' '}
        {job.counters.updated} · unchanged {job.counters.unchanged}
      </p>
      <div class="throughput">
        <span>Throughput (records/s)</span>
        <Sparkline
          values={live.throughput}
          label={`Throughput, latest ${Math.round(live.throughput.at(-1) ?? 0)} records per second`}
        />
      </div>
      {streams.length > 0 && (
        <ul class="streams" aria-label="Per-stream progress">
          {streams.map(([key, st]) => {
            const pct = percent(st.loaded, st.extracted, st.done ?? false);
            const id = `stream-${key.replace(/[^a-z0-9]/gi, '-')}`;
            return (
              <li key={key}>
                <label for={id}>{key}</label>
                <progress id={id} max={100} value={pct} />
                <span class="pct">
                  {pct}% · {st.loaded}/{st.extracted} · {st.status}
                  {st.error && <span class="error-text"> · {st.error}</span>}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {live.throttledUntil && !finished && new Date(live.throttledUntil.until).getTime() > Date.now() && (
        <p class="notice" role="status">
          Throttled by the source until {formatTime(live.throttledUntil.until, prefs)}:{' '}
          {live.throttledUntil.reason}
        </p>
      )}
      <h2>Errors</h2>
      {job.errors.length === 0 ? (
        <p class="empty">No errors.</p>
      ) : (
        <ul class="errors">
          {job.errors.map((e, i) => (
            <li key={i}>
              <time>{formatTime(e.at, prefs)}</time> <strong>{e.stage}</strong>
              {e.stream ? ` · ${e.stream}` : ''}: <span class="error-text">{e.message}</span>
            </li>
          ))}
        </ul>
      )}
      <details>
        <summary>Event history ({live.events.length})</summary>
        <ol class="event-log">
          {live.events.map((e) => (
            <li key={e.id}>
              <code>#{e.id}</code> {formatTime(e.at, prefs)} {e.type}
            </li>
          ))}
        </ol>
      </details>
      <p>
        <a href={`raw?jobId=${encodeURIComponent(job.id)}`}>Raw data of this job</a>
      </p>
    </section>
  );
}
