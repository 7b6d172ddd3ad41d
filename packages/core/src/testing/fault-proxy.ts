import { createServer, connect, type Server, type Socket } from 'node:net';

/** A TCP proxy in front of one service that a test can take down and bring back. */
export interface FaultProxy {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Connections currently relayed. */
  readonly connections: number;
  /**
   * The service becomes unreachable for clients of this proxy: every relayed connection is cut and new
   * ones are refused (the listener closes), as when the service stops. Nobody else is touched.
   */
  stop(): Promise<void>;
  /** Accepts connections again, on the same port. */
  start(): Promise<void>;
  /** Cuts every relayed connection but keeps accepting new ones (a network blip). */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 to `target`, for outage tests that must not disturb a shared service:
 * only connections made through the proxy are cut.
 *
 * @example
 * const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
 * const url = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
 * await proxy.stop(); // clients of `url` see the database go away
 * await proxy.start();
 */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let server: Server | undefined;
  let port = 0;
  let closed = false;

  const relay = (client: Socket) => {
    const upstream = connect({ host: target.host, port: target.port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(relay);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });

  const reset = () => {
    for (const [client, upstream] of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      s.close(() => resolve());
      reset();
    });

  await listen();
  return {
    get port() {
      return port;
    },
    get connections() {
      return pairs.size;
    },
    stop: stopListening,
    async start() {
      if (closed || server) return;
      await listen();
    },
    reset,
    async close() {
      closed = true;
      await stopListening();
    },
  };
}
