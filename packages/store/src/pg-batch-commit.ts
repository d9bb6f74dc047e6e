/**
 * PostgreSQL group commit for issuance- and revocation-shaped units (certificate rows with their search names,
 * counters and sealed keys; revocations of single certificates guarded by their current status; request updates
 * guarded by the request's status — an approval, a rejection; audit events): a whole batch is ONE prepared statement
 * (one per batch shape: batchStatement), one round trip and one transaction whatever its size. The rows travel column
 * by column, each column a slice of ONE `text[]` parameter in PostgreSQL's binary format (binaryTextColumns,
 * columnsPart: the server copies each text as it is and casts it to its column's type — no JSON to lex, no object per
 * row); only the revocations and request updates (a few short fields) are JSON. The statement answers ONE row. Units of
 * any other shape go through the general unit of work (pg-store.ts).
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
 * exact error (`certificate.already_revoked`, `certificate.not_found`). A request update likewise
 * (`request.not_pending`, `request.not_found`): an approval whose request was approved or rejected meanwhile is not
 * written, its certificate with it.
 *
 * A unit whose certificate's CA is not `active` (disabled or revoked by any process) is refused by the statement
 * itself: its rows and events are left out, the batch's other units are written, and that caller gets
 * `ca.not_active` — so an instance may sign with a CA row it read a moment earlier (Store.checksIssuingCaAtCommit).
 * The certificate rows are inserted before the audit-chain lock is taken; only the audit chain, revocations and
 * counters run under it (see batchStatement).
 */
import { getTableColumns, getTableName } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { GENESIS_HASH, PkiError, canonicalJson, plainJsonAndCanonical } from '@pkim/shared';
import type { AuditEventRow, CertificateRow, CommitResult, UnitOfWork } from './types';
import { certificateNameRows } from './certificate-search-terms';
import { svidCaRotated } from './spiffe-repository';
import * as schema from './pg-schema';

/** Two-int advisory keys (a key space distinct from the one-bigint keys of `withLeaderLock`); see migration 0024. */
export const LOCK_CLASS = 0x706b696d; // 'pkim'
export const AUDIT_CHAIN_LOCK = 1;
/**
 * the class of the two-int advisory keys that order one instance's batch statements (WRITE_ORDER): the key is the
 * store's own (a random int), so two instances never share one
 */
export const WRITE_ORDER_CLASS = LOCK_CLASS + 1;

const BATCH_KEYS = new Set<string>([
  'insertCertificates',
  'insertCertificateKeys',
  'updateCertificates',
  'audit',
  'insertSpiffeSvids',
  'supersedeSpiffeSvids',
  'updateRequests',
]);

type CertificateUpdate = NonNullable<UnitOfWork['updateCertificates']>[number];
type RequestUpdate = NonNullable<UnitOfWork['updateRequests']>[number];

/**
 * the columns of a request the batch statement updates (REQUESTS): every column but the key, the creation time and
 * the JSON-mode `sans`, which nothing changes after a request is submitted
 */
const REQUEST_COLUMNS = Object.entries(getTableColumns(schema.certificateRequests))
  .filter(([key, c]) => key !== 'id' && key !== 'createdAt' && c.columnType !== 'PgCustomColumn')
  .map(([key, c]) => ({ key, name: c.name, sqlType: c.getSQLType() }));
const REQUEST_KEYS = new Set(REQUEST_COLUMNS.map((c) => c.key));

/**
 * a request's update guarded by the status the caller read (an approval's, a rejection's), of columns the batch
 * statement updates: an update whose request is no longer in that status fails the statement, and the general unit of
 * work then reports why (`request.not_pending`, `request.not_found`)
 */
function isGuardedRequestUpdate(u: RequestUpdate): boolean {
  return u.onlyIfStatus !== undefined && Object.keys(u.patch).every((k) => REQUEST_KEYS.has(k));
}

/** a status change that sets all three revocation columns, guarded by the status the caller read */
function isGuardedRevocation(u: CertificateUpdate): boolean {
  const p = u.patch;
  return u.onlyIfStatus !== undefined && p.status !== undefined && 'revokedAt' in p && 'revocationReason' in p;
}

/**
 * the SPIFFE ID of a unit's SVID (what the SVID route commits: at most one SVID row, superseding its ID's current SVID
 * or not), '' for a unit without one, undefined for any other SVID shape (the general unit of work writes it)
 */
function svidOf(unit: UnitOfWork): string | undefined {
  const rows = unit.insertSpiffeSvids ?? [];
  const supersedes = unit.supersedeSpiffeSvids ?? [];
  if (rows.length > 1 || supersedes.length > rows.length) return undefined;
  const [row] = rows;
  const [s] = supersedes;
  if (s && (s.by !== row!.id || s.spiffeId !== row!.spiffeId)) return undefined;
  return row ? row.spiffeId : '';
}

/**
 * true when the unit holds only certificate rows, their sealed keys, guarded revocations (isGuardedRevocation),
 * guarded request updates (isGuardedRequestUpdate: an approval, a rejection), an SVID as the SVID route writes it
 * (svidOf) and audit events: the batched statement
 */
export function isBatchableUnit(unit: UnitOfWork): boolean {
  // the unit's own keys without an array of [key, value] pairs (Object.entries): once per unit of every batch
  for (const key of Object.keys(unit)) {
    const value: unknown = unit[key as keyof UnitOfWork];
    if (value === undefined) continue;
    if (!BATCH_KEYS.has(key) || !Array.isArray(value)) return false;
  }
  return (
    (unit.updateCertificates ?? []).every(isGuardedRevocation) &&
    (unit.updateRequests ?? []).every(isGuardedRequestUpdate) &&
    svidOf(unit) !== undefined
  );
}

