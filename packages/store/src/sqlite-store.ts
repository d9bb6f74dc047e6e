/**
 * SQLite engine: better-sqlite3 + drizzle-orm/better-sqlite3. WAL, busy_timeout 5000,
 * synchronous=NORMAL, foreign keys on. `commit` runs the whole unit synchronously inside
 * `BEGIN IMMEDIATE`, so a CLI and a server on the same file serialise their writes.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  closeSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, asc, eq, getTableColumns, gte, lt, sql, type Column, type Table } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PkiError } from '@pkim/shared';
import * as schema from './sqlite-schema';
import type {
  ApiTokenRow,
  CaRow,
  CertificateRequestRow,
  CertificateRow,
  CommitResult,
  OpenStoreOptions,
  SessionRow,
  StoreLogger,
  Store,
  UnitOfWork,
} from './types';
import { rawRowReader } from './raw-rows';
import { createRepositories } from './repositories';
import { ocspLookupSql, ocspSubordinateCaSql, type OcspLookupRead } from './ocsp-repository';
import { tableByName, type QueryDb } from './query-db';
import {
  CountDeltas,
  applyCountDeltas,
  insertCertificateNames,
  markExpiredSteps,
  rebuildCountsSteps,
  appendViaCommit,
  touchesCaRow,
} from './unit-of-work';
import { toWriteError } from './store-errors';
import { createSqliteCommitter, runSync, type UnitOutcome } from './sqlite-commit';
import { openSqliteDatabase } from './sqlite-database';
import { walFlusher } from './sqlite-wal-flush';

export { openSqliteDatabase };
import { createGroupCommit, SQLITE_GROUP_COMMIT } from './group-commit';
import { lateMigrations, pendingMigrations, reportUpgrade } from './migrations-journal';

export const SQLITE_MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations/sqlite', import.meta.url));

function appliedMigrations(sqlite: Database.Database): number[] | null {
  const table = sqlite
    .prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'")
    .get();
  if (!table) return null;
  return (sqlite.prepare('select created_at as c from __drizzle_migrations').all() as { c: number }[]).map((r) =>
    Number(r.c),
  );
}

/** Applies pending migrations (late reserved numbers first, then drizzle's migrator); returns the tags applied. */
export function migrateSqlite(sqlite: Database.Database, logger?: StoreLogger): string[] {
  const db = drizzle({ client: sqlite });
  const applied = appliedMigrations(sqlite);
  const pending = pendingMigrations(SQLITE_MIGRATIONS_FOLDER, applied);
  if (pending.length === 0) return [];
  const upgraded = reportUpgrade(logger, 'sqlite', applied, pending);
  try {
    const late = lateMigrations(SQLITE_MIGRATIONS_FOLDER, applied);
    if (late.length) {
      sqlite
        .transaction(() => {
          for (const m of late) {
            for (const statement of m.statements) sqlite.exec(statement);
            sqlite.prepare('insert into __drizzle_migrations ("hash", "created_at") values (?, ?)').run(m.hash, m.when);
          }
        })
        .immediate();
    }
    migrate(db, { migrationsFolder: SQLITE_MIGRATIONS_FOLDER });
    upgraded();
  } catch (e) {
    // Another process may have migrated the same file between our read and its BEGIN: re-check.
    if (pendingMigrations(SQLITE_MIGRATIONS_FOLDER, appliedMigrations(sqlite)).length === 0) return [];
    throw new PkiError('store.migration_failed', `Applying SQLite migrations failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return pending;
}

/** a value made on its first use, then reused */
function onFirstUse<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/**
 * The OCSP responder's reads, once per request (docs/ocsp.md): prepared on first use, raw rows (arrays), no Drizzle
 * mapping.
 */
function ocspReads(sqlite: Database.Database): OcspLookupRead {
  type Params = [{ ca: string; serial: string; alg: string }];
  const prepare = (text: string) => onFirstUse(() => sqlite.prepare<Params, unknown[]>(text).raw(true));
  const certificate = prepare(ocspLookupSql('@ca', '@serial', '@alg'));
  const subordinateCa = prepare(ocspSubordinateCaSql('@ca', '@serial', '@alg'));
  return async (statement, ca, serial, alg) =>
    (statement === 'certificate' ? certificate() : subordinateCa()).get({ ca, serial, alg });
}

/**
 * Hot-path lookups (issuance, authentication) as prepared statements: building a Drizzle
 * query costs ~100 µs per call, more than the SQLite lookup itself. Each is prepared on its first call: a one-shot
 * CLI command (`pkim ca list`) prepares none it does not run (start-up time, docs/benchmarks.md).
 */
function preparedHotReads(db: QueryDb, sqlite: Database.Database, repos: ReturnType<typeof createRepositories>): void {
  const CA = schema.certificateAuthorities;
  const C = schema.certificates;
  const T = schema.apiTokens;
  const S = schema.sessions;
  // the CA, token and session of every request: raw rows (arrays) mapped by rawRowReader, no Drizzle mapping
  const byKey = <R>(table: Table, keyColumn: Column) => {
    const reader = rawRowReader<R>(table);
    const statement = onFirstUse(() =>
      sqlite.prepare<[string], unknown[]>(reader.selectWhereEquals(keyColumn, '?')).raw(true),
    );
    return async (key: string): Promise<R | undefined> => {
      const r = statement().get(key);
      return r === undefined ? undefined : reader.fromArray(r);
    };
  };
  const certById = onFirstUse(() =>
    db
      .select()
      .from(C)
      .where(eq(C.id, sql.placeholder('id')))
      .prepare(),
  );
  const certBySerial = onFirstUse(() =>
    db
      .select()
      .from(C)
      .where(and(eq(C.caId, sql.placeholder('caId')), eq(C.serialHex, sql.placeholder('serialHex'))))
      .prepare(),
  );
  repos.cas.findById = byKey<CaRow>(CA, CA.id);
  repos.cas.findByName = byKey<CaRow>(CA, CA.name);
  repos.certificates.findById = async (id) => certById().get({ id });
  repos.certificates.findBySerial = async (caId, serialHex) =>
    certBySerial().get({ caId, serialHex: serialHex.toLowerCase() });
  repos.tokens.findByHash = byKey<ApiTokenRow>(T, T.tokenHash);
  repos.sessions.findByHash = byKey<SessionRow>(S, S.tokenHash);
  // the request an approval signs (a Drizzle query built per call was ≈ 15 % of an approval's main thread)
  repos.requests.findById = byKey<CertificateRequestRow>(schema.certificateRequests, schema.certificateRequests.id);
  // what the Vault and SPIFFE signing routes read per request (mount list, role, SPIFFE CAs, deny list): Drizzle
  // prepared queries, built once (the Vault `sign` route built two queries per request, SPIFFE three)
  const ST = schema.settings;
  const setting = onFirstUse(() =>
    db
      .select({ value: ST.value })
      .from(ST)
      .where(eq(ST.key, sql.placeholder('key')))
      .prepare(),
  );
  const settingsInRange = onFirstUse(() =>
    db
      .select({ key: ST.key, value: ST.value })
      .from(ST)
      .where(and(gte(ST.key, sql.placeholder('from')), lt(ST.key, sql.placeholder('to'))))
      .orderBy(asc(ST.key))
      .prepare(),
  );
  repos.settings.get = async (key) => setting().get({ key })?.value;
  // range scan on the primary key: [prefix, prefix + U+FFFF), as the repository's own query
  repos.settings.listByPrefix = async (prefix) => settingsInRange().all({ from: prefix, to: `${prefix}\uffff` });
  const casInOrder = onFirstUse(() => db.select().from(CA).orderBy(asc(CA.createdAt), asc(CA.id)).prepare());
  repos.cas.list = async () => casInOrder().all();
  const SC = schema.spiffeCas;
  const D = schema.spiffeDeniedIds;
  const spiffeCas = onFirstUse(() => db.select().from(SC).orderBy(asc(SC.createdAt), asc(SC.id)).prepare());
  const denied = onFirstUse(() =>
    db
      .select()
      .from(D)
      .where(eq(D.id, sql.placeholder('id')))
      .prepare(),
  );
  repos.spiffe.listCas = async () => spiffeCas().all();
  repos.spiffe.findDenied = async (id) => denied().get({ id });
}

export async function openSqliteStore(path: string, options: OpenStoreOptions): Promise<Store> {
  let sqlite: Database.Database;
  try {
    sqlite = openSqliteDatabase(path);
  } catch (e) {
    throw new PkiError('store.unavailable', `Cannot open the SQLite database '${path}': ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    migrateSqlite(sqlite, options.logger);
  } catch (e) {
    sqlite.close();
    throw e;
  }
  const db = drizzle({ client: sqlite });
  const repos = createRepositories(db, schema, 'sqlite', ocspReads(sqlite), options.denseWalk);
  preparedHotReads(db, sqlite, repos);
  const committer = createSqliteCommitter(sqlite, options.faultInjection?.failCommit === true);
  const uowOptions = committer.options;
  const markExpiredTx = sqlite.transaction((now: number): number =>
    runSync(markExpiredSteps(db, schema, now, uowOptions)),
  );
  const rebuildCountsTx = sqlite.transaction(() => runSync(rebuildCountsSteps(db, schema, 'sqlite')));
  // a file's writes may go to a writer thread (sqlite-writer.ts, loaded only then: one-shot commands never start it);
  // an in-memory database is this connection's only
  const writer =
    options.sqliteWriterThread && path !== ':memory:'
      ? (await import('./sqlite-writer')).startSqliteWriter(path, uowOptions.failCommit === true)
      : undefined;
  let writerThreadBatches = 0;
  // the WAL written to disk in the background between the automatic checkpoints of this thread's commits (the
  // writer thread's commits checkpoint off this thread)
  const walFlush = path !== ':memory:' ? walFlusher(path) : undefined;
  interface Pending {
    unit: UnitOfWork;
    resolve: (r: CommitResult) => void;
    reject: (e: unknown) => void;
  }
  /** Store.caRowWrites: moved once a batch that may have changed a CA row is settled */
  let caRowWrites = 0;
  /**
   * Store.otherCommits: `PRAGMA data_version` of this connection changes once any other connection committed (a CLI
   * beside the server, a second authority on the data dir, the writer thread), read synchronously at each call
   */
  const dataVersion = sqlite.prepare('PRAGMA data_version').pluck();
  let seenDataVersion = dataVersion.get() as number;
  let otherConnectionCommits = 0;
  const otherCommits = () => {
    const v = dataVersion.get() as number;
    if (v !== seenDataVersion) {
      seenDataVersion = v;
      otherConnectionCommits++;
    }
    return otherConnectionCommits;
  };
  const noteCaWrites = (items: Pending[]) => {
    if (items.some((it) => touchesCaRow(it.unit))) caRowWrites++;
  };
  const settle = (items: Pending[], outcomes: UnitOutcome[]) => {
    noteCaWrites(items);
    outcomes.forEach((o, i) => (o.ok ? items[i]!.resolve(o.result) : items[i]!.reject(o.error)));
  };
  /**
   * Group commit (group-commit.ts decides when): a batch is written in ONE transaction (sqlite-commit.ts), by the
   * writer thread when there is one (this thread awaits its outcomes meanwhile), else on this thread.
   */
  const group = createGroupCommit<Pending>((items) => {
    const units = items.map((it) => it.unit);
    if (!writer?.usable) {
      const outcomes = committer.write(units);
      walFlush?.committed(units.length);
      settle(items, outcomes);
      return;
    }
    return writer.write(units).then(
      (outcomes) => {
        if (outcomes) writerThreadBatches++;
        settle(items, outcomes ?? committer.write(units));
      },
      (e: unknown) => {
        noteCaWrites(items);
        items.forEach((it) => it.reject(e));
      },
    );
  }, options.groupCommit ?? SQLITE_GROUP_COMMIT);
  const commit = (unit: UnitOfWork): Promise<CommitResult> =>
    new Promise<CommitResult>((resolve, reject) => group.add({ unit, resolve, reject }));

  const importTx = sqlite.transaction(
    (tableName: Parameters<Store['importRows']>[0], rows: Record<string, unknown>[]) => {
      const { table } = tableByName(schema, tableName);
      const perStatement = Math.max(1, Math.floor(30_000 / Object.keys(getTableColumns(table)).length));
      for (let i = 0; i < rows.length; i += perStatement) {
        db.insert(table)
          .values(rows.slice(i, i + perStatement))
          .run();
      }
      if (tableName === 'certificates') {
        const deltas = new CountDeltas();
        deltas.addRows(rows as unknown as CertificateRow[]);
        runSync(applyCountDeltas(db, schema, deltas, uowOptions.fast));
        runSync(insertCertificateNames(db, schema, rows as unknown as CertificateRow[], uowOptions.fast));
      }
      return rows.length;
    },
  );

  let closed = false;
  return {
    dialect: 'sqlite',
    // the CA of every certificate inserted is read in the commit (sqlite-commit.ts fastSteps.caStatus)
    checksIssuingCaAtCommit: true,
    get caRowWrites() {
      return caRowWrites;
    },
    get otherCommits() {
      return otherCommits();
    },
    ...repos,
    certificates: {
      ...repos.certificates,
      async markExpired(now) {
        try {
          return markExpiredTx.immediate(now);
        } catch (e) {
          throw toWriteError(e, 'Marking expired certificates failed');
        }
      },
    },
    audit: {
      ...repos.audit,
      append: appendViaCommit(commit),
    },
    commit,
    expectCommit: group.expect,
    holdsCommits: group.holds,
    commitStats: () => ({
      ...group.stats(),
      ...(writer ? { writerThreadBatches } : {}),
      ...(walFlush ? { walFlushes: walFlush.flushes } : {}),
    }),
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
        mkdirSync(dirname(toPath), { recursive: true, mode: 0o700 });
        await sqlite.backup(toPath);
        chmodSync(toPath, 0o600);
      } catch (e) {
        throw new PkiError('store.backup_failed', `SQLite backup to '${toPath}' failed: ${(e as Error).message}`, {
          cause: e,
        });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await group.drain();
      await writer?.close();
      await walFlush?.idle();
      sqlite.close();
    },
    async rebuildCertificateCounts() {
      try {
        return rebuildCountsTx.immediate();
      } catch (e) {
        throw toWriteError(e, 'Rebuilding the certificate counters failed');
      }
    },
    exportRows: (table, afterKey, limit) => repos.exportRows(table, afterKey, limit),
    async importRows(table, rows) {
      if (rows.length === 0) return 0;
      if (table === 'certificate_authorities') caRowWrites++;
      try {
        return importTx.immediate(table, rows);
      } catch (e) {
        throw toWriteError(e, `Importing ${rows.length} row(s) into ${table} failed`);
      }
    },
  };
}

