import { useState } from 'preact/hooks';
import { api, readOnly } from '../api';
import { ErrorNote, JsonView, Pager, shortId, useLoad } from '../components';
import { formatTime, usePrefs } from '../prefs';
import { navigate, type Route } from '../router';
import type { Integration, RawRow, ReplayResult } from '../types';

type Scope = 'job' | 'stream' | 'range';

function ReplayPanel({
  initialJobId,
  initialIntegrationId,
  integrations,
}: {
  initialJobId: string;
  initialIntegrationId: string;
  integrations: Integration[];
}) {
  const [scope, setScope] = useState<Scope>(initialJobId ? 'job' : 'stream');
  const [jobId, setJobId] = useState(initialJobId);
  const [integrationId, setIntegrationId] = useState(initialIntegrationId);
  const [stream, setStream] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [preview, setPreview] = useState<ReplayResult | null>(null);
  const [done, setDone] = useState<ReplayResult | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const chosenIntegration = integrationId || integrations[0]?.id || '';

  const selector = () => {
    if (scope === 'job') return { jobId: jobId.trim() };
    if (scope === 'stream') return { integrationId: chosenIntegration, stream: stream.trim() || undefined };
    return {
      from: from ? new Date(from).toISOString() : '',
      to: to ? new Date(to).toISOString() : '',
      integrationId: chosenIntegration || undefined,
    };
  };
  const run = async (dryRun: boolean) => {
    try {
      setError(undefined);
      const result = await api<ReplayResult>('POST', 'replay', { ...selector(), dryRun });
      if (dryRun) {
        setPreview(result);
        setDone(null);
      } else {
        setDone(result);
        setPreview(null);
      }
    } catch (e) {
      setError(e);
    }
  };
  const changed = () => {
    setPreview(null);
    setDone(null);
  };

  return (
    <form
      class="form card"
      aria-labelledby="replay-title"
      onSubmit={(e) => {
        e.preventDefault();
        void run(true);
      }}
    >
      <h2 id="replay-title">Replay</h2>
      <p>
        Transforms and loads stored raw rows again without calling the source. Preview with a dry run first.
      </p>
      <fieldset onChange={changed}>
        <legend>Which rows</legend>
        <label class="check">
          <input type="radio" name="scope" checked={scope === 'job'} onChange={() => setScope('job')} /> One
          job
        </label>
        <label class="check">
          <input type="radio" name="scope" checked={scope === 'stream'} onChange={() => setScope('stream')} />{' '}
          Integration and stream
        </label>
        <label class="check">
          <input type="radio" name="scope" checked={scope === 'range'} onChange={() => setScope('range')} />{' '}
          Time range
        </label>
      </fieldset>
      {scope === 'job' && (
        <label>
          Job id
          <input
            value={jobId}
            onInput={(e) => {
              setJobId(e.currentTarget.value);
              changed();
            }}
            required
          />
        </label>
      )}
      {scope !== 'job' && (
        <label>
          Integration
          <select
            value={chosenIntegration}
            onChange={(e) => {
              setIntegrationId(e.currentTarget.value);
              changed();
            }}
          >
            {integrations.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {scope === 'stream' && (
        <label>
          Stream (empty = all)
          <input
            value={stream}
            onInput={(e) => {
              setStream(e.currentTarget.value);
              changed();
            }}
          />
        </label>
      )}
      {scope === 'range' && (
        <div class="row">
          <label>
            From
            <input
              type="datetime-local"
              value={from}
              onInput={(e) => {
                setFrom(e.currentTarget.value);
                changed();
              }}
              required
            />
          </label>
          <label>
            To
            <input
              type="datetime-local"
              value={to}
              onInput={(e) => {
                setTo(e.currentTarget.value);
                changed();
              }}
              required
            />
          </label>
        </div>
      )}
      <ErrorNote error={error} />
      <div class="buttons">
        <button type="submit">Preview (dry run)</button>
        {!readOnly && (
          <button type="button" class="primary" disabled={!preview} onClick={() => void run(false)}>
            Replay
          </button>
        )}
      </div>
      {preview && (
        <p role="status" data-testid="replay-preview">
          Dry run: {preview.records} records would be replayed — {preview.counts.inserted} inserted,{' '}
          {preview.counts.updated} updated, {preview.counts.unchanged} unchanged.
        </p>
      )}
      {done && (
        <p role="status" data-testid="replay-result">
          Replay started for {done.records} records.{' '}
          {done.job && (
            <a href={`jobs/${encodeURIComponent(done.job.id)}`}>Follow replay job {shortId(done.job.id)}</a>
          )}
        </p>
      )}
    </form>
  );
}

export function RawPage({ route }: { route: Route }) {
  const prefs = usePrefs();
  const jobId = route.query.get('jobId') ?? '';
  const integrationId = route.query.get('integrationId') ?? '';
  const stream = route.query.get('stream') ?? '';
  const status = route.query.get('status') ?? '';
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const integrations = useLoad(() => api<{ integrations: Integration[] }>('GET', 'integrations'), []);
  const rows = useLoad(
    () =>
      api<{ rows: RawRow[]; total: number }>('GET', 'raw', undefined, {
        jobId,
        integrationId,
        stream,
        status,
        limit: prefs.pageSize,
        offset,
      }),
    [jobId, integrationId, stream, status, offset, prefs.pageSize],
  );
  const detail = useLoad(
    () =>
      selected ? api<{ row: RawRow }>('GET', `raw/${encodeURIComponent(selected)}`) : Promise.resolve(null),
    [selected],
  );
  const setFilter = (key: string, value: string) => {
    const query = new URLSearchParams(route.query);
    if (value) query.set(key, value);
    else query.delete(key);
    setOffset(0);
    navigate(`raw${query.size ? '?' + query.toString() : ''}`, true);
  };

  return (
    <section aria-labelledby="raw-title">
      <h1 id="raw-title">Raw data</h1>
      <form class="filters" aria-label="Raw data filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Job id
          <input value={jobId} onChange={(e) => setFilter('jobId', e.currentTarget.value.trim())} />
        </label>
        <label>
          Integration
          <select value={integrationId} onChange={(e) => setFilter('integrationId', e.currentTarget.value)}>
            <option value="">any</option>
            {(integrations.data?.integrations ?? []).map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Stream
          <input value={stream} onChange={(e) => setFilter('stream', e.currentTarget.value.trim())} />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">any</option>
            <option value="pending">pending</option>
            <option value="loaded">loaded</option>
            <option value="failed">failed</option>
          </select>
        </label>
      </form>
      <ErrorNote error={rows.error} />
      <div class="split">
        <div>
          {rows.data && rows.data.rows.length === 0 && <p class="empty">No raw rows match.</p>}
          {rows.data && rows.data.rows.length > 0 && (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Source id</th>
                    <th scope="col">Stream</th>
                    <th scope="col">Status</th>
                    <th scope="col">Extracted</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.data.rows.map((r) => (
                    <tr key={r.id} class={selected === r.id ? 'selected' : ''}>
                      <td>
                        <button
                          type="button"
                          class="link"
                          onClick={() => setSelected(r.id)}
                          aria-pressed={selected === r.id}
                        >
                          {r.sourceId}
                        </button>
                      </td>
                      <td>
                        {r.stream}
                        {r.partition ? ` · ${r.partition}` : ''}
                      </td>
                      <td>{r.status}</td>
                      <td>{formatTime(r.extractedAt, prefs)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {rows.data && (
            <Pager total={rows.data.total} limit={prefs.pageSize} offset={offset} onChange={setOffset} />
          )}
        </div>
        <div class="card" aria-live="polite">
          <h2>Payload</h2>
          <ErrorNote error={detail.error} />
          {!selected && <p class="empty">Choose a row to see its payload.</p>}
          {detail.data && (
            <>
              <p>
                <code>{detail.data.row.id}</code> · job{' '}
                <a href={`jobs/${encodeURIComponent(detail.data.row.jobId)}`}>
                  {shortId(detail.data.row.jobId)}
                </a>
              </p>
              {detail.data.row.error && <p class="error-text">{detail.data.row.error}</p>}
              <div class="json-box">
                <JsonView value={detail.data.row.payload} />
              </div>
            </>
          )}
        </div>
      </div>
      <ReplayPanel
        key={`${jobId}|${integrationId}`}
        initialJobId={jobId}
        initialIntegrationId={integrationId}
        integrations={integrations.data?.integrations ?? []}
      />
    </section>
  );
}
