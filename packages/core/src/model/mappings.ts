import { z } from 'zod';
import {
  canonicalWorkItemTypes,
  statusCategories,
  type CanonicalWorkItemType,
  type StatusCategory,
} from './canonical.js';

/** An integration's mappings: work-item types and levels, status categories, workflows. */
export const mappingsSchema = z
  .object({
    workItemTypes: z
      .array(
        z.strictObject({
          rawType: z.string().min(1),
          type: z.enum(canonicalWorkItemTypes),
          level: z.number().int().min(-5).max(10),
        }),
      )
      .default([]),
    statuses: z
      .array(
        z.strictObject({
          rawStatus: z.string().min(1),
          category: z.enum(statusCategories),
          workflowStep: z.string().min(1).optional(),
        }),
      )
      .default([]),
    workflows: z
      .array(z.strictObject({ name: z.string().min(1), steps: z.array(z.string().min(1)).min(1) }))
      .default([]),
  })
  .strict();

/** An integration's mappings: work-item types with hierarchy, status → category and workflow step, workflows. */
export type Mappings = z.output<typeof mappingsSchema>;
/** Mappings as given, before defaults. */
export type MappingsInput = z.input<typeof mappingsSchema>;

/** The view of mappings a transformer gets: look-ups that fall back to the connector's defaults. */
export interface MappingsView {
  readonly version: number;
  readonly raw: Mappings;
  workItemType(rawType: string): { type: CanonicalWorkItemType; level: number } | undefined;
  status(rawStatus: string): { category: StatusCategory; workflowStep: string | null } | undefined;
}

/** Mappings with look-ups by raw type and status, as transformers use them. */
export function mappingsView(mappings: Mappings, version: number): MappingsView {
  const types = new Map(mappings.workItemTypes.map((t) => [t.rawType.toLowerCase(), t]));
  const statuses = new Map(mappings.statuses.map((s) => [s.rawStatus.toLowerCase(), s]));
  return {
    version,
    raw: mappings,
    workItemType(rawType) {
      const hit = types.get(rawType.toLowerCase());
      return hit ? { type: hit.type, level: hit.level } : undefined;
    },
    status(rawStatus) {
      const hit = statuses.get(rawStatus.toLowerCase());
      return hit ? { category: hit.category, workflowStep: hit.workflowStep ?? null } : undefined;
    },
  };
}

/** Mappings with no entries. */
export const emptyMappings: Mappings = { workItemTypes: [], statuses: [], workflows: [] };
