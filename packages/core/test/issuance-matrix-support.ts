// The profiles × key types matrix (issuance-matrix-ec.test.ts, issuance-matrix-rsa.test.ts: one file was over 60 s on
// a loaded machine): every certificate is signed by a test signer, parsed back, checked with @peculiar/asn1-x509
// (byte-identical re-encoding) and verified by `openssl verify -x509_strict` with the matching purpose; TLS profiles
// are also verified by GnuTLS certtool and Go crypto/x509.
import { beforeAll, describe, expect, it } from 'vitest';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { KEY_TYPE_INFO, type KeyType } from '@pkim/shared';
import {
  BUILT_IN_PROFILES,
  type BuiltInProfileName,
  generateSerial,
  issueCertificate,
  parseCertificate,
  planCertificate,
  toPem,
  verifyCertificateSignature,
  verifyCertificateSignatureAsync,
  type CertificatePlanInput,
  type SubjectAltNames,
} from '../src/index';
import {
  certtoolVerify,
  goVerify,
  opensslText,
  opensslVerify,
  type OpensslPurpose,
} from '../../../tests/support/verifiers';
import { PREMADE_RSA_BITS, premadeRsaKey, type PremadeRsaBits } from '../../../tests/support/premade-keys';
import { DAY, makeRoot, makeTestKey, type IssuedCa, type TestKey } from './helpers';

const now = Date.now();
const roots = new Map<KeyType, IssuedCa>();
const leafKeys = new Map<KeyType, TestKey>();

/**
 * key `n` of a key type: RSA keys pre-made (tests/support/premade-keys.ts: what is checked is what is signed with a key
 * of the type, not its generation, which took 1–5 s of CPU per RSA-4096 key), the others made here
 */
function matrixKey(kt: KeyType, n: 1 | 2): TestKey {
  const bits = KEY_TYPE_INFO[kt].bits;
  if (KEY_TYPE_INFO[kt].algorithm !== 'rsa' || !PREMADE_RSA_BITS.some((b) => b === bits)) return makeTestKey(kt);
  return makeTestKey(kt, premadeRsaKey(bits as PremadeRsaBits, n));
}

/** the roots and leaf keys of `keyTypes`, and of EC P-256 and P-384 (the wrong roots of the negative controls) */
function useRoots(keyTypes: readonly KeyType[]): void {
  beforeAll(async () => {
    for (const kt of new Set<KeyType>([...keyTypes, 'ec-p256', 'ec-p384'])) {
      if (roots.has(kt)) continue;
      roots.set(kt, await makeRoot(matrixKey(kt, 1), now));
      leafKeys.set(kt, matrixKey(kt, 2));
    }
  }, 120_000);
}

interface ProfileCase {
  profile: BuiltInProfileName;
  sans: SubjectAltNames;
  purposes: OpensslPurpose[];
  eku: string[];
  lifetime: number;
  go?: 'serverAuth' | 'clientAuth';
  dnsName?: string;
}
const PROFILE_CASES: ProfileCase[] = [
  {
    profile: 'tls-server',
    sans: { dns: ['www.example.com', 'example.com'], ip: ['192.0.2.10', '2001:db8::1'] },
    purposes: ['sslserver'],
    eku: ['serverAuth'],
    lifetime: 90 * DAY,
    go: 'serverAuth',
    dnsName: 'www.example.com',
  },
  {
    profile: 'tls-client',
    sans: { email: ['alice@example.com'] },
    purposes: ['sslclient'],
    eku: ['clientAuth'],
    lifetime: 365 * DAY,
    go: 'clientAuth',
  },
  {
    profile: 'tls-server-client',
    sans: { dns: ['svc.internal.example.com'], uri: ['https://svc.example.com/id'] },
    purposes: ['sslserver', 'sslclient'],
    eku: ['serverAuth', 'clientAuth'],
    lifetime: 90 * DAY,
    go: 'serverAuth',
    dnsName: 'svc.internal.example.com',
  },
  { profile: 'code-signing', sans: {}, purposes: ['any'], eku: ['codeSigning'], lifetime: 365 * DAY },
  {
    profile: 'email-protection',
    sans: { email: ['bob@example.com'] },
    purposes: ['smimesign'],
    eku: ['emailProtection'],
    lifetime: 365 * DAY,
  },
  { profile: 'ocsp-signing', sans: {}, purposes: ['ocsphelper'], eku: ['OCSPSigning'], lifetime: 30 * DAY },
  {
    profile: 'spiffe-svid',
    sans: { uri: ['spiffe://example.org/ns/prod/sa/web'] },
    purposes: ['sslserver', 'sslclient'],
    eku: ['serverAuth', 'clientAuth'],
    lifetime: 3_600_000,
    go: 'clientAuth',
  },
];

