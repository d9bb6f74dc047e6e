import { z } from 'zod';
import {
  durationSchema,
  idSchema,
  isoTime,
  isoTimeOrNull,
  pageSchema,
  rfc3339Schema,
  textField,
  timestampSchema,
  userRoleSchema,
} from './common-schemas';

export const tokenScopeSchema = z
  .string()
  .regex(/^(\*|[a-z]+:(\*|[a-z]+))$/, 'scopes look like certificate:issue or certificate:*');
/** what a token may act on; every list narrows (absent = no limit) */
export const tokenResourcesSchema = z
  .object({
    cas: z.array(z.string().min(1).max(128)).max(64).optional(),
    profiles: z.array(z.string().min(1).max(64)).max(64).optional(),
    names: z.array(z.string().min(1).max(512)).max(256).optional(),
    maxLifetimeMs: z.number().int().positive().optional(),
    /** SPIFFE identities: `<service type>/<instance id glob>` */
    spiffe: z.array(z.string().min(1).max(256)).max(256).optional(),
  })
  .strict();
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
  resources: TokenDto['resources'] | undefined;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}
export function toTokenDto(t: TokenRecord): TokenDto {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    scopes: t.scopes,
    resources: t.resources ?? null,
    expiresAt: isoTimeOrNull(t.expiresAt),
    lastUsedAt: isoTimeOrNull(t.lastUsedAt),
    revokedAt: isoTimeOrNull(t.revokedAt),
    createdAt: isoTime(t.createdAt),
  };
}
export const tokenCreateInputSchema = z
  .object({
    name: textField(128),
    role: userRoleSchema,
    scopes: z.array(tokenScopeSchema).max(32).optional(),
    resources: tokenResourcesSchema.optional(),
    /** e.g. 30d; `never`: no expiry; omitted: the server's default (90 days, PKIM_TOKEN_TTL) */
    expiresIn: z.union([z.literal('never'), durationSchema]).optional(),
  })
  .strict();
/** the secret is returned once and never again */
export const tokenCreatedSchema = z.object({
  id: z.string(),
  token: z.string(),
  expiresAt: timestampSchema.nullable(),
});
export const tokenRevokeInputSchema = z.object({ id: idSchema }).strict();
