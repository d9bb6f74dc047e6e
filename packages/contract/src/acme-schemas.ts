import { z } from 'zod';
import { pageSchema, rfc3339Schema } from './common-schemas';

/**
 * What the ACME administration procedures answer (docs/acme.md): directories, accounts, orders and external account
 * binding keys. Times are RFC 3339. The HMAC key of an EAB key is in `acme.createEabKey`'s answer only.
 */

export const acmeDirectorySchema = z.object({
  caId: z.string(),
  caName: z.string(),
  profile: z.string(),
  allowDns: z.array(z.string()).nullable(),
  allowIps: z.array(z.string()).nullable(),
  requireEab: z.boolean(),
  ordersPerHour: z.number().int(),
  /** certificate lifetime as a duration (`90d`; null: the profile's) */
  lifetime: z.string().nullable(),
  /** path of the directory on this server: `/acme/<caId>/directory` */
  directoryPath: z.string(),
  /**
   * the URL ACME clients are given: `directoryPath` under the server's public URL (`publicUrl`, `PKIM_PUBLIC_URL`),
   * else under the origin the API call reached the server at (its scheme and host, X-Forwarded-Proto/-Host from a
   * trusted proxy: `PKIM_TRUST_PROXY`) — where the ACME directory builds its URLs from; null only in the local CLI
   * without `publicUrl`
   */
  directoryUrl: z.string().nullable(),
  enabledAt: rfc3339Schema,
  enabledBy: z.string(),
});
export type AcmeDirectoryDto = z.infer<typeof acmeDirectorySchema>;
/**
 * the authority's directory view (lifetime in milliseconds, no URL: the public URL is the server's setting) — what
 * {@link toAcmeDirectoryDto} maps from
 */
export type AcmeDirectoryRecord = Omit<AcmeDirectoryDto, 'lifetime' | 'directoryUrl'> & { lifetimeMs: number | null };
export const acmeDirectoryPageSchema = pageSchema(acmeDirectorySchema);
export const acmeDisableResultSchema = z.object({ caId: z.string(), disabled: z.boolean() });

export const acmeAccountSchema = z.object({
  id: z.string(),
  caId: z.string(),
  /** valid | deactivated | revoked */
  status: z.string(),
  contact: z.array(z.string()),
  thumbprint: z.string(),
  eabKeyId: z.string().nullable(),
  orders: z.number().int(),
  createdAt: rfc3339Schema,
});
export const acmeAccountPageSchema = pageSchema(acmeAccountSchema);
export const acmeDeactivateResultSchema = z.object({ id: z.string(), status: z.literal('deactivated') });

/** an RFC 7807 problem as stored in an order */
const acmeProblemSchema = z.object({ type: z.string(), detail: z.string(), status: z.number().int().optional() });

export const acmeOrderSchema = z.object({
  id: z.string(),
  accountId: z.string(),
  caId: z.string(),
  /** pending | ready | processing | valid | invalid */
  status: z.string(),
  identifiers: z.array(z.object({ type: z.enum(['dns', 'ip']), value: z.string() })),
  notBefore: rfc3339Schema.nullable(),
  notAfter: rfc3339Schema.nullable(),
  expiresAt: rfc3339Schema,
  error: acmeProblemSchema.nullable(),
  /** the issued certificate (`crt_…`) once the order is valid */
  certificateId: z.string().nullable(),
  replaces: z.string().nullable(),
  createdAt: rfc3339Schema,
  updatedAt: rfc3339Schema,
});

export const acmeOrderPageSchema = pageSchema(acmeOrderSchema);
/** newest first, of one account or of every account of a directory; `cursor`: the previous page's `nextCursor` */
export const acmeOrderListInputSchema = z
  .object({
    ca: z.string().trim().min(1).max(128).optional(),
    account: z.string().trim().min(1).max(64).optional(),
    limit: z.number().int().min(1).max(500).optional(),
    cursor: z
      .string()
      .regex(/^\d{1,15}:[\w-]{1,64}$/, 'not an ACME order cursor')
      .nullable()
      .optional(),
  })
  .strict()
  .optional();

/** an EAB key as listed: never its HMAC key */
export const acmeEabKeySchema = z.object({
  kid: z.string(),
  caId: z.string(),
  /** `unused` keys can still bind one account */
  status: z.enum(['unused', 'used']),
  createdBy: z.string(),
  createdAt: rfc3339Schema,
  usedAt: rfc3339Schema.nullable(),
  accountId: z.string().nullable(),
});
export const acmeEabKeyPageSchema = pageSchema(acmeEabKeySchema);
/** the only answer with the HMAC key (base64url) */
export const acmeEabKeyCreatedSchema = z.object({ kid: z.string(), hmacKey: z.string(), caId: z.string() });
export const acmeEabKeyRevokedSchema = z.object({
  kid: z.string(),
  caId: z.string(),
  revoked: z.literal(true),
  /** the account the key had bound, deactivated with it */
  deactivatedAccount: z.string().nullable(),
});
