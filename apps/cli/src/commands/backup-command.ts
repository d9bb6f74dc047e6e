import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { keyValues } from '../format';
import { configuredDatabaseUrl, describeDatabase, withScrubbedErrors } from '../database-helpers';

const MASTER_KEY_FILE = 'master.key';

/** Where the key-encryption key of the software CA keys comes from; the backup never contains it. */
function masterKeyInfo(
  dataDir: string,
  env: Record<string, string | undefined>,
): {
  includedInBackup: false;
  source: 'env' | 'file' | 'none';
  path: string | null;
  note: string;
} {
  const path = join(dataDir, MASTER_KEY_FILE);
  const source = env.PKIM_MASTER_KEY?.trim() ? 'env' : existsSync(path) ? 'file' : 'none';
  const where = source === 'env' ? 'the PKIM_MASTER_KEY environment variable' : path;
  return {
    includedInBackup: false,
    source,
    path: source === 'file' ? path : null,
    note:
      source === 'none'
        ? 'the backup does NOT include the master key (key-encryption key); none was found here ' +
          '(PKIM_MASTER_KEY unset, no master.key): restore on the machine that has it'
        : `the backup does NOT include the master key (key-encryption key) from ${where}: software CA keys ` +
          `in the backup are encrypted under it, so keep a copy of it separately and securely; without it ` +
          `the CA keys cannot be used after a restore`,
  };
}

function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('error', fail)
      .on('data', (c) => h.update(c))
      .on('end', () => ok(h.digest('hex')));
  });
}

/** `pkim backup --out` and `pkim restore --from [--force]` for the configured database. */
export function registerBackupCommands(program: Command, ctx: CliContext): void {
  program
    .command('backup')
    .description(
      'back up the configured database (SQLite online backup / pg_dump custom format); the master key is NOT included',
    )
    .requiredOption('--out <file>', 'backup file to write (mode 0600)')
    .option('--force', 'overwrite the file if it exists')
    .action(async (o: { out: string; force?: boolean }) => {
      const url = configuredDatabaseUrl(ctx);
      await withScrubbedErrors([url], async () => {
        const out = resolve(o.out);
        // an older backup is not replaced by accident (a restore's only way back)
        if (existsSync(out) && !o.force)
          throw new PkiError('store.backup_file_exists', `'${out}' already exists (--force overwrites it)`);
        // the drivers load only for the commands that need them
        const { backupDatabase } = await import('../lazy/database-admin-runtime');
        const { dialect, format, contents } = await backupDatabase({ url, out, env: ctx.config().env });
        try {
          chmodSync(out, 0o600); // it holds encrypted CA keys, password and token hashes
        } catch {
          /* best effort */
        }
        const masterKey = masterKeyInfo(ctx.options().dataDir, ctx.config().env);
        const result = {
          file: out,
          dialect,
          database: describeDatabase(url),
          format,
          bytes: statSync(out).size,
          sha256: await sha256File(out),
          contents,
          masterKey,
        };
        ctx.output(result, () =>
          [
            keyValues([
              ['backup', result.file],
              ['database', result.database],
              ['format', result.format],
              ['size', `${result.bytes} bytes`],
              ['sha256', result.sha256],
              [
                'contents',
                `${contents.cas} CA(s), ${contents.certificates} certificate(s), ${contents.auditEvents} ` +
                  `audit event(s)`,
              ],
              [
                'audit head',
                contents.auditHead ? `#${contents.auditHead.seq} ${contents.auditHead.hash.slice(0, 16)}…` : '-',
              ],
            ]),
            `NOTE: ${masterKey.note}.`,
          ].join('\n'),
        );
      });
    });

  program
    .command('restore')
    .description(
      'restore the configured database from a `pkim backup` file (stop every server on it first); verifies ' +
        'the audit chain',
    )
    .requiredOption('--from <file>', 'backup file written by `pkim backup`')
    .option('--force', 'overwrite a database that already holds data')
    .action(async (o: { from: string; force?: boolean }) => {
      const url = configuredDatabaseUrl(ctx);
      await withScrubbedErrors([url], async () => {
        const from = resolve(o.from);
        if (!existsSync(from) || !statSync(from).isFile())
          throw new PkiError('input.invalid', `backup file '${from}' does not exist`);
        const database = describeDatabase(url);
        const { databaseLocation, restoreDatabase } = await import('../lazy/database-admin-runtime');
        const dialect = databaseLocation(url).dialect;
        let restored: Awaited<ReturnType<typeof restoreDatabase>>;
        try {
          restored = await restoreDatabase({ url, from, force: o.force, env: ctx.config().env });
        } catch (e) {
          // name the database in the message
          if (e instanceof PkiError && (e.code === 'store.target_not_empty' || e.code === 'audit.chain_broken')) {
            const message = e.message
              .replace(/^the database/, database)
              .replace(/^restored the database/, `restored ${database}`);
            throw new PkiError(e.code, message, { kind: e.kind, details: e.details });
          }
          throw e;
        }
        const { overwritten, audit, contents } = restored;
        const migration = { applied: restored.migrationsApplied };
        {
          const masterKey = masterKeyInfo(ctx.options().dataDir, ctx.config().env);
          // a restore is a deliberate rollback: the signed checkpoint moves to the restored head (a newer one
          // beside the database would otherwise report the events after the backup as a truncation)
          const checkpoint =
            masterKey.source === 'none'
              ? null
              : ((await (await ctx.openAuthority()).audit.checkpoint({ reanchor: true })) ?? null);
          ctx.output(
            {
              auditCheckpoint: checkpoint,
              restoredFrom: from,
              database,
              dialect,
              overwritten,
              migrationsApplied: migration.applied,
              audit,
              contents,
              masterKey,
            },
            () =>
              [
                `restored ${database} from ${from}${overwritten ? ' (previous data overwritten)' : ''}`,
                keyValues([
                  [
                    'contents',
                    `${contents.cas} CA(s), ${contents.certificates} certificate(s), ` +
                      `${contents.auditEvents} audit event(s)`,
                  ],
                  [
                    'audit chain',
                    `OK: ${audit.count} events verified (head ${audit.ok ? audit.lastHash.slice(0, 16) : '?'}…)`,
                  ],
                  ['migrations', migration.applied.length ? migration.applied.join(', ') : 'none needed'],
                  [
                    'audit checkpoint',
                    checkpoint
                      ? `re-anchored at event #${checkpoint.seq}` +
                        (checkpoint.replaced ? ` (replaced one of event #${checkpoint.replaced.seq})` : '')
                      : masterKey.source === 'none'
                        ? 'not re-anchored (no master key here): run `pkim audit checkpoint --reanchor` once it is back'
                        : '-',
                  ],
                ]),
                masterKey.source === 'none'
                  ? 'NOTE: no master key here (PKIM_MASTER_KEY unset, no master.key): software CA keys stay ' +
                    'unusable until you put back the master key they were encrypted with.'
                  : 'NOTE: software CA keys decrypt only with the master key they were created under: it ' +
                    'must be the one in use here.',
              ].join('\n'),
          );
        }
      });
    });
}
