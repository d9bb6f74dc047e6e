import { z } from 'zod';
import { formatDuration } from '@pkim/shared';
import { caRefSchema, pageSchema, paginationInputSchema, rfc3339Schema } from './common-schemas';
import { certificateSchema } from './certificate-schemas';

/**
 * Vault-compatible PKI mounts and roles as the console and the REST API manage them (docs/vault-api.md). A role's
 * policy uses Vault's own field names — the same as `/v1/<mount>/roles/:name` — so what the console writes is what
 * node-vault, hvac and cert-manager read back.
 */

/** a mount path: `pki`, `pki/prod` (Vault reserves sys, auth, identity, cubbyhole; the service refuses them) */
export const vaultMountPathSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^\/*[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/*$/, 'a mount path is letters, digits, _ . - and inner slashes');
export const vaultRoleNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^\w(([\w.-]+)?\w)?$/, 'a role name is letters, digits, _ . - (starting and ending with a letter/digit)');

/** a Vault duration: `720h`, `30d`, `90m`, or seconds */
const vaultDurationInput = z.union([
  z.string().trim().max(32),
  z
    .number()
    .int()
    .min(0)
    .max(100 * 365 * 86_400),
]);
const names = (max: number) => z.array(z.string().trim().min(1).max(max)).max(100);

const ROLE_FLAGS = [
  'allow_localhost',
  'allow_bare_domains',
  'allow_subdomains',
  'allow_glob_domains',
  'allow_wildcard_certificates',
  'allow_any_name',
  'enforce_hostnames',
  'allow_ip_sans',
  'server_flag',
  'client_flag',
  'code_signing_flag',
  'email_protection_flag',
  'use_csr_common_name',
  'use_csr_sans',
  'require_cn',
  'no_store',
  'generate_lease',
] as const;
const ROLE_LISTS = [
  'allowed_domains',
  'allowed_uri_sans',
  'key_usage',
  'ext_key_usage',
  'organization',
  'ou',
  'country',
  'locality',
  'province',
] as const;

const flagsOf = <T extends z.ZodType>(t: T) =>
  Object.fromEntries(ROLE_FLAGS.map((f) => [f, t])) as Record<(typeof ROLE_FLAGS)[number], T>;
const listsOf = <T extends z.ZodType>(t: T) =>
  Object.fromEntries(ROLE_LISTS.map((f) => [f, t])) as Record<(typeof ROLE_LISTS)[number], T>;

export const vaultKeyTypeSchema = z.enum(['rsa', 'ec', 'ed25519', 'any']);

/** A role's policy on input: every field optional (create: omitted = Vault's default; update: omitted = unchanged). */
export const vaultRolePolicyInputSchema = z
  .object({
    ttl: vaultDurationInput.optional(),
    max_ttl: vaultDurationInput.optional(),
    key_type: vaultKeyTypeSchema.optional(),
    key_bits: z.number().int().min(0).max(8192).optional(),
    ...flagsOf(z.boolean().optional()),
    ...listsOf(names(253).optional()),
    /** further EKUs by dotted OID; certificate policies: OIDs or OpenBao's JSON `{"oid","cps","notice"}` strings */
    ext_key_usage_oids: names(253).optional(),
    policy_identifiers: names(1024).optional(),
  })
  .strict();

/**
 * A role's policy on output: Vault's field names, lists never null; `ttl`/`max_ttl` as durations in the largest exact
 * unit (`1d`, `36h`; `0s`: unset — the mount's default or cap), the form the input takes back.
 */
export const vaultRolePolicySchema = z.object({
  ttl: z.string(),
  max_ttl: z.string(),
  key_type: vaultKeyTypeSchema,
  key_bits: z.number().int(),
  ...flagsOf(z.boolean()),
  ...listsOf(z.array(z.string())),
  ext_key_usage_oids: z.array(z.string()),
  policy_identifiers: z.array(z.string()),
});
export type VaultRolePolicyDto = z.infer<typeof vaultRolePolicySchema>;

export const vaultRoleSchema = z.object({ mount: z.string(), name: z.string(), policy: vaultRolePolicySchema });
export const vaultRolePageSchema = pageSchema(vaultRoleSchema);

export const vaultMountSchema = z.object({
  path: z.string(),
  /** the CA it is bound to (name null: the CA was deleted) */
  ca: z.object({ id: z.string(), name: z.string().nullable() }),
  description: z.string(),
  /** durations (`32d`, `768h` → `32d`): the TTL of roles without `ttl`, and the cap of roles without `max_ttl` */
  defaultLeaseTtl: z.string(),
  maxLeaseTtl: z.string(),
  roles: z.number().int(),
  createdAt: rfc3339Schema,
});
export type VaultMountDto = z.infer<typeof vaultMountSchema>;
export const vaultMountPageSchema = pageSchema(vaultMountSchema);

export const vaultMountBindInputSchema = z
  .object({
    path: vaultMountPathSchema,
    /** CA id or name */
    ca: caRefSchema,
    description: z.string().trim().max(256).optional(),
    defaultLeaseTtl: vaultDurationInput.optional(),
    maxLeaseTtl: vaultDurationInput.optional(),
  })
  .strict();
export const vaultMountRefInputSchema = z.object({ path: vaultMountPathSchema }).strict();

export const vaultRolesInputSchema = z.object({ mount: vaultMountPathSchema }).strict();
export const vaultRoleWriteInputSchema = z
  .object({ mount: vaultMountPathSchema, name: vaultRoleNameSchema, policy: vaultRolePolicyInputSchema.optional() })
  .strict();
export const vaultRoleRefInputSchema = z.object({ mount: vaultMountPathSchema, name: vaultRoleNameSchema }).strict();
export const vaultRoleCertificatesInputSchema = paginationInputSchema
  .extend({
    mount: vaultMountPathSchema,
    role: vaultRoleNameSchema,
    status: z.enum(['active', 'revoked', 'expired']).optional(),
  })
  .strict();

/** The mount as the authority keeps it (epoch ms, seconds) — what {@link toVaultMountDto} maps from. */
export interface VaultMountRecord {
  path: string;
  caId: string;
  caName: string | null;
  description: string;
  defaultLeaseTtl: number;
  maxLeaseTtl: number;
  roles: number;
  createdAt: number;
}

const secondsToDuration = (v: unknown) => formatDuration(z.number().int().min(0).parse(v) * 1000);

/** the policy fields of a stored role (the contract's subset of Vault's role; durations stored in seconds) */
export function toVaultRolePolicyDto(role: Record<string, unknown>): VaultRolePolicyDto {
  return vaultRolePolicySchema.parse({
    ...role,
    ttl: secondsToDuration(role.ttl),
    max_ttl: secondsToDuration(role.max_ttl),
  });
}

/** Tenant keystores as the CA sees them: one row per certificate name issued through a `keystore-<type>` role. */
export const vaultKeystoresInputSchema = z.object({ mount: vaultMountPathSchema.optional() }).strict();
export const vaultKeystoreSchema = z.object({
  mount: z.string(),
  role: z.string(),
  keystoreType: z.string(),
  commonName: z.string(),
  dnsNames: z.array(z.string()),
  /** rotating: more than one valid certificate (grace period); disconnected: all revoked; expired: none valid */
  state: z.enum(['active', 'rotating', 'disconnected', 'expired']),
  /** the newest valid certificate, else the newest */
  current: certificateSchema,
  active: z.number().int(),
  revoked: z.number().int(),
  total: z.number().int(),
});
export type VaultKeystoreDto = z.infer<typeof vaultKeystoreSchema>;
export const vaultKeystorePageSchema = pageSchema(vaultKeystoreSchema);
