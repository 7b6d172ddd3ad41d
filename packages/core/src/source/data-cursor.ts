/**
 * Where an incremental stream stands, taken from the records themselves: the greatest cursor value seen (a
 * source timestamp or a sequence number) and, among the records sharing it, the greatest id. Never a reading of
 * this machine's clock: the source's clock may be a year ahead or behind, and only its own values compare.
 */
export interface CursorPosition {
  /** The cursor field's value as the source wrote it (ISO timestamp, epoch milliseconds, sequence number). */
  value: string | number;
  /** The id of the last record at `value`, in id order: ties are broken by id. */
  id: string;
}

/** How {@link dataCursor} reads a record: its cursor value and id, and how far back incremental runs look. */
export interface DataCursorOptions<T> {
  /** The record's cursor value (`updated_at`, `fields.updated`, a sequence); null when it has none. */
  cursor(record: T): string | number | null | undefined;
  /** The record's id, the tie-breaker among records sharing a cursor value. */
  id(record: T): string | number;
  /**
   * How far before the saved position an incremental run starts reading again, in the cursor's unit
   * (milliseconds for timestamps): it covers a source whose index lags or whose timestamps are not in commit
   * order. Records re-read this way are upserted again, harmlessly.
   */
  lookback?: number;
}

const numeric = (value: string | number): number => (typeof value === 'number' ? value : Date.parse(value));

/** Orders two positions: by cursor value (timestamps by instant, whatever their offset), then by id. */
export function comparePositions(a: CursorPosition, b: CursorPosition): number {
  const av = numeric(a.value);
  const bv = numeric(b.value);
  if (Number.isFinite(av) && Number.isFinite(bv) && av !== bv) return av < bv ? -1 : 1;
  if (!Number.isFinite(av) || !Number.isFinite(bv)) {
    const as = String(a.value);
    const bs = String(b.value);
    if (as !== bs) return as < bs ? -1 : 1;
  }
  return a.id === b.id ? 0 : compareIds(a.id, b.id);
}

/** Ids compare as numbers when both are numeric (`9` before `10`), otherwise as text. */
function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b) && a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : 1;
}

/**
 * Derives an incremental stream's position from the records it reads.
 *
 * @example
 * const cursor = dataCursor<Item>({ cursor: (i) => i.updated_at, id: (i) => i.id, lookback: 60_000 });
 * const since = cursor.since(checkpoint);          // ISO string to send as `updated_since`, or null
 * position = cursor.advance(position, page.items); // the checkpoint to save with the page
 */
export function dataCursor<T>(options: DataCursorOptions<T>) {
  const lookback = options.lookback ?? 0;
  const positionOf = (record: T): CursorPosition | null => {
    const value = options.cursor(record);
    if (value === null || value === undefined || value === '') return null;
    return { value, id: String(options.id(record)) };
  };
  return {
    positionOf,
    /** The greater of `position` and every record's position: the checkpoint once the records are stored. */
    advance(position: CursorPosition | null, records: Iterable<T>): CursorPosition | null {
      let best = position;
      for (const record of records) {
        const p = positionOf(record);
        if (p && (!best || comparePositions(p, best) > 0)) best = p;
      }
      return best;
    },
    /** True when `record` comes after `position` (a resumed walk skips what it already stored). */
    isAfter(record: T, position: CursorPosition | null): boolean {
      if (!position) return true;
      const p = positionOf(record);
      return !p || comparePositions(p, position) > 0;
    },
    /**
     * Where an incremental read starts: the position's value minus the lookback, in the value's own form
     * (an ISO timestamp stays one, in UTC; a number stays a number). Null without a position.
     */
    since(position: CursorPosition | null): string | number | null {
      if (!position) return null;
      if (typeof position.value === 'number') return position.value - lookback;
      const at = Date.parse(position.value);
      if (!Number.isFinite(at)) return position.value;
      return new Date(at - lookback).toISOString();
    },
  };
}

/** What {@link dataCursor} returns: `advance`, `isAfter`, `since` and `positionOf`. */
export type DataCursor<T> = ReturnType<typeof dataCursor<T>>;
