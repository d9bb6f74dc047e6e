import {
  certificateDetailSchema,
  certificateExpiringInputSchema,
  certificateGetInputSchema,
  certificateIssueInputSchema,
  certificateIssueWithKeyInputSchema,
  certificateListInputSchema,
  certificatePageSchema,
  certificateRevokeInputSchema,
  certificateSchema,
  issuedCertificateSchema,
} from '@pkim/contract';
import { z } from 'zod';
import { procedure, router } from '../trpc-init';

const DAY_MS = 86_400_000;

export const certificateRouter = router({
  list: procedure()
    .input(certificateListInputSchema.optional())
    .output(certificatePageSchema)
    .query(async ({ ctx, input = {} }) =>
      ctx.authority.certificates.list({
        caId: input.caId,
        status: input.status,
        profile: input.profile,
        expiringBefore:
          input.expiringWithinDays === undefined
            ? undefined
            : ctx.authority.clock.now() + input.expiringWithinDays * DAY_MS,
        search: input.search,
        sort: input.sort,
        limit: input.limit,
        cursor: input.cursor,
      }),
    ),

  get: procedure()
    .input(certificateGetInputSchema)
    .output(certificateDetailSchema)
    .query(async ({ ctx, input }) => {
      const row = await ctx.authority.certificates.find(input.ref);
      return ctx.authority.certificates.get(row.id);
    }),

  issue: procedure()
    .input(certificateIssueInputSchema)
    .output(issuedCertificateSchema)
    .mutation(async ({ ctx, input }) =>
      ctx.authority.issuance.issueFromCsr(
        {
          caId: input.caId,
          csrPem: input.csrPem,
          profile: input.profile,
          validityMs: input.validityDays === undefined ? undefined : input.validityDays * DAY_MS,
          sans: input.sans,
          subject: input.subject,
        },
        ctx.actor,
      ),
    ),

  /** server-generated key: the private key is returned once and never stored */
  issueWithKey: procedure()
    .input(certificateIssueWithKeyInputSchema)
    .output(issuedCertificateSchema)
    .mutation(async ({ ctx, input }) =>
      ctx.authority.issuance.issueWithKey(
        {
          caId: input.caId,
          profile: input.profile,
          subject: input.subject,
          sans: input.sans,
          keyType: input.keyType,
          validityMs: input.validityDays === undefined ? undefined : input.validityDays * DAY_MS,
        },
        ctx.actor,
      ),
    ),

  revoke: procedure()
    .input(certificateRevokeInputSchema)
    .output(certificateSchema)
    .mutation(({ ctx, input }) => ctx.authority.certificates.revoke(input.ref, input.reason, ctx.actor)),

  expiring: procedure()
    .input(certificateExpiringInputSchema.optional())
    .output(z.array(certificateSchema))
    .query(({ ctx, input }) => {
      const withinDays = input?.withinDays ?? 30;
      return ctx.authority.certificates.expiringBefore(
        ctx.authority.clock.now() + withinDays * DAY_MS,
        input?.limit ?? 100,
      );
    }),
});