/**
 * Batchable units in runs to write one after the other, in order: a run holds at most one SVID per SPIFFE ID (the
 * statement supersedes the IDs' SVIDs committed before it, not those of its own rows), so a second renewal of an ID
 * in the same batch starts a new run — written after the first, as if each unit were written on its own.
 */
export function batchRuns<T>(items: readonly T[], unitOf: (item: T) => UnitOfWork): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  const ids = new Set<string>();
  for (const item of items) {
    const id = svidOf(unitOf(item)) ?? '';
    if (id && ids.has(id)) {
      runs.push(run);
      run = [];
      ids.clear();
    }
    if (id) ids.add(id);
    run.push(item);
  }
  if (run.length) runs.push(run);
  return runs;
}

/**
 * parameters of every batch statement, in order; then, only in a statement of a batch that has them (BatchShape), the
 * revocations and the request updates (BatchStatement.revocations, .requests)
 */
const enum Param {
  /** every text column of the batch (TextColumn) in one binary text[] (binaryTextColumns), column after column */
  texts = 1,
  /** where each text column starts in `texts`: int[], 0-based, then the number of texts (columnBounds) */
  bounds,
  /** OWN_FLUSH */
  ownFlush,
  /** WRITE_ORDER: the store's key (null: one batch statement at a time, no such lock) */
  writeOrder,
}

/**
 * The text column at `slot` (the order planBatch sends them in) as an SQL `text[]`: its slice of the one `texts`
 * parameter. One parameter instead of one per column (≈ 40): node-postgres copies each parameter into its Bind message,
 * growing that buffer by 1.5 × with a copy of everything written so far each time a parameter does not fit — for a
 * batch's ≈ 80 KB, most of the instance's PostgreSQL path on the main thread (docs/benchmarks-record.md, session 25);
 * one parameter is copied once into a buffer grown once.
 */
export function textColumn(slot: number): string {
  return `($${Param.texts}::text[])[($${Param.bounds}::int[])[${slot + 1}] + 1:($${Param.bounds}::int[])[${slot + 2}]]`;
}

interface ColumnsPart {
  /** the columns in table order, as SQL names */
  names: string[];
  /** `unnest(<slice>, <slice>, …) as <alias>("jsKey", …)`: one text column (textColumn) per column, from `first` on */
  source(alias: string): string;
  /** the select list that converts the texts to the table's column types */
  select(alias: string): string;
  /** the text[] of a column (textColumn), by its JavaScript key */
  column(key: string): string;
  /** the first text column after these */
  next: number;
  /** the columns' texts, one array per column, the rows' values in row order */
  texts(rows: readonly object[]): (string | null)[][];
}

/**
 * A table's rows sent column by column: each column a `text[]` (textColumn), the rows zipped back by `unnest` and each
 * text cast to its column's type — no JSON to lex and no object per row to look its fields up in (json_to_recordset
 * did both for every value). JSON-mode columns (stored as text) travel as the JSON text stored; numbers as their
 * decimal text; null as a NULL element.
 */
function columnsPart(table: PgTable, first: number): ColumnsPart {
  const cols = Object.entries(getTableColumns(table)).map(([key, column]) => ({
    key,
    name: column.name,
    json: column.columnType === 'PgCustomColumn',
    sqlType: column.getSQLType(),
  }));
  /** a column's value as text: strings as they are, numbers (bigint, integer columns) in decimal, JSON-mode as JSON */
  const text = (v: unknown, json: boolean): string | null => {
    if (v === null || v === undefined) return null;
    if (json) return JSON.stringify(v);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new TypeError(`a ${typeof v} in a column of the batch statement`);
  };
  return {
    names: cols.map((c) => `"${c.name}"`),
    source: (alias) =>
      `unnest(${cols.map((_, i) => textColumn(first + i)).join(', ')}) as ${alias}` +
      `(${cols.map((c) => `"${c.key}"`).join(', ')})`,
    select: (alias) => cols.map((c) => `${alias}."${c.key}"${c.sqlType === 'text' ? '' : `::${c.sqlType}`}`).join(', '),
    column: (key) => textColumn(first + cols.findIndex((c) => c.key === key)),
    next: first + cols.length,
    texts: (rows) => cols.map((c) => rows.map((r) => text((r as Record<string, unknown>)[c.key], c.json))),
  };
}

/**
 * A `text[]` in PostgreSQL's binary format (array_recv): sent as a Buffer, node-postgres marks the parameter binary,
 * and the server copies each element as it is — no JSON string to unescape character by character (a certificate's
 * PEM: ≈ 800 characters, a `\n` every 64)
 */
export function binaryTextArray(values: readonly (string | null)[]): Buffer {
  return binaryTextColumns([values]);
}

/**
 * The columns' texts one after the other as ONE `text[]` in PostgreSQL's binary format (binaryTextArray): one buffer
 * for the whole batch, written once (columnBounds says where each column starts)
 */
