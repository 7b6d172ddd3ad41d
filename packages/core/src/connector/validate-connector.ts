import { EtlError } from '../errors.js';
import { mappingsSchema } from '../model/mappings.js';
import { formatIssues, issuesText, type FieldIssue } from '../validation.js';
import type { Connector } from './connector.js';

/**
 * The streams in an order that extracts every dependency before its dependents. Throws on a cycle, naming the
 * streams in it.
 */
export function streamOrder(
  connector: Pick<Connector, 'name' | 'streams'>,
  names?: readonly string[],
): string[] {
  const selected = names ?? connector.streams.map((s) => s.name);
  const out: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (out.includes(name)) return;
    if (path.includes(name)) {
      const cycle = [...path.slice(path.indexOf(name)), name].join(' → ');
      throw new EtlError(
        'invalid_config',
        `connector ${connector.name}: streams depend on each other in a cycle: ${cycle}`,
        {
          details: [
            {
              path: `streams.${name}.dependsOn`,
              message: `streams ${cycle} depend on each other in a cycle`,
            },
          ],
        },
      );
    }
    const definition = connector.streams.find((d) => d.name === name);
    for (const dep of definition?.dependsOn ?? []) if (selected.includes(dep)) visit(dep, [...path, name]);
    out.push(name);
  };
  for (const name of selected) visit(name, []);
  return out;
}

function streamIssues(connector: Connector): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const names = connector.streams.map((s) => s.name);
  const seen = new Set<string>();
  for (const [index, stream] of connector.streams.entries()) {
    const at = `streams.${stream.name || index}`;
    if (typeof stream.name !== 'string' || stream.name.length === 0)
      issues.push({ path: `streams.${index}.name`, message: 'a stream needs a name' });
    else if (seen.has(stream.name))
      issues.push({ path: `${at}.name`, message: `stream "${stream.name}" is defined twice` });
    seen.add(stream.name);
    if (!Array.isArray(stream.primaryKey) || stream.primaryKey.length === 0)
      issues.push({ path: `${at}.primaryKey`, message: `stream "${stream.name}" has an empty primary key` });
    for (const dep of stream.dependsOn ?? []) {
      if (dep === stream.name)
        issues.push({ path: `${at}.dependsOn`, message: `stream "${stream.name}" depends on itself` });
      else if (!names.includes(dep))
        issues.push({
          path: `${at}.dependsOn`,
          message: `stream "${stream.name}" depends on "${dep}", which the connector does not define`,
        });
    }
    if (stream.partitioned && typeof connector.extractor?.partitions !== 'function')
      issues.push({
        path: `${at}.partitioned`,
        message: `stream "${stream.name}" is partitioned but the extractor has no partitions()`,
      });
  }
  return issues;
}

function cycleIssues(connector: Connector): FieldIssue[] {
  try {
    streamOrder(connector);
    return [];
  } catch (error) {
    return error instanceof EtlError ? (error.details as FieldIssue[]) : [];
  }
}

/**
 * Checks a connector definition: a name, functions for its parts, unique streams with a primary key, known and
 * acyclic dependencies, `partitions()` for partitioned streams, valid default mappings. Throws one
 * `invalid_config` EtlError listing every problem, each naming its stream. `createEngine` calls it for every
 * connector it registers, and `testConnector` first of all.
 *
 * @example
 * validateConnector(myConnector()); // throws: invalid connector acme — streams.tickets.primaryKey: …
 */
export function validateConnector(connector: Connector): void {
  const issues: FieldIssue[] = [];
  if (typeof connector.name !== 'string' || connector.name.length === 0)
    issues.push({ path: 'name', message: 'a connector needs a name' });
  if (typeof connector.configSchema?.safeParse !== 'function')
    issues.push({ path: 'configSchema', message: 'must be a zod schema' });
  if (typeof connector.extractor?.extract !== 'function')
    issues.push({ path: 'extractor.extract', message: 'must be a function' });
  if (typeof connector.transformer?.transform !== 'function')
    issues.push({ path: 'transformer.transform', message: 'must be a function' });
  issues.push(...streamIssues(connector));
  if (!issues.some((i) => i.path.endsWith('.dependsOn'))) issues.push(...cycleIssues(connector));
  if (connector.defaultMappings !== undefined) {
    const parsed = mappingsSchema.safeParse(connector.defaultMappings);
    if (!parsed.success)
      issues.push(
        ...formatIssues(parsed.error.issues).map((i) => ({ ...i, path: `defaultMappings.${i.path}` })),
      );
  }
  if (issues.length > 0) {
    throw new EtlError('invalid_config', `invalid connector ${connector.name} — ${issuesText(issues)}`, {
      details: issues,
    });
  }
}
