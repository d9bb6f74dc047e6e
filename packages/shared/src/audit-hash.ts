import { hash } from 'node:crypto';

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

/**
 * Deterministic JSON: object keys sorted recursively, no whitespace. Every audit hash ever stored depends on these
 * exact bytes: `canonicalJsonReference` in test/audit-hash.test.ts is the original definition, and a differential
 * test checks both give the same string for arbitrary values. Built by appending to one string (no per-level
 * arrays from map/filter/join): the audit hash of every issued certificate runs it.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) s += ',';
      const v: unknown = value[i];
      if (v === undefined && !(i in value)) continue; // a hole: empty, as Array.prototype.join writes it
      // a function or symbol gives undefined: also empty in join
      const item = canonicalJson(v === undefined ? null : v) as string | undefined;
      if (item !== undefined) s += item;
    }
    return `${s}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort(); // UTF-16 code unit order; keys with undefined values are left out below
  let s = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) s += ',';
    first = false;
    s += `${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${s}}`;
}

/**
 * hash = SHA-256(prevHash ‖ canonical(event)) as lowercase hex. The event's eight fields are written in their sorted
 * order directly (action, actor, details, id, outcome, seq, target, time) — what canonicalJson of the object gives
 * when none is undefined; otherwise canonicalJson of the object (which leaves the undefined ones out).
 */
export function computeAuditHash(prevHash: string, event: AuditEventContent): string {
  const { seq, id, time, actor, action, target, outcome, details } = event;
  const canonical =
    seq === undefined ||
    id === undefined ||
    time === undefined ||
    actor === undefined ||
    action === undefined ||
    target === undefined ||
    outcome === undefined ||
    details === undefined
      ? canonicalJson({ seq, id, time, actor, action, target, outcome, details })
      : `{"action":${canonicalJson(action)},"actor":${canonicalJson(actor)},"details":${canonicalJson(details)},` +
        `"id":${canonicalJson(id)},"outcome":${canonicalJson(outcome)},"seq":${canonicalJson(seq)},` +
        `"target":${canonicalJson(target)},"time":${canonicalJson(time)}}`;
  return hash('sha256', prevHash + canonical, 'hex');
}
