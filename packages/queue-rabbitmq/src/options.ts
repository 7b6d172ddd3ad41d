import { z } from 'zod';

const amqpUrl = z.string().refine((value) => /^amqps?:\/\/[^\s]+$/.test(value) && URL.canParse(value), {
  message: 'must be an amqp:// or amqps:// URL',
});

const httpUrl = z.string().refine((value) => /^https?:\/\/[^\s]+$/.test(value) && URL.canParse(value), {
  message: 'must be an http:// or https:// URL',
});

export const rabbitmqOptionsSchema = z.strictObject({
  /** Broker URL, `amqp://user:password@host:5672/vhost`. */
  url: amqpUrl,
  /** Starts every queue name, so several deployments can share one broker. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'use 1-100 letters, digits, or _ . : -')
    .default('etl'),
  /** `quorum` (replicated, the default) or `classic`. */
  queueType: z.enum(['quorum', 'classic']).default('quorum'),
  /** Default messages in flight per consumer. */
  prefetch: z.number().int().min(1).max(10_000).default(16),
  /** Attempts before a message goes to the dead-letter queue. */
  maxAttempts: z.number().int().min(1).max(100).default(5),
  /** Delay before each retry; the last value repeats. One delay queue per distinct value. */
  retryDelaysMs: z.array(z.number().int().min(1).max(86_400_000)).min(1).default([1_000, 10_000, 60_000]),
  /** Budget for the first connection (TCP + AMQP handshake). */
  connectTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  /** AMQP heartbeat; a dead peer is noticed after about two intervals. 0 disables heartbeats. */
  heartbeatSeconds: z.number().int().min(0).max(600).default(10),
  /** How long a publish waits (for a connection, and for confirms) before failing. */
  publishTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Unconfirmed messages allowed in flight on the publisher channel. */
  confirmWindow: z.number().int().min(1).max(100_000).default(2_000),
  /** First reconnect delay; doubles per failed attempt up to `reconnectMaxDelayMs`, with ±20% jitter. */
  reconnectInitialDelayMs: z.number().int().min(10).max(60_000).default(250),
  reconnectMaxDelayMs: z.number().int().min(10).max(600_000).default(10_000),
  /** Quorum queues only: redeliveries without an ack (crashed consumers) before the broker dead-letters. */
  deliveryLimit: z.number().int().min(1).max(1_000).default(20),
  /**
   * The name the broker shows for this adapter's connections (the `connection_name` client property), so
   * an operator can tell deployments apart and close exactly one's connections. Default `etl <prefix>`.
   */
  connectionName: z.string().min(1).max(255).optional(),
  /** Management HTTP API (`http://user:password@host:15672`) for broker-wide rates and unacked counts. */
  managementUrl: httpUrl.optional(),
});

export type RabbitmqQueueOptions = z.input<typeof rabbitmqOptionsSchema>;
export type ResolvedOptions = z.output<typeof rabbitmqOptionsSchema>;
