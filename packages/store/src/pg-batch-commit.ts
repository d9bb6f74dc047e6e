/**
 * PostgreSQL group commit for issuance-shaped units (certificate rows with their search names, counters and
 * sealed keys, and audit events): a whole batch is ONE prepared statement whose arrays (`unnest`) carry every
 * row of every unit, so a batch costs one round trip whatever its size. Units of any other shape go through
 * the general unit of work (pg-store.ts).
 *
 * The statement takes the audit-chain advisory lock itself before any write (every insert reads the `lk`
 * CTE), so it is one transaction that appends the batch's events under the lock. The events' hashes are
 * computed here from the chain head this instance last wrote or read (`head`): the statement inserts seq
 * head+1…; if another instance appended meanwhile, that seq exists and the insert fails on the primary key
 * with nothing written (the unique check sees rows committed after the statement's snapshot), and the batch
 * is written again on the locked path: BEGIN, the lock, the head read under it, the same statement, COMMIT.
 * The link is exact either way: events are never updated or deleted, so a seq that does not exist yet
 * follows the head that was read.
 */
import { getTableColumns, getTableName } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { AuditEventRow, CertificateRow, CommitResult, UnitOfWork } from './types';
import { CountDeltas, buildAuditRows } from './unit-of-work';
import { certificateNameRows } from './certificate-search-terms';
import { driverError } from './store-errors';
import * as schema from './pg-schema';

/** Two-int advisory keys (a key space distinct from the one-bigint keys of `withLeaderLock`). */
export const LOCK_CLASS = 0x706b696d; // 'pkim'
export const AUDIT_CHAIN_LOCK = 1;

export interface ChainHead {
  seq: number;
  hash: string;
}

const BATCH_KEYS = new Set<string>(['insertCertificates', 'insertCertificateKeys', 'audit']);

/** true when the unit holds only certificate rows, their sealed keys and audit events (the batched statement) */
export function isBatchableUnit(unit: UnitOfWork): boolean {
  for (const [key, value] of Object.entries(unit)) {
    if (value === undefined) continue;
    if (!BATCH_KEYS.has(key) || !Array.isArray(value)) return false;
  }
  return true;
}

interface ArrayColumn {
  key: string;
  sqlType: string;
  toDriver: (value: unknown) => unknown;
}

/** every column of a table, in schema order, with its SQL type and its driver conversion (JSON columns) */
function arrayColumns(table: PgTable): ArrayColumn[] {
  return Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    sqlType: column.getSQLType(),
    toDriver: (v: unknown) => (v === undefined || v === null ? null : column.mapToDriverValue(v)),
  }));
}

interface UnnestInsert {
  columns: ArrayColumn[];
  /** `insert into t (…) select u.* from lk, unnest($n::type[], …) as u(…)` with parameters from `first` */
  text(first: number): string;
}

function unnestInsert(table: PgTable, conflict = ''): UnnestInsert {
  const columns = arrayColumns(table);
  const names = Object.values(getTableColumns(table)).map((c) => `"${c.name}"`);
  return {
    columns,
    text: (first) =>
      `insert into "${getTableName(table)}" (${names.join(', ')}) select u.* from lk, unnest(` +
      `${columns.map((c, i) => `$${first + i}::${c.sqlType}[]`).join(', ')}) as u(${names.join(', ')})${conflict}`,
  };
}

const certificates = unnestInsert(schema.certificates);
const names = unnestInsert(schema.certificateNames);
const counts = unnestInsert(
  schema.certificateCounts,
  ' on conflict ("ca_id", "profile", "status") do update set "count" = "certificate_counts"."count" + excluded."count"',
);
const keys = unnestInsert(schema.certificateKeys);
const audit = unnestInsert(schema.auditEvents);
const PARTS = [certificates, names, counts, keys, audit];

/** The batch statement: its text depends on the schema only, so it is prepared once per connection. */
export const BATCH_STATEMENT_NAME = 'pkim_commit_batch_v1';
export const BATCH_STATEMENT = (() => {
  let next = 1;
  const ctes = PARTS.map((p, i) => {
    const text = p.text(next);
    next += p.columns.length;
    return `w${i} as (${text})`;
  });
  return (
    `with lk as materialized (select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK}) as l), ` +
    `${ctes.join(', ')} select 1 as ok`
  );
})();

function columnArrays(part: UnnestInsert, rows: readonly object[]): unknown[][] {
  return part.columns.map((c) => rows.map((r) => c.toDriver((r as Record<string, unknown>)[c.key])));
}

export interface BatchPlan {
  /** parameters of BATCH_STATEMENT */
  values: unknown[];
  /** one result per unit, in order */
  results: CommitResult[];
  /** the chain head after the batch (unchanged when it has no audit event) */
  head: ChainHead | undefined;
}

/** Rows of every unit as the statement's column arrays; audit events chained from `head` in unit order. */
export function planBatch(units: readonly UnitOfWork[], head: ChainHead | undefined): BatchPlan {
  const certs: CertificateRow[] = [];
  const sealed: NonNullable<UnitOfWork['insertCertificateKeys']> = [];
  const auditRows = buildAuditRows(
    head,
    units.flatMap((u) => u.audit ?? []),
  );
  const results: CommitResult[] = [];
  let at = 0;
  for (const u of units) {
    if (u.insertCertificates) certs.push(...u.insertCertificates);
    if (u.insertCertificateKeys) sealed.push(...u.insertCertificateKeys);
    const n = u.audit?.length ?? 0;
    results.push({ revokedCount: 0, crlNumber: null, krlVersions: {}, audit: auditRows.slice(at, at + n) });
    at += n;
  }
  const deltas = new CountDeltas();
  deltas.addRows(certs);
  const countRows = deltas
    .sorted()
    .map((d) => ({ caId: d.caId, profile: d.profile, status: d.status, count: d.delta }));
  const values = [
    ...columnArrays(certificates, certs),
    ...columnArrays(names, certificateNameRows(certs)),
    ...columnArrays(counts, countRows),
    ...columnArrays(keys, sealed),
    ...columnArrays(audit, auditRows),
  ];
  const last: AuditEventRow | undefined = auditRows[auditRows.length - 1];
  return { values, results, head: last ? { seq: last.seq, hash: last.hash } : head };
}

/** the insert of an audit seq that another instance appended first (the head this instance knew was stale) */
export function isChainConflict(e: unknown): boolean {
  const d = driverError(e);
  return d?.code === '23505' && d.constraint === 'audit_events_pkey';
}
