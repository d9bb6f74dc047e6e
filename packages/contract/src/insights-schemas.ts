import { z } from 'zod';
import { auditEventSchema } from './audit-schemas';
import {
  caStatusSchema,
  certificateStatusSchema,
  pageSchema,
  paginationInputSchema,
  rfc3339Schema,
} from './common-schemas';
import { certificateSchema } from './certificate-schemas';
import { healthSchema } from './system-schemas';

/** Console read models (dashboard, expiry timeline, global search, domains view, decoders). */

const count = z.number().int().min(0);

export const dashboardWarningSchema = z.object({
  level: z.enum(['info', 'warning', 'critical']),
  code: z.string(),
  message: z.string(),
  /** the CA, certificate or key backend the warning is about */
  target: z.string().nullable(),
});

export const dashboardSchema = z.object({
  generatedAt: rfc3339Schema,
  cas: z.object({ total: count, byStatus: z.record(caStatusSchema, count) }),
  certificates: z.record(certificateStatusSchema, count),
  expiring: z.object({ within7d: count, within30d: count, within90d: count }),
  pendingRequests: count,
  expiringSoon: z.array(certificateSchema),
  recentAudit: z.array(auditEventSchema),
  health: healthSchema,
  warnings: z.array(dashboardWarningSchema),
});
export type DashboardDto = z.infer<typeof dashboardSchema>;

export const expiryTimelineInputSchema = z
  .object({
    days: z.number().int().min(1).max(730).default(90),
    bucketDays: z.number().int().min(1).max(90).default(1),
  })
  .strict();
export const expiryTimelineSchema = z.object({
  from: rfc3339Schema,
  to: rfc3339Schema,
  /** the width of a bucket, a duration (`1d`, `7d`) */
  bucket: z.string(),
  /** every bucket from `from` to `to`, zeros included */
  buckets: z.array(z.object({ start: rfc3339Schema, count })),
  total: count,
});

export const globalSearchInputSchema = z
  .object({ q: z.string().trim().min(1).max(128), limit: z.number().int().min(1).max(50).default(10) })
  .strict();
export const globalSearchSchema = z.object({
  cas: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      subject: z.string(),
      status: caStatusSchema,
      match: z.string(),
    }),
  ),
  certificates: z.array(certificateSchema.extend({ match: z.string() })),
});

export const domainsInputSchema = paginationInputSchema
  .extend({ search: z.string().trim().max(253).optional() })
  .strict();
export const nameCoverageSchema = z.object({
  name: z.string(),
  certificates: count,
  firstNotAfter: rfc3339Schema,
  lastNotAfter: rfc3339Schema,
});
export const domainsPageSchema = pageSchema(nameCoverageSchema);

export const decodeInputSchema = z.object({ pem: z.string().trim().min(1).max(65_536) }).strict();
const decodedSansSchema = z.object({
  dns: z.array(z.string()),
  ip: z.array(z.string()),
  uri: z.array(z.string()),
  email: z.array(z.string()),
});
export const decodedCsrSchema = z.object({
  subjectDn: z.string(),
  keyType: z.string(),
  sans: decodedSansSchema,
  publicKeySha256: z.string(),
});
export const decodedCertificateSchema = z.object({
  serialHex: z.string(),
  subjectDn: z.string(),
  issuerDn: z.string(),
  notBefore: rfc3339Schema,
  notAfter: rfc3339Schema,
  keyType: z.string(),
  sans: decodedSansSchema,
  isCa: z.boolean(),
  pathLen: z.number().int().nullable(),
  keyUsage: z.array(z.string()),
  /** known purposes by name (`serverAuth`, …), others as dotted OIDs */
  extKeyUsage: z.array(z.string()),
  /** each policy OID with its optional CPS URI and user notice (empty: no certificatePolicies extension) */
  certificatePolicies: z.array(
    z.object({ oid: z.string(), cps: z.string().optional(), notice: z.string().optional() }),
  ),
  subjectKeyIdentifierHex: z.string().nullable(),
  authorityKeyIdentifierHex: z.string().nullable(),
  fingerprintSha256: z.string(),
  signatureAlgorithmOid: z.string(),
  nameConstraints: z.unknown().nullable(),
  /** the relying-party URLs it carries: cRLDistributionPoints, authorityInfoAccess OCSP and caIssuers (empty: none) */
  crlDistributionPoints: z.array(z.string()),
  ocspUrls: z.array(z.string()),
  caIssuersUrls: z.array(z.string()),
});

/** where a profile comes from: the built-ins, the profiles file (read-only), the API (`profiles.create`) */
export const profileSourceSchema = z.enum(['built-in', 'file', 'api']);
export type ProfileSourceDto = z.infer<typeof profileSourceSchema>;

