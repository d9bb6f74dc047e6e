/**
 * The stored bases of delta CRLs, the stored delta CRLs, and the claims to sign the next of each
 * (crl-delta-base-types.ts). Direct writes, no audit: a CRL's signature is audited by the CRL service
 * (`crl.generated`); these rows only let the other processes serve it (and sign deltas of a base), and one process sign
 * it.
 */
import { and, eq, lt, lte, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type {
  CrlDeltaBaseClaim,
  CrlDeltaBaseRepository,
  CrlDeltaBaseRow,
  CrlDeltaRepository,
  CrlDeltaRow,
} from './crl-delta-base-types';
import { affectedRows, asQueryDb, type QueryDb, type Tables } from './query-db';
import type { StoreDialect } from './types';

type ClaimTable = Tables['crlDeltaBaseClaims'] | Tables['crlDeltaClaims'];

/**
 * the claim operations on `C` (crl_delta_base_claims or crl_delta_claims, `name`), and `writeClaimed`: a write by the
 * claim's holder only, atomically with the check
 */
function claimsOn(db: QueryDb, t: Tables, dialect: StoreDialect, C: ClaimTable, name: string) {
  const holds = (caId: string, owner: string) => and(eq(C.caId, caId), eq(C.owner, owner));
  const read = async (caId: string): Promise<CrlDeltaBaseClaim | undefined> => {
    const [found] = await db.select().from(C).where(eq(C.caId, caId));
    return found && { caId: found.caId, owner: found.owner, expiresAt: Number(found.expiresAt) };
  };
  const removeExpired = async (caId: string, owner: string, now: number) =>
    affectedRows(await db.delete(C).where(and(holds(caId, owner), lte(C.expiresAt, now)))) > 0;
  return {
    /**
     * `write` (an upsert that changes a row only when newer: its affected rows) if `owner` holds the CA's claim:
     * 'stored', 'older' or 'unclaimed'
     */
    writeClaimed: async (
      caId: string,
      owner: string,
      write: {
        sqlite: (tx: Pick<QueryDb, 'insert'>) => number;
        pg: (q: QueryDb) => Promise<number>;
      },
    ): Promise<'stored' | 'older' | 'unclaimed'> => {
      if (dialect === 'sqlite') {
        // one synchronous transaction holding the write lock from its start: no takeover between check and write
        return db.transaction(
          (tx) => {
            const [claim] = tx.select({ owner: C.owner }).from(C).where(eq(C.caId, caId)).all();
            if (claim?.owner !== owner) return 'unclaimed' as const;
            return write.sqlite(tx) > 0 ? ('stored' as const) : ('older' as const);
          },
          { behavior: 'immediate' },
        );
      }
      // PostgreSQL: the claim row locked (FOR UPDATE) until the row is written; a takeover's delete waits for it
      return (db as unknown as NodePgDatabase).transaction(async (tx) => {
        const locked = await tx.execute<{ owner: string }>(
          sql`select owner from ${sql.identifier(name)} where ca_id = ${caId} for update`,
        );
        if (locked.rows[0]?.owner !== owner) return 'unclaimed' as const;
        return (await write.pg(asQueryDb(tx, t).db)) > 0 ? ('stored' as const) : ('older' as const);
      });
    },
    renew: async (caId: string, owner: string, expiresAt: number) => {
      return affectedRows(await db.update(C).set({ expiresAt }).where(holds(caId, owner))) > 0;
    },
    claim: async (claim: CrlDeltaBaseClaim, now: number): Promise<CrlDeltaBaseClaim | undefined> => {
      // as the idempotency keys' claim: insert if absent; an expired claim is removed (only that one, and only while
      // still expired: a renewal between the read and the delete keeps it) and taken again
      for (let attempt = 0; attempt < 2; attempt++) {
        const inserted = await db.insert(C).values(claim).onConflictDoNothing({ target: C.caId });
        if (affectedRows(inserted) > 0) return undefined;
        const held = await read(claim.caId);
        if (!held) continue; // released in between: claim again
        if (held.owner === claim.owner) return undefined;
        if (held.expiresAt > now) return held;
        if (await removeExpired(claim.caId, held.owner, now)) continue; // taken over: insert again
        // renewed (or released, or taken by a third owner) since the read: as it is now
        const current = await read(claim.caId);
        if (!current) continue;
        return current.owner === claim.owner ? undefined : current;
      }
      // taken and released twice meanwhile: not this owner's (the caller asks again)
      const found = await read(claim.caId);
      if (found?.owner === claim.owner) return undefined;
      return found ?? { ...claim, owner: '' };
    },
    removeExpired,
    findClaim: read,
    release: async (caId: string, owner: string) => {
      await db.delete(C).where(holds(caId, owner));
    },
  };
}

export function createCrlDeltaBaseRepository(db: QueryDb, t: Tables, dialect: StoreDialect): CrlDeltaBaseRepository {
  const B = t.crlDeltaBases;
  const claims = claimsOn(db, t, dialect, t.crlDeltaBaseClaims, 'crl_delta_base_claims');
  const columns = (row: CrlDeltaBaseRow) => ({
    caId: row.caId,
    crlNumber: row.crlNumber,
    thisUpdate: row.thisUpdate,
    nextUpdate: row.nextUpdate,
    der: Buffer.from(row.der).toString('base64'),
    serials: row.serials.join('\n'),
  });
  /** the upsert of `put`, on `q` (the database or a transaction) */
  const upsert = (q: Pick<QueryDb, 'insert'>, row: CrlDeltaBaseRow) => {
    const values = columns(row);
    const { caId: _key, ...rest } = values;
    return q
      .insert(B)
      .values(values)
      .onConflictDoUpdate({ target: B.caId, set: rest, setWhere: lt(B.crlNumber, row.crlNumber) });
  };
  const { writeClaimed, ...claimOps } = claims;
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
      return affectedRows(await upsert(db, row)) > 0;
    },
    putClaimed(row, owner) {
      return writeClaimed(row.caId, owner, {
        sqlite: (tx) => (upsert(tx, row) as unknown as { run(): { changes: number } }).run().changes,
        pg: async (q) => affectedRows(await upsert(q, row)),
      });
    },
    ...claimOps,
  };
}

