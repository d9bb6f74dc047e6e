/**
 * PostgreSQL group commit for issuance-shaped units (certificate rows with their search names, counters and
 * sealed keys, and audit events): a whole batch is ONE prepared statement, one round trip and one transaction
 * whatever its size. Every row of every unit travels in arrays (`unnest`); units of any other shape go through
 * the general unit of work (pg-store.ts).
 *
 * The audit chain is appended inside the statement: `pkim_audit_chain_head()` (migration 0024) takes the
 * audit-chain advisory lock and then reads the chain head with a snapshot of its own, so it sees every event
 * committed before the lock was granted (the statement's snapshot is older); every insert of the statement reads
 * a row that depends on it (`gate`), so nothing is written before the lock. The events' hashes are computed by
 * a recursive CTE: `hash = sha256(prev_hash ‖ canonical(event))`, where the instance sends each event's canonical
 * JSON as the text before and after the value of `seq` (canonicalJson sorts the keys; `seq` is the only field
 * the database fills in). `pkim audit verify` recomputes every hash in JavaScript.
 */
import { getTableColumns, getTableName } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { GENESIS_HASH, canonicalJson } from '@pkim/shared';
import type { AuditEventRow, CertificateRow, CommitResult, NewAuditEvent, UnitOfWork } from './types';
import { CountDeltas } from './unit-of-work';
import { certificateNameRows } from './certificate-search-terms';
import * as schema from './pg-schema';

/** Two-int advisory keys (a key space distinct from the one-bigint keys of `withLeaderLock`); see migration 0024. */
export const LOCK_CLASS = 0x706b696d; // 'pkim'
export const AUDIT_CHAIN_LOCK = 1;

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
  /** `insert into t (…) select u.* from gate, unnest($n::type[], …) as u(…)` with parameters from `first` */
  text(first: number): string;
}