/** the matrix for these key types: a root, an intermediate and a leaf of each profile, per key type */
export function defineIssuanceMatrix(keyTypes: readonly KeyType[]): void {
  useRoots(keyTypes);
  describe.each([...keyTypes])('key type %s', (kt) => {
    it('issues a self-signed root CA that openssl, certtool and Go accept as a trust anchor', () => {
      const root = roots.get(kt)!;
      const info = parseCertificate(root.der);
      expect(info.isCa).toBe(true);
      expect(info.keyType).toBe(kt);
      expect(info.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
      expect(info.subjectKeyIdentifierHex).toBe(info.authorityKeyIdentifierHex);
      expect(verifyCertificateSignature(root.der, info.publicKey)).toBe(true);
      const v = opensslVerify({ leafPem: root.pem, rootPem: root.pem, purpose: 'any' });
      expect(v.ok, v.output).toBe(true);
      const ct = certtoolVerify({ leafPem: root.pem, rootPem: root.pem });
      expect(ct.ok, `certtool: ${ct.output}`).toBe(true);
      const g = goVerify({ leafPem: root.pem, rootPem: root.pem, keyUsage: 'any' });
      expect(g.ok, `go: ${g.output}`).toBe(true);
      expect(g.output).toMatch(/depth 1/);
      // positive control: none of the three takes this root as anchored by another key type's root
      const other = roots.get(kt === 'ec-p256' ? 'ec-p384' : 'ec-p256')!;
      expect(opensslVerify({ leafPem: root.pem, rootPem: other.pem, purpose: 'any' }).ok).toBe(false);
      expect(certtoolVerify({ leafPem: root.pem, rootPem: other.pem }).ok).toBe(false);
      expect(goVerify({ leafPem: root.pem, rootPem: other.pem, keyUsage: 'any' }).ok).toBe(false);
      const text = opensslText(root.pem);
      expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE\n/);
      expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    });

    it('issues an intermediate CA (pathLen 0) that verifies under its root', async () => {
      const root = roots.get(kt)!;
      const key = leafKeys.get(kt)!;
      const plan = planCertificate({
        profile: BUILT_IN_PROFILES['intermediate-ca'],
        subject: [
          { type: 'O', value: 'PKIM' },
          { type: 'CN', value: `Sub ${kt}` },
        ],
        publicKey: key.publicKey,
        issuer: { certificateDer: root.der, keyType: kt },
        serial: generateSerial(),
        notBefore: now - DAY,
        notAfter: now + 365 * DAY,
      });
      const der = await issueCertificate(plan, root.key.sign, { now });
      const pem = toPem(der, 'CERTIFICATE');
      const info = parseCertificate(der);
      expect(info.pathLen).toBe(0);
      expect(info.authorityKeyIdentifierHex).toBe(parseCertificate(root.der).subjectKeyIdentifierHex);
      for (const [name, r] of [
        ['openssl', opensslVerify({ leafPem: pem, rootPem: root.pem, purpose: 'crlsign' })],
        ['certtool', certtoolVerify({ leafPem: pem, rootPem: root.pem })],
      ] as const)
        expect(r.ok, `${name}: ${r.output}`).toBe(true);
      expect(opensslText(pem)).toMatch(/CA:TRUE, pathlen:0/);
    });

    it.each(PROFILE_CASES)('issues a $profile leaf that independent verifiers accept', async (c) => {
      const root = roots.get(kt)!;
      const key = leafKeys.get(kt)!;
      const input: CertificatePlanInput = {
        profile: BUILT_IN_PROFILES[c.profile],
        subject:
          c.profile === 'spiffe-svid'
            ? []
            : [
                { type: 'O', value: 'PKIM Test' },
                { type: 'CN', value: `${c.profile} ${kt}` },
              ],
        sans: c.sans,
        publicKey: key.publicKey,
        issuer: { certificateDer: root.der, keyType: kt },
        serial: generateSerial(),
        notBefore: now - 60_000,
        notAfter: now - 60_000 + c.lifetime,
        crlDistributionPoints: ['http://crl.example.com/root.crl'],
        ocspUrls: ['http://ocsp.example.com'],
        caIssuersUrls: ['http://ca.example.com/root.cer'],
      };
      const plan = planCertificate(input);
      const der = await issueCertificate(plan, root.key.sign, { now });
      const pem = toPem(der, 'CERTIFICATE');

      // our parser, our verifier and @peculiar/asn1-x509 agree on the structure
      const info = parseCertificate(der);
      expect(info.serialHex).toBe(Buffer.from(input.serial).toString('hex'));
      expect(info.isCa).toBe(false);
      expect(info.keyType).toBe(kt);
      expect(info.extKeyUsage).toEqual(c.eku);
      expect(info.sans).toEqual(Object.fromEntries(Object.entries(c.sans).filter(([, v]) => v.length)));
      expect(info.keyUsage).toEqual(
        kt.startsWith('rsa') && BUILT_IN_PROFILES[c.profile].rsaKeyUsage
          ? [...BUILT_IN_PROFILES[c.profile].keyUsage, 'keyEncipherment']
          : BUILT_IN_PROFILES[c.profile].keyUsage,
      );
      expect(info.notAfter - info.notBefore).toBe(c.lifetime);
      expect(verifyCertificateSignature(der, root.key.publicKey)).toBe(true);
      expect(verifyCertificateSignature(der, key.publicKey)).toBe(false);
      expect(await verifyCertificateSignatureAsync(der, root.key.publicKey)).toBe(true);
      expect(await verifyCertificateSignatureAsync(der, key.publicKey)).toBe(false);
      expect(new Uint8Array(AsnConvert.serialize(AsnConvert.parse(der, Certificate)))).toEqual(der);

      for (const purpose of c.purposes) {
        const r = opensslVerify({ leafPem: pem, rootPem: root.pem, purpose });
        expect(r.ok, `openssl ${purpose}: ${r.output}`).toBe(true);
      }
      const text = opensslText(pem);
      expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/X509v3 Key Usage: critical/);
      expect(text).toContain('URI:http://crl.example.com/root.crl');
      expect(text).toContain('OCSP - URI:http://ocsp.example.com');
      if (c.profile === 'ocsp-signing') expect(text).toContain('OCSP No Check');
      if (c.profile === 'spiffe-svid') expect(text).toMatch(/X509v3 Subject Alternative Name: critical/);

      if (c.go) {
        const ct = certtoolVerify({ leafPem: pem, rootPem: root.pem, purpose: c.go });
        expect(ct.ok, `certtool: ${ct.output}`).toBe(true);
        const g = goVerify({ leafPem: pem, rootPem: root.pem, keyUsage: c.go, dnsName: c.dnsName });
        expect(g.ok, `go: ${g.output}`).toBe(true);
      }
    });
  });
}

