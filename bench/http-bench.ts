/**
 * `npm run bench:http`: HTTP throughput of `pkim serve` against `cfssl serve`, in ONE run, each server in its own
 * process and the load generator (autocannon, through its API) in another, as a user's clients are.
 *
 *   1. builds the CLI (scripts/build.mjs, like `npm pack`) into node_modules/.cache/pkim-bench-build;
 *   2. measures the two-core node:crypto floor of CSR signing (one worker thread per core: verify the CSR signature
 *      with its key imported from its JWK — the faster way, see npm run bench —, sign the certificate, verify the
 *      result — nothing else);
 *   3. prepares a temp data dir (EC P-256 root, API token, Vault mount + role, SPIFFE trust domain), starts
 *      `pkim serve` on 127.0.0.1:0 (PKIM_RATE_LIMIT=0) and `cfssl serve` (Debian golang-cfssl) with an EC P-256 CA;
 *   4. drives each route with `autocannon -c <connections> -d <seconds>` after a 10 s warm-up (each server, each row,
 *      the same) and prints one table with pkim/cfssl and pkim/floor ratios (the warm-up beside them), and the
 *      server's CPU time per request (all threads / main thread / V8's threads, from /proc on Linux), which moves much
 *      less than req/s on a loaded machine; below it, per signing row, the server's group commit during the row
 *      (units per commit, commits/s, the first unit's wait and the write's ms per commit: the `pkim_store_commit*`
 *      counters of its /metrics, read before and after the row);
 *
 *   env: BENCH_SECONDS=5 BENCH_CONNECTIONS=16 BENCH_FLOOR_SECONDS=3 PKIM_WORKERS (passed to the server),
 *        BENCH_WARMUP_SECONDS=10 (each row's warm-up before its measured seconds, cfssl's as pkim's. Why 10: a
 *        user's server runs warm, and V8 keeps compiling the server's warm functions (TurboFan, on its own threads,
 *        counted in the server's CPU) until it has answered ≈ 4,000–5,000 CSR sign requests: the CPU per request
 *        stops falling there — ≈ 3 s at the idle machine's ≈ 1,500 req/s, 7–12 s at load 12–17 (300–800 req/s).
 *        After 1 s V8's threads were 440–520 µs of a request's 1,430–1,700, after 10 s 50–80 of 920–1,210, and
 *        TurboFan 0.9 % of the row against session 41's 22 %; 10 s is the smallest of 1, 3, 6, 10 s past that
 *        point in every run here (docs/benchmarks-record.md, session 42; until session 41 the default was 1 s:
 *        earlier figures are not comparable with later ones),
 *        BENCH_CPU_CURVE=<s> (the server's CPU per certificate every <s> seconds from each signing row's warm-up
 *        on — all / main / V8's threads —, printed below the table: where the warm-up's plateau is),
 *        BENCH_ONLY=pkim,ocsp (only these rows), BENCH_CPU_PROF_DIR=<dir> (the server runs with --cpu-prof),
 *        BENCH_LOG_LEVEL=warn (the server's PKIM_LOG_LEVEL; its log lines go to a file, as a service's would),
 *        BENCH_PERF_DIR=<dir> (the server runs with --perf-basic-prof and `perf record -e cpu-clock -g` samples it
 *        during each measured row into <dir>/<row>.data, for `perf report -i`: CPU shares not biased by waiting),
 *        BENCH_FLOOR_SECONDS=0 (no floor: for OCSP-only runs),
 *        BENCH_SVID_IDS=256 (the SVID row renews this many SPIFFE IDs in turn, `node/bench-<i>`, each with its own
 *        P-384 key, as a fleet's workloads do; until session 17 it renewed one ID over and over),
 *        PKIM_SPIFFE_KEY_TYPES=ec-p256 PKIM_SPIFFE_CA_KEY_TYPE=ec-p256 (the SVID row with P-256 workload keys and a
 *        P-256 SPIFFE CA, the CSR row's curve: both this process and the server read them; default P-384 both),
 *        BENCH_SERVER_ROOT=<worktree> (the server `pkim serve` is built from that tree's sources, e.g. a base worktree
 *        for an A/B with the same bench and rows; the data dir is still prepared by this tree's authority)
 *   PKIM_JOBS_INTERVAL_MS (the server's background jobs; default here 86400000: a tick, 60 s after start in a
 *        server's default, pre-signs the OCSP responses of every certificate issued since — a P-384 signature per SVID
 *        — and charged seconds of CPU to the rows it fell in): a row a tick of any job ended in is marked ‡ (a long
 *        tick, the OCSP one, may weigh on the rows after it too)
 *   rows (BENCH_ONLY): pkim, cfssl, svid, vault, ocsp (POST, no nonce), ocsp-get (`GET /ocsp/<base64>`, the same
 *        request URL-encoded), ocsp-nonce
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createAuthority } from '@pkim/authority';
import { buildCsr, parseDn, toPem } from '@pkim/core';
import { createVaultBenchRole, prepareBenchDataDir } from './pkim-serve';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const floorSeconds = Number(process.env.BENCH_FLOOR_SECONDS ?? 3);
const svidIds = Number(process.env.BENCH_SVID_IDS ?? 256);
const cores = availableParallelism();
/**
 * PKIM_SPIFFE_KEY_TYPES=ec-p256 (read by this process's authority and the server's): the SVID row's workload keys are
 * P-256; with PKIM_SPIFFE_CA_KEY_TYPE=ec-p256 the SPIFFE CA's too — the row at the CSR row's curve
 */
