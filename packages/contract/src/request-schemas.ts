import { z } from 'zod';
import {
  caRefSchema,
  csrPemSchema,
  idSchema,
  pageSchema,
  paginationInputSchema,
  profileNameSchema,
  requestStatusSchema,
  rfc3339Schema,
  sansOutputSchema,
  textField,
  ttlSchema,
} from './common-schemas';
import { issuedCertificateSchema } from './certificate-schemas';

/** A certificate request on the wire. */
export const requestSchema = z.object({
  id: z.string(),
  caId: z.string(),
  /** the PEM CSR */
  csr: z.string(),
  subject: z.string(),
  sans: sansOutputSchema,
  profile: z.string(),
  /** the requested lifetime (`90d`, `12h`), null: the profile's default */
  ttl: z.string().nullable(),
  status: requestStatusSchema,
  requester: z.string(),
  reviewer: z.string().nullable(),
  reason: z.string().nullable(),
  certificateId: z.string().nullable(),
  createdAt: rfc3339Schema,
  reviewedAt: rfc3339Schema.nullable(),
  updatedAt: rfc3339Schema,
});
export type RequestDto = z.infer<typeof requestSchema>;
export const requestPageSchema = pageSchema(requestSchema);

/** The store's request record (epoch ms) — what {@link toRequestDto} maps from. */
export interface RequestRecord {
  id: string;
  caId: string;
  csrPem: string;
  subjectDn: string;
  sans: RequestDto['sans'];
  profile: string;
  validityMs: number | null;
  status: RequestDto['status'];
  requester: string;
  reviewer: string | null;
  reason: string | null;
  certificateId: string | null;
  createdAt: number;
  reviewedAt: number | null;
  updatedAt: number;
}

/** `request.submit` / REST `POST /api/v1/requests` */
export const requestSubmitInputSchema = z
  .object({
    /** CA id or name */
    ca: caRefSchema,
    csr: csrPemSchema,
    profile: profileNameSchema.default('tls-server'),
    ttl: ttlSchema.optional(),
  })
  .strict();
export const requestListInputSchema = paginationInputSchema
  .extend({
    status: requestStatusSchema.optional(),
    /** CA id or name */
    ca: caRefSchema.optional(),
  })
  .strict();
export const requestIdInputSchema = z.object({ id: idSchema }).strict();
export const requestRejectInputSchema = z.object({ id: idSchema, reason: textField(1000) }).strict();
/** REST `POST /api/v1/requests/:id/reject` (the id comes from the path) */
export const restRejectInputSchema = z.object({ reason: textField(1000) }).strict();
/** approval: the request and the certificate it produced (object + PEM + chain) */
export const requestApproveOutputSchema = z.object({ request: requestSchema, certificate: issuedCertificateSchema });
