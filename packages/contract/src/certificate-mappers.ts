import { isoTime, isoTimeOrNull } from './common-mappers';
import type {
  CertificateDeletedDto,
  CertificateDetailDto,
  CertificateDto,
  CertificateRecord,
  IssuedCertificateDto,
} from './certificate-schemas';

/**
 * The contract's wire mappers for certificates: the authority's records (epoch ms, lifetimes in ms) → the DTOs of
 * ./certificate-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a
 * schema (docs/architecture.md, "packages/contract").
 */

export function toCertificateDto(c: CertificateRecord): CertificateDto {
  return {
    id: c.id,
    caId: c.caId,
    serial: c.serialHex,
    subject: c.subjectDn,
    commonName: c.commonName,
    sans: c.sans,
    profile: c.profile,
    keyType: c.keyType,
    notBefore: isoTime(c.notBefore),
    notAfter: isoTime(c.notAfter),
    status: c.status,
    revokedAt: isoTimeOrNull(c.revokedAt),
    revocationReason: c.revocationReason,
    fingerprintSha256: c.fingerprintSha256,
    requestId: c.requestId,
    issuedBy: c.issuedBy,
    createdAt: isoTime(c.createdAt),
    renewedFrom: c.renewedFrom ?? null,
  };
}

/*
 * The DTOs below add their fields to the object toCertificateDto made instead of spreading it into a new literal:
 * V8 copies a spread 18-field object into a literal with more properties on its slow path, ≈ 8 µs per answer against
 * ≈ 0.2 for the added properties, and the JSON of the copy is slower too (docs/benchmarks-record.md, issue #12 item 2).
 */
export function toCertificateDetailDto(v: {
  certificate: CertificateRecord;
  certificatePem: string;
  renewedBy?: string[];
  extKeyUsage: string[];
  certificatePolicies: CertificateDetailDto['certificatePolicies'];
}): CertificateDetailDto {
  const dto = toCertificateDto(v.certificate) as CertificateDetailDto;
  dto.certificatePem = v.certificatePem;
  dto.extKeyUsage = v.extKeyUsage;
  dto.certificatePolicies = v.certificatePolicies;
  if (v.renewedBy) dto.renewedBy = v.renewedBy;
  return dto;
}

export function toIssuedCertificateDto(v: {
  certificate: CertificateRecord;
  certificatePem: string;
  chainPem: string;
  privateKeyPem?: string;
}): IssuedCertificateDto {
  const dto = toCertificateDto(v.certificate) as IssuedCertificateDto;
  dto.certificatePem = v.certificatePem;
  dto.chainPem = v.chainPem;
  if (v.privateKeyPem !== undefined) dto.privateKeyPem = v.privateKeyPem;
  return dto;
}

/** `certificate.delete`: the record as it was when it was deleted */
export const toCertificateDeletedDto = (row: CertificateRecord): CertificateDeletedDto => ({
  deleted: toCertificateDto(row),
});
