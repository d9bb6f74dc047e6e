// `npm run bench:db`: SQLite vs PostgreSQL.
//  (1) issuance/s (CSR → policy → lint → sign → verify → certificate + audit row) with 1 and 2
//      "instances". An instance is a separate OS process with its own `createAuthority` (own store,
//      own connection pool / SQLite handle, own key backend), all on the same database — exactly what
//      two `pkim serve` processes are, minus HTTP. Each runs BENCH_IN_FLIGHT issuances at once.
//  (2) certificate list/search page latency (p50/p99, page size 100) over BENCH_ROWS (default
//      1,000,000) synthetic certificate rows: first page, a deep page via a keyset cursor, status
//      filter, CA filter, CA+status, expiring-before, substring search.
//  (3) the store's commit path alone: BENCH_COMMIT_UNITS (default 4,000) pre-built issuance units (certificate row
//      with a PEM of a real certificate's size + its certificate.issued event), then one revocation unit per
//      certificate (status guarded by `onlyIfStatus` + its certificate.revoked event), committed BENCH_COMMIT_BATCH
//      (default 8, what issuance batches hold) at a time: units/s and CPU µs per unit of this process and of the
//      PostgreSQL cluster — the database side of issuance and of a bulk revoke without signing.
// Bounded: BENCH_SECONDS (default 5) per issuance configuration, BENCH_SAMPLES (default 30) per query;
// BENCH_WARMUP_SECONDS (default 10; 0 = none, cold as before session 43): each instance's uncounted warm-up before its
// row, BENCH_IN_FLIGHT at once on the same database (after 5 one at a time: the CA key's load, the statements), as
// `npm run bench` and bench:http warm theirs — V8 compiles the pipeline's warm functions on its own threads (TurboFan)
// for its first seconds, and a cold row counts that compile, not pkim; each row's warm-up is printed beside it (rate,
// CPU per certificate of the main thread, V8's threads — the platform's five, the first after the main thread — and
// the instance), with the row's V8 threads. The WAL syncs per 100 certificates count the warm-up's certificates too
// (the backends report their WAL statistics when they exit).
// BENCH_ROWS=0 skips (2), BENCH_ENGINES=postgres (or sqlite) runs one engine, BENCH_CPU_PROF=<dir> profiles.
// PostgreSQL runs with its durable defaults (fsync, synchronous_commit and full_page_writes on), as a user
// runs it; BENCH_PG_THROWAWAY=1 uses the test clusters' settings instead (fsync=off, synchronous_commit=off,
// full_page_writes=off) — the header says which. PKIM_WORKERS: worker threads per instance, as `pkim serve`
// has them (unset: in-process); the pool is sized from it (pgPoolSize). PKIM_WORKER_CPU_PROF=<dir> (PKIM_WORKERS ≥ 2):
// each instance's compute workers write their V8 CPU profiles (200 µs sampling, from start to the instance's close)
// as <dir>/compute-worker-<pid>-<thread>-<ms>.cpuprofile — `node bench/cpuprofile-top.mjs <dir>/*.cpuprofile`.
// BENCH_PG_STATEMENTS=<n>: the cluster loads pg_stat_statements (shared_preload_libraries) and each PostgreSQL
// issuance row prints its n statements with the most execution time; BENCH_PG_WAITS=1: pg_stat_activity of the
// bench database sampled every few ms during each PostgreSQL issuance row, the share of each wait event printed
// (Lock:advisory = waiting for the audit-chain lock, IO:WALSync = a commit waiting for the disk, CPU = running)
// and, from pg_locks, how often the audit-chain lock is held ("lock held advisory") and every lock waited for — and,
// from those shares, the lock's hold and wait in ms per batch. Both cost the cluster some CPU of their own: leave them
// off for the figures. Every PostgreSQL row prints the cluster's WAL per certificate (pg_stat_wal: bytes, records,
// full-page images). BENCH_PG_SETTINGS=name=value,…: more server settings of the cluster (e.g.
// commit_delay=20,commit_siblings=1), printed in the header.
// Everything (PostgreSQL cluster, temp dirs) is removed at the end. Prints markdown tables.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import {
  PG_GROUP_COMMIT_TWO_WRITES,
  openStore,
  type CertificateQuery,
  type CertificateRow,
  type Store,
  type UnitOfWork,
} from '@pkim/store';
import { opensslCsr } from '../tests/support/openssl-tools';
import { startPostgres } from '../tests/support/postgres';
import { pgBulkLoad } from './pg-bulk-load';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const COMMIT_UNITS = Number(process.env.BENCH_COMMIT_UNITS ?? 4000);
const COMMIT_BATCH = Number(process.env.BENCH_COMMIT_BATCH ?? 8);
/** BENCH_INSTANCES: the issuance rows to run (default "1,2"; "" skips them) */
const INSTANCES = (process.env.BENCH_INSTANCES ?? '1,2').split(',').filter(Boolean).map(Number);
const THROWAWAY = process.env.BENCH_PG_THROWAWAY === '1';
const WORKERS = process.env.PKIM_WORKERS ? Number(process.env.PKIM_WORKERS) : undefined;
/** PKIM_WORKER_CPU_PROF=<dir>: each instance's compute workers write their CPU profiles there when it closes */
const WORKER_CPU_PROF = process.env.PKIM_WORKER_CPU_PROF || undefined;
if (WORKER_CPU_PROF) mkdirSync(WORKER_CPU_PROF, { recursive: true });
/** BENCH_CPU_PROF=<dir>: each instance writes a V8 CPU profile there */
const PROFILE = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
const PG_PERF = process.env.BENCH_PG_PERF;
const ENGINES = (process.env.BENCH_ENGINES ?? 'sqlite,postgres').split(',');
const PG_STATEMENTS = Number(process.env.BENCH_PG_STATEMENTS ?? 0);
const PG_WAITS = process.env.BENCH_PG_WAITS === '1';
/** BENCH_PG_WRITES=2: the PostgreSQL instances write two batches at once (PG_GROUP_COMMIT_TWO_WRITES) */
const TWO_WRITES = process.env.BENCH_PG_WRITES === '2';
/** BENCH_PG_POLICY=<JSON>: the PostgreSQL instances' group-commit policy, e.g. {"maxBatch":16,"maxDelayMs":2} */
const PG_POLICY = process.env.BENCH_PG_POLICY
  ? (JSON.parse(process.env.BENCH_PG_POLICY) as typeof PG_GROUP_COMMIT_TWO_WRITES)
  : undefined;
