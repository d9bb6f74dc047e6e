import { z } from 'zod';
import { idSchema, pageSchema, rfc3339Schema, userRoleSchema } from './common-schemas';

export const usernameSchema = z
  .string()
  .trim()
  .min(2)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._@-]*$/i, 'user names use letters, digits, . _ @ -');
export const passwordSchema = z.string().min(12, 'passwords need at least 12 characters').max(1024);

export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: userRoleSchema,
  disabled: z.boolean(),
  /** sign-in throttled from at least one client address until then (the latest block); null when not */
  lockedUntil: rfc3339Schema.nullable(),
  /** how many client addresses are blocked for this user now */
  lockedAddresses: z.number().int().nonnegative(),
  /**
   * the user must change their password before anything else (the first-boot admin; a password an admin reset):
   * its sessions may call only user.me, its own password change and logout until then
   */
  mustChangePassword: z.boolean(),
  createdAt: rfc3339Schema,
});
export type UserDto = z.infer<typeof userSchema>;
export const userPageSchema = pageSchema(userSchema);
/** The authority's user record (epoch ms) — what {@link toUserDto} maps from; never a password hash. */
export interface UserRecord {
  id: string;
  username: string;
  role: UserDto['role'];
  disabled: boolean;
  lockedUntil: number | null;
  lockedAddresses: number;
  mustChangePassword: boolean;
  createdAt: number;
}
export const meSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  role: userRoleSchema,
  scopes: z.array(z.string()).nullable(),
  permissions: z.array(z.string()),
  authMethod: z.enum(['session', 'oidc', 'token', 'local']),
  /**
   * this session's user must change their password first: until then every call but this one, the password
   * change and logout answers 403 auth.password_change_required (always false for API tokens)
   */
  mustChangePassword: z.boolean(),
});
export const userCreateInputSchema = z
  .object({ username: usernameSchema, password: passwordSchema, role: userRoleSchema })
  .strict();
export const userCreatedSchema = z.object({ id: z.string(), username: z.string(), role: userRoleSchema });
export const userSetRoleInputSchema = z.object({ id: idSchema, role: userRoleSchema }).strict();
export const userUnlockInputSchema = z.object({ id: idSchema }).strict();
export const userUnlockedSchema = z.object({ ok: z.literal(true), cleared: z.number().int().nonnegative() });
export const userDisableInputSchema = z.object({ id: idSchema, disabled: z.boolean().default(true) }).strict();
export const userChangePasswordInputSchema = z
  .object({
    /** omitted: the caller's own account */
    id: idSchema.optional(),
    oldPassword: z.string().max(1024).default(''),
    newPassword: passwordSchema,
  })
  .strict();
export const loginInputSchema = z
  .object({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) })
  .strict();
export const loginOutputSchema = z.object({
  user: z.object({
    id: z.string(),
    name: z.string().nullable(),
    role: userRoleSchema,
    /** the new session may only change the password (then sign in again), read user.me and log out */
    mustChangePassword: z.boolean(),
  }),
  csrfToken: z.string(),
  /** when the session ends (RFC 3339) */
  expiresAt: rfc3339Schema,
});
