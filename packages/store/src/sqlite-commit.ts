/**
 * The SQLite commit: the units of a group-commit batch written in one `BEGIN IMMEDIATE` transaction on one
 * better-sqlite3 connection. Used on the main thread (sqlite-store.ts) and in the writer thread
 * (sqlite-writer-thread.ts), so both write exactly the same way.
 */
import type Database from 'better-sqlite3';
import { getTableColumns } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { PkiError, type ErrorKind } from '@pkim/shared';
import * as schema from './sqlite-schema';
import type { AuditEventRow, CertificateRow, CommitResult, SpiffeSvidRow, UnitOfWork } from './types';
import {
  CountDeltas,
  applyCountDeltas,
  auditDetailsJson,
  unitOfWork,
  type FastSteps,
  type RequestUpdate,
  type SharedUnitState,
  type SqlStep,
  type UnitOfWorkOptions,
} from './unit-of-work';
import { driverError, toWriteError } from './store-errors';

/**
 * `INSERT INTO table ("col", …) VALUES (?, …)` with the columns in the order of `keys` (TS keys of the Drizzle
 * table): the caller passes its values as an array in that order (positional parameters bind ≈ 2× faster than named
 * ones in better-sqlite3). `keys` must name every column of the table exactly once: a column added to the schema
 * and not written by the fast path fails here, when the store opens.
 */
function insertSql(
  table: typeof schema.certificates | typeof schema.auditEvents | typeof schema.spiffeSvids,
  name: string,
  keys: readonly string[],
): string {
  const cols = getTableColumns(table) as Record<string, { name: string }>;
  const missing = Object.keys(cols).filter((k) => !keys.includes(k));
  const unknown = keys.filter((k) => !(k in cols));
  if (missing.length || unknown.length || new Set(keys).size !== keys.length) {
    throw new Error(
      `${name}: the fast insert's columns differ from the schema ` +
        `(missing: ${missing.join(', ')}; unknown: ${unknown.join(', ')})`,
    );
  }
  const columns = keys.map((k) => `"${cols[k]!.name}"`).join(', ');
  return `INSERT INTO "${name}" (${columns}) VALUES (${keys.map(() => '?').join(', ')})`;
}

/** the most rows one multi-row INSERT writes (a certificate has 20 parameters: 1,280 of SQLite's 32,766) */
const MAX_ROWS_PER_INSERT = 64;

/**
 * A fast insert that can write several rows at once: its one-row statement (`INSERT INTO t (…) VALUES (?, …)`), and
 * the same with n rows (`VALUES (?, …), (?, …), …`), prepared the first time a transaction holds n rows of it.
 */
interface MultiRowInsert {
  sqlite: Database.Database;
  /** the one-row statement's SQL, and its `(?, …)` */
  sql: string;
  tuple: string;
  /** parameters per row */
  width: number;
  byRows: Map<number, Database.Statement>;
}

/** the multi-row form of each one-row insert that has one (fastSteps: search terms, audit events) */
const multiRowOf = new WeakMap<object, MultiRowInsert>();

/**
 * Statements that neither read nor write the tables whose rows are held (certificate_names, audit_events: no trigger
 * of theirs touches them either): they run without writing the held rows first — so a batch's units, whose certificate
 * inserts, CA status reads, counter upserts and approvals' request updates come between their terms and events, still
 * write those in one go
 */
const besideHeldRows = new WeakSet<object>();

/** a one-row insert statement whose rows a transaction may hold and write together (HeldInserts) */
function multiRow(sqlite: Database.Database, sql: string, width: number): Database.Statement {
  const one = sqlite.prepare(sql);
  const tuple = sql.slice(sql.lastIndexOf('('));
  multiRowOf.set(one, { sqlite, sql, tuple, width, byRows: new Map([[1, one]]) });
  return one;
}

/** the statement for n rows, prepared when a transaction first holds n rows (16 issuances: 16 events, ≈ 100 terms) */
function rowsStatement(m: MultiRowInsert, n: number): Database.Statement {
  let q = m.byRows.get(n);
  if (!q) {
    q = m.sqlite.prepare(m.sql.replace(/^INSERT INTO/, 'INSERT OR ROLLBACK INTO') + `, ${m.tuple}`.repeat(n - 1));
    m.byRows.set(n, q);
  }
  return q;
}

