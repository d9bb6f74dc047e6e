// pkim backup / restore on PostgreSQL (the scenario: db-backup-roundtrip.ts; SQLite: db-backup-restore-sqlite).
import { afterAll } from 'vitest';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { roundTrip } from './db-backup-roundtrip';

let cluster: TestPostgres | undefined;
afterAll(async () => {
  await cluster?.stop();
});

roundTrip('postgres', async () => {
  cluster = await startPostgres();
  const url = await cluster.createDatabase();
  return {
    env: { PKIM_DATABASE_URL: url },
    async wipe() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query('drop schema public cascade; create schema public; drop schema if exists drizzle cascade');
      } finally {
        await c.end();
      }
    },
  };
});
