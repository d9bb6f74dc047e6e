import { GENESIS_HASH, computeAuditHash } from '@pkim/shared';
import type { AuditEventRow, AuditRepository } from './types';

export const AUDIT_VERIFY_BATCH = 1000;

type VerifyResult = Awaited<ReturnType<AuditRepository['verify']>>;

/**
 * Walks the chain in batches of `batch` rows by seq (never all rows at once), recomputing each
 * hash and checking seq continuity and the prevHash link. Reports the first broken event.
 */
export async function verifyAuditChain(
  readBatch: (afterSeq: number, limit: number) => Promise<AuditEventRow[]>,
  batch = AUDIT_VERIFY_BATCH,
): Promise<VerifyResult> {
  let count = 0;
  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  for (;;) {
    const rows = await readBatch(lastSeq, batch);
    for (const r of rows) {
      const seq = Number(r.seq);
      const broken = (reason: string): VerifyResult => ({
        ok: false,
        count,
        brokenAtSeq: seq,
        brokenEventId: r.id,
        reason,
      });
      if (seq !== lastSeq + 1) return broken(`seq ${seq} follows ${lastSeq}: ${seq - lastSeq - 1} event(s) missing`);
      if (r.prevHash !== lastHash)
        return broken(`prevHash does not match the hash of event ${lastSeq === 0 ? 'genesis' : lastSeq}`);
      const expected = computeAuditHash(r.prevHash, {
        seq,
        id: r.id,
        time: Number(r.time),
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: r.outcome,
        details: r.details,
      });
      if (expected !== r.hash)
        return broken('the stored hash does not match the event content (the event was modified)');
      count += 1;
      lastSeq = seq;
      lastHash = r.hash;
    }
    if (rows.length < batch) return { ok: true, count, lastHash };
  }
}
