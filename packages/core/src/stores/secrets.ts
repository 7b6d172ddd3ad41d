import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { EtlError } from '../errors.js';

export const MASK = '••••••';
const PREFIX = 'enc:v1:';

/** Encrypts and decrypts secret config fields with AES-256-GCM under a key the host supplies. */
export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
}

export function secretBox(secretKey: string | undefined): SecretBox {
  const key = secretKey ? scryptSync(secretKey, 'etl-secret-fields', 32) : undefined;
  const need = (): Buffer => {
    if (!key) {
      throw new EtlError(
        'secret_key',
        'this integration has secret fields but no secret key was given: pass `secretKey` to createEngine (ETL_SECRET_KEY in the example app)',
      );
    }
    return key;
  };
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', need(), iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
    },
    decrypt(sealed) {
      if (!sealed.startsWith(PREFIX)) return sealed;
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', need(), raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch (error) {
        if (error instanceof EtlError) throw error;
        throw new EtlError(
          'secret_key',
          'cannot decrypt a stored secret: the secret key differs from the one it was encrypted with',
          { cause: error },
        );
      }
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

/** Returns a copy of `config` with each secret field (dotted path) passed through `fn` when it is a string. */
export function mapSecretFields(
  config: Record<string, unknown>,
  secretFields: string[] | undefined,
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
