// The PostgreSQL batch statement commits either waiting for its own WAL flush (its previous batch found the audit-chain
// lock free) or without it, so the lock (released at the end of its commit) is not held through the flush when others
// wait for it — the store then answers the batch's callers only once the WAL holding that commit is on disk
// (FLUSH_WAIT, src/pg-batch-commit.ts). Checked on a DURABLE cluster (fsync and synchronous_commit on, as a user runs
// it) whose WAL writer is stopped (SIGSTOP) while a check runs: a commit that did not flush itself stays unflushed
// unless a later synchronous commit flushes it. pg_walinspect reads only flushed WAL, so a transaction's COMMIT record
// is listed by it exactly when that commit is on disk.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store, type UnitOfWork } from '../src/index';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { AUDIT_CHAIN_LOCK, FLUSH_WAIT, LOCK_CLASS, planBatch } from '../src/pg-batch-commit';
import { makeCa, makeCert, makeEvent } from './store-fixtures';
import { eventually } from '../../../tests/support/test-kit';

let cluster: TestPostgres;
let store: Store;
let sql: pg.Client;
/**
 * the WAL checks, on connections of their own: the callers of one batch each check the moment they are answered,
 * at once (one client would have to queue them: pg deprecates a query on a client already executing one)
 */
let checks: pg.Pool;
let caId: string;
let storeUrl: string;

beforeAll(async () => {
  cluster = await startPostgres({
    durable: true,
    // its files in memory: what is checked is the flush position PostgreSQL reports (pg_current_wal_flush_lsn), which
    // an fsync moves on a tmpfs as on a disk; the disk's fsyncs and checkpoints took ≈ 5 s of the set-up
    memory: true,
    // nothing but the WAL writer (stopped while a check runs) writes buffers or WAL on its own during the test; it
    // sleeps 10 s between rounds, so it is stopped asleep at the first try
    settings: ['wal_writer_delay=10s', 'wal_writer_flush_after=64MB', 'autovacuum=off', 'bgwriter_lru_maxpages=0'],
  });
  const url = await cluster.createDatabase();
  storeUrl = url;
  store = await openStore({ url });
  const ca = makeCa();
  caId = ca.id;
  await store.commit({ insertCa: [ca] });
  sql = new pg.Client({ connectionString: url });
  await sql.connect();
  await sql.query('create extension pg_walinspect');
  checks = new pg.Pool({ connectionString: url, max: 6 });
}, 120_000);
afterAll(async () => {
  await store?.close();
  await sql?.end();
  await checks?.end();
  await cluster?.stop();
});

/** the transaction id that wrote a certificate row */
const writer = async (certificateId: string): Promise<string> =>
  (await checks.query('select xmin::text as x from certificates where id = $1', [certificateId])).rows[0].x as string;

/** whether that transaction's COMMIT record is in the WAL flushed to disk (from `since` on) */
async function commitFlushed(xid: string, since: string): Promise<boolean> {
  const moved = await checks.query('select pg_current_wal_flush_lsn() > $1::pg_lsn as m', [since]);
  if (!(moved.rows[0] as { m: boolean }).m) return false; // nothing flushed since (pg_walinspect refuses the range)
  const r = await checks.query(
    `select count(*)::int as n from pg_get_wal_records_info($1, pg_current_wal_flush_lsn())
     where resource_manager = 'Transaction' and record_type = 'COMMIT' and xid::text = $2`,
    [since, xid],
  );
  return (r.rows[0] as { n: number }).n === 1;
}

const flushedUpTo = async (): Promise<string> =>
  (await sql.query('select pg_current_wal_flush_lsn()::text as l')).rows[0].l as string;

/** the kernel's state letter of a process (`T`: stopped) */
const processState = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;

/**
 * Runs `fn` with the cluster's WAL writer stopped (SIGSTOP, then SIGCONT), so that nothing flushes the WAL on its own
 * meanwhile: a commit is on disk only if it, or a later synchronous commit, flushed it. (Session 35 waited instead for
 * the WAL writer's flush and checked within its 10 s round: up to 10 s per test.) The writer must be stopped asleep
 * in its main loop (its wait event WalWriterMain), not inside a write of the WAL, where it holds the lock every flush
 * takes: stopped anywhere else, it is let go and stopped again.
 */