export function binaryTextColumns(columns: readonly (readonly (string | null)[])[]): Buffer {
  const TEXT_OID = 25;
  // room for the longest UTF-8 of each text (≤ 3 bytes per UTF-16 unit): each is written once, its length after it
  let room = 20;
  let nulls = 0;
  let count = 0;
  for (const values of columns) {
    count += values.length;
    for (const v of values) {
      if (v === null) nulls = 1;
      room += 4 + (v === null ? 0 : 3 * v.length);
    }
  }
  const out = Buffer.allocUnsafe(room);
  out.writeInt32BE(count ? 1 : 0, 0); // dimensions
  out.writeInt32BE(nulls, 4); // has NULL elements
  out.writeInt32BE(TEXT_OID, 8);
  if (!count) return out.subarray(0, 12);
  out.writeInt32BE(count, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = 20;
  for (const values of columns)
    for (const v of values) {
      const n = v === null ? -1 : v.length <= SHORT_TEXT ? writeShort(out, v, at + 4) : out.write(v, at + 4, 'utf8');
      out.writeInt32BE(n, at); // -1: NULL, no bytes
      at += 4 + Math.max(n, 0);
    }
  return out.subarray(0, at);
}

/** where each column starts in binaryTextColumns' array (0-based), then its length: the `bounds` parameter's text */
export function columnBounds(columns: readonly (readonly unknown[])[]): string {
  let at = 0;
  let s = '{0';
  for (const c of columns) {
    at += c.length;
    s += `,${at}`;
  }
  return `${s}}`;
}

/** texts up to this length are copied byte by byte when ASCII (most of a batch: ids, serials, names, numbers) */
const SHORT_TEXT = 64;
/**
 * `v` at `at` as UTF-8, its byte count: ASCII copied in a loop (a Buffer#write call costs more than the copy of a short
 * text), anything else by Buffer#write
 */
function writeShort(out: Buffer, v: string, at: number): number {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 0x7f) return out.write(v, at, 'utf8');
    out[at + i] = c;
  }
  return v.length;
}

/** how the batch statement fails when a CA of its certificates changed between its start and the lock */
export const CA_CHANGED = 'pkim: a CA changed before the audit-chain lock';

/**
 * an SVID's SPIFFE CA (`sc`, its row in spiffe_cas) that may no longer sign it (`na`: its notAfter): neither active nor
 * in the trust bundle until it expires (spiffe-repository.ts keepsSvid)
 */
const svidCaGone = (sc: string, v: string): string =>
  `${sc}."status" <> 'active' and (${sc}."keep_until" is null or ${sc}."keep_until" < ${v}."na")`;

/** the text columns (textColumn) before the rows' columns, in order; then the events' fields (EVENT) */
const enum TextColumn {
  /** the index of each certificate row's unit (its id and CA: the certificates' columns; the CA must be active) */
  certificateUnits,
  /** the first of the events' fields (EVENT) */
  events,
}

/**
 * the events' fields, one text column each (textColumn), in chain order: `u` is the event's unit, `details`
 * its details as JSON text, `prefix`/`suffix` its canonical JSON before and after the value of seq
 * (canonicalAroundSeq)
 */
const EVENT = [
  ['id', 'text'],
  ['time', 'bigint'],
  ['actor', 'text'],
  ['action', 'text'],
  ['target', 'text'],
  ['outcome', 'text'],
  ['u', 'int'],
  ['details', 'text'],
  ['prefix', 'text'],
  ['suffix', 'text'],
] as const;
type EventField = (typeof EVENT)[number][0];

/** the rows' columns as text columns (columnsPart): certificates, their search names, sealed keys, SVIDs */
const CERTS = columnsPart(schema.certificates, TextColumn.events + EVENT.length);
const NAMES = columnsPart(schema.certificateNames, CERTS.next);
const KEYS = columnsPart(schema.certificateKeys, NAMES.next);
const SVIDS = columnsPart(schema.spiffeSvids, KEYS.next);
/** the SVIDs' supersedes, one text column per field: the SPIFFE ID, the SVID (certificate id) that supersedes, when */
const SUPERSEDE = {
  spiffeId: textColumn(SVIDS.next),
  by: textColumn(SVIDS.next + 1),
  at: textColumn(SVIDS.next + 2),
};
/** how many text columns the statement reads (textColumn's slots): planBatch sends exactly these */
const TEXT_COLUMNS = SVIDS.next + 3;
/**
 * true: the statement's commit waits for its own WAL flush with the server's `synchronous_commit` (OWN_FLUSH, the
 * store sends no FLUSH_WAIT after it); false: it commits with `synchronous_commit` off (FLUSH_WAIT follows)
 */
const OWN_FLUSH = Param.ownFlush;

/**
 * Which parts a batch has beside its certificate rows and events: a statement is made for each shape (batchStatement),
 * without the arms of the parts its batches never have — a batch of issuances only (the bench's, a fleet's renewals)
 * plans, sets up and runs no revocation, request, sealed key or SVID arm (PostgreSQL sets up every node of a prepared
 * plan at each execution, ≈ 10 % of a batch's CPU with all of them: docs/benchmarks-record.md, session 29).
 */
export interface BatchShape {
  /** guarded revocations (isGuardedRevocation): the `revoked` arm and its parameter */
  revocations: boolean;
  /** guarded request updates (isGuardedRequestUpdate): the `requests` arm and its parameter */
  requests: boolean;
  /** sealed keys of server-generated key pairs */
  keys: boolean;
  /** SVID rows and their supersedes */
  svids: boolean;
}

/** a batch statement of one shape: its name (prepared once per connection and shape), text and parameter numbers */
export interface BatchStatement {
  name: string;
  text: string;
  /** the revocations' JSON parameter (undefined: the shape has none) */
  revocations: number | undefined;
  /**
   * the request updates' JSON parameter (undefined: none): one object each, its unit `u`, the request's `id`, the
   * status read `onlyIfStatus`, the keys it sets as `set` (`,status,reviewer,`: a column not named keeps its value)
   * and the values by key (REQUEST_COLUMNS)
   */
  requests: number | undefined;
}

/**
 * the name of the statement of a batch of certificate rows and events only (issuances), and the prefix of the others'
 * (`_` and the shape's letters: batchStatement)
 */
export const BATCH_STATEMENT_NAME = 'pkim_commit_batch_v16';

const statements = new Map<string, BatchStatement>();

