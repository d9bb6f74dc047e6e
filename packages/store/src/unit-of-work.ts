/**
 * The body of `Store.commit`, written once for both engines as a generator of SQL steps: the
 * SQLite store runs each step synchronously inside `BEGIN IMMEDIATE` (no await in a
 * better-sqlite3 transaction), the PostgreSQL store awaits each step inside `BEGIN … COMMIT`.
 *
 * Certificate counters (`certificate_counts`) are maintained here, in the same transaction as
 * the certificate writes: every step records its (CA, profile, status) deltas, and they are
 * applied once at the end of the unit, in key order (so two PostgreSQL transactions always lock
 * counter rows in the same order and cannot deadlock on them).
 */
import { and, count, desc, eq, inArray, lte, ne, sql, type SQL } from 'drizzle-orm';
import { GENESIS_HASH, PkiError, computeAuditHash, plainJsonAndCanonical } from '@pkim/shared';
import type {
  AuditEventRow,
  CertificateRow,
  CertificateStatus,
  CommitResult,
  NewAuditEvent,
  SpiffeSvidRow,
  StoreDialect,
  SupersedeSvid,
  UnitOfWork,
} from './types';
import { type QueryDb, type Tables } from './query-db';
import { refuseRotatedSvidCas, spiffeSteps } from './spiffe-repository';
import { sshUnitOfWorkSteps } from './ssh-unit-of-work';
import { acmeSteps } from './acme-repository';
import { certificateNameRows } from './certificate-search-terms';

/** A statement to run: `exec` → number of affected rows, `rows` → result rows. */
export interface SqlStep {
  mode: 'exec' | 'rows';
  /** a Drizzle query builder, or a prepared query when `params` is set (named, or positional as an array) */
  q: unknown;
  params?: Record<string, unknown> | unknown[];
}

/** Optional dialect fast paths (prepared statements) for the hot issuance path. */
export interface FastSteps {
  auditHead?: () => SqlStep;
  insertCertificate?: (row: CertificateRow) => SqlStep;
  insertCertificateName?: (row: { name: string; certificateId: string; createdAt: number }) => SqlStep;
  /** `detailsJson`: the JSON text of the row's details as buildAuditRows made it */
  insertAuditEvent?: (row: AuditEventRow, detailsJson?: string) => SqlStep;
  /** `count = count + delta` for one counter row (inserted when missing) */
  upsertCount?: (delta: CountDelta) => SqlStep;
  /** one SVID row (the SVID route commits one per request) */
  insertSpiffeSvid?: (row: SpiffeSvidRow) => SqlStep;
  /** marks the ID's earlier current SVID superseded by `by` */
  supersedeSpiffeSvid?: (s: SupersedeSvid) => SqlStep;
  /**
   * the status of a CA (`[{ status }]`, none when it does not exist), read in the unit's transaction before its
   * certificates are inserted: a unit issuing for a CA that is not active is refused (Store.checksIssuingCaAtCommit)
   */
  caStatus?: (caId: string) => SqlStep;
  /** a SPIFFE CA's `[{ status, keepUntil }]` (none when it is not one), read before an SVID is inserted */
  spiffeCa?: (caId: string) => SqlStep;
  /** a request's update (`exec`: the rows changed, 0 when it is not there or not in `onlyIfStatus`) */
  updateRequest?: (u: RequestUpdate) => SqlStep;
}

/** one entry of UnitOfWork.updateRequests */
export type RequestUpdate = NonNullable<UnitOfWork['updateRequests']>[number];

export interface UnitOfWorkOptions {
  dialect: StoreDialect;
  fast?: FastSteps;
  /** test hook: throw inside the transaction after all writes */
  failCommit?: boolean;
}

export interface CountDelta {
  caId: string;
  profile: string;
  status: CertificateStatus;
  delta: number;
}

/** Pending changes to `certificate_counts`, keyed by (CA, profile, status). */
export class CountDeltas {
  private readonly byKey = new Map<string, CountDelta>();

