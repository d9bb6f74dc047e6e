// Bench helper (not a benchmark itself): loads synthetic certificate rows into PostgreSQL as a bulk load.
import type pg from 'pg';

/**
 * Runs `load` (the INSERT … SELECT statements that fill `certificates` and `certificate_names`) as a bulk load: the
 * secondary indexes of both tables are dropped first and built once at the end (a sort each instead of entry by
 * entry), and the foreign-key triggers are off during the load (superuser: session_replication_role) — the rows are
 * consistent by construction; everything in one transaction that first truncates the tables (no WAL with
 * PG_BULK_LOAD_SETTINGS). The same indexes come back, then the tables are vacuumed and analysed — what
 * PostgreSQL's "Populating a Database" advises after a bulk load: without the VACUUM, autovacuum starts on the million
 * new rows while the benchmark measures (≈ 1 min of a core on this machine, session 14: first page p50 24 ms instead
 * of 2), and index-only scans visit the heap until the visibility map is set.
 */
export async function pgBulkLoad(c: pg.Client, load: () => Promise<void>): Promise<void> {
  const indexes = (
    await c.query<{ name: string; def: string }>(
      'select indexname as name, indexdef as def from pg_indexes i ' +
        "where tablename in ('certificates', 'certificate_names') " +
        'and not exists (select 1 from pg_constraint k where k.conname = i.indexname)',
    )
  ).rows;
  for (const i of indexes) await c.query(`drop index "${i.name}"`);
  await c.query('set session_replication_role = replica');
  await c.query("set maintenance_work_mem = '512MB'");
  const t0 = performance.now();
  // one transaction that starts by truncating the (empty) tables: with wal_level=minimal (the bench's cluster) the
  // rows and index builds of a relation truncated in the same transaction write no WAL (the files are synced at
  // commit instead) — PostgreSQL's "Populating a Database"
  await c.query('begin');
  try {
    await c.query('truncate certificates, certificate_names, certificate_requests cascade');
    await load();
    const t1 = performance.now();
    for (const i of indexes) await c.query(i.def);
    await c.query('commit');
    const t2 = performance.now();
    await c.query('vacuum (analyze) certificates, certificate_names, certificate_requests');
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    process.stderr.write(
      `postgres: rows ${s(t1 - t0)}, ${indexes.length} indexes ${s(t2 - t1)}, ` +
        `vacuum analyze ${s(performance.now() - t2)}\n`,
    );
  } catch (e) {
    await c.query('rollback');
    throw e;
  } finally {
    await c.query('set session_replication_role = origin');
  }
}

/** the cluster settings a bulk load needs to skip WAL (pgBulkLoad): no WAL for replicas or archives */
export const PG_BULK_LOAD_SETTINGS = ['wal_level=minimal', 'max_wal_senders=0'];
