/**
 * Answers kept for `Idempotency-Key` retries (idempotency-types.ts). Direct writes, no audit: the audit events are
 * the creation's own; this row only lets a retry get the first answer. Every change after the claim is conditional
 * on the claimer (`owner`), so a request whose claim was taken over cannot overwrite the new one.
 */
import { and, eq, lte } from 'drizzle-orm';
import type { IdempotencyRepository } from './idempotency-types';
import { affectedRows, type QueryDb, type Tables } from './query-db';

export function createIdempotencyRepository(db: QueryDb, t: Tables): IdempotencyRepository {
  const I = t.idempotencyKeys;
  const one = (scope: string, key: string) => and(eq(I.scope, scope), eq(I.key, key));
  return {
    async claim(row, now, staleBefore) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const inserted = await db
          .insert(I)
          .values(row)
          .onConflictDoNothing({ target: [I.scope, I.key] });
        if (affectedRows(inserted) > 0) return undefined;
        const [found] = await db.select().from(I).where(one(row.scope, row.key));
        if (!found) continue; // deleted in between: claim again
        const gone = found.expiresAt <= now || (found.state === 'running' && found.createdAt < staleBefore);
        if (!gone) return found;
        // only this row (its owner): two requests taking over the same stale row delete it once
        await db.delete(I).where(and(one(row.scope, row.key), eq(I.owner, found.owner)));
      }
      const [found] = await db.select().from(I).where(one(row.scope, row.key));
      return found ?? { ...row, state: 'running' };
    },
    async complete(scope, key, owner, answer) {
      const result = await db
        .update(I)
        .set({ state: 'done', ...answer })
        .where(and(one(scope, key), eq(I.owner, owner), eq(I.state, 'running')));
      return affectedRows(result) > 0;
    },
    async release(scope, key, owner) {
      await db.delete(I).where(and(one(scope, key), eq(I.owner, owner), eq(I.state, 'running')));
    },
    async deleteExpired(now) {
      return affectedRows(await db.delete(I).where(lte(I.expiresAt, now)));
    },
  };
}
