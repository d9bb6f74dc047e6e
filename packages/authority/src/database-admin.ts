import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { sameDatabase } from './database-location';
import { PkiError } from '@pkim/shared';
import { copyStore, migrateStore, openStore, parseStoreUrl, restoreStore, STORE_TABLES, type Store } from '@pkim/store';

export type AuditVerifyResult = Awaited<ReturnType<Store['audit']['verify']>>;

/**
 * The database-administration facade: `pkim db migrate|copy`, `pkim backup` and `pkim restore` work on a database
 * that may not be (or must not be) open as an authority — an empty PostgreSQL target, a file to restore over. The
 * apps call these functions; they never import the store (tests/architecture.test.ts). Every function opens and
 * closes what it needs. `env` is the environment of the PostgreSQL client tools (pg_dump/pg_restore), passed down by
 * the app's config module.
 */

type Env = Record<string, string | undefined>;

export interface DatabaseContents {
  cas: number;
  certificates: number;
  certificatesByStatus: Record<string, number>;
  auditEvents: number;
  auditHead: { seq: number; hash: string } | null;
}

/** Opening a SQLite store creates the file: operations that READ a database refuse a missing one instead. */
export function assertDatabaseExists(url: string, what: string): void {
  const parsed = parseStoreUrl(url);
  if (parsed.dialect === 'sqlite' && parsed.path !== ':memory:' && !existsSync(parsed.path)) {
    throw new PkiError('input.invalid', `${what}: there is no SQLite database at '${resolve(parsed.path)}'`);
  }
}

async function contentsOf(store: Store): Promise<DatabaseContents> {
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

/** the first table holding a row, or null */
async function firstNonEmptyTable(store: Store): Promise<string | null> {
  for (const t of STORE_TABLES) {
    const probe = await store.exportRows(t, null, 1);
    if (probe.rows.length > 0) return t;
  }
  return null;
}

/** Applies pending schema migrations (idempotent). */
export async function migrateDatabase(url: string): Promise<{ dialect: 'sqlite' | 'postgres'; applied: string[] }> {
  return migrateStore(url);
}

/**
 * Copies every row (ids, serials, audit chain, encrypted CA keys) into a fresh, empty database and verifies it:
 * row counts, certificate fingerprints, the audit chain. Throws `store.copy_verification_failed` when it does not
 * verify.
 */
export async function copyDatabase(input: { from: string; to: string; env?: Env }): Promise<{
  counts: Record<string, number>;
  verified: boolean;
  problems: string[];
  audit: AuditVerifyResult;
}> {
  if (sameDatabase(input.from, input.to)) throw new PkiError('input.invalid', '--from and --to name the same database');
  assertDatabaseExists(input.from, 'db copy --from');
  const from = await openStore({ url: input.from, env: input.env });
  let target: Store | undefined;
  try {
    target = await openStore({ url: input.to, env: input.env });
    const r = await copyStore({ from, to: target });
    if (!r.verified) {
      throw new PkiError(
        'store.copy_verification_failed',
        `the copy did not verify: ${r.problems[0]}` +
          (r.problems.length > 1 ? ` (and ${r.problems.length - 1} more problem(s))` : ''),
        { details: { counts: r.counts, problems: r.problems } },
      );
    }
    const audit = await target.audit.verify();
    return { counts: r.counts, verified: r.verified, problems: r.problems, audit };
  } finally {
    await target?.close().catch(() => undefined);
    await from.close().catch(() => undefined);
  }
}

/** Backs the database up to `out` (SQLite online backup / pg_dump custom format), mode 0600. */
export async function backupDatabase(input: { url: string; out: string; env?: Env }): Promise<{
  dialect: 'sqlite' | 'postgres';
  format: 'sqlite-online-backup' | 'pg_dump-custom';
  contents: DatabaseContents;
}> {
  assertDatabaseExists(input.url, 'backup');
  const dialect = parseStoreUrl(input.url).dialect;
  const store = await openStore({ url: input.url, env: input.env });
  try {
    const contents = await contentsOf(store);
    await store.backup(input.out);
    return { dialect, format: dialect === 'sqlite' ? 'sqlite-online-backup' : 'pg_dump-custom', contents };
  } finally {
    await store.close().catch(() => undefined);
  }
}

/**
 * Restores `from` (a `backupDatabase` file) over the database, applies newer migrations and verifies the audit
 * chain. A database that holds data is only overwritten with `force` (`store.target_not_empty`); a broken chain
 * after the restore is `audit.chain_broken`.
 */
export async function restoreDatabase(input: { url: string; from: string; force?: boolean; env?: Env }): Promise<{
  overwritten: boolean;
  migrationsApplied: string[];
  audit: AuditVerifyResult;
  contents: DatabaseContents;
}> {
  const parsed = parseStoreUrl(input.url);
  const fresh = parsed.dialect === 'sqlite' && parsed.path !== ':memory:' && !existsSync(parsed.path);
  let overwritten = false;
  if (!fresh) {
    const current = await openStore({ url: input.url, env: input.env });
    try {
      const table = await firstNonEmptyTable(current);
      if (table && !input.force) {
        throw new PkiError(
          'store.target_not_empty',
          `the database already holds data (table ${table} has rows): stop the servers using it and pass --force ` +
            `to overwrite it with the backup`,
          { details: { table } },
        );
      }
      overwritten = table !== null;
    } finally {
      await current.close().catch(() => undefined);
    }
  }
  await restoreStore({ url: input.url, fromPath: input.from, env: input.env });
  const migration = await migrateStore(input.url); // a backup from an older version gets the newer schema
  const store = await openStore({ url: input.url, env: input.env });
  try {
    const audit = await store.audit.verify();
    const contents = await contentsOf(store);
    if (!audit.ok) {
      throw new PkiError(
        'audit.chain_broken',
        `restored the database from ${input.from}, but its audit chain is broken at event #${audit.brokenAtSeq} ` +
          `(${audit.brokenEventId}): ${audit.reason}`,
        { details: { audit, contents } },
      );
    }
    return { overwritten, migrationsApplied: migration.applied, audit, contents };
  } finally {
    await store.close().catch(() => undefined);
  }
}
