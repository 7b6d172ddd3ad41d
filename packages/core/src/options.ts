import type { z } from 'zod';
import { invalidFields } from './validation.js';

/**
 * Parses a plugin's options with zod and throws an EtlError naming each offending field.
 *
 * @example
 * const opts = parseOptions('jira', 'jiraConnector', schema, input);
 */
export function parseOptions<S extends z.ZodType>(
  plugin: string,
  what: string,
  schema: S,
  input: unknown,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw invalidFields('invalid_config', `${what} options`, result.error, plugin);
}
