/**
 * SPIFFE state (docs/spiffe.md): CA roles per trust domain, SVIDs and the deny list. Read side;
 * writes go through `commit` (see `spiffeSteps`), in the same transaction as the certificate rows.
 */
import { and, asc, count, desc, eq, gt, isNull, lte, max, ne, sql } from 'drizzle-orm';
import type { SpiffeRepository, SpiffeSvidView, UnitOfWork } from './types';
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
