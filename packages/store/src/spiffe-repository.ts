/**
 * SPIFFE state (docs/spiffe.md): CA roles per trust domain, SVIDs and the deny list. Read side;
 * writes go through `commit` (see `spiffeSteps`), in the same transaction as the certificate rows.
 */
import { and, asc, count, desc, eq, gt, isNull, lte, max, ne, sql } from 'drizzle-orm';
import { PkiError } from '@pkim/shared';
import type { SpiffeRepository, SpiffeSvidRow, SpiffeSvidView, UnitOfWork } from './types';
import type { FastSteps, SqlStep } from './unit-of-work';
import type { QueryDb, Tables } from './query-db';
import { afterCursor, pageSize, toPage } from './pagination-cursor';

export function createSpiffeRepository(db: QueryDb, t: Tables): SpiffeRepository {
  const S = t.spiffeSvids;
  const C = t.certificates;
  const D = t.spiffeDeniedIds;
  const view = {
    id: S.id,
    caId: S.caId,
    spiffeId: S.spiffeId,
    serviceType: S.serviceType,
    notAfter: S.notAfter,
    supersededBy: S.supersededBy,
    supersededAt: S.supersededAt,
    createdAt: S.createdAt,
    serialHex: C.serialHex,
    fingerprintSha256: C.fingerprintSha256,
    notBefore: C.notBefore,
    status: C.status,
  };
  return {
    async listCas() {
      return db.select().from(t.spiffeCas).orderBy(asc(t.spiffeCas.createdAt), asc(t.spiffeCas.id));
    },
    async findDenied(spiffeId) {
      const [row] = await db.select().from(D).where(eq(D.id, spiffeId));
      return row;
    },
    async listDenied() {
      return db.select().from(D).orderBy(desc(D.deniedAt), asc(D.id));
    },
    async findSvid(certificateId) {
      const [row] = await db.select(view).from(S).innerJoin(C, eq(C.id, S.id)).where(eq(S.id, certificateId));
      return row;
    },
    async listSvids(query) {
      const limit = pageSize(query.limit);
      const items = (await db
        .select(view)
        .from(S)
        .innerJoin(C, eq(C.id, S.id))
        .where(
          and(
            query.spiffeId ? eq(S.spiffeId, query.spiffeId) : undefined,
            query.serviceType ? eq(S.serviceType, query.serviceType) : undefined,
            query.currentAt !== undefined ? and(gt(S.notAfter, query.currentAt), isNull(S.supersededBy)) : undefined,
            afterCursor(S.createdAt, S.id, query.cursor),
          ),
        )
        .orderBy(desc(S.createdAt), desc(S.id))
        .limit(limit + 1)) as SpiffeSvidView[];
      return toPage(items, limit);
    },
    async countSvids(now) {
      const live = sql`${S.notAfter} > ${now}`;
      const superseded = sql`${S.supersededBy} is not null`;
      const [r] = await db
        .select({
          current: sql<number>`coalesce(sum(case when ${live} and ${S.supersededBy} is null then 1 else 0 end), 0)`,
          superseded: sql<number>`coalesce(sum(case when ${live} and ${superseded} then 1 else 0 end), 0)`,
          expired: sql<number>`coalesce(sum(case when ${S.notAfter} <= ${now} then 1 else 0 end), 0)`,
        })
        .from(S);
      return {
        current: Number(r?.current ?? 0),
        superseded: Number(r?.superseded ?? 0),
        expired: Number(r?.expired ?? 0),
      };
    },
    async svidsByCa(now) {
      const rows = await db
        .select({ caId: S.caId, count: count(), lastNotAfter: max(S.notAfter) })
        .from(S)
        .where(gt(S.notAfter, now))
        .groupBy(S.caId);
      return rows.map((r) => ({ caId: r.caId, count: Number(r.count), lastNotAfter: Number(r.lastNotAfter ?? 0) }));
    },
    async expiredSvidIds(before, limit) {
      const rows = await db
        .select({ id: S.id })
        .from(S)
        .where(lte(S.notAfter, before))
        .orderBy(asc(S.notAfter), asc(S.id))
        .limit(Math.max(1, Math.min(limit, 10_000)));
      return rows.map((r) => r.id);
    },
  };
}

/**
 * The refusal of an SVID whose SPIFFE CA is no longer the active one of its plane and does not stay in the trust
 * bundle until the SVID expires (a rotation committed between the issuance's read of its CA and its commit, and
 * keeps the old CA until an earlier time): relying parties would drop the CA while the SVID is valid. The SVID route
 * signs it again with the current CA (spiffe-service.ts `sign`).
 */
