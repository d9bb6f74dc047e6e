/**
 * Rows that the store's tests and `npm run bench:store` both start from (not part of the package's API: imported by
 * path). The store checks none of a CA's cryptography, so the certificate is random bytes in PEM armour.
 */
import { randomBytes } from 'node:crypto';
import type { CaRow } from './types';

const DAY = 86_400_000;

/** a PEM-armoured blob of `bytes` random "DER" bytes: the store only needs PEM → DER → SHA-256 to agree */
export function randomCertificatePem(bytes: number): string {
  const b64 = randomBytes(bytes)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** an active self-signed root with a software key, valid ten years from `createdAt` */
export function activeRootCaRow(id: string, name: string, certificatePem: string, createdAt: number): CaRow {
  return {
    id,
    name,
    parentId: null,
    subjectDn: `CN=${id}`,
    issuerDn: `CN=${id}`,
    serialHex: randomBytes(20).toString('hex'),
    notBefore: createdAt,
    notAfter: createdAt + 3650 * DAY,
    keyUri: `software:key_${id}`,
    keyType: 'ec-p256',
    keyBackend: 'software',
    status: 'active',
    pathLen: null,
    nameConstraints: null,
    urls: null,
    certificatePem,
    csrPem: null,
    issuerChainPem: null,
    leafNotAfterBehavior: 'err',
    predecessorId: null,
    certificateHistory: null,
    skiHex: 'ab'.repeat(20),
    fingerprintSha256: 'cd'.repeat(32),
    crlNumber: 0,
    revokedAt: null,
    revocationReason: null,
    createdAt,
    updatedAt: createdAt,
  };
}
