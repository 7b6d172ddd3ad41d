import { loadConfig } from './config.js';
import { startHost } from './host.js';
import { exitOnStartupError } from './startup-error.js';
import { onShutdown } from './shutdown.js';

try {
  const config = loadConfig(process.env);
  const host = await startHost(config);
  onShutdown(() => host.stop(), config.ETL_SHUTDOWN_TIMEOUT_SECONDS * 1000);
} catch (error) {
  exitOnStartupError(error);
}
