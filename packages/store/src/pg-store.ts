/**
 * PostgreSQL engine: pg Pool + drizzle-orm/node-postgres. Migrations run under a session
 * advisory lock; `commit` runs `BEGIN`, takes `pg_advisory_xact_lock` on the audit-chain key
 * before any write when the unit appends audit events (so concurrent instances append one
 * linear chain and never deadlock against it), then `COMMIT`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { getTableColumns, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { PkiError } from '@pkim/shared';
import * as schema from './pg-schema';
import type { CertificateRow, CommitResult, OpenStoreOptions, Store, UnitOfWork } from './types';
import { createRepositories } from './repositories';
import { affectedRows, asQueryDb, tableByName } from './query-db';
import {
  CountDeltas,
  applyCountDeltas,
  insertCertificateNames,
  markExpiredSteps,
  rebuildCountsSteps,
  unitOfWork,
  type SqlStep,
  type UnitOfWorkOptions,
  appendViaCommit,
} from './unit-of-work';
import { toWriteError } from './store-errors';
import { lateMigrations, pendingMigrations } from './migrations-journal';
import { findPgBinary, pgToolConnection } from './pg-binaries';

const execFileAsync = promisify(execFile);

export const PG_MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations/pg', import.meta.url));

/** Two-int advisory keys (a key space distinct from the one-bigint keys of `withLeaderLock`). */
const LOCK_CLASS = 0x706b696d; // 'pkim'
const AUDIT_CHAIN_LOCK = 1;
const MIGRATION_LOCK = 2;

async function connectClient(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {
    /* reported by the failing query */
  });
  try {
    await client.connect();
  } catch (e) {
    throw new PkiError('store.unavailable', `Cannot connect to PostgreSQL: ${(e as Error).message}`, { cause: e });
  }
  return client;
}

