// pkim backup / restore on SQLite (the scenario: db-backup-roundtrip.ts; PostgreSQL: db-backup-restore-postgres).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { roundTrip } from './db-backup-roundtrip';

roundTrip('sqlite', async (dataDir) => ({
  env: {},
  async wipe() {
    // the database file is lost; the data dir keeps master.key
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `pkim.db${suffix}`), { force: true });
  },
}));