/**
 * The rows of one transaction's search terms and audit events held back and written with one multi-row INSERT per
 * table (up to MAX_ROWS_PER_INSERT rows) instead of one statement per row: a statement's fixed cost (the call into
 * better-sqlite3, the VDBE's start and end, its reset) is paid once per batch, not per row (≈ 0.6 of ≈ 4 µs a row).
 * The rows are written before any statement runs that is not one of `besideHeldRows` (any read, update, delete or
 * other insert: a certificate's deletion, whose trigger deletes its terms, sees them) and when the transaction ends,
 * each table's rows in the order they came: the same rows, the same values bound in the same order.
 * `INSERT OR ROLLBACK`: a multi-row INSERT that can fail part-way (a primary key, a unique index) would otherwise need
 * a statement journal — every page it changes copied first, a temporary file past 64 KiB (bench:store, 16 units:
 * 41,400 instead of 24,900 bytes and 17.6 instead of 11.4 write syscalls per certificate). Its failure rolls the
 * whole transaction back, which the caller does anyway (a batch is then written again unit by unit). Certificates
 * are not held: their foreign keys (CA, request, renewed certificate) need the statement journal whatever the
 * conflict clause.
 */
export class HeldInserts {
  private readonly held = new Map<MultiRowInsert, unknown[]>();

  /** holds the step's row when it is one of a multi-row insert; false (nothing held) for any other step */
  hold(step: SqlStep): boolean {
    if (step.mode !== 'exec' || !Array.isArray(step.params)) return false;
    const m = multiRowOf.get(step.q as object);
    if (!m) return false;
    let rows = this.held.get(m);
    if (!rows) this.held.set(m, (rows = []));
    for (const v of step.params) rows.push(v);
    return true;
  }

  /** writes every row held, table by table in the order each table's first row came */
  flush(): void {
    if (this.held.size === 0) return;
    for (const [m, params] of this.held) {
      const rows = params.length / m.width;
      for (let at = 0; at < rows; at += MAX_ROWS_PER_INSERT) {
        const n = Math.min(MAX_ROWS_PER_INSERT, rows - at);
        rowsStatement(m, n).run(n === rows ? params : params.slice(at * m.width, (at + n) * m.width));
      }
    }
    this.held.clear();
  }
}

/** the certificate columns in the order of the fast insert's parameters */
const CERTIFICATE_KEYS = [
  'id',
  'caId',
  'serialHex',
  'subjectDn',
  'commonName',
  'sans',
  'profile',
  'keyType',
  'notBefore',
  'notAfter',
  'status',
  'revokedAt',
  'revocationReason',
  'fingerprintSha256',
  'certificatePem',
  'requestId',
  'issuedBy',
  'createdAt',
  'renewedFrom',
  'provisioner',
] as const satisfies readonly (keyof CertificateRow)[];

/** the audit event columns in the order of the fast insert's parameters */
const AUDIT_KEYS = [
  'seq',
  'id',
  'time',
  'actor',
  'action',
  'target',
  'outcome',
  'details',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditEventRow)[];

/** the SVID columns in the order of the fast insert's parameters */
const SVID_KEYS = [
  'id',
  'caId',
  'spiffeId',
  'serviceType',
  'notAfter',
  'supersededBy',
  'supersededAt',
  'createdAt',
] as const satisfies readonly (keyof SpiffeSvidRow)[];

/** the ID's current SVID superseded: by spiffe_svids_current_idx (0028), not a walk of every earlier SVID of the ID */
export const SUPERSEDE_SVID_SQL =
  'UPDATE "spiffe_svids" SET "superseded_by" = ?, "superseded_at" = ? ' +
  'WHERE "spiffe_id" = ? AND "superseded_by" IS NULL AND "id" <> ?';

/**
 * The hot issuance writes as raw better-sqlite3 prepared statements with positional parameters: Drizzle's per-call
 * mapping (placeholder filling, per-column driver conversion) costs more than the inserts themselves. The
 * conversions are done here: JSON columns stringified, absent values as null, each array in the order of its
 * *_KEYS list (checked against the schema by insertSql).
 */
