// Issuance on SQLite with the issuing CA checked by the commit (Store.checksIssuingCaAtCommit): an authority may sign
// with the CA row it read a moment earlier (ca-context.ts), so a CA disabled, revoked or deleted by another
// authority on the same data dir (a CLI beside a server) must still be refused by the next request — by the commit,
// in its own transaction — with nothing of it written; a CA changed by the authority itself is read again at once.
import { afterAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';

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

async function hierarchy(a: Authority) {
  const root = await a.cas.create({ name: 'root', subject: 'CN=SQLite Root', keyType: 'ec-p256' }, TEST_ADMIN);
  const ca = await a.cas.create(
    { name: 'issuing', subject: 'CN=SQLite Issuing', keyType: 'ec-p256', parentId: root.ca.id },
    TEST_ADMIN,
  );
  const issue = (n: number) =>
    a.issuance.issueFromCsr(
      {
        caId: ca.ca.id,
        profile: 'tls-server',
        csrPem: opensslCsr({ keyType: 'ec-p256', subject: `/CN=h${n}.sq.example`, sans: [`DNS:h${n}.sq.example`] })
          .csrPem,
      },
      TEST_ADMIN,
    );
  const verify = (leafPem: string) => {
    const v = opensslVerify({
      leafPem,
      chainPems: [ca.certificatePem!],
      rootPem: root.certificatePem!,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
  };
  return { ca: ca.ca, issue, verify };
}

describe('the issuing CA on SQLite', () => {
  it('a CA disabled, then revoked, by another authority on the data dir is refused at once', async () => {
    const a = await authority('shared');
    const b = await authority('shared');
    const { ca, issue, verify } = await hierarchy(a);
    const first = await issue(1); // a has read its CA (and may use the row again)
    verify(first.certificatePem);

    await b.cas.setStatus(ca.id, 'disabled', TEST_ADMIN);
    await expectPkiError(issue(2), 'ca.not_active');
    await b.cas.setStatus(ca.id, 'active', TEST_ADMIN);
    const again = await issue(3); // enabled again: issued at once
    verify(again.certificatePem);
    await b.cas.revokeCa(ca.id, 'keyCompromise', TEST_ADMIN);
    await expectPkiError(issue(4), 'ca.not_active');

    const certs = await b.certificates.list({ caId: ca.id });
    expect(certs.items.map((c) => c.id).sort()).toEqual([first.certificate.id, again.certificate.id].sort());
    expect(certs.items.every((c) => c.status === 'revoked')).toBe(true);
    expect(await b.audit.list({ action: 'certificate.issue_failed' })).toHaveLength(2);
    expect((await b.audit.verify()).ok).toBe(true);
  }, 60_000);

  // as on PostgreSQL, a CA that no longer exists is left to the certificate's foreign key (store.write_failed)
  it('a CA deleted by another authority on the data dir is refused by the foreign key; nothing written', async () => {
    const a = await authority('deleted');
    const b = await authority('deleted');
    const root = await a.cas.create({ name: 'root', subject: 'CN=SQLite Root', keyType: 'ec-p256' }, TEST_ADMIN);
    const issue = (n: number) =>
      a.issuance.issueFromCsr(
        {
          caId: root.ca.id,
          profile: 'tls-server',
          csrPem: opensslCsr({ keyType: 'ec-p256', subject: `/CN=d${n}.sq.example`, sans: [`DNS:d${n}.sq.example`] })
            .csrPem,
        },
        TEST_ADMIN,
      );
    const first = await issue(1); // a has read the CA (and may use the row again)
    const v = opensslVerify({ leafPem: first.certificatePem, chainPems: [], rootPem: root.certificatePem! });
    expect(v.ok, v.output).toBe(true);
    await b.cas.revokeCa(root.ca.id, 'cessationOfOperation', TEST_ADMIN);
    await b.cas.delete(root.ca.id, {}, TEST_ADMIN);
    await expectPkiError(issue(2), 'store.write_failed');
    expect((await b.certificates.list({})).items).toHaveLength(0);
    expect((await b.audit.verify()).ok).toBe(true);
  }, 60_000);

  it("the authority's own change of its CA reaches the next certificate at once", async () => {
    const a = await authority('own');
    const { ca, issue, verify } = await hierarchy(a);
    const first = await issue(1); // the CA row read, and kept for the next requests
    verify(first.certificatePem);
    expect(opensslText(first.certificatePem)).not.toContain('http://crl.sq.example');

    await a.cas.setUrls(ca.id, { crlDistributionPoints: ['http://crl.sq.example/issuing.crl'] }, TEST_ADMIN);
    const second = await issue(2);
    verify(second.certificatePem);
    expect(opensslText(second.certificatePem)).toContain('URI:http://crl.sq.example/issuing.crl');

    await a.cas.setStatus(ca.id, 'disabled', TEST_ADMIN);
    await expectPkiError(issue(3), 'ca.not_active');
  }, 60_000);
});
