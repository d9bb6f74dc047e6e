import { effectivePermissions } from '@pkim/authority';
import {
  loginInputSchema,
  isoTime,
  loginOutputSchema,
  meSchema,
  okSchema,
  userChangePasswordInputSchema,
  userCreateInputSchema,
  userCreatedSchema,
  userDisableInputSchema,
  userPageSchema,
  toUserDto,
  userSetRoleInputSchema,
  userUnlockInputSchema,
  userUnlockedSchema,
} from '@pkim/contract';
import { procedure, publicProcedure, router } from '../trpc-init';

export const userRouter = router({
  me: procedure()
    .output(meSchema)
    .query(({ ctx }) => ({
      id: ctx.actor.id,
      name: ctx.actor.name ?? null,
      role: ctx.actor.role,
      scopes: ctx.actor.scopes ?? null,
      permissions: effectivePermissions(ctx.actor),
      authMethod: ctx.authMethod ?? 'local',
      mustChangePassword: ctx.actor.mustChangePassword === true,
    })),

  /** every user (one page: `nextCursor` is null); never a password hash */
  list: procedure()
    .output(userPageSchema)
    .query(async ({ ctx }) => ({ items: (await ctx.authority.auth.listUsers()).map(toUserDto), nextCursor: null })),

  create: procedure()
    .input(userCreateInputSchema)
    .output(userCreatedSchema)
    .mutation(({ ctx, input }) => ctx.authority.auth.createUser(input, ctx.actor)),

  setRole: procedure()
    .input(userSetRoleInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.auth.setUserRole(input.id, input.role, ctx.actor);
      return { ok: true as const };
    }),

  disable: procedure()
    .input(userDisableInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.auth.setUserDisabled(input.id, input.disabled, ctx.actor);
      return { ok: true as const };
    }),

  /** lifts the sign-in blocks of a user (every client address); a password reset does the same */
  unlock: procedure()
    .input(userUnlockInputSchema)
    .output(userUnlockedSchema)
    .mutation(async ({ ctx, input }) => {
      const { cleared } = await ctx.authority.auth.unlockUser(input.id, ctx.actor);
      return { ok: true as const, cleared };
    }),

  /** own password (old one required); another user's needs user:manage (checked by the auth service) */
  changePassword: procedure()
    .input(userChangePasswordInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.auth.changePassword(
        input.id ?? ctx.actor.id,
        input.oldPassword,
        input.newPassword,
        ctx.actor,
      );
      return { ok: true as const };
    }),

  /** sets the HttpOnly session cookie; the CSRF token is returned for the x-csrf-token header */
  login: publicProcedure
    .input(loginInputSchema)
    .output(loginOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.auth.login(input.username, input.password, { ip: ctx.ip });
      ctx.setSessionCookie?.(r.sessionToken, r.expiresAt);
      return {
        user: {
          id: r.actor.id,
          name: r.actor.name ?? null,
          role: r.actor.role,
          mustChangePassword: r.actor.mustChangePassword === true,
        },
        csrfToken: r.csrfToken,
        expiresAt: isoTime(r.expiresAt),
      };
    }),

  logout: publicProcedure.output(okSchema).mutation(async ({ ctx }) => {
    if (ctx.sessionToken) await ctx.authority.auth.logout(ctx.sessionToken);
    ctx.clearSessionCookie?.();
    return { ok: true as const };
  }),
});
