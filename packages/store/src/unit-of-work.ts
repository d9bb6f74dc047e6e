/**
 * The body of `Store.commit`, written once for both engines as a generator of SQL steps: the
 * SQLite store runs each step synchronously inside `BEGIN IMMEDIATE` (no await in a
 * better-sqlite3 transaction), the PostgreSQL store awaits each step inside `BEGIN … COMMIT`.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { GENESIS_HASH, PkiError, computeAuditHash } from '@pkim/shared';
import type { AuditEventRow, CommitResult, NewAuditEvent, UnitOfWork } from './types';
import { affectedRows, type QueryDb, type Tables } from './query-db';

/** A statement to run: `exec` → number of affected rows, `rows` → result rows. */
export interface SqlStep {
  mode: 'exec' | 'rows';
  /** a Drizzle query builder, or a prepared query when `params` is set */
  q: unknown;
  params?: Record<string, unknown>;
}

/** Optional dialect fast paths (prepared statements) for the hot issuance path. */
export interface FastSteps {
  auditHead?: () => SqlStep;
  insertCertificate?: (row: Record<string, unknown>) => SqlStep;
  insertAuditEvent?: (row: AuditEventRow) => SqlStep;
}

type StepGen<T> = Generator<SqlStep, T, unknown>;

function* exec(q: unknown): StepGen<number> {
  return (yield { mode: 'exec', q }) as number;
}
function* rows<T>(q: unknown): StepGen<T[]> {
  return (yield { mode: 'rows', q }) as T[];
}

function hasKeys(o: object): boolean {
  for (const k in o) if ((o as Record<string, unknown>)[k] !== undefined) return true;
  return false;
}

/** Audit details are stored as JSON text; hash exactly what will be read back. */
function jsonRoundTrip(details: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(details ?? {})) as Record<string, unknown>;
}

export function buildAuditRows(head: { seq: number; hash: string } | undefined, events: NewAuditEvent[]): AuditEventRow[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  return events.map((e) => {
    seq += 1;
    const content = {
      seq, id: e.id, time: e.time, actor: e.actor, action: e.action,
      target: e.target ?? null, outcome: e.outcome, details: jsonRoundTrip(e.details),
    };
    const hash = computeAuditHash(prevHash, content);
    const row: AuditEventRow = { ...content, prevHash, hash };
    prevHash = hash;
    return row;
  });
}

