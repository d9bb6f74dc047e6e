// `npm run bench`: issuance throughput against the crypto floor (ECDSA P-256, one core).
//  (1) crypto floor: only the mandatory node:crypto operations per certificate —
//      verify the CSR signature (importing its key), sign the certificate, verify the result. node:crypto imports
//      a public key two ways: through OpenSSL's DER decoder (the SPKI) or from its JWK (x, y); both are measured and
//      the faster is THE floor (the best node:crypto can do: the JWK on OpenSSL 3, as the pipeline imports them);
//  (2) core: decode CSR + plan + lint + encode + sign + assemble (no persistence);
//  (2b) worker job: the `csr-leaf` job a worker thread runs per certificate (compute-jobs.ts: decode CSR + proof of
//      possession, leaf checks, plan, lint, encode, sign, verify), here in-process: what the workers spend per
//      certificate, without the thread messages;
//  (3) full service: CSR → policy → lint → sign → verify → persist certificate + audit on SQLite,
//      one at a time and with 16 in flight. Prints a markdown table and the ratio full/floor.
//      Each of the two rows runs after an uncounted warm-up of BENCH_WARMUP_SECONDS (default 10; 0 = none) of itself
//      (1 at a time, 16 in flight) on the same authority and store, as the floor has its warm-up round and as
//      bench:http warms each server 10 s: V8 compiles the pipeline's warm functions on its own threads (TurboFan) for
//      its first seconds — from a cold start, 16 in flight, its threads' CPU fell 281 → 71 → 29 → 15 µs/cert in 2 s
//      steps and stayed ≤ 11 from 8 s on (docs/benchmarks-record.md session 43); a cold row counted V8's compile, not
//      pkim. Each warm-up's rate and CPU (main thread, V8's threads, process) are printed under the table beside its
//      row's; the floor's rounds, its operations and the rows' own seconds are unchanged.
//  (3b) the other two leaf paths, 16 in flight: approving submitted certificate requests (the approval signs the
//      request's CSR in a `csr-leaf` job; the requests are submitted beforehand, untimed) and leaves with a key the
//      authority generates (ECDSA P-256, a `key-leaf` job: key generation + the certificate steps, no CSR to verify).
//  (4) the scaling with the worker count, whatever PKIM_WORKERS this run has: the 16-in-flight row on two fresh
//      authorities, PKIM_WORKERS=1 (in-process) and 2 (worker threads), alternated in BENCH_SCALING_ROUNDS rounds
//      (default 3, 0 = not run) of BENCH_SECONDS / 2 each; per side the rate, the main thread's and the process's CPU
//      per certificate, the share of the time the main thread's event loop ran, worker jobs per certificate, w2/w1,
//      messages and wake-ups per certificate, and the µs per certificate the main thread and the workers waited for a
//      core (runnable, not running: /proc/self/task/*/schedstat — a V8 profile counts that wait as the function
//      the thread was preempted in; with workers mostly `postMessage`, see docs/benchmarks-record.md session 26).
//  The floor is measured in BENCH_FLOOR_ROUNDS short rounds (default 7; each BENCH_FLOOR_MS, default 300 ms, per
//  import way, JWK and DER alternated), interleaved with the full-service rows: one round before the first of them,
//  the others between the rounds of the 16-in-flight row (run in BENCH_FLOOR_ROUNDS − 1 parts) and after it. Each
//  way's floor is the MEDIAN of its rounds (printed with their range), so a burst of load on the shared machine moves
//  one round, not the floor; the ratio's floor is still the faster way's median, on one core.
//  For the floor, worker-job and full-service rows it also prints the CPU per certificate: of the main thread (Linux:
//  /proc/self/task, the thread that runs the store's group commit and everything between the transports and the
//  workers), of the compute pool's worker threads (PKIM_WORKERS ≥ 2: the threads that appeared with the pool's first
//  job; PKIM_WORKERS unset or 1 runs the jobs on the main thread) and of the whole process (every thread: also V8's
//  compiler and GC threads), and the worker jobs per certificate (with PKIM_WORKERS ≥ 2);
//  for the 16-in-flight row, the share of its time the main thread's event loop waited for work (idle, from
//  performance.eventLoopUtilization: blocked in the poll phase, not time the OS gave to other threads), and its GC:
//  scavenges and other collections per 1,000 certificates and the main thread's pauses (PerformanceObserver 'gc';
//  docs/benchmarks-record.md "Session 37: the commit's B-trees").
//  V8's threads: the platform's five threads, the first started after the main thread (as bench/http-bench.ts).
//  env: BENCH_SECONDS (default 3), BENCH_FLOOR_ROUNDS (default 7, ≥ 2), BENCH_FLOOR_MS (default 300),
//  BENCH_WARMUP_SECONDS (default 10: each full-service row's uncounted warm-up; 0 = none, the rows cold as before
//  session 43),
//  BENCH_PREFILL=<n> (default 0: the store grown by n certificates before the full-service rows — issued as the
//  16-in-flight row issues them, uncounted, its time printed — so the rows run on a grown store as production does;
//  the 16-in-flight row's WAL frames per certificate and checkpoints are printed either way),
//  PKIM_WORKERS (worker threads of the authority; unset = in-process),
//  BENCH_WRITE_WHEN_IDLE=0|1 (in-process: the held group commit without / with `writeWhenIdle`, whatever
//  IN_PROCESS_GROUP_COMMIT says),
//  BENCH_SQLITE_WRITER=0|1 (the store's SQLite writer thread off / on, AuthorityConfig.sqliteWriterThread; its CPU is
//  printed in the worker threads' column; docs/benchmarks-record.md "Session 29: two threads balanced"),
//  BENCH_CPU_PROF=<dir> (the main thread's V8 CPU profile of the 16-in-flight row alone, node:inspector: one
//  <dir>/full16-<part>.cpuprofile per part, the floor rounds between them not profiled; open one in Chrome DevTools or
//  summarise them with `node bench/cpuprofile-top.mjs <dir>/full16-*.cpuprofile`)
//  BENCH_HEAP_PROF=<dir> (what the main thread allocates in the 16-in-flight row: V8's sampling heap profiler,
//  node:inspector `HeapProfiler.startSampling`, every BENCH_HEAP_INTERVAL bytes (default 1024), objects a GC
//  collected included — one <dir>/full16-<part>.heapprofile per part and <dir>/full16-certificates.txt, the
//  certificates the parts issued; `node bench/heapprofile-top.mjs <dir>` prints bytes per certificate by function;
//  the sampling slows the row: its rates are not comparable)
//  PKIM_WORKER_CPU_PROF=<dir> (PKIM_WORKERS ≥ 2: each compute worker's V8 CPU profile, 200 µs sampling, from its start
//  to the authority's close — every row that uses the pool; one <dir>/compute-worker-<pid>-<thread>-<ms>.cpuprofile per
//  worker, summarised the same way)
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile as readFileAsync } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import {
  decodeCsr,
  generateSerial,
  planCertificate,
  lintCertificate,
  assertLintClean,
  issueCertificate,
  resolveProfile,
  parseDn,
} from '@pkim/core';
import { createAuthority } from '@pkim/authority';
import { IN_PROCESS_GROUP_COMMIT } from '@pkim/store';
import { hostCsrs } from './host-csrs';
import { runJob } from '../packages/authority/src/compute/compute-jobs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const FLOOR_ROUNDS = Math.max(2, Number(process.env.BENCH_FLOOR_ROUNDS ?? 7));
const FLOOR_MS = Number(process.env.BENCH_FLOOR_MS ?? 300);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 0);
const admin = { id: 'bench', role: 'admin' as const };

