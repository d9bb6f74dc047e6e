// Issuance on SQLite with the issuing CA checked by the commit (Store.checksIssuingCaAtCommit): an authority may sign
// with the CA row it read a moment earlier (ca-context.ts), so a CA disabled, revoked or deleted by another
// authority on the same data dir (a CLI beside a server) must still be refused by the next request — by the commit,
// in its own transaction — with nothing of it written; a CA changed by the authority itself, or its URLs by another
// authority (PRAGMA data_version), is read again at once.
import { afterAll, describe, expect, it } from 'vitest';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslText } from '../../../tests/support/verifiers';
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

  // other-commits-seen.ts: a request authenticated by a token reads PRAGMA data_version once (its token check), and its
  // CA check uses that read — made after the request arrived, so another authority's change before it is seen; the
  // value serves one request only: the same actor object used again reads the store again
  it("a token's request reads data_version once, and sees another authority's change of the CA at once", async () => {
    const a = await authority('token');
    const b = await authority('token');
    const { caId, issue, verify } = await issuingCa(a, 'SQ');
    const { token } = await a.auth.createToken({ name: 'signer', role: 'operator' }, TEST_ADMIN);
    const store = internalsOf(a).store;
    const reads = { n: 0 };
    const signal = Object.getOwnPropertyDescriptor(store, 'otherCommits')!;
    Object.defineProperty(store, 'otherCommits', {
      get: () => (reads.n++, signal.get!.call(store) as number),
      configurable: true,
    });
    const request = async (n: number, actor?: Actor) => {
      const before = reads.n;
      const issued = await issue(n, actor ?? (await a.auth.authenticateToken(token)));
      verify(issued.certificatePem);
      return { text: opensslText(issued.certificatePem), reads: reads.n - before };
    };
    const crl = (n: number) => `http://crl${n}.sq.example/issuing.crl`;

    expect((await request(1)).reads).toBe(1); // the CA row read, and kept for the next requests
    await b.cas.setUrls(caId, { crlDistributionPoints: [crl(1)] }, TEST_ADMIN);
    const second = await request(2); // its token check read data_version after b's commit
    expect(second.reads).toBe(1);
    expect(second.text).toContain(`URI:${crl(1)}`);

    // an actor whose request used its read already: the next use reads the store (and sees b's next change)
    const actor = await a.auth.authenticateToken(token);
    expect((await request(3, actor)).text).toContain(`URI:${crl(1)}`);
    await b.cas.setUrls(caId, { crlDistributionPoints: [crl(2)] }, TEST_ADMIN);
    const again = await request(4, actor);
    expect(again.reads).toBe(1);
    expect(again.text).toContain(`URI:${crl(2)}`);
    // an actor no token check made (a CLI's): its CA check reads the store
    expect((await request(5, TEST_ADMIN)).reads).toBe(1);
  }, 60_000);

  // other-commits-seen.ts take: an actor no token check made (a CLI's, a console session's) has its CA check's read
  // made once for the issuances asked in one loop turn, after all of them asked — so another authority's change of the
  // CA before they were asked is in every one of them, and an issuance asked after that read gets a read of its own
  it("an in-process caller's issuances in one turn read data_version once, and see another's change", async () => {
    const a = await authority('turn');
    const b = await authority('turn');
    const { caId, issue, verify } = await issuingCa(a, 'SQ');
    const store = internalsOf(a).store;
    const reads = { n: 0 };
    const signal = Object.getOwnPropertyDescriptor(store, 'otherCommits')!;
    Object.defineProperty(store, 'otherCommits', {
      get: () => (reads.n++, signal.get!.call(store) as number),
      configurable: true,
    });
    const crl = (n: number) => `http://crl${n}.turn.example/issuing.crl`;
    verify((await issue(1)).certificatePem); // a has read the CA (and may use the row again)
    await b.cas.setUrls(caId, { crlDistributionPoints: [crl(1)] }, TEST_ADMIN);
    const before = reads.n;
    const turn = await Promise.all([2, 3, 4, 5, 6, 7, 8, 9].map((n) => issue(n)));
    expect(reads.n - before).toBe(1);
    for (const issued of turn) {
      verify(issued.certificatePem);
      expect(opensslText(issued.certificatePem)).toContain(`URI:${crl(1)}`);
    }
    await b.cas.setUrls(caId, { crlDistributionPoints: [crl(2)] }, TEST_ADMIN);
    expect(opensslText((await issue(10)).certificatePem)).toContain(`URI:${crl(2)}`);
  }, 60_000);

  it("the authority's own change of its CA reaches the next certificate at once", async () => {
    await changeSeenAtOnce(await authority('own'), 'SQ');
  }, 60_000);
});
