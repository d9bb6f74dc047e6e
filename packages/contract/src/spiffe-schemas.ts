import { z } from 'zod';
import { rfc3339Schema } from './common-schemas';

/**
 * What the SPIFFE administration procedures answer (docs/spiffe.md): trust-domain status, SVIDs, the deny list,
 * rotation and purge. Times are RFC 3339.
 */

export const spiffeCaRoleSchema = z.enum(['root', 'services', 'transport']);
export const spiffeIntermediateRoleSchema = z.enum(['services', 'transport']);

export const spiffeCaInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: spiffeCaRoleSchema,
  /** `current`: signs its plane's SVIDs; `superseded`: replaced by a rotation, in the bundle until `inBundleUntil` */
  state: z.enum(['current', 'superseded']),
  fingerprint: z.string(),
  algorithm: z.string(),
  notAfter: rfc3339Schema,
  /** a superseded CA leaves the bundle then (its last SVID's expiry); null for a current one */
  inBundleUntil: rfc3339Schema.nullable(),
  /** unexpired SVIDs it signed (they chain to it) */
  issuedCertCount: z.number().int(),
});

export const spiffeStatusSchema = z.object({
  status: z.enum(['healthy', 'degraded', 'uninitialized']),
  trustDomain: z.string().nullable(),
  /** the current CA of each role (null: missing, see warnings) */
  rootCa: spiffeCaInfoSchema.nullable(),
  servicesCa: spiffeCaInfoSchema.nullable(),
  transportCa: spiffeCaInfoSchema.nullable(),
  /** every CA in the trust bundle: the root, then each plane's current CA and its superseded ones, newest first */
  bundleCas: z.array(spiffeCaInfoSchema),
  activeCertCount: z.number().int(),
  supersededCertCount: z.number().int(),
  expiredCertCount: z.number().int(),
  deniedIdentityCount: z.number().int(),
  warnings: z.array(z.string()),
});

export const spiffeInitResultSchema = z.object({
  trustDomain: z.string(),
  /** roles created by this call (empty when everything existed: init is idempotent) */
  created: z.array(spiffeCaRoleSchema),
  rootCaId: z.string(),
  servicesCaId: z.string(),
  transportCaId: z.string(),
});

export const svidListItemSchema = z.object({
  certificateId: z.string(),
  spiffeId: z.string(),
  serviceType: z.string(),
  serial: z.string(),
  fingerprint: z.string(),
  caId: z.string(),
  notBefore: rfc3339Schema,
  expiresAt: rfc3339Schema,
  state: z.enum(['current', 'superseded', 'expired', 'revoked']),
  supersededBy: z.string().nullable(),
});
export const svidPageSchema = z.object({ items: z.array(svidListItemSchema), nextCursor: z.string().nullable() });

export const spiffeDeniedIdentitySchema = z.object({
  spiffeId: z.string(),
  reason: z.string(),
  deniedBy: z.string(),
  deniedAt: rfc3339Schema,
});
export const spiffeDenyResultSchema = spiffeDeniedIdentitySchema.extend({
  /** SVIDs of the identity that stay valid until they expire */
  currentCertificates: z.array(z.object({ serial: z.string(), expiresAt: rfc3339Schema })),
});
export const spiffeAllowResultSchema = z.object({ spiffeId: z.string(), wasDenied: z.boolean() });
export const spiffeRotateResultSchema = z.object({
  role: spiffeIntermediateRoleSchema,
  oldCaId: z.string(),
  newCaId: z.string(),
  /** the old CA stays in the bundle until then */
  oldKeptUntil: rfc3339Schema,
});
export const spiffePurgeResultSchema = z.object({ purged: z.number().int() });