  add(caId: string, profile: string, status: CertificateStatus, delta: number): void {
    if (delta === 0) return;
    const key = `${caId}\u0000${profile}\u0000${status}`;
    const cur = this.byKey.get(key);
    if (cur) cur.delta += delta;
    else this.byKey.set(key, { caId, profile, status, delta });
  }

  addRows(rows: Iterable<Pick<CertificateRow, 'caId' | 'profile' | 'status'>>, delta = 1): void {
    for (const r of rows) this.add(r.caId, r.profile, r.status, delta);
  }

  /** the CAs' counter rows are deleted with them: forget what was pending for them */
  dropCas(caIds: string[]): void {
    const gone = new Set(caIds);
    for (const [k, d] of this.byKey) if (gone.has(d.caId)) this.byKey.delete(k);
  }

  /** non-zero deltas in a total order (the lock order on PostgreSQL) */
  sorted(): CountDelta[] {
    return [...this.byKey.entries()]
      .filter(([, d]) => d.delta !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, d]) => d);
  }
}

type StepGen<T> = Generator<SqlStep, T, unknown>;

function* exec(q: unknown): StepGen<number> {
  return (yield { mode: 'exec', q }) as number;
}
function* rows<T>(q: unknown): StepGen<T[]> {
  return (yield { mode: 'rows', q }) as T[];
}

/** The search terms of new certificates (`certificate_names`), in the transaction that inserts them. */
export function* insertCertificateNames(
  db: QueryDb,
  t: Tables,
  certs: readonly CertificateRow[],
  fast: FastSteps = {},
): StepGen<void> {
  const names = certificateNameRows(certs);
  if (fast.insertCertificateName) {
    for (const n of names) yield fast.insertCertificateName(n);
    return;
  }
  // 3 parameters a row: stay far below PostgreSQL's 65535 bind parameters per statement
  for (let i = 0; i < names.length; i += 10_000) {
    yield* exec(db.insert(t.certificateNames).values(names.slice(i, i + 10_000)));
  }
}

/** Raw SQL as a step (PostgreSQL only here: `db` is a node-postgres Drizzle database at runtime). */
function pgExecute(db: QueryDb, query: SQL): unknown {
  return (db as unknown as { execute(q: SQL): unknown }).execute(query);
}

/** Applies the pending counter deltas: one upsert per key (fast path) or one multi-row upsert. */
export function* applyCountDeltas(db: QueryDb, t: Tables, deltas: CountDeltas, fast: FastSteps = {}): StepGen<void> {
  const list = deltas.sorted();
  if (!list.length) return;
  if (fast.upsertCount) {
    for (const d of list) yield fast.upsertCount(d);
    return;
  }
  const CC = t.certificateCounts;
  for (let i = 0; i < list.length; i += 1000) {
    yield* exec(
      db
        .insert(CC)
        .values(
          list.slice(i, i + 1000).map((d) => ({ caId: d.caId, profile: d.profile, status: d.status, count: d.delta })),
        )
        .onConflictDoUpdate({
          target: [CC.caId, CC.profile, CC.status],
          set: { count: sql`${CC.count} + excluded.count` },
        }),
    );
  }
}

/**
 * Moves the ACTIVE certificates matching `filter` to `to` (revocation of whole CAs, expiry) and
 * records the counter deltas per (CA, profile). Work is O(rows moved), through an index of the
 * filter. PostgreSQL: one `WITH moved AS (UPDATE … RETURNING) SELECT … GROUP BY` statement, so the
 * counted rows are exactly the updated ones even with concurrent writers. SQLite: a grouped SELECT
 * then the UPDATE, exact because the transaction holds the write lock (`BEGIN IMMEDIATE`).
 */
/**
 * The rows moveActive moves: `filter` and active (exported for the query-plan test). `statusAsRowTest` (SQLite): the
 * status tested on each row the filter's own index finds — a CA's revocation reads that CA's rows by
 * (ca_id, serial_hex); as an index term SQLite read every active row of every CA by (status, not_after) instead
 * (migration 0034 dropped the (ca_id, status) index it used before).
 */
