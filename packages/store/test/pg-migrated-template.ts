// PostgreSQL tests that start from a migrated store: every migration runs ONCE per test file, into a template
// database, and each test gets a copy of it (CREATE DATABASE … TEMPLATE: a file copy, ≈ 0.6 s under load against
// ≈ 1.5 s for an empty database migrated again). The copy is the schema and migration journal the store's own
// migrations wrote, so a store opened on it finds nothing to apply. Tests of migrating itself (a fresh database, two
// instances at once, upgrades from an older journal) keep an empty database.
import { randomBytes } from 'node:crypto';
import type { TestPostgres } from '../../../tests/support/postgres';
import { migrateStore } from '../src/index';

/** a function giving the URL of a new database with every migration applied (the template made on first use) */
export function migratedDatabases(cluster: () => TestPostgres): () => Promise<string> {
  let template: Promise<string> | undefined;
  return async () => {
    template ??= (async () => {
      const name = `tpl_${randomBytes(6).toString('hex')}`;
      await migrateStore(await cluster().createDatabase(name));
      return name;
    })();
    return cluster().createDatabase(undefined, { template: await template });
  };
}
