import { isoTime } from './common-mappers';
import type {
  AuditActorDto,
  AuditCheckpointDto,
  AuditEventDto,
  AuditEventRecord,
  AuditVerifyDto,
} from './audit-schemas';

/**
 * The contract's wire mappers for audit events, checkpoints and verification results: the authority's records
 * (epoch ms, lifetimes in ms) → the DTOs of ./audit-schemas.ts. Types only from zod: a `--json` command prints
 * through these without evaluating a schema (docs/architecture.md, "packages/contract").
 */

export function toAuditEventDto(e: AuditEventRecord): AuditEventDto {
  return {
    seq: e.seq,
    id: e.id,
    time: isoTime(e.time),
    actor: e.actor,
    actorName: e.actorName,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: e.details,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/**
 * A page of events in the listing order. `nextCursor` is the last event's sequence number (keyset: older events
 * for `desc`, newer for `asc`); null when the page was not full.
 */
export function toAuditEventPage(rows: AuditEventRecord[], limit: number) {
  const last = rows[rows.length - 1];
  return { items: rows.map(toAuditEventDto), nextCursor: rows.length >= limit && last ? String(last.seq) : null };
}

/** a page of the audit log's actors by name → the wire (no field beyond the DTO's) */
export function toAuditActorPage(page: {
  items: readonly (Omit<AuditActorDto, 'createdAt'> & { createdAt: number })[];
  nextCursor: string | null;
}) {
  return {
    items: page.items.map(({ id, kind, name, createdAt }) => ({ id, kind, name, createdAt: isoTime(createdAt) })),
    nextCursor: page.nextCursor,
  };
}

/** the authority's checkpoint (its time in epoch ms) → the wire (RFC 3339) */
export function toAuditCheckpointDto(cp: Omit<AuditCheckpointDto, 'time'> & { time: number }): AuditCheckpointDto {
  return { ...cp, time: isoTime(cp.time) };
}

/** the authority's verification result (a checkpoint's time in epoch ms) → the wire (RFC 3339) */
export function toAuditVerifyDto(
  r:
    | (Omit<Extract<AuditVerifyDto, { ok: true }>, 'checkpoint'> & {
        checkpoint?: { seq: number; hash: string; time: number; source: 'database' | 'file' } | null;
      })
    | Extract<AuditVerifyDto, { ok: false }>,
): AuditVerifyDto {
  if (!r.ok) return r;
  const cp = r.checkpoint;
  return { ...r, checkpoint: cp ? { ...cp, time: isoTime(cp.time) } : null };
}
