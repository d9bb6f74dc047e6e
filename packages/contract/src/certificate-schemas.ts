import { z } from 'zod';
import { PkiError, parseDuration } from '@pkim/shared';
import {
  durationSchema,
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
  rfc3339Schema,
  ttlSchema,
} from './common-schemas';
import { CERTIFICATE_SORTS } from './vocabulary';

/** A certificate on the wire (every transport, the CLI's `--json` included). */
export const certificateSchema = z.object({
  id: z.string(),
  caId: z.string(),
  /** lowercase hex, full length */
  serial: z.string(),
  subject: z.string(),
  commonName: z.string().nullable(),
  sans: sansOutputSchema,
  profile: z.string(),
  keyType: keyTypeSchema,
  notBefore: rfc3339Schema,
  notAfter: rfc3339Schema,
  status: certificateStatusSchema,
  revokedAt: rfc3339Schema.nullable(),
  revocationReason: storedRevocationReasonSchema.nullable(),
  fingerprintSha256: z.string(),
  requestId: z.string().nullable(),
  issuedBy: z.string(),
  createdAt: rfc3339Schema,
  /** the certificate this one renews (`pkim cert renew`) */
  renewedFrom: z.string().nullable().optional(),
});
export type CertificateDto = z.infer<typeof certificateSchema>;

/** a certificate policy as the certificate carries it: its OID with the optional CPS URI and user notice */
export const certificatePolicySchema = z.object({
  oid: z.string(),
  cps: z.string().optional(),
  notice: z.string().optional(),
});

/** one certificate: the object with its PEM beside it */
export const certificateDetailSchema = certificateSchema.extend({
  certificatePem: z.string(),
  /** from the certificate's extendedKeyUsage: known purposes by name (`serverAuth`, …), others as dotted OIDs */
  extKeyUsage: z.array(z.string()),
  /** from the certificate's certificatePolicies extension, in its order (empty: none) */
  certificatePolicies: z.array(certificatePolicySchema),
  /** the certificates that renew this one, newest first */
  renewedBy: z.array(z.string()).optional(),
});
export type CertificateDetailDto = z.infer<typeof certificateDetailSchema>;
export const certificatePageSchema = pageSchema(certificateSchema);

/** The store's certificate record (epoch ms) — what {@link toCertificateDto} maps from. */
export interface CertificateRecord {
  id: string;
  caId: string;
  serialHex: string;
  subjectDn: string;
  commonName: string | null;
  sans: CertificateDto['sans'];
  profile: string;
  keyType: CertificateDto['keyType'];
  notBefore: number;
  notAfter: number;
  status: CertificateDto['status'];
  revokedAt: number | null;
  revocationReason: CertificateDto['revocationReason'];
  fingerprintSha256: string;
  requestId: string | null;
  issuedBy: string;
  createdAt: number;
  renewedFrom?: string | null;
}

export const certificateListInputSchema = paginationInputSchema
  .extend({
    /** CA id or name */
    ca: caRefSchema.optional(),
    status: certificateStatusSchema.optional(),
    profile: profileNameSchema.optional(),
    /** active certificates expiring within this duration (`30d`, `36h`): `pkim cert list --expiring-within`'s */
    expiringWithin: durationSchema.optional(),
    /** the first version's filter, still accepted: active certificates expiring within this many days */
    expiringWithinDays: z.number().int().min(0).max(36_500).optional(),
    /** CN, subject, SAN (DNS, IP, e-mail, URI) or serial */
    search: z.string().trim().max(128).optional(),
    /**
     * newest first (default), by expiry, or `revoked_desc`: the revoked certificates only, the latest revocation first
     */
    sort: z.enum(CERTIFICATE_SORTS).optional(),
  })
  .strict();

/**
 * The certificate list's expiry window in ms: `expiringWithin` (a duration) or the first version's
 * `expiringWithinDays`; undefined: no window. Both at once: `input.invalid` (which one meant what is not guessed).
 */
export function expiringWithinMsOf(q: { expiringWithin?: string; expiringWithinDays?: number }): number | undefined {
  if (q.expiringWithin !== undefined && q.expiringWithinDays !== undefined) {
    throw new PkiError('input.invalid', 'give expiringWithin or expiringWithinDays, not both');
  }
  if (q.expiringWithin !== undefined) return parseDuration(q.expiringWithin);
  return q.expiringWithinDays === undefined ? undefined : q.expiringWithinDays * 86_400_000;
}

/**
 * `GET /api/v1/certificates/export?format=csv&…`: the filters of the certificate list (query-string values, so
 * `expiringWithinDays` is coerced from text; `expiringWithin` is a duration as the list's), no paging: the inventory
 * report has every matching certificate.
 */