export function moveActiveCondition(t: Tables, dialect: StoreDialect, filter: SQL, statusAsRowTest: boolean): SQL {
  const C = t.certificates;
  const active = statusAsRowTest && dialect === 'sqlite' ? sql`+${C.status} = 'active'` : eq(C.status, 'active');
  return and(filter, active)!;
}

function* moveActive(
  db: QueryDb,
  t: Tables,
  dialect: StoreDialect,
  filter: SQL,
  set: Partial<Pick<CertificateRow, 'status' | 'revokedAt' | 'revocationReason'>>,
  to: CertificateStatus,
  deltas: CountDeltas,
  statusAsRowTest = false,
): StepGen<number> {
  const C = t.certificates;
  const where = moveActiveCondition(t, dialect, filter, statusAsRowTest);
  let groups: { caId: string; profile: string; n: number | string }[];
  if (dialect === 'postgres') {
    const update = db
      .update(C)
      .set({ ...set, status: to })
      .where(where)
      .returning({ caId: C.caId, profile: C.profile });
    groups = yield* rows(
      pgExecute(
        db,
        sql`with moved as (${update.getSQL()}) select ca_id as "caId", profile, count(*) as n from moved `.append(
          sql`group by ca_id, profile`,
        ),
      ),
    );
  } else {
    groups = yield* rows(
      db.select({ caId: C.caId, profile: C.profile, n: count() }).from(C).where(where).groupBy(C.caId, C.profile),
    );
    if (groups.length)
      yield* exec(
        db
          .update(C)
          .set({ ...set, status: to })
          .where(where),
      );
  }
  let moved = 0;
  for (const g of groups) {
    const n = Number(g.n);
    moved += n;
    deltas.add(g.caId, g.profile, 'active', -n);
    deltas.add(g.caId, g.profile, to, n);
  }
  return moved;
}

/** `certificates.markExpired(now)`: active certificates with notAfter <= now become expired (counters included). */
export function* markExpiredSteps(db: QueryDb, t: Tables, now: number, opts: UnitOfWorkOptions): StepGen<number> {
  const deltas = new CountDeltas();
  const n = yield* moveActive(db, t, opts.dialect, lte(t.certificates.notAfter, now), {}, 'expired', deltas);
  yield* applyCountDeltas(db, t, deltas, opts.fast);
  return n;
}

/**
 * Recomputes `certificate_counts` from the certificates table in one grouped pass (after bulk
 * loads, restores of foreign data, or to repair drift); returns the number of certificates and
 * how many counter rows were wrong. PostgreSQL: the counters table is locked against concurrent
 * writers first (they wait at their counter update), so the result is exact.
 */
export function* rebuildCountsSteps(
  db: QueryDb,
  t: Tables,
  dialect: StoreDialect,
): StepGen<{ certificates: number; corrected: number }> {
  const C = t.certificates;
  const CC = t.certificateCounts;
  if (dialect === 'postgres') yield* exec(pgExecute(db, sql`lock table ${CC} in share row exclusive mode`));
  const actual = yield* rows<{ caId: string; profile: string; status: CertificateStatus; n: number | string }>(
    db
      .select({ caId: C.caId, profile: C.profile, status: C.status, n: count() })
      .from(C)
      .groupBy(C.caId, C.profile, C.status),
  );
  const stored = yield* rows<{ caId: string; profile: string; status: CertificateStatus; count: number | string }>(
    db.select().from(CC),
  );
  const diff = new CountDeltas();
  for (const r of actual) diff.add(r.caId, r.profile, r.status, Number(r.n));
  for (const r of stored) diff.add(r.caId, r.profile, r.status, -Number(r.count));
  yield* exec(db.delete(CC));
  const fresh = new CountDeltas();
  for (const r of actual) fresh.add(r.caId, r.profile, r.status, Number(r.n));
  yield* applyCountDeltas(db, t, fresh);
  return { certificates: actual.reduce((a, r) => a + Number(r.n), 0), corrected: diff.sorted().length };
}

