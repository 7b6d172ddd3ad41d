import { execFile } from 'node:child_process';
import { sleep } from '@etl/core';
import { startFaultProxy, type FaultProxy } from '@etl/core/testing';

/**
 * How fault tests break the broker without disturbing anyone else on it.
 *
 * - Outages (`stop` / `start`): by default the tests' clients connect through a TCP proxy of their own
 *   (`url`), and an outage cuts and refuses only those connections — nothing on the broker changes, so a
 *   developer's or another suite's clients never notice. With `ETL_BROKER_CONTROL` set to a command
 *   (e.g. `docker compose exec -T rabbitmq rabbitmqctl`), the tests instead run `<command> stop_app` and
 *   `<command> start_app`: only for a broker the tests own.
 * - Closing connections (`closeConnections`): through the management HTTP API, only the connections
 *   whose client-provided name is the test's own (`connectionName` of `rabbitmqQueue`).
 */
export interface BrokerControl {
  /** The AMQP URL the tests' clients use. */
  readonly url: string;
  /** The broker becomes unreachable for the tests' clients. */
  stop(): Promise<void>;
  /** The broker is back and accepts connections. */
  start(): Promise<void>;
  /**
   * Closes, on the broker, every connection named `connectionName` (waiting up to 30 s for the
   * management API to list one); resolves with how many.
   */
  closeConnections(connectionName: string, reason?: string): Promise<number>;
  close(): Promise<void>;
}

const amqpUrl = () => process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** `RABBITMQ_MANAGEMENT_URL`, else port 15672 on the broker's host with the AMQP credentials. */
export function managementApi(url = amqpUrl()) {
  const amqp = new URL(url);
  const base = new URL(process.env.RABBITMQ_MANAGEMENT_URL ?? `http://${amqp.hostname}:15672`);
  const user = decodeURIComponent(base.username || amqp.username || 'guest');
  const password = decodeURIComponent(base.password || amqp.password || 'guest');
  base.username = '';
  base.password = '';
  const root = base.toString().replace(/\/+$/, '');
  const headers = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  const request = async (path: string, init: RequestInit = {}) => {
    let response: Response;
    try {
      response = await fetch(`${root}/api${path}`, {
        ...init,
        headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new Error(
        `the RabbitMQ management API at ${root} is unreachable (${String(error)}); fault tests close their ` +
          'own connections through it: enable it (rabbitmq-plugins enable rabbitmq_management) or set ' +
          'RABBITMQ_MANAGEMENT_URL',
      );
    }
    if (!response.ok && response.status !== 404)
      throw new Error(`management API ${init.method ?? 'GET'} ${path}: ${response.status}`);
    return response;
  };
  return {
    /** Connections whose client-provided name is `connectionName`. */
    async connectionsNamed(connectionName: string): Promise<string[]> {
      const response = await request('/connections?columns=name,client_properties');
      const list = (await response.json()) as {
        name: string;
        client_properties?: { connection_name?: string };
      }[];
      return list.filter((c) => c.client_properties?.connection_name === connectionName).map((c) => c.name);
    },
    async closeConnection(name: string, reason: string): Promise<void> {
      await request(`/connections/${encodeURIComponent(name)}`, {
        method: 'DELETE',
        headers: { 'x-reason': reason },
      });
    },
  };
}

function runCommand(command: string, args: string[]): Promise<void> {
  const [file, ...prefix] = command.split(/\s+/).filter(Boolean);
  return new Promise((resolve, reject) =>
    execFile(file!, [...prefix, ...args], { timeout: 90_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${command} ${args.join(' ')}: ${stderr || error.message}`)) : resolve(),
    ),
  );
}

/** The fault tests' handle on the broker (see {@link BrokerControl}). */
export async function brokerControl(): Promise<BrokerControl> {
  const api = managementApi();
  // The management API lists a new connection after its next statistics emission (5 s by default).
  const closeConnections = async (connectionName: string, reason = 'fault test') => {
    const deadline = Date.now() + 30_000;
    let names = await api.connectionsNamed(connectionName);
    while (names.length === 0 && Date.now() < deadline) {
      await sleep(250);
      names = await api.connectionsNamed(connectionName);
    }
    for (const name of names) await api.closeConnection(name, reason);
    return names.length;
  };
  const command = process.env.ETL_BROKER_CONTROL;
  if (command) {
    return {
      url: amqpUrl(),
      stop: () => runCommand(command, ['stop_app']),
      async start() {
        await runCommand(command, ['start_app']);
        await runCommand(command, ['await_startup', '--timeout', '60']);
      },
      closeConnections,
      close: async () => undefined,
    };
  }
  const broker = new URL(amqpUrl());
  const proxy: FaultProxy = await startFaultProxy({
    host: broker.hostname,
    port: Number(broker.port || 5672),
  });
  const url = new URL(broker);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return {
    url: url.toString(),
    stop: () => proxy.stop(),
    start: () => proxy.start(),
    closeConnections,
    close: () => proxy.close(),
  };
}
