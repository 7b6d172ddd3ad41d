import Table from 'cli-table3';
import type { Job, JobStreamState } from '@etl/core';

/** A borderless table for terminals (cli-table3): a header, a rule, one row per line; numbers right-aligned. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const t = new Table({
    head: headers,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '─',
      'mid-mid': '  ',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colAligns: headers.map((_, i) =>
      i === 0 || rows.some((r) => typeof r[i] !== 'number') ? 'left' : 'right',
    ),
  });
  t.push(...rows.map((r) => r.map(String)));
  const [head, ...body] = t.toString().split('\n');
  const rule = headers.map((h, i) =>
    '─'.repeat(Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length))),
  );
  return [
    head!.trimEnd(),
    rule.join('  '),
    ...body.filter((l) => !/^[─ ]+$/.test(l)).map((l) => l.trimEnd()),
  ].join('\n');
}

export function streamLabel(s: Pick<JobStreamState, 'stream' | 'partition'>): string {
  return s.partition ? `${s.stream} [${s.partition}]` : s.stream;
}

export function jobSummary(job: Job): string {
  const rows = (job.streamStates ?? []).map((s) => [
    streamLabel(s),
    s.status,
    s.pages,
    s.extracted,
    s.loaded,
    s.failed,
  ]);
  const c = job.counters;
  const took =
    job.startedAt && job.finishedAt
      ? `${((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000).toFixed(1)} s`
      : '—';
  return [
    table(['stream', 'status', 'pages', 'extracted', 'loaded', 'failed'], rows),
    '',
    `job ${job.id} ${job.status} in ${took} — extracted ${c.extracted}, loaded ${c.loaded} ` +
      `(inserted ${c.inserted}, updated ${c.updated}, unchanged ${c.unchanged}), failed ${c.failed}`,
    ...job.errors
      .slice(0, 5)
      .map((e) => `  error [${e.stage}${e.stream ? ` ${e.stream}` : ''}] ${e.message}`),
  ].join('\n');
}

/** Levenshtein distance, for "did you mean …" on a mistyped command. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}
