/**
 * SQLite engine: better-sqlite3 + drizzle-orm/better-sqlite3. WAL, busy_timeout 5000,
 * synchronous=NORMAL, foreign keys on. `commit` runs the whole unit synchronously inside
 * `BEGIN IMMEDIATE`, so a CLI and a server on the same file serialise their writes.
 */
import { copyFileSync, existsSync, mkdirSync, openSync, readSync, closeSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PkiError } from '@pkim/shared';
import * as schema from './sqlite-schema';
import type { ApiTokenRow, AuditEventRow, CaRow, CertificateRow, CommitResult, OpenStoreOptions, SessionRow, Store, UnitOfWork } from './types';
import { createRepositories } from './repositories';
import { tableByName, type QueryDb } from './query-db';
import { unitOfWork, type FastSteps, type SqlStep } from './unit-of-work';
import { toWriteError } from './store-errors';
import { pendingMigrations } from './migrations-journal';

export const SQLITE_MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations/sqlite', import.meta.url));

export function openSqliteDatabase(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('wal_autocheckpoint = 10000');
  return sqlite;
}

function lastAppliedMigration(sqlite: Database.Database): number | null {
  const table = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'").get();
  if (!table) return null;
  const row = sqlite.prepare('select created_at as c from __drizzle_migrations order by created_at desc limit 1').get() as { c: number } | undefined;
  return row ? Number(row.c) : null;
}

/** Applies pending migrations with drizzle's migrator; returns the tags applied. */
export function migrateSqlite(sqlite: Database.Database): string[] {
  const db = drizzle({ client: sqlite });
  const pending = pendingMigrations(SQLITE_MIGRATIONS_FOLDER, lastAppliedMigration(sqlite));
  if (pending.length === 0) return [];
  try {
    migrate(db, { migrationsFolder: SQLITE_MIGRATIONS_FOLDER });
  } catch (e) {
    // Another process may have migrated the same file between our read and its BEGIN: re-check.
    if (pendingMigrations(SQLITE_MIGRATIONS_FOLDER, lastAppliedMigration(sqlite)).length === 0) return [];
    throw new PkiError('store.migration_failed', `Applying SQLite migrations failed: ${(e as Error).message}`, { cause: e });
  }
  return pending;
}

function fastSteps(db: QueryDb): FastSteps {
  const C = schema.certificates;
  const A = schema.auditEvents;
  const placeholders = (cols: Record<string, unknown>) => Object.fromEntries(Object.keys(cols).map((k) => [k, sql.placeholder(k)]));
  const certCols = Object.keys(getTableColumns(C));
  const auditCols = Object.keys(getTableColumns(A));
  const insertCertificate = db.insert(C).values(placeholders(getTableColumns(C)) as never).prepare();
  const insertAudit = db.insert(A).values(placeholders(getTableColumns(A)) as never).prepare();
  const head = db.select({ seq: A.seq, hash: A.hash }).from(A).orderBy(desc(A.seq)).limit(1).prepare();
  const fill = (cols: string[], row: Record<string, unknown>) => {
    const out: Record<string, unknown> = {};
    for (const k of cols) out[k] = row[k] ?? null;
    return out;
  };
  return {
    auditHead: () => ({ mode: 'rows', q: head, params: {} }),
    insertCertificate: (row) => ({ mode: 'exec', q: insertCertificate, params: fill(certCols, row) }),
    insertAuditEvent: (row: AuditEventRow) => ({ mode: 'exec', q: insertAudit, params: fill(auditCols, row as unknown as Record<string, unknown>) }),
  };
}

/**
 * Hot-path lookups (issuance, OCSP, authentication) as prepared statements: building a Drizzle
 * query costs ~100 µs per call, more than the SQLite lookup itself.
 */
function preparedHotReads(db: QueryDb, repos: ReturnType<typeof createRepositories>): void {
  const CA = schema.certificateAuthorities;
  const C = schema.certificates;
  const T = schema.apiTokens;
  const S = schema.sessions;
  const caById = db.select().from(CA).where(eq(CA.id, sql.placeholder('id'))).prepare();
  const caByName = db.select().from(CA).where(eq(CA.name, sql.placeholder('name'))).prepare();
  const certById = db.select().from(C).where(eq(C.id, sql.placeholder('id'))).prepare();
  const certBySerial = db.select().from(C).where(and(eq(C.caId, sql.placeholder('caId')), eq(C.serialHex, sql.placeholder('serialHex')))).prepare();
  const tokenByHash = db.select().from(T).where(eq(T.tokenHash, sql.placeholder('h'))).prepare();
  const sessionByHash = db.select().from(S).where(eq(S.tokenHash, sql.placeholder('h'))).prepare();
  repos.cas.findById = async (id) => caById.get({ id }) as CaRow | undefined;
  repos.cas.findByName = async (name) => caByName.get({ name }) as CaRow | undefined;
  repos.certificates.findById = async (id) => certById.get({ id }) as CertificateRow | undefined;
  repos.certificates.findBySerial = async (caId, serialHex) => certBySerial.get({ caId, serialHex: serialHex.toLowerCase() }) as CertificateRow | undefined;
  repos.tokens.findByHash = async (h) => tokenByHash.get({ h }) as ApiTokenRow | undefined;
  repos.sessions.findByHash = async (h) => sessionByHash.get({ h }) as SessionRow | undefined;
}

