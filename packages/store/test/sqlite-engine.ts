// The SQLite engine of the store suite (store-sqlite.test.ts, store-sqlite-writer.test.ts): a database file per
// test in a temporary folder made before the file's tests and removed after them (not a test file itself). A test
// that needs a migrated store gets a copy of one database migrated once per file (newMigratedDatabaseUrl: a file
// copy, ~1 ms, against 60–500 ms to run every migration again under load); tests of migrating itself take an empty
// one (newDatabaseUrl), as on PostgreSQL (pg-migrated-template.ts).
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll } from 'vitest';
import { migrateStore, parseStoreUrl } from '../src/index';
import type { StoreEngine } from './store-suite';

export const sqlitePathOf = (url: string): string => {
  const p = parseStoreUrl(url);
  if (p.dialect !== 'sqlite') throw new Error('not sqlite');
  return p.path;
};

export function sqliteTestEngine(
  openOptions?: StoreEngine['openOptions'],
): StoreEngine & Required<Pick<StoreEngine, 'newMigratedDatabaseUrl'>> {
  let dir = '';
  let n = 0;
  let template: Promise<string> | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pkim-store-sqlite-'));
    template = undefined;
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
    async newMigratedDatabaseUrl() {
      template ??= (async () => {
        const path = join(dir, 'migrated-template.sqlite');
        await migrateStore(`sqlite:${path}`); // closed after: its WAL checkpointed into the file
        return path;
      })();
      const from = await template;
      const path = join(dir, `db-${++n}.sqlite`);
      copyFileSync(from, path);
      if (existsSync(`${from}-wal`)) copyFileSync(`${from}-wal`, `${path}-wal`);
      return `sqlite:${path}`;
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
