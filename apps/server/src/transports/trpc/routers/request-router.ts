import {
  requestApproveOutputSchema,
  requestIdInputSchema,
  requestListInputSchema,
  requestPageSchema,
  requestRejectInputSchema,
  requestSchema,
  requestSubmitInputSchema,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

const DAY_MS = 86_400_000;

/** Certificate requests: requesters submit (and see their own), operators review. */
export const requestRouter = router({
  submit: procedure()
    .input(requestSubmitInputSchema)
    .output(requestSchema)
    .mutation(async ({ ctx, input }) =>
      ctx.authority.requests.submit(
        {
          caId: input.caId,
          csrPem: input.csrPem,
          profile: input.profile,
          validityMs: input.validityDays === undefined ? undefined : input.validityDays * DAY_MS,
        },
        ctx.actor,
      ),
    ),

  list: procedure()
    .input(requestListInputSchema.optional())
    .output(requestPageSchema)
    .query(async ({ ctx, input = {} }) =>
      ctx.authority.requests.list(
        {
          status: input.status,
          caId: input.caId,
          limit: input.limit,
          cursor: input.cursor,
        },
        ctx.actor,
      ),
    ),

  get: procedure()
    .input(requestIdInputSchema)
    .output(requestSchema)
    .query(({ ctx, input }) => ctx.authority.requests.get(input.id, ctx.actor)),

  approve: procedure()
    .input(requestIdInputSchema)
    .output(requestApproveOutputSchema)
    .mutation(({ ctx, input }) => ctx.authority.requests.approve(input.id, ctx.actor)),

  reject: procedure()
    .input(requestRejectInputSchema)
    .output(requestSchema)
    .mutation(({ ctx, input }) => ctx.authority.requests.reject(input.id, input.reason, ctx.actor)),
});
