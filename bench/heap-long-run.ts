/**
 * `npx tsx bench/heap-long-run.ts`: does the server's JavaScript heap grow per certificate? (docs/benchmarks-record.md,
 * session 44). Builds the CLI, prepares a data dir (EC P-256 root, admin token, Vault mount + role, SPIFFE trust
 * domain), starts `pkim serve` on 127.0.0.1:0 (PKIM_WORKERS=2 unless set, PKIM_RATE_LIMIT=0, background jobs at
 * their default interval, `--heapsnapshot-signal=SIGUSR2`), then drives it from this process with autocannon: CSR
 * signs (REST), Vault `sign` and SVID signs in turn on every connection, and one certificate in REVOKE_EVERY revoked
 * (REST `certificates.revoke`) as the answers come. At each checkpoint (HEAP_AT, certificates) it waits for the
 * server to be idle, sends SIGUSR2 (V8 collects all garbage before it writes a snapshot) and reads the server's
 * /metrics (heap used, GC seconds by kind) and /proc RSS.
 *
 *   env: HEAP_AT=10000,60000 HEAP_CONNECTIONS=16 REVOKE_EVERY=10 HEAP_DIR=<dir> (snapshots; default a temp dir, kept)
 *        HEAP_SNAPSHOTS=0 (none: the RSS of a run without them — writing one grows the server's RSS by ≈ 100 MB)
 *   then: node bench/heapsnapshot-diff.mjs <a.heapsnapshot> <b.heapsnapshot> (by constructor, with retainer paths)
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { generateKeyPairSync, sign } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import { buildCsr, parseDn, toPem } from '@pkim/core';
import { createVaultBenchRole, prepareBenchDataDir } from './pkim-serve';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** autocannon's API, as far as this script uses it (the package has no types) */
interface AutocannonResult {
  requests: { total: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: object) => Promise<AutocannonResult>;
const checkpoints = (process.env.HEAP_AT ?? '10000,60000').split(',').map(Number);
const connections = Number(process.env.HEAP_CONNECTIONS ?? 16);
const revokeEvery = Number(process.env.REVOKE_EVERY ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'pkim-heap-'));
const heapDir = process.env.HEAP_DIR ?? join(dir, 'snapshots');
mkdirSync(heapDir, { recursive: true });
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const buildDir = join(ROOT, 'node_modules/.cache/pkim-bench-build');
mkdirSync(buildDir, { recursive: true });
const { buildBundle } = (await import(join(ROOT, 'scripts/build.mjs'))) as {
  buildBundle: (outDir: string, opts?: { web?: boolean }) => Promise<string>;
};
const bin = await buildBundle(buildDir);

const dataDir = join(dir, 'data');
const { root, token, spiffeToken } = await prepareBenchDataDir(
  await createAuthority({ dataDir, logger: pino({ level: 'silent' }) }),
  'heap',
);

const server = spawn(
  process.execPath,
  [
    '--heapsnapshot-signal=SIGUSR2',
    '--diagnostic-dir',
    heapDir,
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
      PKIM_WORKERS: '2',
      ...process.env,
      PKIM_LOG_LEVEL: 'warn',
      PKIM_RATE_LIMIT: '0',
      PKIM_RATE_LIMIT_RELYING_PARTY: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
process.once('exit', () => server.exitCode === null && server.kill('SIGTERM'));
const base = await new Promise<string>((resolve, reject) => {
  let buf = '';
  server.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const line = buf.split('\n').find((l) => l.startsWith('{'));
    if (line) resolve((JSON.parse(line) as { url: string }).url);
  });
  server.once('exit', (code) => reject(new Error(`pkim serve exited with ${code}`)));
});

const csrFor = (cn: string) => {
  execFileSync('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'leaf.key'),
    '-out',
    join(dir, 'leaf.csr'),
    '-subj',
    `/CN=${cn}`,
    '-addext',
    `subjectAltName=DNS:${cn}`,
  ]);
  return readFileSync(join(dir, 'leaf.csr'), 'utf8');
};
const csr = csrFor('heap.example.test');
const svidBodies: string[] = [];
for (let i = 1; i <= 256; i++) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const der = await buildCsr(
    {
      subject: parseDn('O=workload'),
      sans: { uri: [`spiffe://heap.test/node/heap-${i}`] },
      publicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
      keyType: 'ec-p384',
    },
    (d) => new Uint8Array(sign('sha384', d, privateKey)),
  );
  svidBodies.push(
    JSON.stringify({ csrPem: toPem(der, 'CERTIFICATE REQUEST'), serviceType: 'node', instanceId: `heap-${i}` }),
  );
}
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
await createVaultBenchRole(base, token);

