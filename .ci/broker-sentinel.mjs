// A client of the shared broker that is not part of the test run: it connects before the run and must still
// be connected after it (the fault tests may break only their own connections). Prints "connected" once
// ready; on SIGTERM it proves the connection still works (a channel, a queue declared) and exits 0, or
// exits 1 when the connection was lost at any point.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/queue-rabbitmq/package.json', import.meta.url));
const amqp = require('amqplib');
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

const connection = await amqp.connect(url, { clientProperties: { connection_name: 'ci-broker-sentinel' } });
let lost;
connection.on('error', (error) => (lost ??= `error: ${error.message}`));
connection.on('close', (error) => (lost ??= `closed${error ? `: ${error.message}` : ''}`));
process.stdout.write('connected\n');

process.once('SIGTERM', async () => {
  if (lost) {
    process.stdout.write(`broker sentinel: connection lost during the run (${lost})\n`);
    process.exit(1);
  }
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await connection.close();
    process.stdout.write('broker sentinel: still connected after the run\n');
    process.exit(0);
  } catch (error) {
    process.stdout.write(`broker sentinel: connection unusable after the run (${error.message})\n`);
    process.exit(1);
  }
});
setInterval(() => undefined, 60_000);
