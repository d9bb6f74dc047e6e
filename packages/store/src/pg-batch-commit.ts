/**
 * PostgreSQL group commit for issuance- and revocation-shaped units (certificate rows with their search names,
 * counters and sealed keys; revocations of single certificates guarded by their current status; audit events): a
 * whole batch is ONE prepared statement, one round trip and one transaction whatever its size. Every row of every
 * unit travels as JSON (`json_to_recordset`, one parameter per table: `JSON.stringify` of the rows as they are, no
 * per-value escaping in JavaScript), and the statement answers ONE row. Units of any other shape go through the
 * general unit of work (pg-store.ts).
 *
 * The audit chain is appended inside the statement: `pkim_audit_chain_head()` (migration 0024) takes the
 * audit-chain advisory lock and then reads the chain head with a snapshot of its own, so it sees every event
 * committed before the lock was granted (the statement's snapshot is older); every write of the statement reads
 * a row that depends on it (`gate`), so nothing is written (and no row is locked) before the lock. The events'
 * hashes are computed by a recursive CTE: `hash = sha256(prev_hash ‖ canonical(event))`, where the instance sends
 * each event's canonical JSON as the text before and after the value of `seq` (canonicalJson sorts the keys; `seq`
 * is the only field the database fills in). `pkim audit verify` recomputes every hash in JavaScript.
 *
 * A revocation updates its certificate only if the status is still the one the caller read (`onlyIfStatus`); if
 * any revocation of the batch finds its certificate changed (or gone), the statement fails as a whole (nothing is
 * written) and the store writes each unit again on its own, where the general unit of work reports that unit's
 * exact error (`certificate.already_revoked`, `certificate.not_found`).
 */
import { getTableColumns, getTableName } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { GENESIS_HASH, canonicalJson } from '@pkim/shared';
import type { AuditEventRow, CertificateRow, CommitResult, UnitOfWork } from './types';
import { CountDeltas } from './unit-of-work';
import { certificateNameRows } from './certificate-search-terms';
import * as schema from './pg-schema';

/** Two-int advisory keys (a key space distinct from the one-bigint keys of `withLeaderLock`); see migration 0024. */
export const LOCK_CLASS = 0x706b696d; // 'pkim'
export const AUDIT_CHAIN_LOCK = 1;

const BATCH_KEYS = new Set<string>(['insertCertificates', 'insertCertificateKeys', 'updateCertificates', 'audit']);

type CertificateUpdate = NonNullable<UnitOfWork['updateCertificates']>[number];

/** a status change that sets all three revocation columns, guarded by the status the caller read */
function isGuardedRevocation(u: CertificateUpdate): boolean {
  const p = u.patch;
  return u.onlyIfStatus !== undefined && p.status !== undefined && 'revokedAt' in p && 'revocationReason' in p;
}

/**
 * true when the unit holds only certificate rows, their sealed keys, guarded revocations (isGuardedRevocation) and
 * audit events: the batched statement
 */
export function isBatchableUnit(unit: UnitOfWork): boolean {
  for (const [key, value] of Object.entries(unit)) {
    if (value === undefined) continue;
    if (!BATCH_KEYS.has(key) || !Array.isArray(value)) return false;
  }
  return (unit.updateCertificates ?? []).every(isGuardedRevocation);
}

interface RecordPart {
  /** `json_to_recordset($n::json) as <alias>("jsKey" type, …)`: the row objects as JavaScript holds them */
  source(param: number, alias: string): string;
  /** the columns in table order, as SQL names */
  names: string[];
  /** the select list that converts the record's fields to the table's columns */
  select(alias: string): string;
}

/** json_to_recordset over a table's rows as JSON objects keyed by the schema's JavaScript keys */
function recordPart(table: PgTable): RecordPart {
  const cols = Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    name: column.name,
    // JSON-mode columns (stored as text): the value is a JSON object; `json` keeps its text as sent
    json: column.columnType === 'PgCustomColumn',
    sqlType: column.getSQLType(),
  }));
  return {
    names: cols.map((c) => `"${c.name}"`),
    source: (param, alias) =>
      `json_to_recordset($${param}::json) as ${alias}(` +
      `${cols.map((c) => `"${c.key}" ${c.json ? 'json' : c.sqlType}`).join(', ')})`,
    select: (alias) => cols.map((c) => `${alias}."${c.key}"${c.json ? '::text' : ''}`).join(', '),
  };
}

