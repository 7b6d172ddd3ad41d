import type { Connector } from '../connector/connector.js';
import { readPath } from './secrets.js';

function originOf(value: unknown): string | null {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return null;
  try {
    const url = new URL(value);
    return url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
  } catch {
    return null;
  }
}

function urlOrigins(value: unknown, at: string, skip: ReadonlySet<string>, out: Set<string>): void {
  if (skip.has(at)) return;
  const origin = originOf(value);
  if (origin) out.add(origin);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) urlOrigins(item, at ? `${at}.${key}` : key, skip, out);
  }
}

/**
 * Where an integration's secrets may be sent: the origin (scheme + host + port) of the connector's
 * `originField`, or, for a connector that declares none, of every URL in its config (sorted, space-separated).
 * The empty string when the config names no URL. Computed on the parsed config, defaults included.
 */
export function secretOriginOf(connector: Connector, config: Record<string, unknown>): string {
  if (connector.originField) return originOf(readPath(config, connector.originField)) ?? '';
  const out = new Set<string>();
  urlOrigins(config, '', new Set(connector.secretFields ?? []), out);
  return [...out].sort().join(' ');
}

/** The single origin secrets are bound to, for an HTTP client's `secretOrigin`; null when there is not one. */
export function singleSecretOrigin(origin: string): string | null {
  return origin !== '' && !origin.includes(' ') ? origin : null;
}
