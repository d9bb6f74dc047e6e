// Authority services on both engines, after issuance: revocation and the CRL, OCSP, the request workflow, revoking
// and deleting CAs, the audit chain. Issuance: authority-issuance.test.ts.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Actor } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { ENGINES } from '../../../tests/support/engines';
import { opensslCsr, openssl, tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, useAuthoritySuite } from './fixtures/authority-suite';

describe.each(ENGINES)('authority revocation on $name', (engine) => {
  const s = useAuthoritySuite(engine);

  it('revokes with keyCompromise, refuses a second revocation; the CRL lists the serial with its reason', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=revoke.example.com',
      sans: ['DNS:revoke.example.com'],
    });
    const issued = await s.authority.issuance.issueFromCsr({ caId: s.intId, csrPem, profile: 'tls-server' }, admin);
    const revoked = await s.authority.certificates.revoke(issued.certificate.serialHex, 'keyCompromise', admin);
    expect(revoked.status).toBe('revoked');
    const before = await s.counts();
    await expectPkiError(
      s.authority.certificates.revoke(issued.certificate.id, 'superseded', admin),
      'certificate.already_revoked',
    );
    expect((await s.counts()).events).toBe(before.events + 1);
    const crl = await s.authority.crl.generate(s.intId, admin);
    const v = opensslCrlVerify(crl.der, s.intPem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text.toLowerCase()).toContain(issued.certificate.serialHex.toLowerCase().replace(/^0+/, ''));
    expect(v.text).toContain('Key Compromise');
    // a later CRL has a higher number
    const next = await s.authority.crl.generate(s.intId, admin);
    expect(next.crlNumber).toBeGreaterThan(crl.crlNumber);
  });

  it('serves OCSP good, then revoked with the reason, as openssl reads it', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=ocsp.example.com',
      sans: ['DNS:ocsp.example.com'],
    });
    const issued = await s.authority.issuance.issueFromCsr({ caId: s.intId, csrPem, profile: 'tls-server' }, admin);
    const ask = async () => {
      const t = tempDir();
      try {
        writeFileSync(`${t.dir}/ca.pem`, s.intPem);
        writeFileSync(`${t.dir}/leaf.pem`, issued.certificatePem);
        writeFileSync(`${t.dir}/chain.pem`, `${s.intPem}\n${s.rootPem}`);
        execFileSync('openssl', [
          'ocsp',
          '-issuer',
          `${t.dir}/ca.pem`,
          '-cert',
          `${t.dir}/leaf.pem`,
          '-reqout',
          `${t.dir}/req.der`,
        ]);
        const res = await s.authority.ocsp.respond(readFileSync(`${t.dir}/req.der`));
        writeFileSync(`${t.dir}/res.der`, res.der);
        return openssl([
          'ocsp',
          '-respin',
          `${t.dir}/res.der`,
          '-issuer',
          `${t.dir}/ca.pem`,
          '-cert',
          `${t.dir}/leaf.pem`,
          '-CAfile',
          `${t.dir}/chain.pem`,
          '-resp_text',
          '-no_nonce',
        ]);
      } finally {
        t.cleanup();
      }
    };
    const good = await ask();
    expect(good.output).toMatch(/leaf\.pem: good/);
    expect(good.output).toContain('Response verify OK');
    expect(good.output).toContain('OCSP Nonce');
    await s.authority.certificates.revoke(issued.certificate.id, 'affiliationChanged', admin);
    const rev = await ask();
    expect(rev.output).toMatch(/leaf\.pem: revoked/);
    expect(rev.output).toContain('Reason: affiliationChanged');
  });

  it('runs the request workflow: submit, approve issues, reject needs a reason, no second decision', async () => {
    const requester: Actor = { id: 'usr_req', name: 'bob', role: 'requester' };
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=req.example.com',
      sans: ['DNS:req.example.com'],
    });
    const req = await s.authority.requests.submit({ caId: s.intId, csrPem, profile: 'tls-server' }, requester);
    expect(req.status).toBe('pending');
    const mine = await s.authority.requests.list({ status: 'pending' }, requester);
    expect(mine.items.map((r) => r.id)).toContain(req.id);
    const other: Actor = { id: 'usr_other', role: 'requester' };
    await expectPkiError(s.authority.requests.get(req.id, other), 'request.not_found');
    const approved = await s.authority.requests.approve(req.id, admin);
    expect(approved.request.status).toBe('issued');
    expect(approved.request.certificateId).toBe(approved.issued.certificate.id);
    expect(approved.issued.certificate.requestId).toBe(req.id);
    expect((await s.authority.requests.get(req.id, admin)).certificateId).toBe(approved.issued.certificate.id);
    await expectPkiError(s.authority.requests.approve(req.id, admin), 'request.not_pending');
    const req2 = await s.authority.requests.submit({ caId: s.intId, csrPem, profile: 'tls-server' }, requester);
    await expectPkiError(s.authority.requests.reject(req2.id, '  ', admin), 'input.invalid');
    const rejected = await s.authority.requests.reject(req2.id, 'not our domain', admin);
    expect(rejected.status).toBe('rejected');
    await expectPkiError(s.authority.requests.approve(req2.id, admin), 'request.not_pending');
  });

  it('revoking a CA revokes what it issued, says how many, and a revoked CA signs nothing', async () => {
    const sub = await s.authority.cas.create(
      { name: 'to-revoke', subject: 'CN=Short Lived CA', keyType: 'ec-p256', parentId: s.rootId, pathLen: 0 },
      admin,
    );
    for (const n of ['a', 'b', 'c']) {
      await s.authority.issuance.issueWithKey(
        {
          caId: sub.ca.id,
          profile: 'tls-server',
          subject: `CN=${n}.test`,
          sans: { dns: [`${n}.test`] },
          keyType: 'ec-p256',
        },
        admin,
      );
    }
    const r = await s.authority.cas.revokeCa(sub.ca.id, 'cessationOfOperation', admin);
    expect(r.revokedCertificates).toBe(3);
    const page = await s.authority.certificates.list({ caId: sub.ca.id, limit: 10 });
    expect(page.items.every((c) => c.status === 'revoked')).toBe(true);
    await expectPkiError(
      s.authority.issuance.issueWithKey(
        { caId: sub.ca.id, profile: 'tls-server', subject: 'CN=d.test', sans: { dns: ['d.test'] }, keyType: 'ec-p256' },
        admin,
      ),
      'ca.not_active',
    );
    // the root's CRL lists the revoked sub-CA
    const crl = await s.authority.crl.generate(s.rootId, admin);
    const v = opensslCrlVerify(crl.der, s.rootPem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text.toLowerCase()).toContain(sub.ca.serialHex!.replace(/^0+/, ''));
    // delete needs the certificate records gone first; the key can be destroyed
    await expectPkiError(s.authority.cas.delete(sub.ca.id, { destroyKey: true }, admin), 'ca.not_deletable');
  });

  it('a CA that is still active cannot be deleted; the refusal says what would let it be', async () => {
    const sub = await expectPkiError(s.authority.cas.delete(s.intId, {}, admin), 'ca.not_deletable');
    // revoking an intermediate does not make it deletable: its parent's CRL lists it until it expires
    const until = new Date((await s.authority.cas.get(s.intId)).ca.notAfter!).toISOString();
    expect(sub.message).toContain(`until ${until}`);
    expect(sub.message).not.toContain('revoke it first');
    const root = await expectPkiError(s.authority.cas.delete(s.rootId, {}, admin), 'ca.not_deletable');
    expect(root.message).toContain('revoke it first');
  });

  it('the audit chain verifies and counts every event', async () => {
    const r = await s.authority.audit.verify();
    expect(r.ok).toBe(true);
    expect(r.count).toBe(await internalsOf(s.authority).store.audit.count());
  });
});
