import type { EntityDraft } from './canonical.js';
import type { MappingsView } from './mappings.js';

/** One status change of a work item, as a source's history lists it. */
export interface StatusChange {
  /** The change's own id at the source: the transition's `sourceId`. */
  id: string;
  /** When it happened (ISO 8601). */
  at: string;
  from: string | null;
  to: string;
  actorId?: string | null;
}

/**
 * A work item's status history as canonical `work_item_transition`s: `seq` counts the changes from 1 in
 * the order given (oldest first), categories come from the integration's status mappings.
 *
 * @example
 * statusTransitions(item.id, item.history, ctx.mappings, item.updated_at)
 */
export function statusTransitions(
  workItemId: string,
  changes: readonly StatusChange[],
  mappings: MappingsView,
  sourceUpdatedAt: string | null = null,
): EntityDraft[] {
  return changes.map((change, index) => ({
    kind: 'work_item_transition',
    sourceId: change.id,
    sourceUpdatedAt,
    data: {
      workItemId,
      seq: index + 1,
      fromStatus: change.from,
      toStatus: change.to,
      fromCategory: change.from ? (mappings.status(change.from)?.category ?? null) : null,
      toCategory: mappings.status(change.to)?.category ?? null,
      transitionedAt: change.at,
      actorId: change.actorId ?? null,
    },
  }));
}
