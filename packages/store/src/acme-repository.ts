/**
 * ACME server state (docs/acme.md): accounts, orders, authorizations (with their challenges), EAB keys and
 * nonces. Reads here; writes go through `commit` (`acmeSteps`), in the same transaction as the certificate
 * row and the audit events. Nonces are the exception: they are single-use tokens, not audited state, so
 * `putNonce`/`takeNonce` write directly (a nonce is consumed by one DELETE, safe with several instances).
 */
import { and, asc, count, desc, eq, gt, gte, isNull, lt, lte, or } from 'drizzle-orm';
import { PkiError } from '@pkim/shared';
import type {
  AcmeAccountRow,
  AcmeAuthorizationRow,
  AcmeEabKeyRow,
  AcmeOrderRow,
  AcmeRepository,
  AcmeUnitOfWork,
} from './acme-types';
import { affectedRows, type QueryDb, type Tables } from './query-db';
import type { SqlStep } from './unit-of-work';

export function createAcmeRepository(db: QueryDb, t: Tables): AcmeRepository {
  const A = t.acmeAccounts;
  const O = t.acmeOrders;
  const Z = t.acmeAuthorizations;
  const E = t.acmeEabKeys;
  const N = t.acmeNonces;
  const one = async <T>(q: Promise<unknown[]>): Promise<T | undefined> => (await q)[0] as T | undefined;
  let puts = 0;
  return {
    accountById: (id) => one<AcmeAccountRow>(db.select().from(A).where(eq(A.id, id))),
    accountByThumbprint: (caId, thumbprint) =>
      one<AcmeAccountRow>(
        db
          .select()
          .from(A)
          .where(and(eq(A.caId, caId), eq(A.thumbprint, thumbprint))),
      ),
    listAccounts: async (caId) =>
      await db
        .select()
        .from(A)
        .where(caId ? eq(A.caId, caId) : undefined)
        .orderBy(asc(A.createdAt), asc(A.id)),
    orderById: (id) => one<AcmeOrderRow>(db.select().from(O).where(eq(O.id, id))),
    orderByCertificateId: (id) => one<AcmeOrderRow>(db.select().from(O).where(eq(O.certificateId, id))),
    listOrders: async (accountId, limit = 1000, before) =>
      await db
        .select()
        .from(O)
        .where(
          and(
            eq(O.accountId, accountId),
            before
              ? or(lt(O.createdAt, before.createdAt), and(eq(O.createdAt, before.createdAt), lt(O.id, before.id)))
              : undefined,
          ),
        )
        .orderBy(desc(O.createdAt), desc(O.id))
        .limit(Math.max(1, Math.min(limit, 10_000))),
    async countOrdersSince(accountId, since) {
      const [r] = await db
        .select({ n: count() })
        .from(O)
        .where(and(eq(O.accountId, accountId), gte(O.createdAt, since)));
      return Number(r?.n ?? 0);
    },
    authorizationById: (id) => one<AcmeAuthorizationRow>(db.select().from(Z).where(eq(Z.id, id))),
    authorizationsOfOrder: async (orderId) =>
      await db.select().from(Z).where(eq(Z.orderId, orderId)).orderBy(asc(Z.id)),
    validAuthorizations: async (accountId, type, value, now) =>
      await db
        .select()
        .from(Z)
        .where(
          and(
            eq(Z.accountId, accountId),
            eq(Z.identifierValue, value),
            eq(Z.identifierType, type as 'dns' | 'ip'),
            eq(Z.status, 'valid'),
            gt(Z.expiresAt, now),
          ),
        ),
    eabKeyById: (id) => one<AcmeEabKeyRow>(db.select().from(E).where(eq(E.id, id))),
    listEabKeys: async (caId) =>
      await db
        .select()
        .from(E)
        .where(caId ? eq(E.caId, caId) : undefined)
        .orderBy(asc(E.createdAt), asc(E.id)),
    async putNonce(nonce) {
      await db.insert(N).values(nonce);
      // expired nonces are dropped every few hundred nonces (they are refused by expiry anyway)
      if (++puts % 500 === 0) await db.delete(N).where(lte(N.expiresAt, nonce.expiresAt - 3_600_000 * 24));
    },
    async takeNonce(id, now) {
      const gone = (await db.delete(N).where(eq(N.id, id)).returning({ expiresAt: N.expiresAt })) as {
        expiresAt: number;
      }[];
      return gone.length === 1 && Number(gone[0]!.expiresAt) > now;
    },
    async deleteExpiredNonces(now) {
      return affectedRows(await db.delete(N).where(lte(N.expiresAt, now)));
    },
  };
}

type StepGen<T> = Generator<SqlStep, T, unknown>;

function* exec(q: unknown): StepGen<number> {
  return (yield { mode: 'exec', q }) as number;
}

function hasKeys(o: object): boolean {
  for (const k in o) if ((o as Record<string, unknown>)[k] !== undefined) return true;
  return false;
}

/** The ACME part of a unit of work, as SQL steps (after the certificate writes, before the audit). */
export function* acmeSteps(db: QueryDb, t: Tables, u: AcmeUnitOfWork): StepGen<void> {
  const A = t.acmeAccounts;
  const O = t.acmeOrders;
  const Z = t.acmeAuthorizations;
  const E = t.acmeEabKeys;
  if (u.insertAccounts?.length) yield* exec(db.insert(A).values(u.insertAccounts));
  for (const x of u.updateAccounts ?? []) {
    if (hasKeys(x.patch)) yield* exec(db.update(A).set(x.patch).where(eq(A.id, x.id)));
  }
  if (u.insertOrders?.length) yield* exec(db.insert(O).values(u.insertOrders));
  for (const x of u.updateOrders ?? []) {
    if (!hasKeys(x.patch)) continue;
    const where = x.onlyIfStatus ? and(eq(O.id, x.id), eq(O.status, x.onlyIfStatus)) : eq(O.id, x.id);
    const n = yield* exec(db.update(O).set(x.patch).where(where));
    if (n === 0)
      throw new PkiError('acme.order_not_ready', `order ${x.id} is no longer ${x.onlyIfStatus ?? 'there'}`, {
        details: { id: x.id },
      });
  }
  if (u.insertAuthorizations?.length) yield* exec(db.insert(Z).values(u.insertAuthorizations));
  for (const x of u.updateAuthorizations ?? []) {
    if (hasKeys(x.patch)) yield* exec(db.update(Z).set(x.patch).where(eq(Z.id, x.id)));
  }
  if (u.insertEabKeys?.length) yield* exec(db.insert(E).values(u.insertEabKeys));
  for (const x of u.useEabKeys ?? []) {
    const n = yield* exec(
      db
        .update(E)
        .set({ accountId: x.accountId, usedAt: x.at })
        .where(and(eq(E.id, x.id), isNull(E.accountId))),
    );
    if (n === 0)
      throw new PkiError('acme.unauthorized', `external account binding key ${x.id} is already bound to an account`);
  }
  for (const id of u.deleteEabKeys ?? []) yield* exec(db.delete(E).where(eq(E.id, id)));
}
