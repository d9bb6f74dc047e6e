/**
 * HTTP throughput of a real server on 127.0.0.1 (temp data dir, SQLite, software keys):
 * CSR signing over REST and OCSP POST, each driven by autocannon for a bounded time.
 *   npm run bench:http            (env: BENCH_SECONDS=5 BENCH_CONNECTIONS=10)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { createAuthority, SYSTEM_ACTOR } from '@pkim/authority';
import { buildServer } from '@pkim/server';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function run(name: string, opts: autocannon.Options) {
  const result = await autocannon({ duration: seconds, connections, ...opts });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return {
    scenario: name,
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    requests: result.requests.total,
    failures: non2xx,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'pkim-http-bench-'));
const authority = await createAuthority({ dataDir: join(dir, 'data'), logger: pino({ level: 'silent' }) });
const app = await buildServer(authority, {
  logger: false,
  rateLimit: false,
  backgroundJobs: false,
  processMetrics: false,
});
try {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const root = await authority.cas.create(
    { name: 'bench-root', subject: 'CN=Bench Root CA', keyType: 'ec-p256' },
    SYSTEM_ACTOR,
  );
  const { token } = await authority.auth.createToken({ name: 'bench', role: 'operator' }, SYSTEM_ACTOR);

  openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'k.pem'),
    '-out',
    join(dir, 'csr.pem'),
    '-subj',
    '/CN=bench.example.test',
    '-addext',
    'subjectAltName=DNS:bench.example.test',
  ]);
  const csr = readFileSync(join(dir, 'csr.pem'), 'utf8');
  const leaf = await authority.issuance.issueFromCsr(
    { caId: root.ca.id, csrPem: csr, profile: 'tls-server' },
    SYSTEM_ACTOR,
  );
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'leaf.pem'), leaf.certificatePem);
  writeFileSync(join(dir, 'ca.pem'), root.certificatePem!);
  openssl([
    'ocsp',
    '-issuer',
    join(dir, 'ca.pem'),
    '-cert',
    join(dir, 'leaf.pem'),
    '-reqout',
    join(dir, 'req.der'),
    '-no_nonce',
  ]);
  const ocspRequest = readFileSync(join(dir, 'req.der'));
  openssl([
    'ocsp',
    '-issuer',
    join(dir, 'ca.pem'),
    '-cert',
    join(dir, 'leaf.pem'),
    '-reqout',
    join(dir, 'req-nonce.der'),
  ]);
  const ocspRequestNonce = readFileSync(join(dir, 'req-nonce.der'));

  const rows = [];
  rows.push(
    await run('POST /api/v1/cas/:id/sign (CSR → cert)', {
      url: `${base}/api/v1/cas/${root.ca.id}/sign`,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csr, profile: 'tls-server', ttl: '30d' }),
    }),
  );
  rows.push(
    await run('POST /ocsp (no nonce: signed response reused)', {
      url: `${base}/ocsp`,
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: ocspRequest,
    }),
  );
  rows.push(
    await run('POST /ocsp (with nonce: signed per request)', {
      url: `${base}/ocsp`,
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: ocspRequestNonce,
    }),
  );
  console.log(
    `\nHTTP bench: ${seconds}s per scenario, ${connections} connections, Node ${process.version}, ` +
      `${(await import('node:os')).cpus().length} CPUs\n`,
  );
  console.table(rows);
  const issued = (await authority.statistics.dashboard()).certificates.active;
  console.log(`certificates in the database after the run: ${issued}`);
} finally {
  await app.close();
  await authority.close();
  rmSync(dir, { recursive: true, force: true });
}
