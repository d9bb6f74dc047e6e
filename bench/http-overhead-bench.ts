/**
 * `npm run bench:http-overhead`: the CPU the HTTP layer adds to one CSR signing, in-process, no worker threads, so
 * process.cpuUsage() is the server's whole cost. Alternates rounds of
 *   direct — `authority.issuance.issueFromCsr` + the route's DTO + JSON.stringify, 16 in flight;
 *   inject — `POST /api/v1/cas/:id/sign` through `app.inject` (every hook of `pkim serve`);
 *   HTTP   — the same request over a socket from autocannon in another process (16 keep-alive connections);
 *   no-op  — `POST /bench/noop` over a socket: the global hooks, body parser and a response of the same size, no
 *            authentication, no issuance (the HTTP layer alone);
 *   Fastify — a bare Fastify app (no hooks, no logger, its own JSON parser) answering the same body with an answer
 *            of the same size: the floor of a Fastify route on this machine;
 *   node:http — the same on node:http alone (read the body, JSON.parse, JSON.stringify the answer): Node's floor;
 * and prints CPU µs per request of each. CPU per request moves much less than rates on a loaded machine.
 * With BENCH_WORKERS=2 the crypto runs in a worker pool (as `pkim serve` with PKIM_WORKERS=2) and each cell is the
 * main thread's CPU (/proc/self/task/<pid>/stat, Linux), the thread the HTTP layer runs on.
 *
 *   env: BENCH_N=400 (requests per round) BENCH_ROUNDS=3 BENCH_RATE_LIMIT=0 (API budget off; default on, very high)
 *        BENCH_WORKERS=<n> (worker threads; default none),
 *        BENCH_PROFILE_HTTP=<n> (only n requests over HTTP, then exit: run under `node --import tsx --cpu-prof`),
 *        BENCH_PROFILE_NOOP=1 (those to the no-op route), BENCH_PROFILE_VAULT=1 (to the Vault `sign` route),
 *        BENCH_HOOKS_AB=1 (only the HTTP row, in rounds alternated with Node's async hooks on — an
 *        AsyncLocalStorage run, as the CLI's withCliIo makes for every command, `pkim serve` included — and off:
 *        docs/benchmarks-record.md "Session 37: the HTTP main thread")
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { pino } from 'pino';
import { createServer as createHttpServer } from 'node:http';
import Fastify from 'fastify';
import { createAuthority, SYSTEM_ACTOR } from '@pkim/authority';
import { toIssuedCertificateDto } from '@pkim/contract';
import { buildServer } from '@pkim/server';

const N = Number(process.env.BENCH_N ?? 400);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IN_FLIGHT = 16;
const WORKERS = process.env.BENCH_WORKERS ? Number(process.env.BENCH_WORKERS) : undefined;
/** CPU µs so far: the main thread's with a worker pool (utime + stime in 100 Hz ticks), else the whole process's */
function cpuNow(): number {
  if (WORKERS === undefined || WORKERS < 2) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}
/** the main thread's CPU µs so far (utime + stime in 100 Hz ticks, Linux) */
function mainCpuNow(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}
const dir = mkdtempSync(join(tmpdir(), 'pkim-http-overhead-'));

function csrFor(name: string, subj: string, san: string, curve = 'P-256'): string {
  const out = join(dir, `${name}.csr`);
  execFileSync('openssl', [
    ...['req', '-new', '-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-nodes'],
    ...['-keyout', join(dir, `${name}.key`), '-out', out, '-subj', subj, '-addext', `subjectAltName=${san}`],
  ]);
  return readFileSync(out, 'utf8');
}

async function cpuPer(n: number, one: () => Promise<void>): Promise<number> {
  const start = cpuNow();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < n) await one();
    }),
  );
  return (cpuNow() - start) / n;
}

