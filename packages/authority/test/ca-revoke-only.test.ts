// The non-cascading CA revocation (`cas.revokeCa(…, { cascade: false })`, what Vault's `issuer/:ref/revoke` uses) on
// both engines: only the CA's own certificate is revoked — its parent's CRL (openssl, certtool, Go) and its parent's
// OCSP answer (openssl) list it; its leaves and sub-CAs stay valid and answered good; it signs no more certificates
// but keeps signing its CRL and OCSP answers; one hash-chained `ca.revoked` event with `cascade: false`.
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../../../tests/support/engines';
import { opensslCrlVerify, opensslOcspCheck, opensslOcspRequest } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, keyRequest, useAuthoritySuite } from './fixtures/authority-suite';

describe.each(ENGINES)('a CA revoked without cascade on $name', (engine) => {
  const s = useAuthoritySuite(engine);

  /** the OCSP status of `leafPem` answered by the authority for `issuerPem`, read by openssl */
  async function ocspStatus(issuerPem: string, leafPem: string, caFilePem: string): Promise<string> {
    const res = await s.authority.ocsp.respond(opensslOcspRequest({ issuerPem, leafPem }));
    const check = opensslOcspCheck({ responseDer: res.der, issuerPem, caFilePem, leafPem });
    expect(check.ok, check.output).toBe(true);
    return /leaf\.pem: (good|revoked|unknown)/.exec(check.output)?.[1] ?? check.output;
  }

  it('revokes the CA certificate only: the parent CRL and OCSP list it, its leaves and sub-CAs stay good', async () => {
    const sub = await s.authority.cas.create(
      { name: 'only-me', subject: 'CN=Revoked Alone CA', keyType: 'ec-p256', parentId: s.rootId, pathLen: 1 },
      admin,
    );
    const below = await s.authority.cas.create(
      { name: 'only-me-child', subject: 'CN=Below Revoked CA', keyType: 'ec-p256', parentId: sub.ca.id, pathLen: 0 },
      admin,
    );
    const leaf = await s.authority.issuance.issueWithKey(keyRequest(sub.ca.id, 'kept.test'), admin);
    const chainOfSub = `${sub.certificatePem}${s.rootPem}`;
    expect(await ocspStatus(s.rootPem, sub.certificatePem!, s.rootPem)).toBe('good');

    const r = await s.authority.cas.revokeCa(sub.ca.id, 'unspecified', admin, { cascade: false });
    expect(r).toMatchObject({ revokedCertificates: 0, revokedCas: 0, ca: { status: 'revoked' } });
    const row = (await s.authority.cas.get(sub.ca.id)).ca;
    expect(row.status).toBe('revoked');
    expect(row.revokedAt).toBe(r.ca.revokedAt);
    expect(row.revokedAt).toBeGreaterThan(0);

    // the parent's CRL lists the CA's serial (all three verifiers), and the parent's OCSP answer says revoked
    const rootCrl = await s.authority.crl.current(s.rootId);
    const v = opensslCrlVerify(rootCrl.der, s.rootPem);
    expect(v.ok, v.text).toBe(true);
    expect(v.go.entries.has(sub.ca.serialHex!.toLowerCase().replace(/^0+/, ''))).toBe(true);
    expect(await ocspStatus(s.rootPem, sub.certificatePem!, s.rootPem)).toBe('revoked');

    // what it issued is untouched: the leaf and the sub-CA are active, good in OCSP, absent from the CA's own CRL
    expect((await s.authority.certificates.get(leaf.certificate.id)).certificate.status).toBe('active');
    expect((await s.authority.cas.get(below.ca.id)).ca.status).toBe('active');
    expect(await ocspStatus(sub.certificatePem!, leaf.certificatePem, chainOfSub)).toBe('good');
    const ownCrl = await s.authority.crl.generate(sub.ca.id, admin);
    const own = opensslCrlVerify(ownCrl.der, sub.certificatePem!);
    expect(own.ok, own.text).toBe(true);
    expect(own.go.entries.size).toBe(0);
    // the sub-CA below still issues
    await s.authority.issuance.issueWithKey(keyRequest(below.ca.id, 'below.test'), admin);

    // it signs no more certificates, but a leaf of it can still be revoked and its CRL lists that leaf
    await expectPkiError(s.authority.issuance.issueWithKey(keyRequest(sub.ca.id, 'new.test'), admin), 'ca.not_active');
    await s.authority.certificates.revoke(leaf.certificate.id, 'superseded', admin);
    const after = opensslCrlVerify((await s.authority.crl.current(sub.ca.id)).der, sub.certificatePem!);
    expect(after.ok, after.text).toBe(true);
    expect(after.go.entries.has(leaf.certificate.serialHex.toLowerCase().replace(/^0+/, ''))).toBe(true);
    expect(await ocspStatus(sub.certificatePem!, leaf.certificatePem, chainOfSub)).toBe('revoked');

    // one audit event says so; a second revocation is refused and changes nothing
    const events = await s.authority.audit.list({ target: sub.ca.id, action: 'ca.revoked', limit: 10 });
    expect(events.map((e) => e.details)).toEqual([{ reason: 'unspecified', descendants: [], cascade: false }]);
    await expectPkiError(
      s.authority.cas.revokeCa(sub.ca.id, 'unspecified', admin, { cascade: false }),
      'ca.already_revoked',
    );
    expect((await s.authority.cas.get(sub.ca.id)).ca.revokedAt).toBe(r.ca.revokedAt);
    const chain = await s.authority.audit.verify();
    expect(chain.ok).toBe(true);
  });

  it('two revocations of one CA at once: one commits, the other fails and overwrites nothing', async () => {
    const sub = await s.authority.cas.create(
      { name: 'raced-revoke', subject: 'CN=Raced Revoke CA', keyType: 'ec-p256', parentId: s.rootId, pathLen: 0 },
      admin,
    );
    // both read the CA as active before either commits (each awaits its reads first)
    const results = await Promise.allSettled([
      s.authority.cas.revokeCa(sub.ca.id, 'keyCompromise', admin, { cascade: false }),
      s.authority.cas.revokeCa(sub.ca.id, 'superseded', admin),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((r) => (r.reason as { code?: string }).code)).toEqual(['ca.already_revoked']);
    const winner = (won[0] as PromiseFulfilledResult<{ ca: { revokedAt: number | null; revocationReason: unknown } }>)
      .value.ca;
    const row = (await s.authority.cas.get(sub.ca.id)).ca;
    expect([row.revokedAt, row.revocationReason]).toEqual([winner.revokedAt, winner.revocationReason]);
    const events = await s.authority.audit.list({ target: sub.ca.id, action: 'ca.revoked', limit: 10 });
    expect(events).toHaveLength(1);
    expect((await s.authority.audit.verify()).ok).toBe(true);
  });
});
