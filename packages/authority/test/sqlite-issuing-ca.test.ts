// Issuance on SQLite with the issuing CA checked by the commit (Store.checksIssuingCaAtCommit): an authority may sign
// with the CA row it read a moment earlier (ca-context.ts), so a CA disabled, revoked or deleted by another
// authority on the same data dir (a CLI beside a server) must still be refused by the next request — by the commit,
// in its own transaction — with nothing of it written; a CA changed by the authority itself, or its URLs by another
// authority (PRAGMA data_version), is read again at once.
import { afterAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { issuingCa, changeSeenAtOnce, refusedAfterTheOtherChangesTheCa } from './fixtures/issuing-ca';

const tmp = tempDir('pkim-sqlite-issuing-ca-');
const open: Authority[] = [];
afterAll(async () => {
  await Promise.all(open.map((a) => a.close()));
  tmp.cleanup();
});

async function authority(dir: string): Promise<Authority> {
  const masterKey = Buffer.alloc(32, 7).toString('base64');
  const a = await createAuthority({ dataDir: `${tmp.dir}/${dir}`, masterKey, logger: silentLogger });
  open.push(a);
  return a;
}

describe('the issuing CA on SQLite', () => {
  it('a CA disabled, then revoked, by another authority on the data dir is refused at once', async () => {
    const a = await authority('shared');
    const b = await authority('shared');
    await refusedAfterTheOtherChangesTheCa(a, b, 'SQ');
  }, 60_000);

  // the other connection's commit moves PRAGMA data_version, so `a` reads the CA again: ca.not_found (a CA deleted
  // between that read and the commit is left to the certificate's foreign key, store.write_failed)
  it('a CA deleted by another authority on the data dir is not found by the next request; none written', async () => {
    const a = await authority('deleted');
    const b = await authority('deleted');
    const { caId, issue, verify } = await issuingCa(a, 'SQ', { rootOnly: true });
    const first = await issue(1); // a has read the CA (and may use the row again)
    verify(first.certificatePem);
    await b.cas.revokeCa(caId, 'cessationOfOperation', TEST_ADMIN);
    await b.cas.delete(caId, {}, TEST_ADMIN);
    await expectPkiError(issue(2), 'ca.not_found');
    expect((await b.certificates.list({})).items).toHaveLength(0);
    expect((await b.audit.verify()).ok).toBe(true);
  }, 60_000);

  // SQLite only (PRAGMA data_version): PostgreSQL bounds another instance's non-status change by ACTIVE_CA_ROW_MS
  it("another authority's change of the CA's URLs reaches the next certificate at once", async () => {
    await changeSeenAtOnce(await authority('urls'), 'SQ', await authority('urls'));
  }, 60_000);

  it("the authority's own change of its CA reaches the next certificate at once", async () => {
    await changeSeenAtOnce(await authority('own'), 'SQ');
  }, 60_000);
});
