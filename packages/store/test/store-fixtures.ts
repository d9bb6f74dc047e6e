// Row builders for the store tests (not a test file itself).
import { randomBytes } from 'node:crypto';
import type { ApiTokenRow, CaRow, CertificateRequestRow, CertificateRow, NewAuditEvent, UserRow } from '../src/types';
import { pemFingerprintSha256 } from '../src/copy-store';
import { activeRootCaRow, randomCertificatePem } from '../src/example-rows';

export const T0 = Date.UTC(2030, 0, 1);
export const DAY = 86_400_000;

let counter = 0;
const uniq = () => `${(++counter).toString(36)}${randomBytes(4).toString('hex')}`;

/** A PEM-armoured blob of random "DER" bytes: the store only needs PEM → DER → SHA-256 to agree. */
export const fakePem = (): string => randomCertificatePem(300);

export function makeCa(patch: Partial<CaRow> = {}): CaRow {
  const id = patch.id ?? `ca_${uniq()}`;
  return { ...activeRootCaRow(id, `CA ${id}`, fakePem(), T0), ...patch };
}

export function makeCert(caId: string, patch: Partial<CertificateRow> = {}): CertificateRow {
  const pem = patch.certificatePem ?? fakePem();
  const id = patch.id ?? `crt_${uniq()}`;
  return {
    id,
    caId,
    serialHex: randomBytes(20).toString('hex'),
    subjectDn: `CN=${id}.example.com`,
    commonName: `${id}.example.com`,
    sans: { dns: [`${id}.example.com`], ip: ['192.0.2.1'] },
    profile: 'tls-server',
    keyType: 'ec-p256',
    notBefore: T0,
    notAfter: T0 + 90 * DAY,
    status: 'active',
    revokedAt: null,
    revocationReason: null,
    fingerprintSha256: pemFingerprintSha256(pem),
    certificatePem: pem,
    requestId: null,
    issuedBy: 'usr_admin',
    createdAt: T0,
    renewedFrom: null,
    provisioner: null,
    ...patch,
  };
}

export function makeRequest(caId: string, patch: Partial<CertificateRequestRow> = {}): CertificateRequestRow {
  return {
    id: `req_${uniq()}`,
    caId,
    csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n',
    subjectDn: 'CN=req.example.com',
    sans: { dns: ['req.example.com'] },
    profile: 'tls-server',
    validityMs: 30 * DAY,
    status: 'pending',
    requester: 'usr_requester',
    reviewer: null,
    reason: null,
    certificateId: null,
    certificateNotAfter: null,
    createdAt: T0,
    reviewedAt: null,
    updatedAt: T0,
    ...patch,
  };
}

export function makeUser(patch: Partial<UserRow> = {}): UserRow {
  const id = patch.id ?? `usr_${uniq()}`;
  return {
    id,
    username: `user-${id}`,
    passwordHash: '$argon2id$fake',
    role: 'operator',
    disabled: false,
    failedLogins: 0,
    lockedUntil: null,
    mustChangePassword: true,
    resources: null,
    createdAt: T0,
    updatedAt: T0,
    ...patch,
  };
}

export function makeToken(patch: Partial<ApiTokenRow> = {}): ApiTokenRow {
  const id = patch.id ?? `tok_${uniq()}`;
  return {
    id,
    name: `token-${id}`,
    tokenHash: randomBytes(32).toString('hex'),
    userId: null,
    role: 'auditor',
    scopes: [],
    resources: null,
    expiresAt: null,
    lastUsedAt: null,
    revokedAt: null,
    createdAt: T0,
    ...patch,
  };
}

export function makeEvent(patch: Partial<NewAuditEvent> = {}): NewAuditEvent {
  return {
    id: `evt_${uniq()}`,
    time: T0,
    actor: 'usr_admin',
    action: 'certificate.issued',
    target: null,
    outcome: 'success',
    details: { note: 'test', nested: { b: 2, a: [1, 'x', null] } },
    ...patch,
  };
}