/** autocannon in its own process (as bench:http runs it): `amount` requests over 16 keep-alive connections */
const RUNNER = `
const autocannon = require(process.argv[1]);
const o = JSON.parse(process.argv[2]);
autocannon({ ...o, body: require('node:fs').readFileSync(o.bodyFile) }, (err, r) => {
  if (err) { console.error(err); process.exit(1); }
  process.stdout.write(JSON.stringify({ ok: r['2xx'], total: r.requests.total, non2xx: r.non2xx }));
});`;
const ROOT = join(import.meta.dirname, '..');
async function autocannon(url: string, headers: Record<string, string>, body: string, amount: number, status = 2) {
  const bodyFile = join(dir, 'body');
  writeFileSync(bodyFile, body);
  const opts = { url, method: 'POST', headers, bodyFile, connections: IN_FLIGHT, amount };
  const child = spawn(process.execPath, ['-e', RUNNER, join(ROOT, 'node_modules/autocannon'), JSON.stringify(opts)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const r = JSON.parse(out) as { ok: number; total: number };
  if (status === 2 && r.ok !== amount) throw new Error(`autocannon: ${r.ok} of ${amount} answered 2xx`);
}

try {
  const authority = await createAuthority({
    dataDir: join(dir, 'data'),
    logger: pino({ level: 'silent' }),
    workers: WORKERS,
  });
  const root = await authority.cas.create(
    { name: 'bench-root', subject: 'CN=Bench Root CA', keyType: 'ec-p256' },
    SYSTEM_ACTOR,
  );
  const { token } = await authority.auth.createToken({ name: 'bench', role: 'admin' }, SYSTEM_ACTOR);
  const actor = await authority.auth.authenticateToken(token);
  if (!actor) throw new Error('token');
  const rateLimit = process.env.BENCH_RATE_LIMIT === '0' ? false : undefined;
  const app = await buildServer(authority, {
    logger: pino({ level: 'warn' }, pino.destination(2)),
    backgroundJobs: false,
    console: false,
    rateLimit: rateLimit ?? { max: 1_000_000_000, timeWindowMs: 60_000 },
  });
  // the HTTP layer alone: a route with the server's global hooks, the JSON body parser and a response of the same
  // size, but no authentication and no issuance
  const sample: { dto?: unknown } = {};
  app.post('/bench/noop', async (_request, reply) => reply.code(201).send(sample.dto));
  await app.ready();
  const csr = csrFor('leaf', '/CN=bench.example.test', 'DNS:bench.example.test');
  const body = JSON.stringify({ csr, profile: 'tls-server', ttl: '30d' });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  let lastDto: unknown;
  const direct = async () => {
    const issued = await authority.issuance.issueFromCsr(
      { caId: root.ca.id, csrPem: csr, profile: 'tls-server', validityMs: 30 * 86_400_000 },
      actor,
    );
    const dto: Record<string, unknown> = toIssuedCertificateDto(issued);
    dto.certificate = issued.certificatePem;
    dto.chain = issued.chainPem;
    lastDto = dto;
    JSON.stringify(lastDto);
  };
  const viaInject = async () => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/cas/${root.ca.id}/sign`, headers, payload: body });
    if (r.statusCode !== 201) throw new Error(`${r.statusCode} ${r.body.slice(0, 300)}`);
  };
  await direct();
  sample.dto = lastDto;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/cas/${root.ca.id}/sign`;
  const urlNoop = url.replace(/\/api\/v1\/.*/, '/bench/noop');
  // the floors: a bare Fastify app and node:http alone, same body in, an answer of the same size out
  const answer = JSON.stringify(sample.dto);
  const bare = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  bare.post('/bench/noop', async (_request, reply) => reply.code(201).send(sample.dto));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const urlFastify = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/bench/noop`;
  const plain = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const out = JSON.stringify(sample.dto);
      res.writeHead(201, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(out),
      });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const urlNode = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/bench/noop`;
  if (answer.length < 1000) throw new Error('the sample answer is missing');
  /** CPU of this process (the server) per request while another process sends `n` requests */
  const cpuPerHttp = async (n: number, target = url, status = 2, h: Record<string, string> = headers, b = body) => {
    const start = cpuNow();
    await autocannon(target, h, b, n, status);
    return (cpuNow() - start) / n;
  };
  await cpuPer(100, direct);
  await cpuPer(100, viaInject);
  await cpuPerHttp(200);
  if (process.env.BENCH_PROFILE_HTTP) {
    // only the HTTP path, for `node --cpu-prof`
    const n = Number(process.env.BENCH_PROFILE_HTTP);
    const noop = process.env.BENCH_PROFILE_NOOP === '1';
    if (process.env.BENCH_PROFILE_VAULT === '1') {
      // the Vault `sign` route (as bench:http drives it)
      await authority.vault.mounts.mount({ path: 'pki', ca: root.ca.id, maxLeaseTtl: '87600h' }, SYSTEM_ACTOR);
      const vaultHeaders = { 'x-vault-token': token, 'content-type': 'application/json' };
      const base = url.replace(/\/api\/v1\/.*/, '');
      const role = await fetch(`${base}/v1/pki/roles/web`, {
        method: 'POST',
        headers: vaultHeaders,
        body: JSON.stringify({
          ...{ allowed_domains: 'example.test', allow_subdomains: true, max_ttl: '720h' },
          ...{ key_type: 'ec', key_bits: 256 },
        }),
      });
      if (!role.ok) throw new Error(`Vault role: ${role.status}`);
      const vaultBody = JSON.stringify({ csr, common_name: 'bench.example.test', ttl: '720h' });
      await cpuPerHttp(200, `${base}/v1/pki/sign/web`, 2, vaultHeaders, vaultBody);
      console.log(
        `Vault sign: ${Math.round(await cpuPerHttp(n, `${base}/v1/pki/sign/web`, 2, vaultHeaders, vaultBody))} µs`,
      );
      process.exit(0);
    }
    console.log(`HTTP only: ${Math.round(await cpuPerHttp(n, noop ? urlNoop : url))} µs`);
    process.exit(0);
  }
  if (process.env.BENCH_HOOKS_AB === '1') {
    // a promise made with the hooks on carries their symbols: none here before the first round
    const hooksOn = () => Object.getOwnPropertySymbols(Promise.resolve()).length > 0;
    if (hooksOn()) throw new Error('async hooks are on before the first round: the A/B would measure nothing');
    const als = new AsyncLocalStorage<object>();
    const lines: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? ['on', 'off', 'off', 'on'] : ['off', 'on', 'on', 'off'];
      const r: Record<string, number[]> = { on: [], off: [] };
      const m: Record<string, number[]> = { on: [], off: [] };
      for (const k of order) {
        if (k === 'on')
          als.run({}, () => undefined); // turns the hooks on for the process, as withCliIo's run does
        else als.disable(); // the only storage: the hooks go off (after the current tick)
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (hooksOn() !== (k === 'on')) throw new Error(`async hooks not ${k}`);
        const main = mainCpuNow();
        r[k]!.push(await cpuPerHttp(N));
        m[k]!.push((mainCpuNow() - main) / N);
      }
      const mean = (a: number[]) => Math.round(a.reduce((x, y) => x + y, 0) / a.length);
      const [on, off, mOn, mOff] = [mean(r.on!), mean(r.off!), mean(m.on!), mean(m.off!)];
      lines.push(
        `| ${round + 1} | ${order.join(' ')} | ${off} / ${mOff} | ${on} / ${mOn} | ${on - off} / ${mOn - mOff} |`,
      );
    }
    console.log(`\nPOST /api/v1/cas/:id/sign over HTTP, ${N} requests per cell, load ${loadavg()[0]!.toFixed(1)}\n`);
    console.log(
      '| round | order | hooks off: µs CPU/req (process / main thread) | hooks on | on − off |\n' +
        '|---|---|---:|---:|---:|',
    );
    console.log(lines.join('\n'));
    // what the hooks are called for per request: async resources made (promises, sockets' requests, timers…) by type
    const made = new Map<string, number>();
    const counter = createHook({ init: (_id, type) => void made.set(type, (made.get(type) ?? 0) + 1) }).enable();
    await cpuPerHttp(N);
    counter.disable();
    const perRequest = [...made].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${(n / N).toFixed(1)}`);
    console.log(`\nasync resources made per request (the hooks' init calls): ${perRequest.join(', ')}`);
    process.exit(0);
  }
  const rows: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order =
      round % 2
        ? ['node', 'fastify', 'noop', 'http', 'inject', 'direct']
        : ['direct', 'inject', 'http', 'noop', 'fastify', 'node'];
    const r: Record<string, number> = {};
    for (const k of order) {
      if (k === 'http') r[k] = await cpuPerHttp(N);
      else if (k === 'noop') r[k] = await cpuPerHttp(N, urlNoop);
      else if (k === 'fastify') r[k] = await cpuPerHttp(N, urlFastify);
      else if (k === 'node') r[k] = await cpuPerHttp(N, urlNode);
      else r[k] = await cpuPer(N, k === 'direct' ? direct : viaInject);
    }
    const f = (k: string) => `${Math.round(r[k]!)} (+${Math.round(r[k]! - r.direct!)})`;
    rows.push(
      `| ${round + 1} | ${Math.round(r.direct!)} | ${f('inject')} | ${f('http')} | ${Math.round(r.noop!)} | ` +
        `${Math.round(r.fastify!)} | ${Math.round(r.node!)} |`,
    );
  }
  const threads = WORKERS && WORKERS >= 2 ? `${WORKERS} worker threads (main thread CPU)` : 'no worker threads';
  console.log(
    `\nHTTP overhead, POST /api/v1/cas/:id/sign, ${N} requests per round, ${IN_FLIGHT} in flight, ${threads}, ` +
      `rate limit ${rateLimit === false ? 'off' : 'on'}, load ${loadavg()[0]!.toFixed(1)}\n`,
  );
  console.log(
    '| round | direct: µs CPU/req | app.inject (+ HTTP layer) | HTTP over a socket (+ HTTP layer) | no-op route ' +
      '| bare Fastify | node:http |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  console.log(rows.join('\n'));
  await app.close();
  await bare.close();
  await new Promise((resolve) => plain.close(resolve));
  await authority.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