export function* unitOfWork(db: QueryDb, t: Tables, unit: UnitOfWork, fast: FastSteps = {}, failCommit = false): StepGen<CommitResult> {
  const result: CommitResult = { revokedCount: 0, crlNumber: null, audit: [] };
  const C = t.certificates;

  if (unit.insertCa?.length) yield* exec(db.insert(t.certificateAuthorities).values(unit.insertCa));
  for (const u of unit.updateCa ?? []) {
    if (!hasKeys(u.patch)) continue;
    const n = yield* exec(db.update(t.certificateAuthorities).set(u.patch).where(eq(t.certificateAuthorities.id, u.id)));
    if (n === 0) throw new PkiError('ca.not_found', `CA ${u.id} does not exist`, { details: { id: u.id } });
  }

  if (unit.insertCertificates?.length) {
    if (fast.insertCertificate) {
      for (const row of unit.insertCertificates) yield fast.insertCertificate(row as unknown as Record<string, unknown>);
    } else {
      yield* exec(db.insert(C).values(unit.insertCertificates));
    }
  }
  for (const u of unit.updateCertificates ?? []) {
    if (!hasKeys(u.patch)) continue;
    const where = u.onlyIfStatus ? and(eq(C.id, u.id), eq(C.status, u.onlyIfStatus)) : eq(C.id, u.id);
    const n = yield* exec(db.update(C).set(u.patch).where(where));
    if (n === 0) {
      const [cur] = yield* rows<{ status: string }>(db.select({ status: C.status }).from(C).where(eq(C.id, u.id)));
      if (!cur) throw new PkiError('certificate.not_found', `Certificate ${u.id} does not exist`, { details: { id: u.id } });
      throw new PkiError('certificate.already_revoked', `Certificate ${u.id} is ${cur.status}, not ${u.onlyIfStatus}; nothing was changed`, {
        details: { id: u.id, status: cur.status, expectedStatus: u.onlyIfStatus },
      });
    }
  }
  if (unit.revokeAllIssuedBy && unit.revokeAllIssuedBy.caIds.length) {
    const r = unit.revokeAllIssuedBy;
    result.revokedCount = yield* exec(db.update(C)
      .set({ status: 'revoked', revokedAt: r.revokedAt, revocationReason: r.reason })
      .where(and(inArray(C.caId, r.caIds), eq(C.status, 'active'))));
  }
  if (unit.deleteCertificates?.length) yield* exec(db.delete(C).where(inArray(C.id, unit.deleteCertificates)));
  if (unit.deleteCas?.length) yield* exec(db.delete(t.certificateAuthorities).where(inArray(t.certificateAuthorities.id, unit.deleteCas)));

  const R = t.certificateRequests;
  if (unit.insertRequests?.length) yield* exec(db.insert(R).values(unit.insertRequests));
  for (const u of unit.updateRequests ?? []) {
    if (!hasKeys(u.patch)) continue;
    const where = u.onlyIfStatus ? and(eq(R.id, u.id), eq(R.status, u.onlyIfStatus)) : eq(R.id, u.id);
    const n = yield* exec(db.update(R).set(u.patch).where(where));
    if (n === 0) {
      const [cur] = yield* rows<{ status: string }>(db.select({ status: R.status }).from(R).where(eq(R.id, u.id)));
      if (!cur) throw new PkiError('request.not_found', `Certificate request ${u.id} does not exist`, { details: { id: u.id } });
      throw new PkiError('request.not_pending', `Certificate request ${u.id} is ${cur.status}, not ${u.onlyIfStatus}; nothing was changed`, {
        details: { id: u.id, status: cur.status, expectedStatus: u.onlyIfStatus },
      });
    }
  }

  if (unit.bumpCrlNumber) {
    const CA = t.certificateAuthorities;
    const [row] = yield* rows<{ crlNumber: number }>(db.update(CA)
      .set({ crlNumber: sql`${CA.crlNumber} + 1` })
      .where(eq(CA.id, unit.bumpCrlNumber))
      .returning({ crlNumber: CA.crlNumber }));
    if (!row) throw new PkiError('ca.not_found', `CA ${unit.bumpCrlNumber} does not exist`, { details: { id: unit.bumpCrlNumber } });
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
  if (unit.deleteSessions?.length) yield* exec(db.delete(t.sessions).where(inArray(t.sessions.id, unit.deleteSessions)));
  const settingEntries = Object.entries(unit.setSettings ?? {});
  if (settingEntries.length) {
    yield* exec(db.insert(t.settings).values(settingEntries.map(([key, value]) => ({ key, value })))
      .onConflictDoUpdate({ target: t.settings.key, set: { value: sql`excluded.value` } }));
  }

  if (unit.audit?.length) {
    const A = t.auditEvents;
    const [head] = fast.auditHead
      ? ((yield fast.auditHead()) as Array<{ seq: number; hash: string }>)
      : yield* rows<{ seq: number; hash: string }>(db.select({ seq: A.seq, hash: A.hash }).from(A).orderBy(desc(A.seq)).limit(1));
    const auditRows = buildAuditRows(head ? { seq: Number(head.seq), hash: head.hash } : undefined, unit.audit);
    if (fast.insertAuditEvent) {
      for (const row of auditRows) yield fast.insertAuditEvent(row);
    } else {
      yield* exec(db.insert(A).values(auditRows));
    }
    result.audit = auditRows;
  }

  if (failCommit) throw new Error('fault injection: failCommit (thrown inside the transaction after all writes)');
  return result;
}
