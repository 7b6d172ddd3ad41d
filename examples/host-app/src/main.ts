import { loadConfig } from './config.js';
import { startHost } from './host.js';
import { exitOnStartupError } from './startup-error.js';
import { onShutdown } from './shutdown.js';
import { ensureUiBundle } from './ui-bundle.js';

try {
  const config = loadConfig(process.env);
  // From source (a clone, no build step) the UI's bundle is built here; a built app ships it.
  if (import.meta.url.endsWith('.ts')) await ensureUiBundle();
  const host = await startHost(config);
  onShutdown(() => host.stop(), config.ETL_SHUTDOWN_TIMEOUT_SECONDS * 1000);
} catch (error) {
  exitOnStartupError(error);
}
