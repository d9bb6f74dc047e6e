import { z } from 'zod';
import {
  caCreateInputSchema,
  caDeleteInputSchema,
  caExportChainOutputSchema,
  caGetInputSchema,
  caRevokeInputSchema,
  caRevokeOutputSchema,
  caSchema,
  caSetStatusInputSchema,
  caViewSchema,
  okSchema,
} from '@pkim/contract';
import type { CaView } from '@pkim/authority';
import { procedure, router } from '../trpc-init';

const DAY_MS = 86_400_000;

const flattenView = (v: CaView) => ({ ...v.ca, certificatePem: v.certificatePem, chainPem: v.chainPem });

export const caRouter = router({
  list: procedure()
    .output(z.array(caSchema))
    .query(({ ctx }) => ctx.authority.cas.list()),

  get: procedure()
    .input(caGetInputSchema)
    .output(caViewSchema)
    .query(async ({ ctx, input }) => flattenView(await ctx.authority.cas.get(input.ref))),

  /**
   * ca-create-endpoint: key in the chosen backend, self-signed (or parent-signed) certificate, row + audit in one
   * transaction
   */
  create: procedure()
    .input(caCreateInputSchema)
    .output(caViewSchema)
    .mutation(async ({ ctx, input }) => {
      const view = await ctx.authority.cas.create(
        {
          name: input.name,
          subject: input.subject,
          keyType: input.keyType, // the contract normalises to the vocabulary (ec-p256…)
          backend: input.backend,
          validityMs: input.validityDays === undefined ? undefined : input.validityDays * DAY_MS,
          parentId: input.parentId,
          pathLen: input.pathLen,
          nameConstraints: input.nameConstraints,
          kmsCertify: input.kmsCertify,
        },
        ctx.actor,
      );
      return flattenView(view);
    }),

  setStatus: procedure()
    .input(caSetStatusInputSchema)
    .output(caSchema)
    .mutation(({ ctx, input }) => ctx.authority.cas.setStatus(input.id, input.status, ctx.actor)),

  revoke: procedure()
    .input(caRevokeInputSchema)
    .output(caRevokeOutputSchema)
    .mutation(({ ctx, input }) => ctx.authority.cas.revokeCa(input.id, input.reason, ctx.actor)),

  delete: procedure()
    .input(caDeleteInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.cas.delete(input.id, { destroyKey: input.destroyKey }, ctx.actor);
      return { ok: true as const };
    }),

  exportChain: procedure()
    .input(caGetInputSchema)
    .output(caExportChainOutputSchema)
    .query(async ({ ctx, input }) => {
      const v = await ctx.authority.cas.get(input.ref);
      return { id: v.ca.id, chainPem: v.chainPem };
    }),
});