function insertPart(table: PgTable, param: number, conflict = ''): string {
  const p = recordPart(table);
  return (
    `insert into "${getTableName(table)}" (${p.names.join(', ')}) select ${p.select('u')} ` +
    `from gate, ${p.source(param, 'u')}${conflict}`
  );
}

/** parameters of BATCH_STATEMENT, in order */
const enum Param {
  certificates = 1,
  names,
  keys,
  countDeltas,
  revocations,
  events,
}

/** The batch statement: its text depends on the schema only, so it is prepared once per connection. */
export const BATCH_STATEMENT_NAME = 'pkim_commit_batch_v3';
export const BATCH_STATEMENT = (() => {
  const sha = `encode(sha256(convert_to(c.hash || e.prefix || (c.seq + 1)::text || e.suffix, 'UTF8')), 'hex')`;
  const event = ['id text', 'time bigint', 'actor text', 'action text', 'target text', 'outcome text'];
  return [
    'with recursive',
    'head as materialized (select h.head_seq, h.head_hash from pkim_audit_chain_head() h),',
    'gate as materialized (select count(*) as n from head),',
    `ev as (select * from rows from (json_to_recordset($${Param.events}::json)`,
    `  as (${event.map((c) => `"${c.split(' ')[0]}" ${c.split(' ')[1]}`).join(', ')}, "details" json, "prefix" text,`,
    '  "suffix" text)) with ordinality as e("id", "time", "actor", "action", "target", "outcome", "details", "prefix",',
    '  "suffix", "n")),',
    'chain(n, seq, prev_hash, hash) as (',
    `  select 0::bigint, coalesce((select head_seq from head), 0), null::text,`,
    `    coalesce((select head_hash from head), '${GENESIS_HASH}')`,
    `  union all select c.n + 1, c.seq + 1, c.hash, ${sha} from chain c join ev e on e.n = c.n + 1),`,
    'audit as (insert into "audit_events" ("seq", "id", "time", "actor", "action", "target", "outcome", "details",',
    '  "prev_hash", "hash") select c.seq, e."id", e."time", e."actor", e."action", e."target", e."outcome",',
    '  e."details"::text, c.prev_hash, c.hash from chain c join ev e on e.n = c.n',
    '  returning "seq", "prev_hash", "hash"),',
    `w_certs as (${insertPart(schema.certificates, Param.certificates)}),`,
    `w_names as (${insertPart(schema.certificateNames, Param.names)}),`,
    `w_keys as (${insertPart(schema.certificateKeys, Param.keys)}),`,
    // revocations: the row only if its status is still the one read; each moved row moves one count
    'revoked as (update "certificates" c set "status" = r."status", "revoked_at" = r."revokedAt",',
    '  "revocation_reason" = r."revocationReason"',
    `  from gate, json_to_recordset($${Param.revocations}::json)`,
    '    as r("id" text, "status" text, "revokedAt" bigint, "revocationReason" text, "onlyIfStatus" text)',
    '  where c."id" = r."id" and c."status" = r."onlyIfStatus"',
    '  returning c."ca_id", c."profile", r."onlyIfStatus" as "from", r."status" as "to"),',
    // the counters: the inserts' deltas (summed by the instance) and the moved rows', one upsert per key, in key
    // order (byte order, as CountDeltas.sorted() and the general unit of work lock them)
    'deltas as (select k."ca_id", k."profile", k."status", sum(k."n")::bigint as "n" from (',
    '  select d."caId" as "ca_id", d."profile", d."status", d."count" as "n"',
    `  from json_to_recordset($${Param.countDeltas}::json)`,
    '    as d("caId" text, "profile" text, "status" text, "count" bigint)',
    '  union all select "ca_id", "profile", "from", -1 from revoked',
    '  union all select "ca_id", "profile", "to", 1 from revoked) k',
    '  group by 1, 2, 3 having sum(k."n") <> 0),',
    'w_counts as (insert into "certificate_counts" ("ca_id", "profile", "status", "count")',
    '  select d."ca_id", d."profile", d."status", d."n" from gate, deltas d',
    '  order by d."ca_id" collate "C", d."profile" collate "C", d."status" collate "C"',
    '  on conflict ("ca_id", "profile", "status")',
    '  do update set "count" = "certificate_counts"."count" + excluded."count")',
    // ONE row: the first event's seq and prev_hash, every hash in chain order; a revocation that found its
    // certificate changed fails the statement (a non-number cast to int), so nothing of the batch is written
    `select (select min("seq") from audit), (select "prev_hash" from audit order by "seq" limit 1),`,
    '  (select string_agg("hash", \'\' order by "seq") from audit),',
    `  case when (select count(*) from revoked) = json_array_length($${Param.revocations}::json) then 0`,
    `    else ('pkim: a revocation found its certificate changed: ' || (select count(*) from revoked))::int end`,
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

/** what the batch statement answers: one row, `[first seq, its prev_hash, every hash in chain order, 0]` */
export type BatchRow = [string | number | null, string | null, string | null, number];

export interface BatchPlan {
  /** parameters of BATCH_STATEMENT */
  values: string[];
  /** one result per unit, in order, from the statement's row; throws if the row does not hold every event */
  results(row: BatchRow | undefined): CommitResult[];
}

type PlannedEvent = Omit<AuditEventRow, 'seq' | 'prevHash' | 'hash'>;

/** Rows of every unit as the statement's JSON parameters; the audit events in unit order (the chain order). */
export function planBatch(units: readonly UnitOfWork[]): BatchPlan {
  const certs: CertificateRow[] = [];
  const sealed: NonNullable<UnitOfWork['insertCertificateKeys']> = [];
  const revocations: object[] = [];
  const events: PlannedEvent[] = [];
  const sent: (PlannedEvent & { prefix: string; suffix: string })[] = [];
  for (const u of units) {
    if (u.insertCertificates) for (const c of u.insertCertificates) certs.push(c);
    if (u.insertCertificateKeys) for (const k of u.insertCertificateKeys) sealed.push(k);
    for (const r of u.updateCertificates ?? [])
      revocations.push({ ...r.patch, id: r.id, onlyIfStatus: r.onlyIfStatus });
    for (const e of u.audit ?? []) {
      // audit details are stored as JSON text: hash and answer exactly what will be read back
      const details = JSON.parse(JSON.stringify(e.details ?? {})) as Record<string, unknown>;
      const event: PlannedEvent = { ...e, target: e.target ?? null, details };
      const [prefix, suffix] = canonicalAroundSeq(event);
      events.push(event);
      sent.push({ ...event, prefix, suffix });
    }
  }
  const deltas = new CountDeltas();
  deltas.addRows(certs);
  const values = [
    JSON.stringify(certs),
    JSON.stringify(certificateNameRows(certs)),
    JSON.stringify(sealed),
    JSON.stringify(
      deltas.sorted().map((d) => ({ caId: d.caId, profile: d.profile, status: d.status, count: d.delta })),
    ),
    JSON.stringify(revocations),
    JSON.stringify(sent),
  ];
  return {
    values,
    results(row) {
      const [firstSeq, firstPrev, hashes] = row ?? [null, null, null];
      const H = GENESIS_HASH.length;
      if ((hashes ?? '').length !== events.length * H || (events.length > 0 && (firstSeq === null || !firstPrev)))
        throw new Error(`the batch statement returned ${(hashes ?? '').length / H} hashes for ${events.length} events`);
      let at = 0;
      return units.map((u) => {
        const audit: AuditEventRow[] = (u.audit ?? []).map(() => {
          const row: AuditEventRow = {
            ...events[at]!,
            seq: Number(firstSeq) + at,
            prevHash: at === 0 ? firstPrev! : hashes!.slice((at - 1) * H, at * H),
            hash: hashes!.slice(at * H, (at + 1) * H),
          };
          at++;
          return row;
        });
        return { revokedCount: 0, crlNumber: null, krlVersions: {}, audit };
      });
    },
  };
}
