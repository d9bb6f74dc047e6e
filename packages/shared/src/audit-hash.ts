import { createHash } from 'node:crypto';

/** The fields of an audit event that the hash chain covers. */
export interface AuditEventContent {
  seq: number;
  id: string;
  time: number; // epoch ms
  actor: string;
  action: string; // noun.verb, e.g. certificate.issued
  target: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Deterministic JSON: object keys sorted recursively, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** hash = SHA-256(prevHash ‖ canonical(event)) as lowercase hex. */
export function computeAuditHash(prevHash: string, event: AuditEventContent): string {
  const canonical = canonicalJson({
    seq: event.seq,
    id: event.id,
    time: event.time,
    actor: event.actor,
    action: event.action,
    target: event.target,
    outcome: event.outcome,
    details: event.details,
  });
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}
