import type { z } from 'zod';

export interface FieldIssue {
  path: string;
  message: string;
}

/** zod issues as `{ path: 'a.b', message }`, the shape every @etl error and 400 response uses. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}
