/**
 * Tenant keystore certificates through the Vault-compatible API, against `pkim serve` in a separate process:
 * BENCH_TENANTS (default 100) tenants × 2 keystore templates (thales_luna: RSA-4096, 8760h, client auth;
 * aws_kms: EC P-256, 4380h), issued with `POST /v1/pki_client_certs/issue/<role>` (format pem_bundle), then every
 * certificate revoked. Reports certificates/s, the generation and revocation wall times.
 *   npm run bench:vault            (env: BENCH_TENANTS=100 BENCH_CONCURRENCY=8)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAuthority, SYSTEM_ACTOR } from '@pkim/authority';

const tenants = Number(process.env.BENCH_TENANTS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const MOUNT = 'pki_client_certs';
const TEMPLATES = {
  thales_luna: { key_type: 'rsa', key_bits: 4096, ttl: '8760h' },
  aws_kms: { key_type: 'ec', key_bits: 256, ttl: '4380h' },
} as const;

const dir = mkdtempSync(join(tmpdir(), 'pkim-vault-bench-'));
const dataDir = join(dir, 'data');
const setup = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
const root = await setup.cas.create({ name: 'bench-root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, SYSTEM_ACTOR);
const issuing = await setup.cas.create(
  { name: 'bench-keystores', subject: 'CN=Keystore Client CA', keyType: 'ec-p256', parentId: root.ca.id },
  SYSTEM_ACTOR,
);
await setup.vault.mounts.mount({ path: MOUNT, ca: issuing.ca.id, maxLeaseTtl: '87600h' }, SYSTEM_ACTOR);
const { token } = await setup.auth.createToken({ name: 'bench', role: 'admin' }, SYSTEM_ACTOR);
await setup.close();

const child = spawn(
  process.execPath,
  ['apps/cli/bin/pkim.mjs', '--data-dir', dataDir, 'serve', '--host', '127.0.0.1', '--port', '0'],
  { env: { ...process.env, PKIM_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
);
let out = '';
child.stdout.on('data', (d: Buffer) => (out += d.toString()));
child.stderr.on('data', (d: Buffer) => (out += d.toString()));
while (!/listening on (http:\/\/127\.0\.0\.1:\d+)/.test(out)) {
  if (child.exitCode !== null) throw new Error(`pkim serve exited:\n${out}`);
  await new Promise((r) => setTimeout(r, 100));
}
const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;

async function vault(method: string, path: string, body: unknown) {
  const r = await fetch(`${base}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

try {
  for (const [name, t] of Object.entries(TEMPLATES)) {
    await vault('POST', `${MOUNT}/roles/${name}`, {
      allowed_domains: 'keystore.internal,internal',
      allow_subdomains: true,
      server_flag: false,
      client_flag: true,
      key_type: t.key_type,
      key_bits: t.key_bits,
      max_ttl: '8760h',
    });
  }
  const jobs = Array.from({ length: tenants }, (_, i) => `tenant-${String(i).padStart(5, '0')}`).flatMap((tenant) =>
    Object.keys(TEMPLATES).map((ks) => ({ tenant, ks: ks as keyof typeof TEMPLATES })),
  );
  const serials: string[] = [];
  const perType: Record<string, number[]> = { thales_luna: [], aws_kms: [] };
  const t0 = performance.now();
  await pool(jobs, async ({ tenant, ks }) => {
    const s = performance.now();
    const r = await vault('POST', `${MOUNT}/issue/${ks}`, {
      common_name: `${tenant}.${ks.replace('_', '-')}.keystore.internal`,
      alt_names: `${tenant}.internal`,
      ttl: TEMPLATES[ks].ttl,
      format: 'pem_bundle',
    });
    perType[ks]!.push(performance.now() - s);
    serials.push(r.data.serial_number);
  });
  const issueMs = performance.now() - t0;
  const t1 = performance.now();
  await pool(serials, async (serial) => {
    await vault('POST', `${MOUNT}/revoke`, { serial_number: serial });
  });
  const revokeMs = performance.now() - t1;
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
  console.table([
    {
      scenario: `issue ${tenants} tenants × 2 keystores (concurrency ${concurrency})`,
      certificates: jobs.length,
      'wall s': +(issueMs / 1000).toFixed(2),
      'certs/s': +((jobs.length * 1000) / issueMs).toFixed(1),
      'median ms thales_luna (RSA-4096)': Math.round(median(perType.thales_luna!)),
      'median ms aws_kms (P-256)': Math.round(median(perType.aws_kms!)),
    },
    {
      scenario: `revoke all (CRL rebuilt lazily)`,
      certificates: serials.length,
      'wall s': +(revokeMs / 1000).toFixed(2),
      'certs/s': +((serials.length * 1000) / revokeMs).toFixed(1),
    },
  ]);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
