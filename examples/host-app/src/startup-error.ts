import { isEtlError } from '@etl/core';
import { ConfigError } from './config.js';

/** Exit codes shared by every entry point (the CLI documents them). */
export const exitCodes = { ok: 0, jobFailed: 1, usage: 2, config: 3, unreachable: 4, internal: 5 } as const;

/** Classifies a startup failure into an exit code with a one-line reason. */
export function describeStartupError(error: unknown): { code: number; message: string } {
  if (error instanceof ConfigError) return { code: exitCodes.config, message: error.message };
  if (isEtlError(error, 'invalid_config')) return { code: exitCodes.config, message: error.message };
  if (isEtlError(error, 'unreachable') || isEtlError(error, 'auth_failed'))
    return { code: exitCodes.unreachable, message: error.message };
  return {
    code: exitCodes.internal,
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  };
}

/** `etl: <message>`, without the `[etl]` that core's errors already start with. */
export function errorLine(message: string): string {
  return `etl: ${message.replace(/^\[etl\]\s*/, '')}`;
}

export function exitOnStartupError(error: unknown): never {
  const { code, message } = describeStartupError(error);
  process.stderr.write(`${errorLine(message)}\n`);
  process.exit(code);
}