export function svidCaRotated(caId: string, status: string, keepUntil: number | null): PkiError {
  const until = keepUntil === null ? '' : ` at ${new Date(keepUntil).toISOString()}`;
  return new PkiError(
    'spiffe.ca_rotated',
    `the SPIFFE CA ${caId} was rotated while this SVID was issued (${status}, it leaves the trust bundle${until}, ` +
      'before the SVID would expire): request the SVID again, the current CA signs it',
    { details: { caId, keepUntil } },
  );
}

/** an SVID's SPIFFE CA at its commit may sign it: active, or superseded and in the bundle until the SVID expires */
function keepsSvid(ca: { status: string; keepUntil: number | string | null }, notAfter: number): boolean {
  return ca.status === 'active' || (ca.keepUntil !== null && Number(ca.keepUntil) >= notAfter);
}

/**
 * Refuses (`spiffe.ca_rotated`) a unit's SVIDs whose SPIFFE CA, read in the commit's transaction, neither is active
 * nor keeps them (svidCaRotated): a rotation's commit and an SVID's are ordered by the database (SQLite's one writer;
 * PostgreSQL's audit-chain lock, which both take), so either the SVID is committed first and the rotation's second
 * read of the old CA's SVIDs sees it (spiffe-service.ts `rotate`), or the SVID's commit sees the rotation. A CA that is
 * not a SPIFFE CA is left alone.
 */
export function* refuseRotatedSvidCas(
  db: QueryDb,
  t: Tables,
  svids: readonly SpiffeSvidRow[],
  fast: FastSteps = {},
): Generator<SqlStep, void, unknown> {
  const T = t.spiffeCas;
  for (const v of svids) {
    const step: SqlStep = fast.spiffeCa
      ? fast.spiffeCa(v.caId)
      : { mode: 'rows', q: db.select({ status: T.status, keepUntil: T.keepUntil }).from(T).where(eq(T.id, v.caId)) };
    const [ca] = (yield step) as { status: string; keepUntil: number | string | null }[];
    if (ca && !keepsSvid(ca, v.notAfter))
      throw svidCaRotated(v.caId, ca.status, ca.keepUntil === null ? null : Number(ca.keepUntil));
  }
}

/**
 * The SPIFFE part of a unit of work, as SQL steps (run after the certificate writes, before the audit). The SVID
 * insert and supersede take the dialect's prepared statements when it has them (`fast`, built once per store).
 */
export function* spiffeSteps(
  db: QueryDb,
  t: Tables,
  unit: UnitOfWork,
  fast: FastSteps = {},
): Generator<SqlStep, void, unknown> {
  if (unit.insertSpiffeCas?.length) yield { mode: 'exec', q: db.insert(t.spiffeCas).values(unit.insertSpiffeCas) };
  for (const u of unit.updateSpiffeCas ?? []) {
    if (Object.keys(u.patch).length)
      yield { mode: 'exec', q: db.update(t.spiffeCas).set(u.patch).where(eq(t.spiffeCas.id, u.id)) };
  }
  const S = t.spiffeSvids;
  if (unit.insertSpiffeSvids?.length) {
    if (fast.insertSpiffeSvid) for (const row of unit.insertSpiffeSvids) yield fast.insertSpiffeSvid(row);
    else yield { mode: 'exec', q: db.insert(S).values(unit.insertSpiffeSvids) };
  }
  for (const s of unit.supersedeSpiffeSvids ?? []) {
    if (fast.supersedeSpiffeSvid) {
      yield fast.supersedeSpiffeSvid(s);
      continue;
    }
    // by spiffe_svids_current_idx (0028): the ID's current SVID only, not every earlier one
    yield {
      mode: 'exec',
      q: db
        .update(S)
        .set({ supersededBy: s.by, supersededAt: s.at })
        .where(and(eq(S.spiffeId, s.spiffeId), isNull(S.supersededBy), ne(S.id, s.by))),
    };
  }
  const D = t.spiffeDeniedIds;
  if (unit.denySpiffeIds?.length) {
    yield {
      mode: 'exec',
      q: db
        .insert(D)
        .values(unit.denySpiffeIds)
        .onConflictDoUpdate({
          target: D.id,
          set: { reason: sql`excluded.reason`, deniedBy: sql`excluded.denied_by`, deniedAt: sql`excluded.denied_at` },
        }),
    };
  }
  for (const id of unit.allowSpiffeIds ?? []) yield { mode: 'exec', q: db.delete(D).where(eq(D.id, id)) };
}
