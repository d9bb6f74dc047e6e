// `Idempotency-Key` on the REST API's POSTs (IETF draft "The Idempotency-Key HTTP Header Field"): a client that lost
// the answer to a creation (a cut connection, a timeout, a restarted server) sends the same request again with the
// same key and gets the first answer — not `ca.name_taken` for the CA it made, not a second certificate. Real
// servers: `startServer` on a data dir (SQLite), closed and started again between a request and its retry; two
// servers on one PostgreSQL database. Certificates answered are checked by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { REST_PREFIX, REST_TWINS } from '@pkim/contract';
import { buildServer, startServer, type RunningServer } from '@pkim/server';
import { IDEMPOTENCY_REFUSED, parseIdempotencyKey } from '../src/http/idempotency-plugin';
import { jsonSchemaOf, procedureSchemas } from '../src/http/openapi-document';
import { appRouter } from '../src/transports/trpc/app-router';
import { HANDWRITTEN_REST_OPERATIONS } from '../src/transports/rest/rest-pki-plugin';
import { SSH_API_OPERATIONS } from '../src/transports/ssh/ssh-transport';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { ACTORS, listen, openAuthorityFixture } from './server-test-support';

interface Answer {
  status: number;
  text: string;
  replayed: string | null;
  json: Record<string, unknown>;
}

async function post(base: string, token: string, path: string, body: unknown, key?: string): Promise<Answer> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // a file answer
  }
  return { status: res.status, text, replayed: res.headers.get('idempotent-replayed'), json };
}

const rootBody = (name: string) => ({ name, subject: { commonName: `${name} Root` }, keyType: 'ec-p256' });