const svidP256 = process.env.PKIM_SPIFFE_KEY_TYPES?.trim() === 'ec-p256';
const svidCaCurve = process.env.PKIM_SPIFFE_CA_KEY_TYPE?.trim() === 'ec-p256' ? 'P-256' : 'P-384';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function need(bin: string, hint: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${bin} is missing: ${hint}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not answer at ${url} within 20 s`);
}

/** The crypto floor of one CSR → certificate, on `threads` worker threads at once (certificates/s, summed). */
async function cryptoFloor(threads: number): Promise<number> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const c = require('node:crypto');
    const ca = c.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const reqs = [];
    for (let i = 0; i < 64; i++) {
      const k = c.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const info = c.randomBytes(300);
      // the CSR key as its JWK: node:crypto imports it faster than through OpenSSL's DER decoder (npm run bench
      // measures both ways and takes the faster as the floor; the pipeline imports CSR keys the same way)
      const jwk = k.publicKey.export({ format: 'jwk' });
      reqs.push({ jwk, info, sig: c.sign('sha256', info, k.privateKey) });
    }
    const tbs = c.randomBytes(550);
    const end = performance.now() + workerData.ms;
    let n = 0;
    const start = performance.now();
    while (performance.now() < end) {
      const r = reqs[n % reqs.length];
      const key = c.createPublicKey({ key: r.jwk, format: 'jwk' });
      if (!c.verify('sha256', r.info, key, r.sig)) throw new Error('verify');
      const s = c.sign('sha256', tbs, ca.privateKey);
      if (!c.verify('sha256', tbs, ca.publicKey, s)) throw new Error('verify');
      n++;
    }
    parentPort.postMessage(n / ((performance.now() - start) / 1000));
  `;
  const rates = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { ms: floorSeconds * 1000 } });
          w.once('message', (m: number) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0);
}

const load1 = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failures: number;
  /** server CPU time per answered request, µs, all threads and the main (JavaScript) thread alone (Linux only) */
  cpuUs?: number;
  mainCpuUs?: number;
  /** … and V8's platform threads alone (TurboFan compiling, GC's helpers): what a longer warm-up takes away */
  v8CpuUs?: number;
  /** BENCH_CPU_CURVE's table rows: seconds since the warm-up's start, certificates, µs per certificate */
  curveLines?: string[];
  skipped?: boolean;
  /** the server's group commit during the row (its /metrics counters, read before and after): pkim rows only */
  commits?: CommitFigures;
  /** background job runs of the server that ended during the row (pkim rows) */
  jobRuns?: number;
}

/** `pkim_store_commit*` counters of the server's /metrics (Store.commitStats): batches, units, seconds */
interface CommitFigures {
  commits: number;
  units: number;
  waitSeconds: number;
  writeSeconds: number;
}

const COMMIT_METRICS: Record<keyof CommitFigures, string> = {
  commits: 'pkim_store_commits_total',
  units: 'pkim_store_commit_units_total',
  waitSeconds: 'pkim_store_commit_wait_seconds_total',
  writeSeconds: 'pkim_store_commit_write_seconds_total',
};