interface SyncRunnable {
  run(params?: Record<string, unknown>): { changes: number };
  all(params?: Record<string, unknown>): unknown[];
}

function runStepSync(step: SqlStep): unknown {
  const q = step.q as SyncRunnable;
  return step.mode === 'exec' ? q.run(step.params).changes : q.all(step.params);
}

export async function openSqliteStore(path: string, options: OpenStoreOptions): Promise<Store> {
  let sqlite: Database.Database;
  try {
    sqlite = openSqliteDatabase(path);
  } catch (e) {
    throw new PkiError('store.unavailable', `Cannot open the SQLite database '${path}': ${(e as Error).message}`, { cause: e });
  }
  try {
    migrateSqlite(sqlite);
  } catch (e) {
    sqlite.close();
    throw e;
  }
  const db = drizzle({ client: sqlite });
  const repos = createRepositories(db, schema);
  preparedHotReads(db, repos);
  const fast = fastSteps(db);
  const failCommit = options.faultInjection?.failCommit === true;

  const unitTx = sqlite.transaction((unit: UnitOfWork): CommitResult => {
    const gen = unitOfWork(db, schema, unit, fast, failCommit);
    let r = gen.next();
    while (!r.done) r = gen.next(runStepSync(r.value));
    return r.value;
  });
  /**
   * Group commit: units submitted in the same turn of the event loop (e.g. concurrent
   * issuances) are written in ONE `BEGIN IMMEDIATE` transaction, in submission order (so the
   * audit chain is appended in that order). If any unit of a batch fails, the whole batch is
   * rolled back and every unit is retried in a transaction of its own, so a failing unit never
   * takes others down and never leaves partial writes.
   */
  type Pending = { unit: UnitOfWork; resolve: (r: CommitResult) => void; reject: (e: unknown) => void };
  let queue: Pending[] = [];
  const batchTx = sqlite.transaction((items: Pending[]) => items.map((it) => unitTx(it.unit)));
  const flush = (): void => {
    const items = queue;
    queue = [];
    if (process.env.PKIM_DEBUG_BATCH) (globalThis as any).__batches = ((globalThis as any).__batches ?? []).concat(items.length);
    if (items.length > 1) {
      try {
        const results = batchTx.immediate(items);
        results.forEach((r, i) => items[i].resolve(r));
        return;
      } catch {
        // fall through: isolate the failing unit
      }
    }
    for (const it of items) {
      try {
        it.resolve(unitTx.immediate(it.unit));
      } catch (e) {
        it.reject(toWriteError(e));
      }
    }
  };
  const commit = (unit: UnitOfWork): Promise<CommitResult> =>
    new Promise<CommitResult>((resolve, reject) => {
      queue.push({ unit, resolve, reject });
      if (queue.length === 1) setImmediate(flush);
    });

  const importTx = sqlite.transaction((tableName: Parameters<Store['importRows']>[0], rows: Array<Record<string, unknown>>) => {
    const { table } = tableByName(schema, tableName);
    const perStatement = Math.max(1, Math.floor(30_000 / Object.keys(getTableColumns(table)).length));
    for (let i = 0; i < rows.length; i += perStatement) {
      db.insert(table).values(rows.slice(i, i + perStatement) as never).run();
    }
    return rows.length;
  });

  let closed = false;
  return {
    dialect: 'sqlite',
    ...repos,
    audit: {
      ...repos.audit,
      async append(event) {
        const r = await commit({ audit: [event] });
        return r.audit[0]!;
      },
    },
    commit,
    async ping() {
      try {
        return sqlite.prepare('select 1 as ok').get() !== undefined;
      } catch {
        return false;
      }
    },
    async withLeaderLock(_name, fn) {
      return fn(); // one writer per file: every instance is the leader
    },
    async backup(toPath) {
      try {
        mkdirSync(dirname(toPath), { recursive: true });
        await sqlite.backup(toPath);
      } catch (e) {
        throw new PkiError('store.backup_failed', `SQLite backup to '${toPath}' failed: ${(e as Error).message}`, { cause: e });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (queue.length) flush();
      sqlite.close();
    },
    exportRows: repos.exportRows,
    async importRows(table, rows) {
      if (rows.length === 0) return 0;
      try {
        return importTx.immediate(table, rows);
      } catch (e) {
        throw toWriteError(e, `Importing ${rows.length} row(s) into ${table} failed`);
      }
    },
  };
}

const SQLITE_HEADER = 'SQLite format 3\u0000';

/** Copies a backup file into place while no store has the database open; removes stale -wal/-shm. */
export function restoreSqlite(path: string, fromPath: string): void {
  if (path === ':memory:') throw new PkiError('store.restore_failed', 'Cannot restore into an in-memory SQLite database');
  if (!existsSync(fromPath)) throw new PkiError('store.restore_failed', `Backup file '${fromPath}' does not exist`);
  const header = Buffer.alloc(16);
  const fd = openSync(fromPath, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_HEADER) {
    throw new PkiError('store.restore_failed', `'${fromPath}' is not a SQLite database backup`);
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.restore-${process.pid}`;
    copyFileSync(fromPath, tmp);
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
    renameSync(tmp, path);
  } catch (e) {
    throw new PkiError('store.restore_failed', `Restoring '${fromPath}' to '${path}' failed: ${(e as Error).message}`, { cause: e });
  }
}
