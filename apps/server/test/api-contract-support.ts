// The output contract's test kit (docs/api-contract.md): one authority with a root and an issuing CA, the server on
// 127.0.0.1, and the same operation through the CLI (`--json`), REST and tRPC. api-contract.test.ts compares single
// operations; api-contract-reads-1/-2.test.ts walk every GET twin, each half of them (walkEveryRead), because the
// walk ran the CLI for every list and took ≈ 58 s in one file on a loaded machine (spawned then; in-process now).
import { expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import { REST_TWINS, restCallFor, restPathParams, type RestTwinName } from '@pkim/contract';
import {
  ACTORS,
  type AuthorityFixture,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
} from './server-test-support';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { runPkimAsync, type CliResult } from '../../../tests/support/cli-in-process';
import { acmeTestClient, register } from '../../../tests/support/acme-kit';
import { contractViolations, isPage } from '../../../tests/support/output-contract';

/** inputs of the reads that need one (the rest are called without input) */
const READ_INPUTS: Partial<Record<RestTwinName, Record<string, unknown>>> = {
  'insights.search': { q: 'contract' },
  'ssh.hostAccounts': { host: 'web1.contract.example' },
  'ssh.hostBundle': { host: 'web1.contract.example' },
};

/** the CLI command of a list procedure: its `--json` must be the REST answer */
const CLI_LISTS: Partial<Record<RestTwinName, string[]>> = {
  'ca.list': ['ca', 'list'],
  'certificate.list': ['cert', 'list'],
  'request.list': ['request', 'list'],
  'audit.list': ['audit', 'list', '--limit', '100'],
  'audit.actors': ['audit', 'actors'],
  'token.list': ['token', 'list'],
  'user.list': ['user', 'list'],
  'spiffe.list': ['spiffe', 'list'],
  'spiffe.denied': ['spiffe', 'denied'],
  'acme.directories': ['acme', 'list'],
  'acme.accounts': ['acme', 'accounts'],
  'acme.eabKeys': ['acme', 'eab', 'list'],
  'notification.listRules': ['notify', 'rule', 'list'],
  'notification.listDeliveries': ['notify', 'deliveries'],
  'vault.mounts.list': ['vault', 'mounts'],
  'insights.profiles': ['profile', 'list'],
  'ssh.listCas': ['ssh', 'ca', 'list'],
  'ssh.listCertificates': ['ssh', 'list'],
  'ssh.fleetTokens': ['ssh', 'fleet-token', 'list'],
  'ssh.listEnvironments': ['ssh', 'env', 'list'],
  'ssh.listHosts': ['ssh', 'host', 'list'],
  'ssh.listUsers': ['ssh', 'user', 'list'],
  'ssh.listPrincipals': ['ssh', 'principal', 'list'],
  'ssh.listBlocks': ['ssh', 'blocks'],
};
/** fields that change by being read (the token the test authenticates with) */
const VOLATILE = new Set(['lastUsedAt']);
const stable = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(stable)
    : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (VOLATILE.has(k) ? [] : [[k, stable(x)]])))
      : v;

export type ContractKit = ReturnType<typeof contractKit>;

/**
 * The fixture and the three clients; `open()` in beforeAll, `close()` in afterAll. The clients can be taken apart
 * (`const { rest, trpc } = kit`) before `open()`: they read the running server when called.
 */