async function withWalWriterStopped<T>(fn: () => Promise<T>): Promise<T> {
  const pid = (await sql.query(`select pid from pg_stat_activity where backend_type = 'walwriter'`)).rows[0]
    .pid as number;
  const stop = async (): Promise<boolean> => {
    process.kill(pid, 'SIGSTOP');
    while (processState(pid) !== 'T') await new Promise((r) => setImmediate(r));
    const w = await sql.query('select wait_event from pg_stat_activity where pid = $1', [pid]);
    if ((w.rows[0] as { wait_event: string | null }).wait_event === 'WalWriterMain') return true;
    process.kill(pid, 'SIGCONT');
    return false;
  };
  expect(await eventually(stop, Boolean)).toBe(true);
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/**
 * Commits `u` through `on` while the audit-chain lock is held by another transaction (on `holder`): the batch statement
 * finds it taken and waits; the lock is released once a backend is seen waiting for it.
 */
async function commitAfterLockWait(on: Store, holder: pg.Client, u: UnitOfWork): Promise<void> {
  await holder.query('begin');
  await holder.query('select pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, AUDIT_CHAIN_LOCK]);
  const committed = on.commit(u);
  const waiting = async () =>
    (await holder.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`)).rows[0]
      .n as number;
  expect(await eventually(waiting, (n) => n > 0)).toBe(1);
  await holder.query('commit');
  await committed;
}

function unit(i: number) {
  const cert = makeCert(caId, { createdAt: i });
  return { insertCertificates: [cert], audit: [makeEvent({ action: 'certificate.issued', target: cert.id })] };
}

describe('PostgreSQL batch commit: the audit-chain lock is not held through the WAL flush', () => {
  it('the batch statement commits without the flush; FLUSH_WAIT then puts its commit on disk', async () => {
    await withWalWriterStopped(async () => {
      const since = await flushedUpTo();
      const u = unit(1);
      const plan = planBatch([u]);
      const row = (await sql.query({ text: plan.text, values: plan.values, rowMode: 'array' })).rows[0] as [
        ...unknown[],
      ];
      expect(row[5]).toBe('off'); // synchronous_commit of its own transaction
      const xid = await writer(u.insertCertificates[0]!.id);
      // committed (visible to this other session, the lock released) but not on disk yet
      expect(await commitFlushed(xid, since)).toBe(false);
      await sql.query(FLUSH_WAIT);
      expect(await commitFlushed(xid, since)).toBe(true);
    });
  }, 120_000);

  it('Store.commit answers a batch only once its commit is on disk; the chain verifies', async () => {
    const units = Array.from({ length: 5 }, (_, i) => unit(10 + i));
    const flushed = await withWalWriterStopped(async () => {
      const since = await flushedUpTo();
      // submitted together: one batch statement; each caller checks the WAL the moment it is answered
      return Promise.all(
        units.map(async (u) => {
          await store.commit(u);
          return commitFlushed(await writer(u.insertCertificates[0]!.id), since);
        }),
      );
    });
    expect(flushed).toEqual([true, true, true, true, true]);
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 1 + 5 });
  }, 120_000);

  it('a batch that found the lock free: the next commits with its own flush; found taken: FLUSH_WAIT', async () => {
    const batch = (from: number) => Promise.all([0, 1, 2].map((i) => store.commit(unit(from + i))));
    const events0 = (await store.audit.verify()).count;
    await batch(20); // the lock free (no one else writes): the next batch waits for its own flush
    const stats0 = store.commitStats();
    const units = Array.from({ length: 4 }, (_, i) => unit(30 + i));
    const flushed = await withWalWriterStopped(async () => {
      const since = await flushedUpTo();
      return Promise.all(
        units.map(async (u) => {
          await store.commit(u);
          return commitFlushed(await writer(u.insertCertificates[0]!.id), since);
        }),
      );
    });
    expect(flushed).toEqual([true, true, true, true]);
    const stats = store.commitStats();
    expect(stats.batches - stats0.batches).toBeGreaterThan(0);
    expect((stats.flushWaits ?? NaN) - (stats0.flushWaits ?? NaN)).toBe(0);
    expect((stats.lockWaits ?? NaN) - (stats0.lockWaits ?? NaN)).toBe(0);
    // another transaction holds the lock: this batch (planned with its own flush) waits for it and says so
    const holder = new pg.Client({ connectionString: storeUrl });
    await holder.connect();
    try {
      await commitAfterLockWait(store, holder, unit(50));
    } finally {
      await holder.end();
    }
    const d = (k: 'flushWaits' | 'lockWaits') => (store.commitStats()[k] ?? NaN) - (stats[k] ?? NaN);
    expect([d('flushWaits'), d('lockWaits')]).toEqual([0, 1]);
    // so the next batch commits without the flush (the lock released at once) and sends FLUSH_WAIT
    await store.commit(unit(51));
    expect([d('flushWaits'), d('lockWaits')]).toEqual([1, 1]);
    // it found the lock free: its own flush again
    await store.commit(unit(52));
    expect([d('flushWaits'), d('lockWaits')]).toEqual([1, 1]);
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: events0 + 3 + 4 + 3 });
  }, 120_000);

  it('a flush that is not confirmed: every caller of the batch gets the error, nothing is written twice', async () => {
    // the store connects as a role that may not emit the flush's WAL record (a superuser may do anything)
    await sql.query('create role pkim_app login');
    const db = new URL(await cluster.createDatabase());
    const admin = new pg.Client({ connectionString: db.toString() });
    await admin.connect();
    try {
      await admin.query(`alter database "${db.pathname.slice(1)}" owner to pkim_app`);
      await admin.query('alter schema public owner to pkim_app');
      await admin.query('revoke execute on function pg_logical_emit_message(boolean, text, text) from public');
      db.username = 'pkim_app';
      const app = await openStore({ url: db.toString() });
      try {
        const ca = makeCa();
        await app.commit({ insertCa: [ca] });
        const units = Array.from({ length: 5 }, (_, i) => {
          const cert = makeCert(ca.id, { createdAt: i });
          return { insertCertificates: [cert], audit: [makeEvent({ target: cert.id })] };
        });
        // a batch that waited for the lock (with its own flush, which needs no FLUSH_WAIT): the next sends FLUSH_WAIT
        await commitAfterLockWait(app, admin, units.pop()!);
        const settled = await Promise.allSettled(units.map((u) => app.commit(u)));
        expect(settled.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))).toEqual(
          Array(4).fill('store.unavailable'),
        );
        // the batch itself committed (once): its rows and one event each, the chain whole
        expect((await admin.query('select count(*)::int as n from certificates')).rows[0].n).toBe(5);
        expect(await app.audit.verify()).toMatchObject({ ok: true, count: 5 });
      } finally {
        await app.close();
      }
    } finally {
      await admin.end();
    }
  }, 120_000);
});
