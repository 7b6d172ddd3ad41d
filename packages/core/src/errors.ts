/** Machine-readable error codes; each names what went wrong, the message says what to fix. */
export type EtlErrorCode =
  | 'invalid_config'
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'illegal_transition'
  | 'unknown_connector'
  | 'secret_key'
  | 'auth_failed'
  | 'forbidden'
  | 'unreachable'
  | 'rate_limited'
  | 'source_error'
  | 'queue_error'
  | 'db_error'
  | 'unsupported'
  | 'timeout'
  /** A stream's lease was taken over by a newer owner: this extractor's page is refused and it stops. */
  | 'fenced'
  | 'internal';

/** An EtlError's plugin, cause, remote status and details. */
export interface EtlErrorOptions {
  /** Name of the plugin that raised it (`jira`, `rabbitmq`, …); `core` when omitted. */
  plugin?: string;
  cause?: unknown;
  /** HTTP status when the error came from a remote API. */
  status?: number;
  /** Structured details (validation issues, ids); never secrets. */
  details?: unknown;
}

/** A secret-looking value: long, or with a digit or symbol (so `apiToken: must not be empty` stays readable). */
const credentialLike = /^(?=.{20,}|.*[0-9_./+=~])[^\s"',}&]{6,}$/;

const SECRET_PATTERNS: { pattern: RegExp; keep?: (value: string) => boolean }[] = [
  { pattern: /(authorization["']?\s*[:=]\s*["']?)(basic|bearer|token)\s+[^\s"',}]+/gi },
  // Quoted (`"apiToken":"…"`) or assigned without spaces (`token=…` in a query or env line): always a value.
  {
    pattern:
      /((?:api[_-]?token|token|password|secret|private[_-]?key|apikey|access[_-]?key)(?:"\s*:\s*"|'\s*:\s*'|=))[^\s"',}&]+/gi,
  },
  // `token: …` in prose is often a field name and its error message: redacted only when the value looks secret.
  {
    pattern:
      /((?:api[_-]?token|token|password|secret|private[_-]?key|apikey|access[_-]?key):\s*["']?)([^\s"',}&]+)/gi,
    keep: (value) => !credentialLike.test(value),
  },
  { pattern: /(:\/\/[^:/\s]+:)[^@/\s]+(?=@)/g },
  { pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g },
];

const knownSecrets = new Set<string>();

/**
 * Registers a secret value so that it is redacted from every EtlError message created afterwards.
 * Connectors call this with their tokens at construction. Values shorter than 8 characters are ignored: they
 * would garble ordinary words in every message.
 */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 8) return;
  knownSecrets.add(value);
  // Inside base64 (a Basic auth header, a token echoed in an encoded body): the characters that depend on the
  // secret alone, at each of the three alignments it can have, in both alphabets.
  for (const prefix of ['', 'x', 'xy']) {
    const encoded = Buffer.from(prefix + value).toString('base64');
    const core = encoded.slice(prefix ? 4 : 0, -4);
    if (core.length < 8) continue;
    knownSecrets.add(core);
    knownSecrets.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
}

/** Removes tokens, passwords and credentials in URLs from a string. */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('[redacted]');
  for (const { pattern, keep } of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix: unknown, value: unknown) => {
      if (keep && typeof value === 'string' && keep(value)) return match;
      return typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}[redacted]` : '[redacted]';
    });
  }
  return out;
}

/**
 * The one error class of @etl: a `code`, the `plugin` that raised it, and a plain `message` that never contains
 * secrets. Formatted for logs and stored job errors (`String(error)`, `describeError`) it reads
 * `[etl] [plugin] message`; the message itself is what an operator is shown.
 *
 * @example
 * throw new EtlError('not_found', `job ${id} does not exist`);
 * throw new EtlError('auth_failed', 'credentials rejected by https://acme.atlassian.net', { plugin: 'jira', status: 401 });
 */
export class EtlError extends Error {
  readonly code: EtlErrorCode;
  readonly plugin: string;
  readonly status?: number;
  readonly details?: unknown;

  constructor(code: EtlErrorCode, message: string, options: EtlErrorOptions = {}) {
    const plugin = options.plugin ?? 'core';
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EtlError';
    this.code = code;
    this.plugin = plugin;
    this.status = options.status;
    this.details = options.details;
  }

  /** `[etl] [plugin] message`: the error as logs and stored job errors show it. */
  override toString(): string {
    return `[etl] [${this.plugin}] ${this.message}`;
  }

  /** Wraps anything thrown by an SDK at a plugin boundary, keeping an existing EtlError as is. */
  static wrap(error: unknown, code: EtlErrorCode, plugin: string, context?: string): EtlError {
    if (error instanceof EtlError) return error;
    const text = error instanceof Error ? error.message : String(error);
    return new EtlError(code, context ? `${context}: ${text}` : text, { plugin, cause: error });
  }
}

/**
 * True for an EtlError (of `code`, when given).
 *
 * @example
 * if (isEtlError(error, 'not_found')) return null;
 */
export function isEtlError(error: unknown, code?: EtlErrorCode): error is EtlError {
  return error instanceof EtlError && (code === undefined || error.code === code);
}

/**
 * A one-line, redacted description of any thrown value, for storing with a job or dead letter: an EtlError as
 * `[etl] [plugin] message`, any other error by its message.
 */
export function describeError(error: unknown): string {
  if (error instanceof EtlError) return error.toString();
  if (error instanceof Error) return redact(error.message);
  return redact(String(error));
}
