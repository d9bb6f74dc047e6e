import { z } from 'zod';
import {
  keyTypeInputSchema,
  caRefSchema,
  certificateRefSchema,
  certificateStatusSchema,
  csrPemSchema,
  keyTypeSchema,
  pageSchema,
  paginationInputSchema,
  profileNameSchema,
  revocationReasonSchema,
  storedRevocationReasonSchema,
  sansSchema,
  sansOutputSchema,
  subjectSchema,
  timestampSchema,
  validityDaysSchema,
  durationSchema,
} from './common-schemas';

export const certificateSchema = z.object({
  id: z.string(),
  caId: z.string(),
  serialHex: z.string(),
  subjectDn: z.string(),
  commonName: z.string().nullable(),
  sans: sansOutputSchema,
  profile: z.string(),
  keyType: keyTypeSchema,
  notBefore: timestampSchema,
  notAfter: timestampSchema,
  status: certificateStatusSchema,
  revokedAt: timestampSchema.nullable(),
  revocationReason: storedRevocationReasonSchema.nullable(),
  fingerprintSha256: z.string(),
  requestId: z.string().nullable(),
  issuedBy: z.string(),
  createdAt: timestampSchema,
});
export type CertificateDto = z.infer<typeof certificateSchema>;

export const certificateDetailSchema = z.object({ certificate: certificateSchema, certificatePem: z.string() });
export const certificatePageSchema = pageSchema(certificateSchema);

export const certificateListInputSchema = paginationInputSchema
  .extend({
    caId: caRefSchema.optional(),
    status: certificateStatusSchema.optional(),
    profile: profileNameSchema.optional(),
    /** active certificates expiring within this many days */
    expiringWithinDays: z.number().int().min(0).max(36_500).optional(),
    search: z.string().trim().max(128).optional(),
    /** newest first (default), or by expiry */
    sort: z.enum(['issued_desc', 'expiry_asc', 'expiry_desc']).optional(),
  })
  .strict();

export const certificateGetInputSchema = z.object({ ref: certificateRefSchema }).strict();

export const certificateIssueInputSchema = z
  .object({
    caId: caRefSchema,
    csrPem: csrPemSchema,
    profile: profileNameSchema,
    validityDays: validityDaysSchema.optional(),
    sans: sansSchema.optional(),
    subject: subjectSchema.optional(),
  })
  .strict();

export const certificateIssueWithKeyInputSchema = z
  .object({
    caId: caRefSchema,
    profile: profileNameSchema,
    subject: subjectSchema,
    sans: sansSchema.optional(),
    keyType: keyTypeInputSchema,
    validityDays: validityDaysSchema.optional(),
  })
  .strict();

export const issuedCertificateSchema = z.object({
  certificate: certificateSchema,
  certificatePem: z.string(),
  chainPem: z.string(),
  privateKeyPem: z.string().optional(),
});

export const certificateRevokeInputSchema = z
  .object({
    ref: certificateRefSchema,
    reason: revocationReasonSchema.default('unspecified'),
  })
  .strict();

export const certificateExpiringInputSchema = z
  .object({
    withinDays: z.number().int().min(0).max(3650).default(30),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** REST `POST /api/v1/cas/:id/sign` */
export const restSignInputSchema = z
  .object({
    csr: csrPemSchema,
    profile: profileNameSchema.default('tls-server'),
    ttl: durationSchema.optional(),
  })
  .strict();
export const restSignOutputSchema = z.object({
  certificate: z.string(),
  chain: z.string(),
  serial: z.string(),
  id: z.string(),
});
export const restRevokeInputSchema = z.object({ reason: revocationReasonSchema.default('unspecified') }).strict();