/** negative controls: the verifiers refuse a wrong purpose and a wrong root (needs only the EC roots) */
export function defineVerifierControls(): void {
  useRoots([]);
  describe('independent verifiers can fail', () => {
    const title = 'rejects a tls-client certificate for the sslserver purpose and a certificate under the wrong root';
    it(title, async () => {
      const root = roots.get('ec-p256')!;
      const other = roots.get('ec-p384')!;
      const key = leafKeys.get('ec-p256')!;
      const der = await issueCertificate(
        planCertificate({
          profile: BUILT_IN_PROFILES['tls-client'],
          subject: [{ type: 'CN', value: 'client' }],
          publicKey: key.publicKey,
          issuer: { certificateDer: root.der, keyType: 'ec-p256' },
          serial: generateSerial(),
          notBefore: now - 1000,
          notAfter: now + DAY,
        }),
        root.key.sign,
        { now },
      );
      const pem = toPem(der, 'CERTIFICATE');
      expect(opensslVerify({ leafPem: pem, rootPem: root.pem, purpose: 'sslclient' }).ok).toBe(true);
      expect(opensslVerify({ leafPem: pem, rootPem: root.pem, purpose: 'sslserver' }).ok).toBe(false);
      expect(opensslVerify({ leafPem: pem, rootPem: other.pem, purpose: 'sslclient' }).ok).toBe(false);
      expect(certtoolVerify({ leafPem: pem, rootPem: other.pem }).ok).toBe(false);
      expect(goVerify({ leafPem: pem, rootPem: root.pem, keyUsage: 'serverAuth' }).ok).toBe(false);
      expect(goVerify({ leafPem: pem, rootPem: root.pem, keyUsage: 'clientAuth' }).ok).toBe(true);
    });
  });
}