describe('Idempotency-Key on REST creations, one server restarted between a request and its retry', () => {
  const tmp = tempDir('pkim-idempotency-');
  const dataDir = join(tmp.dir, 'data');
  let server: RunningServer;
  let alice: string;
  let bob: string;
  const start = () =>
    startServer({
      dataDir,
      port: 0,
      logLevel: 'silent',
      handleSignals: false,
      print: () => undefined,
      server: { backgroundJobs: false },
    });

  beforeAll(async () => {
    server = await start();
    alice = (await server.authority.auth.createToken({ name: 'alice-ci', role: 'admin' }, ACTORS.admin)).token;
    bob = (await server.authority.auth.createToken({ name: 'bob-ci', role: 'admin' }, ACTORS.admin)).token;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  const created = async (action: string) =>
    (await server.authority.audit.list({ action, limit: 100 })).map((e) => e.target);

  it('answers a retried CA creation with the first answer, also after a restart (was: 409 ca.name_taken)', async () => {
    const first = await post(server.url, alice, '/cas', rootBody('idem-root'), 'ca-create-1');
    expect(first.status, first.text).toBe(201);
    expect(first.replayed).toBeNull();
    const again = await post(server.url, alice, '/cas', rootBody('idem-root'), 'ca-create-1');
    expect(again).toMatchObject({ status: 201, text: first.text, replayed: 'true' });

    await server.close();
    server = await start();
    // the draft's structured-field string form names the same key
    const afterRestart = await post(server.url, alice, '/cas', rootBody('idem-root'), '"ca-create-1"');
    expect(afterRestart).toMatchObject({ status: 201, text: first.text, replayed: 'true' });
    expect(await created('ca.created')).toEqual([first.json.id]);
    // without a key the same request is a new one: the name is taken
    expect((await post(server.url, alice, '/cas', rootBody('idem-root'))).json.code).toBe('ca.name_taken');
  });

  it('refuses the key with another request (422 idempotency.key_reused) and changes nothing', async () => {
    const other = await post(server.url, alice, '/cas', rootBody('idem-other'), 'ca-create-1');
    expect(other.status, other.text).toBe(422);
    expect(other.json.code).toBe('idempotency.key_reused');
    // the same body on another path is another request too
    const path = await post(server.url, alice, '/profiles', rootBody('idem-root'), 'ca-create-1');
    expect(path.json.code).toBe('idempotency.key_reused');
    expect((await server.authority.cas.list()).map((c) => c.name)).toEqual(['idem-root']);
  });

  it("keeps keys per caller: another token's same key is its own request and never sees the first answer", async () => {
    const bobs = await post(server.url, bob, '/cas', rootBody('idem-root'), 'ca-create-1');
    expect(bobs).toMatchObject({ status: 409, replayed: null });
    expect(bobs.json.code).toBe('ca.name_taken');
    const bobsOwn = await post(server.url, bob, '/cas', rootBody('idem-bob'), 'ca-create-1');
    expect(bobsOwn.status, bobsOwn.text).toBe(201);
    expect(bobsOwn.json.name).toBe('idem-bob');
    expect(await post(server.url, bob, '/cas', rootBody('idem-bob'), 'ca-create-1')).toMatchObject({
      status: 201,
      text: bobsOwn.text,
      replayed: 'true',
    });
  });

  it('issues one certificate for a retried CSR sign, on both sign routes (openssl verifies it)', async () => {
    const ca = (await server.authority.cas.list()).find((c) => c.name === 'idem-root')!;
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=idem.example', sans: ['DNS:idem.example'] });
    const body = { ca: ca.id, csr: csrPem, profile: 'tls-server', ttl: '1d' };
    const first = await post(server.url, alice, '/certificates', body, 'issue-1');
    expect(first.status, first.text).toBe(201);
    expect(await post(server.url, alice, '/certificates', body, 'issue-1')).toMatchObject({
      text: first.text,
      replayed: 'true',
    });
    // POST /cas/:id/sign: the front path leaves a request with the header to the router
    const sign = { csr: csrPem, profile: 'tls-server', ttl: '1d' };
    const signed = await post(server.url, alice, `/cas/${ca.id}/sign`, sign, 'sign-1');
    expect(signed.status, signed.text).toBe(201);
    expect(await post(server.url, alice, `/cas/${ca.id}/sign`, sign, 'sign-1')).toMatchObject({
      status: 201,
      text: signed.text,
      replayed: 'true',
    });
    expect(await created('certificate.issued')).toHaveLength(2);
    for (const a of [first, signed]) {
      const pem = (a.json.certificatePem ?? a.json.certificate) as string;
      expect(opensslVerify({ leafPem: pem, rootPem: ca.certificatePem!, hostname: 'idem.example' }).ok).toBe(true);
    }
  });

  it('refuses the key where the answer carries a private key or a secret, and issues nothing', async () => {
    const before = (await created('certificate.issued')).length;
    const withKey = await post(
      server.url,
      alice,
      '/certificates/with-key',
      { ca: 'idem-root', subject: { commonName: 'k.example' }, sans: ['k.example'] },
      'with-key-1',
    );
    expect(withKey.status, withKey.text).toBe(400);
    expect(withKey.json.code).toBe('idempotency.not_supported');
    expect(withKey.json.message).toContain('POST /api/v1/certificates');
    expect((await created('certificate.issued')).length).toBe(before);
    const token = await post(server.url, alice, '/tokens', { name: 'again', role: 'auditor' }, 'token-1');
    expect(token.json.code).toBe('idempotency.not_supported');
    expect((await server.authority.auth.listTokens()).map((t) => t.name).sort()).toEqual(['alice-ci', 'bob-ci']);
  });

  it('refuses a key that is not one (400 idempotency.invalid_key)', async () => {
    for (const bad of ['', 'a'.repeat(256), 'two words', '"unterminated', '"a"b"']) {
      const r = await post(server.url, alice, '/cas', rootBody('idem-bad'), bad);
      expect(r.json.code, JSON.stringify(bad)).toBe('idempotency.invalid_key');
    }
    expect(parseIdempotencyKey('"say \\"hi\\""')).toBe('say "hi"');
    expect(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
  });

  it('lets a retry sent while the first request runs wait for it (409 idempotency.in_progress) or replay', async () => {
    const answers = await Promise.all(
      [0, 1, 2].map(() => post(server.url, alice, '/cas', rootBody('idem-race'), 'race-1')),
    );
    const made = answers.filter((a) => a.status === 201);
    expect(made.length).toBeGreaterThanOrEqual(1);
    for (const a of made) expect(a.text).toBe(made[0]!.text);
    for (const a of answers.filter((x) => x.status !== 201)) {
      expect(a.status, a.text).toBe(409);
      expect(a.json).toMatchObject({ code: 'idempotency.in_progress' });
    }
    expect((await server.authority.cas.list()).filter((c) => c.name === 'idem-race')).toHaveLength(1);
  });
});

describe('Idempotency-Key expiry (PKIM_IDEMPOTENCY_TTL)', () => {
  it('runs a request again once its key has expired, and refuses a TTL out of range', async () => {
    const clock = fixedClock(Date.UTC(2026, 11, 7));
    const f = await openAuthorityFixture({ clock, env: { PKIM_IDEMPOTENCY_TTL: '2h' } });
    const app = await buildServer(f.authority, { logger: false, processMetrics: false, backgroundJobs: false });
    try {
      const base = await listen(app);
      const token = (await f.authority.auth.createToken({ name: 'ttl', role: 'admin' }, ACTORS.admin)).token;
      const body = { username: 'ttl-user', password: 'a long enough password', role: 'auditor' };
      expect((await post(base, token, '/users', body, 'user-1')).status).toBe(201);
      clock.advance(2 * 3_600_000 - 1);
      expect(await post(base, token, '/users', body, 'user-1')).toMatchObject({ status: 201, replayed: 'true' });
      clock.advance(1);
      const expired = await post(base, token, '/users', body, 'user-1');
      expect(expired.status, expired.text).toBe(409); // run again: the user exists
      expect(expired.replayed).toBeNull();
    } finally {
      await app.close();
      await f.close();
    }
    for (const bad of ['30s', '31d', 'soon']) {
      await expect(openAuthorityFixture({ env: { PKIM_IDEMPOTENCY_TTL: bad } })).rejects.toThrow(
        /PKIM_IDEMPOTENCY_TTL/,
      );
    }
  });
});

describe('Idempotency-Key when the server stopped between the creation and keeping its answer', () => {
  it('answers 409 idempotency.answer_lost naming the certificate made, not a second; none: runs again', async () => {
    const clock = fixedClock(Date.UTC(2026, 11, 7));
    const f = await openAuthorityFixture({ clock });
    const app = await buildServer(f.authority, { logger: false, processMetrics: false, backgroundJobs: false });
    try {
      const base = await listen(app);
      const token = (await f.authority.auth.createToken({ name: 'crash', role: 'admin' }, ACTORS.admin)).token;
      const root = await post(base, token, '/cas', rootBody('crash-root'), 'crash-ca');
      expect(root.status, root.text).toBe(201);
      const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=crash.example', sans: ['DNS:crash.example'] });
      const body = { ca: root.json.id, csr: csrPem, profile: 'tls-server', ttl: '1d' };
      const first = await post(base, token, '/certificates', body, 'crash-1');
      expect(first.status, first.text).toBe(201);
      // what a server stopped after the creation's commit and before keeping the answer leaves in the database: the
      // certificate and its events committed, the key's row still running (a file-level edit of that one row)
      const db = new Database(join(f.dataDir, 'pkim.db'));
      const unanswered = () =>
        db
          .prepare(
            "update idempotency_keys set state = 'running', status = null, content_type = null, body = null " +
              'where key = ?',
          )
          .run('crash-1');
      try {
        expect(unanswered().changes).toBe(1);
        expect((await post(base, token, '/certificates', body, 'crash-1')).json).toMatchObject({
          code: 'idempotency.in_progress',
        });
        clock.advance(10 * 60_000 + 1); // the lease: the first request is taken for dead
        const retried = await post(base, token, '/certificates', body, 'crash-1');
        expect(retried.status, retried.text).toBe(409);
        expect(retried.json).toMatchObject({
          code: 'idempotency.answer_lost',
          details: { action: 'certificate.issued', target: first.json.id },
        });
        const issued = await f.authority.audit.list({ action: 'certificate.issued', limit: 100 });
        expect(issued.map((e) => e.target)).toEqual([first.json.id]);
        // a request that died before its creation committed (no event names its claim) runs again
        db.prepare("update idempotency_keys set owner = 'died-before-commit' where key = 'crash-1'").run();
        const again = await post(base, token, '/certificates', body, 'crash-1');
        expect(again.status, again.text).toBe(201);
        expect(again.json.id).not.toBe(first.json.id);
        expect(await post(base, token, '/certificates', body, 'crash-1')).toMatchObject({ replayed: 'true' });
      } finally {
        db.close();
      }
    } finally {
      await app.close();
      await f.close();
    }
  });
});

describe('Idempotency-Key across two servers on one PostgreSQL database', { timeout: 180_000 }, () => {
  const hosts = postgresInstances();
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  it('replays on instance B the answer instance A gave', async () => {
    const [a, b] = await hosts.two();
    const serve = async (authority: Authority) => {
      const app = await buildServer(authority, { logger: false, processMetrics: false, backgroundJobs: false });
      apps.push(app);
      return listen(app);
    };
    const [baseA, baseB] = [await serve(a), await serve(b)];
    const token = (await a.auth.createToken({ name: 'pg', role: 'admin' }, ACTORS.admin)).token;
    const first = await post(baseA, token, '/cas', rootBody('pg-idem'), 'pg-1');
    expect(first.status, first.text).toBe(201);
    expect(await post(baseB, token, '/cas', rootBody('pg-idem'), 'pg-1')).toMatchObject({
      status: 201,
      text: first.text,
      replayed: 'true',
    });
    expect((await post(baseB, token, '/cas', rootBody('pg-other'), 'pg-1')).json.code).toBe('idempotency.key_reused');
    expect((await b.cas.list()).map((c) => c.name)).toEqual(['pg-idem']);
  });
});

/**
 * POST routes whose answer schema names a key or secret field that their answer never fills (and the plugin keeps no
 * answer holding a PEM private key, whatever the route: `PRIVATE KEY-----` in it)
 */
const CARRY_NONE: Record<string, string> = {
  'POST /api/v1/certificates': "issued from the caller's CSR: the schema's privateKeyPem is /with-key's",
  'POST /api/v1/cas/:id/sign': "issued from the caller's CSR (as POST /certificates)",
  'POST /api/v1/requests/:id/approve': "a request carries the requester's CSR",
  'POST /api/v1/bulk/csv': "a job: its files' containsPrivateKey says which file (fetched with GET) holds keys",
  'POST /api/v1/bulk/revoke': 'a job (as bulk/csv)',
  'POST /api/v1/bulk/renew': 'a job (as bulk/csv)',
  'POST /api/v1/bulk/download': 'a job (as bulk/csv)',
};

/** property names of a JSON Schema, at any depth */
function propertyNames(s: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(s)) for (const x of s) propertyNames(x, out);
  else if (s && typeof s === 'object') {
    const o = s as Record<string, unknown>;
    if (o.properties && typeof o.properties === 'object') for (const k of Object.keys(o.properties)) out.add(k);
    for (const v of Object.values(o)) propertyNames(v, out);
  }
  return out;
}

describe('the routes that refuse Idempotency-Key', () => {
  it('include every REST POST whose answer can carry a private key or a secret', () => {
    const SECRET = /private|secret|hmac|^token$|password|pkcs12|contentBase64/i;
    const procedures = procedureSchemas(appRouter);
    const carrying: string[] = [];
    for (const [name, twin] of Object.entries(REST_TWINS)) {
      if (twin.method !== 'POST') continue;
      const output = procedures.get(name)?.output;
      const names = output ? [...propertyNames(jsonSchemaOf(output, 'output'))] : [];
      if (names.some((n) => SECRET.test(n))) carrying.push(`POST ${REST_PREFIX}${twin.path}`);
    }
    for (const op of [...HANDWRITTEN_REST_OPERATIONS, ...SSH_API_OPERATIONS]) {
      if (op.method !== 'POST' || !op.output || !('shape' in op.output)) continue;
      const names = Object.keys((op.output as { shape: Record<string, unknown> }).shape);
      if (names.some((n) => SECRET.test(n))) carrying.push(`${op.method} ${op.path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    expect(carrying.length).toBeGreaterThan(3);
    for (const route of carrying) {
      if (route in CARRY_NONE) continue;
      expect(Object.keys(IDEMPOTENCY_REFUSED), route).toContain(route);
    }
  });

  it('are the POSTs of the OpenAPI document without the Idempotency-Key parameter', async () => {
    const f = await openAuthorityFixture();
    const app = await buildServer(f.authority, { logger: false, processMetrics: false, backgroundJobs: false });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      const doc = res.json<{ paths: Record<string, { post?: { parameters: { $ref?: string }[] } }> }>();
      const without: string[] = [];
      let taking = 0;
      for (const [path, ops] of Object.entries(doc.paths)) {
        if (!ops.post || !path.startsWith('/api/v1/')) continue;
        if (ops.post.parameters.some((p) => p.$ref === '#/components/parameters/IdempotencyKey')) taking++;
        else without.push(`POST ${path.replace(/\{(\w+)\}/g, ':$1')}`);
      }
      expect(without.sort()).toEqual(Object.keys(IDEMPOTENCY_REFUSED).sort());
      expect(taking).toBeGreaterThan(40);
    } finally {
      await app.close();
      await f.close();
    }
  });
});
