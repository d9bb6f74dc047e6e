import { z } from 'zod';
import { parseDuration } from '@pkim/shared';
import { paginationInputSchema, rfc3339Schema, sshCaKeyTypeSchema } from './common-schemas';
import { CERTIFICATE_STATUSES } from './vocabulary';

/**
 * The SSH certificate authority's API (docs/ssh.md): CAs, certificates, KRL status, fleet tokens, and the
 * registry — environments, hosts and their account mappings, users, the principals catalogue with its grants,
 * access blocks. Times are RFC 3339; lifetimes on input are durations (`8h`, `30d`) or bare seconds.
 */

/** an environment, CA, user, principal or fleet-token name */
export const sshNameSchema = z.string().trim().min(1).max(64);
/** a host name as registered (DNS-like, may be an address) */
export const sshHostNameSchema = z.string().trim().min(1).max(253);
/** a local account on a host (`AuthorizedPrincipalsFile` per account) */
export const sshAccountSchema = z.string().trim().min(1).max(32);
/** `8h`, `30d` or a whole number of seconds → milliseconds */
export const sshDurationSchema = z
  .string()
  .trim()
  .max(32)
  .regex(/^\d+\s*[smhdwy]?$/i, 'expected a duration such as 8h, 30d')
  .transform((v) => parseDuration(/^\d+$/.test(v) ? `${v}s` : v));
const sshOptionsSchema = z
  .record(z.string().min(1).max(64), z.union([z.string().max(1024), z.literal(true)]))
  .optional();
const environmentRef = z.object({ environment: sshNameSchema.optional() }).strict();
const hostRef = z.object({ environment: sshNameSchema.optional(), host: sshHostNameSchema }).strict();

export const sshCertTypeSchema = z.enum(['user', 'host']);
export const sshCaStatusSchema = z.enum(['active', 'rotating', 'retired']);
export const sshCertificateStatusSchema = z.enum(CERTIFICATE_STATUSES);
export const sshFleetOperationSchema = z.enum(['sign-host', 'sign-user']);

// ------------------------------------------------------------------------------------------------ CAs
export const sshCaSchema = z.object({
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  type: sshCertTypeSchema,
  keyType: z.string(),
  backend: z.string(),
  status: sshCaStatusSchema,
  /** the CA public key line (`ssh-ed25519 AAAA… name`) */
  publicKey: z.string(),
  fingerprint: z.string(),
  /** lifetimes as durations in the largest exact unit (`16h`, `30d`), like a request's `ttl` */
  maxTtl: z.string(),
  defaultTtl: z.string(),
  createdAt: rfc3339Schema,
  retiredAt: rfc3339Schema.nullable(),
});
export const sshCaListInputSchema = environmentRef.optional();
export const sshCaCreateInputSchema = z
  .object({
    name: sshNameSchema,
    type: sshCertTypeSchema,
    keyType: sshCaKeyTypeSchema.optional(),
    environment: sshNameSchema.optional(),
    maxTtl: sshDurationSchema.optional(),
    defaultTtl: sshDurationSchema.optional(),
  })
  .strict();
/** a new active CA for (environment, type); the active ones become `rotating` (trusted until retired) */
export const sshCaRotateInputSchema = z
  .object({
    environment: sshNameSchema.optional(),
    type: sshCertTypeSchema,
    name: sshNameSchema.optional(),
    keyType: sshCaKeyTypeSchema.optional(),
  })
  .strict();
export const sshCaRotatedSchema = z.object({ created: sshCaSchema, rotating: z.array(z.string()) });
export const sshCaRetiredSchema = z.object({ retired: z.array(z.string()) });

