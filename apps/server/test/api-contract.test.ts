// The output contract (docs/api-contract.md): the same operations through the CLI (`--json`), REST and tRPC give
// the same objects — same field names, RFC 3339 times, lowercase hex serials, lists as { items, nextCursor }, one
// object with its PEM beside it, errors as { error: { code, message } }.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import {
  caSchema,
  caViewSchema,
  certificateDetailSchema,
  certificateSchema,
  issuedCertificateSchema,
  requestSchema,
  REST_TWINS,
  restCallFor,
  restPathParams,
  type RestTwinName,
} from '@pkim/contract';
import {
  ACTORS,
  type AuthorityFixture,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
} from './server-test-support';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { runPkimAsync, type CliResult } from '../../../tests/support/cli-runner';
import { opensslVerify } from '../../../tests/support/verifiers';
import { acmeTestClient, register } from '../../../tests/support/acme-kit';
import { contractViolations, isPage, RFC3339 } from '../../../tests/support/output-contract';

const keysOf = (o: object) => Object.keys(o).sort();
const shapeKeys = (s: { shape: object }) => Object.keys(s.shape).sort();

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

// every test spawns the CLI several times: generous time on a loaded 2-core machine
describe('one output contract across CLI --json, REST and tRPC', { timeout: 180_000 }, () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  let rootPem: string;
  const work = tempDir('pkim-contract-');

  const cli = (...args: string[]): Promise<CliResult> => runPkimAsync(args, { dataDir: fx.dataDir });
  const cliJson = async (...args: string[]) => {
    const r = await cli(...args, '--json');
    expect(r.code, r.stderr).toBe(0);
    return r.json<Record<string, unknown>>();
  };
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
    const f = join(work.dir, `ssh-${Date.now()}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
    return readFileSync(`${f}.pub`, 'utf8').trim();
  };
  const csrFile = (cn: string) => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
    const f = join(work.dir, `${cn}.csr`);
    writeFileSync(f, csrPem);
    return { csrPem, file: f };
  };

  beforeAll(async () => {
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
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
    work.cleanup();
  });

  it('ca list: { items, nextCursor } with the same CA objects everywhere', async () => {
    const viaCli = await cliJson('ca', 'list');
    const viaRest = await rest('GET', '/cas');
    const viaTrpc = await trpc('ca.list');
    expect(viaRest.status).toBe(200);
    for (const page of [viaCli, viaRest.body, viaTrpc.data]) {
      expect(keysOf(page!)).toEqual(['items', 'nextCursor']);
      const items = (page as { items: Record<string, unknown>[] }).items;
      expect(items).toHaveLength(2);
      for (const ca of items) {
        expect(keysOf(ca)).toEqual(shapeKeys(caSchema));
        expect(ca.notAfter).toMatch(RFC3339);
        expect(ca.createdAt).toMatch(RFC3339);
        expect(ca.serial).toMatch(/^[0-9a-f]+$/);
      }
    }
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
  });

  it('one CA: the object with certificatePem and chainPem beside it, identical on the three', async () => {
    const viaCli = await cliJson('ca', 'show', 'contract-issuing');
    const viaRest = await rest('GET', '/cas/contract-issuing');
    const viaTrpc = await trpc('ca.get', { ref: 'contract-issuing' });
    expect(keysOf(viaCli)).toEqual(shapeKeys(caViewSchema));
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
  });

  it('signing a CSR with { ca, csr, profile, ttl }: the same certificate (+ PEM and chain) on the three', async () => {
    const a = csrFile('cli.contract.example');
    const b = csrFile('rest.contract.example');
    const c = csrFile('trpc.contract.example');
    const viaCli = await cliJson('cert', 'sign', '--ca', 'contract-issuing', '--csr', a.file, '--ttl', '30d');
    const viaRest = await rest('POST', '/cas/contract-issuing/sign', {
      csr: b.csrPem,
      profile: 'tls-server',
      ttl: '30d',
    });
    const viaTrpc = await trpc(
      'certificate.issue',
      { ca: 'contract-issuing', csr: c.csrPem, profile: 'tls-server', ttl: 30 * 86_400 },
      true,
    );
    expect(viaRest.status).toBe(201);
    const issuedKeys = shapeKeys(issuedCertificateSchema).filter((k) => k !== 'privateKeyPem');
    // the CLI adds the files it wrote, REST the PEMs under the first version's names
    expect(keysOf(viaCli).filter((k) => k !== 'written')).toEqual(issuedKeys);
    expect(keysOf(viaRest.body).filter((k) => k !== 'certificate' && k !== 'chain')).toEqual(issuedKeys);
    expect(keysOf(viaTrpc.data!)).toEqual(issuedKeys);
    const lifetimes: number[] = [];
    for (const issued of [viaCli, viaRest.body, viaTrpc.data!]) {
      expect(issued.id).toMatch(/^crt_/);
      expect(issued.serial).toMatch(/^[0-9a-f]{30,40}$/);
      expect(issued.notBefore).toMatch(RFC3339);
      // ttl 30d (CLI, REST) and 2592000 seconds (tRPC): the same lifetime (notBefore is back-dated a little)
      lifetimes.push(Date.parse(issued.notAfter as string) - Date.parse(issued.notBefore as string));
      const v = opensslVerify({
        leafPem: issued.certificatePem as string,
        chainPems: [issued.chainPem as string],
        rootPem,
        purpose: 'sslserver',
      });
      expect(v.ok, v.output).toBe(true);
    }
    expect(new Set(lifetimes).size).toBe(1);
    expect(lifetimes[0]! - 30 * 86_400_000).toBeGreaterThanOrEqual(0);
    expect(lifetimes[0]! - 30 * 86_400_000).toBeLessThanOrEqual(10 * 60_000);
    expect(viaRest.body.certificate).toBe(viaRest.body.certificatePem);

    // the same certificate read back through the three is one object
    const ref = viaRest.body.serial as string;
    const showCli = await cliJson('cert', 'show', ref);
    const showRest = await rest('GET', `/certificates/${ref}`);
    const showTrpc = await trpc('certificate.get', { ref });
    expect(keysOf(showCli)).toEqual(shapeKeys(certificateDetailSchema));
    expect(showRest.body).toEqual(showCli);
    expect(showTrpc.data).toEqual(showCli);
  });

  it('certificate list: { items, nextCursor } with the same items', async () => {
    const viaCli = await cliJson('cert', 'list', '--ca', 'contract-issuing', '--limit', '2');
    const viaRest = await rest('GET', '/certificates?ca=contract-issuing&limit=2');
    const viaTrpc = await trpc('certificate.list', { ca: 'contract-issuing', limit: 2 });
    expect(keysOf(viaCli)).toEqual(['items', 'nextCursor']);
    const items = viaCli.items as Record<string, unknown>[];
    expect(items).toHaveLength(2);
    expect(typeof viaCli.nextCursor).toBe('string');
    for (const c of items) expect(keysOf(c)).toEqual(shapeKeys(certificateSchema));
    expect(viaRest.body).toEqual(viaCli);
    expect(viaTrpc.data).toEqual(viaCli);
  });

  it('request submit: { ca, csr, profile, ttl } → the same request object on the three', async () => {
    const a = csrFile('req-cli.contract.example');
    const b = csrFile('req-rest.contract.example');
    const c = csrFile('req-trpc.contract.example');
    const viaCli = await cliJson('request', 'submit', '--ca', 'contract-issuing', '--csr', a.file, '--ttl', '10d');
    const viaRest = await rest('POST', '/requests', { ca: 'contract-issuing', csr: b.csrPem, ttl: '10d' });
    const viaTrpc = await trpc('request.submit', { ca: 'contract-issuing', csr: c.csrPem, ttl: 864_000 }, true);
    expect(viaRest.status).toBe(201);
    for (const r of [viaCli, viaRest.body, viaTrpc.data!]) {
      expect(keysOf(r)).toEqual(shapeKeys(requestSchema));
      expect(r).toMatchObject({ status: 'pending', profile: 'tls-server', ttl: '10d' });
      expect(r.createdAt).toMatch(RFC3339);
    }
    const id = viaRest.body.id as string;
    const shown = await cliJson('request', 'show', id);
    expect(shown.id).toBe(id);
    expect((await rest('GET', `/requests/${id}`)).body).toEqual(shown);
    expect((await trpc('request.get', { id })).data).toEqual(shown);
  });

  it('every read (REST, tRPC, CLI --json): lists paged, times RFC 3339, lifetimes durations', async () => {
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
      'bulk.jobFile': { id: jobId, file: 'certificates.zip' },
    };

    const found: Partial<Record<RestTwinName, string[]>> = {};
    const reads = (Object.keys(REST_TWINS) as RestTwinName[]).filter((n) => REST_TWINS[n].method === 'GET');
    expect(reads).toEqual(expect.arrayContaining(['audit.list', 'token.list', 'user.list', 'ssh.listUsers']));
    // every read with a path parameter is walked too: a new one needs its input here
    const unwalked = reads.filter((n) => restPathParams(REST_TWINS[n].path).length > 0 && !pathInputs[n]);
    expect(unwalked, 'GET twins with path parameters and no input in pathInputs').toEqual([]);
    for (const name of reads) {
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
        const viaCli = await cliJson(...cmd);
        expect(stable(viaCli), `${name}: pkim ${cmd.join(' ')} --json = REST`).toEqual(stable(viaRest.body));
      }
      if (wrong.length) found[name] = wrong;
    }
    // every read follows the contract (a new offender fails here, naming what is wrong)
    expect(found).toEqual({});
    // the walk itself can fail: a bare array and an epoch-ms time are caught
    expect(contractViolations([{ createdAt: '2026-01-01T00:00:00.000Z' }])).toEqual([
      'a bare array, not { items, nextCursor }',
    ]);
    expect(contractViolations({ items: [{ lockedUntil: 1_790_000_000_000 }], nextCursor: null })).toEqual([
      '.items[].lockedUntil: a time as number',
    ]);
    expect(contractViolations({ maxTtlSeconds: 57_600, defaultLifetimeDays: 0.5, ttl: '16h' })).toEqual([
      '.maxTtlSeconds: a lifetime as number',
      '.defaultLifetimeDays: a lifetime as number',
    ]);
    expect(contractViolations({ generated: 1_790_000_000_000 })).toEqual(['.generated: epoch milliseconds']);
    expect(contractViolations({ policy: { max_ttl: 259_200, ttl: '1d' }, lifetimeMs: 86_400_000 })).toEqual([
      '.policy.max_ttl: a lifetime as number',
      '.lifetimeMs: a lifetime as number',
    ]);
    // an object with an `items` field among others is one object; `{ items }` alone is a list without its cursor
    expect(contractViolations({ id: 'job', state: 'succeeded', items: [] })).toEqual([]);
    expect(contractViolations({ items: [] })).toEqual(['page keys items', 'nextCursor not a string or null']);
  });

  it('token create and login: expiresAt RFC 3339, a token limit maxLifetime a duration on the three', async () => {
    const viaCli = await cliJson('token', 'create', '--name', 'c-cli', '--role', 'operator', '--max-lifetime', '30d');
    const viaRest = await rest('POST', '/tokens', {
      name: 'c-rest',
      role: 'operator',
      expiresIn: '30d',
      resources: { maxLifetime: '30d' },
    });
    expect(viaRest.status).toBe(201);
    // the first version's maxLifetimeMs is still accepted on input, and answered as a duration
    const viaTrpc = await trpc(
      'token.create',
      { name: 'c-trpc', role: 'operator', resources: { maxLifetimeMs: 30 * 86_400_000 } },
      true,
    );
    expect(viaTrpc.status, JSON.stringify(viaTrpc.error)).toBe(200);
    for (const t of [viaCli, viaRest.body, viaTrpc.data!]) {
      expect(t.expiresAt).toMatch(RFC3339);
      // the default lifetime of a token: 90 days
      expect(Date.parse(t.expiresAt as string) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    }
    expect(keysOf(viaRest.body)).toEqual(['expiresAt', 'id', 'token']);
    expect(keysOf(viaCli)).toEqual(['expiresAt', 'id', 'role', 'token']);
    const listed = (await rest('GET', '/tokens')).body.items as { name: string; resources: unknown }[];
    for (const name of ['c-cli', 'c-rest', 'c-trpc'])
      expect(listed.find((t) => t.name === name)?.resources, name).toEqual({ maxLifetime: '30d' });
    const both = await rest('POST', '/tokens', {
      name: 'c-both',
      role: 'operator',
      resources: { maxLifetime: '30d', maxLifetimeMs: 1000 },
    });
    expect(both.status).toBe(400);
    // the console's login answer: the session's end as RFC 3339
    const login = await fetch(`${base}/trpc/user.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'contract-login', password: 'contract-password-1' }),
    });
    const answer = ((await login.json()) as { result: { data: { expiresAt: unknown } } }).result.data;
    expect(answer.expiresAt).toMatch(RFC3339);
    expect(Date.parse(answer.expiresAt as string)).toBeGreaterThan(Date.now());
  });

  it('token and user lists: the contract objects on the three transports, never a secret or a hash', async () => {
    const created = await fx.authority.auth.createToken({ name: 'contract-secret', role: 'auditor' }, ACTORS.admin);
    const db = new Database(join(fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
    const secrets = [
      created.token,
      token,
      ...db
        .prepare('SELECT token_hash AS h FROM api_tokens')
        .all()
        .map((r) => (r as { h: string }).h),
      ...db
        .prepare('SELECT password_hash AS h FROM users')
        .all()
        .map((r) => (r as { h: string }).h),
    ];
    db.close();
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    for (const [what, cmd, path, proc] of [
      ['tokens', ['token', 'list'], '/tokens', 'token.list'],
      ['users', ['user', 'list'], '/users', 'user.list'],
    ] as const) {
      const answers = [await cliJson(...cmd), (await rest('GET', path)).body, (await trpc(proc)).data];
      for (const page of answers) {
        const text = JSON.stringify(page);
        for (const secret of secrets) expect(text, what).not.toContain(secret);
        expect(text, what).not.toMatch(/hash|password|scrypt|pkim_/i);
        const items = (page as { items: Record<string, unknown>[] }).items;
        expect(items.length, what).toBeGreaterThanOrEqual(1);
        expect(keysOf(items[0]!), what).toEqual(
          what === 'tokens'
            ? ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'resources', 'revokedAt', 'role', 'scopes']
            : ['createdAt', 'disabled', 'id', 'lockedAddresses', 'lockedUntil', 'role', 'username'],
        );
      }
    }
  });

  it('errors: { error: { code, message } } — CLI --json on stderr, REST body, tRPC error data', async () => {
    const c = await cli('ca', 'show', 'no-such-ca', '--json');
    expect(c.code).toBe(3);
    expect(c.stdout).toBe('');
    const cliError = JSON.parse(c.stderr) as { error: { code: string; message: string } };
    expect(cliError.error.code).toBe('ca.not_found');
    const r = await rest('GET', '/cas/no-such-ca');
    expect(r.status).toBe(404);
    expect(r.body.error).toEqual(cliError.error);
    const t = await trpc('ca.get', { ref: 'no-such-ca' });
    expect(t.status).toBe(404);
    expect((t.error?.data as { error: unknown }).error).toEqual(cliError.error);

    // input errors carry the same code everywhere, and name the field
    const badTtl = await rest('POST', '/requests', { ca: 'contract-issuing', csr: 'x', ttl: 'soon' });
    expect(badTtl.status).toBe(400);
    expect((badTtl.body.error as { code: string }).code).toBe('input.invalid');
    const badTrpc = await trpc('request.submit', { ca: 'contract-issuing', csr: 'x' }, true);
    expect((badTrpc.error?.data as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'input.invalid',
      message: expect.stringMatching(/^csr: /),
    });
  });
});