/** CPU time of the main thread in µs (utime + stime of /proc/self/task/<pid>/stat), undefined off Linux */
function mainThreadCpuUs(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks of 1/100 s (USER_HZ)
  } catch {
    return undefined;
  }
}

/**
 * V8's platform threads (TurboFan's compiles, GC's helpers): in Node 20 the platform's five threads are the first
 * started after the main thread — the five next thread ids in order (as bench/http-bench.ts counts them); libuv's pool
 * and the compute workers start later, at their first job. Empty off Linux.
 */
const v8Tids: string[] = (() => {
  try {
    return readdirSync('/proc/self/task')
      .map(Number)
      .filter((tid) => tid > process.pid)
      .sort((a, b) => a - b)
      .slice(0, 5)
      .map(String);
  } catch {
    return [];
  }
})();

/** CPU µs of every thread of this process by thread id (Linux /proc/self/task), undefined off Linux */
function threadsCpuUs(): Map<string, number> | undefined {
  try {
    const out = new Map<string, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        out.set(tid, ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100);
      } catch {
        // the thread ended meanwhile
      }
    }
    return out;
  } catch {
    return undefined;
  }
}
/** voluntary context switches (the thread slept and was woken: a wake-up) of every thread by thread id (Linux) */
function threadsWakeUps(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'));
        if (m) out.set(tid, Number(m[1]));
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}
/**
 * µs each thread of this process spent runnable but not running — waiting for a core (Linux
 * /proc/self/task/<tid>/schedstat, its second field, ns), by thread id; empty off Linux or without schedstats. V8's
 * sampling profiler counts this time too, at the place where the thread was preempted (a profile's share is wall
 * time): with worker threads most of it falls in `postMessage`, where the woken worker takes the poster's core.
 */
function threadsRunQueueUs(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const waitNs = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
        if (Number.isFinite(waitNs)) out.set(tid, waitNs / 1000);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}
/** the sum of `after − before` over the threads of `tids` present in both readings */
function sumOver(
  tids: Iterable<string>,
  before: Map<string, number> | undefined,
  after: Map<string, number> | undefined,
) {
  let sum = 0;
  for (const tid of tids) {
    const a = after?.get(tid);
    const b = before?.get(tid);
    if (a !== undefined && b !== undefined) sum += a - b;
  }
  return sum;
}

/**
 * The threads this process had before the authority's first job (main, V8's platform threads, libuv's): with
 * PKIM_WORKERS ≥ 2 the threads that appear after it are the compute pool's workers (started with its first job)
 */
let threadsBefore: Set<string> | undefined;
/** the CPU µs of the threads that appeared after `threadsBefore` (the compute workers), and how many there are */
function workerThreadsCpuUs(): { us: number; threads: number } | undefined {
  const all = threadsBefore ? threadsCpuUs() : undefined;
  if (!all) return undefined;
  let us = 0;
  let threads = 0;
  for (const [tid, v] of all) {
    if (threadsBefore!.has(tid)) continue;
    us += v;
    threads++;
  }
  return { us, threads };
}

/** CPU µs per certificate of a timed run: main thread, worker threads (with a pool), V8's threads, whole process */
interface CpuPerCert {
  main?: number;
  workers?: number;
  /** V8's platform threads (`v8Tids`): TurboFan compiling, GC's helpers */
  v8?: number;
  process: number;
}

/** the most threads seen after `threadsBefore` (printed: with a pool, the number of its workers) */
let workerThreadCount = 0;

