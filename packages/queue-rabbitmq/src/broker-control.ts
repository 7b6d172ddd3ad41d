import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Drives the local broker through `rabbitmqctl`, for fault tests. Asynchronous on purpose: blocking the
 * event loop would stall heartbeats and consumers, which is not the fault under test.
 */
export const brokerControl = {
  async ctl(...args: string[]): Promise<void> {
    await run('rabbitmqctl', args, { timeout: 60_000 });
  },
  async stopApp(): Promise<void> {
    await this.ctl('stop_app');
  },
  /** Starts the app and waits until it accepts connections again. */
  async startApp(): Promise<void> {
    await this.ctl('start_app');
    await this.ctl('await_startup', '--timeout', '60');
  },
  async closeAllConnections(reason = 'fault test'): Promise<void> {
    await this.ctl('close_all_connections', reason);
  },
};
