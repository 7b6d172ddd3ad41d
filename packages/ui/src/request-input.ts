import { EtlError, assertCleanInput, parseInput as parseCoreInput } from '@etl/core';
import type { Context, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { httpRefusal } from './http-errors.js';

/** Parses a value with zod (core's `parseInput`), throwing an `invalid_input` EtlError naming each field. */
export function parseInput<S extends z.ZodType>(what: string, schema: S, value: unknown): z.output<S> {
  return parseCoreInput(what, schema, value, 'ui');
}

/** Reads and validates a JSON request body. An empty body counts as `{}`. */
export async function readJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header('content-type');
  const text = await c.req.text();
  if (text.trim() === '') return parseInput('request body', schema, {});
  if (!type || !/^application\/json\s*(;|$)/i.test(type)) {
    throw httpRefusal(415, 'unsupported_media_type', 'request body must be application/json');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EtlError('invalid_input', `malformed JSON body: ${(error as Error).message}`, { plugin: 'ui' });
  }
  return parseInput('request body', schema, value);
}

/** Validates the query string (every value a string; repeated keys keep the last). */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseInput('query', schema, c.req.query());
}

/**
 * Refuses, before any route runs, a path or query string with NUL characters or lone surrogates (400 naming
 * the parameter): no route has to remember it, and nothing malformed reaches the database.
 */
export function cleanUrlGuard(): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const decode = (part: string, what: string) => {
      try {
        return decodeURIComponent(part.replace(/\+/g, ' '));
      } catch {
        throw new EtlError('invalid_input', `${what}: is not valid percent-encoded UTF-8`, {
          plugin: 'ui',
          details: [{ path: what, message: 'is not valid percent-encoded UTF-8' }],
        });
      }
    };
    const path = decode(url.pathname, 'path');
    const query: Record<string, string[]> = {};
    for (const pair of url.search.slice(1).split('&').filter(Boolean)) {
      const [rawKey = '', ...rest] = pair.split('=');
      const key = decode(rawKey, 'query');
      (query[key] ??= []).push(decode(rest.join('='), `query.${key}`));
    }
    assertCleanInput({ path }, 'request URL', 'ui');
    assertCleanInput(query, 'query', 'ui');
    await next();
  };
}