/**
 * The batch statement of a shape: its text depends on the schema and the shape only, so it is prepared once per
 * connection and shape (at most 16; in practice issuance, revocation, approval). In order:
 *
 * 1. before the audit-chain lock, with the statement's snapshot (everything committed before it started): the units
 *    whose certificates' CA is not `active`, or whose SVID's SPIFFE CA a rotation superseded without keeping it in
 *    the bundle until the SVID expires (spiffe.ca_rotated), are refused — their rows and events are left out, the
 *    others are written — then the certificate rows, their search names and sealed keys are inserted (`pre` reads them
 *    all: they run before `head`, outside the lock, and lock no row another transaction waits for under the lock);
 * 2. `pkim_audit_chain_head()` takes the lock (`head` depends on `pre`, `gate` on `head`); every later write reads
 *    `gate`: the CAs of the written certificates are read again with a row lock (`FOR SHARE` returns the newest
 *    committed version of a row changed since the snapshot), the SVIDs' SPIFFE CAs likewise, and the statement fails
 *    if one is no longer active (or keeping)
 *    (changed between the statement's start and the lock: the units are then written one by one, and refused at
 *    their own snapshot); the revocations, the counters (the inserted rows' and the moved rows'), the events
 *    chained on the head, the request updates (of the units not refused, guarded by the status read);
 * 3. ONE row: the first event's seq and prev_hash, every hash in chain order, the refused units with their CA's
 *    status.
 */
export function batchStatement(shape: BatchShape): BatchStatement {
  const letters = `${shape.revocations ? 'r' : ''}${shape.requests ? 'q' : ''}${shape.keys ? 'k' : ''}${
    shape.svids ? 's' : ''
  }`;
  const known = statements.get(letters);
  if (known) return known;
  let next: number = Param.writeOrder + 1;
  const revocations = shape.revocations ? next++ : undefined;
  const requests = shape.requests ? next++ : undefined;
  const statement: BatchStatement = {
    name: letters ? `${BATCH_STATEMENT_NAME}_${letters}` : BATCH_STATEMENT_NAME,
    text: statementText(shape, revocations, requests),
    revocations,
    requests,
  };
  statements.set(letters, statement);
  return statement;
}

/** the shape of the batch of these units: which parts any of them has */
export function batchShape(units: readonly UnitOfWork[]): BatchShape {
  const shape: BatchShape = { revocations: false, requests: false, keys: false, svids: false };
  for (const u of units) {
    if (u.updateCertificates?.length) shape.revocations = true;
    if (u.updateRequests?.length) shape.requests = true;
    if (u.insertCertificateKeys?.length) shape.keys = true;
    if (u.insertSpiffeSvids?.length || u.supersedeSpiffeSvids?.length) shape.svids = true;
  }
  return shape;
}

/** every part: what one statement for every batch was (tests, benches) */
export const FULL_SHAPE: BatchShape = { revocations: true, requests: true, keys: true, svids: true };

