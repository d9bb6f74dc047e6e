import { certificateRenewInputSchema, certificateRenewalSchema, toRenewalDto, ttlToMs } from '@pkim/contract';
import { procedure, router } from '../trpc-init';

export const renewalRouter = router({
  renew: procedure()
    .input(certificateRenewInputSchema)
    .output(certificateRenewalSchema)
    .mutation(async ({ ctx, input }) => {
      const { ref, ttl, ...o } = input;
      const r = await ctx.authority.renewal.renew(
        ref,
        { ...o, validityMs: ttl === undefined ? undefined : ttlToMs(ttl) },
        ctx.actor,
      );
      return toRenewalDto(r);
    }),
});