export function contractKit() {
  let fx: AuthorityFixture | undefined;
  let app: FastifyInstance | undefined;
  let base = '';
  let token = '';
  let rootPem = '';
  let work: ReturnType<typeof tempDir> | undefined;
  const dataDir = () => fx!.dataDir;

  const cli = (...args: string[]): Promise<CliResult> => runPkimAsync(args, { dataDir: dataDir() });
  /** `env`: settings of this run (e.g. PKIM_PUBLIC_URL) */
  const cliJsonWith = async (env: Record<string, string>, ...args: string[]) => {
    const r = await runPkimAsync([...args, '--json'], { dataDir: dataDir(), env });
    expect(r.code, r.stderr).toBe(0);
    return r.json<Record<string, unknown>>();
  };
  const cliJson = (...args: string[]) => cliJsonWith({}, ...args);
  const rest = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        // the JSON object of a download twin (request.certificate, bulk.jobFile) rather than the file
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const trpc = async (proc: string, input?: unknown, mutation = false) => {
    const url = mutation
      ? `${base}/trpc/${proc}`
      : `${base}/trpc/${proc}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`;
    const r = await fetch(url, {
      method: mutation ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, ...(mutation ? { 'content-type': 'application/json' } : {}) },
      body: mutation ? JSON.stringify(input ?? {}) : undefined,
    });
    const body = (await r.json()) as { result?: { data: Record<string, unknown> }; error?: { data: unknown } };
    return { status: r.status, data: body.result?.data, error: body.error };
  };
  const sshPublicKey = () => {
    const f = join(work!.dir, `ssh-${Date.now()}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
    return readFileSync(`${f}.pub`, 'utf8').trim();
  };
  const csrFile = (cn: string) => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
    const f = join(work!.dir, `${cn}.csr`);
    writeFileSync(f, csrPem);
    return { csrPem, file: f };
  };

  return {
    cli,
    cliJson,
    cliJsonWith,
    rest,
    trpc,
    sshPublicKey,
    csrFile,
    get fx() {
      return fx!;
    },
    get base() {
      return base;
    },
    get token() {
      return token;
    },
    get rootPem() {
      return rootPem;
    },
    async open() {
      work = tempDir('pkim-contract-');
      fx = await openAuthorityFixture();
      const a = fx.authority;
      const root = await createRootCa(a, 'contract-root');
      rootPem = root.pem;
      await createIssuingCa(a, root, 'contract-issuing');
      token = (await a.auth.createToken({ name: 'contract', role: 'admin' }, ACTORS.admin)).token;
      await a.auth.createUser(
        { username: 'contract-login', password: 'contract-password-1', role: 'auditor' },
        ACTORS.admin,
      );
      app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
      base = await listen(app);
    },
    async close() {
      await app?.close();
      await fx?.close();
      work?.cleanup();
    },
  };
}

/**
 * Every read (REST, tRPC, CLI --json) of one half of the GET twins (`half` 0: the 1st, 3rd, 5th … twin of REST_TWINS,
 * 1: the 2nd, 4th …; the two files together walk all of them): something in every list first (made through the API,
 * as a client would), then each read over REST and tRPC — lists compared whole, a list read by path parameter not
 * empty — and each list's `pkim … --json` equal to the REST answer; every answer follows the contract.
 */
export async function walkEveryRead(kit: ContractKit, half: 0 | 1): Promise<void> {
  const { fx, base, token, rest, trpc, cliJsonWith, csrFile, sshPublicKey } = kit;
  // something in each list: a certificate, a request, a user (events and the token exist already)
  await fx.authority.auth.createUser(
    { username: 'contract-user', password: 'contract-password-1', role: 'auditor' },
    ACTORS.admin,
  );
  // and in the others (through the API, as a client would)
  const seed: [string, Record<string, unknown>][] = [
    [
      'certificate.issue',
      { ca: 'contract-issuing', csr: csrFile('walk.contract.example').csrPem, profile: 'tls-server' },
    ],
    ['request.submit', { ca: 'contract-issuing', csr: csrFile('walk-req.contract.example').csrPem }],
    ['ssh.createCa', { name: 'contract-user-ca', type: 'user', maxTtl: '16h', defaultTtl: '8h' }],
    ['ssh.createCa', { name: 'contract-host-ca', type: 'host' }],
    ['ssh.addHost', { name: 'web1.contract.example' }],
    ['ssh.addUser', { name: 'alice' }],
    ['ssh.addPrincipal', { name: 'ops' }],
    ['ssh.grant', { user: 'alice', principal: 'ops' }],
    ['ssh.mapAccount', { host: 'web1.contract.example', account: 'deploy', principal: 'ops' }],
    ['ssh.block', { user: 'alice', host: 'web1.contract.example', reason: 'contract test' }],
    ['ssh.createFleetToken', { name: 'contract-fleet', operations: ['sign-host'], expiresIn: '30d' }],
    ['ssh.issue', { ca: 'contract-user-ca', publicKey: sshPublicKey(), principals: ['ops'], ttl: '1h' }],
    ['spiffe.init', { trustDomain: 'contract.example' }],
    ['spiffe.deny', { spiffeId: 'spiffe://contract.example/gateway/gw-1', reason: 'contract test' }],
    ['acme.enable', { ca: 'contract-issuing', lifetime: '30d' }],
    ['acme.createEabKey', { ca: 'contract-issuing' }],
    [
      'notification.createRule',
      { name: 'contract-rule', trigger: 'expiry', channel: 'webhook', target: 'https://hooks.contract.example/x' },
    ],
    ['vault.mounts.bind', { path: 'contract-pki', ca: 'contract-issuing', maxLeaseTtl: '8760h' }],
    ['vault.roles.create', { mount: 'contract-pki', name: 'web', policy: { allow_any_name: true, ttl: '24h' } }],
  ];
  for (const [proc, input] of seed) {
    const r = await trpc(proc, input, true);
    expect(r.status, `${proc}: ${JSON.stringify(r.error)}`).toBe(200);
  }
  // an ACME account and an order, made by an ACME client
  const caId = ((await rest('GET', '/cas/contract-issuing')).body as { id: string }).id;
  const acme = await acmeTestClient(`${base}/acme/${caId}/directory`);
  expect((await register(acme)).status).toBe(201);
  const order = await acme.post(acme.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'acme.contract' }] });
  expect(order.status, order.text).toBe(201);
  // reads of one object (path parameters): a certificate, an approved request, a Vault role's certificate, a job
  const issued = await trpc(
    'certificate.issue',
    { ca: 'contract-issuing', csr: csrFile('walk-one.contract.example').csrPem, profile: 'tls-server' },
    true,
  );
  const serial = (issued.data as { serial: string }).serial;
  const submitted = await trpc(
    'request.submit',
    { ca: 'contract-issuing', csr: csrFile('walk-approved.contract.example').csrPem },
    true,
  );
  const requestId = (submitted.data as { id: string }).id;
  expect((await trpc('request.approve', { id: requestId }, true)).status).toBe(200);
  const viaVault = await fetch(`${base}/v1/contract-pki/issue/web`, {
    method: 'POST',
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    body: JSON.stringify({ common_name: 'vault.contract.example' }),
  });
  expect(viaVault.status, await viaVault.clone().text()).toBe(200);
  const job = await trpc('bulk.download', { refs: [serial] }, true);
  expect(job.status, JSON.stringify(job.error)).toBe(200);
  const jobId = (job.data as { id: string }).id;
  await expect
    .poll(async () => ((await trpc('bulk.job', { id: jobId })).data as { state: string }).state, { timeout: 30_000 })
    .toBe('succeeded');
  const pathInputs: Partial<Record<RestTwinName, Record<string, unknown>>> = {
    'ca.get': { ref: 'contract-issuing' },
    'ca.exportChain': { ref: 'contract-issuing' },
    'certificate.get': { ref: serial },
    'request.get': { id: requestId },
    'request.certificate': { id: requestId },
    'vault.roles.list': { mount: 'contract-pki' },
    'vault.roles.certificates': { mount: 'contract-pki', role: 'web' },
    'bulk.job': { id: jobId },
    'profiles.get': { name: 'tls-server' },
    'bulk.jobFile': { id: jobId, file: 'certificates.zip' },
  };

  const found: Partial<Record<RestTwinName, string[]>> = {};
  const reads = (Object.keys(REST_TWINS) as RestTwinName[]).filter((n) => REST_TWINS[n].method === 'GET');
  expect(reads).toEqual(expect.arrayContaining(['audit.list', 'token.list', 'user.list', 'ssh.listUsers']));
  // every read with a path parameter is walked too: a new one needs its input here
  const unwalked = reads.filter((n) => restPathParams(REST_TWINS[n].path).length > 0 && !pathInputs[n]);
  expect(unwalked, 'GET twins with path parameters and no input in pathInputs').toEqual([]);
  const mine = reads.filter((_, i) => i % 2 === half);
  expect(mine.length).toBeGreaterThanOrEqual(Math.floor(reads.length / 2));
  for (const name of mine) {
    const input = pathInputs[name] ?? READ_INPUTS[name];
    const call = restCallFor(name, input);
    const viaRest = await rest('GET', call.url.slice('/api/v1'.length));
    expect(viaRest.status, `${name}: ${JSON.stringify(viaRest.body)}`).toBe(200);
    const viaTrpc = await trpc(name, input ?? {});
    expect(viaTrpc.status, name).toBe(200);
    const isList = Array.isArray(viaRest.body) || isPage(viaRest.body);
    if (isList && pathInputs[name]) {
      const items = (Array.isArray(viaRest.body) ? viaRest.body : viaRest.body.items) as unknown[];
      expect(items.length, `${name}: something to check in the list`).toBeGreaterThan(0);
    }
    // lists are compared whole (single read models carry the time they were made)
    if (isList) expect(stable(viaTrpc.data), `${name}: tRPC = REST`).toEqual(stable(viaRest.body));
    const wrong = contractViolations(viaRest.body);
    const cmd = CLI_LISTS[name];
    if (cmd) {
      // the ACME directory URL of a server without a public URL is the origin the API call reached it at (REST and
      // tRPC: base); the local CLI has no request, so it says it where an operator would: its publicUrl
      const viaCli = await cliJsonWith(name === 'acme.directories' ? { PKIM_PUBLIC_URL: base } : {}, ...cmd);
      expect(stable(viaCli), `${name}: pkim ${cmd.join(' ')} --json = REST`).toEqual(stable(viaRest.body));
    }
    if (wrong.length) found[name] = wrong;
  }
  // every read follows the contract (a new offender fails here, naming what is wrong)
  expect(found).toEqual({});
}
