import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { z } from 'zod';
import { EtlError } from '../errors.js';

/** What a secret config value reads as everywhere outside the engine. */
export const MASK = '••••••';
/** Written before key ids existed: no key id, no binding; any key of the ring may open it. */
const LEGACY_PREFIX = 'enc:v1:';
/** `enc:v2:<key id>:<base64 of iv | tag | ciphertext>`, bound (GCM additional data) to integration, field and origin. */
const PREFIX = 'enc:v2:';

/** One key of the ring: an id stored with every value it encrypts, and the secret it is derived from. */
export interface SecretKey {
  id: string;
  key: string;
}

export const secretKeySchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'must be 1-40 letters, digits or _ . -'),
  key: z.string().min(16, 'must be at least 16 characters'),
});

/**
 * Encrypts and decrypts secret config fields with AES-256-GCM under the host's keys. New values use the
 * first key of the ring; every key of the ring decrypts. A value is bound to what `binding` names (the
 * integration, field and origin it was saved for): opened under another binding, it fails.
 */
export interface SecretKeyring {
  /** The id new values are encrypted with; null when the host gave no key. */
  readonly currentKeyId: string | null;
  readonly keyIds: readonly string[];
  encrypt(plain: string, binding: string): string;
  decrypt(sealed: string, binding: string): string;
  /** The id of the key a sealed value was encrypted with (legacy values: found by trying), or null. */
  keyIdOf(sealed: string): string | null;
}

/** True for a value as the keyring stores it (never shown to callers, whatever its field). */
export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && (value.startsWith(PREFIX) || value.startsWith(LEGACY_PREFIX));
}

const derive = (secret: string) => scryptSync(secret, 'etl-secret-fields', 32);

export function secretKeyring(keys: readonly SecretKey[]): SecretKeyring {
  const derived = new Map(keys.map((k) => [k.id, derive(k.key)]));
  const current = keys[0];
  const noKey = () =>
    new EtlError(
      'secret_key',
      'this integration has secret fields but no secret key was given: pass `secretKey` or `secretKeys` to createEngine (ETL_SECRET_KEY or ETL_SECRET_KEYS in the example app)',
    );

  const open = (key: Buffer, raw: Buffer, aad: string | null): string => {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    if (aad !== null) decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  };

  const openLegacy = (sealed: string): { keyId: string; plain: string } | null => {
    const raw = Buffer.from(sealed.slice(LEGACY_PREFIX.length), 'base64');
    for (const [id, key] of derived) {
      try {
        return { keyId: id, plain: open(key, raw, null) };
      } catch {
        // Not this key: try the next one.
      }
    }
    return null;
  };

  return {
    currentKeyId: current?.id ?? null,
    keyIds: keys.map((k) => k.id),
    encrypt(plain, binding) {
      if (!current) throw noKey();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', derived.get(current.id)!, iv);
      cipher.setAAD(Buffer.from(binding, 'utf8'));
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${PREFIX}${current.id}:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}`;
    },
    decrypt(sealed, binding) {
      if (sealed.startsWith(LEGACY_PREFIX)) {
        if (derived.size === 0) throw noKey();
        const opened = openLegacy(sealed);
        if (opened) return opened.plain;
        throw new EtlError(
          'secret_key',
          `cannot decrypt a stored secret: none of the keys ${[...derived.keys()].join(', ')} is the one it was encrypted with`,
        );
      }
      if (!sealed.startsWith(PREFIX)) return sealed;
      const rest = sealed.slice(PREFIX.length);
      const colon = rest.indexOf(':');
      const keyId = rest.slice(0, colon);
      const key = derived.get(keyId);
      if (derived.size === 0) throw noKey();
      if (colon < 0 || !key) {
        throw new EtlError(
          'secret_key',
          `cannot decrypt a stored secret: it was encrypted with key "${keyId}", which is not in the keyring (${[...derived.keys()].join(', ')}); add that key back, or enter the secret again`,
        );
      }
      try {
        return open(key, Buffer.from(rest.slice(colon + 1), 'base64'), binding);
      } catch (error) {
        throw new EtlError(
          'secret_key',
          `cannot decrypt a stored secret with key "${keyId}": the key differs from the one it was encrypted with, or the integration's URL was changed outside the engine (a secret only opens for the site it was saved for)`,
          { cause: error },
        );
      }
    },
    keyIdOf(sealed) {
      if (sealed.startsWith(PREFIX)) return sealed.slice(PREFIX.length).split(':')[0] ?? null;
      if (sealed.startsWith(LEGACY_PREFIX)) return openLegacy(sealed)?.keyId ?? null;
      return null;
    },
  };
}

function getPath(obj: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (next === null || typeof next !== 'object') return;
    cur = next as Record<string, unknown>;
  }
  cur[path.at(-1)!] = value;
}

/** The value at a dotted path of a config, or undefined. */
export function readPath(obj: Record<string, unknown>, field: string): unknown {
  return getPath(obj, field.split('.'));
}

/** Returns a copy of `config` with each secret field (dotted path) passed through `fn` when it is a string. */
export function mapSecretFields(
  config: Record<string, unknown>,
  secretFields: readonly string[] | undefined,
  fn: (value: string, field: string) => unknown,
): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const field of secretFields ?? []) {
    const path = field.split('.');
    const value = getPath(copy, path);
    if (typeof value === 'string') setPath(copy, path, fn(value, field));
  }
  return copy;
}

/** Every sealed value anywhere in a config, with its dotted path (found by its prefix, not by the connector). */
export function sealedValues(config: unknown, at = ''): { field: string; sealed: string }[] {
  if (isSealed(config)) return [{ field: at, sealed: config }];
  if (config === null || typeof config !== 'object') return [];
  return Object.entries(config).flatMap(([key, value]) => sealedValues(value, at ? `${at}.${key}` : key));
}

/** A copy of `config` with every sealed value masked: what callers see of a connector no longer registered. */
export function maskSealed(config: unknown): unknown {
  if (isSealed(config)) return MASK;
  if (Array.isArray(config)) return config.map(maskSealed);
  if (config === null || typeof config !== 'object') return config;
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, maskSealed(v)]));
}
