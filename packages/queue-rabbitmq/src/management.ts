/** Figures the management HTTP API knows that a passive declare does not. */
export interface ManagementQueueFigures {
  unacked: number;
  publishRate: number;
  ackRate: number;
}

interface QueueDocument {
  messages_unacknowledged?: number;
  message_stats?: { publish_details?: { rate?: number }; ack_details?: { rate?: number } };
}

/**
 * Reads per-queue figures from the RabbitMQ management API. Credentials come from the management URL,
 * else from the AMQP URL. Failures return undefined: monitoring must never break the pipeline.
 */
export function managementClient(managementUrl: string, amqpUrl: string) {
  const base = new URL(managementUrl);
  const amqp = new URL(amqpUrl);
  const user = decodeURIComponent(base.username || amqp.username || 'guest');
  const password = decodeURIComponent(base.password || amqp.password || 'guest');
  base.username = '';
  base.password = '';
  const root = base.toString().replace(/\/+$/, '');
  const rawVhost = decodeURIComponent(amqp.pathname.replace(/^\//, ''));
  const vhost = rawVhost === '' ? '/' : rawVhost;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  return {
    async queue(name: string): Promise<ManagementQueueFigures | undefined> {
      try {
        const response = await fetch(
          `${root}/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}?columns=messages_unacknowledged,message_stats`,
          { headers: { authorization }, signal: AbortSignal.timeout(2_000) },
        );
        if (!response.ok) return undefined;
        const doc = (await response.json()) as QueueDocument;
        return {
          unacked: doc.messages_unacknowledged ?? 0,
          publishRate: doc.message_stats?.publish_details?.rate ?? 0,
          ackRate: doc.message_stats?.ack_details?.rate ?? 0,
        };
      } catch {
        return undefined;
      }
    },
  };
}
