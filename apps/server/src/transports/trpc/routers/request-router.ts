import {
  issuedCertificateSchema,
  requestApproveOutputSchema,
  requestIdInputSchema,
  requestListInputSchema,
  requestPageSchema,
  requestRejectInputSchema,
  requestSchema,
  requestSubmitInputSchema,
  pageOf,
  toIssuedCertificateDto,
  toRequestDto,
  ttlToMs,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

/** Certificate requests: requesters submit (and see their own), operators review. */
export const requestRouter = router({
  submit: procedure()
    .input(requestSubmitInputSchema)
    .output(requestSchema)
    .mutation(async ({ ctx, input }) =>
      toRequestDto(
        await ctx.authority.requests.submit(
          {
            caId: input.ca,
            csrPem: input.csr,
            profile: input.profile,
            validityMs: input.ttl === undefined ? undefined : ttlToMs(input.ttl),
          },
          ctx.actor,
        ),
      ),
    ),

  list: procedure()
    .input(requestListInputSchema.optional())
    .output(requestPageSchema)
    .query(async ({ ctx, input = {} }) =>
      pageOf(
        await ctx.authority.requests.list(
          { status: input.status, caId: input.ca, limit: input.limit, cursor: input.cursor },
          ctx.actor,
        ),
        toRequestDto,
      ),
    ),

  get: procedure()
    .input(requestIdInputSchema)
    .output(requestSchema)
    .query(async ({ ctx, input }) => toRequestDto(await ctx.authority.requests.get(input.id, ctx.actor))),

  /** the certificate issued from the request (object + PEM + chain): its requester, or a reader of requests */
  certificate: procedure()
    .input(requestIdInputSchema)
    .output(issuedCertificateSchema)
    .query(async ({ ctx, input }) =>
      toIssuedCertificateDto(await ctx.authority.requests.certificate(input.id, ctx.actor)),
    ),

  approve: procedure()
    .input(requestIdInputSchema)
    .output(requestApproveOutputSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.requests.approve(input.id, ctx.actor);
      return { request: toRequestDto(r.request), certificate: toIssuedCertificateDto(r.issued) };
    }),

  reject: procedure()
    .input(requestRejectInputSchema)
    .output(requestSchema)
    .mutation(async ({ ctx, input }) =>
      toRequestDto(await ctx.authority.requests.reject(input.id, input.reason, ctx.actor)),
    ),
});
