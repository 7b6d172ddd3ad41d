import { readFile } from 'node:fs/promises';
import type { Engine, Integration } from '@etl/core';
import { table } from './cli-output.js';
import { exitCodes } from './startup-error.js';
import { UsageError } from './worker-flags.js';

export const integrationsUsage = `  integrations [list]                   list integrations
  integrations show <integration>       one integration (secrets masked) and its last jobs
  integrations add --connector C --name N (--config JSON | --config-file F)
                   [--schedule-seconds S | --schedule-cron '*/15 * * * *']
                                        create an integration (its config checked by the connector)
  integrations test <integration>       test its connection to the source (exit 1 when it fails)`;

export const integrationsOptions = {
  connector: { type: 'string' },
  name: { type: 'string' },
  config: { type: 'string' },
  'config-file': { type: 'string' },
  'schedule-seconds': { type: 'string' },
  'schedule-cron': { type: 'string' },
} as const;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;
type Output = (json: boolean, value: unknown, text: string) => void;

/** An integration by id or by its (unique) name; a usage error naming the known ones otherwise. */
export async function findIntegration(engine: Engine, ref: string): Promise<Integration> {
  const list = await engine.integrations.list();
  const byId = list.find((i) => i.id === ref);
  if (byId) return byId;
  const named = list.filter((i) => i.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw new UsageError(`two or more integrations are named "${ref}"; use its id`);
  const names = list.map((i) => `"${i.name}"`).join(', ') || 'none yet';
  throw new UsageError(`no integration "${ref}" (known: ${names})`);
}

function listTable(list: Integration[]): string {
  return table(
    ['name', 'connector', 'id', 'schedule', 'enabled'],
    list.map((i) => [
      i.name,
      i.connector,
      i.id,
      i.scheduleCron ?? (i.scheduleSeconds ? `${i.scheduleSeconds}s` : '—'),
      String(i.enabled),
    ]),
  );
}

async function configOf(values: Values): Promise<Record<string, unknown>> {
  const text =
    typeof values['config-file'] === 'string'
      ? await readFile(values['config-file'], 'utf8').catch((error: unknown) => {
          throw new UsageError(`--config-file: cannot read ${values['config-file']} (${String(error)})`);
        })
      : values.config;
  if (typeof text !== 'string')
    throw new UsageError('integrations add needs --config JSON or --config-file F');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new UsageError('--config: a JSON object, like {"siteUrl":"https://acme.atlassian.net", …}');
}

/** `etl integrations list|show|add|test`; resolves with the exit code. */
export async function integrationsCommand(
  engine: Engine,
  positionals: string[],
  values: Values,
  out: Output,
): Promise<number> {
  const json = values.json === true;
  const [action = 'list', ref, ...extra] = positionals;
  const needsRef = action === 'show' || action === 'test';
  if (needsRef && (!ref || extra.length > 0))
    throw new UsageError(`integrations ${action} needs exactly one <integration>`);
  if (!needsRef && positionals.length > 1)
    throw new UsageError(`integrations ${action} takes no arguments (got ${positionals.slice(1).join(' ')})`);
  switch (action) {
    case 'list': {
      const list = await engine.integrations.list();
      out(json, list, listTable(list));
      return exitCodes.ok;
    }
    case 'show': {
      const integration = await findIntegration(engine, ref!);
      const { jobs } = await engine.jobs.list({ integrationId: integration.id, limit: 5 });
      out(
        json,
        { integration, jobs },
        [
          listTable([integration]),
          '',
          `config: ${JSON.stringify(integration.config)}`,
          jobs.length > 0
            ? `last jobs: ${jobs.map((j) => `${j.id} ${j.status} (${j.createdAt})`).join('; ')}`
            : 'no jobs yet',
        ].join('\n'),
      );
      return exitCodes.ok;
    }
    case 'add': {
      if (typeof values.connector !== 'string' || typeof values.name !== 'string')
        throw new UsageError('integrations add needs --connector and --name');
      const schedule = values['schedule-seconds'];
      const scheduleSeconds = schedule === undefined ? undefined : Number(schedule);
      if (scheduleSeconds !== undefined && !Number.isInteger(scheduleSeconds))
        throw new UsageError('--schedule-seconds: a whole number of seconds');
      const integration = await engine.integrations.create({
        connector: values.connector,
        name: values.name,
        config: await configOf(values),
        scheduleSeconds,
        scheduleCron: typeof values['schedule-cron'] === 'string' ? values['schedule-cron'] : undefined,
      });
      out(
        json,
        integration,
        `added integration "${integration.name}" (${integration.connector}, ${integration.id})`,
      );
      return exitCodes.ok;
    }
    case 'test': {
      const integration = await findIntegration(engine, ref!);
      const result = await engine.integrations.test(integration.id);
      out(
        json,
        { integration: { id: integration.id, name: integration.name }, ...result },
        `${result.ok ? 'ok' : 'failed'}: ${integration.name} — ${result.message}`,
      );
      return result.ok ? exitCodes.ok : exitCodes.jobFailed;
    }
    default:
      throw new UsageError(`unknown integrations action "${action}" (use list, show, add or test)`);
  }
}