const path = (u: string) => new URL(u).pathname;
const signReq = {
  method: 'POST' as const,
  path: path(`${base}/api/v1/cas/${root.ca.id}/sign`),
  headers: auth,
  body: JSON.stringify({ csr, profile: 'tls-server', ttl: '30d' }),
};
const vaultReq = {
  method: 'POST' as const,
  path: '/v1/pki/sign/web',
  headers: { 'x-vault-token': token, 'content-type': 'application/json' },
  body: JSON.stringify({ csr, common_name: 'heap.example.test', ttl: '720h' }),
};
let svidN = 0;
const svidReq = {
  method: 'POST' as const,
  path: '/pki/csr/sign',
  headers: { authorization: `Bearer ${spiffeToken}`, 'content-type': 'application/json' },
  setupRequest: (r: Record<string, unknown>) => ({ ...r, body: svidBodies[svidN++ % svidBodies.length] }),
};
for (const r of [signReq, vaultReq, { ...svidReq, body: svidBodies[0] }]) {
  const res = await fetch(base + r.path, { method: 'POST', headers: r.headers, body: r.body });
  if (!res.ok) throw new Error(`${r.path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
}

// revocations: every REVOKE_EVERY-th CSR sign answer's serial, revoked through REST as the run goes
const toRevoke: string[] = [];
let revoked = 0;
let revokeFailures = 0;
let answered = 0;
let running = true;
const revoker = (async () => {
  while (running || toRevoke.length) {
    const serial = toRevoke.shift();
    if (!serial) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const r = await fetch(`${base}/api/v1/certificates/${serial}/revoke`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ reason: 'superseded' }),
    });
    if (r.ok) revoked++;
    else if (revokeFailures++ < 3) console.error(`revoke ${serial}: ${r.status} ${(await r.text()).slice(0, 200)}`);
  }
})();

async function metrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`, { headers: auth })).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m =
      /^(pkim_process_nodejs_(?:heap_size_used_bytes|heap_size_total_bytes|external_memory_bytes)|pkim_process_resident_memory_bytes|pkim_process_nodejs_gc_duration_seconds_(?:sum|count)(?:\{kind="\w+"\})?) (\S+)$/.exec(
        line,
      );
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

function rssKb(): number {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** the server's CPU ticks (all threads) so far */
function cpuTicks(): number {
  const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

/**
 * waits until the server's threads used under 5 % of a core for 2 s (a background job's run — the OCSP pre-signing of
 * the certificates issued since its last tick — ended), at most 120 s: a snapshot then holds what stays, not work in
 * flight
 */
async function idle(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const t = cpuTicks();
    await new Promise((r) => setTimeout(r, 2000));
    if (cpuTicks() - t < 10 || Date.now() > deadline) return;
  }
}

async function snapshot(label: string): Promise<string | undefined> {
  await idle();
  if (process.env.HEAP_SNAPSHOTS === '0') return undefined;
  const before = new Set(readdirSync(heapDir));
  server.kill('SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const fresh = readdirSync(heapDir).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (fresh.length) {
      const f = join(heapDir, fresh[0]!);
      // written when its size stops changing
      const s1 = statSync(f).size;
      await new Promise((r) => setTimeout(r, 1500));
      if (existsSync(f) && statSync(f).size === s1 && s1 > 0) {
        console.log(`${label}: ${f} (${(s1 / 1e6).toFixed(1)} MB)`);
        return f;
      }
    }
  }
}

let total = 0;
const t0 = Date.now();
const rows: string[] = [];
const report = async (label: string) => {
  const m = await metrics();
  const gcSum = m['pkim_process_nodejs_gc_duration_seconds_sum{kind="major"}'] ?? 0;
  const gcAll = Object.entries(m)
    .filter(([k]) => k.startsWith('pkim_process_nodejs_gc_duration_seconds_sum'))
    .reduce((a, [, v]) => a + v, 0);
  const row =
    `${label}: certs ${total} (revoked ${revoked}) t ${((Date.now() - t0) / 1000).toFixed(0)} s | heap used ` +
    `${((m.pkim_process_nodejs_heap_size_used_bytes ?? 0) / 1e6).toFixed(1)} MB total ` +
    `${((m.pkim_process_nodejs_heap_size_total_bytes ?? 0) / 1e6).toFixed(1)} MB external ` +
    `${((m.pkim_process_nodejs_external_memory_bytes ?? 0) / 1e6).toFixed(1)} MB | ` +
    `RSS ${(rssKb() / 1024).toFixed(0)} MB | GC all ${gcAll.toFixed(2)} s major ${gcSum.toFixed(2)} s | load ${load()}`;
  console.log(row);
  rows.push(row);
  return { gcAll, m };
};

await report('idle');
await snapshot('idle');
let prevGc = (await report('after idle snapshot')).gcAll;
let prevTotal = 0;
for (const at of checkpoints) {
  const amount = at - total;
  const result = await autocannon({
    url: base,
    connections,
    amount,
    requests: [
      {
        ...signReq,
        onResponse: (status: number, body: string) => {
          answered++;
          if (status === 201 && answered % revokeEvery === 0) {
            const j = JSON.parse(body) as { id?: string; serial?: string };
            const serial = j.id ?? j.serial;
            if (serial) toRevoke.push(serial);
          }
        },
      },
      vaultReq,
      svidReq,
    ],
  });
  total += result.requests.total;
  const non2xx = result.non2xx + result.errors + result.timeouts;
  console.log(`to ${at}: ${result.requests.average.toFixed(0)} req/s, non-2xx/errors ${non2xx}`);
  while (toRevoke.length) await new Promise((r) => setTimeout(r, 200));
  const { gcAll } = await report(`at ${at}`);
  console.log(`  GC µs/cert over the stretch: ${(((gcAll - prevGc) * 1e6) / (total - prevTotal)).toFixed(1)}`);
  await snapshot(`at ${at}`);
  prevGc = (await report(`after snapshot ${at}`)).gcAll;
  prevTotal = total;
}
running = false;
await revoker;
console.log(rows.join('\n'));
console.log(`snapshots in ${heapDir}; revoke failures ${revokeFailures}`);
server.kill('SIGTERM');