/** BENCH_PG_SETTINGS=name=value,name=value: server settings of the bench's cluster (e.g. commit_delay=10) */
const PG_SETTINGS = (process.env.BENCH_PG_SETTINGS ?? '').split(',').filter((x) => x.includes('='));
const SELF = fileURLToPath(import.meta.url);
/** issuances per instance before the measured run, one at a time (then BENCH_WARMUP_SECONDS of them in flight) */
const WARM_UP = 5;
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const silent = pino({ level: 'silent' });
const actor = { id: 'bench', role: 'admin' as const };

// ---------------------------------------------------------------------------------------------
// CPU time (the figure that survives a shared, loaded machine): /proc/<pid>[/task/<tid>]/stat
// ---------------------------------------------------------------------------------------------
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime, stime, cutime, cstime and ppid of /proc/<path>/stat, times in µs; undefined if the process is gone */
function procStat(path: string): { self: number; children: number; ppid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${path}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  const n = (i: number) => Number(f[i - 3]) * TICK_US;
  return { self: n(14) + n(15), children: n(16) + n(17), ppid: Number(f[1]) };
}

/** CPU µs of this process's main thread (its task id is the pid) */
const mainThreadCpu = () => procStat(`self/task/${process.pid}`)?.self ?? NaN;

/**
 * CPU µs of V8's platform threads so far (TurboFan's compiles, GC's helpers): in Node 20 the platform's five threads
 * are the first started after the main thread — the five next thread ids in order (as bench/http-bench.ts counts them)
 */
function v8ThreadsCpu(): number {
  const tids = readdirSync('/proc/self/task')
    .map(Number)
    .filter((tid) => tid > process.pid)
    .sort((a, b) => a - b)
    .slice(0, 5);
  return tids.reduce((sum, tid) => sum + (procStat(`self/task/${tid}`)?.self ?? 0), 0);
}

/** ns each thread of this process ran and waited in a run queue for a core so far (/proc/self/task/<tid>/schedstat) */
function threadSched(): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const [run, queued] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(tid, [run!, queued!]);
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/**
 * How a row's threads spent its wall time, as shares: [running, waiting in a run queue for a core, sleeping (blocked:
 * nothing to do)], for the main thread and for the compute workers (the WORKERS threads other than the main thread
 * that ran the most during the row, averaged) — whether the instance is bound by its CPU or waits (the commit)
 */
function threadShares(before: Map<string, [number, number]>, wallNs: number): ThreadShares {
  const after = threadSched();
  const rows: { tid: string; run: number; queued: number }[] = [];
  for (const [tid, [run, queued]] of after) {
    const [run0, queued0] = before.get(tid) ?? [0, 0];
    rows.push({ tid, run: run - run0, queued: queued - queued0 });
  }
  const share = (xs: typeof rows): [number, number, number] => {
    if (!xs.length) return [NaN, NaN, NaN];
    const run = xs.reduce((s, x) => s + x.run, 0) / xs.length / wallNs;
    const queued = xs.reduce((s, x) => s + x.queued, 0) / xs.length / wallNs;
    return [run, queued, 1 - run - queued];
  };
  const main = rows.filter((x) => x.tid === String(process.pid));
  const others = rows.filter((x) => x.tid !== String(process.pid)).sort((a, b) => b.run - a.run);
  return { main: share(main), workers: share(others.slice(0, WORKERS)) };
}

/**
 * CPU µs used by a PostgreSQL cluster so far: the postmaster, its live children (backends, WAL writer,
 * checkpointer…, exited ones not yet reaped included: a zombie's stat keeps its times) and the children it has reaped
 * (backends of closed connections count in its cutime/cstime). A child reaped while /proc is walked would be in
 * neither sum (the postmaster's cutime was read before, the child is gone from /proc) — at the end of an issuance row
 * every instance closes its pool at once, so a whole backend's CPU went missing (the column read 38, 35, even −8 µs
 * per certificate under load): the walk is repeated until the postmaster's reaped time did not change across it.
 */
function clusterCpu(postmaster: number): number {
  for (;;) {
    const before = procStat(String(postmaster));
    if (!before) return NaN;
    let live = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const st = procStat(pid);
      if (st?.ppid === postmaster) live += st.self;
    }
    const after = procStat(String(postmaster));
    if (!after) return NaN;
    if (after.children === before.children) return after.self + after.children + live;
  }
}

