import type { z } from 'zod';
import { DEFAULT_MAX_SAN_BYTES, DEFAULT_MAX_SANS } from '@pkim/core';
import { formatDuration, impossibleKeyUsageIssues } from '@pkim/shared';
import type { DashboardDto, ProfileRecord, profileSummarySchema } from './insights-schemas';
import type { AuditEventRecord } from './audit-schemas';
import type { CertificateRecord } from './certificate-schemas';
import { toAuditEventDto } from './audit-mappers';
import { toCertificateDto } from './certificate-mappers';
import { isoTime } from './common-mappers';

/**
 * The contract's wire mappers for profile summaries: the authority's records (epoch ms, lifetimes in ms) → the DTOs
 * of ./insights-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a
 * schema (docs/architecture.md, "packages/contract").
 */

/** The authority's dashboard (`insights.dashboard`: epoch ms, the store's rows) — what {@link toDashboardDto} maps. */
export type DashboardRecord = Omit<DashboardDto, 'generatedAt' | 'expiringSoon' | 'recentAudit'> & {
  generatedAt: number;
  expiringSoon: CertificateRecord[];
  recentAudit: AuditEventRecord[];
};

/** the dashboard on the wire: tRPC/REST `insights.dashboard` and `pkim dashboard --json` */
export function toDashboardDto(d: DashboardRecord): DashboardDto {
  return {
    ...d,
    generatedAt: isoTime(d.generatedAt),
    expiringSoon: d.expiringSoon.map(toCertificateDto),
    recentAudit: d.recentAudit.map(toAuditEventDto),
  };
}

/** a profile with where it comes from (`source`: built-in, the profiles file, the API) */
export function toProfileSummaryDto(
  p: ProfileRecord,
  source: z.infer<typeof profileSummarySchema>['source'],
): z.infer<typeof profileSummarySchema> {
  return {
    name: p.name,
    source,
    description: p.description ?? null,
    isCa: p.isCa,
    allowedSanTypes: [...p.allowedSanTypes],
    sanRequired: p.sanRequired,
    requiredSanTypes: [...(p.requiredSanTypes ?? [])],
    allowedUriSchemes: p.allowedUriSchemes ? [...p.allowedUriSchemes] : null,
    maxUriSans: p.maxUriSans ?? null,
    maxSans: p.maxSans ?? null,
    maxSanBytes: p.maxSanBytes ?? null,
    effectiveMaxSans: p.maxSans ?? DEFAULT_MAX_SANS,
    effectiveMaxSanBytes: p.maxSanBytes ?? DEFAULT_MAX_SAN_BYTES,
    allowedKeyTypes: [...p.allowedKeyTypes],
    defaultLifetime: formatDuration(p.defaultLifetimeMs),
    maxLifetime: formatDuration(p.maxLifetimeMs),
    keyUsage: [...p.keyUsage],
    rsaKeyUsage: [...(p.rsaKeyUsage ?? [])],
    extKeyUsage: [...p.extKeyUsage],
    extKeyUsageOids: [...(p.extKeyUsageOids ?? [])],
    certificatePolicies: (p.certificatePolicies ?? []).map((c) => ({ ...c })),
    pathLen: p.isCa ? (p.pathLen ?? null) : null,
    extensions: [...new Set([...(p.ocspNoCheck ? ['ocspNoCheck'] : []), ...(p.extensions ?? [])])],
    allowKeyReuse: p.allowKeyReuse ?? false,
    warnings: impossibleKeyUsageIssues(p).map(
      (i) => `${i.path[0]}: ${i.message}: every such issuance fails lint.key_usage_key_type_mismatch`,
    ),
  };
}

/** an authority's profile entry (profileCatalog.list) as the wire's summary */
export const toProfileEntryDto = (e: {
  profile: ProfileRecord;
  source: z.infer<typeof profileSummarySchema>['source'];
}): z.infer<typeof profileSummarySchema> => toProfileSummaryDto(e.profile, e.source);
