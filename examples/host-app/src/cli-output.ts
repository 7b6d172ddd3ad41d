import type { Job, JobStreamState } from '@etl/core';

/** A fixed-width table for terminals; columns sized to their widest cell. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function streamLabel(s: JobStreamState): string {
  return s.partition ? `${s.stream} [${s.partition}]` : s.stream;
}

/** One bar per stream: loaded out of extracted, and the stream's status. */
export function progressLines(job: Job, width = 24): string[] {
  const states = job.streamStates ?? [];
  const labelWidth = Math.max(10, ...states.map((s) => streamLabel(s).length));
  return states.map((s) => {
    const done = s.status === 'done';
    const ratio = s.extracted === 0 ? (done ? 1 : 0) : Math.min(1, s.loaded / s.extracted);
    const filled = Math.round(ratio * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    return `${streamLabel(s).padEnd(labelWidth)} ${bar} ${String(s.loaded).padStart(7)}/${String(s.extracted).padEnd(7)} ${s.status}`;
  });
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

/** Rewrites the same block of lines in place on a terminal. */
export function liveBlock(stream: NodeJS.WriteStream): { render(lines: string[]): void; done(): void } {
  let shown = 0;
  return {
    render(lines) {
      if (shown > 0) stream.write(`\x1b[${shown}A`);
      for (const l of lines) stream.write(`\x1b[2K${l}\n`);
      shown = lines.length;
    },
    done() {
      shown = 0;
    },
  };
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
