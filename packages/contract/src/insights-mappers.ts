import type { z } from 'zod';
import { formatDuration } from '@pkim/shared';
import type { ProfileRecord, profileSummarySchema } from './insights-schemas';

/**
 * The contract's wire mappers for profile summaries: the authority's records (epoch ms, lifetimes in ms) → the DTOs
 * of ./insights-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a
 * schema (docs/architecture.md, "packages/contract").
 */

export function toProfileSummaryDto(p: ProfileRecord): z.infer<typeof profileSummarySchema> {
  return {
    name: p.name,
    description: p.description ?? null,
    isCa: p.isCa,
    allowedSanTypes: [...p.allowedSanTypes],
    sanRequired: p.sanRequired,
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
  };
}
