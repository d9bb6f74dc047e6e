import { formatDuration } from '@pkim/shared';
import { isoTime, isoTimeOrNull } from './common-mappers';
import type { RequestDto, RequestRecord } from './request-schemas';

/**
 * The contract's wire mappers for certificate requests: the authority's records (epoch ms, lifetimes in ms) → the
 * DTOs of ./request-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a
 * schema (docs/architecture.md, "packages/contract").
 */

export function toRequestDto(r: RequestRecord): RequestDto {
  return {
    id: r.id,
    caId: r.caId,
    csr: r.csrPem,
    subject: r.subjectDn,
    sans: r.sans,
    profile: r.profile,
    ttl: r.validityMs === null ? null : formatDuration(r.validityMs),
    status: r.status,
    requester: r.requester,
    reviewer: r.reviewer,
    reason: r.reason,
    certificateId: r.certificateId,
    createdAt: isoTime(r.createdAt),
    reviewedAt: isoTimeOrNull(r.reviewedAt),
    updatedAt: isoTime(r.updatedAt),
  };
}