/** runs `run`, which returns how many certificates it made, and the CPU it took per certificate */
async function withCpu(
  run: () => Promise<{ rate: number; n: number }>,
): Promise<{ rate: number; n: number; cpu: CpuPerCert }> {
  const main0 = mainThreadCpuUs();
  const workers0 = workerThreadsCpuUs();
  const v80 = v8Tids.length ? threadsCpuUs() : undefined;
  const proc0 = process.cpuUsage();
  const { rate, n } = await run();
  const main1 = mainThreadCpuUs();
  const workers1 = workerThreadsCpuUs();
  const v81 = v80 ? threadsCpuUs() : undefined;
  const proc = process.cpuUsage(proc0);
  // a worker that ended during the run would take its CPU with it: no figure then
  const workersUs =
    workers0 && workers1 && workers1.threads > 0 && workers1.threads >= workers0.threads
      ? workers1.us - workers0.us
      : undefined;
  if (workers1) workerThreadCount = Math.max(workerThreadCount, workers1.threads);
  return {
    rate,
    n,
    cpu: {
      main: main0 !== undefined && main1 !== undefined ? (main1 - main0) / n : undefined,
      workers: workersUs === undefined ? undefined : workersUs / n,
      v8: v80 && v81 ? sumOver(v8Tids, v80, v81) / n : undefined,
      process: (proc.user + proc.system) / n,
    },
  };
}

async function timeLoop(fn: (i: number) => unknown): Promise<number> {
  return (await countLoop(fn)).rate;
}

async function countLoop(fn: (i: number) => unknown, ms = SECONDS * 1000): Promise<{ rate: number; n: number }> {
  const end = performance.now() + ms;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    await fn(n);
    n++;
  }
  return { rate: n / ((performance.now() - start) / 1000), n };
}

/** runs fn(0 … n-1), `inFlight` at a time */
/**
 * where the WAL stands: `frames` — the last valid frame (mxFrame of the wal-index header, the -shm file's first copy,
 * native byte order), `checkpoints` — the WAL header's checkpoint sequence number (SQLite adds one each time a
 * writer restarts the WAL after a checkpoint), `fileFrames` — the -wal file's size in frames (its largest generation)
 */
function walPosition(dbPath: string): { frames: number; checkpoints: number; fileFrames: number } {
  try {
    const shm = readFileSync(`${dbPath}-shm`).subarray(0, 48);
    const fd = openSync(`${dbPath}-wal`, 'r');
    const header = Buffer.alloc(32);
    readSync(fd, header, 0, 32, 0);
    const size = fstatSync(fd).size;
    closeSync(fd);
    const pageSize = header.readUInt32BE(8) || 4096;
    return {
      frames: shm.readUInt32LE(16),
      checkpoints: header.readUInt32BE(12),
      fileFrames: Math.floor(Math.max(0, size - 32) / (24 + pageSize)),
    };
  } catch {
    return { frames: NaN, checkpoints: NaN, fileFrames: NaN };
  }
}

async function countAll(
  n: number,
  inFlight: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ rate: number; n: number }> {
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { rate: n / ((performance.now() - start) / 1000), n };
}

async function countConcurrent(
  fn: (i: number) => Promise<unknown>,
  inFlight: number,
  ms = SECONDS * 1000,
): Promise<{ rate: number; n: number }> {
  const end = performance.now() + ms;
  let n = 0;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() < end) {
      const i = n++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { rate: n / ((performance.now() - start) / 1000), n };
}

const csrs = await hostCsrs(256);

// (1) crypto floor: exactly the three mandatory node:crypto operations per certificate, with the
// CSR split into its signed bytes, signature and key beforehand (parsing is not part of the floor)
const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const csrParts = csrs.map((c) => {
  const req = AsnConvert.parse(c.der, CertificationRequest);
  const spki = new Uint8Array(AsnConvert.serialize(req.certificationRequestInfo.subjectPKInfo));
  return {
    info: new Uint8Array(AsnConvert.serialize(req.certificationRequestInfo)),
    signature: new Uint8Array(req.signature),
    spki,
    // the same key as a JWK (x, y read from the SPKI when parsing: node:crypto's own export of it)
    jwk: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }),
  };
});
const tbsSample = csrs[0]!.der; // a few hundred bytes, like a TBSCertificate
/** one short run of the floor with the CSR key imported one way: verify the CSR (importing its key), sign, verify */
const floorWith = (importKey: (p: (typeof csrParts)[number]) => KeyObject) =>
  withCpu(() =>
    countLoop((i) => {
      const p = csrParts[i % csrParts.length]!;
      if (!verify('sha256', p.info, importKey(p), p.signature)) throw new Error('CSR verify failed');
      const sig = sign('sha256', tbsSample, ca.privateKey);
      if (!verify('sha256', tbsSample, ca.publicKey, sig)) throw new Error('floor verify failed');
    }, FLOOR_MS),
  );
type Run = Awaited<ReturnType<typeof withCpu>>;
const floorRounds: { jwk: Run[]; der: Run[] } = { jwk: [], der: [] };
/** one round of the floor: each import way once, the order alternated from round to round */
async function floorRound(): Promise<void> {
  const der = () => floorWith((p) => createPublicKey({ key: Buffer.from(p.spki), format: 'der', type: 'spki' }));
  const jwk = () => floorWith((p) => createPublicKey({ key: p.jwk, format: 'jwk' }));
  if (floorRounds.jwk.length % 2) {
    floorRounds.der.push(await der());
    floorRounds.jwk.push(await jwk());
  } else {
    floorRounds.jwk.push(await jwk());
    floorRounds.der.push(await der());
  }
}
/** a way's floor: the median rate of its rounds, their range, and the CPU per certificate over all of them */
function floorOf(runs: Run[]): { rate: number; low: number; high: number; cpu: CpuPerCert } {
  const rates = runs.map((r) => r.rate).sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const n = runs.reduce((sum, r) => sum + r.n, 0);
  const cpu = (f: (c: CpuPerCert) => number | undefined) =>
    runs.every((r) => f(r.cpu) !== undefined) ? runs.reduce((sum, r) => sum + f(r.cpu)! * r.n, 0) / n : undefined;
  return {
    rate: rates.length % 2 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2,
    low: rates[0]!,
    high: rates[rates.length - 1]!,
    cpu: { main: cpu((c) => c.main), process: cpu((c) => c.process)! },
  };
}
await floorRound(); // warm-up of both ways (not counted)
floorRounds.jwk.length = 0;
floorRounds.der.length = 0;

