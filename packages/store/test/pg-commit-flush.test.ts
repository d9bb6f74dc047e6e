// The PostgreSQL batch statement commits without waiting for the disk, so the audit-chain lock (released at the end
// of its commit) is not held through the WAL flush, and the store answers the batch's callers only once the WAL
// holding that commit is on disk (FLUSH_WAIT, src/pg-batch-commit.ts). Checked on a DURABLE cluster (fsync and
// synchronous_commit on, as a user runs it) whose WAL writer flushes at most every 10 s: a commit that did not flush
// itself stays unflushed unless a later synchronous commit flushes it. pg_walinspect reads only flushed WAL, so a
// transaction's COMMIT record is listed by it exactly when that commit is on disk.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/index';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { BATCH_STATEMENT, FLUSH_WAIT, SOLE_WRITER_MS, planBatch } from '../src/pg-batch-commit';
import { makeCa, makeCert, makeEvent } from './store-fixtures';

let cluster: TestPostgres;
let store: Store;
let sql: pg.Client;
let caId: string;
let storeUrl: string;

beforeAll(async () => {
  cluster = await startPostgres({
    durable: true,
    // the WAL writer flushes every 10 s at most; nothing else writes buffers or WAL on its own during the test
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
}, 60_000);
afterAll(async () => {
  await store?.close();
  await sql?.end();
  await cluster?.stop();
});

/** the transaction id that wrote a certificate row */
const writer = async (certificateId: string): Promise<string> =>
  (await sql.query('select xmin::text as x from certificates where id = $1', [certificateId])).rows[0].x as string;

/** whether that transaction's COMMIT record is in the WAL flushed to disk (from `since` on) */
async function commitFlushed(xid: string, since: string): Promise<boolean> {
  const moved = await sql.query('select pg_current_wal_flush_lsn() > $1::pg_lsn as m', [since]);
  if (!(moved.rows[0] as { m: boolean }).m) return false; // nothing flushed since (pg_walinspect refuses the range)
  const r = await sql.query(
    `select count(*)::int as n from pg_get_wal_records_info($1, pg_current_wal_flush_lsn())
     where resource_manager = 'Transaction' and record_type = 'COMMIT' and xid::text = $2`,
    [since, xid],
  );
  return (r.rows[0] as { n: number }).n === 1;
}

const flushedUpTo = async (): Promise<string> =>
  (await sql.query('select pg_current_wal_flush_lsn()::text as l')).rows[0].l as string;

/**
 * Waits until the WAL writer has just flushed (its next flush is then 10 s away): an asynchronous commit wakes it,
 * and it flushes if its last flush is over 10 s old; otherwise the last flush is recent and the commit is flushed
 * within 10 s. Either way, once that commit is on disk the WAL writer leaves the WAL alone for the next 10 s.
 */
async function afterWalWriterFlush(): Promise<void> {
  const since = await flushedUpTo();
  await sql.query('begin');
  await sql.query(`set local synchronous_commit = off`);
  const xid = (await sql.query('select pg_current_xact_id()::text as x')).rows[0].x as string;
  await sql.query(`select pg_logical_emit_message(true, 'test', '')`);
  await sql.query('commit');
  for (let i = 0; i < 120 && !(await commitFlushed(xid, since)); i++) await new Promise((r) => setTimeout(r, 100));
  expect(await commitFlushed(xid, since)).toBe(true);
}

function unit(i: number) {
  const cert = makeCert(caId, { createdAt: i });
  return { insertCertificates: [cert], audit: [makeEvent({ action: 'certificate.issued', target: cert.id })] };
}

describe('PostgreSQL batch commit: the audit-chain lock is not held through the WAL flush', () => {
  it('the batch statement commits without the flush; FLUSH_WAIT then puts its commit on disk', async () => {
    await afterWalWriterFlush();
    const since = await flushedUpTo();
    const u = unit(1);
    const plan = planBatch([u]);
    const row = (await sql.query({ text: BATCH_STATEMENT, values: plan.values, rowMode: 'array' })).rows[0] as [
      ...unknown[],
    ];
    expect(row[5]).toBe('off'); // synchronous_commit of its own transaction
    const xid = await writer(u.insertCertificates[0]!.id);
    // committed (visible to this other session, the lock released) but not on disk yet
    expect(await commitFlushed(xid, since)).toBe(false);
    await sql.query(FLUSH_WAIT);
    expect(await commitFlushed(xid, since)).toBe(true);
  }, 60_000);

  it('Store.commit answers a batch only once its commit is on disk; the chain verifies', async () => {
    await afterWalWriterFlush();
    const since = await flushedUpTo();
    const units = Array.from({ length: 5 }, (_, i) => unit(10 + i));
    // submitted together: one batch statement; each caller checks the WAL the moment it is answered
    const flushed = await Promise.all(
      units.map(async (u) => {
        await store.commit(u);
        return commitFlushed(await writer(u.insertCertificates[0]!.id), since);
      }),
    );
    expect(flushed).toEqual([true, true, true, true, true]);
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 1 + 5 });
  }, 60_000);

  it("the chain's only writer: its next batch commits with its own flush, on disk when answered", async () => {
    const batch = (from: number) => Promise.all([0, 1, 2].map((i) => store.commit(unit(from + i))));
    const events0 = (await store.audit.verify()).count;
    await batch(20);
    await batch(23); // this store appended the last events twice in a row
    await new Promise((r) => setTimeout(r, SOLE_WRITER_MS)); // and no one else for SOLE_WRITER_MS: the only writer
    await afterWalWriterFlush();
    const since = await flushedUpTo();
    const stats0 = store.commitStats();
    const units = Array.from({ length: 4 }, (_, i) => unit(30 + i));
    const flushed = await Promise.all(
      units.map(async (u) => {
        await store.commit(u);
        return commitFlushed(await writer(u.insertCertificates[0]!.id), since);
      }),
    );
    expect(flushed).toEqual([true, true, true, true]);
    const stats = store.commitStats();
    expect(stats.batches - stats0.batches).toBeGreaterThan(0);
    expect((stats.flushWaits ?? NaN) - (stats0.flushWaits ?? NaN)).toBe(0);
    // another writer appends: once this store has seen it, its batches send FLUSH_WAIT again (the lock is not held
    // through the flush)
    const other = await openStore({ url: storeUrl });
    try {
      await other.commit(unit(40));
    } finally {
      await other.close();
    }
    await store.commit(unit(50)); // planned as the only writer's (waits for its own flush), it finds the gap
    expect((store.commitStats().flushWaits ?? NaN) - (stats.flushWaits ?? NaN)).toBe(0);
    await store.commit(unit(51));
    await store.commit(unit(52));
    expect((store.commitStats().flushWaits ?? NaN) - (stats.flushWaits ?? NaN)).toBe(2);
    // SOLE_WRITER_MS without another writer: its own flush again
    await new Promise((r) => setTimeout(r, SOLE_WRITER_MS));
    await store.commit(unit(53));
    expect((store.commitStats().flushWaits ?? NaN) - (stats.flushWaits ?? NaN)).toBe(2);
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: events0 + 6 + 4 + 1 + 4 });
  }, 60_000);

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
        const units = Array.from({ length: 4 }, (_, i) => {
          const cert = makeCert(ca.id, { createdAt: i });
          return { insertCertificates: [cert], audit: [makeEvent({ target: cert.id })] };
        });
        const settled = await Promise.allSettled(units.map((u) => app.commit(u)));
        expect(settled.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))).toEqual(
          Array(4).fill('store.unavailable'),
        );
        // the batch itself committed (once): its rows and one event each, the chain whole
        expect((await admin.query('select count(*)::int as n from certificates')).rows[0].n).toBe(4);
        expect(await app.audit.verify()).toMatchObject({ ok: true, count: 4 });
      } finally {
        await app.close();
      }
    } finally {
      await admin.end();
    }
  }, 60_000);
});
