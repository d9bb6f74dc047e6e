// Issuance on PostgreSQL by two authorities on one database (two processes' worth: each its own store and pool). An
// instance may sign with the issuing CA's row read a moment earlier (ca-context.ts, Store.checksIssuingCaAtCommit):
// a CA disabled or revoked by the other instance is still refused by the next request — by the commit, in its own
// transaction — and no certificate of it is written; an instance's own change of its CA reaches its next certificate
// at once (Store.caRowWrites).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { silentLogger } from '../../../tests/support/test-kit';
import { ownChangeSeenAtOnce, refusedAfterTheOtherChangesTheCa } from './fixtures/issuing-ca';

let cluster: TestPostgres;
const tmp = tempDir('pkim-pg-issuing-ca-');
const open: Authority[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => {
  await Promise.all(open.map((a) => a.close()));
  await cluster?.stop();
  tmp.cleanup();
});

describe('the issuing CA on PostgreSQL, two instances', () => {
  it('a CA disabled, then revoked, by the other instance is refused by the next request; nothing written', async () => {
    const url = await cluster.createDatabase();
    const masterKey = Buffer.alloc(32, 7).toString('base64');
    const a = await createAuthority({ dataDir: join(tmp.dir, 'a'), databaseUrl: url, masterKey, logger: silentLogger });
    open.push(a);
    const b = await createAuthority({ dataDir: join(tmp.dir, 'b'), databaseUrl: url, masterKey, logger: silentLogger });
    open.push(b);
    await refusedAfterTheOtherChangesTheCa(a, b, 'PG');
  }, 60_000);

  it("an instance's own change of its CA reaches its next certificate at once", async () => {
    const url = await cluster.createDatabase();
    const masterKey = Buffer.alloc(32, 7).toString('base64');
    const a = await createAuthority({
      dataDir: join(tmp.dir, 'own'),
      databaseUrl: url,
      masterKey,
      logger: silentLogger,
    });
    open.push(a);
    await ownChangeSeenAtOnce(a, 'PG');
  }, 60_000);
});