/** Applies pending migrations with drizzle's migrator under an advisory lock; returns the tags applied. */
export async function migratePg(connectionString: string): Promise<string[]> {
  const client = await connectClient(connectionString);
  try {
    await client.query('select pg_advisory_lock($1::int, $2::int)', [LOCK_CLASS, MIGRATION_LOCK]);
    const exists = await client.query("select to_regclass('drizzle.__drizzle_migrations') is not null as ok");
    let applied: number[] | null = null;
    if ((exists.rows[0] as { ok?: boolean } | undefined)?.ok) {
      const r = await client.query('select created_at from drizzle.__drizzle_migrations');
      applied = (r.rows as { created_at: unknown }[]).map((row) => Number(row.created_at));
    }
    const pending = pendingMigrations(PG_MIGRATIONS_FOLDER, applied);
    const late = lateMigrations(PG_MIGRATIONS_FOLDER, applied);
    if (late.length) {
      // reserved numbers landed after higher ones: drizzle's migrator skips them (see lateMigrations)
      await client.query('begin');
      try {
        for (const m of late) {
          for (const statement of m.statements) await client.query(statement);
          await client.query('insert into drizzle.__drizzle_migrations ("hash", "created_at") values ($1, $2)', [
            m.hash,
            m.when,
          ]);
        }
        await client.query('commit');
      } catch (e) {
        await client.query('rollback').catch(() => undefined);
        throw e;
      }
    }
    if (pending.length) await migrate(drizzle({ client }), { migrationsFolder: PG_MIGRATIONS_FOLDER });
    return pending;
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('store.migration_failed', `Applying PostgreSQL migrations failed: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    await client
      .query('select pg_advisory_unlock($1::int, $2::int)', [LOCK_CLASS, MIGRATION_LOCK])
      .catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function runStepAsync(step: SqlStep): Promise<unknown> {
  const out = await (step.q as PromiseLike<unknown>);
  if (step.mode === 'exec') return affectedRows(out);
  return Array.isArray(out) ? out : (out as { rows: unknown[] }).rows; // builders → rows; raw `execute` → QueryResult
}

/** Awaits each SQL step of a generator in turn (inside a transaction). */
async function runAsync<T>(gen: Generator<SqlStep, T, unknown>): Promise<T> {
  let r = gen.next();
  while (!r.done) r = gen.next(await runStepAsync(r.value));
  return r.value;
}

export async function openPgStore(connectionString: string, options: OpenStoreOptions): Promise<Store> {
  await migratePg(connectionString);
  const pool = new pg.Pool({ connectionString, max: 10 });
  // An idle client losing its connection (server restart, terminated backend) must not crash the process.
  pool.on('error', () => undefined);
  const pgDb = drizzle({ client: pool, schema });
  const { db, t } = asQueryDb(pgDb, schema);
  const repos = createRepositories(db, t, 'postgres');
  const uowOptions: UnitOfWorkOptions = {
    dialect: 'postgres',
    failCommit: options.faultInjection?.failCommit === true,
  };

  const commitOne = async (unit: UnitOfWork): Promise<CommitResult> => {
    try {
      return await pgDb.transaction(async (tx) => {
        if (unit.audit?.length)
          await tx.execute(sql.raw(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`));
        return runAsync(unitOfWork(asQueryDb(tx, schema).db, t, unit, uowOptions));
      });
    } catch (e) {
      throw toWriteError(e);
    }
  };

  /**
   * Group commit (as on SQLite): units that arrive while a transaction is in flight are written
   * together in the next one, under one audit-chain lock, in arrival order. If any unit of a
   * batch fails, the batch rolls back and each of its units is committed on its own, so one
   * failure never takes others down and nothing is half-written.
   */
  interface Pending {
    unit: UnitOfWork;
    resolve: (r: CommitResult) => void;
    reject: (e: unknown) => void;
  }
  let queue: Pending[] = [];
  let flushing = false;
  const flush = async (): Promise<void> => {
    flushing = true;
    try {
      while (queue.length) {
        const items = queue;
        queue = [];
        if (items.length === 1) {
          const [it] = items;
          await commitOne(it!.unit).then(it!.resolve, it!.reject);
          continue;
        }
        let results: CommitResult[] | undefined;
        try {
          results = await pgDb.transaction(async (tx) => {
            if (items.some((it) => it.unit.audit?.length))
              await tx.execute(sql.raw(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`));
            const out: CommitResult[] = [];
            for (const it of items)
              out.push(await runAsync(unitOfWork(asQueryDb(tx, schema).db, t, it.unit, uowOptions)));
            return out;
          });
        } catch {
          results = undefined; // isolate the failing unit below
        }
        if (results) results.forEach((r, i) => items[i]!.resolve(r));
        else for (const it of items) await commitOne(it.unit).then(it.resolve, it.reject);
      }
    } finally {
      flushing = false;
    }
  };
  const commit = (unit: UnitOfWork): Promise<CommitResult> =>
    new Promise<CommitResult>((resolve, reject) => {
      queue.push({ unit, resolve, reject });
      if (!flushing && queue.length === 1) setImmediate(() => void flush());
    });

  /** leader-lock clients currently held, so close() can drop them (which releases their locks) */
  const held = new Map<pg.PoolClient, { destroyed: boolean }>();
  let closed = false;

  return {
    dialect: 'postgres',
    ...repos,
    certificates: {
      ...repos.certificates,
      async markExpired(now) {
        try {
          return await pgDb.transaction(async (tx) =>
            runAsync(markExpiredSteps(asQueryDb(tx, schema).db, t, now, uowOptions)),
          );
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
    async ping() {
      try {
        await pool.query('select 1');
        return true;
      } catch {
        return false;
      }
    },
    async withLeaderLock(name, fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        throw new PkiError('store.unavailable', `Cannot connect to PostgreSQL: ${(e as Error).message}`, { cause: e });
      }
      let state: { destroyed: boolean } | undefined;
      try {
        const r = await client.query('select pg_try_advisory_lock(hashtext($1)) as ok', [name]);
        if ((r.rows[0] as { ok?: boolean } | undefined)?.ok !== true) return undefined;
        state = { destroyed: false };
        held.set(client, state);
        return await fn();
      } finally {
        if (!state) {
          client.release();
        } else if (!state.destroyed) {
          held.delete(client);
          try {
            await client.query('select pg_advisory_unlock(hashtext($1))', [name]);
            client.release();
          } catch (e) {
            client.release(e as Error); // drop the connection: that releases the lock too
          }
        }
      }
    },
    async backup(toPath) {
      try {
        const conn = pgToolConnection(connectionString, options.env);
        await execFileAsync(
          findPgBinary('pg_dump', options.env?.PATH),
          ['-Fc', '--no-owner', '-f', toPath, '-d', conn.dbArg],
          {
            maxBuffer: 16 * 1024 * 1024,
            env: conn.env,
          },
        );
      } catch (e) {
        if (e instanceof PkiError) throw e;
        const stderr = (e as { stderr?: string }).stderr?.trim();
        throw new PkiError('store.backup_failed', `pg_dump to '${toPath}' failed: ${stderr || (e as Error).message}`, {
          cause: e,
        });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // let commits already submitted finish before the pool goes away
      while (flushing || queue.length) await new Promise((r) => setTimeout(r, 5));
      for (const [client, state] of held) {
        state.destroyed = true;
        client.release(true); // ends the session: PostgreSQL releases its advisory locks
      }
      held.clear();
      await pool.end();
    },
    async rebuildCertificateCounts() {
      try {
        return await pgDb.transaction(async (tx) =>
          runAsync(rebuildCountsSteps(asQueryDb(tx, schema).db, t, 'postgres')),
        );
      } catch (e) {
        throw toWriteError(e, 'Rebuilding the certificate counters failed');
      }
    },
    exportRows: (table, afterKey, limit) => repos.exportRows(table, afterKey, limit),
    async importRows(table, rows) {
      if (rows.length === 0) return 0;
      try {
        await pgDb.transaction(async (tx) => {
          const { table: tbl } = tableByName(t, table);
          const cols = Object.keys(getTableColumns(tbl)).length;
          const perStatement = Math.max(1, Math.floor(30_000 / cols));
          const txDb = asQueryDb(tx, schema).db;
          for (let i = 0; i < rows.length; i += perStatement) {
            await txDb.insert(tbl).values(rows.slice(i, i + perStatement));
          }
          if (table === 'certificates') {
            const deltas = new CountDeltas();
            deltas.addRows(rows as unknown as CertificateRow[]);
            await runAsync(applyCountDeltas(txDb, t, deltas));
            await runAsync(insertCertificateNames(txDb, t, rows as unknown as CertificateRow[]));
          }
        });
        return rows.length;
      } catch (e) {
        throw toWriteError(e, `Importing ${rows.length} row(s) into ${table} failed`);
      }
    },
  };
}

/** pg_restore --clean --if-exists --no-owner in one transaction. Run it with every store on the database closed. */
export async function restorePg(
  connectionString: string,
  fromPath: string,
  env: Record<string, string | undefined> = {},
): Promise<void> {
  try {
    const conn = pgToolConnection(connectionString, env);
    await execFileAsync(
      findPgBinary('pg_restore', env.PATH),
      ['--clean', '--if-exists', '--no-owner', '--single-transaction', '-d', conn.dbArg, fromPath],
      { maxBuffer: 16 * 1024 * 1024, env: conn.env },
    );
  } catch (e) {
    if (e instanceof PkiError) throw e;
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new PkiError(
      'store.restore_failed',
      `pg_restore of '${fromPath}' failed: ${stderr || (e as Error).message}`,
      { cause: e },
    );
  }
}
