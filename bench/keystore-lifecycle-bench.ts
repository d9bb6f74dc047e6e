/**
 * The tenant keystore lifecycle (packages/keystore-certs) end to end against `pkim serve` in a separate process:
 * BENCH_TENANTS (default 100) tenants × 2 keystores (thales_luna RSA-4096 8760h, aws_kms EC P-256 4380h) connected —
 * issue through the Vault API, seal the key under the tenant key, store, real mTLS handshake with a local keystore
 * endpoint, activate — then all rotated (issue + handshake + grace), then all disconnected (revoke at the PKI, wipe).
 * Reports certificates/s and latencies per step; the requirement asks > 100 operations/hour, generation < 2 minutes
 * and revocation < 1 minute per certificate.
 *   npm run bench:keystore            (env: BENCH_TENANTS=100 BENCH_CONCURRENCY=8; the server gets
 *                                     PKIM_HTTP_IDLE_TIMEOUT_MS=600000 unless set)
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAuthority, SYSTEM_ACTOR } from '@pkim/authority';
import {
  createKeystoreCertManager,
  createVaultClient,
  DEFAULT_TEMPLATES,
  localKek,
  openKeystoreStore,
  roleForTemplate,
} from '@pkim/keystore-certs';

const tenants = Number(process.env.BENCH_TENANTS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const MOUNT = 'pki_client_certs';

const dir = mkdtempSync(join(tmpdir(), 'pkim-keystore-bench-'));
const dataDir = join(dir, 'data');
const setup = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
const root = await setup.cas.create({ name: 'bench-root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, SYSTEM_ACTOR);
await setup.cas.create(
  { name: 'bench-keystores', subject: 'CN=Keystore Client CA', keyType: 'ec-p256', parentId: root.ca.id },
  SYSTEM_ACTOR,
);
await setup.vault.mounts.mount({ path: MOUNT, ca: 'bench-keystores', maxLeaseTtl: '87600h' }, SYSTEM_ACTOR);
for (const [type, t] of Object.entries(DEFAULT_TEMPLATES)) {
  await setup.vault.mounts.writeRole(MOUNT, `keystore-${type}`, roleForTemplate(t), SYSTEM_ACTOR);
}
const { token } = await setup.auth.createToken({ name: 'bench', role: 'operator' }, SYSTEM_ACTOR);
await setup.close();

// the keystore endpoint: TLS server requiring client certificates from the bench root
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    .concat(['-keyout', join(dir, 'srv.key'), '-out', join(dir, 'srv.pem'), '-subj', '/CN=keystore', '-days', '2'])
    .concat(['-addext', 'subjectAltName=IP:127.0.0.1']),
  { stdio: 'ignore' },
);
const srvPem = readFileSync(join(dir, 'srv.pem'), 'utf8');
const endpoint = createServer(
  {
    cert: srvPem,
    key: readFileSync(join(dir, 'srv.key')),
    ca: root.certificatePem!,
    requestCert: true,
    rejectUnauthorized: true,
  },
  (s) => s.end('ok\n'),
);
endpoint.on('tlsClientError', () => undefined);
await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
const endpointAddr = `127.0.0.1:${(endpoint.address() as AddressInfo).port}`;

const child = spawn(
  process.execPath,
  ['apps/cli/bin/pkim.mjs', '--data-dir', dataDir, 'serve', '--host', '127.0.0.1', '--port', '0'],
  {
    // RSA-4096 keys generated 8 at a time on 2 cores wait longer than the default 30 s of silence on a connection
    env: { PKIM_HTTP_IDLE_TIMEOUT_MS: '600000', ...process.env, PKIM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let out = '';
child.stdout.on('data', (d: Buffer) => (out += d.toString()));
child.stderr.on('data', (d: Buffer) => (out += d.toString()));
while (!/listening on (http:\/\/127\.0\.0\.1:\d+)/.test(out)) {
  if (child.exitCode !== null) throw new Error(`pkim serve exited:\n${out}`);
  await new Promise((r) => setTimeout(r, 100));
}
const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;

const store = openKeystoreStore(join(dir, 'keystore.db'));
const vault = createVaultClient({ address: base, auth: { method: 'token', token } });
const manager = createKeystoreCertManager({ store, vault, kek: localKek(randomBytes(32)), mount: MOUNT });

async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
const max = (a: number[]) => Math.max(0, ...a);
const jobs = Array.from({ length: tenants }, (_, i) => `tenant-${String(i).padStart(5, '0')}`).flatMap((tenant) =>
  Object.keys(DEFAULT_TEMPLATES).map((type) => ({ tenant, type })),
);

async function phase(name: string, fn: (j: { tenant: string; type: string }) => Promise<unknown>) {
  const lat: Record<string, number[]> = { thales_luna: [], aws_kms: [] };
  const t0 = performance.now();
  await pool(jobs, async (j) => {
    const s = performance.now();
    await fn(j);
    lat[j.type]!.push(performance.now() - s);
  });
  const ms = performance.now() - t0;
  return {
    step: name,
    certificates: jobs.length,
    'wall s': +(ms / 1000).toFixed(2),
    'certs/s': +((jobs.length * 1000) / ms).toFixed(1),
    'ops/hour': Math.round((jobs.length * 3_600_000) / ms),
    'median ms thales (RSA-4096)': Math.round(median(lat.thales_luna!)),
    'max ms thales': Math.round(max(lat.thales_luna!)),
    'median ms aws (P-256)': Math.round(median(lat.aws_kms!)),
    'max ms aws': Math.round(max(lat.aws_kms!)),
  };
}

try {
  const rows = [];
  rows.push(
    await phase(`connect (issue + seal + mTLS + activate), concurrency ${concurrency}`, (j) =>
      manager.connect({ tenantId: j.tenant, keystoreType: j.type, endpoints: [endpointAddr], serverCaPem: srvPem }),
    ),
  );
  rows.push(
    await phase('rotate (issue + seal + mTLS + activate, old → grace)', async (j) => {
      const r = await manager.rotate(j.tenant, j.type);
      if (!r.ok) throw new Error(r.error);
    }),
  );
  rows.push(
    await phase('disconnect (revoke 2 per keystore at the PKI + wipe)', (j) => manager.disconnect(j.tenant, j.type)),
  );
  console.table(rows);
  const crl = await vault.crlPem(MOUNT);
  console.log(
    `CRL after disconnect: ${(crl.match(/\n/g) ?? []).length} PEM lines; event chain ${JSON.stringify(store.verifyEvents())}`,
  );
} finally {
  vault.close();
  store.close();
  endpoint.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
