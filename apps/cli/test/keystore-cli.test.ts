// `pkim keystore …` against `pkim serve` in a separate process (the Vault-compatible API), logging in the way the
// requirement's CMK API server does (Kubernetes service-account JWT), with local keystore endpoints (TLS servers
// that require client certificates from the CA) in this process. Certificates checked by openssl.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PKIM_BIN, REPO_ROOT, runPkim } from '../../../tests/support/cli-in-process';
import { startPkimServer, type PkimServer } from '../../../tests/support/remote-server';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import {
  keystoreEndpoint,
  otherCaPem,
  serverPki,
  type KeystoreEndpoint,
} from '../../../packages/keystore-certs/test/keystore-test-support';
import { contractViolations, RFC3339 } from '../../../tests/support/output-contract';

const tmp = tempDir('pkim-keystore-cli-');
let server: PkimServer | undefined;
let url = '';
let adminToken = '';
let rootPem = '';
let interPem = '';
let endpoint: KeystoreEndpoint;
let refusing: KeystoreEndpoint;
const serverCaFile = join(tmp.dir, 'keystore-server-ca.pem');
const jwtFile = join(tmp.dir, 'sa-token');
const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });

function pkim(args: string[]) {
  const r = runPkim(['--json', ...args], { dataDir: tmp.dir });
  if (r.code !== 0) throw new Error(`pkim ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.json();
}

/** The one error line on stderr: `{"error":{code,message}}` with `--json`, shown here as `error: code: message`. */
function errorLine(stderr: string): string {
  const e = (JSON.parse(stderr.trim()) as { error: { code: string; message: string } }).error;
  return `error: ${e.code}: ${e.message}`;
}

/** `pkim keystore …` without blocking this process (the keystore endpoints answer from here). */
function keystore(
  args: string[],
  auth: 'admin' | 'k8s' = 'k8s',
): Promise<{ code: number; stdout: string; stderr: string; json(): any }> {
  const global = ['--vault-addr', url, '--mount', 'pki_client_certs'];
  const creds = auth === 'admin' ? ['--vault-token', adminToken] : ['--k8s-role', 'cmk-api-server-role'];
  const p = spawn(
    process.execPath,
    [PKIM_BIN, '--json', 'keystore', ...global, ...creds, '--k8s-jwt-file', jwtFile, ...args],
    { cwd: REPO_ROOT, env: { ...process.env, PKIM_DATA_DIR: tmp.dir, PKIM_LOG_LEVEL: 'silent' } },
  );
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    p.on('exit', (code) =>
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`keystore ${args.join(' ')} (exit ${code}) printed no JSON:\n${stdout}\n${stderr}`);
          }
        },
      }),
    ),
  );
}

async function ok(args: string[], auth: 'admin' | 'k8s' = 'k8s') {
  const r = await keystore(args, auth);
  expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.json();
}

beforeAll(async () => {
  const root = pkim(['ca', 'create', '--subject', 'CN=KS Root', '--key-type', 'ec-p256']);
  const inter = pkim(['ca', 'create', '--subject', 'CN=KS Clients', '--key-type', 'ec-p256', '--parent', root.id]);
  rootPem = root.certificatePem;
  interPem = inter.certificatePem;
  pkim(['vault', 'mount', 'pki_client_certs', '--ca', inter.id, '--max-ttl', '87600h']);
  adminToken = pkim(['token', 'create', '--name', 'keystore-admin', '--role', 'admin']).token;
  server = await startPkimServer(tmp.dir, [], {});
  url = server.url;

  // Kubernetes auth for the CMK API server's service account (offline JWT verification)
  const vault = (path: string, body: unknown) =>
    fetch(`${url}/v1/${path}`, {
      method: 'POST',
      headers: { 'x-vault-token': adminToken, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect(
    (await vault('auth/kubernetes/config', { pem_keys: [sa.publicKey.export({ type: 'spki', format: 'pem' })] })).ok,
  ).toBe(true);
  expect(
    (
      await vault('auth/kubernetes/role/cmk-api-server-role', {
        bound_service_account_names: 'cmk-api-server',
        bound_service_account_namespaces: 'openkcm-system',
        ttl: '1h',
      })
    ).ok,
  ).toBe(true);
  const jwt = await new SignJWT({
    'kubernetes.io': { namespace: 'openkcm-system', serviceaccount: { name: 'cmk-api-server', uid: 'u-1' } },
  })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer('https://kubernetes.default.svc.cluster.local')
    .setSubject('system:serviceaccount:openkcm-system:cmk-api-server')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(sa.privateKey);
  writeFileSync(jwtFile, jwt);

  const srv = serverPki();
  writeFileSync(serverCaFile, srv.caPem);
  endpoint = await keystoreEndpoint(srv, [rootPem]);
  refusing = await keystoreEndpoint(srv, [otherCaPem()]);
}, 120_000);

afterAll(async () => {
  await endpoint?.close();
  await refusing?.close();
  await server?.stop();
  tmp.cleanup();
});

describe('pkim keystore', () => {
  it('templates: built-in ones, a custom one, and the Vault roles written for them', async () => {
    const set = await ok(
      ['template', 'set', 'fortanix_dsm', '--cn-pattern', 'tenant-{tenant_id}-fx.keystore.internal'].concat([
        '--alt-name',
        'tenant-{tenant_id}.internal',
        '--key-type',
        'ec',
        '--key-bits',
        '256',
        '--ttl',
        '720h',
      ]),
    );
    expect(set).toMatchObject({ type: 'fortanix_dsm', keyType: 'ec', keyBits: 256, ttl: '720h' });
    const all = await ok(['templates']);
    expect(all.thales_luna).toMatchObject({ keyType: 'rsa', keyBits: 4096, ttl: '8760h', builtIn: true });
    expect(all.aws_kms).toMatchObject({ keyType: 'ec', keyBits: 256, ttl: '4380h', builtIn: true });
    expect(all.fortanix_dsm.builtIn).toBe(false);
    const roles = await ok(['init-roles'], 'admin');
    expect(roles.nextCursor).toBeNull();
    expect(roles.items.map((r: { role: string }) => r.role).sort()).toEqual([
      'keystore-aws_kms',
      'keystore-fortanix_dsm',
      'keystore-thales_luna',
    ]);
    const role: any = await (
      await fetch(`${url}/v1/pki_client_certs/roles/keystore-aws_kms`, { headers: { 'x-vault-token': adminToken } })
    ).json();
    expect(role.data).toMatchObject({ client_flag: true, server_flag: false, key_type: 'ec', key_bits: 256 });

    const bad = await keystore(['template', 'set', 'x', '--cn-pattern', 'no-tenant.example.com']);
    expect(bad.code).toBe(2);
    expect(errorLine(bad.stderr)).toMatch(/^error: keystore\.invalid_input: invalid template: commonNamePattern/);
  }, 600_000);

  it('connect (Kubernetes login) → rotate → export → run → disconnect; openssl checks every certificate', async () => {
    const args = ['--endpoint', endpoint.endpoint, '--server-ca', serverCaFile];
    const a = await ok(['connect', 'acme-corp-12345', 'aws_kms', ...args]);
    expect(a.active).toMatchObject({ status: 'active', commonName: 'tenant-acme-corp-12345-aws.keystore.internal' });
    const fx = await ok(['connect', 'acme-corp-12345', 'fortanix_dsm', ...args]);
    expect(fx.active.commonName).toBe('tenant-acme-corp-12345-fx.keystore.internal');
    expect(endpoint.accepted).toHaveLength(2);

    const rotated = await ok(['rotate', 'acme-corp-12345', 'aws_kms']);
    expect(rotated.certificates.map((c: { status: string }) => c.status)).toEqual(['rotating', 'active']);
    expect(rotated.active.serialNumber).not.toBe(a.active.serialNumber);

    const out = join(tmp.dir, 'export');
    const files = await ok(['export', 'acme-corp-12345', 'aws_kms', '--out-dir', out]);
    expect(files.serialNumber).toBe(rotated.active.serialNumber);
    expect(statSync(files.privateKey).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(files.certificate));
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(files.privateKey)))).toBe(
      true,
    );
    const v = opensslVerify({
      leafPem: readFileSync(files.certificate, 'utf8'),
      chainPems: [interPem],
      rootPem,
      purpose: 'sslclient',
    });
    expect(v.ok, v.output).toBe(true);

    const list = await ok(['list']);
    expect(list.nextCursor).toBeNull();
    expect(list.items.map((c: { keystoreType: string }) => c.keystoreType).sort()).toEqual(['aws_kms', 'fortanix_dsm']);
    expect(JSON.stringify(list)).not.toMatch(/PRIVATE KEY/);

    expect(await ok(['run', '--once'])).toEqual({ renewed: [], renewalFailed: [], revokedAfterGrace: [], errors: [] });

    const d = await ok(['disconnect', 'acme-corp-12345', 'aws_kms']);
    expect(d.revoked.sort()).toEqual([a.active.serialNumber, rotated.active.serialNumber].sort());
    const crl = new Uint8Array(await (await fetch(`${url}/v1/pki_client_certs/crl`)).arrayBuffer());
    const c = opensslCrlVerify(crl, interPem);
    expect(c.ok, c.text).toBe(true);
    for (const s of d.revoked as string[])
      expect([...c.go.entries.keys()]).toContain(s.replace(/:/g, '').replace(/^0+/, ''));
    const chain = await ok(['events', '--verify']);
    expect(chain).toMatchObject({ ok: true });
    expect(chain.count).toBeGreaterThan(10);
  }, 600_000);

  it('refuses bad input and a failing handshake with one error line, changing nothing', async () => {
    const args = ['--endpoint', endpoint.endpoint, '--server-ca', serverCaFile];
    const cases: [string[], number, RegExp][] = [
      [['connect', 'Bad_Tenant', 'aws_kms', ...args], 2, /^error: keystore\.invalid_input: invalid tenant id/],
      [['connect', 'globex', 'nope_kms', ...args], 3, /^error: keystore\.template_not_found: /],
      [['connect', 'acme-corp-12345', 'fortanix_dsm', ...args], 4, /^error: keystore\.already_connected: /],
      [['connect', 'globex', 'aws_kms', '--endpoint', 'nohost'], 2, /^error: keystore\.invalid_input: endpoint/],
      [['rotate', 'globex', 'aws_kms'], 3, /^error: keystore\.not_connected: /],
      [
        ['connect', 'initech', 'aws_kms', '--endpoint', refusing.endpoint, '--server-ca', serverCaFile],
        7,
        /^error: keystore\.handshake_failed: initech\/aws_kms: the keystore refused/,
      ],
    ];
    // independent processes, run together (each CLI start costs seconds on a loaded machine)
    const denied = keystore(['connect', 'umbrella', 'aws_kms', ...args, '--vault-token', 'nope'], 'admin');
    const results = await Promise.all(cases.map(([a]) => keystore(a)));
    cases.forEach(([a, code, message], i) => {
      const r = results[i]!;
      expect(r.code, `${a.join(' ')}\n${r.stderr}`).toBe(code);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(errorLine(r.stderr)).toMatch(message);
    });
    const d = await denied;
    expect(d.code, d.stderr).toBe(6);
    expect(errorLine(d.stderr)).toMatch(
      /^error: keystore\.vault_denied: Vault POST pki_client_certs\/issue\/keystore-aws_kms: 403 permission denied/,
    );
    // nothing stayed behind: no connection, no certificate left valid at the PKI for the refused keystore
    const left = await ok(['list']);
    expect(left.items.map((c: { tenantId: string }) => c.tenantId).sort()).toEqual(['acme-corp-12345']);
    const events = await ok(['events', '--limit', '500']);
    expect(contractViolations(events)).toEqual([]);
    expect(events.items[0].time).toMatch(RFC3339);
    const issued = events.items.filter(
      (e: { action: string; target: string }) => e.action === 'keystore_cert.issued' && e.target === 'initech/aws_kms',
    );
    expect(issued).toHaveLength(1);
    const serial = issued[0].details.serial as string;
    const cert: any = await (await fetch(`${url}/v1/pki_client_certs/cert/${serial}`)).json();
    expect(cert.data.revocation_time).toBeGreaterThan(0);
  }, 600_000);
});