export function createCrlDeltaRepository(db: QueryDb, t: Tables, dialect: StoreDialect): CrlDeltaRepository {
  const D = t.crlDeltas;
  const { writeClaimed, ...claimOps } = claimsOn(db, t, dialect, t.crlDeltaClaims, 'crl_delta_claims');
  /** insert, or replace the stored delta when `row`'s CRL number is greater */
  const upsert = (q: Pick<QueryDb, 'insert'>, row: CrlDeltaRow) => {
    const values = { ...row, der: Buffer.from(row.der).toString('base64') };
    const { caId: _key, ...rest } = values;
    return q
      .insert(D)
      .values(values)
      .onConflictDoUpdate({ target: D.caId, set: rest, setWhere: lt(D.crlNumber, row.crlNumber) });
  };
  return {
    async find(caId) {
      const [row] = await db.select().from(D).where(eq(D.caId, caId));
      if (!row) return undefined;
      return {
        caId: row.caId,
        crlNumber: Number(row.crlNumber),
        baseCrlNumber: Number(row.baseCrlNumber),
        thisUpdate: Number(row.thisUpdate),
        nextUpdate: Number(row.nextUpdate),
        stamp: row.stamp,
        der: new Uint8Array(Buffer.from(row.der, 'base64')),
      };
    },
    putClaimed(row, owner) {
      return writeClaimed(row.caId, owner, {
        sqlite: (tx) => (upsert(tx, row) as unknown as { run(): { changes: number } }).run().changes,
        pg: async (q) => affectedRows(await upsert(q, row)),
      });
    },
    ...claimOps,
  };
}
