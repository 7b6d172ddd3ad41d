/**
 * `pnpm bench`: every section measured in this one run, printed as a table, then one JSON line with the
 * headline ratios. Sections: core (engine vs hand-written baseline), RabbitMQ, Jira, GitHub.
 * BENCH_ONLY=core,jira limits the sections; BENCH_SIZES=10000,100000 the core sizes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResult, BenchRow } from './types.js';

const sections: { name: string; module: string }[] = [
  { name: 'core', module: './core.ts' },
  { name: 'rabbitmq', module: '../packages/queue-rabbitmq/bench/index.ts' },
  { name: 'jira', module: '../packages/connector-jira/bench/index.ts' },
  { name: 'github', module: '../packages/connector-github/bench/index.ts' },
];

const only = process.env.BENCH_ONLY?.split(',');
const rows: BenchRow[] = [];
const json: Record<string, number> = {};
let failed = false;

for (const section of sections) {
  if (only && !only.includes(section.name)) continue;
  const url = new URL(section.module, import.meta.url);
  if (!existsSync(fileURLToPath(url))) continue;
  process.stderr.write(`== ${section.name}\n`);
  try {
    const mod = (await import(url.href)) as { run(): Promise<BenchResult> };
    const result = await mod.run();
    rows.push(...result.rows);
    Object.assign(json, result.json);
  } catch (error) {
    failed = true;
    process.stderr.write(`${section.name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
}

const widths = [10, 44, 14, 12];
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
console.log(line(['section', 'case', 'value', 'unit']) + '  note');
console.log('-'.repeat(100));
for (const row of rows)
  console.log(
    line([row.section, row.name, row.value.toLocaleString('en'), row.unit]) + '  ' + (row.note ?? ''),
  );
console.log(JSON.stringify(json));
process.exit(failed ? 1 : 0);
