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
import { and, eq, getTableColumns, sql, type Column, type Table } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PkiError } from '@pkim/shared';
import * as schema from './sqlite-schema';
import type {
  ApiTokenRow,
  AuditEventRow,
  CaRow,
  CertificateRow,
  CommitResult,
  OpenStoreOptions,
  SessionRow,
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
  unitOfWork,
  type FastSteps,
  type SharedUnitState,
  type SqlStep,
  type UnitOfWorkOptions,
  appendViaCommit,
} from './unit-of-work';
import { toWriteError } from './store-errors';
import { createGroupCommit, SQLITE_GROUP_COMMIT } from './group-commit';
import { lateMigrations, pendingMigrations } from './migrations-journal';

export const SQLITE_MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations/sqlite', import.meta.url));

/**
 * The database holds password hashes, session CSRF tokens, encrypted key blobs and the audit log: it is
 * created 0600 (SQLite gives its -wal and -shm files the database file's mode) and existing files are
 * narrowed to 0600.
 */
function restrictFileModes(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}

export function openSqliteDatabase(path: string): Database.Database {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    restrictFileModes(path);
  }
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('cache_size = -65536');
  sqlite.pragma('wal_autocheckpoint = 10000');
  return sqlite;
}

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
export function migrateSqlite(sqlite: Database.Database): string[] {
  const db = drizzle({ client: sqlite });
  const applied = appliedMigrations(sqlite);
  const pending = pendingMigrations(SQLITE_MIGRATIONS_FOLDER, applied);
  if (pending.length === 0) return [];
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
  } catch (e) {
    // Another process may have migrated the same file between our read and its BEGIN: re-check.
    if (pendingMigrations(SQLITE_MIGRATIONS_FOLDER, appliedMigrations(sqlite)).length === 0) return [];
    throw new PkiError('store.migration_failed', `Applying SQLite migrations failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return pending;
}

/**
 * `INSERT INTO table ("col", …) VALUES (?, …)` with the columns in the order of `keys` (TS keys of the Drizzle
 * table): the caller passes its values as an array in that order (positional parameters bind ≈ 2× faster than named
 * ones in better-sqlite3). `keys` must name every column of the table exactly once: a column added to the schema
 * and not written by the fast path fails here, when the store opens.
 */
function insertSql(
  table: typeof schema.certificates | typeof schema.auditEvents,
  name: string,
  keys: readonly string[],
): string {
  const cols = getTableColumns(table) as Record<string, { name: string }>;
  const missing = Object.keys(cols).filter((k) => !keys.includes(k));
  const unknown = keys.filter((k) => !(k in cols));
  if (missing.length || unknown.length || new Set(keys).size !== keys.length) {
    throw new Error(
      `${name}: the fast insert's columns differ from the schema ` +
        `(missing: ${missing.join(', ')}; unknown: ${unknown.join(', ')})`,
    );
  }
  const columns = keys.map((k) => `"${cols[k]!.name}"`).join(', ');
  return `INSERT INTO "${name}" (${columns}) VALUES (${keys.map(() => '?').join(', ')})`;
}

/** the certificate columns in the order of the fast insert's parameters */
const CERTIFICATE_KEYS = [
  'id',
  'caId',
  'serialHex',
  'subjectDn',
  'commonName',
  'sans',
  'profile',
  'keyType',
  'notBefore',
  'notAfter',
  'status',
  'revokedAt',
  'revocationReason',
  'fingerprintSha256',
  'certificatePem',
  'requestId',
  'issuedBy',
  'createdAt',
  'renewedFrom',
  'provisioner',
] as const satisfies readonly (keyof CertificateRow)[];

/** the audit event columns in the order of the fast insert's parameters */
const AUDIT_KEYS = [
  'seq',
  'id',
  'time',
  'actor',
  'action',
  'target',
  'outcome',
  'details',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditEventRow)[];

/**
 * The hot issuance writes as raw better-sqlite3 prepared statements with positional parameters: Drizzle's per-call
 * mapping (placeholder filling, per-column driver conversion) costs more than the inserts themselves. The
 * conversions are done here: JSON columns stringified, absent values as null, each array in the order of its
 * *_KEYS list (checked against the schema by insertSql).
 */