/** batchStatement's text; `revocations`, `requests`: the parameters' numbers, undefined when the shape has none */
function statementText(shape: BatchShape, revocations: number | undefined, requests: number | undefined): string {
  const sha = `encode(sha256(convert_to(c.hash || e.prefix || (c.seq + 1)::text || e.suffix, 'UTF8')), 'hex')`;
  const insert = (table: PgTable, p: ColumnsPart, idKey: string, returning: string) =>
    `insert into "${getTableName(table)}" (${p.names.join(', ')}) select ${p.select('u')} ` +
    `from ${p.source('u')} where u."${idKey}" not in (select b."c" from bad b) returning ${returning}`;
  /** the lines of a part the shape has, none otherwise */
  const when = (has: boolean, ...lines: string[]): string[] => (has ? lines : []);
  return [
    'with recursive',
    `g as materialized (select g."u"::int as "u", g."c", g."ca" from`,
    `  unnest(${textColumn(TextColumn.certificateUnits)}, ${CERTS.column('id')}, ${CERTS.column('caId')})`,
    '  as g("u", "c", "ca")),',
    // the units refused at the statement's snapshot, with a CA that is not active and its status (a CA that does not
    // exist fails the statement at the counters' foreign key, certificate_counts.ca_id (migration 0040): the units are
    // then written one by one, that one fails alone)
    // the SVIDs' certificate, SPIFFE CA and expiry
    ...when(
      shape.svids,
      'sv as materialized (select v."c", v."ca", v."na"::bigint as "na" from',
      `  unnest(${SVIDS.column('id')}, ${SVIDS.column('caId')}, ${SVIDS.column('notAfter')}) as v("c", "ca", "na")),`,
    ),
    `refused as materialized (select g."u", min(a."id") filter (where a."status" <> 'active') as "ca",`,
    `  min(a."status") filter (where a."status" <> 'active') as "status", null::bigint as "keep"`,
    '  from g join "certificate_authorities" a on a."id" = g."ca"',
    `  group by g."u" having bool_or(a."status" <> 'active')`,
    // and the units whose SVID's SPIFFE CA a rotation superseded and does not keep until the SVID expires (status
    // `spiffe:<status>`: svidCaRotated)
    ...when(
      shape.svids,
      `  union all select g."u", v."ca", 'spiffe:' || sc."status", sc."keep_until" from g`,
      '  join sv v on v."c" = g."c" join "spiffe_cas" sc on sc."id" = v."ca"',
      `  where ${svidCaGone('sc', 'v')}`,
    ),
    '),',
    'bad as materialized (select g."c" from g where g."u" in (select r."u" from refused r)),',
    `w_certs as (${insert(schema.certificates, CERTS, 'id', '"ca_id", "profile", "status"')}),`,
    `w_names as (${insert(schema.certificateNames, NAMES, 'certificateId', '1')}),`,
    ...when(shape.keys, `w_keys as (${insert(schema.certificateKeys, KEYS, 'certificateId', '1')}),`),
    ...when(shape.svids, `w_svids as (${insert(schema.spiffeSvids, SVIDS, 'id', '1')}),`),
    'pre as materialized (select (select count(*) from w_certs) + (select count(*) from w_names)',
    ...when(shape.keys, '  + (select count(*) from w_keys)'),
    ...when(shape.svids, '  + (select count(*) from w_svids)'),
    '  as n),',
    // WRITE_ORDER: after `pre`, the store's own lock (its other batch statement in flight holds it until it commits),
    // so that `tried` below finds the audit-chain lock taken only by another writer, never by this store's other lane
    `mine as materialized (select count(*) as n from pre, lateral (select pg_advisory_xact_lock(`,
    `  ${WRITE_ORDER_CLASS}, $${Param.writeOrder}::int) where $${Param.writeOrder}::int is not null`,
    '  and pre.n >= 0 offset 0) l),',
    // the lock: after `mine`. First tried without waiting (`tried`: whether another transaction held it, answered
    // below), then taken by pkim_audit_chain_head() — at once when the try got it (a transaction's advisory locks
    // are re-entrant), else when the holder commits — which reads the head (a lateral subquery kept apart by offset
    // 0, gated on the row before it)
    `tried as materialized (select pg_try_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK}) as "free"`,
    '  from mine where mine.n >= 0),',
    'head as materialized (select h.head_seq, h.head_hash from tried,',
    '  lateral (select * from pkim_audit_chain_head() where tried."free" is not null offset 0) h),',
    'gate as materialized (select count(*) as n from head),',
    `recheck as materialized (select count(*) filter (where x."status" <> 'active') as n from (`,
    '  select a."status" from gate, "certificate_authorities" a',
    '  where a."id" in (select g."ca" from g where g."u" not in (select r."u" from refused r)) for share of a) x),',
    // the same for the SVIDs' SPIFFE CAs (a rotation commits under the audit-chain lock: one committed before the
    // lock is seen here, one after it commits after this statement and reads the SVID again: spiffe-service rotate)
    ...when(
      shape.svids,
      `recheck_sv as materialized (select count(*) filter (where ${svidCaGone('x', 'x')}) as n from (`,
      '  select sc."status", sc."keep_until", v."na" from gate, "spiffe_cas" sc join sv v on v."ca" = sc."id"',
      '  where v."c" not in (select b."c" from bad b) for share of sc) x),',
    ),
    // the SVIDs' supersedes (of the units not refused), after the lock, with the function's own snapshot (0029): it
    // sees an ID's SVID committed by another instance since this statement started; not called without any
    ...when(
      shape.svids,
      'sup_in as materialized (select s."sid", s."by", s."at"::bigint as "at", s."k" from',
      `  unnest(${SUPERSEDE.spiffeId}, ${SUPERSEDE.by}, ${SUPERSEDE.at}) with ordinality`,
      '  as s("sid", "by", "at", "k") where s."by" not in (select b."c" from bad b)),',
      'superseded as materialized (select x.n from gate, lateral (select pkim_supersede_svids(',
      '  array(select s."sid" from sup_in s order by s."k"), array(select s."by" from sup_in s order by s."k"),',
      `  array(select s."at" from sup_in s order by s."k"), ${SVIDS.column('id')}) as n`,
      '  where gate.n >= 0 and exists (select 1 from sup_in) offset 0) x),',
    ),
    // the events' fields as JSON, their details (JSON text, stored as it is) and canonical text around seq beside
    `ev as (select ${EVENT.map(([f, type]) => `e."${f}"${type === 'text' ? '' : `::${type} as "${f}"`}`).join(', ')},`,
    `  e."n" from unnest(${EVENT.map((_, i) => textColumn(TextColumn.events + i)).join(', ')}) with ordinality`,
    `  as e(${EVENT.map(([f]) => `"${f}"`).join(', ')}, "n")),`,
    'kept as materialized (select e.*, row_number() over (order by e."n") as "k" from ev e',
    '  where e."u" not in (select r."u" from refused r)),',
    'chain(n, seq, prev_hash, hash) as (',
    `  select 0::bigint, coalesce((select head_seq from head), 0), null::text,`,
    `    coalesce((select head_hash from head), '${GENESIS_HASH}')`,
    `  union all select c.n + 1, c.seq + 1, c.hash, ${sha} from chain c join kept e on e.k = c.n + 1),`,
    'audit as (insert into "audit_events" ("seq", "id", "time", "actor", "action", "target", "outcome", "details",',
    '  "prev_hash", "hash") select c.seq, e."id", e."time", e."actor", e."action", e."target", e."outcome",',
    '  e."details", c.prev_hash, c.hash from chain c join kept e on e.k = c.n',
    '  returning "seq", "prev_hash", "hash"),',
    // request updates (approvals, rejections) of the units not refused: the row only if its status is still the one
    // read, after the lock (no request row is locked before it, as the general unit of work takes it first)
    ...when(
      shape.requests,
      // one json_to_record per element of unnest(array(…)): the planner counts 10 rows, not json_to_recordset's 100
      // — with 100 the generic plan hash-joined a scan of every request (as the revocations below, session 32)
      `req_in as materialized (select r.* from unnest(array(select json_array_elements($${requests}::json))) as j(v)`,
      '  cross join lateral json_to_record(j.v) as r("u" int, "id" text, "onlyIfStatus" text, "set" text,',
      `  ${REQUEST_COLUMNS.map((c) => `"${c.key}" ${c.sqlType}`).join(', ')})`,
      '  where r."u" not in (select f."u" from refused f)),',
      `requests as (update "certificate_requests" q set ${REQUEST_COLUMNS.map(
        (c) => `"${c.name}" = case when strpos(r."set", ',${c.key},') > 0 then r."${c.key}" else q."${c.name}" end`,
      ).join(', ')}`,
      '  from gate, req_in r where q."id" = r."id" and q."status" = r."onlyIfStatus" returning 1),',
    ),
    // revocations: the row only if its status is still the one read; each moved row moves one count. The objects
    // come through unnest(array(…)), which the planner counts as 10 rows (json_to_recordset: 100): the prepared
    // statement's generic plan, made once per connection, then probes certificates_pkey once per revocation at any
    // table size above a few hundred rows — with 100 it chose a hash join over a scan of the whole table below ≈ 6,500
    // rows and kept it as the table grew (docs/benchmarks-record.md, session 32)
    ...when(
      shape.revocations,
      'revoked as (update "certificates" c set "status" = r."status", "revoked_at" = r."revokedAt",',
      '  "revocation_reason" = r."revocationReason"',
      `  from gate, (select j.v->>'id' as "id", j.v->>'status' as "status",`,
      `    (j.v->>'revokedAt')::bigint as "revokedAt", j.v->>'revocationReason' as "revocationReason",`,
      `    j.v->>'onlyIfStatus' as "onlyIfStatus"`,
      `    from unnest(array(select json_array_elements($${revocations}::json))) as j(v)) r`,
      '  where c."id" = r."id" and c."status" = r."onlyIfStatus"',
      '  returning c."ca_id", c."profile", r."onlyIfStatus" as "from", r."status" as "to"),',
    ),
    // the counters: the inserted rows' and the moved rows', one upsert per key, in key order (byte order, as
    // CountDeltas.sorted() and the general unit of work lock them)
    'deltas as (select k."ca_id", k."profile", k."status", sum(k."n")::bigint as "n" from (',
    '  select "ca_id", "profile", "status", 1 as "n" from w_certs',
    ...when(
      shape.revocations,
      '  union all select "ca_id", "profile", "from", -1 from revoked',
      '  union all select "ca_id", "profile", "to", 1 from revoked',
    ),
    '  ) k group by 1, 2, 3 having sum(k."n") <> 0),',
    'w_counts as (insert into "certificate_counts" ("ca_id", "profile", "status", "count")',
    '  select d."ca_id", d."profile", d."status", d."n" from gate, deltas d',
    '  order by d."ca_id" collate "C", d."profile" collate "C", d."status" collate "C"',
    '  on conflict ("ca_id", "profile", "status")',
    '  do update set "count" = "certificate_counts"."count" + excluded."count")',
    // ONE row: the first event's seq and prev_hash, every hash in chain order, the refused units; a revocation that
    // found its certificate changed, a request update its request changed, or a CA changed since the snapshot, fails
    // the statement (a non-number cast to int), so nothing of the batch is written
    `select (select min("seq") from audit), (select "prev_hash" from audit order by "seq" limit 1),`,
    '  (select string_agg("hash", \'\' order by "seq") from audit),',
    ...when(
      shape.revocations,
      `  case when (select count(*) from revoked) = json_array_length($${revocations}::json) then 0`,
      `    else ('pkim: a revocation found its certificate changed: ' || (select count(*) from revoked))::int end +`,
    ),
    ...when(
      shape.requests,
      `  case when (select count(*) from requests) = (select count(*) from req_in) then 0`,
      `    else ('pkim: a request found its status changed: ' || (select count(*) from requests))::int end +`,
    ),
    `  case when (select n from recheck)${shape.svids ? ' + (select n from recheck_sv)' : ''} = 0 then 0`,
    `    else ('${CA_CHANGED}: ' || (select n from recheck))::int end,`,
    '  (select json_agg(json_build_array(r."u", r."ca", r."status", r."keep")) from refused r)::text,',
    // the commit inserts its record into the WAL and releases the audit-chain lock without waiting for the disk;
    // the store answers the batch's callers only after FLUSH_WAIT — or, with OWN_FLUSH (its previous batch found the
    // lock free), the commit waits for its own flush with the server's setting, as FLUSH_WAIT would
    `  set_config('synchronous_commit', case when $${OWN_FLUSH}::boolean then`,
    `    current_setting('synchronous_commit') else 'off' end, true),`,
    shape.svids ? '  (select n from superseded),' : '  null::bigint,',
    '  (select "free" from tried)',
  ].join('\n');
}

