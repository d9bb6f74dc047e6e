/**
 * The stored bases of delta CRLs (crl-delta-base-types.ts). Direct writes, no audit: the complete CRL's signature is
 * audited by the CRL service (`crl.generated`); this row only lets the other processes serve it and sign its deltas.
 */
import { eq, lt } from 'drizzle-orm';
import type { CrlDeltaBaseRepository } from './crl-delta-base-types';
import { affectedRows, type QueryDb, type Tables } from './query-db';

export function createCrlDeltaBaseRepository(db: QueryDb, t: Tables): CrlDeltaBaseRepository {
  const B = t.crlDeltaBases;
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
  };
}