const SQLITE_HEADER = 'SQLite format 3\u0000';

/**
 * Refuses (`store.in_use`) when another connection has the database open — a running `pkim serve`, another command.
 * The file is replaced by a rename: such a process would keep the old file open, serve it and write into it, unseen
 * and lost at its next start. In WAL mode every open connection shares the -shm index, beside which a connection in
 * EXCLUSIVE locking mode cannot begin a transaction (SQLITE_BUSY), even when the other connection is idle.
 */
function assertNotOpenElsewhere(path: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (e) {
    // anything but busy: not a database in use (a damaged file is replaced)
    if (!String((e as { code?: string }).code).startsWith('SQLITE_BUSY')) return;
    throw new PkiError(
      'store.in_use',
      `the SQLite database '${path}' is open in another process (a running pkim serve?): stop every server and ` +
        'command using it, then restore — a server left running would keep serving the replaced file',
      { details: { path } },
    );
  } finally {
    db?.close();
  }
}

/** Copies a backup file into place while no store has the database open; removes stale -wal/-shm. */
export function restoreSqlite(path: string, fromPath: string): void {
  if (path === ':memory:')
    throw new PkiError('store.restore_failed', 'Cannot restore into an in-memory SQLite database');
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
  if (existsSync(path)) assertNotOpenElsewhere(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.restore-${process.pid}`;
    copyFileSync(fromPath, tmp);
    chmodSync(tmp, 0o600);
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
    renameSync(tmp, path);
  } catch (e) {
    throw new PkiError('store.restore_failed', `Restoring '${fromPath}' to '${path}' failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
