import { z } from 'zod';
import { durationSchema, idSchema, textField, timestampSchema, userRoleSchema } from './common-schemas';

export const tokenScopeSchema = z
  .string()
  .regex(/^(\*|[a-z]+:(\*|[a-z]+))$/, 'scopes look like certificate:issue or certificate:*');
export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: userRoleSchema,
  scopes: z.array(z.string()),
  expiresAt: timestampSchema.nullable(),
  lastUsedAt: timestampSchema.nullable(),
  revokedAt: timestampSchema.nullable(),
  createdAt: timestampSchema,
});
export const tokenCreateInputSchema = z
  .object({
    name: textField(128),
    role: userRoleSchema,
    scopes: z.array(tokenScopeSchema).max(32).optional(),
    /** e.g. 30d; omitted: never expires */
    expiresIn: durationSchema.optional(),
  })
  .strict();
/** the secret is returned once and never again */
export const tokenCreatedSchema = z.object({
  id: z.string(),
  token: z.string(),
  expiresAt: timestampSchema.nullable(),
});
export const tokenRevokeInputSchema = z.object({ id: idSchema }).strict();