export const profileSummarySchema = z.object({
  name: z.string(),
  source: profileSourceSchema,
  description: z.string().nullable(),
  isCa: z.boolean(),
  allowedSanTypes: z.array(z.string()),
  sanRequired: z.boolean(),
  /** SAN types of which at least one entry must be present (empty: none demanded) */
  requiredSanTypes: z.array(z.string()),
  /** allowed URI SAN schemes, lowercase without colon (null: any absolute URI) */
  allowedUriSchemes: z.array(z.string()).nullable(),
  /** SAN limits: URI SANs, SANs of all types, UTF-8 bytes of all SAN values (null: none set — the defaults apply) */
  maxUriSans: z.number().int().nullable(),
  maxSans: z.number().int().nullable(),
  maxSanBytes: z.number().int().nullable(),
  /** the SAN limits in effect: maxSans / maxSanBytes, or core's defaults when none is set (docs/profiles.md) */
  effectiveMaxSans: z.number().int(),
  effectiveMaxSanBytes: z.number().int(),
  allowedKeyTypes: z.array(z.string()),
  /** lifetimes as durations in the largest exact unit (`90d`, `36h`), like a request's `ttl` */
  defaultLifetime: z.string(),
  maxLifetime: z.string(),
  /** what the certificates carry: key usage (plus `rsaKeyUsage` for an RSA key), extended key usage */
  keyUsage: z.array(z.string()),
  rsaKeyUsage: z.array(z.string()),
  extKeyUsage: z.array(z.string()),
  /** further extended key usages by dotted OID, after the named ones */
  extKeyUsageOids: z.array(z.string()),
  /** the certificatePolicies extension: each policy OID with its optional CPS URI and user notice */
  certificatePolicies: z.array(
    z.object({ oid: z.string(), cps: z.string().optional(), notice: z.string().optional() }),
  ),
  /** CA profiles: the default path length of a new CA (null: unlimited, or none set — then 0 below a parent) */
  pathLen: z.number().int().nullable(),
  /** optional extensions (`ocspNoCheck`, `ctPoison`) */
  extensions: z.array(z.string()),
  /** a renewal may keep the old key */
  allowKeyReuse: z.boolean(),
  /**
   * what is wrong with the profile though it is in effect: each key usage a key type it allows cannot carry (a
   * profile of the profiles file, or stored before such profiles were refused) — every issuance for that key type
   * fails `lint.key_usage_key_type_mismatch`. Empty for a sound profile.
   */
  warnings: z.array(z.string()),
});
export type ProfileSummaryDto = z.infer<typeof profileSummarySchema>;
/** a profile by name (`GET/PUT/DELETE /api/v1/profiles/:name`) */
export const profileNameInputSchema = z.object({ name: z.string().min(1).max(63) });
/**
 * A custom profile's fields as in the profiles file (docs/profiles.md "Fields"; lifetimes as `defaultLifetime:
 * "90d"` or `defaultLifetimeMs`): checked by the authority with core's profile schema — a bad field is
 * `profile.invalid`, each problem in `details.issues` (`path`, `message`). Update: the path names the profile.
 */
export const profileInputSchema = z
  .object({
    name: z.string().min(1).max(63),
    description: z.string().optional(),
    isCa: z.boolean().optional(),
    keyUsage: z.array(z.string()).optional(),
    extKeyUsage: z.array(z.string()).optional(),
    extKeyUsageOids: z.array(z.string()).optional(),
    allowedSanTypes: z.array(z.string()).optional(),
    sanRequired: z.boolean().optional(),
    allowedKeyTypes: z.array(z.string()).optional(),
    defaultLifetime: z.string().optional(),
    maxLifetime: z.string().optional(),
  })
  .catchall(z.unknown());
/** `profiles.update`: the profile named by `profile` (the path's `:name`) gets the fields; `name`, if given, equal */
export const profileUpdateInputSchema = profileInputSchema.extend({
  profile: z.string().min(1).max(63),
  name: z.string().min(1).max(63).optional(),
});
export const profileSummaryPageSchema = pageSchema(profileSummarySchema);
/** The authority's profile (lifetimes in ms) — what {@link toProfileSummaryDto} maps from. */
export interface ProfileRecord {
  name: string;
  description?: string;
  isCa: boolean;
  allowedSanTypes: readonly string[];
  sanRequired: boolean;
  requiredSanTypes?: readonly string[];
  allowedUriSchemes?: readonly string[];
  maxUriSans?: number;
  maxSans?: number;
  maxSanBytes?: number;
  allowedKeyTypes: readonly string[];
  defaultLifetimeMs: number;
  maxLifetimeMs: number;
  keyUsage: readonly string[];
  rsaKeyUsage?: readonly string[];
  extKeyUsage: readonly string[];
  extKeyUsageOids?: readonly string[];
  certificatePolicies?: readonly { oid: string; cps?: string; notice?: string }[];
  pathLen?: number | null;
  extensions?: readonly string[];
  ocspNoCheck?: boolean;
  allowKeyReuse?: boolean;
}
