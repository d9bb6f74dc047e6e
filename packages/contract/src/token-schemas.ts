import { z } from 'zod';
import {
  durationSchema,
  idSchema,
  pageSchema,
  rfc3339Schema,
  textField,
  ttlSchema,
  ttlToMs,
  userRoleSchema,
} from './common-schemas';

export const tokenScopeSchema = z
  .string()
  .regex(/^(\*|[a-z]+:(\*|[a-z]+))$/, 'scopes look like certificate:issue or certificate:*');
const resourceLists = {
  cas: z.array(z.string().min(1).max(128)).max(64).optional(),
  profiles: z.array(z.string().min(1).max(64)).max(64).optional(),
  names: z.array(z.string().min(1).max(512)).max(256).optional(),
  /** SPIFFE identities: `<service type>/<instance id glob>` */
  spiffe: z.array(z.string().min(1).max(256)).max(256).optional(),
};
/**
 * What a token may act on; every list narrows (absent = no limit). `maxLifetime`: the longest certificate lifetime it
 * may get, a duration (`90d`) like every lifetime on the wire.
 */
export const tokenResourcesSchema = z.object({ ...resourceLists, maxLifetime: z.string().optional() }).strict();
/**
 * The same on input: `maxLifetime` as `ttl` is (a duration string or seconds); the first version's `maxLifetimeMs`
 * (milliseconds) is still accepted. Both become the authority's `maxLifetimeMs`.
 */
export const tokenResourcesInputSchema = z
  .object({
    ...resourceLists,
    maxLifetime: ttlSchema.optional(),
    maxLifetimeMs: z.number().int().positive().optional(),
  })
  .strict()
  .refine((r) => r.maxLifetime === undefined || r.maxLifetimeMs === undefined, {
    error: 'give maxLifetime or maxLifetimeMs, not both',
  })
  .transform(({ maxLifetime, maxLifetimeMs, ...lists }) => {
    const ms = maxLifetime === undefined ? maxLifetimeMs : ttlToMs(maxLifetime);
    return ms === undefined ? lists : { ...lists, maxLifetimeMs: ms };
  });
/** a token's resources as the authority keeps them (lifetime in milliseconds) */
export type TokenResourcesRecord = Omit<z.infer<typeof tokenResourcesSchema>, 'maxLifetime'> & {
  maxLifetimeMs?: number;
};
/** An API token on the wire: never its secret nor its hash. */
export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: userRoleSchema,
  scopes: z.array(z.string()),
  resources: tokenResourcesSchema.nullable(),
  expiresAt: rfc3339Schema.nullable(),
  lastUsedAt: rfc3339Schema.nullable(),
  revokedAt: rfc3339Schema.nullable(),
  createdAt: rfc3339Schema,
});
export type TokenDto = z.infer<typeof tokenSchema>;
export const tokenPageSchema = pageSchema(tokenSchema);
/** The authority's token record (epoch ms) — what {@link toTokenDto} maps from; extra fields are not copied. */
export interface TokenRecord {
  id: string;
  name: string;
  role: TokenDto['role'];
  scopes: string[];
  resources: TokenResourcesRecord | null | undefined;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}
export const tokenCreateInputSchema = z
  .object({
    name: textField(128),
    role: userRoleSchema,
    scopes: z.array(tokenScopeSchema).max(32).optional(),
    resources: tokenResourcesInputSchema.optional(),
    /** e.g. 30d; `never`: no expiry; omitted: the server's default (90 days, PKIM_TOKEN_TTL) */
    expiresIn: z.union([z.literal('never'), durationSchema]).optional(),
  })
  .strict();
/** the secret is returned once and never again; `expiresAt` RFC 3339 (null: never) */
export const tokenCreatedSchema = z.object({
  id: z.string(),
  token: z.string(),
  expiresAt: rfc3339Schema.nullable(),
});
export const tokenRevokeInputSchema = z.object({ id: idSchema }).strict();