/**
 * UnitOfWork.insertSettings/updateSettings/removeSettings: one statement per key whose row count says whether the key
 * was absent/present, so two transactions racing on one key (two instances on one database) cannot both succeed — on
 * PostgreSQL the second waits on the first's row (its insert, update or delete) and then finds it there or gone
 */
function* guardedSettingSteps(db: QueryDb, t: Tables, unit: UnitOfWork): StepGen<void> {
  const S = t.settings;
  const missing = (key: string) =>
    new PkiError('store.setting_not_found', `setting ${key} is not there; nothing was committed`, { details: { key } });
  for (const [key, value] of Object.entries(unit.insertSettings ?? {})) {
    const added = yield* rows<{ key: string }>(
      db.insert(S).values({ key, value }).onConflictDoNothing({ target: S.key }).returning({ key: S.key }),
    );
    if (!added.length) {
      throw new PkiError('store.setting_exists', `setting ${key} exists already; nothing was committed`, {
        details: { key },
      });
    }
  }
  for (const [key, value] of Object.entries(unit.updateSettings ?? {})) {
    const changed = yield* rows<{ key: string }>(
      db.update(S).set({ value }).where(eq(S.key, key)).returning({ key: S.key }),
    );
    if (!changed.length) throw missing(key);
  }
  for (const key of unit.removeSettings ?? []) {
    const gone = yield* rows<{ key: string }>(db.delete(S).where(eq(S.key, key)).returning({ key: S.key }));
    if (!gone.length) throw missing(key);
  }
}

function hasKeys(o: object): boolean {
  for (const k in o) if ((o as Record<string, unknown>)[k] !== undefined) return true;
  return false;
}

/**
 * The audit rows of `events` after `head`, hash-chained. `detailsJson`, when given, receives the JSON text to store
 * for each row's `details` (in the rows' order), so that an insert stores it without stringifying the details again.
 */
export function buildAuditRows(
  head: { seq: number; hash: string } | undefined,
  events: NewAuditEvent[],
  detailsJson?: string[],
): AuditEventRow[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const out: AuditEventRow[] = new Array<AuditEventRow>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    seq += 1;
    // details are stored as JSON text: hash exactly what will be read back. Plain JSON data (what every event of the
    // issuance path has) reads back as an equal value with the same canonical JSON, so it is hashed and kept as it is,
    // its JSON text and canonical JSON made in one walk; anything else (a Date, undefined in an array, NaN…) goes
    // through its JSON text first
    const given = e.details ?? {};
    const plain = plainJsonAndCanonical(given);
    const json = plain?.json ?? JSON.stringify(given);
    const row: AuditEventRow = {
      seq,
      id: e.id,
      time: e.time,
      actor: e.actor,
      action: e.action,
      target: e.target ?? null,
      outcome: e.outcome,
      details: plain ? given : (JSON.parse(json) as Record<string, unknown>),
      prevHash,
      hash: '',
    };
    row.hash = computeAuditHash(prevHash, row, plain?.canonical);
    detailsJson?.push(json);
    prevHash = row.hash;
    out[i] = row;
  }
  return out;
}

/**
 * the JSON text to store for a row's `details`: `json` when buildAuditRows gave it, else stringified now (the same
 * text: a row's details are plain JSON data or were parsed from that text)
 */
export function auditDetailsJson(row: AuditEventRow, json?: string): string {
  return json ?? JSON.stringify(row.details);
}

/**
 * What the units of ONE transaction share when several are run in it one after the other (the SQLite group commit):
 * the audit chain head after the previous unit (read from the table by the first unit only) and the counter deltas,
 * applied once by the caller after the last unit (`applyCountDeltas`).
 */
