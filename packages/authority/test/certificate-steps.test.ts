// The certificate steps of the signing pipeline (issue #10 items 1 and 8): lint runs once, at signing, BEFORE the
// CA key is asked for a signature — a plan the linter refuses throws its finding and the key never signs. Positive
// control: a clean plan (a root, then a leaf under it) is signed, and openssl verifies the chain.
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_PROFILES,
  generateSerial,
  parseDn,
  toPem,
  type CertificatePlanInput,
  type IssuerInfo,
} from '@pkim/core';
import { PkiError } from '@pkim/shared';
import { signCertificatePlan, type CertificateSigner } from '../src/signing/certificate-steps';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';

const DAY = 86_400_000;
const NOW = Date.now();

function ecKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })), privateKey };
}

/** a CA key as the pipeline hands it over, counting the signatures it was asked for */
function countingSigner(key: { spki: Uint8Array; privateKey: KeyObject }) {
  const calls: Uint8Array[] = [];
  const signer: CertificateSigner = {
    publicKey: key.spki,
    sign(tbs) {
      calls.push(tbs);
      return new Uint8Array(cryptoSign('sha256', tbs, { key: key.privateKey, dsaEncoding: 'der' }));
    },
  };
  return { signer, calls };
}

describe('signCertificatePlan: lint at signing, before the key signs', () => {
  const caKey = ecKey();
  const rootInput: CertificatePlanInput = {
    profile: BUILT_IN_PROFILES['root-ca'],
    subject: parseDn('CN=Steps Root,O=Tests'),
    publicKey: caKey.spki,
    selfSignedKeyType: 'ec-p256',
    serial: generateSerial(),
    notBefore: NOW - 60_000,
    notAfter: NOW + 30 * DAY,
  };
  const leafInput = (issuer: IssuerInfo, over: Partial<CertificatePlanInput> = {}): CertificatePlanInput => ({
    profile: BUILT_IN_PROFILES['tls-server'],
    subject: parseDn('CN=steps.example.com'),
    sans: { dns: ['steps.example.com'] },
    publicKey: ecKey().spki,
    issuer,
    serial: generateSerial(),
    notBefore: NOW - 60_000,
    notAfter: NOW + 10 * DAY,
    ...over,
  });

  async function signedRoot() {
    const { signer, calls } = countingSigner(caKey);
    const root = await signCertificatePlan(rootInput, NOW, signer, 'the root');
    expect(calls).toHaveLength(1);
    return {
      der: root.der,
      pem: toPem(root.der, 'CERTIFICATE'),
      issuer: { certificateDer: root.der, keyType: 'ec-p256' as const },
    };
  }

  it('positive control: a clean root and leaf are signed once each, and openssl verifies them', async () => {
    const root = await signedRoot();
    const { signer, calls } = countingSigner(caKey);
    const leaf = await signCertificatePlan(leafInput(root.issuer), NOW, signer, 'the leaf');
    expect(calls).toHaveLength(1);
    const leafPem = toPem(leaf.der, 'CERTIFICATE');
    const v = opensslVerify({ leafPem, rootPem: root.pem, purpose: 'sslserver', hostname: 'steps.example.com' });
    expect(v.ok, v.output).toBe(true);
    expect(opensslText(leafPem)).toContain('DNS:steps.example.com');
  });

  const refused: [string, (issuer: IssuerInfo) => CertificatePlanInput, string][] = [
    [
      'a validity longer than the CA certificate',
      (issuer) => leafInput(issuer, { notAfter: NOW + 60 * DAY }),
      'lint.lifetime_beyond_issuer',
    ],
    [
      'a TLS server certificate without a DNS/IP/URI SAN',
      (issuer) => leafInput(issuer, { sans: { email: ['ops@example.com'] } }),
      'lint.tls_without_san',
    ],
    [
      'a lifetime beyond the profile maximum (398 days)',
      (issuer) => leafInput(issuer, { notAfter: NOW + 400 * DAY }),
      'policy.lifetime_exceeded',
    ],
  ];
  for (const [what, input, code] of refused) {
    it(`${what}: throws ${code} and never calls sign`, async () => {
      const root = await signedRoot();
      const { signer, calls } = countingSigner(caKey);
      const err = await signCertificatePlan(input(root.issuer), NOW, signer, 'the leaf').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PkiError);
      const findings = ((err as PkiError).details as { findings: { code: string }[] }).findings.map((f) => f.code);
      expect(findings).toContain(code);
      expect(calls).toHaveLength(0);
    });
  }

  it('lint runs at `now`, not at notBefore: an issuer already expired at signing time is refused', async () => {
    const root = await signedRoot();
    const { signer, calls } = countingSigner(caKey);
    const later = NOW + 31 * DAY;
    await expect(signCertificatePlan(leafInput(root.issuer), later, signer, 'the leaf')).rejects.toMatchObject({
      code: 'lint.invalid_validity',
    });
    expect(calls).toHaveLength(0);
  });

  // the result check verifies the signature over the TBS bytes just encoded with the CA's public key, on both paths
  // (in a worker thread: verifyInThread; on the main thread: libuv's pool): a signature that does not verify is
  // refused with certificate.verify_failed, never returned
  for (const verifyInThread of [true, false]) {
    const path = verifyInThread ? 'in thread' : 'on the thread pool';
    it(`refuses a signature by another key, or over other bytes (${path}): certificate.verify_failed`, async () => {
      const root = await signedRoot();
      const other = ecKey();
      const wrongKey: CertificateSigner = {
        publicKey: caKey.spki,
        verifyInThread,
        sign: (tbs) => new Uint8Array(cryptoSign('sha256', tbs, other.privateKey)),
      };
      const otherBytes: CertificateSigner = {
        publicKey: caKey.spki,
        verifyInThread,
        sign: (tbs) => new Uint8Array(cryptoSign('sha256', Buffer.concat([tbs, Buffer.of(0)]), caKey.privateKey)),
      };
      for (const signer of [wrongKey, otherBytes]) {
        await expect(signCertificatePlan(leafInput(root.issuer), NOW, signer, 'the leaf')).rejects.toMatchObject({
          code: 'certificate.verify_failed',
          message: 'the leaf does not verify against the signing key',
        });
      }
      const good: CertificateSigner = { ...countingSigner(caKey).signer, verifyInThread };
      const leaf = await signCertificatePlan(leafInput(root.issuer), NOW, good, 'the leaf');
      const v = opensslVerify({ leafPem: toPem(leaf.der, 'CERTIFICATE'), rootPem: root.pem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    });
  }
});
