import { z } from 'zod';
import { parseDuration } from '@pkim/shared';
import {
  acmeAccountPageSchema,
  acmeDeactivateResultSchema,
  acmeDirectoryPageSchema,
  acmeDirectorySchema,
  acmeDisableResultSchema,
  acmeEabKeyCreatedSchema,
  acmeEabKeyPageSchema,
  acmeEabKeyRevokedSchema,
  acmeOrderListInputSchema,
  acmeOrderPageSchema,
  auditEventPageSchema,
  auditListInputSchema,
  onePage,
  toAcmeDirectoryDto,
  toAuditEventPage,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';
import type { TrpcContext } from '../trpc-context';

/**
 * ACME administration for the console and API clients (docs/acme.md): directories per CA, accounts, orders,
 * external account binding keys (the HMAC key is in the create response only) and the ACME audit trail.
 * The protocol itself is the `acme` transport. Permissions are declared in http/access-table.ts and checked
 * again by the authority (with the caller's CA limits).
 */
const caRef = z.string().trim().min(1).max(128);
const idSchema = z.string().trim().min(1).max(64);
const patterns = z.array(z.string().trim().min(1).max(253)).max(256);

/**
 * the base of each directory's `directoryUrl`: the server's public URL (as `system.info` gives it), else the origin
 * the caller reached the server at — where the ACME transport builds its URLs from (http/request-origin.ts)
 */
const publicUrlOf = (ctx: TrpcContext) => ctx.publicBaseUrl ?? ctx.authority.config.publicBaseUrl ?? ctx.origin;

export const acmeRouter = router({
  directories: procedure()
    .output(acmeDirectoryPageSchema)
    .query(async ({ ctx }) =>
      onePage(
        (await ctx.authority.acme.listDirectories(ctx.actor)).map((d) => toAcmeDirectoryDto(d, publicUrlOf(ctx))),
      ),
    ),

  enable: procedure()
    .input(
      z
        .object({
          ca: caRef,
          profile: z.string().trim().min(1).max(64).optional(),
          allowDns: patterns.optional(),
          allowIps: patterns.optional(),
          requireEab: z.boolean().optional(),
          ordersPerHour: z.number().int().min(1).max(1_000_000).optional(),
          lifetime: z
            .string()
            .trim()
            .regex(/^\d+\s*[smhdwy]$/i, 'expected a duration such as 90d, 24h')
            .transform((v) => parseDuration(v))
            .optional(),
        })
        .strict(),
    )
    .output(acmeDirectorySchema)
    .mutation(async ({ ctx, input }) => {
      const { lifetime, ...rest } = input;
      const d = await ctx.authority.acme.enable({ ...rest, lifetimeMs: lifetime }, ctx.actor);
      return toAcmeDirectoryDto(d, publicUrlOf(ctx));
    }),

  disable: procedure()
    .input(z.object({ ca: caRef }).strict())
    .output(acmeDisableResultSchema)
    .mutation(({ ctx, input }) => ctx.authority.acme.disable(input.ca, ctx.actor)),

  accounts: procedure()
    .input(z.object({ ca: caRef.optional() }).strict().optional())
    .output(acmeAccountPageSchema)
    .query(async ({ ctx, input }) => onePage(await ctx.authority.acme.listAccounts(input?.ca, ctx.actor))),

  deactivateAccount: procedure()
    .input(z.object({ id: idSchema }).strict())
    .output(acmeDeactivateResultSchema)
    .mutation(({ ctx, input }) => ctx.authority.acmeAdmin.deactivateAccount(input.id, ctx.actor)),

  /** newest first, of one account or of every account of a directory; keyset-paged (`cursor`) */
  orders: procedure()
    .input(acmeOrderListInputSchema)
    .output(acmeOrderPageSchema)
    .query(({ ctx, input }) => ctx.authority.acmeAdmin.listOrders(input ?? {}, ctx.actor)),

  eabKeys: procedure()
    .input(z.object({ ca: caRef.optional() }).strict().optional())
    .output(acmeEabKeyPageSchema)
    .query(async ({ ctx, input }) => onePage(await ctx.authority.acme.listEabKeys(input?.ca, ctx.actor))),

  /** `hmacKey` (base64url) is in this response only */
  createEabKey: procedure()
    .input(z.object({ ca: caRef }).strict())
    .output(acmeEabKeyCreatedSchema)
    .mutation(({ ctx, input }) => ctx.authority.acme.createEabKey(input.ca, ctx.actor)),

  revokeEabKey: procedure()
    .input(z.object({ kid: idSchema }).strict())
    .output(acmeEabKeyRevokedSchema)
    .mutation(({ ctx, input }) => ctx.authority.acme.revokeEabKey(input.kid, ctx.actor)),

  /**
   * every ACME action (account, order, challenge, finalize, revocation, EAB key, directory), newest first; `cursor`
   * continues after the previous page (as `audit.list`)
   */
  events: procedure()
    .input(
      z
        .object({ limit: z.number().int().min(1).max(500).optional(), cursor: auditListInputSchema.shape.cursor })
        .strict()
        .optional(),
    )
    .output(auditEventPageSchema)
    .query(async ({ ctx, input }) => {
      const limit = input?.limit ?? 100;
      const afterSeq = input?.cursor ? Number(input.cursor) : undefined;
      return toAuditEventPage(
        await ctx.authority.audit.list({ action: 'acme.*', order: 'desc', limit, afterSeq }),
        limit,
      );
    }),
});
