/** One figure printed in the benchmark table. */
export interface BenchRow {
  section: string;
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** What each package's `bench/index.ts` returns from `run()`. */
export interface BenchResult {
  rows: BenchRow[];
  /** Keys merged into the final JSON line (e.g. `ratio`, `rabbit_ratio`). */
  json: Record<string, number>;
}