/**
 * the text of an event's canonical JSON before and after the value of `seq` (keys sorted: seq follows outcome). The
 * fields are written in that order directly, as computeAuditHash does — what canonicalJson of the event gives, since
 * none of them is undefined here (target null, details an object) — so only `details` is sorted and walked.
 * `detailsCanonical`: canonicalJson of `details` when the caller has it already (planBatch).
 */
export function canonicalAroundSeq(
  e: Pick<AuditEventRow, 'id' | 'time' | 'actor' | 'action' | 'target' | 'outcome' | 'details'>,
  detailsCanonical?: string,
): [string, string] {
  const s = JSON.stringify;
  return [
    `{"action":${s(e.action)},"actor":${s(e.actor)},"details":${detailsCanonical ?? canonicalJson(e.details)},` +
      `"id":${s(e.id)},` +
      `"outcome":${s(e.outcome)},"seq":`,
    `,"target":${canonicalJson(e.target)},"time":${canonicalJson(e.time)}}`,
  ];
}

/**
 * what the batch statement answers: one row, `[first seq, its prev_hash, every hash in chain order, 0, the refused
 * units as JSON text ([unit index, CA id, CA status or null], …) or null, 'off' (synchronous_commit for its commit),
 * the SVIDs superseded (null without supersedes), whether the audit-chain lock was free when the statement asked for
 * it (false: it waited for another transaction's commit)]`
 */