// ---------------------------------------------------------------------------------------------
// worker process: one "instance"
// ---------------------------------------------------------------------------------------------
async function worker(): Promise<void> {
  const cfg = JSON.parse(process.argv[3]!) as { dataDir: string; databaseUrl: string; caId: string; csrFile: string };
  const csrs = JSON.parse(readFileSync(cfg.csrFile, 'utf8')) as string[];
  const a = await createAuthority({
    dataDir: cfg.dataDir,
    databaseUrl: cfg.databaseUrl,
    masterKey: process.env.PKIM_MASTER_KEY,
    workers: WORKERS,
    logger: silent,
    workerCpuProfileDir: WORKER_CPU_PROF,
    // BENCH_PG_WRITES=2: PostgreSQL writes two batches at once (opt-in, PG_GROUP_COMMIT_TWO_WRITES)
    groupCommit: cfg.databaseUrl.endsWith('.db')
      ? undefined
      : (PG_POLICY ?? (TWO_WRITES ? PG_GROUP_COMMIT_TWO_WRITES : undefined)),
  });
  // warm up (key load, prepared statements, JIT)
  for (let i = 0; i < WARM_UP; i++)
    await a.issuance.issueFromCsr({ caId: cfg.caId, csrPem: csrs[i % csrs.length]!, profile: 'tls-server' }, actor);
  // then BENCH_WARMUP_SECONDS as the row runs (uncounted; printed beside the row): V8 compiles the warm functions
  const warmUp = { n: 0, seconds: 0, cpuUs: 0, mainUs: 0, v8Us: 0 };
  if (WARMUP_SECONDS > 0) {
    const cpu0 = process.cpuUsage();
    const main0 = mainThreadCpu();
    const v80 = v8ThreadsCpu();
    const start = performance.now();
    const end = start + WARMUP_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < end) {
          await a.issuance.issueFromCsr(
            { caId: cfg.caId, csrPem: csrs[warmUp.n++ % csrs.length]!, profile: 'tls-server' },
            actor,
          );
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    Object.assign(warmUp, {
      seconds: (performance.now() - start) / 1000,
      cpuUs: cpu.user + cpu.system,
      mainUs: mainThreadCpu() - main0,
      v8Us: v8ThreadsCpu() - v80,
    });
  }
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdin.destroy(); // nothing more to read: let the process exit when done
  let n = 0;
  let errors = 0;
  // queries this instance sends during the run (every pooled connection is a pg.Client)
  let queries = 0;
  const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    queries++;
    return query.apply(this, args);
  };
  const commits0 = a.describe().commits;
  const sched0 = threadSched();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const v80 = v8ThreadsCpu();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end) {
        try {
          await a.issuance.issueFromCsr(
            { caId: cfg.caId, csrPem: csrs[n % csrs.length]!, profile: 'tls-server' },
            actor,
          );
          n++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const mainUs = mainThreadCpu() - main0;
  const v8Us = v8ThreadsCpu() - v80;
  const threads = threadShares(sched0, seconds * 1e9);
  const commits1 = a.describe().commits;
  const commits = Object.fromEntries(
    COMMIT_FIELDS.map((k) => [k, (commits1[k] ?? NaN) - (commits0[k] ?? NaN)]),
  ) as Record<CommitField, number>;
  await a.close();
  proto.query = query;
  const result: WorkerResult = {
    n,
    errors,
    seconds,
    cpuUs: cpu.user + cpu.system,
    mainUs,
    v8Us,
    queries,
    commits,
    threads,
    warmUp,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** the group commit's figures an instance reports (Store.commitStats, during the run) */
const COMMIT_FIELDS = [
  'batches',
  'units',
  'heldMs',
  'writingMs',
  'statementMs',
  'flushMs',
  'flushWaits',
  'lockWaits',
  'besideBatches',
  'besideUnits',
] as const;
type CommitField = (typeof COMMIT_FIELDS)[number];

interface WorkerResult {
  /** its group commit during the run (Store.commitStats): batches, units, ms summed */
  commits: Record<CommitField, number>;
  n: number;
  errors: number;
  seconds: number;
  /** CPU µs of the whole instance process (main thread, compute workers, libuv) during the run */
  cpuUs: number;
  /** CPU µs of its main thread during the run */
  mainUs: number;
  /** CPU µs of V8's platform threads during the run (v8ThreadsCpu) */
  v8Us: number;
  /** its BENCH_WARMUP_SECONDS warm-up before the run (uncounted): certificates, s, CPU µs (process, main, V8's) */
  warmUp: { n: number; seconds: number; cpuUs: number; mainUs: number; v8Us: number };
  /** queries sent to PostgreSQL during the run */
  queries: number;
  threads: ThreadShares;
}

/** threadShares: [running, in a run queue, sleeping] of the row's wall time */
interface ThreadShares {
  main: [number, number, number];
  workers: [number, number, number];
}

/**
 * the instances' threads during a row (threadShares, instances averaged): "main thread run / run queue / sleeping,
 * compute workers …" in % of the row
 */
function threadLine(r: WorkerResult[]): string {
  const avg = (pick: (t: ThreadShares) => [number, number, number]) =>
    [0, 1, 2].map((i) => ((100 * r.reduce((s, x) => s + pick(x.threads)[i]!, 0)) / r.length).toFixed(1)).join(' / ');
  const shares = `main thread ${avg((t) => t.main)}, compute workers ${avg((t) => t.workers)}`;
  return `${shares} (% of the row: run / run queue / sleeping)`;
}

/**
 * a row's warm-up beside the row (instances summed): certificates/s, CPU µs per certificate of the main threads,
 * V8's threads and the instances
 */
function warmUpLine(r: WorkerResult[]): string {
  const fig = (n: number, rate: number, main: number, v8: number, all: number) =>
    `${rate.toFixed(0)}/s, CPU main ${(main / n).toFixed(0)} / V8's threads ${(v8 / n).toFixed(0)} / instance ` +
    `${(all / n).toFixed(0)} µs/cert`;
  const sum = (f: (x: WorkerResult) => number) => r.reduce((s, x) => s + f(x), 0);
  const row = fig(
    sum((x) => x.n),
    sum((x) => x.n / x.seconds),
    sum((x) => x.mainUs),
    sum((x) => x.v8Us),
    sum((x) => x.cpuUs),
  );
  const w = sum((x) => x.warmUp.n);
  if (!(WARMUP_SECONDS > 0) || !(w > 0)) return `no warm-up (BENCH_WARMUP_SECONDS=0); the row: ${row}`;
  const warm = fig(
    w,
    sum((x) => x.warmUp.n / x.warmUp.seconds),
    sum((x) => x.warmUp.mainUs),
    sum((x) => x.warmUp.v8Us),
    sum((x) => x.warmUp.cpuUs),
  );
  return `warm-up (${WARMUP_SECONDS} s, uncounted, ${w} certificates): ${warm}; the row: ${row}`;
}

/**
 * what the instances' group commits did during a row: batches per second and units per batch, and per batch the ms
 * its first unit waited (while the previous batch was written, or held), the statement's round trip, the flush wait's,
 * the whole write (plan, statement, flush, answers); "writing" = the share of the row a batch was being written
 */
function commitCycle(r: WorkerResult[]): string | undefined {
  const sum = (k: CommitField) => r.reduce((s, x) => s + x.commits[k], 0);
  const batches = sum('batches');
  if (!(batches > 0) || !Number.isFinite(sum('statementMs'))) return undefined;
  const perBatch = (k: CommitField) => (sum(k) / batches).toFixed(2);
  const busy = r.reduce((s, x) => s + x.commits.writingMs / (x.seconds * 1000), 0) / r.length;
  const rate = r.reduce((s, x) => s + x.commits.batches / x.seconds, 0);
  return (
    `${rate.toFixed(0)} batches/s, ${(sum('units') / batches).toFixed(1)} units/batch; ms per batch: first unit ` +
    `waited ${perBatch('heldMs')}, statement ${perBatch('statementMs')}, flush wait ${perBatch('flushMs')} ` +
    `(sent by ${((100 * sum('flushWaits')) / batches).toFixed(0)} % of the batches; the lock found taken by ` +
    `${((100 * (sum('lockWaits') || 0)) / batches).toFixed(0)} %), ` +
    `whole write ${perBatch('writingMs')}; writing ${(100 * busy).toFixed(0)} % of the time` +
    (sum('besideBatches') > 0
      ? `; written beside another batch: ${((100 * sum('besideBatches')) / batches).toFixed(0)} % of the batches, ` +
        `${(sum('besideUnits') / sum('besideBatches')).toFixed(1)} units each`
      : '')
  );
}

async function runInstances(
  count: number,
  cfg: { databaseUrl: string; caId: string; csrFile: string; dataDir: string },
  /** called when every instance is ready (warmed up) and when every instance has reported; its answer: the span */
  span: () => () => void = () => () => undefined,
  /** awaited when every instance is ready; what it answers is awaited when every instance has reported */
  probe?: () => Promise<() => Promise<void>>,
): Promise<WorkerResult[]> {
  const procs = Array.from({ length: count }, () =>
    spawn(process.execPath, [...PROFILE, '--import', 'tsx', SELF, 'worker', JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, PKIM_LOG_LEVEL: 'silent' },
    }),
  );
  const outputs = procs.map((p) => {
    let buf = '';
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    p.stdout.on('data', (d) => {
      buf += String(d);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        waiters.splice(0).forEach((w) => w());
      }
    });
    const exited = new Promise<number | null>((r) => p.once('exit', r));
    const nextLine = async (): Promise<string> => {
      for (;;) {
        if (lines.length) return lines.shift()!;
        const code = await Promise.race([
          new Promise<'line'>((r) => waiters.push(() => r('line'))),
          exited.then(() => 'exit' as const),
        ]);
        if (code === 'exit' && !lines.length) throw new Error('bench worker exited early');
      }
    };
    return { nextLine, exited };
  });
  for (const o of outputs) if ((await o.nextLine()) !== 'ready') throw new Error('bench worker did not get ready');
  const perf = PG_PERF && !cfg.databaseUrl.endsWith('.db') ? await perfBackends(cfg.databaseUrl, count) : undefined;
  const stopProbe = await probe?.();
  const end = span();
  for (const p of procs) p.stdin.end('go\n');
  const results = await Promise.all(outputs.map(async (o) => JSON.parse(await o.nextLine()) as WorkerResult));
  end();
  await stopProbe?.();
  await perf?.();
  await Promise.all(outputs.map((o) => o.exited));
  return results;
}

/**
 * BENCH_PG_PERF=<prefix>: `perf record -g` of the database's backends during the run (<prefix>-<instances>.data;
 * `perf report -i … --no-children --sort sym`); returns the function that stops it.
 */
async function perfBackends(url: string, instances: number): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  await c.end();
  const p = spawn(
    'perf',
    ['record', '-g', '-o', `${PG_PERF}-${instances}.data`, '-p', r.rows.map((x) => x.pid).join(',')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await new Promise((res) => setTimeout(res, 300));
  return async () => {
    const exited = new Promise((res) => p.once('exit', res));
    p.kill('SIGINT');
    await exited;
  };
}

/** a row's group-commit batches (every instance's) and its length in seconds (the instances' mean) */
interface BatchSpan {
  batches: number;
  seconds: number;
}
/** pgProbe's names of the audit-chain lock held (granted, its class and key) and of an advisory lock waited for */
const LOCK_HELD = 'lock held advisory ExclusiveLock';
const LOCK_WAITED = 'lock waited advisory ExclusiveLock';

/**
 * BENCH_PG_STATEMENTS / BENCH_PG_WAITS: resets pg_stat_statements and samples pg_stat_activity of the bench
 * database until stopped; the stop function answers markdown lines (per certificate: `issued` at stop).
 */
async function pgProbe(url: string): Promise<() => Promise<(issued: number, batch: BatchSpan) => string[]>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  if (PG_STATEMENTS > 0) await c.query('select pg_stat_statements_reset()');
  const waits = new Map<string, number>();
  let samples = 0;
  let sampling = PG_WAITS;
  const sampler = (async () => {
    while (sampling) {
      const r = await c.query<{ w: string; n: string }>(
        "select coalesce(wait_event_type || ':' || wait_event, 'CPU') as w, count(*) as n from pg_stat_activity " +
          "where datname = current_database() and backend_type = 'client backend' and state = 'active' " +
          'and pid <> pg_backend_pid() group by 1 ' +
          // pg_locks: the audit-chain lock held (the serial part of every instance's batches), and every lock waited
          // for, by kind, mode and relation
          "union all select 'lock ' || case when l.granted then 'held' else 'waited' end || ' ' || l.locktype || " +
          "' ' || l.mode || coalesce(' ' || l.relation::regclass::text, '') as w, count(*) as n from pg_locks l " +
          'where l.database = (select oid from pg_database where datname = current_database()) ' +
          // the audit-chain lock: pg_advisory_xact_lock(LOCK_CLASS 0x706b696d, 1) (pg-batch-commit.ts)
          "and (not l.granted or (l.locktype = 'advisory' and l.classid = 1886087533 and l.objid = 1 " +
          'and l.objsubid = 2)) group by 1',
      );
      samples++;
      for (const row of r.rows) waits.set(row.w, (waits.get(row.w) ?? 0) + Number(row.n));
      await new Promise((res) => setTimeout(res, 3));
    }
  })();
  /** a sampled state's mean count (lock holders or waiters, backends in a wait) × the row's seconds, ms per batch */
  const lockMs = (w: string, b: BatchSpan) =>
    b.batches > 0 ? ((((waits.get(w) ?? 0) / Math.max(samples, 1)) * b.seconds * 1000) / b.batches).toFixed(1) : '–';
  return async () => {
    sampling = false;
    await sampler;
    const top =
      PG_STATEMENTS > 0
        ? (
            await c.query<{ calls: string; total: number; rows: string; query: string }>(
              'select calls, total_exec_time as total, rows, query from pg_stat_statements ' +
                'where dbid = (select oid from pg_database where datname = current_database()) ' +
                'order by total_exec_time desc limit $1',
              [PG_STATEMENTS],
            )
          ).rows
        : [];
    await c.end();
    return (issued, batch) => [
      ...(PG_WAITS
        ? [
            `audit-chain lock per batch (the samples' mean holders and waiters × the row's time ÷ its batches): ` +
              `held ≈ ${lockMs(LOCK_HELD, batch)} ms, waited for ≈ ${lockMs(LOCK_WAITED, batch)} ms`,
            `pg_stat_activity, ${samples} samples: ` +
              `${([...waits.values()].reduce((a, b) => a + b, 0) / Math.max(samples, 1)).toFixed(2)} ` +
              "active backends on average (each state: its mean count, and that × the row's time ÷ its batches in " +
              'ms per batch); ' +
              [...waits]
                .sort((a, b) => b[1] - a[1])
                .map(([w, n]) => `${w} ${(n / Math.max(samples, 1)).toFixed(2)} (${lockMs(w, batch)})`)
                .join(', '),
          ]
        : []),
      ...top.map(
        (q) =>
          `${Number(q.calls)} calls, ${((1000 * q.total) / issued).toFixed(0)} µs/cert, ` +
          `${(q.total / Number(q.calls)).toFixed(3)} ms/call, ${Number(q.rows)} rows: ` +
          q.query.replace(/\s+/g, ' ').slice(0, 110),
      ),
    ];
  };
}

// ---------------------------------------------------------------------------------------------
// the store's commit path alone (no signing): issuance units, then revocation units
// ---------------------------------------------------------------------------------------------
/** a certificate PEM of a real P-256 leaf's size (≈ 800 bytes) */
const LEAF_PEM = `-----BEGIN CERTIFICATE-----\n${`${'A'.repeat(64)}\n`.repeat(11)}-----END CERTIFICATE-----\n`;

interface CommitRow {
  operation: string;
  units: number;
  perSecond: number;
  /** CPU µs per unit: this process (the store runs in it), the PostgreSQL cluster */
  processUs: number;
  pgUs: number;
}

async function commitPath(url: string, caId: string, pgCpu: () => number): Promise<CommitRow[]> {
  const store = await openStore({ url });
  const rows: CommitRow[] = [];
  try {
    const certs = Array.from({ length: COMMIT_UNITS }, (_, i): CertificateRow => {
      const id = `crt_commit${String(i).padStart(9, '0')}`;
      const cn = `commit${i}.svc${i % 100}.example.com`;
      return {
        ...syntheticRow(i, [caId]),
        id,
        serialHex: randomBytes(20).toString('hex'),
        subjectDn: `CN=${cn}`,
        commonName: cn,
        sans: { dns: [cn] },
        keyType: 'ec-p256',
        status: 'active',
        revokedAt: null,
        revocationReason: null,
        fingerprintSha256: randomBytes(32).toString('hex'),
        certificatePem: LEAF_PEM,
        renewedFrom: null,
        provisioner: 'user:bench',
      };
    });
    const event = (action: string, target: string, details: Record<string, unknown>) => ({
      id: `evt_${randomBytes(12).toString('hex')}`,
      time: Date.now(),
      actor: 'bench',
      action,
      target,
      outcome: 'success' as const,
      details,
    });
    const issue = (c: CertificateRow) => ({
      insertCertificates: [c],
      audit: [
        event('certificate.issued', c.id, {
          caId: c.caId,
          serial: c.serialHex,
          subject: c.subjectDn,
          sans: c.sans,
          profile: c.profile,
          notAfter: c.notAfter,
          requestId: null,
          fingerprint: c.fingerprintSha256,
          provisioner: 'user:bench',
        }),
      ],
    });
    const revoke = (c: CertificateRow) => ({
      updateCertificates: [
        {
          id: c.id,
          patch: { status: 'revoked' as const, revokedAt: Date.now(), revocationReason: 'keyCompromise' as const },
          onlyIfStatus: 'active' as const,
        },
      ],
      audit: [event('certificate.revoked', c.id, { caId: c.caId, serial: c.serialHex, reason: 'keyCompromise' })],
    });
    for (const [operation, unit] of [
      ['issuance', issue],
      ['revocation', revoke],
    ] as const) {
      const units: UnitOfWork[] = certs.map((c) => unit(c)); // built before the clock starts: the store alone is timed
      const cpu0 = process.cpuUsage();
      const pg0 = pgCpu();
      const t0 = performance.now();
      // BENCH_COMMIT_BATCH units submitted together are written as one batch
      for (let i = 0; i < units.length; i += COMMIT_BATCH)
        await Promise.all(units.slice(i, i + COMMIT_BATCH).map((u) => store.commit(u)));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      rows.push({
        operation,
        units: certs.length,
        perSecond: certs.length / seconds,
        processUs: (cpu.user + cpu.system) / certs.length,
        pgUs: (pgCpu() - pg0) / certs.length,
      });
    }
    const v = await store.audit.verify();
    if (!v.ok || v.count < 2 * COMMIT_UNITS) throw new Error(`commit path: audit chain ${JSON.stringify(v)}`);
    const byStatus = await store.certificates.countByStatus(caId);
    if (byStatus.revoked !== COMMIT_UNITS) throw new Error(`commit path: counters ${JSON.stringify(byStatus)}`);
  } finally {
    await store.close();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// list/search latency over many rows
// ---------------------------------------------------------------------------------------------
const PEM = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`;
const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

function syntheticRow(i: number, caIds: string[]) {
  const status = i % 20 === 5 ? 'revoked' : i % 20 === 6 ? 'expired' : 'active'; // revoked rows all fall on caIds[1]
  const cn = `host${i}.svc${i % 1000}.example.com`;
  return {
    id: `crt_bench${String(i).padStart(9, '0')}`,
    caId: caIds[i % caIds.length]!,
    serialHex: i.toString(16).padStart(40, '0'),
    subjectDn: `CN=${cn}`,
    commonName: cn,
    sans: { dns: [cn] },
    profile: i % 3 === 0 ? 'tls-client' : 'tls-server',
    keyType: 'ec-p256',
    notBefore: NOW - 30 * DAY + i,
    notAfter: NOW + (i % 730) * DAY,
    status,
    revokedAt: status === 'revoked' ? NOW : null,
    revocationReason: status === 'revoked' ? 'keyCompromise' : null,
    fingerprintSha256: i.toString(16).padStart(64, '0'),
    certificatePem: PEM,
    requestId: null,
    issuedBy: 'bench',
    createdAt: NOW - ROWS + i,
  };
}

/** SQLite: `importRows` in batches of 20,000 (one transaction each). */
async function fillSqlite(store: Store, caIds: string[]): Promise<void> {
  for (let i = 0; i < ROWS; i += 20_000) {
    const rows = [];
    for (let j = i; j < Math.min(ROWS, i + 20_000); j++) rows.push(syntheticRow(j, caIds));
    await store.importRows('certificates', rows);
  }
}

/**
 * PostgreSQL: the same rows generated server-side in one INSERT … SELECT generate_series (COPY-class speed), then
 * their search terms.
 */
async function fillPostgres(url: string, caIds: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // a bulk load (pg-bulk-load.ts): secondary indexes built once at the end, foreign-key triggers off
    await pgBulkLoad(c, async () => {
      await c.query(
        `insert into certificates (id, ca_id, serial_hex, subject_dn, common_name, sans, profile, key_type,
          not_before, not_after, status, revoked_at, revocation_reason, fingerprint_sha256, certificate_pem,
          request_id, issued_by, created_at)
        select 'crt_bench' || lpad(i::text, 9, '0'), ($1::text[])[(i % $2) + 1], lpad(to_hex(i), 40, '0'),
          'CN=host' || i || '.svc' || (i % 1000) || '.example.com',
          'host' || i || '.svc' || (i % 1000) || '.example.com',
          json_build_object('dns', json_build_array('host' || i || '.svc' || (i % 1000) || '.example.com'))::text,
          case when i % 3 = 0 then 'tls-client' else 'tls-server' end, 'ec-p256',
          $3::bigint - 30 * $4::bigint + i, $3::bigint + (i % 730) * $4::bigint,
          case when i % 20 = 5 then 'revoked' when i % 20 = 6 then 'expired' else 'active' end,
          case when i % 20 = 5 then $3::bigint end, case when i % 20 = 5 then 'keyCompromise' end,
          lpad(to_hex(i), 64, '0'), $5, null, 'bench', $3::bigint - $6::bigint + i
        from generate_series(0, $6::int - 1) as i`,
        [caIds, caIds.length, NOW, DAY, PEM, ROWS],
      );
      // their search terms (certificate_names), with the same rule the store uses: migration 0017's backfill, into a
      // table of 0017's shape, then with each certificate's creation time (migration 0032's column)
      const migration = readFileSync(
        fileURLToPath(new URL('../packages/store/migrations/pg/0017_certificate_names.sql', import.meta.url)),
        'utf8',
      );
      const backfill = migration.split('--> statement-breakpoint').find((x) => x.includes('INSERT INTO'))!;
      await c.query('create temporary table names_0017 (name text not null, certificate_id text not null)');
      await c.query(backfill.replace('INSERT INTO "certificate_names"', 'INSERT INTO names_0017'));
      await c.query(
        `insert into certificate_names (name, certificate_id, created_at)
        select n.name, n.certificate_id, c.created_at from names_0017 n join certificates c on c.id = n.certificate_id`,
      );
      await c.query('drop table names_0017');
    });
  } finally {
    await c.end();
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function latency(fn: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { p50: pct(t, 50), p99: pct(t, 99) };
}

async function listLatencies(store: Store, caIds: string[]): Promise<[string, { p50: number; p99: number }, number][]> {
  // keyset cursor of the row in the middle: [createdAt, id] (what nextCursor holds),
  // so the deep page starts at row ROWS/2
  const mid = Math.floor(ROWS / 2);
  const deepCursor = Buffer.from(
    JSON.stringify([NOW - ROWS + mid, `crt_bench${String(mid).padStart(9, '0')}`]),
  ).toString('base64url');
  const queries: [string, CertificateQuery][] = [
    ['first page', {}],
    [`deep page (cursor at row ${mid.toLocaleString('en')})`, { cursor: deepCursor }],
    ['status = revoked', { status: 'revoked' }],
    ['CA filter', { caId: caIds[1] }],
    ['CA + status = revoked', { caId: caIds[1], status: 'revoked' }],
    ['expiring before now+30d', { expiringBefore: NOW + 30 * DAY }],
    ['search "svc42."', { search: 'svc42.' }],
  ];
  const out: [string, { p50: number; p99: number }, number][] = [];
  for (const [name, q] of queries) {
    let items = 0;
    const l = await latency(async () => {
      const page = await store.certificates.list({ ...q, limit: 100 });
      items = page.items.length;
    });
    out.push([name, l, items]);
  }
  return out;
}

function listTable(
  lists: { engine: string; fillSeconds: number; rows: [string, { p50: number; p99: number }, number][] }[],
): string[] {
  return [
    '',
    `### Certificate list page latency (limit 100) over ${ROWS.toLocaleString('en')} rows, ${SAMPLES} samples, ms`,
    '',
    `| query | ${lists.map((l) => `${l.engine} p50 | ${l.engine} p99`).join(' | ')} | rows returned |`,
    `|---|${lists.map(() => '---|---').join('|')}|---|`,
    ...lists[0]!.rows.map(
      ([name], i) =>
        `| ${name} | ` +
        `${lists.map((l) => `${l.rows[i]![1].p50.toFixed(2)} | ${l.rows[i]![1].p99.toFixed(2)}`).join(' | ')} ` +
        `| ${lists[0]!.rows[i]![2]} |`,
    ),
    '',
    `Load time for ${ROWS.toLocaleString('en')} rows: ` +
      `${lists.map((l) => `${l.engine} ${l.fillSeconds.toFixed(1)} s`).join(', ')} ` +
      '(SQLite: Store.importRows in 20k batches; PostgreSQL: INSERT … SELECT generate_series).',
  ];
}

/** the cluster's WAL so far (pg_stat_wal, PostgreSQL ≥ 14): syncs, records, full-page images, bytes */
interface WalStats {
  syncs: number;
  records: number;
  fpi: number;
  bytes: number;
}
async function walStats(url: string): Promise<WalStats> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const w = (await c.query('select wal_sync, wal_records, wal_fpi, wal_bytes from pg_stat_wal')).rows[0];
    return {
      syncs: Number(w.wal_sync),
      records: Number(w.wal_records),
      fpi: Number(w.wal_fpi),
      bytes: Number(w.wal_bytes),
    };
  } finally {
    await c.end();
  }
}

