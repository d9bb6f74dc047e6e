// The SQLite engine of the store suite (store-sqlite.test.ts, store-sqlite-writer.test.ts): a database file per
// test in a temporary folder made before the file's tests and removed after them (not a test file itself).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll } from 'vitest';
import { parseStoreUrl } from '../src/index';
import type { StoreEngine } from './store-suite';

export const sqlitePathOf = (url: string): string => {
  const p = parseStoreUrl(url);
  if (p.dialect !== 'sqlite') throw new Error('not sqlite');
  return p.path;
};

export function sqliteTestEngine(openOptions?: StoreEngine['openOptions']): StoreEngine {
  let dir = '';
  let n = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pkim-store-sqlite-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dialect: 'sqlite',
    openOptions,
    async newDatabaseUrl() {
      return `sqlite:${join(dir, `db-${++n}.sqlite`)}`;
    },
    async rawSql(url, statement) {
      const db = new Database(sqlitePathOf(url));
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
    },
    async wipe(url) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${sqlitePathOf(url)}${suffix}`, { force: true });
    },
    backupPath() {
      return join(dir, `backup-${++n}.sqlite`);
    },
  };
}
