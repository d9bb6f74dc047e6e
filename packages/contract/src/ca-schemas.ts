import { z } from 'zod';
import {
  caKeyTypeSchema,
  caRefSchema,
  caStatusSchema,
  keyBackendSchema,
  keyTypeSchema,
  nameConstraintsSchema,
  revocationReasonSchema,
  storedRevocationReasonSchema,
  subjectSchema,
  textField,
  timestampSchema,
  validityDaysSchema,
  idSchema,
} from './common-schemas';

export const caCreateInputSchema = z
  .object({
    name: textField(128).regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'CA names use letters, digits, space . _ -'),
    subject: subjectSchema,
    keyType: caKeyTypeSchema,
    validityDays: validityDaysSchema.optional(),
    backend: keyBackendSchema.default('software'),
    parentId: idSchema.optional(),
    pathLen: z.number().int().min(0).max(10).nullable().optional(),
    nameConstraints: nameConstraintsSchema.optional(),
    kmsCertify: z.boolean().optional(),
  })
  .strict();
export type CaCreateInput = z.input<typeof caCreateInputSchema>;

export const caSchema = z.object({
  id: z.string(),
  name: z.string(),
  parentId: z.string().nullable(),
  subjectDn: z.string(),
  issuerDn: z.string(),
  serialHex: z.string().nullable(),
  notBefore: timestampSchema.nullable(),
  notAfter: timestampSchema.nullable(),
  keyUri: z.string(),
  keyType: keyTypeSchema,
  keyBackend: z.string(),
  status: caStatusSchema,
  pathLen: z.number().int().nullable(),
  nameConstraints: nameConstraintsSchema.nullable(),
  skiHex: z.string().nullable(),
  fingerprintSha256: z.string().nullable(),
  crlNumber: z.number().int(),
  revokedAt: timestampSchema.nullable(),
  revocationReason: storedRevocationReasonSchema.nullable(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type CaDto = z.infer<typeof caSchema>;

/** ca.create / ca.get: metadata + PEM */
export const caViewSchema = caSchema.extend({
  certificatePem: z.string().nullable(),
  chainPem: z.string(),
});

export const caGetInputSchema = z.object({ ref: caRefSchema }).strict();
export const caSetStatusInputSchema = z.object({ id: idSchema, status: z.enum(['active', 'disabled']) }).strict();
export const caRevokeInputSchema = z
  .object({ id: idSchema, reason: revocationReasonSchema.default('unspecified') })
  .strict();
export const caRevokeOutputSchema = z.object({
  ca: caSchema,
  revokedCertificates: z.number().int(),
  revokedCas: z.number().int(),
});
export const caDeleteInputSchema = z.object({ id: idSchema, destroyKey: z.boolean().default(false) }).strict();
export const caExportChainOutputSchema = z.object({ id: z.string(), chainPem: z.string() });
