import { z } from 'zod';
import {
  caRefSchema,
  csrPemSchema,
  idSchema,
  pageSchema,
  paginationInputSchema,
  profileNameSchema,
  requestStatusSchema,
  sansOutputSchema,
  textField,
  timestampSchema,
  validityDaysSchema,
} from './common-schemas';
import { issuedCertificateSchema } from './certificate-schemas';

export const requestSchema = z.object({
  id: z.string(),
  caId: z.string(),
  csrPem: z.string(),
  subjectDn: z.string(),
  sans: sansOutputSchema,
  profile: z.string(),
  validityMs: z.number().int().nullable(),
  status: requestStatusSchema,
  requester: z.string(),
  reviewer: z.string().nullable(),
  reason: z.string().nullable(),
  certificateId: z.string().nullable(),
  createdAt: timestampSchema,
  reviewedAt: timestampSchema.nullable(),
  updatedAt: timestampSchema,
});
export const requestPageSchema = pageSchema(requestSchema);

export const requestSubmitInputSchema = z
  .object({
    caId: caRefSchema,
    csrPem: csrPemSchema,
    profile: profileNameSchema,
    validityDays: validityDaysSchema.optional(),
  })
  .strict();
export const requestListInputSchema = paginationInputSchema
  .extend({
    status: requestStatusSchema.optional(),
    caId: caRefSchema.optional(),
  })
  .strict();
export const requestIdInputSchema = z.object({ id: idSchema }).strict();
export const requestRejectInputSchema = z.object({ id: idSchema, reason: textField(1000) }).strict();
export const requestApproveOutputSchema = z.object({ request: requestSchema, issued: issuedCertificateSchema });