// (2) core build + sign
const caKey: KeyObject = createPrivateKey(ca.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const caSpki = new Uint8Array(ca.publicKey.export({ type: 'spki', format: 'der' }));
const rootProfile = resolveProfile('root-ca');
const now = Date.now();
const rootDer = await issueCertificate(
  planCertificate({
    profile: rootProfile,
    subject: parseDn('CN=Bench Root'),
    publicKey: caSpki,
    selfSignedKeyType: 'ec-p256',
    serial: generateSerial(),
    notBefore: now - 60_000,
    notAfter: now + 3650 * 86_400_000,
  }),
  (d) => new Uint8Array(sign('sha256', d, caKey)),
);
const leafProfile = resolveProfile('tls-server');
const core = await timeLoop(async (i) => {
  const c = decodeCsr(csrs[i % csrs.length]!.der);
  const plan = planCertificate({
    profile: leafProfile,
    subject: c.subject,
    sans: c.sans,
    publicKey: c.publicKey,
    issuer: { certificateDer: rootDer, keyType: 'ec-p256' },
    serial: generateSerial(),
    notBefore: now - 60_000,
    notAfter: now + 90 * 86_400_000,
  });
  assertLintClean(lintCertificate(plan, { now }));
  await issueCertificate(plan, (d) => new Uint8Array(sign('sha256', d, caKey)));
});

// (2b) the job a worker thread runs per certificate, as it runs it (compute-jobs.ts), on this thread
const jobKey = { uri: 'bench:ca', keyType: 'ec-p256' as const, publicKey: caSpki };
/** the lent key as a worker holds it (at once, no promise) */
const lent = () => caKey;
const admins = [{ kind: 'user' as const, id: admin.id, name: admin.id, policy: {} }];
const jobs = await withCpu(() =>
  countLoop(async (i) => {
    const leaf = {
      input: {
        profile: leafProfile,
        issuer: { certificateDer: rootDer, keyType: 'ec-p256' as const },
        serial: generateSerial(),
        notBefore: now - 60_000,
        notAfter: now + 90 * 86_400_000,
      },
      provisioners: admins,
      facts: { ca: { id: 'ca_bench', name: 'bench', notAfter: null }, lifetimeMs: undefined, source: 'csr' as const },
    };
    // what a worker gets is a structured clone of what the main thread posted, with the values that stay the same
    // from job to job (the profile, the issuer's certificate, the CA's public key) as the objects it holds once
    // (compute-shared.ts)
    const job = { kind: 'csr-leaf' as const, csr: csrs[i % csrs.length]!.pem, leaf, now, key: jobKey, what: 'bench' };
    const received = structuredClone(job);
    received.leaf.input.profile = leafProfile;
    received.leaf.input.issuer.certificateDer = rootDer;
    received.key.publicKey = caSpki;
    await runJob(received, lent);
  }),
);

// (3) full service on SQLite
const dir = mkdtempSync(join(tmpdir(), 'pkim-bench-'));
// PKIM_WORKERS: worker threads for the CPU-bound steps, as `pkim serve` has them (unset: in-process, like the CLI)
const workers = process.env.PKIM_WORKERS ? Number(process.env.PKIM_WORKERS) : undefined;
const whenIdle = process.env.BENCH_WRITE_WHEN_IDLE;
// BENCH_SQLITE_WRITER=0|1: the store's writer thread (default: off)
const writerThread = process.env.BENCH_SQLITE_WRITER;
const groupCommit =
  whenIdle === undefined ? undefined : { ...IN_PROCESS_GROUP_COMMIT, writeWhenIdle: whenIdle === '1' };
// with a pool, its workers start with its first job (the CA's certificate): the threads that appear from now on are
// theirs — libuv's thread pool started beforehand (a file read), so its threads are not taken for workers; with
// BENCH_SQLITE_WRITER=1 the store's writer thread is one of them
await readFileAsync(join(dir, '..'), { flag: 'r' }).catch(() => undefined);
if ((workers ?? 0) >= 2 || writerThread === '1') threadsBefore = new Set(threadsCpuUs()?.keys() ?? []);
const workerProfileDir = process.env.PKIM_WORKER_CPU_PROF || undefined;
if (workerProfileDir) mkdirSync(workerProfileDir, { recursive: true });
const authority = await createAuthority({
  dataDir: dir,
  logger: pino({ level: 'silent' }),
  workers,
  groupCommit,
  workerCpuProfileDir: workerProfileDir,
  sqliteWriterThread: writerThread === undefined ? undefined : writerThread === '1',
});
const root = await authority.cas.create({ name: 'bench-root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, admin);
// BENCH_PREFILL: the store grown beforehand, uncounted, by the same issuances the 16-in-flight row makes
const prefill =
  PREFILL > 0
    ? await countAll(PREFILL, 16, (i) =>
        authority.issuance.issueFromCsr(
          { caId: root.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' },
          admin,
        ),
      )
    : undefined;
/**
 * a full-service row's warm-up, uncounted: BENCH_WARMUP_SECONDS of the row as it runs (1 at a time or 16 in flight),
 * on the same authority and store the counted row then uses — the floor has its warm-up round, a server runs warm,
 * and V8 compiles the pipeline's warm functions on its own threads for its first seconds (TurboFan: a cold row counts
 * V8's compile, not pkim). Its rate and CPU are printed under the table.
 */
const warmUp = (inFlight: number) =>
  withCpu(async () => {
    if (WARMUP_SECONDS <= 0) return { rate: 0, n: 0 };
    const issue = (i: number) =>
      authority.issuance.issueFromCsr(
        { caId: root.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' },
        admin,
      );
    return inFlight === 1
      ? countLoop(issue, WARMUP_SECONDS * 1000)
      : countConcurrent(issue, inFlight, WARMUP_SECONDS * 1000);
  });
const warm1 = await warmUp(1);
const jobs0 = authority.describe().workerJobs;
const messages0 = authority.describe().workerMessages;
const commits0 = authority.describe().commits;
await floorRound(); // the floor's first round, just before the full-service rows
const full1 = await withCpu(() =>
  countLoop((i) =>
    authority.issuance.issueFromCsr(
      { caId: root.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' },
      admin,
    ),
  ),
);
const jobs1 = authority.describe().workerJobs;
const messages1 = authority.describe().workerMessages;
const commits1 = authority.describe().commits;
const warm16 = await warmUp(16);
// the 16-in-flight row's own start: after its warm-up
const jobs16Start = authority.describe().workerJobs;
const messages16Start = authority.describe().workerMessages;
const commits16Start = authority.describe().commits;
// the 16-in-flight row in FLOOR_ROUNDS − 1 parts, a floor round after each (the floor interleaved with it)
const full16: { rate: number; n: number; cpu: CpuPerCert } = {
  rate: 0,
  n: 0,
  cpu: { main: 0, workers: threadsBefore ? 0 : undefined, v8: v8Tids.length ? 0 : undefined, process: 0 },
};
let full16Ms = 0;
/** ms the main thread's event loop waited for work (performance.eventLoopUtilization().idle) in the 16-in-flight row */
let full16IdleMs = 0;
/** µs the main thread waited for a core (runnable, not running: schedstat) in the 16-in-flight row */
let full16WaitUs = 0;
/** the main thread's GC pauses (PerformanceObserver 'gc'); those begun within the 16-in-flight row's parts count */
const gcPauses: { start: number; ms: number; minor: boolean }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    gcPauses.push({ start: e.startTime, ms: e.duration, minor: kind === perfConstants.NODE_PERFORMANCE_GC_MINOR });
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
/** [start, end] of each part of the 16-in-flight row, performance.now() */
const full16Parts: [number, number][] = [];
/** the 16-in-flight row's WAL frames (walPosition at each part's start and end) and checkpoints */
let full16Frames = 0;
let full16Checkpoints = 0;
const cpuProf = process.env.BENCH_CPU_PROF;
const heapProf = process.env.BENCH_HEAP_PROF;
const inspector = cpuProf || heapProf ? new Session() : undefined;
if (inspector && cpuProf) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
} else if (inspector) inspector.connect();
const heapSampling = {
  samplingInterval: Number(process.env.BENCH_HEAP_INTERVAL ?? 1024),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
};
for (let part = 0, issued = 0; part < FLOOR_ROUNDS - 1; part++) {
  const t0 = performance.now();
  const elu0 = performance.eventLoopUtilization();
  const wait0 = threadsRunQueueUs().get(String(process.pid));
  const wal0 = walPosition(join(dir, 'pkim.db'));
  if (cpuProf) await inspector?.post('Profiler.start');
  if (heapProf) await inspector?.post('HeapProfiler.startSampling', heapSampling);
  const r = await withCpu(() =>
    countConcurrent(
      () =>
        authority.issuance.issueFromCsr(
          { caId: root.ca.id, csrPem: csrs[issued++ % csrs.length]!.pem, profile: 'tls-server' },
          admin,
        ),
      16,
      (SECONDS * 1000) / (FLOOR_ROUNDS - 1),
    ),
  );
  full16Ms += performance.now() - t0;
  full16Parts.push([t0, performance.now()]);
  const wal1 = walPosition(join(dir, 'pkim.db'));
  full16Checkpoints += wal1.checkpoints - wal0.checkpoints;
  // across a checkpoint: the old WAL's frames after wal0 (to its largest size) and the new one's from its start
  full16Frames +=
    wal1.checkpoints === wal0.checkpoints
      ? wal1.frames - wal0.frames
      : Math.max(0, wal1.fileFrames - wal0.frames) +
        (wal1.checkpoints - wal0.checkpoints - 1) * wal1.fileFrames +
        wal1.frames;
  full16IdleMs += performance.eventLoopUtilization(elu0).idle;
  full16WaitUs += (threadsRunQueueUs().get(String(process.pid)) ?? NaN) - (wait0 ?? NaN);
  if (inspector && cpuProf) {
    const { profile } = await inspector.post('Profiler.stop');
    mkdirSync(cpuProf, { recursive: true });
    writeFileSync(join(cpuProf, `full16-${part}.cpuprofile`), JSON.stringify(profile));
  }
  if (inspector && heapProf) {
    const { profile } = await inspector.post('HeapProfiler.stopSampling');
    mkdirSync(heapProf, { recursive: true });
    writeFileSync(join(heapProf, `full16-${part}.heapprofile`), JSON.stringify(profile));
    writeFileSync(join(heapProf, 'full16-certificates.txt'), String(full16.n + r.n));
  }
  full16.n += r.n;
  full16.cpu.process += r.cpu.process * r.n;
  const main = full16.cpu.main;
  full16.cpu.main = r.cpu.main === undefined || main === undefined ? undefined : main + r.cpu.main * r.n;
  const ws = full16.cpu.workers;
  full16.cpu.workers = r.cpu.workers === undefined || ws === undefined ? undefined : ws + r.cpu.workers * r.n;
  const v8 = full16.cpu.v8;
  full16.cpu.v8 = r.cpu.v8 === undefined || v8 === undefined ? undefined : v8 + r.cpu.v8 * r.n;
  await floorRound();
}
full16.rate = full16.n / (full16Ms / 1000);
full16.cpu.process /= full16.n;
if (full16.cpu.main !== undefined) full16.cpu.main /= full16.n;
if (full16.cpu.workers !== undefined) full16.cpu.workers /= full16.n;
if (full16.cpu.v8 !== undefined) full16.cpu.v8 /= full16.n;
const jobs16 = authority.describe().workerJobs;
const messages16 = authority.describe().workerMessages;
const commits16 = authority.describe().commits;
// (3b) approvals of submitted requests (as many as the 16-in-flight row issued in its time), then generated-key leaves
const requester = { id: 'bench-requester', role: 'requester' as const };
const toApprove: string[] = [];
await countAll(Math.max(200, full16.n), 16, async (i) => {
  const r = await authority.requests.submit(
    { caId: root.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' },
    requester,
  );
  toApprove.push(r.id);
});
const approved = await withCpu(() =>
  countAll(toApprove.length, 16, (i) => authority.requests.approve(toApprove[i]!, admin)),
);
const keyLeaves = await withCpu(() =>
  countConcurrent(
    (i) =>
      authority.issuance.issueWithKey(
        {
          caId: root.ca.id,
          profile: 'tls-server',
          subject: `CN=gen${i}.example.com`,
          sans: { dns: [`gen${i}.example.com`] },
          keyType: 'ec-p256',
        },
        admin,
      ),
    16,
  ),
);
const verified = await authority.audit.verify();
await authority.close();
rmSync(dir, { recursive: true, force: true });
if (!verified.ok) throw new Error('audit chain broken after the bench');

// (4) the scaling with the worker count: the 16-in-flight row on two fresh authorities, PKIM_WORKERS=1 (every job on
// the main thread) and 2 (two worker threads), in BENCH_SCALING_ROUNDS alternated rounds (default 3; 0 = not run)
// of SECONDS / 2 each, the order swapped from round to round, whatever PKIM_WORKERS this run has
const SCALING_ROUNDS = Number(process.env.BENCH_SCALING_ROUNDS ?? 3);
interface ScalingSide {
  workers: number;
  n: number;
  ms: number;
  mainUs: number;
  processUs: number;
  busyMs: number;
  jobs: number;
  /** CPU µs of this side's worker threads (the threads that appeared with its pool) */
  workerUs: number;
  /** messages of jobs to the workers, of answers from them */
  jobMessages: number;
  answerMessages: number;
  /** wake-ups (voluntary context switches) of the main thread and of this side's worker threads */
  mainWakeUps: number;
  workerWakeUps: number;
  /** µs the main thread and this side's worker threads waited for a core (runnable, not running) */
  mainWaitUs: number;
  workerWaitUs: number;
  /** this side's worker threads (thread ids) */
  threads: string[];
}
const scaling: ScalingSide[] = [];
if (SCALING_ROUNDS > 0) {
  // the threads that appear with the sides (their CAs' keys are made, their first jobs run) are the w2 pool's: the
  // in-process side starts none
  const threadsBeforeSides = new Set(threadsCpuUs()?.keys());
  const sides = await Promise.all(
    [1, 2].map(async (w) => {
      const sideDir = mkdtempSync(join(tmpdir(), `pkim-bench-w${w}-`));
      const a = await createAuthority({ dataDir: sideDir, logger: pino({ level: 'silent' }), workers: w });
      const ca = await a.cas.create({ name: `scaling-w${w}`, subject: `CN=Scaling W${w}`, keyType: 'ec-p256' }, admin);
      const issue = (i: number) =>
        a.issuance.issueFromCsr({ caId: ca.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' }, admin);
      const side: ScalingSide = {
        workers: w,
        n: 0,
        ms: 0,
        mainUs: 0,
        processUs: 0,
        busyMs: 0,
        jobs: 0,
        workerUs: 0,
        jobMessages: 0,
        answerMessages: 0,
        mainWakeUps: 0,
        workerWakeUps: 0,
        mainWaitUs: 0,
        workerWaitUs: 0,
        threads: [],
      };
      return { a, sideDir, issue, side };
    }),
  );
  for (const { issue } of sides) await countAll(256, 16, issue); // warm-up: workers started, code compiled
  const sideThreads = [...(threadsCpuUs()?.keys() ?? [])].filter((t) => !threadsBeforeSides.has(t));
  for (const { side } of sides) if (side.workers > 1) side.threads = sideThreads;
  for (let round = 0; round < SCALING_ROUNDS; round++) {
    for (const { a, issue, side } of round % 2 ? [...sides].reverse() : sides) {
      const jobs0 = a.describe().workerJobs;
      const messages0 = a.describe().workerMessages;
      const wake0 = threadsWakeUps();
      const waits0 = threadsRunQueueUs();
      const threads0 = threadsCpuUs();
      const main0 = mainThreadCpuUs();
      const proc0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      let issued = side.n;
      const r = await countConcurrent(() => issue(issued++), 16, (SECONDS * 1000) / 2);
      side.ms += performance.now() - t0;
      side.busyMs += performance.eventLoopUtilization(elu0).active;
      const proc = process.cpuUsage(proc0);
      side.processUs += proc.user + proc.system;
      const main1 = mainThreadCpuUs();
      side.mainUs += main0 !== undefined && main1 !== undefined ? main1 - main0 : NaN;
      side.jobs += a.describe().workerJobs - jobs0;
      const messages1 = a.describe().workerMessages;
      side.jobMessages += messages1.jobs - messages0.jobs;
      side.answerMessages += messages1.answers - messages0.answers;
      const wake1 = threadsWakeUps();
      side.mainWakeUps += sumOver([String(process.pid)], wake0, wake1);
      side.workerWakeUps += sumOver(side.threads, wake0, wake1);
      const waits1 = threadsRunQueueUs();
      side.mainWaitUs += sumOver([String(process.pid)], waits0, waits1);
      side.workerWaitUs += sumOver(side.threads, waits0, waits1);
      side.workerUs += sumOver(side.threads, threads0, threadsCpuUs());
      side.n += r.n;
    }
  }
  for (const { a, sideDir, side } of sides) {
    await a.close();
    rmSync(sideDir, { recursive: true, force: true });
    scaling.push(side);
  }
}

const floorJwk = floorOf(floorRounds.jwk);
const floorDer = floorOf(floorRounds.der);
const floorHow = floorJwk.rate >= floorDer.rate ? 'JWK' : 'DER';
const floor = Math.max(floorJwk.rate, floorDer.rate);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const range = (f: { low: number; high: number }) => `median of ${FLOOR_ROUNDS} rounds, ${fmt(f.low)}–${fmt(f.high)}`;
const rows: [string, number, CpuPerCert?][] = [
  [
    `crypto floor, CSR key from its JWK${floorHow === 'JWK' ? ' (THE floor)' : ''} (${range(floorJwk)})`,
    floorJwk.rate,
    floorJwk.cpu,
  ],
  [
    `crypto floor, CSR key through the DER decoder${floorHow === 'DER' ? ' (THE floor)' : ''} (${range(floorDer)})`,
    floorDer.rate,
    floorDer.cpu,
  ],
  ['core: decode CSR + plan + lint + encode + sign (result not verified)', core],
  ['worker job in-process: csr-leaf (compute-jobs.ts)', jobs.rate, jobs.cpu],
  ['full service, SQLite, 1 at a time', full1.rate, full1.cpu],
  ['full service, SQLite, 16 in flight', full16.rate, full16.cpu],
  ['approval of a submitted request (csr-leaf), SQLite, 16 in flight', approved.rate, approved.cpu],
  ['generated-key leaf, ECDSA P-256 (key-leaf), SQLite, 16 in flight', keyLeaves.rate, keyLeaves.cpu],
];
console.log(
  `\nIssuance benchmark (ECDSA P-256, ${SECONDS}s per row, Node ${process.version}, ` +
    `PKIM_WORKERS=${workers ?? 'unset (in-process)'}` +
    `${whenIdle === undefined ? '' : `, BENCH_WRITE_WHEN_IDLE=${whenIdle}`})\n`,
);
console.log(
  '| path | certificates/s | vs floor | main-thread CPU µs/cert | worker threads CPU µs/cert | process CPU µs/cert |',
);
console.log('|---|---:|---:|---:|---:|---:|');
const us = (v: number | undefined) => (v === undefined ? '' : fmt(v));
for (const [name, v, cpu] of rows) {
  const cells = [fmt(v), (v / floor).toFixed(2), us(cpu?.main), us(cpu?.workers), us(cpu?.process)];
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
const best = Math.max(full1.rate, full16.rate);
console.log(
  `\nfull/floor = ${(best / floor).toFixed(2)} (target ≥ 0.70; floor: verify CSR + sign + verify on one core, the ` +
    `CSR key imported from its ${floorHow}, the faster way; the median of ${FLOOR_ROUNDS} rounds of ${FLOOR_MS} ms ` +
    `interleaved with the full-service rows); audit chain verified: ${verified.count} events`,
);
{
  // each full-service row's warm-up beside the row: what a longer run no longer pays (V8's threads compiling)
  const cpuOf = (c: CpuPerCert) =>
    `main ${us(c.main) || '—'} / V8's threads ${us(c.v8) || '—'} / process ${us(c.process)} µs/cert`;
  const line = (name: string, w: Run, row: Run) =>
    `- ${name}: warm-up ${fmt(w.rate)}/s (${fmt(w.n)} certificates), CPU ${cpuOf(w.cpu)}; ` +
    `the counted row ${fmt(row.rate)}/s, CPU ${cpuOf(row.cpu)}`;
  console.log(
    WARMUP_SECONDS > 0
      ? `\nfull-service rows after an uncounted warm-up of ${WARMUP_SECONDS} s each (BENCH_WARMUP_SECONDS), ` +
          `as the row runs, on the same store:\n${line('1 at a time', warm1, full1)}\n` +
          line('16 in flight', warm16, full16)
      : `\nfull-service rows without a warm-up (BENCH_WARMUP_SECONDS=0); V8's threads: ` +
          `${us(full1.cpu.v8) || '—'} (1 at a time), ${us(full16.cpu.v8) || '—'} (16 in flight) µs/cert`,
  );
}
/** mean units per group-commit batch (transaction) between two readings of describe().commits */
const perBatch = (a: typeof commits0, b: typeof commits0) =>
  ((b.units - a.units) / Math.max(1, b.batches - a.batches)).toFixed(1);
/** the batches written at the deadline (held maxDelayMs while announced signatures still ran) between two readings */
const atDeadline = (a: typeof commits0, b: typeof commits0) => {
  const batches = (b.deadlineBatches ?? 0) - (a.deadlineBatches ?? 0);
  const units = (b.deadlineUnits ?? 0) - (a.deadlineUnits ?? 0);
  const share = (100 * units) / Math.max(1, b.units - a.units);
  return `${batches} of ${b.batches - a.batches} batches, ${share.toFixed(0)} % of the units`;
};
console.log(
  `units per commit (mean batch of the store's group commit): ${perBatch(commits0, commits1)} (1 at a time), ` +
    `${perBatch(commits16Start, commits16)} (16 in flight; written at the 2 ms deadline with signatures still ` +
    `running: ${atDeadline(commits16Start, commits16)}); the main thread's event loop idle (waiting for work) ` +
    `${((100 * full16IdleMs) / full16Ms).toFixed(0)} % of the 16-in-flight row, waited for a core ` +
    `${Number.isNaN(full16WaitUs) ? '(no schedstat)' : `${fmt(full16WaitUs / full16.n)} µs/cert`} ` +
    '(runnable, not running)',
);
console.log(
  `the 16-in-flight row's WAL: ${(full16Frames / full16.n).toFixed(2)} frames per certificate (the wal-index's last ` +
    `frame at each part's start and end), ${full16Checkpoints} checkpoints (the WAL restarted) in ${fmt(full16.n)} ` +
    `certificates; the store grown beforehand: ${
      prefill
        ? `${fmt(prefill.n)} certificates (BENCH_PREFILL, 16 in flight, uncounted: ${fmt(prefill.rate)}/s)`
        : 'none (BENCH_PREFILL unset)'
    }`,
);
{
  // the observer's entries of the row are delivered by now (asynchronously): the rows after it ran many turns
  gcObserver.disconnect();
  const inRow = gcPauses.filter((g) => full16Parts.some(([a, b]) => g.start >= a && g.start < b));
  const minor = inRow.filter((g) => g.minor);
  const pauseMs = inRow.reduce((t, g) => t + g.ms, 0);
  const per1000 = (n: number) => ((1000 * n) / full16.n).toFixed(1);
  console.log(
    `GC in the 16-in-flight row (the main thread's pauses, PerformanceObserver 'gc'): ${per1000(minor.length)} ` +
      `scavenges and ${per1000(inRow.length - minor.length)} other collections (mark-compact, incremental marking, ` +
      `weak callbacks) per 1,000 certificates, ${fmt((1000 * pauseMs) / full16.n)} µs/cert of pause ` +
      `(${((100 * pauseMs) / full16Ms).toFixed(1)} % of the row)`,
  );
}
if (workers !== undefined && workers >= 2) {
  const per = (j: number, n: number) => (j / n).toFixed(2);
  const [one, sixteen] = [per(jobs1 - jobs0, full1.n), per(jobs16 - jobs16Start, full16.n)];
  console.log(
    `worker jobs per certificate: ${one} (1 at a time), ${sixteen} (16 in flight); worker threads: ` +
      `${workerThreadCount} (started after the pool's first job: its workers and, run from sources, ` +
      "tsx's module-loader thread of each, idle after start-up)",
  );
  /** messages of jobs and of answers per certificate between two readings of describe().workerMessages */
  const perMessage = (a: typeof messages0, b: typeof messages0, n: number) =>
    `${((b.jobs - a.jobs) / n).toFixed(3)} / ${((b.answers - a.answers) / n).toFixed(3)}`;
  console.log(
    `messages per certificate, jobs / answers: ${perMessage(messages0, messages1, full1.n)} (1 at a time), ` +
      `${perMessage(messages16Start, messages16, full16.n)} (16 in flight)`,
  );
}
if (scaling.length === 2) {
  console.log(
    `\nScaling with the worker count: full service, SQLite, 16 in flight, two fresh authorities alternated ` +
      `(${SCALING_ROUNDS} rounds of ${SECONDS / 2} s each; BENCH_SCALING_ROUNDS)\n`,
  );
  console.log(
    '| PKIM_WORKERS | certificates/s | main-thread CPU µs/cert | worker threads CPU µs/cert | process CPU µs/cert | ' +
      'main thread busy | worker jobs/cert | messages/cert: jobs, answers | wake-ups/cert: main, workers | ' +
      'waited for a core µs/cert: main, workers |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of scaling) {
    const cells = [
      s.workers === 1 ? '1 (in-process)' : `${s.workers} (worker threads)`,
      fmt(s.n / (s.ms / 1000)),
      Number.isNaN(s.mainUs) ? '' : fmt(s.mainUs / s.n),
      s.workers > 1 ? fmt(s.workerUs / s.n) : '',
      fmt(s.processUs / s.n),
      `${((100 * s.busyMs) / s.ms).toFixed(0)} %`,
      (s.jobs / s.n).toFixed(2),
      s.workers > 1 ? `${(s.jobMessages / s.n).toFixed(3)}, ${(s.answerMessages / s.n).toFixed(3)}` : '',
      `${(s.mainWakeUps / s.n).toFixed(3)}${s.workers > 1 ? `, ${(s.workerWakeUps / s.n).toFixed(3)}` : ''}`,
      `${fmt(s.mainWaitUs / s.n)}${s.workers > 1 ? `, ${fmt(s.workerWaitUs / s.n)}` : ''}`,
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  const [w1, w2] = scaling as [ScalingSide, ScalingSide];
  console.log(
    `\nw2/w1 = ${(w2.n / (w2.ms / 1000) / (w1.n / (w1.ms / 1000))).toFixed(2)} (certificates/s with 2 worker threads ` +
      `over in-process; "main thread busy": the share of the row its event loop ran, not waited — the time it waited ` +
      `for a core included, counted apart in the last column: /proc/self/task/*/schedstat)`,
  );
}