export interface SharedUnitState {
  head?: { seq: number; hash: string };
  deltas: CountDeltas;
  /**
   * the CAs an earlier unit of the transaction read active (FastSteps.caStatus): not read again by the next units —
   * nothing else writes while the transaction holds the database's write lock — until a unit changes a CA row
   * (touchesCaRow: the set is emptied, that unit reads its CAs itself)
   */
  activeCas?: Set<string>;
}

/**
 * Refuses certificates whose CA is not active, read in the commit's transaction (so a CA disabled or revoked by any
 * process a moment before is refused, whatever row the issuer read earlier). A CA that does not exist (deleted) is
 * left to the foreign key (on PostgreSQL the counters', pg-store.ts refuseInactiveCas):
 * `store.write_failed`, nothing written.
 */
function* refuseInactiveCas(
  caStatus: (caId: string) => SqlStep,
  certs: CertificateRow[],
  active: Set<string> | undefined,
): StepGen<void> {
  let checked: string | undefined;
  for (const { caId } of certs) {
    if (caId === checked || active?.has(caId)) continue;
    const [ca] = (yield caStatus(caId)) as { status: string }[];
    if (ca && ca.status !== 'active') throw new PkiError('ca.not_active', `CA ${caId} is ${ca.status} and cannot sign`);
    checked = caId;
    if (ca) active?.add(caId);
  }
}

/** the fields of a leaf's unit (signing-pipeline.ts): its certificate, its event, an approval's request */
const ISSUANCE_FIELDS = new Set<string>(['insertCertificates', 'audit', 'insertRequests', 'updateRequests']);

/** the unit sets no field but ISSUANCE_FIELDS (one look at its own keys instead of a check of each other field) */
function issuanceOnly(unit: UnitOfWork): boolean {
  for (const k in unit) {
    if (!ISSUANCE_FIELDS.has(k) && (unit as Record<string, unknown>)[k] !== undefined) return false;
  }
  return true;
}

