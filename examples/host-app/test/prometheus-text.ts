/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests, checking what
 * `promtool check metrics` checks: every family has HELP and TYPE before its samples, metric and label
 * names are valid, counters end in `_total`, no series appears twice, and each histogram series has
 * cumulative buckets ending in `+Inf` equal to its `_count`, plus a `_sum`. Throws naming the first problem.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = /^([^=]+)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
    if (!match) throw new Error(`bad labels in: ${line}`);
    const [whole, name, raw] = match;
    if (!labelName.test(name!) || name!.startsWith('__'))
      throw new Error(`bad label name ${name} in: ${line}`);
    if (name! in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name!] = raw!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const seriesSeen = new Set<string>();
  let current: Family | undefined;
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!metricName.test(name!)) throw new Error(`bad metric name ${name}`);
      let family = families.get(name!);
      if (!family) {
        family = { name: name!, help: '', type: 'untyped', samples: [] };
        families.set(name!, family);
      } else if (family.samples.length > 0) throw new Error(`${kind} for ${name} after its samples`);
      if (kind === 'HELP') family.help = rest!;
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!))
          throw new Error(`bad TYPE ${rest} for ${name}`);
        family.type = rest as Family['type'];
      }
      current = family;
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    if (!sample) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, valueText] = sample;
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value in: ${line}`);
    const suffixes =
      current?.type === 'histogram'
        ? ['_bucket', '_sum', '_count']
        : current?.type === 'summary'
          ? ['_sum', '_count', '']
          : [''];
    if (!current || !suffixes.some((s) => name === `${current!.name}${s}`))
      throw new Error(`sample ${name} outside its family (TYPE and HELP come first)`);
    const labels = parseLabels(labelText ?? '', line);
    const key = `${name}{${Object.entries(labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}}`;
    if (seriesSeen.has(key)) throw new Error(`series ${key} appears twice`);
    seriesSeen.add(key);
    current.samples.push({ name: name!, labels, value });
  }
  for (const family of families.values()) {
    if (family.help === '') throw new Error(`${family.name} has no HELP`);
    if (family.type === 'untyped') throw new Error(`${family.name} has no TYPE`);
    if (family.type === 'counter' && !family.name.endsWith('_total'))
      throw new Error(`counter ${family.name} should end in _total`);
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${s.name} bucket without le`);
      entry.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith('_sum')) entry.sum = s.value;
    else entry.count = s.value;
  }
  for (const [key, entry] of series) {
    const sorted = [...entry.buckets].sort((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${family.name} ${key} has no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i]![1] < sorted[i - 1]![1])
        throw new Error(`${family.name} ${key} buckets are not cumulative`);
    if (entry.count !== sorted.at(-1)![1])
      throw new Error(`${family.name} ${key}: +Inf bucket differs from _count`);
    if (entry.sum === undefined) throw new Error(`${family.name} ${key} has no _sum`);
  }
}

/** The series of a histogram family: one entry per label set (without `le`), with its count. */
export function histogramSeries(family: Family): { labels: Record<string, string>; count: number }[] {
  return family.samples
    .filter((s) => s.name === `${family.name}_count`)
    .map((s) => ({ labels: s.labels, count: s.value }));
}
