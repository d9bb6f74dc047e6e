// The output contract (docs/api-contract.md): the same operations through the CLI (`--json`), REST and tRPC give
// the same objects — same field names, RFC 3339 times, lowercase hex serials, lists as { items, nextCursor }, one
// object with its PEM beside it, errors as { error: { code, message } }.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
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
} from '@pkim/contract';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { runPkimAsync, type CliResult } from '../../../tests/support/cli-runner';
import { opensslVerify } from '../../../tests/support/verifiers';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const keysOf = (o: object) => Object.keys(o).sort();
const shapeKeys = (s: { shape: object }) => Object.keys(s.shape).sort();

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
  const csrFile = (cn: string) => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
    const f = join(work.dir, `${cn}.csr`);
    writeFileSync(f, csrPem);
    return { csrPem, file: f };
  };

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const a = fx.authority;
    const root = await a.cas.create(
      { name: 'contract-root', subject: 'CN=Contract Root', keyType: 'ec-p256' },
      ACTORS.admin,
    );
    rootPem = root.certificatePem!;
    await a.cas.create(
      { name: 'contract-issuing', subject: 'CN=Contract Issuing', keyType: 'ec-p256', parentId: root.ca.id },
      ACTORS.admin,
    );
    token = (await a.auth.createToken({ name: 'contract', role: 'admin' }, ACTORS.admin)).token;
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
