// `npm run bench:group-commit`: what the group commit's hold (packages/store/src/group-commit.ts) does to full
// issuance — CSR → worker job → commit, PKIM_WORKERS worker threads (default 2), BENCH_IN_FLIGHT concurrent
// requests (default 16) — against the previous policy, where a batch was written at the first look (the turn after
// its units arrived, as with maxDelayMs 0). One authority per policy in this process, run in turns (BENCH_ROUNDS
// rounds of BENCH_ROUND_MS each) so a shared, loaded machine affects them alike. Prints certificates/s, process and
// main-thread CPU µs per certificate, and the mean units per commit (Store.commitStats).
//  env: BENCH_ENGINE=sqlite|postgres (postgres: a throwaway cluster, fsync on), BENCH_DELAYS (maxDelayMs values,
//  default "0,2"; 0 = the previous policy), BENCH_ROUNDS (default 8), BENCH_ROUND_MS (default 1500)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import 'reflect-metadata';
import { createAuthority, type Authority } from '@pkim/authority';
import type { GroupCommitPolicy } from '@pkim/store';
import { startPostgres, type TestPostgres } from '../tests/support/postgres';
import { hostCsrs } from './host-csrs';

const ENGINE = process.env.BENCH_ENGINE ?? 'sqlite';
/** a policy per entry: maxDelayMs, then `b` and maxBatch (default 32), then `i` for writeWhenIdle: `2`, `2b8`, `2i` */
const POLICIES = (process.env.BENCH_DELAYS ?? '0,2').split(',').map((p) => {
  const m = /^(\d+(?:\.\d+)?)(?:b(\d+))?(i)?$/.exec(p.trim());
  if (!m) throw new Error(`BENCH_DELAYS: '${p}' is not <ms>[b<max batch>][i]`);
  const policy: GroupCommitPolicy = { maxBatch: m[2] ? Number(m[2]) : 32, maxDelayMs: Number(m[1]) };
  if (m[3]) policy.writeWhenIdle = true;
  return { name: p.trim(), policy };
});
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1500);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 16);
const WORKERS = Number(process.env.PKIM_WORKERS ?? 2);
const admin = { id: 'bench', role: 'admin' as const };

const csrs = (await hostCsrs(128)).map((c) => c.pem);

/** CPU time of the main thread in µs (Linux /proc/self/task/<pid>/stat, clock ticks of 1/100 s) */
function mainThreadCpuUs(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
}

const dir = mkdtempSync(join(tmpdir(), 'pkim-group-commit-bench-'));
const cluster: TestPostgres | undefined = ENGINE === 'postgres' ? await startPostgres() : undefined;
const runs: { name: string; policy: GroupCommitPolicy; authority: Authority; caId: string }[] = [];
for (const [i, { name, policy }] of POLICIES.entries()) {
  const authority = await createAuthority({
    dataDir: join(dir, `p${i}`),
    databaseUrl: cluster ? await cluster.createDatabase() : undefined,
    logger: pino({ level: 'silent' }),
    workers: WORKERS,
    groupCommit: policy,
  });
  const root = await authority.cas.create({ name: 'root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, admin);
  runs.push({ name, policy, authority, caId: root.ca.id });
}

interface Sum {
  certs: number;
  ms: number;
  cpu: number;
  main: number;
  batches: number;
  units: number;
  /** ms the main thread's event loop waited in its poll phase (performance.eventLoopUtilization: idle) */
  idle: number;
}
const sums = new Map<string, Sum>(
  POLICIES.map((p) => [p.name, { certs: 0, ms: 0, cpu: 0, main: 0, batches: 0, units: 0, idle: 0 }]),
);
const load0 = loadavg()[0]!;
for (let round = 0; round <= ROUNDS; round++) {
  for (const { name, authority, caId } of runs) {
    const c0 = authority.describe().commits;
    const [cpu0, main0, elu0] = [process.cpuUsage(), mainThreadCpuUs(), performance.eventLoopUtilization()];
    const start = performance.now();
    let n = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < start + ROUND_MS) {
          const csrPem = csrs[n++ % csrs.length]!;
          await authority.issuance.issueFromCsr({ caId, csrPem, profile: 'tls-server' }, admin);
        }
      }),
    );
    if (round === 0) continue; // warm-up
    const cpu = process.cpuUsage(cpu0);
    const c1 = authority.describe().commits;
    const s = sums.get(name)!;
    s.idle += performance.eventLoopUtilization(elu0).idle;
    s.certs += n;
    s.ms += performance.now() - start;
    s.cpu += cpu.user + cpu.system;
    s.main += mainThreadCpuUs() - main0;
    s.batches += c1.batches - c0.batches;
    s.units += c1.units - c0.units;
  }
}
const load1 = loadavg()[0]!;

console.log(
  `\nGroup commit hold, full issuance (CSR, ECDSA P-256), ${ENGINE}, PKIM_WORKERS=${WORKERS}, ` +
    `${IN_FLIGHT} in flight, ${ROUNDS} rounds of ${ROUND_MS} ms per policy in turns; ` +
    `load ${load0.toFixed(1)} → ${load1.toFixed(1)}\n`,
);
console.log(
  '| policy | certificates/s | process CPU µs/cert | main-thread CPU µs/cert | units per commit | main thread idle |',
);
console.log('|---|---:|---:|---:|---:|---:|');
const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
for (const { name, policy: p } of POLICIES) {
  const s = sums.get(name)!;
  const idle = p.writeWhenIdle ? ', written in an idle turn' : '';
  const held = `held ≤ ${p.maxDelayMs} ms, ≤ ${p.maxBatch} units${idle}`;
  const policy = p.maxDelayMs === 0 ? 'written at the first look' : held;
  console.log(
    `| ${policy} | ${fmt((s.certs / s.ms) * 1000)} | ${fmt(s.cpu / s.certs)} | ${fmt(s.main / s.certs)} | ` +
      `${(s.units / Math.max(1, s.batches)).toFixed(1)} | ${((100 * s.idle) / s.ms).toFixed(0)} % |`,
  );
}
for (const { authority } of runs) {
  if (!(await authority.audit.verify()).ok) throw new Error('audit chain broken after the bench');
  await authority.close();
}
await cluster?.stop();
rmSync(dir, { recursive: true, force: true });
