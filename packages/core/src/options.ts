import type { z } from 'zod';
import { EtlError } from './errors.js';
import { formatIssues } from './validation.js';

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
  const issues = formatIssues(result.error.issues);
  const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new EtlError('invalid_config', `invalid ${what} options — ${text}`, { plugin, details: issues });
}
