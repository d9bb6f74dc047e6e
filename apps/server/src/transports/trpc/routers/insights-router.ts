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
  isoTime,
  profileSummaryPageSchema,
  toDashboardDto,
  toProfileEntryDto,
  toCertificateDto,
} from '@pkim/contract';
import { formatDuration } from '@pkim/shared';
import { procedure, router } from '../trpc-init';

/** Read models of the web console, answered by the authority's insights service. */
export const insightsRouter = router({
  /** counters, expiring-soon list, recent audit, key-backend health and warnings */
  dashboard: procedure()
    .output(dashboardSchema)
    .query(async ({ ctx }) => {
      const d = await ctx.authority.insights.dashboard(
        {
          audit: hasPermission(ctx.actor, 'audit:read'),
          certificates: hasPermission(ctx.actor, 'certificate:read'),
        },
        ctx.actor,
      );
      return toDashboardDto(d);
    }),

  /** active certificates expiring per day over the next `days` days */
  expiryTimeline: procedure()
    .input(expiryTimelineInputSchema.optional())
    .output(expiryTimelineSchema)
    .query(async ({ ctx, input }) => {
      const t = await ctx.authority.insights.expiryTimeline(input);
      return {
        from: isoTime(t.from),
        to: isoTime(t.to),
        bucket: formatDuration(t.bucketMs),
        buckets: t.buckets.map((b) => ({ start: isoTime(b.start), count: b.count })),
        total: t.total,
      };
    }),

  /** CAs and certificates by id, name, CN, SAN, serial or fingerprint */
  search: procedure()
    .input(globalSearchInputSchema)
    .output(globalSearchSchema)
    .query(async ({ ctx, input }) => {
      const r = await ctx.authority.insights.search(input.q, input.limit, ctx.actor);
      return {
        cas: r.cas.map((c) => ({ id: c.id, name: c.name, subject: c.subjectDn, status: c.status, match: c.match })),
        certificates: r.certificates.map((c) => ({ ...toCertificateDto(c), match: c.match })),
      };
    }),

  /** DNS names covered by active certificates, with counts and expiry range */
  domains: procedure()
    .input(domainsInputSchema.optional())
    .output(domainsPageSchema)
    .query(async ({ ctx, input = {} }) => {
      const page = await ctx.authority.insights.domains(input, ctx.actor);
      return {
        items: page.items.map((n) => ({
          ...n,
          firstNotAfter: isoTime(n.firstNotAfter),
          lastNotAfter: isoTime(n.lastNotAfter),
        })),
        nextCursor: page.nextCursor,
      };
    }),

  /** certificate profiles (built-in and custom) for the issue and request forms */
  profiles: procedure()
    .output(profileSummaryPageSchema)
    .query(async ({ ctx }) => ({
      items: (await ctx.authority.profileCatalog.list(ctx.actor)).map(toProfileEntryDto),
      nextCursor: null,
    })),

  /** decoded preview of a CSR (proof of possession checked) */
  decodeCsr: procedure()
    .input(decodeInputSchema)
    .output(decodedCsrSchema)
    .mutation(({ ctx, input }) => ctx.authority.insights.decodeCsr(input.pem)),

  /** every decoded field of a PEM certificate */
  decodeCertificate: procedure()
    .input(decodeInputSchema)
    .output(decodedCertificateSchema)
    .query(({ ctx, input }) => {
      const c = ctx.authority.insights.decodeCertificate(input.pem);
      return { ...c, notBefore: isoTime(c.notBefore), notAfter: isoTime(c.notAfter) };
    }),
});