async function auditCount(url: string): Promise<number> {
  const store = await openStore({ url });
  try {
    return await store.audit.count();
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'pkim-dbbench-'));
  const cluster = await startPostgres({
    durable: !THROWAWAY,
    settings: [
      ...(PG_STATEMENTS > 0 ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] : []),
      ...PG_SETTINGS,
    ],
  });
  const started = performance.now();
  process.env.PKIM_MASTER_KEY = randomBytes(32).toString('base64'); // shared by every instance, as in production
  const load0 = loadavg()[0]!.toFixed(1);
  try {
    const settings = new pg.Client({ connectionString: cluster.url });
    await settings.connect();
    const show = async (name: string) => String((await settings.query(`show ${name}`)).rows[0][name]);
    const pgVersion = await show('server_version');
    const pgSettings: string[] = [];
    // one query at a time on a client (overlapping queries on one pg.Client are deprecated)
    const shown = ['fsync', 'synchronous_commit', 'full_page_writes', ...PG_SETTINGS.map((x) => x.split('=')[0]!)];
    for (const n of shown) pgSettings.push(`${n}=${await show(n)}`);
    const backendPid = Number((await settings.query('select pg_backend_pid() as pid')).rows[0].pid);
    const postmaster = procStat(String(backendPid))?.ppid ?? NaN;
    await settings.end();
    const csrFile = join(tmp, 'csrs.json');
    writeFileSync(
      csrFile,
      JSON.stringify(
        Array.from(
          { length: 16 },
          (_, i) =>
            opensslCsr({
              keyType: 'ec-p256',
              subject: `/CN=bench${i}.example.com`,
              sans: [`DNS:bench${i}.example.com`],
            }).csrPem,
        ),
      ),
    );

    const engines = [
      ...(ENGINES.includes('sqlite') ? [{ name: 'SQLite', url: join(tmp, 'issue.db') }] : []),
      ...(ENGINES.includes('postgres')
        ? [{ name: 'PostgreSQL', url: await cluster.createDatabase('bench_issue') }]
        : []),
    ];
    const issuance: string[] = [];
    const commits: string[] = [];
    /** BENCH_PG_STATEMENTS / BENCH_PG_WAITS lines per PostgreSQL issuance row */
    const probes: string[] = [];
    for (const e of engines) {
      const a = await createAuthority({
        dataDir: join(tmp, 'setup'),
        databaseUrl: e.url,
        masterKey: process.env.PKIM_MASTER_KEY,
        logger: silent,
      });
      const root = await a.cas.create({ name: 'root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, actor);
      const ca = await a.cas.create(
        { name: 'issuing', subject: 'CN=Bench Issuing', keyType: 'ec-p256', parentId: root.ca.id },
        actor,
      );
      await a.close();
      const isPg = e.name === 'PostgreSQL';
      if (isPg && PG_STATEMENTS > 0) {
        const c = new pg.Client({ connectionString: e.url });
        await c.connect();
        await c.query('create extension if not exists pg_stat_statements');
        await c.end();
      }
      let events = await auditCount(e.url);
      for (const count of INSTANCES) {
        const wal0 = isPg ? await walStats(cluster.url) : undefined;
        let pgUs = NaN; // the cluster's CPU from "go" to the last instance's report (live backends counted)
        let probeLines: (issued: number, batch: BatchSpan) => string[] = () => [];
        const probe =
          isPg && (PG_STATEMENTS > 0 || PG_WAITS)
            ? async () => {
                const stop = await pgProbe(e.url);
                return async () => {
                  probeLines = await stop();
                };
              }
            : undefined;
        const r = await runInstances(
          count,
          { databaseUrl: e.url, caId: ca.ca.id, csrFile, dataDir: join(tmp, 'worker') },
          () => {
            const pg0 = isPg ? clusterCpu(postmaster) : NaN;
            return () => {
              pgUs = clusterCpu(postmaster) - pg0;
            };
          },
          probe,
        );
        // backends report their WAL statistics when they exit; the warm-up issued one by one (a sync each)
        // (with fsync off, as BENCH_PG_THROWAWAY=1 runs it, nothing is synced: no figure)
        const wal1 = wal0 ? await walStats(cluster.url) : undefined;
        const issued = r.reduce((s, x) => s + x.n, 0);
        const warmed = r.reduce((s, x) => s + x.warmUp.n, 0);
        // syncs per certificate of the row and its in-flight warm-up (same batches); the 5 one at a time apart
        const syncs =
          wal0 && wal1 && !THROWAWAY ? ((wal1.syncs - wal0.syncs - WARM_UP * count) * issued) / (issued + warmed) : NaN;
        const total = r.reduce((s, x) => s + x.n / x.seconds, 0);
        const errors = r.reduce((s, x) => s + x.errors, 0);
        const perInstance = r.map((x) => (x.n / x.seconds).toFixed(0)).join(' + ');
        const load = loadavg()[0]!.toFixed(1);
        const flight = count * IN_FLIGHT;
        const us = (v: number) => (Number.isFinite(v) ? (v / issued).toFixed(0) : '–');
        const mainUs = us(r.reduce((s, x) => s + x.mainUs, 0));
        const cpuUs = us(r.reduce((s, x) => s + x.cpuUs, 0));
        const perCert = (v: number) => (Number.isFinite(v) ? ((100 * v) / issued).toFixed(1) : '–');
        const queries = perCert(isPg ? r.reduce((s, x) => s + x.queries, 0) : NaN);
        issuance.push(
          `| ${e.name} | ${count} | ${flight} | ${total.toFixed(0)} | ${perInstance} | ${errors} | ` +
            `${mainUs} | ${cpuUs} | ${us(pgUs)} | ${perCert(syncs)} | ${queries} | ${load} |`,
        );
        process.stderr.write(
          `issuance ${e.name} x${count}: ${total.toFixed(0)}/s, CPU µs per certificate: main thread ${mainUs}, ` +
            `instance ${cpuUs}, PostgreSQL ${us(pgUs)}; WAL syncs /100 certs ${perCert(syncs)} (row and warm-up), ` +
            `queries /100 certs ${queries} (load ${load})\n`,
        );
        if (wal0 && wal1) {
          // the warm-up's certificates wrote WAL too: per certificate of the row and its warm-up
          const n = issued + warmed + WARM_UP * count;
          const per = (v: number) => (v / n).toFixed(1);
          const wal =
            `${per(wal1.bytes - wal0.bytes)} bytes, ${per(wal1.records - wal0.records)} records, ` +
            `${per(wal1.fpi - wal0.fpi)} full-page images per certificate`;
          probes.push('', `${e.name}, ${count} instance(s), WAL: ${wal}`);
          process.stderr.write(`WAL: ${wal}\n`);
        }
        const warm = warmUpLine(r);
        probes.push('', `${e.name}, ${count} instance(s), ${warm}`);
        process.stderr.write(`${warm}\n`);
        const threads = threadLine(r);
        probes.push('', `${e.name}, ${count} instance(s), threads: ${threads}`);
        process.stderr.write(`threads: ${threads}\n`);
        const cycle = commitCycle(r);
        if (cycle) {
          probes.push('', `${e.name}, ${count} instance(s), group commit: ${cycle}`);
          process.stderr.write(`group commit: ${cycle}\n`);
        }
        const probed = probeLines(issued, {
          batches: r.reduce((s, x) => s + x.commits.batches, 0),
          seconds: r.reduce((s, x) => s + x.seconds, 0) / r.length,
        });
        if (probed.length) {
          probes.push('', `${e.name}, ${count} instance(s):`, '', ...probed.map((l) => `- ${l}`));
          process.stderr.write(`${probed.join('\n')}\n`);
        }
        // after every run: the hash chain verifies and holds one event per certificate (WARM_UP more per instance)
        const check = await openStore({ url: e.url });
        try {
          const v = await check.audit.verify();
          if (!v.ok) throw new Error(`${e.name}: audit chain broken after the issuance bench: ${v.reason}`);
          if (v.count !== events + issued + warmed + WARM_UP * count)
            throw new Error(`${e.name}: ${v.count - events} audit events for ${issued} + warm-up certificates`);
          events = v.count;
        } finally {
          await check.close();
        }
      }
      if (COMMIT_UNITS > 0) {
        const load = () => loadavg()[0]!.toFixed(1);
        for (const c of await commitPath(e.url, ca.ca.id, () => (isPg ? clusterCpu(postmaster) : NaN))) {
          const pgUs = Number.isFinite(c.pgUs) ? c.pgUs.toFixed(0) : '–';
          commits.push(
            `| ${e.name} | ${c.operation} | ${c.units} | ${COMMIT_BATCH} | ${c.perSecond.toFixed(0)} | ` +
              `${c.processUs.toFixed(0)} | ${pgUs} | ${load()} |`,
          );
          process.stderr.write(
            `commit path ${e.name} ${c.operation}: ${c.perSecond.toFixed(0)}/s, CPU µs per unit: ` +
              `process ${c.processUs.toFixed(0)}, PostgreSQL ${pgUs} (load ${load()})\n`,
          );
        }
      }
    }

    const lists: {
      engine: string;
      fillSeconds: number;
      rows: [string, { p50: number; p99: number }, number][];
    }[] = [];
    for (const e of ROWS > 0
      ? [
          ...(ENGINES.includes('sqlite') ? [{ name: 'SQLite', url: join(tmp, 'list.db') }] : []),
          ...(ENGINES.includes('postgres')
            ? [{ name: 'PostgreSQL', url: await cluster.createDatabase('bench_list') }]
            : []),
        ]
      : []) {
      const a = await createAuthority({
        dataDir: join(tmp, 'setup'),
        databaseUrl: e.url,
        masterKey: process.env.PKIM_MASTER_KEY,
        logger: silent,
      });
      const caIds: string[] = [];
      const root = await a.cas.create({ name: 'root', subject: 'CN=List Root', keyType: 'ec-p256' }, actor);
      caIds.push(root.ca.id);
      for (let i = 0; i < 3; i++)
        caIds.push(
          (
            await a.cas.create(
              { name: `int${i}`, subject: `CN=List Int ${i}`, keyType: 'ec-p256', parentId: root.ca.id },
              actor,
            )
          ).ca.id,
        );
      await a.close();
      const store = await openStore({ url: e.url });
      try {
        const t0 = performance.now();
        if (e.name === 'SQLite') await fillSqlite(store, caIds);
        else await fillPostgres(e.url, caIds);
        const fillSeconds = (performance.now() - t0) / 1000;
        process.stderr.write(`${e.name}: ${ROWS} rows loaded in ${fillSeconds.toFixed(1)} s\n`);
        lists.push({ engine: e.name, fillSeconds, rows: await listLatencies(store, caIds) });
      } finally {
        await store.close();
      }
    }

    const lines = [
      `## pkim database benchmark (${cpus().length} CPU ${cpus()[0]?.model.trim() ?? ''}, Node ${process.version}; ` +
        `PostgreSQL ${pgVersion} on the same host, ${pgSettings.join(', ')}; load average ${load0} at start)`,
      '',
      `### Issuance (CSR → certificate + audit row, ECDSA P-256 CA), ${SECONDS} s per row, ` +
        `${IN_FLIGHT} in flight per instance`,
      '',
      '"Instance" = a separate OS process with its own createAuthority/store (own pool / SQLite handle) ' +
        'on the SAME database; no HTTP.',
      '',
      `Worker threads per instance: ${WORKERS ?? 'none (in-process)'}; ` +
        (WARMUP_SECONDS > 0
          ? `each row after an uncounted warm-up of ${WARMUP_SECONDS} s per instance (BENCH_WARMUP_SECONDS; ` +
            "printed below with the row's V8 threads); "
          : 'the rows cold (BENCH_WARMUP_SECONDS=0); ') +
        'load = 1-minute load average after the row. ' +
        "CPU µs per certificate during the run (what a loaded machine does not distort much): the instances' " +
        "main threads, the instances' processes (main thread + compute workers), the PostgreSQL cluster " +
        '(postmaster, backends, WAL writer…). WAL syncs per 100 certificates (pg_stat_wal.wal_sync): the commits ' +
        'that reached the disk, about one per batch (the row and its warm-up); queries per 100 certificates: ' +
        'what the instances sent.',
      '',
      '| engine | instances | in flight | certificates/s (total) | per instance | errors | main thread µs/cert | ' +
        'instance µs/cert | PostgreSQL µs/cert | WAL syncs /100 certs | queries /100 certs | load |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...issuance,
      ...(probes.length
        ? [
            '',
            '#### Where PostgreSQL spends the issuance rows (the group commit: batches, their waits and round ' +
              'trips; BENCH_PG_WAITS: active backends per sample by wait event; BENCH_PG_STATEMENTS: ' +
              'pg_stat_statements, execution time per certificate)',
            ...probes,
          ]
        : []),
      ...(commits.length
        ? [
            '',
            `### The store's commit path alone (no signing), ${COMMIT_BATCH} units per batch`,
            '',
            'Pre-built units committed by this process through `Store.commit`: issuance (certificate row, ' +
              'search names, counter, certificate.issued event), then one revocation per certificate (status ' +
              'guarded by onlyIfStatus, counters, certificate.revoked event). CPU µs per unit: this process ' +
              '(the store and its driver), the PostgreSQL cluster.',
            '',
            '| engine | operation | units | batch | units/s | process µs/unit | PostgreSQL µs/unit | load |',
            '|---|---|---|---|---|---|---|---|',
            ...commits,
          ]
        : []),
      ...(lists.length ? listTable(lists) : []),
      `Total bench time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cluster.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'worker') await worker();
else await main();