export type BatchRow = [
  string | number | null,
  string | null,
  string | null,
  number,
  string | null,
  string,
  string | number | null,
  boolean,
];

/**
 * The batch's commit does not wait for the disk while it holds the audit-chain lock when others want it (its previous
 * batch found it taken; else OWN_FLUSH: the commit waits for its own flush, no FLUSH_WAIT). The lock is
 * transaction-scoped, so it is released when the commit ends; with `synchronous_commit` on, that is after the WAL
 * flush (an fsync, ≈ 2.5–3.5 ms on the development machine), and every instance's commits would run one after the
 * other, each with its own flush. The batch statement then sets `synchronous_commit` off for its own transaction
 * (`set_config(…, true)`): its commit record is in the WAL, its rows and the new chain head visible and the lock
 * released at once — but its callers are answered only after FLUSH_WAIT, a transaction with the server's own
 * `synchronous_commit` (on by default) begun after the batch committed: its commit record follows the batch's in the
 * WAL, and PostgreSQL flushes the WAL in order, so when it returns the batch is on disk (and on a synchronous standby,
 * if the server has one).
 * Several instances' flushes are then shared by PostgreSQL's own group commit instead of one after the other.
 *
 * After a crash, the WAL replayed is a prefix: a batch lost with it takes every later batch (chained on its events,
 * so committed after it) with it, and the chain stays whole. A batch whose flush was not confirmed was never
 * answered (its callers get an error, as when a connection fails during COMMIT). What another session may see
 * during the ≈ 3 ms between the commit and the flush (a certificate row, the chain head) is what PostgreSQL makes
 * visible to every asynchronous commit.
 *
 * FLUSH_WAIT writes one WAL record (a transactional logical message: it takes a transaction id, so its commit
 * flushes the WAL up to its own commit record) and nothing else; any role may call it, at any `wal_level`.
 */
export const FLUSH_WAIT = "select pg_logical_emit_message(true, 'pkim.flush', '')";
export const FLUSH_WAIT_NAME = 'pkim_flush_wait';
/**
 * FLUSH_WAIT of a batch that revokes certificates: its transaction also sends `pg_notify($1, $2)` (the channel of
 * Store.otherCommits, the store's id), which PostgreSQL delivers when it commits — after the batch's commit and its
 * flush — so the other instances' OCSP and CRL caches learn of the revocation at once instead of after their time
 * bounds. Not sent under the audit-chain lock (the batch statement's commit has released it), and not by issuance
 * batches.
 */
export const FLUSH_WAIT_NOTIFY = "select pg_logical_emit_message(true, 'pkim.flush', ''), pg_notify($1, $2)";
export const FLUSH_WAIT_NOTIFY_NAME = 'pkim_flush_wait_notify';

export interface BatchPlan {
  /** the statement of the batch's shape (batchStatement): its name and text */
  name: string;
  text: string;
  /** its parameters */
  values: (string | Buffer | null)[];
  /**
   * one answer per unit, in order, from the statement's row: its result, or the error of a unit refused because its
   * CA is not active; throws if the row does not hold every event of the units written
   */
  results(row: BatchRow | undefined): (CommitResult | PkiError)[];
}

type PlannedEvent = Omit<AuditEventRow, 'seq' | 'prevHash' | 'hash'>;

/** the error of a unit the statement refused: a CA of its certificates is not active */
function refusal(caId: string, status: string): PkiError {
  return new PkiError('ca.not_active', `CA ${caId} is ${status} and cannot sign`);
}

const NOT_PLAIN: unique symbol = Symbol('not plain JSON');
/** how deep plainJsonCopy walks before it leaves a value to JSON (which throws on a cycle) */
const PLAIN_DEPTH = 32;

/**
 * A deep copy of `v` when it is plain JSON — strings, finite numbers other than -0, booleans, null, arrays of those
 * without holes or undefined, objects whose prototype is Object's (or null) without `toJSON` or an own `__proto__`
 * key — leaving out undefined object members as JSON.stringify does: what `JSON.parse(JSON.stringify(v))` gives, the
 * same keys in the same order, for ≈ 1 µs less per event than the parse (docs/benchmarks-record.md, session 21).
 * NOT_PLAIN for anything else (a Date, a class instance, -0, NaN, a cycle…): the caller parses the text then.
 */
export function plainJsonCopy(v: unknown, depth = 0): unknown {
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0) ? v : NOT_PLAIN;
  if (typeof v !== 'object' || depth > PLAIN_DEPTH) return NOT_PLAIN;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return NOT_PLAIN;
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const c = plainJsonCopy(v[i], depth + 1);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out[i] = c;
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    if (k === '__proto__') return NOT_PLAIN;
    const c = plainJsonCopy(x, depth + 1);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    out[k] = c;
  }
  return out;
}

/**
 * Rows of every unit as the statement's JSON parameters; the audit events in unit order (the chain order).
 * `ownFlush`: the statement's commit waits for its own WAL flush (OWN_FLUSH; no FLUSH_WAIT after it).
 */