export const certificateInventoryQuerySchema = certificateListInputSchema
  .omit({ limit: true, cursor: true })
  .extend({
    format: z.enum(['csv', 'json']).default('csv'),
    expiringWithinDays: z.coerce.number().int().min(0).max(36_500).optional(),
  })
  .strict();

const text = z.string().nullable();
/** one record of a JSON inventory report (the CSV has the same columns; docs/everyday.md#inventory-reports) */
export const inventoryRecordSchema = z.object({
  id: z.string(),
  serial: z.string(),
  subject: z.string(),
  common_name: text,
  sans: sansOutputSchema,
  fingerprint_sha256: z.string(),
  status: certificateStatusSchema,
  not_before: z.string(),
  not_after: z.string(),
  days_left: z.number().int(),
  ca_id: z.string(),
  ca_name: text,
  issuer: text,
  profile: z.string(),
  key_type: z.string(),
  requester: text,
  issued_by: z.string(),
  request_id: text,
  revoked_at: text,
  revocation_reason: text,
  renewed_from: text,
});

export const certificateGetInputSchema = z.object({ ref: certificateRefSchema }).strict();

export const certificateIssueInputSchema = z
  .object({
    /** CA id or name */
    ca: caRefSchema,
    csr: csrPemSchema,
    /** tls-server by default, as `request.submit`, `POST /api/v1/cas/:id/sign` and the CLI's `--profile` */
    profile: profileNameSchema.default('tls-server'),
    ttl: ttlSchema.optional(),
    sans: sansSchema.optional(),
    subject: subjectSchema.optional(),
  })
  .strict();

export const certificateIssueWithKeyInputSchema = z
  .object({
    ca: caRefSchema,
    profile: profileNameSchema.default('tls-server'),
    subject: subjectSchema,
    sans: sansSchema.optional(),
    /** default `ec-p256`, as `pkim cert issue --generate-key`, bulk rows and the console */
    keyType: keyTypeInputSchema.default('ec-p256'),
    ttl: ttlSchema.optional(),
    /** keep the key sealed on the server, for a later PKCS#12/JKS export (as renewals and bulk jobs can) */
    keepKey: z.boolean().optional(),
  })
  .strict();

/** a newly issued certificate: the object, its PEM and chain beside it (and a generated key, returned once) */
export const issuedCertificateSchema = certificateSchema.extend({
  certificatePem: z.string(),
  chainPem: z.string(),
  privateKeyPem: z.string().optional(),
});
export type IssuedCertificateDto = z.infer<typeof issuedCertificateSchema>;

export const certificateRevokeInputSchema = z
  .object({
    ref: certificateRefSchema,
    reason: revocationReasonSchema.default('unspecified'),
  })
  .strict();

/**
 * `certificate.revokePresented` (REST `POST /api/v1/certificates/revoke`, `pkim cert revoke --pem`): revoke the
 * certificate given as PEM — one stored here as by serial, one a CA here signed but never stored (a Vault `no_store`
 * role's) gets its row; `ca` (id or name) names its issuer, else the CAs whose subject is its issuer name are tried
 */
export const certificateRevokePresentedInputSchema = z
  .object({
    certificatePem: z.string().min(1).max(65_536),
    reason: revocationReasonSchema.default('unspecified'),
    ca: z.string().min(1).max(200).optional(),
  })
  .strict();

/** `certificate.delete` (REST `DELETE /api/v1/certificates/:ref`, `pkim cert delete`): an expired record goes */
export const certificateDeleteInputSchema = z.object({ ref: certificateRefSchema }).strict();
/** the record as it was when it was deleted (the audit event `certificate.deleted` keeps serial and fingerprint) */
export const certificateDeletedSchema = z.object({ deleted: certificateSchema });
export type CertificateDeletedDto = z.infer<typeof certificateDeletedSchema>;

/** active certificates whose notAfter is within `withinDays`, soonest first, keyset paged like the list */
export const certificateExpiringInputSchema = z
  .object({
    withinDays: z.number().int().min(0).max(3650).default(30),
    limit: z.number().int().min(1).max(1000).default(100),
    /** `nextCursor` of the previous page */
    cursor: z.string().max(512).nullable().optional(),
  })
  .strict();

/** REST `POST /api/v1/cas/:id/sign` (the CA comes from the path) */
export const restSignInputSchema = z
  .object({
    csr: csrPemSchema,
    profile: profileNameSchema.default('tls-server'),
    ttl: ttlSchema.optional(),
  })
  .strict();
/** the issued certificate; `certificate`/`chain` repeat the PEMs under the names of the first REST version */
export const restSignOutputSchema = issuedCertificateSchema.extend({
  certificate: z.string(),
  chain: z.string(),
});
export const restRevokeInputSchema = z.object({ reason: revocationReasonSchema.default('unspecified') }).strict();