/**
 * the server's commit counters now, or undefined (a base tree whose server has none: BENCH_SERVER_ROOT), and its
 * background job runs so far (`pkim_background_job_runs_total`, every job and result summed)
 */
async function serverFigures(
  metricsUrl: string | undefined,
): Promise<{ commits: CommitFigures | undefined; jobRuns: number } | undefined> {
  if (!metricsUrl) return undefined;
  const text = await (await fetch(metricsUrl)).text();
  let jobRuns = 0;
  for (const m of text.matchAll(/^pkim_background_job_runs_total\{[^}]*\} (\S+)$/gm)) jobRuns += Number(m[1]);
  return { commits: commitFiguresOf(text), jobRuns };
}

function commitFiguresOf(text: string): CommitFigures | undefined {
  const out: Partial<CommitFigures> = {};
  for (const [k, name] of Object.entries(COMMIT_METRICS) as [keyof CommitFigures, string][]) {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!m) return undefined;
    out[k] = Number(m[1]);
  }
  return out as CommitFigures;
}

/**
 * CPU time a process has used, ms: all its threads, its main thread (the task whose id is the pid), and V8's platform
 * threads (TurboFan's compiles, GC's helpers: in Node 20 the platform's five threads, its four workers and their
 * delayed-task thread, are the first started after the main thread — the five next tids in order, not pid + 1…5: other
 * processes take tids in between; libuv's pool starts later, at its first job), from
 * /proc/<pid>/task/<tid>/stat (utime + stime in clock ticks, assumed 100 Hz). CPU per request moves much less with
 * the machine's load than requests per second do, so it shows per-request waste on a shared machine.
 */
function cpuMs(pid: number | undefined): { all: number; main: number; v8: number } | undefined {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  let all = 0;
  let main = 0;
  let v8 = 0;
  try {
    const tids = readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .sort((a, b) => a - b);
    for (const [i, tid] of tids.entries()) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // a thread that ended meanwhile
      }
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(f[11]) + Number(f[12])) * 10;
      all += ms;
      if (tid === pid) main = ms;
      else if (i <= 5) v8 += ms;
    }
  } catch {
    return undefined;
  }
  return { all, main, v8 };
}

/** BENCH_CPU_CURVE=<s>: the server's CPU per certificate every <s> seconds from the warm-up's start (pkim rows) */
const curveStep = Number(process.env.BENCH_CPU_CURVE ?? 0);

/**
 * samples the server's CPU (cpuMs) and its certificates so far (the commit units of its /metrics) every curveStep
 * seconds until `stop`; a step's µs per certificate: its CPU over its units (all / main / V8's platform threads)
 */
function cpuCurve(pid: number, metricsUrl: string): { stop: () => Promise<string[]> } {
  const points: { t: number; units: number; cpu: { all: number; main: number; v8: number } }[] = [];
  const t0 = performance.now();
  const sample = async () => {
    const f = await serverFigures(metricsUrl);
    const cpu = cpuMs(pid);
    if (f?.commits && cpu) points.push({ t: (performance.now() - t0) / 1000, units: f.commits.units, cpu });
  };
  let timer: NodeJS.Timeout | undefined;
  const first = sample().then(() => {
    timer = setInterval(() => void sample(), curveStep * 1000);
  });
  return {
    stop: async () => {
      await first;
      clearInterval(timer);
      await sample();
      const lines: string[] = [];
      for (let i = 1; i < points.length; i++) {
        const [a, b] = [points[i - 1]!, points[i]!];
        const n = b.units - a.units;
        if (n <= 0) continue;
        const us = (k: 'all' | 'main' | 'v8') => Math.round(((b.cpu[k] - a.cpu[k]) * 1000) / n);
        const total = b.units - points[0]!.units;
        lines.push(`| ${b.t.toFixed(0)} | ${n} | ${total} | ${us('all')} | ${us('main')} | ${us('v8')} |`);
      }
      return lines;
    },
  };
}

interface Target {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body: string | Buffer;
  /** bodies sent in turn instead of `body` (each connection takes the next one for its next request) */
  bodies?: string[];
}

