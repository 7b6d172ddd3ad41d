import type { Connector, RawRow, TransformContext } from '../connector/connector.js';
import { EtlError } from '../errors.js';
import { entitySchemas, type Entity, type EntityDraft } from '../model/canonical.js';
import { formatIssues, issuesText } from '../validation.js';

/** Runs the connector's transformer over `rows` and validates every draft against the canonical model. */
export async function transformRows(
  connector: Connector,
  rows: RawRow[],
  ctx: TransformContext,
): Promise<Entity[]> {
  const drafts: EntityDraft[] = await connector.transformer.transform(rows, ctx);
  return drafts.map((draft) => {
    const schemaFor = entitySchemas[draft.kind];
    if (!schemaFor)
      throw new EtlError('invalid_input', `transformer returned unknown entity kind "${String(draft.kind)}"`);
    const parsed = schemaFor.safeParse(draft.data);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error.issues);
      throw new EtlError(
        'invalid_input',
        `${connector.name} transformer produced an invalid ${draft.kind} ${draft.sourceId}: ${issuesText(issues)}`,
        { details: issues },
      );
    }
    return {
      kind: draft.kind,
      sourceId: String(draft.sourceId),
      sourceUpdatedAt: draft.sourceUpdatedAt ?? null,
      data: parsed.data,
    } as Entity;
  });
}

/** What `transformIsolating` made of a batch: the entities of the good rows, and each bad row with its error. */
export interface IsolatedTransform {
  entities: Entity[];
  goodIds: string[];
  bad: { id: string; error: unknown }[];
}

/**
 * Transforms the batch at once; when that fails, row by row, so one bad record holds up no other: the good
 * rows' entities go on, and each bad row is reported with its own error.
 */
export async function transformIsolating(
  connector: Connector,
  rows: RawRow[],
  ctx: TransformContext,
): Promise<IsolatedTransform> {
  try {
    return { entities: await transformRows(connector, rows, ctx), goodIds: rows.map((r) => r.id), bad: [] };
  } catch (error) {
    if (rows.length === 1) return { entities: [], goodIds: [], bad: [{ id: rows[0]!.id, error }] };
  }
  const out: IsolatedTransform = { entities: [], goodIds: [], bad: [] };
  for (const row of rows) {
    try {
      out.entities.push(...(await transformRows(connector, [row], ctx)));
      out.goodIds.push(row.id);
    } catch (error) {
      out.bad.push({ id: row.id, error });
    }
  }
  return out;
}
