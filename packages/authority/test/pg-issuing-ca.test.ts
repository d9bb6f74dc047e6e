// Issuance on PostgreSQL by two authorities on one database (two processes' worth: each its own store and pool). An
// instance may sign with the issuing CA's row read a moment earlier (ca-context.ts, Store.checksIssuingCaAtCommit):
// a CA disabled or revoked by the other instance is still refused by the next request — by the commit, in its own
// transaction — and no certificate of it is written.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';

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
    const root = await a.cas.create({ name: 'root', subject: 'CN=PG Root', keyType: 'ec-p256' }, TEST_ADMIN);
    const ca = await a.cas.create(
      { name: 'issuing', subject: 'CN=PG Issuing', keyType: 'ec-p256', parentId: root.ca.id },
      TEST_ADMIN,
    );
    const issue = (n: number) =>
      a.issuance.issueFromCsr(
        {
          caId: ca.ca.id,
          profile: 'tls-server',
          csrPem: opensslCsr({ keyType: 'ec-p256', subject: `/CN=h${n}.pg.example`, sans: [`DNS:h${n}.pg.example`] })
            .csrPem,
        },
        TEST_ADMIN,
      );
    const first = await issue(1); // instance a has read its CA (and may use the row again)
    const v = opensslVerify({
      leafPem: first.certificatePem,
      chainPems: [ca.certificatePem!],
      rootPem: root.certificatePem!,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);

    await b.cas.setStatus(ca.ca.id, 'disabled', TEST_ADMIN);
    await expectPkiError(issue(2), 'ca.not_active');
    await b.cas.setStatus(ca.ca.id, 'active', TEST_ADMIN);
    const again = await issue(3); // enabled again: issued at once
    await b.cas.revokeCa(ca.ca.id, 'keyCompromise', TEST_ADMIN);
    await expectPkiError(issue(4), 'ca.not_active');

    const certs = await b.certificates.list({ caId: ca.ca.id });
    expect(certs.items.map((c) => c.id).sort()).toEqual([first.certificate.id, again.certificate.id].sort());
    expect(certs.items.every((c) => c.status === 'revoked')).toBe(true);
    const failed = await b.audit.list({ action: 'certificate.issue_failed' });
    expect(failed).toHaveLength(2);
    expect((await b.audit.verify()).ok).toBe(true);
  }, 60_000);
});
