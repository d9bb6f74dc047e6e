import {
  okSchema,
  profileInputSchema,
  profileNameInputSchema,
  profileSummarySchema,
  profileUpdateInputSchema,
  toProfileEntryDto,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

/**
 * Custom certificate profiles made through the API (docs/profiles.md): the authority's profile catalog. The list is
 * `insights.profiles` (GET /api/v1/profiles), with each profile's source.
 */
export const profilesRouter = router({
  get: procedure()
    .input(profileNameInputSchema)
    .output(profileSummarySchema)
    .query(async ({ ctx, input }) => toProfileEntryDto(await ctx.authority.profileCatalog.get(input.name, ctx.actor))),

  create: procedure()
    .input(profileInputSchema)
    .output(profileSummarySchema)
    .mutation(async ({ ctx, input }) => toProfileEntryDto(await ctx.authority.profileCatalog.create(input, ctx.actor))),

  update: procedure()
    .input(profileUpdateInputSchema)
    .output(profileSummarySchema)
    .mutation(async ({ ctx, input }) => {
      const { profile, ...fields } = input;
      return toProfileEntryDto(await ctx.authority.profileCatalog.update(profile, fields, ctx.actor));
    }),

  delete: procedure()
    .input(profileNameInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.profileCatalog.delete(input.name, ctx.actor);
      return { ok: true as const };
    }),
});