function unnestInsert(table: PgTable, conflict = ''): UnnestInsert {
  const columns = arrayColumns(table);
  const names = Object.values(getTableColumns(table)).map((c) => `"${c.name}"`);
  return {
    columns,
    text: (first) =>
      `insert into "${getTableName(table)}" (${names.join(', ')}) select u.* from gate, unnest(` +
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
const ROW_PARTS = [certificates, names, counts, keys];

/** the audit columns the instance sends (seq, prev_hash and hash are computed by the statement) */
const AUDIT_SENT = ['id', 'time', 'actor', 'action', 'target', 'outcome', 'details'] as const;
const AUDIT_TYPES = ['text', 'bigint', 'text', 'text', 'text', 'text', 'text'];

/** The batch statement: its text depends on the schema only, so it is prepared once per connection. */
export const BATCH_STATEMENT_NAME = 'pkim_commit_batch_v2';
export const BATCH_STATEMENT = (() => {
  let next = 1;
  const rows = ROW_PARTS.map((p, i) => {
    const text = p.text(next);
    next += p.columns.length;
    return `w${i} as (${text})`;
  });
  const sent = AUDIT_SENT.map((c, i) => `$${next + i}::${AUDIT_TYPES[i]}[]`).join(', ');
  const prefix = `$${next + AUDIT_SENT.length}::text[]`;
  const suffix = `$${next + AUDIT_SENT.length + 1}::text[]`;
  const sha = `encode(sha256(convert_to(c.hash || e.prefix || (c.seq + 1)::text || e.suffix, 'UTF8')), 'hex')`;
  return [
    'with recursive',
    'head as materialized (select h.head_seq, h.head_hash from pkim_audit_chain_head() h),',
    'gate as materialized (select count(*) as n from head),',
    `ev as (select * from unnest(${sent}, ${prefix}, ${suffix}) with ordinality`,
    `  as e(${AUDIT_SENT.map((c) => `"${c}"`).join(', ')}, prefix, suffix, n)),`,
    'chain(n, seq, prev_hash, hash) as (',
    `  select 0::bigint, coalesce((select head_seq from head), 0), null::text,`,
    `    coalesce((select head_hash from head), '${GENESIS_HASH}')`,
    `  union all select c.n + 1, c.seq + 1, c.hash, ${sha} from chain c join ev e on e.n = c.n + 1),`,
    'audit as (insert into "audit_events" ("seq", "id", "time", "actor", "action", "target", "outcome", "details",',
    '  "prev_hash", "hash") select c.seq, e."id", e."time", e."actor", e."action", e."target", e."outcome",',
    '  e."details", c.prev_hash, c.hash from chain c join ev e on e.n = c.n',
    '  returning "id", "seq", "prev_hash", "hash"),',
    rows.join(',\n'),
    'select "id", "seq", "prev_hash", "hash" from audit',
  ].join('\n');
})();

/** the text of an event's canonical JSON before and after the value of `seq` (keys sorted: seq follows outcome) */
export function canonicalAroundSeq(
  e: Pick<AuditEventRow, 'id' | 'time' | 'actor' | 'action' | 'target' | 'outcome' | 'details'>,
): [string, string] {
  const before = canonicalJson({ action: e.action, actor: e.actor, details: e.details, id: e.id, outcome: e.outcome });
  const after = canonicalJson({ target: e.target, time: e.time });
  return [`${before.slice(0, -1)},"seq":`, `,${after.slice(1)}`];
}

/** Audit details are stored as JSON text: hash and answer exactly what will be read back. */
function jsonRoundTrip(details: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(details ?? {})) as Record<string, unknown>;
}

/** what the batch statement answers: every audit event it appended */
export interface BatchRow {
  id: string;
  seq: string | number;
  prev_hash: string;
  hash: string;
}

export interface BatchPlan {
  /** parameters of BATCH_STATEMENT */
  values: unknown[];
  /**
   * one result per unit, in order, from the statement's rows (`id, seq, prev_hash, hash` of every event);
   * throws if an event is missing
   */
  results(rows: readonly BatchRow[]): CommitResult[];
}

/** Rows of every unit as the statement's column arrays; the audit events in unit order (the chain order). */
export function planBatch(units: readonly UnitOfWork[]): BatchPlan {
  const certs: CertificateRow[] = [];
  const sealed: NonNullable<UnitOfWork['insertCertificateKeys']> = [];
  const events: (Omit<NewAuditEvent, 'target'> & { target: string | null })[] = [];
  for (const u of units) {
    if (u.insertCertificates) certs.push(...u.insertCertificates);
    if (u.insertCertificateKeys) sealed.push(...u.insertCertificateKeys);
    for (const e of u.audit ?? []) events.push({ ...e, target: e.target ?? null, details: jsonRoundTrip(e.details) });
  }
  const deltas = new CountDeltas();
  deltas.addRows(certs);
  const countRows = deltas
    .sorted()
    .map((d) => ({ caId: d.caId, profile: d.profile, status: d.status, count: d.delta }));
  const around = events.map(canonicalAroundSeq);
  const values = [
    ...columnArrays(certificates, certs),
    ...columnArrays(names, certificateNameRows(certs)),
    ...columnArrays(counts, countRows),
    ...columnArrays(keys, sealed),
    ...AUDIT_SENT.map((c) => events.map((e) => (c === 'details' ? JSON.stringify(e.details) : e[c]))),
    around.map(([before]) => before),
    around.map(([, after]) => after),
  ];
  return {
    values,
    results(rows) {
      const byId = new Map(rows.map((r) => [r.id, r]));
      let at = 0;
      return units.map((u) => {
        const audit: AuditEventRow[] = (u.audit ?? []).map(() => {
          const e = events[at++]!;
          const r = byId.get(e.id);
          if (!r) throw new Error(`the batch statement returned no row for audit event ${e.id}`);
          return { ...e, seq: Number(r.seq), prevHash: r.prev_hash, hash: r.hash };
        });
        return { revokedCount: 0, crlNumber: null, krlVersions: {}, audit };
      });
    },
  };
}

function columnArrays(part: UnnestInsert, rows: readonly object[]): unknown[][] {
  return part.columns.map((c) => rows.map((r) => c.toDriver((r as Record<string, unknown>)[c.key])));
}
