import { useEffect, useState } from 'preact/hooks';
import { api, readOnly } from '../api';
import { Dialog, ErrorNote, JsonView, Sparkline, useLoad, useNotice } from '../components';
import { formatTime, usePrefs } from '../prefs';
import type { DeadLetter, QueueStats, Stage } from '../types';

const historyLength = 60;

/** A rate and its recent history; adapters that do not measure rates (the memory queue) show a dash. */
function Rate({ value, history, label }: { value: number | undefined; history: number[]; label: string }) {
  if (value === undefined) return <span aria-label={`${label}: not reported`}>—</span>;
  return (
    <span class="rate">
      {value.toFixed(1)}
      <Sparkline
        values={history}
        label={`${label} over the last ${historyLength} samples`}
        width={60}
        height={18}
      />
    </span>
  );
}

export function QueuesPage() {
  const prefs = usePrefs();
  const stats = useLoad(() => api<{ adapter: string; stages: QueueStats[] }>('GET', 'queues'), [], 2000);
  const [history, setHistory] = useState<
    Record<string, { depth: number[]; publish: number[]; ack: number[] }>
  >({});
  const [stage, setStage] = useState<Stage | ''>('');
  const letters = useLoad(
    () =>
      api<{ deadLetters: DeadLetter[] }>('GET', 'dead-letters', undefined, {
        stage: stage || undefined,
        limit: 200,
      }),
    [stage],
    5000,
  );
  const [inspecting, setInspecting] = useState<DeadLetter | null>(null);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [notice, notify] = useNotice();

  useEffect(() => {
    if (!stats.data) return;
    setHistory((h) => {
      const next = { ...h };
      for (const s of stats.data!.stages) {
        const prev = next[s.stage] ?? { depth: [], publish: [], ack: [] };
        const keep = (values: number[], value: number | undefined) =>
          value === undefined ? values : [...values, value].slice(-historyLength);
        next[s.stage] = {
          depth: keep(prev.depth, s.depth),
          publish: keep(prev.publish, s.publishRate),
          ack: keep(prev.ack, s.ackRate),
        };
      }
      return next;
    });
  }, [stats.data]);

  const act = async (letter: DeadLetter, action: 'replay' | 'discard') => {
    if (action === 'discard' && !confirm(`Discard dead letter ${letter.id} for good?`)) return;
    try {
      setActionError(undefined);
      if (action === 'replay') await api('POST', `dead-letters/${encodeURIComponent(letter.id)}/replay`, {});
      else await api('DELETE', `dead-letters/${encodeURIComponent(letter.id)}`);
      notify(
        action === 'replay'
          ? `Dead letter ${letter.id} put back on the ${letter.stage} queue.`
          : `Dead letter ${letter.id} discarded.`,
      );
      setInspecting(null);
      letters.reload();
      stats.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <section aria-labelledby="queues-title">
      <h1 id="queues-title">Queues</h1>
      <ErrorNote error={stats.error} />
      {stats.data && (
        <>
          <p>
            Adapter <code>{stats.data.adapter}</code> · refreshed every 2 s
          </p>
          <div class="table-wrap">
            <table>
              <caption>Per stage</caption>
              <thead>
                <tr>
                  <th scope="col">Stage</th>
                  <th scope="col">Depth</th>
                  <th scope="col">Depth over time</th>
                  <th scope="col">Unacked</th>
                  <th scope="col">Consumers</th>
                  <th scope="col">Retrying</th>
                  <th scope="col">Dead letters</th>
                  <th scope="col">Publish/s</th>
                  <th scope="col">Ack/s</th>
                </tr>
              </thead>
              <tbody>
                {stats.data.stages.map((s) => (
                  <tr key={s.stage}>
                    <th scope="row">{s.stage}</th>
                    <td>{s.depth}</td>
                    <td>
                      <Sparkline
                        values={history[s.stage]?.depth ?? []}
                        label={`${s.stage} depth over the last ${historyLength} samples`}
                        width={120}
                        height={24}
                      />
                    </td>
                    <td>{s.unacked}</td>
                    <td>{s.consumers}</td>
                    <td>{s.retrying}</td>
                    <td>{s.deadLetters}</td>
                    <td>
                      <Rate
                        value={s.publishRate}
                        history={history[s.stage]?.publish ?? []}
                        label={`${s.stage} publish rate`}
                      />
                    </td>
                    <td>
                      <Rate
                        value={s.ackRate}
                        history={history[s.stage]?.ack ?? []}
                        label={`${s.stage} ack rate`}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <div class="page-head">
        <h2 id="dead-letters-title">Dead letters</h2>
        <label>
          Stage
          <select value={stage} onChange={(e) => setStage(e.currentTarget.value as Stage | '')}>
            <option value="">all</option>
            <option value="extract">extract</option>
            <option value="transform">transform</option>
            <option value="load">load</option>
          </select>
        </label>
      </div>
      {notice}
      <ErrorNote error={letters.error ?? actionError} />
      {letters.data && letters.data.deadLetters.length === 0 && <p class="empty">No dead letters.</p>}
      {letters.data && letters.data.deadLetters.length > 0 && (
        <div class="table-wrap">
          <table aria-labelledby="dead-letters-title">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Stage</th>
                <th scope="col">Error</th>
                <th scope="col">Attempts</th>
                <th scope="col">Dead since</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {letters.data.deadLetters.map((d) => (
                <tr key={d.id}>
                  <td>
                    <code>{d.id}</code>
                  </td>
                  <td>{d.stage}</td>
                  <td class="error-text">{d.error}</td>
                  <td>{d.attempts}</td>
                  <td>{formatTime(d.deadAt, prefs)}</td>
                  <td class="actions">
                    <button
                      type="button"
                      onClick={() => setInspecting(d)}
                      aria-label={`Inspect dead letter ${d.id}`}
                    >
                      Inspect
                    </button>
                    {!readOnly && (
                      <>
                        <button
                          type="button"
                          onClick={() => void act(d, 'replay')}
                          aria-label={`Replay dead letter ${d.id}`}
                        >
                          Replay
                        </button>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => void act(d, 'discard')}
                          aria-label={`Discard dead letter ${d.id}`}
                        >
                          Discard
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog
        title={`Dead letter ${inspecting?.id ?? ''}`}
        open={inspecting !== null}
        onClose={() => setInspecting(null)}
      >
        {inspecting && (
          <div>
            <p>
              Stage <strong>{inspecting.stage}</strong>, {inspecting.attempts} attempts, dead since{' '}
              {formatTime(inspecting.deadAt, prefs)}
            </p>
            <p class="error-text">{inspecting.error}</p>
            <h3>Message body</h3>
            <div class="json-box">
              <JsonView value={inspecting.body} />
            </div>
            {!readOnly && (
              <div class="buttons">
                <button type="button" class="primary" onClick={() => void act(inspecting, 'replay')}>
                  Replay this message
                </button>
                <button type="button" class="danger" onClick={() => void act(inspecting, 'discard')}>
                  Discard
                </button>
              </div>
            )}
          </div>
        )}
      </Dialog>
    </section>
  );
}
