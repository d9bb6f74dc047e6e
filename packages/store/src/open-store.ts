import { PkiError } from '@pkim/shared';
import type { OpenStoreOptions, Store } from './types';
import { parseStoreUrl } from './store-url';
import { migrateSqlite, openSqliteDatabase, openSqliteStore, restoreSqlite } from './sqlite-store';

/** The PostgreSQL dialect (pg, Drizzle's node-postgres) loads only when a postgres:// URL is used. */
const loadPg = () => import('./pg-store');

/**
 * PostgreSQL pool size for an instance with `workers` signing threads: one connection per worker (the reads that
 * feed each worker's next job), one for the general unit of work's commits (units the batch statement does not
 * take) and one for everything else (listings, jobs); at least 4. Leader locks, the batch statement with its flush
 * wait, and the LISTEN of Store.otherCommits each use a connection of their own, outside the pool.
 */
export function pgPoolSize(workers: number | undefined): number {
  return Math.max(4, (workers ?? 0) + 2);
}

/** Opens (and migrates) the store named by `url`: SQLite path / `sqlite:` / `:memory:`, or `postgres://`. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const walk = options.denseWalk;
  if (walk !== undefined && !(Number.isSafeInteger(walk) && walk >= 1)) {
    throw new PkiError('input.invalid', `denseWalk must be a whole number of rows ≥ 1, not ${walk}`);
  }
  const parsed = parseStoreUrl(options.url);
  return parsed.dialect === 'sqlite'
    ? openSqliteStore(parsed.path, options)
    : (await loadPg()).openPgStore(parsed.connectionString, options);
}

/** Applies pending migrations (for `pkim db migrate`); returns the tags of the migrations applied. */
export async function migrateStore(url: string): Promise<{ dialect: 'sqlite' | 'postgres'; applied: string[] }> {
  const parsed = parseStoreUrl(url);
  if (parsed.dialect === 'postgres') {
    return { dialect: 'postgres', applied: await (await loadPg()).migratePg(parsed.connectionString) };
  }
  let sqlite;
  try {
    sqlite = openSqliteDatabase(parsed.path);
  } catch (e) {
    throw new PkiError(
      'store.unavailable',
      `Cannot open the SQLite database '${parsed.path}': ${(e as Error).message}`,
      { cause: e },
    );
  }
  try {
    return { dialect: 'sqlite', applied: migrateSqlite(sqlite) };
  } finally {
    sqlite.close();
  }
}

/**
 * Restores a backup made by `Store.backup` while no store has the database open. SQLite: copies
 * the file into place (removing stale -wal/-shm); PostgreSQL: `pg_restore --clean --if-exists --no-owner`.
 */
export async function restoreStore({
  url,
  fromPath,
  env,
}: {
  url: string;
  fromPath: string;
  /** environment of pg_restore (see OpenStoreOptions.env) */
  env?: Record<string, string | undefined>;
}): Promise<void> {
  const parsed = parseStoreUrl(url);
  if (parsed.dialect === 'sqlite') restoreSqlite(parsed.path, fromPath);
  else await (await loadPg()).restorePg(parsed.connectionString, fromPath, env);
}
