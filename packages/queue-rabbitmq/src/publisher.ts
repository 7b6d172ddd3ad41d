import type { Options } from 'amqplib';
import { EtlError, sleep } from '@etl/core';
import type { BrokerConnection, Session } from './connection.js';

export interface OutgoingMessage {
  queue: string;
  content: Buffer;
  properties: Options.Publish;
}

export interface PublishOptions {
  /** Epoch ms after which unconfirmed messages make the publish fail. */
  deadline: number;
  /** Unconfirmed messages allowed in flight. */
  window: number;
  /** For error messages: what was being published. */
  what: string;
  /**
   * Publish on this session only. Used when re-routing a delivery (retry, dead letter): if that
   * connection is gone, the broker has already requeued the original, so a copy would be a duplicate.
   */
  session?: Session;
}

/**
 * Publishes with publisher confirms, keeping up to `window` messages unconfirmed at once (no round
 * trip per message). Messages not confirmed because the connection dropped are published again on the
 * next connection until the deadline; a message can therefore arrive twice, never zero times.
 */
export async function publishConfirmed(
  connection: BrokerConnection,
  messages: OutgoingMessage[],
  options: PublishOptions,
): Promise<void> {
  let pending = messages;
  let round = 0;
  while (pending.length > 0) {
    const session = options.session ?? (await connection.ready(options.deadline, options.what));
    if (!session.alive) {
      throw new EtlError(
        'queue_error',
        `${options.what}: the connection was lost before the broker confirmed`,
        {
          plugin: 'rabbitmq',
        },
      );
    }
    pending = await publishOnSession(session, pending, options.window, options.deadline);
    if (pending.length === 0) return;
    if (options.session || Date.now() >= options.deadline) {
      throw new EtlError(
        'timeout',
        `${options.what}: ${pending.length} of ${messages.length} messages were not confirmed by the broker in time`,
        { plugin: 'rabbitmq' },
      );
    }
    // Negative confirms on a live connection: back off a little instead of spinning.
    if (session.alive) await sleep(Math.min(1_000, 20 * 2 ** round++));
  }
}

// Per-message state; 0 (the array's initial value) means not sent yet.
const SENT = 1;
const CONFIRMED = 2;

/** One pass over `items` on one channel; resolves with the messages that were not confirmed. */
function publishOnSession(
  session: Session,
  items: OutgoingMessage[],
  window: number,
  deadline: number,
): Promise<OutgoingMessage[]> {
  const channel = session.publisher;
  const status = new Uint8Array(items.length);
  return new Promise((resolve) => {
    let next = 0;
    let outstanding = 0;
    let waitingForDrain = false;
    let finished = false;

    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      channel.off('close', finish);
      channel.off('drain', onDrain);
      resolve(items.filter((_, i) => status[i] !== CONFIRMED));
    };
    const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
    const onDrain = () => {
      waitingForDrain = false;
      pump();
    };
    channel.once('close', finish);

    const pump = () => {
      while (!finished && !waitingForDrain && next < items.length && outstanding < window) {
        if (!session.alive) return finish();
        const index = next++;
        const item = items[index]!;
        status[index] = SENT;
        outstanding++;
        let writable: boolean;
        try {
          writable = channel.publish('', item.queue, item.content, item.properties, (error: unknown) => {
            if (finished) return;
            outstanding--;
            if (!error) status[index] = CONFIRMED;
            pump();
          });
        } catch {
          // The channel closed under us; whatever is not confirmed goes out again on the next connection.
          return finish();
        }
        if (!writable) {
          waitingForDrain = true;
          channel.once('drain', onDrain);
        }
      }
      if (next >= items.length && outstanding === 0) finish();
    };
    pump();
  });
}
