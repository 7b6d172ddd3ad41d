/**
 * The container's HEALTHCHECK: exits 0 when the app on this machine answers `/healthz` within 2 s.
 * (Readiness, which needs the database and the queue, is `/readyz`; a health check that restarts the
 * container must not depend on them.)
 */
const port = process.env.PORT || '3000';
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
