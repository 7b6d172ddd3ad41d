/** One JSON object per line on stdout: easy to read, easy to ship to a log store. */
export function logLine(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), pid: process.pid, ...fields })}\n`);
}
