import type { Engine, SecretKeyUsage } from '@etl/core';
import { table } from './cli-output.js';
import { exitCodes } from './startup-error.js';
import { UsageError } from './worker-flags.js';

export const secretsUsage = `  secrets status                        which key of ETL_SECRET_KEYS encrypts which integrations
  secrets rotate                        re-encrypt every stored secret with the first key of ETL_SECRET_KEYS
  secrets can-retire <key id>           exit 0 when no integration uses the key any more (remove it then), 1 otherwise`;

function usageTable(usage: SecretKeyUsage[]): string {
  return table(
    ['key', 'current', 'in keyring', 'integrations'],
    usage.map((u) => [
      u.keyId,
      u.current ? 'yes' : '',
      u.inKeyring ? 'yes' : 'NO',
      u.integrations.map((i) => i.name).join(', ') || '—',
    ]),
  );
}

/** `etl secrets status | rotate | can-retire <id>`: a thin face on the engine's keyring. */
export async function secretsCommand(
  engine: Engine,
  args: string[],
  out: (value: unknown, text: string) => void,
): Promise<number> {
  const [action, keyId, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`secrets ${action}: too many arguments`);
  switch (action) {
    case 'status': {
      if (keyId !== undefined) throw new UsageError('secrets status takes no arguments');
      const usage = await engine.secrets.usage();
      out(usage, usageTable(usage));
      return exitCodes.ok;
    }
    case 'rotate': {
      if (keyId !== undefined) throw new UsageError('secrets rotate takes no arguments');
      const rotation = await engine.secrets.rotate();
      const usage = await engine.secrets.usage();
      const skipped = rotation.skipped.map((s) => `  not rotated: ${s.name} (${s.id}) — ${s.reason}`);
      out(
        { ...rotation, usage },
        [
          `re-encrypted ${rotation.secrets} secret(s) of ${rotation.integrations} integration(s) with key "${rotation.keyId}"`,
          ...skipped,
          '',
          usageTable(usage),
        ].join('\n'),
      );
      return rotation.skipped.length === 0 ? exitCodes.ok : exitCodes.jobFailed;
    }
    case 'can-retire': {
      if (keyId === undefined) throw new UsageError('secrets can-retire needs a <key id>');
      const usage = (await engine.secrets.usage()).find((u) => u.keyId === keyId);
      const users = usage?.integrations ?? [];
      if (usage?.current) {
        out(
          { keyId, retire: false, current: true, integrations: users },
          `key "${keyId}" is the current key: put a new key first in ETL_SECRET_KEYS and run \`etl secrets rotate\``,
        );
        return exitCodes.jobFailed;
      }
      if (users.length > 0) {
        out(
          { keyId, retire: false, integrations: users },
          `key "${keyId}" still encrypts ${users.length} integration(s): ${users.map((i) => i.name).join(', ')} — run \`etl secrets rotate\` first`,
        );
        return exitCodes.jobFailed;
      }
      out(
        { keyId, retire: true, integrations: [] },
        `no integration uses key "${keyId}": remove it from ETL_SECRET_KEYS`,
      );
      return exitCodes.ok;
    }
    default:
      throw new UsageError(
        action === undefined
          ? 'secrets needs status, rotate or can-retire'
          : `unknown secrets action "${action}"; use status, rotate or can-retire`,
      );
  }
}
