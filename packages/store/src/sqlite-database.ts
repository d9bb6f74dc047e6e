/** Opening a SQLite database file the way every connection of the store does (main thread, writer thread). */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

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
