import type { z } from 'zod';
import { EtlError, type EtlErrorCode } from './errors.js';

/** One refused field: its dotted path and what is wrong with it. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** zod issues as `{ path: 'a.b', message }`, the shape every @etl error and 400 response uses. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.flatMap((i) => {
    const at = i.path.map(String).join('.');
    // A strict object's unknown keys: one issue per key, at the key, so a 400 names each of them.
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((key) => ({ path: at ? `${at}.${key}` : key, message: `unknown key "${key}"` }));
    }
    return [{ path: at || '(root)', message: i.message }];
  });
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored (PostgreSQL refuses NUL in text and lone surrogates in jsonb), or null. */
function stringProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain NUL characters (\\u0000)';
  if (loneSurrogate.test(text)) return 'must not contain lone UTF-16 surrogates (invalid Unicode)';
  return null;
}

/** Deepest nesting of objects and arrays accepted from callers (PostgreSQL's jsonb and structuredClone have limits). */
export const maxInputDepth = 64;

/**
 * What in `value` cannot be stored, each with its dotted path: strings and object keys with NUL characters or
 * lone surrogates, and nesting deeper than {@link maxInputDepth}.
 */
export function inputIssues(value: unknown, path = '', limit = 20): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const visit = (v: unknown, at: string, depth: number) => {
    if (issues.length >= limit) return;
    if (depth > maxInputDepth && v !== null && typeof v === 'object') {
      issues.push({ path: at || '(root)', message: `nested deeper than ${maxInputDepth} levels` });
      return;
    }
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) issues.push({ path: at || '(root)', message: problem });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, at ? `${at}.${i}` : String(i), depth + 1));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v)) {
        const keyProblem = stringProblem(key);
        const shownKey = keyProblem ? JSON.stringify(key).slice(1, -1) : key;
        const child = at ? `${at}.${shownKey}` : shownKey;
        if (keyProblem) issues.push({ path: child, message: `key ${keyProblem}` });
        else visit(item, child, depth + 1);
      }
    }
  };
  visit(value, path, 0);
  return issues;
}

/**
 * Refuses input with NUL characters or lone surrogates anywhere, or nested too deep (an `invalid_input` error
 * naming each field): the stores call it on what callers give them, the UI on every JSON body and query string.
 *
 * @example
 * assertCleanInput({ name }, 'integration'); // EtlError 'invalid_input': name: must not contain NUL …
 */
export function assertCleanInput(value: unknown, what: string, plugin?: string): void {
  const issues = inputIssues(value);
  if (issues.length === 0) return;
  throw new EtlError('invalid_input', `invalid ${what} — ${issuesText(issues)}`, { plugin, details: issues });
}

/** `path: message; path: message` — field issues in one line. */
export function issuesText(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

/** An EtlError that lists each offending field of `what` (its message and its `details`). */
export function invalidFields(
  code: EtlErrorCode,
  what: string,
  error: z.ZodError,
  plugin?: string,
): EtlError {
  const issues = formatIssues(error.issues);
  return new EtlError(code, `invalid ${what} — ${issuesText(issues)}`, { plugin, details: issues });
}

/** An `invalid_input` EtlError naming each offending field of `what`. */
export function invalidInput(what: string, error: z.ZodError, plugin?: string): EtlError {
  return invalidFields('invalid_input', what, error, plugin);
}

/**
 * Parses `value` with `schema` after `assertCleanInput`, throwing an `invalid_input` EtlError that names each
 * offending field.
 *
 * @example
 * const input = parseInput('job', startJobInputSchema, body);
 */
export function parseInput<S extends z.ZodType>(
  what: string,
  schema: S,
  value: unknown,
  plugin?: string,
): z.output<S> {
  assertCleanInput(value, what, plugin);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalidInput(what, result.error, plugin);
}
