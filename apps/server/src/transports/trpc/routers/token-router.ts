import { parseDuration } from '@pkim/shared';
import {
  okSchema,
  tokenCreateInputSchema,
  tokenCreatedSchema,
  tokenRevokeInputSchema,
  tokenPageSchema,
  toTokenCreatedDto,
  toTokenDto,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

export const tokenRouter = router({
  /** the secret (`pkim_…`) is in this response only */
  create: procedure()
    .input(tokenCreateInputSchema)
    .output(tokenCreatedSchema)
    .mutation(async ({ ctx, input }) =>
      toTokenCreatedDto(
        await ctx.authority.auth.createToken(
          {
            name: input.name,
            role: input.role,
            scopes: input.scopes,
            resources: input.resources,
            expiresInMs:
              input.expiresIn === undefined
                ? undefined
                : input.expiresIn === 'never'
                  ? null
                  : parseDuration(input.expiresIn),
          },
          ctx.actor,
        ),
      ),
    ),

  /** every token (one page: `nextCursor` is null); never a secret or its hash */
  list: procedure()
    .output(tokenPageSchema)
    .query(async ({ ctx }) => ({ items: (await ctx.authority.auth.listTokens()).map(toTokenDto), nextCursor: null })),

  revoke: procedure()
    .input(tokenRevokeInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.auth.revokeToken(input.id, ctx.actor);
      return { ok: true as const };
    }),
});
