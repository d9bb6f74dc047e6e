/**
 * Measures plan + lint + encode + assemble for a P-256 tls-server leaf (no signing: the signature
 * is a fixed placeholder, since signing belongs to the key backend). Run:
 *   npx tsx packages/core/bench/encode-bench.ts
 */
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import {
  assembleCertificate,
  BUILT_IN_PROFILES,
  encodeTbsCertificate,
  generateKeyPair,
  generateSerial,
  issueCertificate,
  lintCertificate,
  planCertificate,
  assertLintClean,
} from '../src/index';

async function main(): Promise<void> {
  const now = Date.UTC(2030, 0, 1);
  const day = 86_400_000;
  const caKey = generateKeyPair('ec-p256');
  const caPriv = createPrivateKey(caKey.privateKeyPem);
  const sign = (d: Uint8Array): Uint8Array => new Uint8Array(nodeSign('sha256', d, caPriv));
  const rootPlan = planCertificate({
    profile: BUILT_IN_PROFILES['root-ca'],
    subject: [{ type: 'CN', value: 'Bench Root' }],
    publicKey: caKey.publicKey,
    serial: generateSerial(),
    notBefore: now - day,
    notAfter: now + 3650 * day,
  });
  const root = await issueCertificate(rootPlan, sign, { now });
  const leafKeys = Array.from({ length: 64 }, () => generateKeyPair('ec-p256').publicKey);
  const fakeSig = new Uint8Array(72).fill(1);
  const N = 20_000;
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const plan = planCertificate({
        profile: BUILT_IN_PROFILES['tls-server'],
        subject: [{ type: 'CN', value: `host${i}.example.com` }],
        sans: { dns: [`host${i}.example.com`] },
        publicKey: leafKeys[i & 63]!, // 64 keys
        issuer: { certificateDer: root, keyType: 'ec-p256' },
        serial: generateSerial(),
        notBefore: now,
        notAfter: now + 90 * day,
        ocspUrls: ['http://ocsp.example.com'],
        crlDistributionPoints: ['http://crl.example.com/ca.crl'],
      });
      assertLintClean(lintCertificate(plan, { now }));
      assembleCertificate(encodeTbsCertificate(plan), plan.issuerKeyType, fakeSig);
    }
  };
  run(2000);
  const t0 = performance.now();
  run(N);
  const us = ((performance.now() - t0) * 1000) / N;
  console.log(
    `plan+lint+encode+assemble (P-256 tls-server leaf): ${us.toFixed(1)} µs/cert ` +
      `(${Math.round(1e6 / us)} certs/s, one core, excluding signature)`,
  );
}
void main();
