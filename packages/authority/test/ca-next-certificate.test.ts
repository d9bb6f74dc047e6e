// What a CA's next certificate keeps of its current one (`cas.renew`, and `cas.rotate`'s successor and cross
// certificate): the key usage, certificate policies, name constraints and path length of the current certificate, and
// its relying-party URLs under the signer's URL setting now (a root: the kinds its certificate carries; an
// intermediate: its parent's URLs). openssl reads every certificate's extensions, certtool once.
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '@pkim/core';
import { ENGINES } from '../../../tests/support/engines';
import { certtoolInfo, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { opensslSelfSigned } from '../../../tests/support/openssl-tools';
import { admin, keyRequest, useAuthoritySuite } from './fixtures/authority-suite';

const DAY = 86_400_000;
const BASE = 'http://127.0.0.1:9'; // the suite's PKIM_PUBLIC_URL

/** openssl's reading of a certificate's extensions (from 'X509v3 extensions:' to the signature) */
function extensionsText(pem: string): string {
  const t = opensslText(pem);
  return t.slice(t.indexOf('X509v3 extensions:'), t.lastIndexOf('Signature Algorithm'));
}

describe.each(ENGINES)("a CA's next certificate on $name", (engine) => {
  const s = useAuthoritySuite(engine);

  it('a renewed root keeps its key usage, policies, name constraints, path length and URL kinds', async () => {
    const outside = opensslSelfSigned({
      subject: '/CN=Next Imported Root/O=Lifecycle',
      days: 3650,
      addext: [
        'basicConstraints=critical,CA:TRUE,pathlen:1',
        'keyUsage=critical,digitalSignature,keyCertSign,cRLSign',
        'certificatePolicies=1.3.6.1.4.1.55555.1.2',
        'nameConstraints=critical,permitted;DNS:.example.com',
        'crlDistributionPoints=URI:http://outside.example/root.crl',
        'authorityInfoAccess=caIssuers;URI:http://outside.example/root.crt',
      ],
    });
    const root = await s.authority.cas.importExisting(
      { certificatePem: outside.certPem, keyPem: outside.keyPem, name: 'next-imported' },
      admin,
    );
    const id = root.ca.id;
    const before = await s.authority.issuance.issueWithKey(keyRequest(id, 'before.example.com'), admin);

    const kept = (text: string) => {
      expect(text).toContain('CA:TRUE, pathlen:1');
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
      expect(text).toContain('Policy: 1.3.6.1.4.1.55555.1.2');
      expect(text).toMatch(/Name Constraints: critical\s+Permitted:\s+DNS:\.example\.com/);
    };
    // the URLs where this deployment publishes the root's CRL and certificate now (the PKIM_PUBLIC_URL default of
    // the imported row), the kinds the imported certificate had: no OCSP URL added
    const renewed = await s.authority.cas.renew(id, {}, admin);
    const text = extensionsText(renewed.certificatePem!);
    kept(text);
    expect(text).toContain(`URI:${BASE}/crl/${id}.crl`);
    expect(text).toContain(`CA Issuers - URI:${BASE}/aia/${id}.crt`);
    expect(text).not.toContain('OCSP');
    expect(text).not.toContain('outside.example');
    const info = certtoolInfo(renewed.certificatePem!);
    expect(info).toContain('1.3.6.1.4.1.55555.1.2');
    expect(info).toMatch(/Name Constraints \(critical\)/);
    expect(info).toContain(`${BASE}/crl/${id}.crl`);
    // a leaf the root issued before verifies under the renewed root
    const v = opensslVerify({ leafPem: before.certificatePem, rootPem: renewed.certificatePem!, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);

    // after `ca set-urls` the next renewal points where the CRL is published then
    await s.authority.cas.setUrls(id, { crlDistributionPoints: ['http://pki.example/next-root.crl'] }, admin);
    const again = extensionsText((await s.authority.cas.renew(id, {}, admin)).certificatePem!);
    kept(again);
    expect(again).toContain('URI:http://pki.example/next-root.crl');
    expect(again).toContain(`CA Issuers - URI:${BASE}/aia/${id}.crt`);

    // rotated: the successor and the cross certificate carry the same; the cross the old root's URLs
    const r = await s.authority.cas.rotate(id, {}, admin);
    const successor = extensionsText(r.certificatePem!);
    kept(successor);
    expect(successor).toContain(`URI:${BASE}/crl/${r.ca.id}.crl`);
    expect(successor).toContain(`CA Issuers - URI:${BASE}/aia/${r.ca.id}.crt`);
    expect(successor).not.toContain('OCSP');
    // (the cross certificate's path length one below the old root's: the path through it is one CA longer)
    const cross = extensionsText(r.crossCertificatePem!).replace('CA:TRUE, pathlen:0', 'CA:TRUE, pathlen:1');
    expect(extensionsText(r.crossCertificatePem!)).toContain('CA:TRUE, pathlen:0');
    kept(cross);
    expect(cross).toContain('URI:http://pki.example/next-root.crl');
    expect(cross).toContain(`CA Issuers - URI:${BASE}/aia/${id}.crt`);
    const leaf = await s.authority.issuance.issueWithKey(keyRequest(r.ca.id, 'after.example.com'), admin);
    const through = opensslVerify({
      leafPem: leaf.certificatePem,
      chainPems: [r.crossCertificatePem!],
      rootPem: outside.certPem,
      purpose: 'sslserver',
    });
    expect(through.ok, through.output).toBe(true);
  });

  it("an intermediate renewed carries its parent's URLs now; a root made with URLs keeps them", async () => {
    const root = await s.authority.cas.create(
      {
        name: 'next-root',
        subject: 'CN=Next Root,O=Lifecycle',
        keyType: 'ec-p256',
        validityMs: 3650 * DAY,
        urls: {
          crlDistributionPoints: ['http://r.example/root.crl'],
          ocspUrls: ['http://r.example/ocsp'],
          caIssuersUrls: ['http://r.example/root.crt'],
        },
      },
      admin,
    );
    const int = await s.authority.cas.create(
      {
        name: 'next-int',
        subject: 'CN=Next Int,O=Lifecycle',
        keyType: 'ec-p256',
        parentId: root.ca.id,
        validityMs: 365 * DAY,
        pathLen: 0,
        nameConstraints: { permittedDns: ['next.test'] },
      },
      admin,
    );
    const rootUrls = (text: string) => {
      expect(text).toContain('URI:http://r.example/root.crl');
      expect(text).toContain('OCSP - URI:http://r.example/ocsp');
      expect(text).toContain('CA Issuers - URI:http://r.example/root.crt');
    };
    rootUrls(extensionsText(root.certificatePem!));
    const renewedRoot = await s.authority.cas.renew(root.ca.id, {}, admin);
    rootUrls(extensionsText(renewedRoot.certificatePem!));
    expect(parseCertificate(renewedRoot.certificatePem!).keyUsage).toEqual(
      parseCertificate(root.certificatePem!).keyUsage,
    );

    await s.authority.cas.setUrls(root.ca.id, { base: 'http://pki2.example' }, admin);
    const renewedInt = await s.authority.cas.renew(int.ca.id, {}, admin);
    const t = extensionsText(renewedInt.certificatePem!);
    expect(t).toContain('CA:TRUE, pathlen:0');
    expect(t).toMatch(/Permitted:\s+DNS:next\.test/);
    expect(t).toContain(`URI:http://pki2.example/crl/${root.ca.id}.crl`);
    expect(t).toContain('OCSP - URI:http://pki2.example/ocsp');
    expect(t).toContain(`CA Issuers - URI:http://pki2.example/aia/${root.ca.id}.crt`);

    // a rotated root with a base: the successor's own URLs under that base, in its certificate and its setting
    const r = await s.authority.cas.rotate(root.ca.id, {}, admin);
    const succ = extensionsText(r.certificatePem!);
    expect(succ).toContain(`URI:http://pki2.example/crl/${r.ca.id}.crl`);
    expect(succ).toContain(`CA Issuers - URI:http://pki2.example/aia/${r.ca.id}.crt`);
    expect((await s.authority.cas.get(r.ca.id)).ca.urls).toMatchObject({ base: 'http://pki2.example' });
    expect(extensionsText(r.crossCertificatePem!)).toContain(`URI:http://pki2.example/crl/${root.ca.id}.crl`);
    // an intermediate rotated keeps its path length and name constraints
    const ri = await s.authority.cas.rotate(int.ca.id, {}, admin);
    const ti = extensionsText(ri.certificatePem!);
    expect(ti).toContain('CA:TRUE, pathlen:0');
    expect(ti).toMatch(/Permitted:\s+DNS:next\.test/);
  });
});