let bodyCount = 0;
/**
 * autocannon in its own process, through its API rather than its CLI: the CLI reads `-i <file>` as UTF-8, which
 * garbles a binary body (a DER OCSP request became a malformedRequest answer, so the OCSP rows measured errors until
 * this was noticed). The runner reads the body as bytes and prints the same JSON result as `autocannon -j`.
 */
const RUNNER = `
const autocannon = require(process.argv[1]);
const fs = require('node:fs');
const o = JSON.parse(process.argv[2]);
const bodies = o.bodiesFile ? JSON.parse(fs.readFileSync(o.bodiesFile, 'utf8')) : undefined;
let next = 0;
const turn = (req) => ({ ...req, body: bodies[next++ % bodies.length] });
const turns = bodies ? { requests: [{ setupRequest: turn }] } : {};
autocannon({ ...o, body: fs.readFileSync(o.bodyFile), ...turns }, (err, r) => {
  if (err) { console.error(err); process.exit(1); }
  process.stdout.write(JSON.stringify(r));
});`;
async function load(dir: string, t: Target, duration: number): Promise<LoadResult> {
  const bodyFile = join(dir, `body-${bodyCount++}`);
  writeFileSync(bodyFile, t.body);
  const bodiesFile = t.bodies ? `${bodyFile}.json` : undefined;
  if (bodiesFile) writeFileSync(bodiesFile, JSON.stringify(t.bodies));
  const opts = {
    ...{ url: t.url, connections, duration, method: t.method ?? 'POST', headers: t.headers ?? {} },
    ...{ bodyFile, bodiesFile },
  };
  const args = ['-e', RUNNER, join(ROOT, 'node_modules/autocannon'), JSON.stringify(opts)];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`autocannon exited ${code}: ${stderr.slice(-500)}`)),
    );
  });
  const r = JSON.parse(out) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    failures: r.non2xx + r.errors + r.timeouts,
  };
}

const perfDir = process.env.BENCH_PERF_DIR;

/** `perf record` of the process while `work` runs (BENCH_PERF_DIR), else just `work` */
async function perfRecord<T>(name: string, pid: number | undefined, work: () => Promise<T>): Promise<T> {
  if (!perfDir || pid === undefined) return work();
  mkdirSync(perfDir, { recursive: true }); // perf exits at once without it, and its 'exit' below never came (a hang)
  const args = ['record', '-q', '-e', 'cpu-clock', '-g', '-p', String(pid), '-o', join(perfDir, `${name}.data`)];
  const perf = spawn('perf', args, { stdio: 'ignore' });
  try {
    return await work();
  } finally {
    await new Promise((r) => {
      perf.once('exit', r);
      perf.kill('SIGINT');
    });
  }
}

async function measure(
  dir: string,
  name: string,
  t: Target,
  serverPid?: number,
  metricsUrl?: string,
): Promise<LoadResult> {
  const curve = curveStep > 0 && serverPid !== undefined && metricsUrl ? cpuCurve(serverPid, metricsUrl) : undefined;
  await load(dir, t, warmupSeconds); // warm-up: JIT, caches, connection set-up
  // the commit counters are read outside the CPU window (a scrape costs the server's main thread too)
  const figures0 = await serverFigures(metricsUrl);
  const before = cpuMs(serverPid);
  const r = await perfRecord(name, serverPid, () => load(dir, t, seconds));
  const after = cpuMs(serverPid);
  const figures1 = await serverFigures(metricsUrl);
  const curveLines = await curve?.stop();
  const commits0 = figures0?.commits;
  const commits1 = figures1?.commits;
  // a background job tick (every PKIM_JOBS_INTERVAL_MS, 60 s by default: e.g. the OCSP responses of every certificate
  // issued since the last one pre-signed) that ended during the row: its CPU is in the row's figures
  const jobRuns = figures0 && figures1 ? figures1.jobRuns - figures0.jobRuns : undefined;
  const commits =
    commits0 && commits1
      ? {
          commits: commits1.commits - commits0.commits,
          units: commits1.units - commits0.units,
          waitSeconds: commits1.waitSeconds - commits0.waitSeconds,
          writeSeconds: commits1.writeSeconds - commits0.writeSeconds,
        }
      : undefined;
  if (!before || !after || r.requests === 0) return { ...r, commits, jobRuns, curveLines };
  // threads that ended during the row (a restarted worker) are not counted: a lower bound then
  return {
    ...r,
    commits,
    jobRuns,
    curveLines,
    cpuUs: Math.round(((after.all - before.all) * 1000) / r.requests),
    mainCpuUs: Math.round(((after.main - before.main) * 1000) / r.requests),
    // Go's threads in cfssl's row are not V8's: its figure only for the pkim server (its rows read /metrics)
    v8CpuUs: metricsUrl ? Math.round(((after.v8 - before.v8) * 1000) / r.requests) : undefined,
  };
}

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'pkim-http-bench-'));
// one SIGTERM each: the server handles the first (graceful close, then exit, when --cpu-prof writes its profile); a
// second one would find no handler and kill it before the profile is written
const stop = () => {
  for (const c of children) if (c.exitCode === null && !c.killed) c.kill('SIGTERM');
};
process.once('exit', stop);

