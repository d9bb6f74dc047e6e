// `npx tsx bench/token-check-bench.ts`: the per-call CPU of the token check on a remembered row (auth-service.ts
// authenticateToken, SQLite in a temp data dir) and of the store's cross-connection signals read per request
// (Store.otherCommits: `PRAGMA data_version`; Store.caRowWrites, a counter — it included the PRAGMA before session 20).
// Run it in this tree and in a base worktree, in turns.
//  env: BENCH_N (calls per figure, default 200,000)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';

const N = Number(process.env.BENCH_N ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'pkim-token-check-'));
const authority = await createAuthority({ dataDir: dir, logger: pino({ level: 'silent' }) });
const admin = { id: 'cli:bench', name: 'bench', role: 'admin' as const };
const { token } = await authority.auth.createToken({ name: 'bench', role: 'operator' }, admin);
const store = internalsOf(authority).store as { caRowWrites?: number; otherCommits?: number };

async function perCall(label: string, f: () => unknown) {
  for (let i = 0; i < 20_000; i++) await f();
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await f();
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3 / N;
  const c = process.cpuUsage(cpu);
  console.log(`${label}: ${((c.user + c.system) / N).toFixed(2)} µs CPU, ${wallUs.toFixed(2)} µs wall per call`);
}

console.log(`load ${loadavg()[0]!.toFixed(1)}, ${N} calls each`);
await perCall('authenticateToken, remembered row', () => authority.auth.authenticateToken(token));
await perCall('Store.caRowWrites', () => store.caRowWrites);
if ('otherCommits' in store) await perCall('Store.otherCommits', () => store.otherCommits);
await authority.close();
rmSync(dir, { recursive: true, force: true });
