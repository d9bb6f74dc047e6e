import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import { parseStoreUrl, type Store } from '@pkim/store';
import type { CliContext } from '../cli-context';
import { keyValues } from '../format';
import {
  assertSqliteExists,
  configuredDatabaseUrl,
  describeDatabase,
  storeHasData,
  withScrubbedErrors,
} from './db-command';

const MASTER_KEY_FILE = 'master.key';

/** Where the key-encryption key of the software CA keys comes from; the backup never contains it. */
function masterKeyInfo(dataDir: string): {
  includedInBackup: false;
  source: 'env' | 'file' | 'none';
  path: string | null;
  note: string;
} {
  const path = join(dataDir, MASTER_KEY_FILE);
  const source = process.env.PKIM_MASTER_KEY?.trim() ? 'env' : existsSync(path) ? 'file' : 'none';
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

async function summary(store: Store) {
  const byStatus = await store.certificates.countByStatus();
  const cas = (await store.cas.list()).length;
  const auditEvents = await store.audit.count();
  const last = (await store.audit.list({ order: 'desc', limit: 1 }))[0];
  return {
    cas,
    certificates: Object.values(byStatus).reduce((a, b) => a + b, 0),
    certificatesByStatus: byStatus,
    auditEvents,
    auditHead: last ? { seq: last.seq, hash: last.hash } : null,
  };
}

/** `pkim backup --out` and `pkim restore --from [--force]` for the configured database. */
export function registerBackupCommands(program: Command, ctx: CliContext): void {
  program
    .command('backup')
    .description(
      'back up the configured database (SQLite online backup / pg_dump custom format); the master key is NOT included',
    )
    .requiredOption('--out <file>', 'backup file to write (mode 0600)')
    .action(async (o: { out: string }) => {
      const url = configuredDatabaseUrl(ctx);
      await withScrubbedErrors([url], async () => {
        assertSqliteExists(url, 'backup');
        const out = resolve(o.out);
        const dialect = parseStoreUrl(url).dialect;
        // the drivers load only for the commands that need them
        const { openStore } = await import('../lazy/store-runtime');
        const store = await openStore({ url });
        let contents: Awaited<ReturnType<typeof summary>>;
        try {
          contents = await summary(store);
          await store.backup(out);
        } finally {
          await store.close().catch(() => undefined);
        }
        try {
          chmodSync(out, 0o600); // it holds encrypted CA keys, password and token hashes
        } catch {
          /* best effort */
        }
        const masterKey = masterKeyInfo(ctx.options().dataDir);
        const result = {
          file: out,
          dialect,
          database: describeDatabase(url),
          format: dialect === 'sqlite' ? 'sqlite-online-backup' : 'pg_dump-custom',
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
        const parsed = parseStoreUrl(url);
        const { migrateStore, openStore, restoreStore } = await import('../lazy/store-runtime');
        const fresh = parsed.dialect === 'sqlite' && parsed.path !== ':memory:' && !existsSync(parsed.path);
        let overwritten = false;
        if (!fresh) {
          const current = await openStore({ url });
          try {
            const table = await storeHasData(current);
            if (table && !o.force) {
              throw new PkiError(
                'store.target_not_empty',
                `${database} already holds data (table ${table} has rows): stop the servers using it and ` +
                  `pass --force to overwrite it with the backup`,
                { details: { table } },
              );
            }
            overwritten = table !== null;
          } finally {
            await current.close().catch(() => undefined);
          }
        }
        await restoreStore({ url, fromPath: from });
        const migration = await migrateStore(url); // a backup from an older version gets the newer schema
        const store = await openStore({ url });
        try {
          const audit = await store.audit.verify();
          const contents = await summary(store);
          if (!audit.ok) {
            throw new PkiError(
              'audit.chain_broken',
              `restored ${database} from ${from}, but its audit chain is broken at event ` +
                `#${audit.brokenAtSeq} (${audit.brokenEventId}): ${audit.reason}`,
              { details: { audit, contents } },
            );
          }
          const masterKey = masterKeyInfo(ctx.options().dataDir);
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
              dialect: parsed.dialect,
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
                  ['audit chain', `OK: ${audit.count} events verified (head ${audit.lastHash.slice(0, 16)}…)`],
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
        } finally {
          await store.close().catch(() => undefined);
        }
      });
    });
}