export function fastSteps(sqlite: Database.Database): FastSteps {
  const insertCertificate = sqlite.prepare(insertSql(schema.certificates, 'certificates', CERTIFICATE_KEYS));
  const insertName = multiRow(
    sqlite,
    'INSERT INTO "certificate_names" ("name", "certificate_id", "created_at") VALUES (?, ?, ?)',
    3,
  );
  const insertAudit = multiRow(sqlite, insertSql(schema.auditEvents, 'audit_events', AUDIT_KEYS), AUDIT_KEYS.length);
  const head = sqlite.prepare('SELECT "seq", "hash" FROM "audit_events" ORDER BY "seq" DESC LIMIT 1');
  const upsertCount = sqlite.prepare(
    'INSERT INTO "certificate_counts" ("ca_id", "profile", "status", "count") VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT ("ca_id", "profile", "status") DO UPDATE SET "count" = "count" + excluded."count"',
  );
  const insertSvid = sqlite.prepare(insertSql(schema.spiffeSvids, 'spiffe_svids', SVID_KEYS));
  const supersedeSvid = sqlite.prepare(SUPERSEDE_SVID_SQL);
  const caStatus = sqlite.prepare('SELECT "status" FROM "certificate_authorities" WHERE "id" = ?');
  const spiffeCa = sqlite.prepare('SELECT "status", "keep_until" AS "keepUntil" FROM "spiffe_cas" WHERE "id" = ?');
  for (const q of [insertCertificate, upsertCount, caStatus, spiffeCa]) besideHeldRows.add(q);
  // a request's update, as Drizzle's `update(R).set(patch).where(…)` writes it (undefined values left out, each value
  // through its column's driver mapping): one statement per set of columns and condition, prepared once (an approval
  // built and prepared it per commit: ≈ 10 % of its main thread)
  const requestColumns = getTableColumns(schema.certificateRequests) as Record<
    string,
    { name: string; mapToDriverValue(v: unknown): unknown }
  >;
  const updateRequestSql = new Map<string, Database.Statement>();
  const updateRequest = (u: RequestUpdate): SqlStep => {
    const keys = Object.keys(u.patch).filter((k) => (u.patch as Record<string, unknown>)[k] !== undefined);
    const shape = `${keys.join(',')}|${u.onlyIfStatus === undefined ? '' : 's'}`;
    let q = updateRequestSql.get(shape);
    if (!q) {
      const set = keys.map((k) => {
        const column = requestColumns[k];
        if (!column) throw new PkiError('internal', `certificate_requests has no column '${k}'`);
        return `"${column.name}" = ?`;
      });
      const where = `"id" = ?${u.onlyIfStatus === undefined ? '' : ' AND "status" = ?'}`;
      q = sqlite.prepare(`UPDATE "certificate_requests" SET ${set.join(', ')} WHERE ${where}`);
      // certificate_requests has no trigger and the held rows' tables are neither read nor written by the update:
      // an approval's update runs beside the batch's held terms and events, which then go in one INSERT per table
      // for the batch, as a leaf's do (before: written before each approval's update, a few rows per statement)
      besideHeldRows.add(q);
      updateRequestSql.set(shape, q);
    }
    const params: unknown[] = keys.map((k) => {
      const v = (u.patch as Record<string, unknown>)[k];
      return v === null ? null : requestColumns[k]!.mapToDriverValue(v);
    });
    params.push(u.id);
    if (u.onlyIfStatus !== undefined) params.push(u.onlyIfStatus);
    return { mode: 'exec', q, params };
  };
  return {
    updateRequest,
    auditHead: () => ({ mode: 'rows', q: head }),
    caStatus: (caId) => ({ mode: 'rows', q: caStatus, params: [caId] }),
    spiffeCa: (caId) => ({ mode: 'rows', q: spiffeCa, params: [caId] }),
    insertCertificate: (r: CertificateRow) => ({
      mode: 'exec',
      q: insertCertificate,
      params: [
        r.id,
        r.caId,
        r.serialHex,
        r.subjectDn,
        r.commonName ?? null,
        JSON.stringify(r.sans),
        r.profile,
        r.keyType,
        r.notBefore,
        r.notAfter,
        r.status,
        r.revokedAt ?? null,
        r.revocationReason ?? null,
        r.fingerprintSha256,
        r.certificatePem,
        r.requestId ?? null,
        r.issuedBy,
        r.createdAt,
        r.renewedFrom ?? null,
        r.provisioner ?? null,
      ],
    }),
    insertCertificateName: (r) => ({ mode: 'exec', q: insertName, params: [r.name, r.certificateId, r.createdAt] }),
    insertAuditEvent: (r: AuditEventRow, detailsJson?: string) => ({
      mode: 'exec',
      q: insertAudit,
      params: [
        r.seq,
        r.id,
        r.time,
        r.actor,
        r.action,
        r.target ?? null,
        r.outcome,
        auditDetailsJson(r, detailsJson),
        r.prevHash,
        r.hash,
      ],
    }),
    upsertCount: (d) => ({ mode: 'exec', q: upsertCount, params: [d.caId, d.profile, d.status, d.delta] }),
    insertSpiffeSvid: (r) => ({
      mode: 'exec',
      q: insertSvid,
      params: [
        r.id,
        r.caId,
        r.spiffeId,
        r.serviceType,
        r.notAfter,
        r.supersededBy ?? null,
        r.supersededAt ?? null,
        r.createdAt,
      ],
    }),
    supersedeSpiffeSvid: (u) => ({ mode: 'exec', q: supersedeSvid, params: [u.by, u.at, u.spiffeId, u.by] }),
  };
}

