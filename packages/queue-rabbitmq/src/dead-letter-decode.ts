import type { Message } from 'amqplib';
import type { DeadLetter, Stage } from '@etl/core';

/** Header names the adapter writes on messages it re-routes. */
export const headers = {
  attempt: 'x-etl-attempt',
  error: 'x-etl-error',
  lastError: 'x-etl-last-error',
  deadAt: 'x-etl-dead-at',
} as const;

/** Turns a message held in a dead-letter queue into the DeadLetter core expects. */
export function decodeDeadLetter(message: Message, stage: Stage): DeadLetter {
  const h = (message.properties.headers ?? {}) as Record<string, unknown>;
  const text = message.content.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  const brokerReason = typeof h['x-first-death-reason'] === 'string' ? h['x-first-death-reason'] : undefined;
  const error =
    typeof h[headers.error] === 'string'
      ? h[headers.error]
      : brokerReason === 'delivery_limit'
        ? 'dead-lettered by the broker: delivered too many times without an ack (consumers crashed or lost their connection)'
        : `dead-lettered by the broker (${brokerReason ?? 'unknown reason'})`;
  const deadAt =
    typeof h[headers.deadAt] === 'string'
      ? h[headers.deadAt]
      : (deathTime(h['x-death']) ?? new Date().toISOString());
  return {
    id: String(message.properties.messageId ?? ''),
    stage,
    body,
    error: String(error),
    attempts: Number(h[headers.attempt] ?? 1) || 1,
    deadAt: String(deadAt),
  };
}

function deathTime(xDeath: unknown): string | undefined {
  if (!Array.isArray(xDeath)) return undefined;
  const time = (xDeath[0] as { time?: unknown } | undefined)?.time;
  if (time instanceof Date) return time.toISOString();
  if (typeof time === 'number') return new Date(time * 1000).toISOString();
  const value = (time as { value?: unknown } | undefined)?.value;
  return typeof value === 'number' ? new Date(value * 1000).toISOString() : undefined;
}
