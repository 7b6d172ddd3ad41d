import type { Connector } from '../connector/connector.js';
import type { JobStreamState } from '../model/jobs.js';

/**
 * What to do with a job's waiting streams once one ended: those whose dependencies all succeeded are ready;
 * those with a failed (or skipped) dependency are skipped, naming it — their input is missing, so running them
 * would only produce wrong or partial data (and, against an unreachable source, only more waiting).
 */
export function nextStreams(
  connector: Connector | undefined,
  states: JobStreamState[],
): { ready: string[]; skipped: { stream: string; reason: string }[] } {
  const top = states.filter((st) => st.partition === null);
  const statusOf = new Map(top.map((st) => [st.stream, st.status]));
  const depsOf = (stream: string) =>
    (connector?.streams.find((d) => d.name === stream)?.dependsOn ?? []).filter((d) => statusOf.has(d));
  const skipped: { stream: string; reason: string }[] = [];
  // A skip makes its own dependents skip: repeat until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    for (const st of top) {
      if (statusOf.get(st.stream) !== 'waiting') continue;
      const broken = depsOf(st.stream).find((d) => ['failed', 'skipped'].includes(statusOf.get(d)!));
      if (!broken) continue;
      const why = statusOf.get(broken) === 'failed' ? 'failed' : 'was skipped';
      statusOf.set(st.stream, 'skipped');
      skipped.push({ stream: st.stream, reason: `skipped: ${broken} ${why}` });
      changed = true;
    }
  }
  const ready = top
    .filter((st) => statusOf.get(st.stream) === 'waiting')
    .filter((st) => depsOf(st.stream).every((d) => statusOf.get(d) === 'done'))
    .map((st) => st.stream);
  return { ready, skipped };
}
