import type { z } from 'zod';
import { toCertificateDto } from './certificate-mappers';
import type { CertificateRecord } from './certificate-schemas';
import type { certificateRenewalSchema } from './lifecycle-schemas';

/**
 * The contract's wire mappers for renewals: the authority's records (epoch ms, lifetimes in ms) → the DTOs of
 * ./lifecycle-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a schema
 * (docs/architecture.md, "packages/contract").
 */

/** a renewal on the wire (the old certificate as the renewal left it: revoked as superseded when asked) */
export function toRenewalDto(r: {
  issued: { certificate: CertificateRecord; certificatePem: string; chainPem: string; privateKeyPem?: string };
  previous: CertificateRecord;
  previousRevoked: boolean;
}): z.infer<typeof certificateRenewalSchema> {
  const previous: CertificateRecord = r.previousRevoked
    ? { ...r.previous, status: 'revoked', revokedAt: r.issued.certificate.createdAt, revocationReason: 'superseded' }
    : r.previous;
  return {
    certificate: toCertificateDto(r.issued.certificate),
    previous: toCertificateDto(previous),
    previousRevoked: r.previousRevoked,
    certificatePem: r.issued.certificatePem,
    chainPem: r.issued.chainPem,
    ...(r.issued.privateKeyPem ? { privateKeyPem: r.issued.privateKeyPem } : {}),
  };
}
