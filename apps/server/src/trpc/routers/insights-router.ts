import { hasPermission } from '@pkim/authority';
import {
  dashboardSchema,
  decodeInputSchema,
  decodedCertificateSchema,
  decodedCsrSchema,
  domainsInputSchema,
  domainsPageSchema,
  expiryTimelineInputSchema,
  expiryTimelineSchema,
  globalSearchInputSchema,
  globalSearchSchema,
} from '@pkim/shared';
import { procedure, router } from '../trpc-init';

/** Read models of the web console, answered by the authority's insights service. */
export const insightsRouter = router({
  /** counters, expiring-soon list, recent audit, key-backend health and warnings */
  dashboard: procedure('system:read')
    .output(dashboardSchema)
    .query(({ ctx }) =>
      ctx.authority.insights.dashboard({
        audit: hasPermission(ctx.actor, 'audit:read'),
        certificates: hasPermission(ctx.actor, 'certificate:read'),
      }),
    ),

  /** active certificates expiring per day over the next `days` days */
  expiryTimeline: procedure('certificate:read')
    .input(expiryTimelineInputSchema.optional())
    .output(expiryTimelineSchema)
    .query(({ ctx, input }) => ctx.authority.insights.expiryTimeline(input)),

  /** CAs and certificates by id, name, CN, SAN, serial or fingerprint */
  search: procedure('certificate:read')
    .input(globalSearchInputSchema)
    .output(globalSearchSchema)
    .query(({ ctx, input }) => ctx.authority.insights.search(input.q, input.limit)),

  /** DNS names covered by active certificates, with counts and expiry range */
  domains: procedure('certificate:read')
    .input(domainsInputSchema.optional())
    .output(domainsPageSchema)
    .query(({ ctx, input = {} }) => ctx.authority.insights.domains(input)),

  /** decoded preview of a CSR (proof of possession checked) */
  decodeCsr: procedure('account:self')
    .input(decodeInputSchema)
    .output(decodedCsrSchema)
    .mutation(({ ctx, input }) => ctx.authority.insights.decodeCsr(input.pem)),

  /** every decoded field of a PEM certificate */
  decodeCertificate: procedure('account:self')
    .input(decodeInputSchema)
    .output(decodedCertificateSchema)
    .query(({ ctx, input }) => ctx.authority.insights.decodeCertificate(input.pem)),
});