export function planBatch(
  units: readonly UnitOfWork[],
  ownFlush = false,
  writeOrder: number | null = null,
  shape: BatchShape = batchShape(units),
): BatchPlan {
  const certs: CertificateRow[] = [];
  const certificateUnits: string[] = [];
  const sealed: NonNullable<UnitOfWork['insertCertificateKeys']> = [];
  const svids: NonNullable<UnitOfWork['insertSpiffeSvids']> = [];
  const supersedes: NonNullable<UnitOfWork['supersedeSpiffeSvids']> = [];
  const revocations: object[] = [];
  const requests: object[] = [];
  const events: PlannedEvent[][] = [];
  /** the events' fields as the batch statement's `ev` reads them (EVENT) */
  const sent = Object.fromEntries(EVENT.map(([f]) => [f, [] as (string | null)[]])) as Record<
    EventField,
    (string | null)[]
  >;
  units.forEach((unit, u) => {
    for (const c of unit.insertCertificates ?? []) {
      certs.push(c);
      certificateUnits.push(String(u));
    }
    if (unit.insertCertificateKeys) for (const k of unit.insertCertificateKeys) sealed.push(k);
    if (unit.insertSpiffeSvids) for (const v of unit.insertSpiffeSvids) svids.push(v);
    if (unit.supersedeSpiffeSvids) for (const v of unit.supersedeSpiffeSvids) supersedes.push(v);
    for (const r of unit.updateCertificates ?? [])
      revocations.push({ ...r.patch, id: r.id, onlyIfStatus: r.onlyIfStatus });
    for (const r of unit.updateRequests ?? []) {
      const patch = r.patch as Record<string, unknown>;
      const keys = Object.keys(patch).filter((k) => patch[k] !== undefined);
      // nothing to set: nothing checked either (as the general unit of work)
      if (keys.length)
        requests.push({
          ...patch,
          u,
          id: r.id,
          onlyIfStatus: r.onlyIfStatus,
          set: `,${keys.join(',')},`,
        });
    }
    const own: PlannedEvent[] = [];
    for (const e of unit.audit ?? []) {
      // audit details are stored as JSON text (this text): hash and answer exactly what will be read back — a
      // copy of plain JSON values is that (plainJsonCopy), anything else goes through the text. Plain JSON data's text
      // and canonical JSON are made in one walk (plainJsonAndCanonical, as SQLite's audit rows)
      const given = e.details ?? {};
      const plain = plainJsonAndCanonical(given);
      const text = plain?.json ?? JSON.stringify(given);
      const copy = plain ? plainJsonCopy(given, 0) : NOT_PLAIN;
      // the fields one by one (not a spread of the caller's object): one shape for every event
      const event: PlannedEvent = {
        id: e.id,
        time: e.time,
        actor: e.actor,
        action: e.action,
        target: e.target ?? null,
        outcome: e.outcome,
        details: (copy === NOT_PLAIN ? JSON.parse(text) : copy) as Record<string, unknown>,
      };
      // the canonical text of what is answered: plain data's own (copy and value have the same canonical JSON)
      const [prefix, suffix] = canonicalAroundSeq(event, copy === NOT_PLAIN ? undefined : plain?.canonical);
      own.push(event);
      sent.id.push(e.id);
      sent.time.push(String(e.time));
      sent.actor.push(e.actor);
      sent.action.push(e.action);
      sent.target.push(event.target);
      sent.outcome.push(e.outcome);
      sent.u.push(String(u));
      sent.details.push(text);
      sent.prefix.push(prefix);
      sent.suffix.push(suffix);
    }
    events.push(own);
  });
  // the text columns in TextColumn order (textColumn's slots)
  const columns = [
    certificateUnits,
    ...EVENT.map(([f]) => sent[f]),
    ...CERTS.texts(certs),
    ...NAMES.texts(certificateNameRows(certs)),
    ...KEYS.texts(sealed),
    ...SVIDS.texts(svids),
    supersedes.map((v) => v.spiffeId),
    supersedes.map((v) => v.by),
    supersedes.map((v) => String(v.at)),
  ];
  if (columns.length !== TEXT_COLUMNS) throw new Error(`${columns.length} text columns for ${TEXT_COLUMNS}`);
  // a part the statement lacks would not be written: never sent so
  if (
    (revocations.length && !shape.revocations) ||
    (requests.length && !shape.requests) ||
    (sealed.length && !shape.keys) ||
    ((svids.length || supersedes.length) && !shape.svids)
  )
    throw new Error('a batch with a part its statement lacks');
  const statement = batchStatement(shape);
  const values: (string | Buffer | null)[] = [
    binaryTextColumns(columns),
    columnBounds(columns),
    ownFlush ? 'true' : 'false',
    writeOrder === null ? null : String(writeOrder),
  ];
  if (statement.revocations !== undefined) values.push(JSON.stringify(revocations));
  if (statement.requests !== undefined) values.push(JSON.stringify(requests));
  return {
    name: statement.name,
    text: statement.text,
    values,
    results(row) {
      const [firstSeq, firstPrev, hashes, , refusedJson] = row ?? [null, null, null, 0, null];
      const refused = new Map(
        (JSON.parse(refusedJson ?? '[]') as [number, string, string, number | null][]).map(([u, ca, st, keep]) => [
          u,
          st.startsWith('spiffe:') ? svidCaRotated(ca, st.slice('spiffe:'.length), keep) : refusal(ca, st),
        ]),
      );
      const written = events.reduce((n, own, u) => n + (refused.has(u) ? 0 : own.length), 0);
      const H = GENESIS_HASH.length;
      if ((hashes ?? '').length !== written * H || (written > 0 && (firstSeq === null || !firstPrev)))
        throw new Error(`the batch statement returned ${(hashes ?? '').length / H} hashes for ${written} events`);
      let at = 0;
      return units.map((_, u) => {
        const error = refused.get(u);
        if (error) return error;
        const audit: AuditEventRow[] = events[u]!.map((event) => {
          const row: AuditEventRow = {
            id: event.id,
            time: event.time,
            actor: event.actor,
            action: event.action,
            target: event.target,
            outcome: event.outcome,
            details: event.details,
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