try {
  need('cfssl', 'install the Debian package golang-cfssl (scripts/install-test-peers.sh)');
  need('openssl', 'install openssl');
  const serverRoot = process.env.BENCH_SERVER_ROOT ?? ROOT;
  const buildDir = join(
    ROOT,
    'node_modules/.cache',
    serverRoot === ROOT ? 'pkim-bench-build' : 'pkim-bench-build-other',
  );
  mkdirSync(buildDir, { recursive: true });
  const { buildBundle } = (await import(join(serverRoot, 'scripts/build.mjs'))) as {
    buildBundle: (outDir: string, opts?: { web?: boolean }) => Promise<string>;
  };
  const bin = await buildBundle(buildDir);

  // 1. the floor, while nothing else of this run is busy (again at the end: the mean of both is printed, since
  //    the machine's load changes during a run)
  const floorBefore = floorSeconds > 0 ? await cryptoFloor(cores) : 0;

  // 2. the data dir, prepared in-process, then served by `pkim serve` in its own process
  const dataDir = join(dir, 'data');
  // the SPIFFE CA's key type is this authority's (spiffe.init below): its settings come from `env`, never process.env
  const spiffeEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PKIM_SPIFFE_')));
  const { root, token, spiffeToken } = await prepareBenchDataDir(
    await createAuthority({ dataDir, logger: pino({ level: 'silent' }), env: spiffeEnv }),
    'bench',
  );

  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  const serverStderr: 'inherit' | number = logLevel === 'warn' ? 'inherit' : openSync(join(dir, 'server.log'), 'w');
  const profDir = process.env.BENCH_CPU_PROF_DIR; // the server writes a .cpuprofile there when it stops
  const server = spawn(
    process.execPath,
    [
      ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
      ...(perfDir ? ['--perf-basic-prof'] : []),
      bin,
      'serve',
      '--port',
      '0',
      '--json',
      '--data-dir',
      dataDir,
    ],
    {
      env: {
        // the background jobs' ticks (every minute: the OCSP responses of every new certificate pre-signed) off the
        // rows unless asked for: a tick in a row charged it seconds of CPU (docs/benchmarks-record.md session 28)
        PKIM_JOBS_INTERVAL_MS: '86400000',
        ...process.env,
        PKIM_LOG_LEVEL: logLevel,
        PKIM_RATE_LIMIT: '0',
        PKIM_RATE_LIMIT_RELYING_PARTY: '0',
      },
      // at warn a terminal shows the few lines; at info (a line per request) they go to a file, as a service's do
      stdio: ['ignore', 'pipe', serverStderr],
    },
  );
  children.push(server);
  const serverStdout = server.stdout;
  if (!serverStdout) throw new Error('pkim serve has no stdout pipe');
  const base = await new Promise<string>((resolve, reject) => {
    let buf = '';
    serverStdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    server.once('exit', (code) => reject(new Error(`pkim serve exited with ${code}`)));
  });

  // CSRs and the cfssl CA, made by openssl
  const csrFor = (name: string, subj: string, san: string) => {
    openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.csr`),
      '-subj',
      subj,
      '-addext',
      `subjectAltName=${san}`,
    ]);
    return readFileSync(join(dir, `${name}.csr`), 'utf8');
  };
  const csr = csrFor('leaf', '/CN=bench.example.test', 'DNS:bench.example.test');
  // the SVID row: a fleet of workloads, each its own SPIFFE ID and P-384 key (CSRs built here: one openssl run each
  // would take seconds)
  const svidBodies: string[] = [];
  for (let i = 1; i <= svidIds; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: svidP256 ? 'prime256v1' : 'secp384r1' });
    const der = await buildCsr(
      {
        subject: parseDn('O=workload'),
        sans: { uri: [`spiffe://bench.test/node/bench-${i}`] },
        publicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
        keyType: svidP256 ? 'ec-p256' : 'ec-p384',
      },
      (d) => new Uint8Array(sign(svidP256 ? 'sha256' : 'sha384', d, privateKey)),
    );
    const csrPem = toPem(der, 'CERTIFICATE REQUEST');
    svidBodies.push(JSON.stringify({ csrPem, serviceType: 'node', instanceId: `bench-${i}` }));
  }
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'cfssl-ca-key.pem')]);
  openssl([
    'req',
    '-new',
    '-x509',
    '-key',
    join(dir, 'cfssl-ca-key.pem'),
    '-out',
    join(dir, 'cfssl-ca.pem'),
    '-days',
    '3650',
    '-subj',
    '/CN=Bench cfssl CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(
    join(dir, 'cfssl.json'),
    JSON.stringify({
      signing: { default: { expiry: '720h', usages: ['digital signature', 'key encipherment', 'server auth'] } },
    }),
  );
  const cfsslPort = await freePort();
  const cfssl = spawn(
    'cfssl',
    [
      'serve',
      '-address',
      '127.0.0.1',
      '-port',
      String(cfsslPort),
      '-ca',
      join(dir, 'cfssl-ca.pem'),
      '-ca-key',
      join(dir, 'cfssl-ca-key.pem'),
      '-config',
      join(dir, 'cfssl.json'),
      '-loglevel',
      '5',
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  children.push(cfssl);
  const cfsslBase = `http://127.0.0.1:${cfsslPort}`;
  await waitUntilUp(`${cfsslBase}/api/v1/cfssl/info`, cfssl, 'cfssl serve');

  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  await createVaultBenchRole(base, token);

  // one request of each kind by hand first: a benchmark of error answers would be worthless
  const targets: Record<string, Target> = {
    pkim: {
      url: `${base}/api/v1/cas/${root.ca.id}/sign`,
      headers: auth,
      body: JSON.stringify({ csr, profile: 'tls-server', ttl: '30d' }),
    },
    cfssl: {
      url: `${cfsslBase}/api/v1/cfssl/sign`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ certificate_request: csr }),
    },
    svid: {
      url: `${base}/pki/csr/sign`,
      headers: { authorization: `Bearer ${spiffeToken}`, 'content-type': 'application/json' },
      body: svidBodies[0]!,
      bodies: svidBodies,
    },
    vault: {
      url: `${base}/v1/pki/sign/web`,
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ csr, common_name: 'bench.example.test', ttl: '720h' }),
    },
  };
  for (const [name, t] of Object.entries(targets)) {
    const r = await fetch(t.url, { method: 'POST', headers: t.headers, body: t.body });
    if (!r.ok) throw new Error(`${name}: ${r.status} ${(await r.text()).slice(0, 300)}`);
  }
  const leafPem = (
    (await (await fetch(targets.pkim!.url, { ...targets.pkim, method: 'POST' })).json()) as {
      certificate: string;
    }
  ).certificate;
  writeFileSync(join(dir, 'leaf.pem'), leafPem);
  writeFileSync(join(dir, 'ca.pem'), root.certificatePem!);
  const ocspReq = (name: string, nonce: boolean) => {
    openssl([
      'ocsp',
      '-issuer',
      join(dir, 'ca.pem'),
      '-cert',
      join(dir, 'leaf.pem'),
      '-reqout',
      join(dir, name),
      ...(nonce ? [] : ['-no_nonce']),
    ]);
    return readFileSync(join(dir, name));
  };
  const ocspHeaders = { 'content-type': 'application/ocsp-request' };
  const ocspNoNonce = { url: `${base}/ocsp`, headers: ocspHeaders, body: ocspReq('req.der', false) };
  const ocspNonce = { url: `${base}/ocsp`, headers: ocspHeaders, body: ocspReq('req-nonce.der', true) };
  const ocspGet: Target = {
    url: `${base}/ocsp/${encodeURIComponent(ocspNoNonce.body.toString('base64'))}`,
    method: 'GET',
    body: '',
  };
  // what the OCSP rows measure must be real answers: each request once, its response verified by openssl
  for (const [name, t] of [
    ['resp.der', ocspNoNonce],
    ['resp-get.der', ocspGet],
    ['resp-nonce.der', ocspNonce],
  ] as [string, Target][]) {
    const r = await fetch(t.url, t.body ? { method: 'POST', headers: t.headers, body: t.body } : {});
    writeFileSync(join(dir, name), Buffer.from(await r.arrayBuffer()));
    const text = execFileSync(
      'openssl',
      ['ocsp', '-respin', join(dir, name), '-issuer', join(dir, 'ca.pem'), '-CAfile', join(dir, 'ca.pem')].concat([
        '-no_nonce',
        '-cert',
        join(dir, 'leaf.pem'),
      ]),
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (!text.includes(': good')) throw new Error(`OCSP answer for ${name} is not a verified "good": ${text}`);
  }

  // BENCH_ONLY=pkim (comma-separated row names: pkim,cfssl,svid,vault,ocsp,ocsp-get,ocsp-nonce) skips the other rows
  const only = process.env.BENCH_ONLY?.split(',');
  const skipped: LoadResult = { rps: 0, p50: 0, p99: 0, requests: 0, failures: 0, skipped: true };
  const maybe = (name: string, t: Target, pid: number | undefined, metricsUrl?: string) =>
    !only || only.includes(name) ? measure(dir, name, t, pid, metricsUrl) : skipped;
  // the signing rows' commit batches, from the server's /metrics
  const metricsUrl = `${base}/metrics`;
  const pkim = await maybe('pkim', targets.pkim!, server.pid, metricsUrl);
  const cf = await maybe('cfssl', targets.cfssl!, cfssl.pid);
  const svid = await maybe('svid', targets.svid!, server.pid, metricsUrl);
  const vault = await maybe('vault', targets.vault!, server.pid, metricsUrl);
  const o1 = await maybe('ocsp', ocspNoNonce, server.pid, metricsUrl);
  const oGet = await maybe('ocsp-get', ocspGet, server.pid, metricsUrl);
  const o2 = await maybe('ocsp-nonce', ocspNonce, server.pid, metricsUrl);
  stop();
  const floorAfter = floorSeconds > 0 ? await cryptoFloor(cores) : 0;
  const floor = (floorBefore + floorAfter) / 2;

  // a skipped row has no figure: its ratios are '—', never 0.00
  const ratio = (a: LoadResult | number, b: LoadResult | number) => {
    const x = typeof a === 'number' ? a : a.skipped ? 0 : a.rps;
    const y = typeof b === 'number' ? b : b.skipped ? 0 : b.rps;
    return x > 0 && y > 0 ? (x / y).toFixed(2) : '—';
  };
  const cpu = (r: LoadResult) => (r.cpuUs === undefined ? '' : `${r.cpuUs} / ${r.mainCpuUs} / ${r.v8CpuUs ?? '—'}`);
  const row = (name: string, r: LoadResult, vsCfssl: boolean) =>
    r.skipped
      ? undefined
      : `| ${name}${r.jobRuns ? ' ‡' : ''} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.failures} | ${cpu(r)} | ` +
        `${vsCfssl ? ratio(r, cf) : '—'} | ${ratio(r.rps, floor)} |`;
  const lines = [
    '',
    `HTTP bench: ${seconds} s per row after a ${warmupSeconds} s warm-up, ${connections} connections, ` +
      `autocannon in its own process, Node ${process.version}, ${cores} cores, ` +
      `PKIM_WORKERS=${process.env.PKIM_WORKERS ?? '(default)'}, ` +
      `PKIM_LOG_LEVEL=${logLevel}, ` +
      `load average ${load1()} at the end`,
    '',
    "| route | req/s | p50 ms | p99 ms | failures | server CPU µs/req (all / main thread / V8's threads) | vs cfssl " +
      '| vs floor |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    `| node:crypto floor, ${cores} threads (verify CSR + sign + verify; mean of ` +
      `${Math.round(floorBefore)} before and ${Math.round(floorAfter)} after) | ${Math.round(floor)} ` +
      '| | | | | | 1.00 |',
    row('cfssl serve: `POST /api/v1/cfssl/sign` (Go, no database, no lint)', cf, true),
    row('pkim: `POST /api/v1/cas/:id/sign` (CSR → certificate)', pkim, true),
    row(
      `pkim: \`POST /pki/csr/sign\` (SPIFFE SVID, ${svidP256 ? 'P-256' : 'P-384'} key, ${svidCaCurve} CA; ` +
        `${svidIds} SPIFFE IDs in turn)`,
      svid,
      true,
    ),
    row('pkim: `POST /v1/pki/sign/:role` (Vault `sign`)', vault, true),
    row('pkim: `POST /ocsp`, no nonce', o1, false),
    row('pkim: `GET /ocsp/<base64>`, no nonce', oGet, false),
    row('pkim: `POST /ocsp`, with nonce', o2, false),
    '',
    `pkim / cfssl (CSR signing) = ${ratio(pkim, cf)} (target ≥ 1.0; both after a ${warmupSeconds} s warm-up); ` +
      `pkim / floor = ${ratio(pkim.skipped ? 0 : pkim.rps, floor)}; ` +
      `OCSP (no nonce) / sign = ${ratio(o1, pkim)} (target ≥ 10)` +
      (pkim.cpuUs !== undefined && cf.cpuUs !== undefined
        ? `; server CPU per request pkim / cfssl = ${(pkim.cpuUs / cf.cpuUs).toFixed(2)}`
        : ''),
  ].filter((l) => l !== undefined);
  // the server's group commit per signing row: units per transaction, transactions per second, and per transaction
  // the ms its first unit waited (held for signatures, or behind the previous write) and the write's ms on the main
  // thread (SQLite: the transaction and the settling of its units)
  const commitLine = (name: string, r: LoadResult) => {
    const c = r.commits;
    if (r.skipped || !c || c.commits <= 0) return undefined;
    return (
      `- ${name}: ${(c.units / c.commits).toFixed(1)} units per commit, ${Math.round(c.commits / seconds)} ` +
      `commits/s; per commit: first unit waited ${((1000 * c.waitSeconds) / c.commits).toFixed(2)} ms, ` +
      `write ${((1000 * c.writeSeconds) / c.commits).toFixed(2)} ms (${Math.round((1e6 * c.writeSeconds) / c.units)} ` +
      `µs per unit; writing ${((100 * c.writeSeconds) / seconds).toFixed(0)} % of the row)`
    );
  };
  const commitLines = [
    commitLine('CSR sign', pkim),
    commitLine('SVID', svid),
    commitLine('Vault `sign`', vault),
  ].filter((l) => l !== undefined);
  if (commitLines.length) lines.push('', "The server's group commit (its /metrics, during each row):", ...commitLines);
  for (const [name, r] of [
    ['CSR sign', pkim],
    ['SVID', svid],
    ['Vault `sign`', vault],
  ] as const)
    if (r.curveLines?.length)
      lines.push(
        '',
        `${name}: the server's CPU every ${curveStep} s from the warm-up's start (${warmupSeconds} s, then the ` +
          `${seconds} s row; BENCH_CPU_CURVE)`,
        '',
        "| s | certificates | since the start | µs/cert all | main thread | V8's threads |",
        '|---:|---:|---:|---:|---:|---:|',
        ...r.curveLines,
      );
  if ([pkim, svid, vault, o1, oGet, o2].some((r) => r.jobRuns))
    lines.push(
      '',
      "‡ a tick of the server's background jobs ended during this row (PKIM_JOBS_INTERVAL_MS was set): its CPU is in " +
        "this row's figures, and a long one (the OCSP responses of every new certificate pre-signed) in the next rows'",
    );
  console.log(lines.join('\n'));
  const failures = [pkim, cf, svid, vault, o1, oGet, o2].reduce((a, r) => a + r.failures, 0);
  if (failures > 0) console.log(`WARNING: ${failures} failed requests: the figures above count only answers`);
} finally {
  stop();
  await Promise.all(
    children.map(
      (c) =>
        new Promise((r) => {
          if (c.exitCode !== null || c.signalCode !== null) r(undefined);
          else {
            c.once('exit', r);
            setTimeout(r, 5000).unref();
          }
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}
