// `npx tsx bench/worker-threads-bench.ts`: the CPU of each thread per certificate while the full service issues from
// CSRs (ECDSA P-256, tls-server, SQLite, 16 in flight) with a worker pool — main thread, the worker threads (per
// worker job) and the rest (V8's background threads: GC, compilers; libuv) — read from /proc/self/task/*/stat
// (Linux), in rounds after a warm-up. The worker threads are taken to be the PKIM_WORKERS busiest threads besides
// the main thread (the pool's threads are not named; V8's background threads use far less). What `npm run bench`
// prints as one process figure, split by thread (issue #12: where a worker's time goes).
//  env: BENCH_SECONDS (per round, default 4), BENCH_ROUNDS (default 3), PKIM_WORKERS (default 2)
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import { hostCsrs } from './host-csrs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = Number(process.env.PKIM_WORKERS ?? 2);
const admin = { id: 'bench', role: 'admin' as const };

const csrs = (await hostCsrs(256)).map((c) => c.pem);

/** CPU µs of each thread of this process (utime + stime, clock ticks of 1/100 s) */
function threadCpu(): Map<string, number> {
  const m = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      m.set(tid, ((Number(f[11]) + Number(f[12])) * 1e6) / 100);
    } catch {
      // the thread ended
    }
  }
  return m;
}

const dir = mkdtempSync(join(tmpdir(), 'pkim-threads-'));
const authority = await createAuthority({ dataDir: dir, logger: pino({ level: 'silent' }), workers: WORKERS });
const root = await authority.cas.create({ name: 'bench-root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, admin);
const issue = (i: number) =>
  authority.issuance.issueFromCsr({ caId: root.ca.id, csrPem: csrs[i % 256]!, profile: 'tls-server' }, admin);

/** issues 16 at a time for `seconds`; returns how many */
async function run(seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const loop = async () => {
    while (performance.now() < end) await issue(n++);
  };
  await Promise.all(Array.from({ length: 16 }, loop));
  return n;
}

await run(1.5); // warm-up: the workers start, TurboFan compiles
const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
console.log(
  `\nCPU per certificate by thread (full service, SQLite, 16 in flight, PKIM_WORKERS=${WORKERS}, ` +
    `${SECONDS}s rounds, Node ${process.version})\n`,
);
console.log(
  '| round | certificates/s | process µs/cert | main thread µs/cert | workers µs/job | other threads µs/cert |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (let round = 1; round <= ROUNDS; round++) {
  const t0 = threadCpu();
  const p0 = process.cpuUsage();
  const j0 = authority.describe().workerJobs;
  const start = performance.now();
  const n = await run(SECONDS);
  const rate = n / ((performance.now() - start) / 1000);
  const p = process.cpuUsage(p0);
  const jobs = authority.describe().workerJobs - j0;
  const t1 = threadCpu();
  const used = [...t1].map(([tid, us]) => ({ tid, us: us - (t0.get(tid) ?? 0) }));
  const main = used.find((t) => t.tid === String(process.pid))?.us ?? 0;
  const workers = used
    .filter((t) => t.tid !== String(process.pid))
    .sort((a, b) => b.us - a.us)
    .slice(0, WORKERS)
    .reduce((s, t) => s + t.us, 0);
  const all = p.user + p.system;
  console.log(
    `| ${round} | ${fmt(rate)} | ${fmt(all / n)} | ${fmt(main / n)} | ${fmt(workers / Math.max(1, jobs))} | ` +
      `${fmt((all - main - workers) / n)} |`,
  );
}
await authority.close();
rmSync(dir, { recursive: true, force: true });
