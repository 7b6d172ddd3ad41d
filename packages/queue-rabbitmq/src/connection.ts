import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { EtlError } from '@etl/core';

/** One live AMQP connection and its publisher channel; replaced as a whole after a connection loss. */
export interface Session {
  readonly model: ChannelModel;
  readonly publisher: ConfirmChannel;
  readonly generation: number;
  /** True until the connection closes. */
  alive: boolean;
}

export interface ConnectionOptions {
  url: string;
  /** Shown by the broker for this connection (`connection_name`). */
  connectionName: string;
  connectTimeoutMs: number;
  heartbeatSeconds: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Runs on every new connection before it is handed out: declare topology, resume consumers. */
  setup(session: Session): Promise<void>;
  /** Informs about losses and recoveries (for logs and tests). */
  onEvent?(event: ConnectionEvent): void;
}

export type ConnectionEvent =
  | { type: 'connected'; generation: number }
  | { type: 'lost'; error: string }
  | { type: 'reconnect-scheduled'; attempt: number; delayMs: number; error: string };

/** Maps amqplib / socket failures to an EtlError that says what to fix. */
export function connectError(error: unknown, url: string, timeoutMs: number): EtlError {
  const text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | null)?.code;
  const where = safeUrl(url);
  if (/ACCESS.REFUSED|403/.test(text)) {
    return new EtlError(
      'auth_failed',
      `credentials for user "${userOf(url)}" were rejected by the broker at ${where} (${text})`,
      {
        plugin: 'rabbitmq',
        cause: error,
      },
    );
  }
  // amqplib drops the reason of a close in answer to connection.open; in practice it is the vhost (530).
  if (/NOT_ALLOWED|530|Expected ConnectionOpenOk; got <ConnectionClose/.test(text)) {
    return new EtlError(
      'forbidden',
      `the broker at ${where} refused access to the virtual host "${vhostOf(url)}" (it does not exist or the user may not use it)`,
      {
        plugin: 'rabbitmq',
        cause: error,
      },
    );
  }
  if (error instanceof EtlError) return error;
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(text)) {
    return new EtlError('unreachable', `broker at ${where} did not answer within ${timeoutMs} ms (${text})`, {
      plugin: 'rabbitmq',
      cause: error,
    });
  }
  return new EtlError('unreachable', `cannot connect to the broker at ${where} (${text})`, {
    plugin: 'rabbitmq',
    cause: error,
  });
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential from `initialMs`, capped at `maxMs`,
 * spread ±20% so that many workers losing the same broker do not come back in lockstep.
 */
export function reconnectDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (0.8 + random() * 0.4));
}

/** The URL without user name and password, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '(invalid url)';
  }
}

function vhostOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || '/';
  } catch {
    return '?';
  }
}

function userOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || 'guest';
  } catch {
    return '?';
  }
}

/**
 * Owns the AMQP connection: the first connect fails fast with a clear error; later losses (heartbeat
 * timeout, broker restart, forced close) trigger reconnects with exponential backoff and jitter until
 * `close()`. Callers wait for a session with a deadline instead of failing on the first hiccup.
 */
export class BrokerConnection {
  private session: Session | undefined;
  private generation = 0;
  private closed = false;
  private waiters = new Set<() => void>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private lastError = '';
  private started: Promise<void> | undefined;

  constructor(private readonly options: ConnectionOptions) {}

  /** Connects once; rejects with an EtlError (unreachable, auth_failed, …) without retrying. */
  start(): Promise<void> {
    this.started ??= this.open().catch((error: unknown) => {
      this.started = undefined;
      throw connectError(error, this.options.url, this.options.connectTimeoutMs);
    });
    return this.started;
  }

  get current(): Session | undefined {
    return this.session?.alive ? this.session : undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves with a live session, waiting through a reconnect until `deadline` (epoch ms). */
  async ready(deadline: number, what: string): Promise<Session> {
    if (!this.started) await this.start();
    for (;;) {
      if (this.closed)
        throw new EtlError('queue_error', `${what}: the queue is closed`, { plugin: 'rabbitmq' });
      const session = this.current;
      if (session) return session;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new EtlError(
          'timeout',
          `${what}: no connection to the broker at ${safeUrl(this.options.url)} before the deadline` +
            (this.lastError ? ` (last error: ${this.lastError})` : ''),
          { plugin: 'rabbitmq' },
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.waiters.add(wake);
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.wake();
    const session = this.session;
    this.session = undefined;
    if (session?.alive) {
      session.alive = false;
      await session.publisher.close().catch(() => undefined);
      await session.model.close().catch(() => undefined);
    }
  }

  private wake() {
    for (const waiter of [...this.waiters]) waiter();
  }

  private connectUrl(): string {
    const url = new URL(this.options.url);
    if (!url.searchParams.has('heartbeat'))
      url.searchParams.set('heartbeat', String(this.options.heartbeatSeconds));
    return url.toString();
  }

  private async open(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const attempt = connect(this.connectUrl(), {
      timeout: timeoutMs,
      clientProperties: { connection_name: this.options.connectionName },
    });
    let model: ChannelModel;
    try {
      model = await Promise.race([
        attempt,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`connection timed out after ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      // A handshake that completes after the timeout must not leak a connection.
      attempt.then((late) => late.close().catch(() => undefined)).catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (this.closed) {
      await model.close().catch(() => undefined);
      throw new EtlError('queue_error', 'the queue was closed while connecting', { plugin: 'rabbitmq' });
    }
    let session: Session | undefined;
    try {
      const publisher = await model.createConfirmChannel();
      publisher.on('error', () => undefined);
      // Every concurrent publish watches the channel's close and drain events.
      publisher.setMaxListeners(0);
      session = { model, publisher, generation: ++this.generation, alive: true };
      const live = session;
      model.on('error', (error: Error) => {
        this.lastError = error.message;
      });
      model.on('close', (error?: Error) => this.lost(live, error));
      publisher.on('close', () => {
        // A channel-level error closes the publisher alone; recycle the whole connection to get a clean state.
        if (live.alive && !this.closed) void live.model.close().catch(() => undefined);
      });
      await this.options.setup(session);
      if (!session.alive) throw new Error('connection lost while declaring topology');
    } catch (error) {
      if (session) session.alive = false;
      await model.close().catch(() => undefined);
      throw error;
    }
    this.session = session;
    this.options.onEvent?.({ type: 'connected', generation: session.generation });
    this.wake();
  }

  private lost(session: Session, error?: Error) {
    if (!session.alive) return;
    session.alive = false;
    // A connection lost during its own setup is retried by open()'s caller, not here.
    const installed = this.session === session;
    if (installed) this.session = undefined;
    if (this.closed) return;
    this.lastError = error?.message ?? 'connection closed';
    if (!installed) return;
    this.options.onEvent?.({ type: 'lost', error: this.lastError });
    this.scheduleReconnect(1);
  }

  private scheduleReconnect(attempt: number) {
    if (this.closed) return;
    const delayMs = reconnectDelay(
      attempt,
      this.options.reconnectInitialDelayMs,
      this.options.reconnectMaxDelayMs,
    );
    this.options.onEvent?.({ type: 'reconnect-scheduled', attempt, delayMs, error: this.lastError });
    this.reconnectTimer = setTimeout(() => {
      this.open().catch((error: unknown) => {
        this.lastError = connectError(error, this.options.url, this.options.connectTimeoutMs).message;
        this.scheduleReconnect(attempt + 1);
      });
    }, delayMs);
  }
}
