import { api } from '../api';
import { ErrorNote, useLoad } from '../components';

interface VectorResponse {
  configured: boolean;
  status: null | {
    provider: string;
    collection: string;
    status: string;
    points?: number;
    vectorSize?: number;
    details?: Record<string, unknown>;
  };
}

export function VectorPage() {
  const { data, error } = useLoad(() => api<VectorResponse>('GET', 'vector-index'), [], 10000);
  return (
    <section aria-labelledby="vector-title">
      <h1 id="vector-title">Vector index</h1>
      <ErrorNote error={error} />
      {data && !data.configured && (
        <div class="empty-state">
          <h2>No vector index configured</h2>
          <p>
            When the host runs a vector loader (for example into a Qdrant collection) and passes its status to
            the UI, the collection's state, point count and vector size show here.
          </p>
        </div>
      )}
      {data?.status && (
        <dl class="facts">
          <dt>Provider</dt>
          <dd>{data.status.provider}</dd>
          <dt>Collection</dt>
          <dd>{data.status.collection}</dd>
          <dt>Status</dt>
          <dd>{data.status.status}</dd>
          <dt>Points</dt>
          <dd>{data.status.points ?? '—'}</dd>
          <dt>Vector size</dt>
          <dd>{data.status.vectorSize ?? '—'}</dd>
          {Object.entries(data.status.details ?? {}).map(([k, v]) => [
            <dt key={`k-${k}`}>{k}</dt>,
            <dd key={`v-${k}`}>{String(v)}</dd>,
          ])}
        </dl>
      )}
    </section>
  );
}