// ------------------------------------------------------------------------------------------------ certificates
export const sshCertificateSchema = z.object({
  id: z.string(),
  caId: z.string(),
  ca: z.string(),
  /** uint64, decimal (as `ssh-keygen -L` prints it) */
  serial: z.string(),
  keyId: z.string(),
  type: sshCertTypeSchema,
  principals: z.array(z.string()),
  keyFingerprint: z.string(),
  validAfter: rfc3339Schema,
  validBefore: rfc3339Schema,
  criticalOptions: z.record(z.string(), z.union([z.string(), z.literal(true)])),
  extensions: z.record(z.string(), z.union([z.string(), z.literal(true)])),
  status: sshCertificateStatusSchema,
  revokedAt: rfc3339Schema.nullable(),
  revocationReason: z.string().nullable(),
  provisioner: z.string(),
  issuedBy: z.string(),
  createdAt: rfc3339Schema,
  /** the `-cert.pub` line */
  certificate: z.string(),
});
export const sshCertificateListInputSchema = z
  .object({
    ca: sshNameSchema.optional(),
    status: sshCertificateStatusSchema.optional(),
    limit: z.number().int().min(1).max(500).optional(),
    cursor: paginationInputSchema.shape.cursor,
  })
  .strict()
  .optional();
export const sshCertificatePageSchema = z.object({
  items: z.array(sshCertificateSchema),
  nextCursor: z.string().nullable(),
});
export const sshIssueInputSchema = z
  .object({
    ca: sshNameSchema,
    publicKey: z.string().trim().min(1).max(16_384),
    type: sshCertTypeSchema.default('user'),
    principals: z.array(z.string().trim().min(1).max(255)).max(256).optional(),
    ttl: sshDurationSchema.optional(),
    keyId: z.string().trim().min(1).max(255).optional(),
    user: sshNameSchema.optional(),
    host: sshHostNameSchema.optional(),
    criticalOptions: sshOptionsSchema,
    extensions: sshOptionsSchema,
  })
  .strict();
export const sshIssuedSchema = sshCertificateSchema.extend({ line: z.string() });
export const sshRevokeInputSchema = z
  .object({
    ca: sshNameSchema,
    serial: z.string().trim().min(1).max(32).optional(),
    keyId: z.string().trim().min(1).max(255).optional(),
    publicKey: z.string().trim().min(1).max(16_384).optional(),
    reason: z.string().trim().max(500).optional(),
  })
  .strict();
export const sshRevokedSchema = z.object({ revoked: z.array(z.string()), krlVersion: z.number().int() });
export const sshKrlStatusInputSchema = z.object({ ca: sshNameSchema.optional() }).strict().optional();
export const sshKrlStatusSchema = z.object({
  caId: z.string(),
  ca: z.string(),
  environment: z.string(),
  type: sshCertTypeSchema,
  version: z.number().int(),
  etag: z.string(),
  generatedAt: rfc3339Schema,
  bytes: z.number().int(),
  revokedCount: z.number().int(),
  url: z.string(),
});

// ------------------------------------------------------------------------------------------------ fleet tokens
/** never the hash of the secret */
export const sshFleetTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  operations: z.array(sshFleetOperationSchema),
  ratePerMinute: z.number().int(),
  expiresAt: rfc3339Schema.nullable(),
  revokedAt: rfc3339Schema.nullable(),
  lastUsedAt: rfc3339Schema.nullable(),
  createdBy: z.string(),
  createdAt: rfc3339Schema,
});
export const sshFleetTokenCreateInputSchema = z
  .object({
    name: sshNameSchema,
    environment: sshNameSchema.optional(),
    operations: z.array(sshFleetOperationSchema).min(1).max(2),
    ratePerMinute: z.number().int().min(1).max(100_000).optional(),
    expiresIn: sshDurationSchema.optional(),
  })
  .strict();
/** the secret (`pkimf_…`) is in this response only */
export const sshFleetTokenCreatedSchema = sshFleetTokenSchema.extend({ token: z.string() });
export const sshIdInputSchema = z.object({ id: z.string().trim().min(1).max(64) }).strict();

