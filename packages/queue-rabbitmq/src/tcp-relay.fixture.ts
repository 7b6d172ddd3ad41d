import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP relay to the broker, for tests that cut only their own connections. `silenceExisting()`
 * keeps the relayed connections open but lets no byte pass (a partition, which only heartbeats detect);
 * `cutExisting()` resets them (a connection the broker or network dropped). New connections flow.
 */
export async function startRelay(brokerUrl: string) {
  const target = new URL(brokerUrl);
  const pairs: { client: Socket; upstream: Socket; silent: boolean }[] = [];
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5672), target.hostname);
    const pair = { client, upstream, silent: false };
    pairs.push(pair);
    client.on('data', (data) => void (pair.silent || upstream.write(data)));
    upstream.on('data', (data) => void (pair.silent || client.write(data)));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayed = new URL(target);
  relayed.hostname = '127.0.0.1';
  relayed.port = String((server.address() as { port: number }).port);
  return {
    url: relayed.toString(),
    silenceExisting() {
      for (const pair of pairs) pair.silent = true;
    },
    cutExisting() {
      for (const pair of pairs.splice(0)) {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      }
    },
    async close() {
      for (const pair of pairs.splice(0)) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
