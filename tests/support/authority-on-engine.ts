// One authority per suite on one database engine: what the read-time status, insights, inventory and
// certificate-reference suites each set up by hand (start the engine, a temp data dir, createAuthority with a clock).
import { afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createAuthority, type Authority, type AuthorityConfig } from '@pkim/authority';
import type { Engine, EngineHandle } from './engines';
import { tempDir } from './openssl-tools';
import { silentLogger } from './test-kit';

export interface AuthorityOnEngine {
  /** the authority (read it inside hooks and tests: it is opened by beforeAll) */
  readonly authority: Authority;
  /** its data directory (keys, and the SQLite file on SQLite) */
  readonly dataDir: string;
  /**
   * Makes the database refuse every DELETE on `table` (a trigger raising 'refused by the test', SQLite or PostgreSQL)
   * until the returned function is called: a real failure of a commit or of a key backend's write, no mocks.
   */
  refuseDeletes(table: string): Promise<() => Promise<void>>;
  /** The number of rows of `table` (SQLite or PostgreSQL): what a refusal must leave as it was. */
  rowCount(table: string): Promise<number>;
}

/** SQL identifiers the tests name: letters, digits and '_' only (they go into trigger statements) */
const SQL_NAME = /^[a-z_][a-z0-9_]*$/;

async function refuseDeletesIn(dataDir: string, databaseUrl: string | undefined, table: string) {
  if (!SQL_NAME.test(table)) throw new Error(`refuseDeletes: not a table name: ${table}`);
  const trigger = `pkim_test_refuse_delete_${table}`;
  if (databaseUrl === undefined) {
    const run = (sql: string) => {
      const db = new Database(join(dataDir, 'pkim.db'));
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    };
    run(`CREATE TRIGGER ${trigger} BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    return async () => run(`DROP TRIGGER ${trigger}`);
  }
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(
    `CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS ` +
      `$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; ` +
      `CREATE TRIGGER ${trigger} BEFORE DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${trigger}()`,
  );
  return async () => run(`DROP TRIGGER ${trigger} ON ${table}; DROP FUNCTION ${trigger}()`);
}

async function rowCountIn(dataDir: string, databaseUrl: string | undefined, table: string): Promise<number> {
  if (!SQL_NAME.test(table)) throw new Error(`rowCount: not a table name: ${table}`);
  if (databaseUrl === undefined) {
    const db = new Database(join(dataDir, 'pkim.db'), { readonly: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(r.rows[0]!.n);
  } finally {
    await client.end();
  }
}

/**
 * Registers a beforeAll that opens an authority on a fresh database of `engine` (SQLite in a temporary data directory,
 * or a new database of a PostgreSQL started for the suite), with a silent logger and `config` (a clock …), and an
 * afterAll that closes it, stops the engine and removes the directory. Call it first in the describe block: the
 * suite's own beforeAll (which seeds CAs and certificates) then runs after it.
 */
export function authorityOnEngine(engine: Engine, config: Partial<AuthorityConfig> = {}): AuthorityOnEngine {
  let handle: EngineHandle | undefined;
  let tmp: ReturnType<typeof tempDir> | undefined;
  let authority: Authority | undefined;
  let databaseUrl: string | undefined;
  beforeAll(async () => {
    handle = await engine.start();
    tmp = tempDir();
    databaseUrl = await handle.fresh();
    authority = await createAuthority({
      dataDir: tmp.dir,
      databaseUrl,
      logger: silentLogger,
      ...config,
    });
  });
  afterAll(async () => {
    await authority?.close();
    await handle?.stop();
    tmp?.cleanup();
  });
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('authorityOnEngine: read the authority inside hooks and tests');
    return value;
  };
  return {
    get authority() {
      return opened(authority);
    },
    get dataDir() {
      return opened(tmp).dir;
    },
    refuseDeletes: (table) => refuseDeletesIn(opened(tmp).dir, databaseUrl, table),
    rowCount: (table) => rowCountIn(opened(tmp).dir, databaseUrl, table),
  };
}