// ------------------------------------------------------------------------------------------------ environments
export const sshEnvironmentSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  /** CAs by type and status, hosts registered in it */
  userCas: z.number().int(),
  hostCas: z.number().int(),
  hosts: z.number().int(),
  createdAt: rfc3339Schema,
});
export const sshEnvironmentCreateInputSchema = z
  .object({ name: sshNameSchema, description: z.string().trim().max(500).optional() })
  .strict();
/** the lines hosts and clients install: TrustedUserCAKeys content and `@cert-authority` known_hosts lines */
export const sshTrustInputSchema = environmentRef.optional();
export const sshTrustSchema = z.object({
  environment: z.string(),
  userCaKeys: z.string(),
  knownHosts: z.string(),
  hostPatterns: z.array(z.string()),
});

// ------------------------------------------------------------------------------------------------ hosts
export const sshHostSchema = z.object({
  id: z.string(),
  name: z.string(),
  environment: z.string(),
  /** names and addresses its host certificate may carry */
  principals: z.array(z.string()),
  createdAt: rfc3339Schema,
  updatedAt: rfc3339Schema,
});
export const sshHostListInputSchema = environmentRef.optional();
export const sshHostAddInputSchema = z
  .object({
    environment: sshNameSchema.optional(),
    name: sshHostNameSchema,
    principals: z.array(sshHostNameSchema).max(64).optional(),
  })
  .strict();
export const sshHostRefInputSchema = hostRef;
export const sshHostAccountSchema = z.object({
  id: z.string(),
  host: z.string(),
  account: z.string(),
  principal: z.string(),
  createdAt: rfc3339Schema,
});
/** per account, the principals that may log in as it, and the rendered AuthorizedPrincipalsFile */
export const sshHostAccountsSchema = z.object({
  host: z.string(),
  environment: z.string(),
  mappings: z.array(sshHostAccountSchema),
  principalsFiles: z.record(z.string(), z.string()),
});
export const sshAccountMapInputSchema = hostRef
  .extend({ account: sshAccountSchema, principal: sshNameSchema })
  .strict();
export const sshHostBundleInputSchema = hostRef.extend({ dir: z.string().trim().min(1).max(255).optional() }).strict();
export const sshHostBundleSchema = z.object({
  host: z.string(),
  environment: z.string(),
  dir: z.string(),
  krlUrl: z.string().nullable(),
  /** file name (relative to `dir`) → content */
  files: z.record(z.string(), z.string()),
});

// ------------------------------------------------------------------------------------------------ users, principals
export const sshUserSchema = z.object({
  id: z.string(),
  name: z.string(),
  disabled: z.boolean(),
  /** principals granted to the user */
  principals: z.array(z.string()),
  /** access blocks on the user (fleet-wide or per host) */
  blocks: z.number().int(),
  createdAt: rfc3339Schema,
});
export const sshUserAddInputSchema = z.object({ name: sshNameSchema }).strict();
export const sshUserDisableInputSchema = z.object({ name: sshNameSchema, disabled: z.boolean() }).strict();
export const sshPrincipalSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  /** users the principal is granted to */
  users: z.array(z.string()),
  createdAt: rfc3339Schema,
});
export const sshPrincipalAddInputSchema = z
  .object({ name: sshNameSchema, description: z.string().trim().max(500).optional() })
  .strict();
export const sshGrantInputSchema = z.object({ user: sshNameSchema, principal: sshNameSchema }).strict();

// ------------------------------------------------------------------------------------------------ access blocks
export const sshBlockSchema = z.object({
  id: z.string(),
  user: z.string(),
  /** null: fleet-wide */
  host: z.string().nullable(),
  environment: z.string().nullable(),
  reason: z.string().nullable(),
  createdBy: z.string(),
  createdAt: rfc3339Schema,
});
/** without `host`: the user is blocked on every host (fleet-wide) */
export const sshBlockInputSchema = z
  .object({
    user: sshNameSchema,
    environment: sshNameSchema.optional(),
    host: sshHostNameSchema.optional(),
    reason: z.string().trim().max(500).optional(),
  })
  .strict();
