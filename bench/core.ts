import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchResult, BenchRow } from './types.js';

interface CaseResult {
  records: number;
  seconds: number;
  recordsPerSecond: number;
  peakRssMb: number;
}

const caseScript = fileURLToPath(new URL('./core-case.ts', import.meta.url));

function runCase(kind: 'engine' | 'baseline', records: number): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=etl-source', '--import', 'tsx', caseScript, kind, String(records)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: process.env,
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${kind} ${records}: exit ${code}\n${out}`));
      resolve(JSON.parse(line) as CaseResult);
    });
  });
}

/** Engine end to end (in-memory queue, real PostgreSQL) next to a hand-written baseline doing the same writes. */
export async function run(): Promise<BenchResult> {
  const sizes = (process.env.BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
  const rows: BenchRow[] = [];
  const results = new Map<string, CaseResult>();
  for (const records of sizes) {
    // Small and mid sizes: three interleaved rounds each, median kept (a shared 2-core machine is noisy).
    const rounds = records <= 100_000 ? 3 : 1;
    const samples: Record<'baseline' | 'engine', CaseResult[]> = { baseline: [], engine: [] };
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['baseline', 'engine'] as const) {
        process.stderr.write(`core: ${kind} ${records} records, round ${round + 1}/${rounds}…\n`);
        samples[kind].push(await runCase(kind, records));
      }
    }
    for (const kind of ['baseline', 'engine'] as const) {
      const sorted = [...samples[kind]].sort((a, b) => a.recordsPerSecond - b.recordsPerSecond);
      const result = sorted[Math.floor(sorted.length / 2)]!;
      results.set(`${kind}:${records}`, result);
      rows.push({
        section: 'core',
        name: `${kind} ${records.toLocaleString('en')} records`,
        value: Math.round(result.recordsPerSecond),
        unit: 'records/s',
        note: `peak RSS ${Math.max(...samples[kind].map((r) => r.peakRssMb)).toFixed(0)} MB, ${result.seconds.toFixed(1)} s${rounds > 1 ? `, median of ${rounds}: ${samples[kind].map((r) => Math.round(r.recordsPerSecond)).join(', ')}` : ''}`,
      });
    }
  }
  const json: Record<string, number> = {};
  const mid = results.get('engine:100000');
  const midBase = results.get('baseline:100000');
  if (mid && midBase) json.ratio = Number((mid.recordsPerSecond / midBase.recordsPerSecond).toFixed(3));
  const big = results.get('engine:1000000');
  if (mid && big) json.rss_growth = Number((big.peakRssMb / mid.peakRssMb).toFixed(3));
  if (mid) json.engine_records_per_s_100k = Math.round(mid.recordsPerSecond);
  return { rows, json };
}
