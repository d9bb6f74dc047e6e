// A rotated root's cross certificate revoked on its own (`cas.revokeCross`): relying parties that trust only the old
// root stop reaching the successor through it. The old root's CRL lists it, its OCSP responder answers `revoked`,
// the successor itself is untouched (its hierarchy verifies with it trusted). openssl reads every CRL and OCSP answer
// (Go the CRL too); refusals change nothing.
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '@pkim/core';
import { internalsOf } from '@pkim/authority/internals';
import { ENGINES } from '../../../tests/support/engines';
import { opensslCrlVerify, opensslOcspCheck, opensslOcspRequest } from '../../../tests/support/verifiers';
import { openssl } from '../../../tests/support/openssl-tools';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, keyRequest, useAuthoritySuite } from './fixtures/authority-suite';

const DAY = 86_400_000;
const bare = (hex: string) => hex.toLowerCase().replace(/^0+/, '');
const crlPem = (der: Uint8Array) =>
  `-----BEGIN X509 CRL-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')}-----END X509 CRL-----\n`;

describe.each(ENGINES)('revoking a cross certificate on its own on $name', (engine) => {
  const s = useAuthoritySuite(engine);

  async function ocspStatus(issuerPem: string, certPem: string): Promise<string> {
    const answer = await s.authority.ocsp.respond(opensslOcspRequest({ issuerPem, leafPem: certPem }));
    const check = opensslOcspCheck({ responseDer: answer.der, issuerPem, caFilePem: issuerPem, leafPem: certPem });
    expect(check.ok, check.output).toBe(true);
    return /: (good|revoked|unknown)\b/.exec(check.output)![1]!;
  }

  it('the old root lists it and answers revoked; the successor is unaffected', async () => {
    const root = await s.authority.cas.create(
      { name: 'xrev-root', subject: 'CN=XRev Root', keyType: 'ec-p256', validityMs: 3650 * DAY },
      admin,
    );
    const r = await s.authority.cas.rotate(root.ca.id, {}, admin);
    const oldPem = root.certificatePem!;
    const crossPem = r.crossCertificatePem!;
    const int = await s.authority.cas.create(
      { name: 'xrev-int', subject: 'CN=XRev Int', keyType: 'ec-p256', parentId: r.ca.id, pathLen: 0 },
      admin,
    );
    const leaf = await s.authority.issuance.issueWithKey(keyRequest(int.ca.id, 'leaf.xrev.test'), admin);
    expect(await ocspStatus(oldPem, crossPem)).toBe('good');

    // refusals: a CA without a cross certificate, an unknown reason — nothing changed
    const store = internalsOf(s.authority).store;
    const unchanged = async (caId: string, p: () => Promise<unknown>, code: string) => {
      const was = await store.cas.findById(caId);
      const rows = [(await store.cas.list()).length, (await s.counts()).certs];
      await expectPkiError(p(), code);
      expect(await store.cas.findById(caId)).toEqual(was);
      expect([(await store.cas.list()).length, (await s.counts()).certs]).toEqual(rows);
    };
    await unchanged(
      root.ca.id,
      () => s.authority.cas.revokeCross(root.ca.id, 'superseded', admin),
      'certificate.not_found',
    );
    await unchanged(
      int.ca.id,
      () => s.authority.cas.revokeCross(int.ca.id, 'superseded', admin),
      'certificate.not_found',
    );
    await unchanged(
      r.ca.id,
      () => s.authority.cas.revokeCross(r.ca.id, 'bogus' as 'superseded', admin),
      'revocation.invalid_reason',
    );

    const view = await s.authority.cas.revokeCross(r.ca.id, 'cessationOfOperation', admin);
    expect(view.ca.status).toBe('active');
    const entry = view.ca.certificateHistory!.find((h) => h.kind === 'cross')!;
    expect(entry).toMatchObject({ revocationReason: 'cessationOfOperation' });
    expect(entry.revokedAt).toBeGreaterThan(0);
    await unchanged(
      r.ca.id,
      () => s.authority.cas.revokeCross(r.ca.id, 'superseded', admin),
      'certificate.already_revoked',
    );

    // the old root's OCSP answer and CRL
    expect(await ocspStatus(oldPem, crossPem)).toBe('revoked');
    const oldCrlDer = (await s.authority.crl.generate(root.ca.id, admin)).der;
    const oldCrl = opensslCrlVerify(oldCrlDer, oldPem);
    expect(oldCrl.ok, oldCrl.text).toBe(true);
    expect([...oldCrl.go.entries.keys()]).toEqual([bare(parseCertificate(crossPem).serialHex)]);
    expect(oldCrl.text).toMatch(/Cessation Of Operation/);

    // the path through the cross certificate fails with the CRLs checked; the successor trusted, all is good
    const newCrlDer = (await s.authority.crl.generate(r.ca.id, admin)).der;
    const intCrlDer = (await s.authority.crl.generate(int.ca.id, admin)).der;
    const crls = [crlPem(oldCrlDer), crlPem(newCrlDer), crlPem(intCrlDer)];
    // openssl verify -crl_check_all: every certificate of the path checked against its issuer's CRL
    const checkAll = (chain: string[], rootPem: string) =>
      openssl(
        ['verify', '-x509_strict', '-crl_check_all', '-CAfile', '@root.pem', '-untrusted', '@chain.pem'].concat([
          '-CRLfile',
          '@crl.pem',
          '@leaf.pem',
        ]),
        { 'root.pem': rootPem, 'chain.pem': chain.join(''), 'crl.pem': crls.join(''), 'leaf.pem': leaf.certificatePem },
      );
    const through = checkAll([int.certificatePem!, crossPem], oldPem);
    expect(through.ok).toBe(false);
    expect(through.output).toMatch(/certificate revoked/);
    const direct = checkAll([int.certificatePem!], r.certificatePem!);
    expect(direct.ok, direct.output).toBe(true);
    expect(await ocspStatus(r.certificatePem!, int.certificatePem!)).toBe('good');
    expect((await s.authority.cas.get(r.ca.id)).ca.status).toBe('active');
    expect((await s.authority.cas.get(root.ca.id)).ca.status).toBe('active');

    const events = await s.authority.audit.list({ target: r.ca.id, action: 'ca.cross_revoked', limit: 5 });
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({ serial: entry.serialHex, issuerCaId: root.ca.id, reason: 'cessationOfOperation' }),
    ]);
  });
});
