/** Anything with case-insensitive header lookup: fetch `Headers`, or a plain record of lower-case names. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The source's clock minus ours, from its `Date` header: a `Retry-After` HTTP-date or an epoch reset is an
 * instant on the source's clock, and is turned into ours with this offset.
 */
function sourceClockOffset(headers: HeaderSource, now: number): number {
  const date = header(headers, 'date');
  const at = date ? Date.parse(date) : NaN;
  // The Date header has one-second precision: its offset is only trusted when it says more than that.
  return Number.isFinite(at) && Math.abs(at - now) > 2000 ? at - now : 0;
}

function absolute(text: string, offset: number): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    // Epoch seconds (GitHub's X-RateLimit-Reset) or epoch milliseconds.
    return (value > 1e11 ? value : value * 1000) - offset;
  }
  const at = Date.parse(text);
  return Number.isFinite(at) ? at - offset : null;
}

/**
 * When the source lets the client send again, on this process's clock, from a throttled response's headers:
 * the latest of `Retry-After` (seconds or HTTP-date), `X-RateLimit-Reset` / `X-RateLimit-Reset-After` and
 * `RateLimit-Reset` (seconds from now). Null when the response names no instant.
 *
 * @example
 * retryAt(new Headers({ 'retry-after': '2' }), 1_000) // → Date(3_000)
 */
export function retryAt(headers: HeaderSource, now = Date.now()): Date | null {
  const offset = sourceClockOffset(headers, now);
  const candidates: number[] = [];
  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) candidates.push(now + Number(retryAfter) * 1000);
    else {
      const at = Date.parse(retryAfter);
      if (Number.isFinite(at)) candidates.push(at - offset);
    }
  }
  const reset = header(headers, 'x-ratelimit-reset')?.trim();
  if (reset) {
    const at = absolute(reset, offset);
    if (at !== null) candidates.push(at);
  }
  for (const name of ['x-ratelimit-reset-after', 'ratelimit-reset']) {
    const seconds = Number(header(headers, name));
    if (Number.isFinite(seconds) && seconds >= 0 && header(headers, name))
      candidates.push(now + seconds * 1000);
  }
  return candidates.length ? new Date(Math.max(...candidates)) : null;
}

/** True when the response says this was the last request the window allows (`X-RateLimit-Remaining: 0`). */
export function windowSpent(headers: HeaderSource): boolean {
  const remaining = header(headers, 'x-ratelimit-remaining') ?? header(headers, 'ratelimit-remaining');
  return remaining !== undefined && remaining.trim() === '0';
}
