import { z } from 'zod';
import {
  pageSchema,
  spiffeAllowResultSchema,
  spiffeDeniedIdentitySchema,
  spiffeDenyResultSchema,
  spiffeInitResultSchema,
  spiffePurgeResultSchema,
  spiffeRotateResultSchema,
  spiffeStatusSchema,
  svidPageSchema,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

/**
 * SPIFFE administration (docs/spiffe.md), admin only (`spiffe:manage`, declared in http/access-table.ts and
 * checked again by the authority). Workloads never come here: they use `POST /pki/csr/sign`.
 */
const spiffeIdSchema = z.string().trim().min(1).max(2048);

export const spiffeRouter = router({
  /** CA validity, SVID counts, warnings (a CA expiring within 30 days, a missing or expired CA) */
  status: procedure()
    .output(spiffeStatusSchema)
    .query(({ ctx }) => ctx.authority.spiffe.status(ctx.actor)),

  /** creates root, services and transport CA (whatever is missing); idempotent for the same trust domain */
  init: procedure()
    .input(z.object({ trustDomain: z.string().trim().min(1).max(255) }).strict())
    .output(spiffeInitResultSchema)
    .mutation(({ ctx, input }) => ctx.authority.spiffe.init(input, ctx.actor)),

  /** issued SVIDs, newest first: current, superseded, expired or revoked */
  list: procedure()
    .input(
      z
        .object({
          spiffeId: spiffeIdSchema.optional(),
          serviceType: z.string().trim().min(1).max(64).optional(),
          current: z.boolean().optional(),
          limit: z.number().int().min(1).max(500).optional(),
          cursor: z.string().max(512).nullish(),
        })
        .strict()
        .optional(),
    )
    .output(svidPageSchema)
    .query(({ ctx, input }) => ctx.authority.spiffe.list(input ?? {}, ctx.actor)),

  /** the deny list */
  denied: procedure()
    .output(pageSchema(spiffeDeniedIdentitySchema))
    .query(async ({ ctx }) => ({ items: await ctx.authority.spiffe.listDenied(ctx.actor), nextCursor: null })),

  /** refuses every further SVID for the identity; its current SVIDs stay valid until they expire */
  deny: procedure()
    .input(z.object({ spiffeId: spiffeIdSchema, reason: z.string().trim().min(1).max(500) }).strict())
    .output(spiffeDenyResultSchema)
    .mutation(({ ctx, input }) => ctx.authority.spiffe.deny(input, ctx.actor)),

  allow: procedure()
    .input(z.object({ spiffeId: spiffeIdSchema }).strict())
    .output(spiffeAllowResultSchema)
    .mutation(({ ctx, input }) => ctx.authority.spiffe.allow(input, ctx.actor)),

  /** a new services or transport CA; the old one stays in the bundle until its last SVID expires */
  rotate: procedure()
    .input(z.object({ role: z.enum(['services', 'transport']) }).strict())
    .output(spiffeRotateResultSchema)
    .mutation(({ ctx, input }) => ctx.authority.spiffe.rotate(input, ctx.actor)),

  /** deletes SVID rows expired for longer than PKIM_SPIFFE_PURGE_AFTER (also a background job) */
  purge: procedure()
    .output(spiffePurgeResultSchema)
    .mutation(({ ctx }) => ctx.authority.spiffe.purge(ctx.actor)),
});
