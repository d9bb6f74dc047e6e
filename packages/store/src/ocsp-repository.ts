import { and, asc, eq, gt, inArray, lte, or, sql, type SQLWrapper } from 'drizzle-orm';
import { affectedRows, type QueryDb, type Tables } from './query-db';
import type { OcspCertificateState, OcspResponseRepository, OcspResponseRow } from './types';

/** The columns of a certificate the OCSP responder needs (its status), from `certificates` aliased `C`. */
export function ocspStateColumns(t: Tables) {
  const C = t.certificates;
  return {
    certificateId: C.id,
    caId: C.caId,
    serialHex: C.serialHex,
    status: C.status,
    revokedAt: C.revokedAt,
    revocationReason: C.revocationReason,
    notAfter: C.notAfter,
    createdAt: C.createdAt,
  };
}

/** The lookup's columns: the certificate's state and its stored response (null columns when there is none). */
export function ocspLookupColumns(t: Tables) {
  const O = t.ocspResponses;
  return {
    ...ocspStateColumns(t),
    statusKey: O.statusKey,
    certId: O.certId,
    der: O.der,
    thisUpdate: O.thisUpdate,
    nextUpdate: O.nextUpdate,
    refreshAt: O.refreshAt,
  };
}

type LookupRow = OcspCertificateState & {
  statusKey: string | null;
  certId: string | null;
  der: string | null;
  thisUpdate: number | null;
  nextUpdate: number | null;
  refreshAt: number | null;
};

/** A lookup row as the repository answers it: the response only when one is stored. */
export function toOcspLookup(row: LookupRow | undefined) {
  if (!row) return undefined;
  const { statusKey, certId, der, thisUpdate, nextUpdate, refreshAt, ...state } = row;
  if (statusKey === null || certId === null || der === null || thisUpdate === null || nextUpdate === null) return state;
  const response = { certificateId: state.certificateId, statusKey, certId, der, thisUpdate, nextUpdate };
  return { ...state, response: { ...response, refreshAt: refreshAt ?? nextUpdate } };
}

/**
 * The responder's lookup (exported for the query-plan test): the certificate by its unique (ca_id, serial_hex) index
 * joined with its stored response by primary key — the same cost with 10 or 1,000,000 revoked certificates.
 */
export function ocspLookupQuery(db: QueryDb, t: Tables, caId: string | SQLWrapper, serialHex: string | SQLWrapper) {
  const C = t.certificates;
  return db
    .select(ocspLookupColumns(t))
    .from(C)
    .leftJoin(t.ocspResponses, eq(t.ocspResponses.certificateId, C.id))
    .where(and(eq(C.caId, caId), eq(C.serialHex, serialHex)));
}

/** Pre-signed OCSP responses (docs/ocsp.md): derived data, written outside the unit of work like the key blobs. */
export function createOcspResponseRepository(db: QueryDb, t: Tables): OcspResponseRepository {
  const C = t.certificates;
  const O = t.ocspResponses;
  return {
    async lookup(caId, serialHex) {
      const [row] = await ocspLookupQuery(db, t, caId, serialHex.toLowerCase());
      return toOcspLookup(row);
    },

    async put(rows: OcspResponseRow[]) {
      if (rows.length === 0) return;
      await db
        .insert(O)
        .values(rows)
        .onConflictDoUpdate({
          target: O.certificateId,
          set: {
            statusKey: sql`excluded.status_key`,
            certId: sql`excluded.cert_id`,
            der: sql`excluded.der`,
            thisUpdate: sql`excluded.this_update`,
            nextUpdate: sql`excluded.next_update`,
            refreshAt: sql`excluded.refresh_at`,
          },
        });
    },

    async due(now, limit) {
      return await db
        .select(ocspStateColumns(t))
        .from(O)
        .innerJoin(C, eq(C.id, O.certificateId))
        .where(lte(O.refreshAt, now))
        .orderBy(asc(O.refreshAt))
        .limit(limit);
    },

    async missing(after, now, limit) {
      const page = (await db
        .select({ ...ocspStateColumns(t), stored: O.certificateId })
        .from(C)
        .leftJoin(O, eq(O.certificateId, C.id))
        .where(
          after
            ? or(gt(C.createdAt, after.createdAt), and(eq(C.createdAt, after.createdAt), gt(C.id, after.id)))
            : undefined,
        )
        .orderBy(asc(C.createdAt), asc(C.id))
        .limit(limit)) as (OcspCertificateState & { stored: string | null })[];
      const last = page[page.length - 1];
      return {
        certificates: page.filter((r) => r.stored === null && r.notAfter > now).map(({ stored: _, ...r }) => r),
        last: last ? { createdAt: last.createdAt, id: last.certificateId } : null,
        more: page.length === limit,
      };
    },

    async remove(certificateIds) {
      if (certificateIds.length === 0) return 0;
      return affectedRows(await db.delete(O).where(inArray(O.certificateId, certificateIds)));
    },
  };
}
