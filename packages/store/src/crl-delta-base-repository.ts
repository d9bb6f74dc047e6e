/**
 * The stored bases of delta CRLs and the claims to sign the next one (crl-delta-base-types.ts). Direct writes, no
 * audit: the complete CRL's signature is audited by the CRL service (`crl.generated`); these rows only let the other
 * processes serve it and sign its deltas, and one process sign it.
 */
import { and, eq, lt } from 'drizzle-orm';
import type { CrlDeltaBaseRepository } from './crl-delta-base-types';
import { affectedRows, type QueryDb, type Tables } from './query-db';

export function createCrlDeltaBaseRepository(db: QueryDb, t: Tables): CrlDeltaBaseRepository {
  const B = t.crlDeltaBases;
  const C = t.crlDeltaBaseClaims;
  return {
    async find(caId) {
      const [row] = await db.select().from(B).where(eq(B.caId, caId));
      if (!row) return undefined;
      return {
        caId: row.caId,
        crlNumber: Number(row.crlNumber),
        thisUpdate: Number(row.thisUpdate),
        nextUpdate: Number(row.nextUpdate),
        der: new Uint8Array(Buffer.from(row.der, 'base64')),
        serials: row.serials ? row.serials.split('\n') : [],
      };
    },
    async crlNumber(caId) {
      const [row] = await db.select({ crlNumber: B.crlNumber }).from(B).where(eq(B.caId, caId));
      return row ? Number(row.crlNumber) : undefined;
    },
    async put(row) {
      const values = {
        caId: row.caId,
        crlNumber: row.crlNumber,
        thisUpdate: row.thisUpdate,
        nextUpdate: row.nextUpdate,
        der: Buffer.from(row.der).toString('base64'),
        serials: row.serials.join('\n'),
      };
      const { caId: _key, ...rest } = values;
      const result = await db
        .insert(B)
        .values(values)
        .onConflictDoUpdate({ target: B.caId, set: rest, setWhere: lt(B.crlNumber, row.crlNumber) });
      return affectedRows(result) > 0;
    },
    async claim(claim, now) {
      // as the idempotency keys' claim: insert if absent; an expired claim is removed (only that one: two processes
      // taking over the same claim remove it once) and taken again
      for (let attempt = 0; attempt < 2; attempt++) {
        const inserted = await db.insert(C).values(claim).onConflictDoNothing({ target: C.caId });
        if (affectedRows(inserted) > 0) return undefined;
        const [found] = await db.select().from(C).where(eq(C.caId, claim.caId));
        if (!found) continue; // released in between: claim again
        if (found.owner === claim.owner) return undefined;
        const held = { caId: found.caId, owner: found.owner, expiresAt: Number(found.expiresAt) };
        if (held.expiresAt > now) return held;
        await db.delete(C).where(and(eq(C.caId, claim.caId), eq(C.owner, found.owner)));
      }
      // taken and released twice meanwhile: not this owner's (the caller asks again)
      const [found] = await db.select().from(C).where(eq(C.caId, claim.caId));
      if (found?.owner === claim.owner) return undefined;
      return found
        ? { caId: found.caId, owner: found.owner, expiresAt: Number(found.expiresAt) }
        : { ...claim, owner: '' };
    },
    async release(caId, owner) {
      await db.delete(C).where(and(eq(C.caId, caId), eq(C.owner, owner)));
    },
  };
}
