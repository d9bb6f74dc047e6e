// The status of a CA's earlier certificates after `cas.renew` / `cas.rotate`: a renewed intermediate's previous
// certificate (signed by its parent) and a rotated root's cross certificate (signed by the old root) are answered by
// their signer's OCSP responder with the status of the CA whose key they certify, and listed on the signer's CRL
// once that CA is revoked. openssl reads every OCSP response and CRL.
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '@pkim/core';
import { ENGINES } from '../../../tests/support/engines';
import { opensslCrlVerify, opensslOcspCheck, opensslOcspRequest } from '../../../tests/support/verifiers';
import { admin, useAuthoritySuite } from './fixtures/authority-suite';

const DAY = 86_400_000;
const bare = (hex: string) => hex.toLowerCase().replace(/^0+/, '');

describe.each(ENGINES)("a CA's earlier certificates in OCSP and CRLs on $name", (engine) => {
  const s = useAuthoritySuite(engine);

  /** the status openssl reads from the responder's answer for `certPem` issued by `issuerPem` */
  async function ocspStatus(issuerPem: string, certPem: string, rootPem: string): Promise<string> {
    const answer = await s.authority.ocsp.respond(opensslOcspRequest({ issuerPem, leafPem: certPem }));
    const check = opensslOcspCheck({ responseDer: answer.der, issuerPem, caFilePem: rootPem, leafPem: certPem });
    expect(check.ok, check.output).toBe(true);
    const status = /: (good|revoked|unknown)\b/.exec(check.output)?.[1];
    expect(answer.statuses).toEqual([status]);
    return status!;
  }

  it("a renewed intermediate's previous certificate: good, then revoked with the CA (OCSP and CRL)", async () => {
    const root = await s.authority.cas.create(
      { name: 'hist-root', subject: 'CN=Hist Root', keyType: 'ec-p256', validityMs: 3650 * DAY },
      admin,
    );
    const int = await s.authority.cas.create(
      { name: 'hist-int', subject: 'CN=Hist Int', keyType: 'ec-p256', parentId: root.ca.id, validityMs: 365 * DAY },
      admin,
    );
    const renewed = await s.authority.cas.renew(int.ca.id, {}, admin);
    const rootPem = root.certificatePem!;
    expect(await ocspStatus(rootPem, int.certificatePem!, rootPem)).toBe('good');
    expect(await ocspStatus(rootPem, renewed.certificatePem!, rootPem)).toBe('good');

    await s.authority.cas.revokeCa(int.ca.id, 'keyCompromise', admin);
    expect(await ocspStatus(rootPem, int.certificatePem!, rootPem)).toBe('revoked');
    expect(await ocspStatus(rootPem, renewed.certificatePem!, rootPem)).toBe('revoked');
    const crl = opensslCrlVerify((await s.authority.crl.generate(root.ca.id, admin)).der, rootPem);
    expect(crl.ok, crl.text).toBe(true);
    const serials = [int.certificatePem!, renewed.certificatePem!].map((p) => bare(parseCertificate(p).serialHex));
    expect([...crl.go.entries.keys()].sort()).toEqual(serials.sort());
  });

  it("a rotated root's cross certificate: answered by the old root, revoked with the successor", async () => {
    const root = await s.authority.cas.create(
      { name: 'xr-root', subject: 'CN=XR Root', keyType: 'ec-p256', validityMs: 3650 * DAY },
      admin,
    );
    const r = await s.authority.cas.rotate(root.ca.id, {}, admin);
    const oldPem = root.certificatePem!;
    const crossPem = r.crossCertificatePem!;
    expect(await ocspStatus(oldPem, crossPem, oldPem)).toBe('good');
    // the old root's CRL before: nothing of the successor's
    const before = opensslCrlVerify((await s.authority.crl.generate(root.ca.id, admin)).der, oldPem);
    expect([...before.go.entries.keys()]).toEqual([]);

    await s.authority.cas.revokeCa(r.ca.id, 'superseded', admin);
    expect(await ocspStatus(oldPem, crossPem, oldPem)).toBe('revoked');
    const after = opensslCrlVerify((await s.authority.crl.generate(root.ca.id, admin)).der, oldPem);
    expect(after.ok, after.text).toBe(true);
    expect([...after.go.entries.keys()]).toEqual([bare(parseCertificate(crossPem).serialHex)]);
    // the old root itself is not revoked with its successor
    expect((await s.authority.cas.get(root.ca.id)).ca.status).toBe('active');
  });
});