interface SyncRunnable {
  run(params?: Record<string, unknown> | unknown[]): { changes: number };
  all(params?: Record<string, unknown> | unknown[]): unknown[];
}

function runStepSync(step: SqlStep, held?: HeldInserts): unknown {
  if (held) {
    // a held row counts as inserted (the unit of work reads no result of these inserts); anything else but the
    // statements beside them runs after the rows held so far are written
    if (held.hold(step)) return 1;
    if (!besideHeldRows.has(step.q as object)) held.flush();
  }
  const q = step.q as SyncRunnable;
  if (step.params === undefined) return step.mode === 'exec' ? q.run().changes : q.all();
  return step.mode === 'exec' ? q.run(step.params).changes : q.all(step.params);
}

/**
 * Runs a generator of SQL steps synchronously (inside a better-sqlite3 transaction); with `held`, the rows of its
 * multi-row inserts are held there (the caller flushes them before the transaction ends).
 */
export function runSync<T>(gen: Generator<SqlStep, T, unknown>, held?: HeldInserts): T {
  let r = gen.next();
  while (!r.done) r = gen.next(runStepSync(r.value, held));
  return r.value;
}

/** what one unit of a batch came to: its result, or the error that rolled it back */
export type UnitOutcome = { ok: true; result: CommitResult } | { ok: false; error: PkiError };

/** a PkiError as it crosses a thread boundary (structured clone keeps no class) */
export interface SentError {
  code: string;
  message: string;
  kind: ErrorKind;
  retryable: boolean;
  details: Record<string, unknown>;
  /** the driver's error under it (its message and SQLite code) */
  cause?: { message: string; code?: string };
}

export function sendError(e: PkiError): SentError {
  const driver = driverError(e.cause);
  const cause = driver ?? (e.cause instanceof Error ? e.cause : undefined);
  return {
    code: e.code,
    message: e.message,
    kind: e.kind,
    retryable: e.retryable,
    details: e.details,
    ...(cause ? { cause: { message: cause.message, ...(driver?.code ? { code: driver.code } : {}) } } : {}),
  };
}

export function receiveError(e: SentError): PkiError {
  const cause = e.cause
    ? Object.assign(new Error(e.cause.message), e.cause.code ? { code: e.cause.code } : {})
    : undefined;
  return new PkiError(e.code, e.message, { kind: e.kind, retryable: e.retryable, details: e.details, cause });
}

export interface SqliteCommitter {
  options: UnitOfWorkOptions;
  /**
   * Writes a batch: all units in ONE `BEGIN IMMEDIATE` transaction, in order (so the audit chain is appended in that
   * order). If any unit fails, the whole transaction is rolled back and every unit is written again in a transaction
   * of its own, so a failing unit never takes others down and never leaves partial writes.
   */
  write(units: UnitOfWork[]): UnitOutcome[];
}

export function createSqliteCommitter(sqlite: Database.Database, failCommit: boolean): SqliteCommitter {
  const db = drizzle({ client: sqlite });
  const options: UnitOfWorkOptions = { dialect: 'sqlite', fast: fastSteps(sqlite), failCommit };
  const unitTx = sqlite.transaction((unit: UnitOfWork): CommitResult => {
    const held = new HeldInserts();
    const result = runSync(unitOfWork(db, schema, unit, options), held);
    held.flush();
    return result;
  });
  /**
   * The units of a batch run one after the other in the batch's transaction, without a savepoint each (a savepoint
   * copies every page it touches first to a statement journal, a temporary file past 64 KiB: ~30 page writes per
   * certificate); they share the audit chain head and apply their counter deltas once, after the last unit.
   */
  const batchTx = sqlite.transaction((units: UnitOfWork[]) => {
    const shared: SharedUnitState = { deltas: new CountDeltas() };
    // the certificates, search terms and audit events of all units: one multi-row INSERT per table (HeldInserts)
    const held = new HeldInserts();
    const results = units.map((unit) => runSync(unitOfWork(db, schema, unit, options, shared), held));
    runSync(applyCountDeltas(db, schema, shared.deltas, options.fast), held);
    held.flush();
    return results;
  });
  return {
    options,
    write(units) {
      if (units.length > 1) {
        try {
          return batchTx.immediate(units).map((result) => ({ ok: true, result }));
        } catch {
          // fall through: isolate the failing unit
        }
      }
      return units.map((unit): UnitOutcome => {
        try {
          return { ok: true, result: unitTx.immediate(unit) };
        } catch (e) {
          return { ok: false, error: toWriteError(e) };
        }
      });
    },
  };
}
