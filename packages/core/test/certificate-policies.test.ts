/**
 * A profile's further extended key usages by OID (`extKeyUsageOids`) and certificate policies (`certificatePolicies`,
 * with a CPS URI and a user notice): encoded as openssl, certtool and @peculiar/asn1-x509 read them, decoded back;
 * the rules of their OIDs refused when a custom profile is read (profile.invalid) and by the linter on any plan
 * (lint.policy_invalid); anyPolicy on a CA certificate, not on a leaf.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificatePolicies } from '@peculiar/asn1-x509';
import {
  BUILT_IN_PROFILES,
  certificatePurposes,
  extensionByOid,
  issueCertificate,
  lintCertificate,
  parseCertificate,
  parseProfile,
  planCertificate,
  toPem,
  type Profile,
} from '../src/index';
import { readCertificate } from '../src/certificate-parser';
import { certtoolInfo, certtoolVerify, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { leafInput, makeIntermediate, makeRoot, makeTestKey, type IssuedCa } from './helpers';

const now = Date.now();
let root: IssuedCa;
let sub: IssuedCa;
beforeAll(async () => {
  root = await makeRoot(makeTestKey('ec-p256'), now);
  sub = await makeIntermediate(root, makeTestKey('ec-p256'), now);
});

const POLICIES = [
  { oid: '1.3.6.1.4.1.32473.1.2.4', cps: 'https://pki.example.com/cps' },
  { oid: '1.3.6.1.4.1.32473.1.2.5', notice: 'Für interne Dienste – not for the public' },
  { oid: '2.23.140.1.2.1' },
];
const leafProfile = () =>
  parseProfile({
    ...BUILT_IN_PROFILES['tls-server'],
    name: 'tls-server-policies',
    extKeyUsageOids: ['1.3.6.1.4.1.32473.9.1', '1.3.6.1.4.1.311.10.3.12'],
    certificatePolicies: POLICIES,
  });

async function issueLeaf(profile: Profile): Promise<string> {
  const der = await issueCertificate(
    planCertificate(leafInput(sub, makeTestKey('ec-p256').publicKey, now, { profile })),
    sub.key.sign,
    { now },
  );
  return toPem(der, 'CERTIFICATE');
}

describe("a profile's EKU OIDs and certificate policies", () => {
  it('are in the leaf as openssl, certtool and asn1-x509 read them, and decode back', async () => {
    const pem = await issueLeaf(await leafProfile());
    const text = opensslText(pem);
    expect(text).toMatch(
      /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, 1\.3\.6\.1\.4\.1\.32473\.9\.1, (Document Signing|1\.3\.6\.1\.4\.1\.311\.10\.3\.12)\n/,
    );
    expect(text).toMatch(
      /X509v3 Certificate Policies: \n\s+Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.2\.4\n\s+CPS: https:\/\/pki\.example\.com\/cps\n/,
    );
    expect(text).toMatch(
      /Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.2\.5\n\s+User Notice:\n\s+Explicit Text: Für interne Dienste – not for the public\n/,
    );
    expect(text).toMatch(/Policy: 2\.23\.140\.1\.2\.1\n/);
    const info = certtoolInfo(pem);
    expect(info).toContain('Certificate Policies (not critical):');
    expect(info).toMatch(/1\.3\.6\.1\.4\.1\.32473\.1\.2\.4\n\s+URI: https:\/\/pki\.example\.com\/cps/);
    expect(info).toMatch(/1\.3\.6\.1\.4\.1\.32473\.1\.2\.5\n\s+Note: Für interne Dienste – not for the public/);
    expect(info).toMatch(/Key Purpose \(not critical\):\n\s+TLS WWW Server\.\n\s+1\.3\.6\.1\.4\.1\.32473\.9\.1\n/);
    expect(info).toMatch(/2\.23\.140\.1\.2\.1 \(CA\/B Domain Validated\)/);
    // the chain still verifies for TLS servers (openssl, certtool)
    const v = opensslVerify({ leafPem: pem, chainPems: [sub.pem], rootPem: root.pem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    const c = certtoolVerify({ leafPem: pem, chainPems: [sub.pem], rootPem: root.pem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);

    const ext = readCertificate(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64')).extensions;
    const policies = ext.find((e) => e.oid === '2.5.29.32')!;
    expect(policies.critical).toBe(false);
    expect(extensionByOid('2.5.29.32')!.decode(policies.value)).toEqual(POLICIES);
    const peculiar = AsnConvert.parse(policies.value, CertificatePolicies);
    expect(peculiar.map((p) => p.policyIdentifier)).toEqual(POLICIES.map((p) => p.oid));
    // what the parser gives the certificate's detail (cert show, REST, the console): as openssl read it above
    const parsed = parseCertificate(pem);
    expect(parsed.certificatePolicies).toEqual(POLICIES);
    expect(parsed.extKeyUsage).toEqual(['serverAuth', '1.3.6.1.4.1.32473.9.1', '1.3.6.1.4.1.311.10.3.12']);
    expect(certificatePurposes(pem)).toEqual({
      extKeyUsage: parsed.extKeyUsage,
      certificatePolicies: parsed.certificatePolicies,
    });
    const eku = ext.find((e) => e.oid === '2.5.29.37')!;
    expect(extensionByOid('2.5.29.37')!.decode(eku.value)).toEqual([
      'serverAuth',
      '1.3.6.1.4.1.32473.9.1',
      '1.3.6.1.4.1.311.10.3.12',
    ]);
  });

  it('a profile without them carries no certificatePolicies and its EKU as before', async () => {
    const pem = await issueLeaf(BUILT_IN_PROFILES['tls-server']);
    const text = opensslText(pem);
    expect(text).not.toContain('Certificate Policies');
    expect(certificatePurposes(pem)).toEqual({ extKeyUsage: ['serverAuth'], certificatePolicies: [] });
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
  });

  it('anyPolicy: on a CA certificate (openssl "X509v3 Any Policy"), refused in a leaf profile', async () => {
    const caProfile = await parseProfile({
      ...BUILT_IN_PROFILES['intermediate-ca'],
      name: 'intermediate-any-policy',
      certificatePolicies: [{ oid: '2.5.29.32.0' }],
    });
    const ca = await makeIntermediate(root, makeTestKey('ec-p256'), now, { profile: caProfile });
    expect(opensslText(ca.pem)).toMatch(/X509v3 Certificate Policies: \n\s+Policy: X509v3 Any Policy\n/);
    await expect(
      parseProfile({
        ...BUILT_IN_PROFILES['tls-server'],
        name: 'leaf-any',
        certificatePolicies: [{ oid: '2.5.29.32.0' }],
      }),
    ).rejects.toThrow(/anyPolicy \(2\.5\.29\.32\.0\) belongs in CA certificates only/);
  });

  it('refuses malformed OIDs, duplicates, a CPS that is not http(s), a long notice (profile.invalid)', async () => {
    const base = { ...BUILT_IN_PROFILES['tls-server'], name: 'bad-oids' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ extKeyUsageOids: ['1.3.6.x'] }, /extended key usage '1\.3\.6\.x' is not a dotted OID/],
      [{ extKeyUsageOids: ['3.1.2'] }, /'3\.1\.2' is not a dotted OID/],
      [{ extKeyUsageOids: ['1.40.2'] }, /'1\.40\.2' is not a dotted OID/],
      [{ extKeyUsageOids: ['1.3.06.1'] }, /'1\.3\.06\.1' is not a dotted OID/],
      [{ extKeyUsageOids: ['1.3.6.1.5.5.7.3.1'] }, /extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.1 appears twice/],
      [{ certificatePolicies: [{ oid: '1.2.3' }, { oid: '1.2.3' }] }, /certificate policy 1\.2\.3 appears twice/],
      [{ certificatePolicies: [{ oid: '1' }] }, /certificate policy '1' is not a dotted OID/],
      [{ certificatePolicies: [{ oid: '1.2.3', cps: 'ftp://x.example' }] }, /must be an http\(s\) URI/],
      [{ certificatePolicies: [{ oid: '1.2.3', notice: 'x'.repeat(201) }] }, /must be 1–200 characters/],
      [{ certificatePolicies: [{ oid: '1.2.3', url: 'https://x' }] }, /Unrecognized key/i],
    ];
    for (const [over, message] of cases) {
      await expect(parseProfile({ ...base, ...over }), JSON.stringify(over)).rejects.toThrow(
        expect.objectContaining({ code: 'profile.invalid', message: expect.stringMatching(message) }),
      );
    }
    // 200 characters of notice and the longest arcs are fine
    const ok = await parseProfile({
      ...base,
      extKeyUsageOids: ['2.999.18446744073709551616'],
      certificatePolicies: [{ oid: '1.2.3', notice: 'x'.repeat(200) }],
    });
    expect(ok.certificatePolicies).toHaveLength(1);
  });

  it('the linter refuses the same on a plan whose profile skipped the schema (lint.policy_invalid)', async () => {
    const profile: Profile = {
      ...BUILT_IN_PROFILES['tls-server'],
      certificatePolicies: [{ oid: '2.5.29.32.0' }],
      extKeyUsageOids: ['not-an-oid'],
    };
    const findings = lintCertificate(
      planCertificate(leafInput(sub, makeTestKey('ec-p256').publicKey, now, { profile })),
      {
        now,
      },
    );
    expect(findings.filter((f) => f.code === 'lint.policy_invalid').map((f) => f.message)).toEqual([
      "extended key usage 'not-an-oid' is not a dotted OID",
      'anyPolicy (2.5.29.32.0) belongs in CA certificates only',
    ]);
    await expect(issueLeaf(profile)).rejects.toThrow(expect.objectContaining({ code: 'lint.policy_invalid' }));
  });
});
