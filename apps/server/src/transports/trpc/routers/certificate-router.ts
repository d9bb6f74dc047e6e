import {
  certificateDeleteInputSchema,
  certificateDeletedSchema,
  certificateDetailSchema,
  certificateExpiringInputSchema,
  certificateGetInputSchema,
  certificateIssueInputSchema,
  certificateIssueWithKeyInputSchema,
  certificateListInputSchema,
  certificatePageSchema,
  certificateRevokeInputSchema,
  certificateRevokePresentedInputSchema,
  expiringWithinMsOf,
  issuedCertificateSchema,
  pageOf,
  toCertificateDeletedDto,
  toCertificateDetailDto,
  toCertificateDto,
  toIssuedCertificateDto,
  ttlToMs,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

const DAY_MS = 86_400_000;

export const certificateRouter = router({
  list: procedure()
    .input(certificateListInputSchema.optional())
    .output(certificatePageSchema)
    .query(async ({ ctx, input = {} }) => {
      const within = expiringWithinMsOf(input);
      const page = await ctx.authority.certificates.list(
        {
          caId: input.ca,
          status: input.status,
          profile: input.profile,
          expiringBefore: within === undefined ? undefined : ctx.authority.clock.now() + within,
          search: input.search,
          sort: input.sort,
          limit: input.limit,
          cursor: input.cursor,
        },
        ctx.actor,
      );
      return pageOf(page, toCertificateDto);
    }),

  get: procedure()
    .input(certificateGetInputSchema)
    .output(certificateDetailSchema)
    .query(async ({ ctx, input }) => {
      const row = await ctx.authority.certificates.find(input.ref, ctx.actor);
      return toCertificateDetailDto(await ctx.authority.certificates.get(row.id, ctx.actor));
    }),

  issue: procedure()
    .input(certificateIssueInputSchema)
    .output(issuedCertificateSchema)
    .mutation(async ({ ctx, input }) =>
      toIssuedCertificateDto(
        await ctx.authority.issuance.issueFromCsr(
          {
            caId: input.ca,
            csrPem: input.csr,
            profile: input.profile,
            validityMs: input.ttl === undefined ? undefined : ttlToMs(input.ttl),
            sans: input.sans,
            subject: input.subject,
          },
          ctx.actor,
        ),
      ),
    ),

  /** server-generated key: the private key is returned once and never stored */
  issueWithKey: procedure()
    .input(certificateIssueWithKeyInputSchema)
    .output(issuedCertificateSchema)
    .mutation(async ({ ctx, input }) =>
      toIssuedCertificateDto(
        await ctx.authority.issuance.issueWithKey(
          {
            caId: input.ca,
            profile: input.profile,
            subject: input.subject,
            sans: input.sans,
            keyType: input.keyType,
            validityMs: input.ttl === undefined ? undefined : ttlToMs(input.ttl),
            keepKey: input.keepKey,
          },
          ctx.actor,
        ),
      ),
    ),

  revoke: procedure()
    .input(certificateRevokeInputSchema)
    .output(certificateDetailSchema)
    .mutation(async ({ ctx, input }) => {
      const row = await ctx.authority.certificates.revoke(input.ref, input.reason, ctx.actor);
      return toCertificateDetailDto(await ctx.authority.certificates.get(row.id));
    }),

  /** a certificate given as PEM, stored here or not (the authority's revokePresented; expired ones too, as by ref) */
  revokePresented: procedure()
    .input(certificateRevokePresentedInputSchema)
    .output(certificateDetailSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.certificates.revokePresented(
        { ...input, allowExpired: true, refuseRevoked: true },
        ctx.actor,
      );
      if ('expired' in r) throw new Error('unreachable: allowExpired');
      return toCertificateDetailDto(await ctx.authority.certificates.get(r.certificate.id));
    }),

  /** an expired record (the rule and the permission are the certificate service's) */
  delete: procedure()
    .input(certificateDeleteInputSchema)
    .output(certificateDeletedSchema)
    .mutation(async ({ ctx, input }) =>
      toCertificateDeletedDto(await ctx.authority.certificates.delete(input.ref, ctx.actor)),
    ),

  expiring: procedure()
    .input(certificateExpiringInputSchema.optional())
    .output(certificatePageSchema)
    .query(async ({ ctx, input }) => {
      const withinDays = input?.withinDays ?? 30;
      const page = await ctx.authority.certificates.list(
        {
          expiringBefore: ctx.authority.clock.now() + withinDays * DAY_MS,
          sort: 'expiry_asc',
          limit: input?.limit ?? 100,
          cursor: input?.cursor,
        },
        ctx.actor,
      );
      return pageOf(page, toCertificateDto);
    }),
});