export function* unitOfWork(
  db: QueryDb,
  t: Tables,
  unit: UnitOfWork,
  opts: UnitOfWorkOptions,
  shared?: SharedUnitState,
): StepGen<CommitResult> {
  const fast = opts.fast ?? {};
  const result: CommitResult = { revokedCount: 0, crlNumber: null, krlVersions: {}, audit: [] };
  const C = t.certificates;
  const deltas = shared?.deltas ?? new CountDeltas();
  // a unit that changes CA rows reads the status of its CAs itself, and leaves none known to the next units
  let activeCas: Set<string> | undefined;
  if (shared && touchesCaRow(unit)) shared.activeCas?.clear();
  else if (shared) activeCas = shared.activeCas ??= new Set();
  // a leaf's unit (its certificate and event; an approval's request update) skips the checks of every other write
  const other = !issuanceOnly(unit);

  if (other) {
    if (unit.insertCa?.length) yield* exec(db.insert(t.certificateAuthorities).values(unit.insertCa));
    for (const u of unit.updateCa ?? []) {
      if (!hasKeys(u.patch)) continue;
      const A = t.certificateAuthorities;
      const where = u.unlessRevoked ? and(eq(A.id, u.id), ne(A.status, 'revoked')) : eq(A.id, u.id);
      const n = yield* exec(db.update(A).set(u.patch).where(where));
      if (n === 0) {
        const [cur] = u.unlessRevoked
          ? yield* rows<{ status: string }>(db.select({ status: A.status }).from(A).where(eq(A.id, u.id)))
          : [];
        if (cur)
          throw new PkiError('ca.already_revoked', `CA ${u.id} is already revoked; nothing was changed`, {
            details: { id: u.id },
          });
        throw new PkiError('ca.not_found', `CA ${u.id} does not exist`, { details: { id: u.id } });
      }
    }
  }

  // an SVID whose SPIFFE CA a rotation superseded meanwhile, and does not keep it: refused before anything is written
  if (unit.insertSpiffeSvids?.length) yield* refuseRotatedSvidCas(db, t, unit.insertSpiffeSvids, fast);
  if (unit.insertCertificates?.length) {
    if (fast.caStatus) yield* refuseInactiveCas(fast.caStatus, unit.insertCertificates, activeCas);
    if (fast.insertCertificate) {
      for (const row of unit.insertCertificates) yield fast.insertCertificate(row);
    } else {
      yield* exec(db.insert(C).values(unit.insertCertificates));
    }
    yield* insertCertificateNames(db, t, unit.insertCertificates, fast);
    deltas.addRows(unit.insertCertificates);
  }
  if (other) {
    if (unit.insertCertificateKeys?.length)
      yield* exec(db.insert(t.certificateKeys).values(unit.insertCertificateKeys));
    for (const u of unit.updateCertificates ?? []) {
      if (!hasKeys(u.patch)) continue;
      const notChanged = (status: string) =>
        new PkiError(
          'certificate.already_revoked',
          `Certificate ${u.id} is ${status}, not ${u.onlyIfStatus}; nothing was changed`,
          {
            details: { id: u.id, status, expectedStatus: u.onlyIfStatus },
          },
        );
      const notFound = () =>
        new PkiError('certificate.not_found', `Certificate ${u.id} does not exist`, { details: { id: u.id } });
      const to = u.patch.status;
      if (to === undefined) {
        // no status change: the counters are not affected
        const where = u.onlyIfStatus ? and(eq(C.id, u.id), eq(C.status, u.onlyIfStatus)) : eq(C.id, u.id);
        const n = yield* exec(db.update(C).set(u.patch).where(where));
        if (n === 0) {
          const [cur] = yield* rows<{ status: string }>(db.select({ status: C.status }).from(C).where(eq(C.id, u.id)));
          if (!cur) throw notFound();
          throw notChanged(cur.status);
        }
        continue;
      }
      // A status change moves one count from the old status to the new: the update is guarded by
      // the old status (given by `onlyIfStatus`, else read first), so the old status is known exactly.
      for (let attempt = 0; ; attempt++) {
        let from = u.onlyIfStatus;
        if (from === undefined) {
          const [cur] = yield* rows<{ status: CertificateStatus }>(
            db.select({ status: C.status }).from(C).where(eq(C.id, u.id)),
          );
          if (!cur) throw notFound();
          from = cur.status;
        }
        const [hit] = yield* rows<{ caId: string; profile: string }>(
          db
            .update(C)
            .set(u.patch)
            .where(and(eq(C.id, u.id), eq(C.status, from)))
            .returning({ caId: C.caId, profile: C.profile }),
        );
        if (hit) {
          if (from !== to) {
            deltas.add(hit.caId, hit.profile, from, -1);
            deltas.add(hit.caId, hit.profile, to, 1);
          }
          break;
        }
        const [cur] = yield* rows<{ status: string }>(db.select({ status: C.status }).from(C).where(eq(C.id, u.id)));
        if (!cur) throw notFound();
        if (u.onlyIfStatus !== undefined) throw notChanged(cur.status);
        // PostgreSQL only: another transaction changed the status between our read and our update
        if (attempt >= 10)
          throw new PkiError(
            'store.write_failed',
            `Certificate ${u.id} kept changing status concurrently; nothing was committed`,
            { retryable: true, details: { id: u.id } },
          );
      }
    }
    if (unit.revokeAllIssuedBy?.caIds.length) {
      const r = unit.revokeAllIssuedBy;
      result.revokedCount = yield* moveActive(
        db,
        t,
        opts.dialect,
        inArray(C.caId, r.caIds),
        { revokedAt: r.revokedAt, revocationReason: r.reason },
        'revoked',
        deltas,
        true,
      );
    }
    if (unit.deleteCertificates?.length) {
      const gone = yield* rows<Pick<CertificateRow, 'caId' | 'profile' | 'status'>>(
        db
          .delete(C)
          .where(inArray(C.id, unit.deleteCertificates))
          .returning({ caId: C.caId, profile: C.profile, status: C.status }),
      );
      deltas.addRows(gone, -1);
    }
    if (unit.deleteCas?.length) {
      // their certificates go by ON DELETE CASCADE; their counter rows go here (the FK would cascade too)
      yield* exec(db.delete(t.certificateCounts).where(inArray(t.certificateCounts.caId, unit.deleteCas)));
      deltas.dropCas(unit.deleteCas);
      yield* exec(db.delete(t.certificateAuthorities).where(inArray(t.certificateAuthorities.id, unit.deleteCas)));
    }
  }
  // several units in one transaction: the caller applies the deltas of all of them after the last
  if (!shared) yield* applyCountDeltas(db, t, deltas, fast);

  const R = t.certificateRequests;
  if (unit.insertRequests?.length) yield* exec(db.insert(R).values(unit.insertRequests));
  for (const u of unit.updateRequests ?? []) {
    if (!hasKeys(u.patch)) continue;
    let n: number;
    if (opts.fast?.updateRequest) n = (yield opts.fast.updateRequest(u)) as number;
    else {
      const where = u.onlyIfStatus ? and(eq(R.id, u.id), eq(R.status, u.onlyIfStatus)) : eq(R.id, u.id);
      n = yield* exec(db.update(R).set(u.patch).where(where));
    }
    if (n === 0) {
      const [cur] = yield* rows<{ status: string }>(db.select({ status: R.status }).from(R).where(eq(R.id, u.id)));
      if (!cur)
        throw new PkiError('request.not_found', `Certificate request ${u.id} does not exist`, {
          details: { id: u.id },
        });
      throw new PkiError(
        'request.not_pending',
        `Certificate request ${u.id} is ${cur.status}, not ${u.onlyIfStatus}; nothing was changed`,
        {
          details: { id: u.id, status: cur.status, expectedStatus: u.onlyIfStatus },
        },
      );
    }
  }

  if (other) {
    if (unit.bumpCrlNumber) {
      const CA = t.certificateAuthorities;
      const [row] = yield* rows<{ crlNumber: number }>(
        db
          .update(CA)
          .set({ crlNumber: sql`${CA.crlNumber} + 1` })
          .where(eq(CA.id, unit.bumpCrlNumber))
          .returning({ crlNumber: CA.crlNumber }),
      );
      if (!row)
        throw new PkiError('ca.not_found', `CA ${unit.bumpCrlNumber} does not exist`, {
          details: { id: unit.bumpCrlNumber },
        });
      result.crlNumber = Number(row.crlNumber);
    }

    if (unit.insertUsers?.length) yield* exec(db.insert(t.users).values(unit.insertUsers));
    for (const u of unit.updateUsers ?? []) {
      if (hasKeys(u.patch)) yield* exec(db.update(t.users).set(u.patch).where(eq(t.users.id, u.id)));
    }
    if (unit.insertTokens?.length) yield* exec(db.insert(t.apiTokens).values(unit.insertTokens));
    for (const u of unit.updateTokens ?? []) {
      if (hasKeys(u.patch)) yield* exec(db.update(t.apiTokens).set(u.patch).where(eq(t.apiTokens.id, u.id)));
    }
    if (unit.insertSessions?.length) yield* exec(db.insert(t.sessions).values(unit.insertSessions));
    if (unit.deleteSessions?.length)
      yield* exec(db.delete(t.sessions).where(inArray(t.sessions.id, unit.deleteSessions)));
    if (unit.deleteSessionsOfUsers?.length)
      yield* exec(db.delete(t.sessions).where(inArray(t.sessions.userId, unit.deleteSessionsOfUsers)));
    const settingEntries = Object.entries(unit.setSettings ?? {});
    if (settingEntries.length) {
      yield* exec(
        db
          .insert(t.settings)
          .values(settingEntries.map(([key, value]) => ({ key, value })))
          .onConflictDoUpdate({ target: t.settings.key, set: { value: sql`excluded.value` } }),
      );
    }
    yield* guardedSettingSteps(db, t, unit);

    if (unit.recordLoginFailures?.ids.length) {
      const L = t.loginFailures;
      const { ids, at, restartBefore, usernameById = {} } = unit.recordLoginFailures;
      yield* exec(
        db
          .insert(L)
          .values(
            [...new Set(ids)].map((id) => ({ id, failures: 1, lastFailureAt: at, username: usernameById[id] ?? null })),
          )
          .onConflictDoUpdate({
            target: L.id,
            set: {
              failures: sql`CASE WHEN ${L.lastFailureAt} < ${restartBefore} THEN 1 ELSE ${L.failures} + 1 END`,
              lastFailureAt: sql`excluded.last_failure_at`,
            },
          }),
      );
    }
    if (unit.clearLoginFailures?.length)
      yield* exec(db.delete(t.loginFailures).where(inArray(t.loginFailures.id, unit.clearLoginFailures)));
    if (unit.clearLoginFailuresOfUsers?.length)
      yield* exec(db.delete(t.loginFailures).where(inArray(t.loginFailures.username, unit.clearLoginFailuresOfUsers)));

    if (unit.insertUserIdentities?.length) yield* exec(db.insert(t.userIdentities).values(unit.insertUserIdentities));
    for (const u of unit.touchUserIdentities ?? []) {
      yield* exec(db.update(t.userIdentities).set({ lastLoginAt: u.lastLoginAt }).where(eq(t.userIdentities.id, u.id)));
    }
    if (unit.insertNotificationRules?.length)
      yield* exec(db.insert(t.notificationRules).values(unit.insertNotificationRules));
    for (const u of unit.updateNotificationRules ?? []) {
      if (hasKeys(u.patch))
        yield* exec(db.update(t.notificationRules).set(u.patch).where(eq(t.notificationRules.id, u.id)));
    }
    if (unit.deleteNotificationRules?.length)
      yield* exec(db.delete(t.notificationRules).where(inArray(t.notificationRules.id, unit.deleteNotificationRules)));

    yield* spiffeSteps(db, t, unit, fast);
    if (unit.deleteSettings?.length)
      yield* exec(db.delete(t.settings).where(inArray(t.settings.key, unit.deleteSettings)));
    if (unit.ssh) result.krlVersions = yield* sshUnitOfWorkSteps(db, t, unit.ssh);
    if (unit.acme) yield* acmeSteps(db, t, unit.acme);
  }

  if (unit.audit?.length) {
    const A = t.auditEvents;
    const [head] = shared?.head
      ? [shared.head]
      : fast.auditHead
        ? ((yield fast.auditHead()) as { seq: number; hash: string }[])
        : yield* rows<{ seq: number; hash: string }>(
            db.select({ seq: A.seq, hash: A.hash }).from(A).orderBy(desc(A.seq)).limit(1),
          );
    const texts: string[] | undefined = fast.insertAuditEvent ? [] : undefined;
    const auditRows = buildAuditRows(head ? { seq: Number(head.seq), hash: head.hash } : undefined, unit.audit, texts);
    const last = auditRows[auditRows.length - 1]!;
    if (shared) shared.head = { seq: last.seq, hash: last.hash };
    if (fast.insertAuditEvent) {
      for (let i = 0; i < auditRows.length; i++) yield fast.insertAuditEvent(auditRows[i]!, texts![i]);
    } else {
      yield* exec(db.insert(A).values(auditRows));
    }
    result.audit = auditRows;
  }

  if (opts.failCommit) throw new Error('fault injection: failCommit (thrown inside the transaction after all writes)');
  return result;
}

/** the unit may change a CA row (created, updated, deleted, CRL number): counted by Store.caRowWrites */
export const touchesCaRow = (unit: UnitOfWork): boolean =>
  !!(unit.insertCa ?? unit.updateCa ?? unit.deleteCas ?? unit.bumpCrlNumber);

/** `audit.append` on top of a store's commit: a standalone event in its own transaction. */
export function appendViaCommit(commit: (unit: UnitOfWork) => Promise<CommitResult>) {
  return async (event: NewAuditEvent): Promise<AuditEventRow> => (await commit({ audit: [event] })).audit[0]!;
}