function fastSteps(sqlite: Database.Database): FastSteps {
  const insertCertificate = sqlite.prepare(insertSql(schema.certificates, 'certificates', CERTIFICATE_KEYS));
  const insertName = sqlite.prepare('INSERT INTO "certificate_names" ("name", "certificate_id") VALUES (?, ?)');
  const insertAudit = sqlite.prepare(insertSql(schema.auditEvents, 'audit_events', AUDIT_KEYS));
  const head = sqlite.prepare('SELECT "seq", "hash" FROM "audit_events" ORDER BY "seq" DESC LIMIT 1');
  const upsertCount = sqlite.prepare(
    'INSERT INTO "certificate_counts" ("ca_id", "profile", "status", "count") VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT ("ca_id", "profile", "status") DO UPDATE SET "count" = "count" + excluded."count"',
  );
  return {
    auditHead: () => ({ mode: 'rows', q: head }),
    insertCertificate: (r: CertificateRow) => ({
      mode: 'exec',
      q: insertCertificate,
      params: [
        r.id,
        r.caId,
        r.serialHex,
        r.subjectDn,
        r.commonName ?? null,
        JSON.stringify(r.sans),
        r.profile,
        r.keyType,
        r.notBefore,
        r.notAfter,
        r.status,
        r.revokedAt ?? null,
        r.revocationReason ?? null,
        r.fingerprintSha256,
        r.certificatePem,
        r.requestId ?? null,
        r.issuedBy,
        r.createdAt,
        r.renewedFrom ?? null,
        r.provisioner ?? null,
      ],
    }),
    insertCertificateName: (r) => ({ mode: 'exec', q: insertName, params: [r.name, r.certificateId] }),
    insertAuditEvent: (r: AuditEventRow) => ({
      mode: 'exec',
      q: insertAudit,
      params: [
        r.seq,
        r.id,
        r.time,
        r.actor,
        r.action,
        r.target ?? null,
        r.outcome,
        JSON.stringify(r.details),
        r.prevHash,
        r.hash,
      ],
    }),
    upsertCount: (d) => ({ mode: 'exec', q: upsertCount, params: [d.caId, d.profile, d.status, d.delta] }),
  };
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
}

interface SyncRunnable {
  run(params?: Record<string, unknown> | unknown[]): { changes: number };
  all(params?: Record<string, unknown> | unknown[]): unknown[];
}

function runStepSync(step: SqlStep): unknown {
  const q = step.q as SyncRunnable;
  if (step.params === undefined) return step.mode === 'exec' ? q.run().changes : q.all();
  return step.mode === 'exec' ? q.run(step.params).changes : q.all(step.params);
}

/** Runs a generator of SQL steps synchronously (inside a better-sqlite3 transaction). */
function runSync<T>(gen: Generator<SqlStep, T, unknown>): T {
  let r = gen.next();
  while (!r.done) r = gen.next(runStepSync(r.value));
  return r.value;
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
    migrateSqlite(sqlite);
  } catch (e) {
    sqlite.close();
    throw e;
  }
  const db = drizzle({ client: sqlite });
  const repos = createRepositories(db, schema, 'sqlite', ocspReads(sqlite));
  preparedHotReads(db, sqlite, repos);
  const uowOptions: UnitOfWorkOptions = {
    dialect: 'sqlite',
    fast: fastSteps(sqlite),
    failCommit: options.faultInjection?.failCommit === true,
  };

  const unitTx = sqlite.transaction((unit: UnitOfWork): CommitResult =>
    runSync(unitOfWork(db, schema, unit, uowOptions)),
  );
  const markExpiredTx = sqlite.transaction((now: number): number =>
    runSync(markExpiredSteps(db, schema, now, uowOptions)),
  );
  const rebuildCountsTx = sqlite.transaction(() => runSync(rebuildCountsSteps(db, schema, 'sqlite')));
  /**
   * Group commit (group-commit.ts decides when): the units of a batch are written in ONE `BEGIN IMMEDIATE`
   * transaction, in submission order (so the audit chain is appended in that order). If any unit of a batch fails,
   * the whole batch is rolled back and every unit is retried in a transaction of its own, so a failing unit never
   * takes others down and never leaves partial writes.
   */
  interface Pending {
    unit: UnitOfWork;
    resolve: (r: CommitResult) => void;
    reject: (e: unknown) => void;
  }
  /**
   * The units of a batch run one after the other in the batch's transaction, without a savepoint each (a savepoint
   * copies every page it touches first to a statement journal, a temporary file past 64 KiB: ~30 page writes per
   * certificate); they share the audit chain head and apply their counter deltas once, after the last unit.
   */
  const batchTx = sqlite.transaction((items: Pending[]) => {
    const shared: SharedUnitState = { deltas: new CountDeltas() };
    const results = items.map((it) => runSync(unitOfWork(db, schema, it.unit, uowOptions, shared)));
    runSync(applyCountDeltas(db, schema, shared.deltas, uowOptions.fast));
    return results;
  });
  const group = createGroupCommit<Pending>((items) => {
    if (items.length > 1) {
      try {
        const results = batchTx.immediate(items);
        results.forEach((r, i) => items[i]?.resolve(r));
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
    commitStats: group.stats,
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
