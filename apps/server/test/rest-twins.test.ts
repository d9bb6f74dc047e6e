// The REST twin of the tRPC procedures (issue #17 item 1): every procedure has one (or a justified exclusion), the
// twins take their input from path + query/body through the procedure's own schema, answer the same objects as tRPC,
// and the API documentation (OpenAPI 3.1 + Swagger UI) is served by the server itself. The walk of every operation of
// the document against its schemas is in authorization-matrix-rest-1/-2.test.ts (admin principal).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import SwaggerParser from '@apidevtools/swagger-parser';
import { appRouter, buildServer } from '@pkim/server';
import { REST_EXCLUDED, REST_TWINS, restCallFor } from '@pkim/contract';
import {
  ACTORS,
  type AuthorityFixture,
  callerFor,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
} from './server-test-support';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

interface OpenApiOperation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

/** an "any" schema: missing, empty (`{}`), `true`, or an array/record whose items are any of those */
function isUntyped(s: Record<string, unknown> | boolean | undefined): boolean {
  if (s === undefined || s === true || (typeof s === 'object' && Object.keys(s).length === 0)) return true;
  if (typeof s !== 'object') return false;
  const meaningful = ['type', '$ref', 'anyOf', 'oneOf', 'allOf', 'const', 'enum', 'properties'];
  if (!meaningful.some((k) => k in s)) return true;
  if (s.type === 'array') return isUntyped(s.items as Record<string, unknown> | undefined);
  return false;
}

const procedureNames = () => Object.keys((appRouter as unknown as { _def: { procedures: object } })._def.procedures);

describe('REST twins of the tRPC procedures and the API documentation', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  let token: string;

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(`${base}${path}`, {
      method,
      // an empty header value means: leave the header out
      headers: Object.fromEntries(
        Object.entries({
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        }).filter(([, v]) => v !== ''),
      ),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
    return { status: r.status, text, json, type: r.headers.get('content-type') ?? '', headers: r.headers };
  };

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const a = fx.authority;
    await createIssuingCa(a, await createRootCa(a, 'twin-root'), 'twin-issuing');
    token = (await a.auth.createToken({ name: 'twin-admin', role: 'admin' }, ACTORS.admin)).token;
    app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('every tRPC procedure has a REST twin or a justified exclusion, and no twin names a missing procedure', () => {
    const names = procedureNames();
    const missing = names.filter((n) => !(n in REST_TWINS) && !(n in REST_EXCLUDED));
    expect(missing, 'procedures without a REST twin: add a row to REST_TWINS (packages/contract)').toEqual([]);
    expect(Object.keys(REST_TWINS).filter((n) => !names.includes(n))).toEqual([]);
    expect(Object.keys(REST_EXCLUDED).filter((n) => n in REST_TWINS)).toEqual([]);
    for (const why of Object.values(REST_EXCLUDED)) expect(why.length).toBeGreaterThan(20);
  });

  it("the README's REST API reference lists every twin", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const rows = Object.entries(REST_TWINS)
      .map(([name, t]) => `| \`${t.method} /api/v1${t.path}\` | \`${name}\` |`)
      .filter((row) => !readme.includes(row));
    expect(rows, 'missing in README.md "REST API reference"').toEqual([]);
  });

  it('publishes a valid OpenAPI 3.1 document: one operation per twin, bearer auth, the error shape', async () => {
    const r = await api('GET', '/api/v1/openapi.json', undefined, { authorization: '' });
    expect(r.status).toBe(200);
    const doc = r.json as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(doc.openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(doc) as never);
    const operationIds = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    for (const name of Object.keys(REST_TWINS)) expect(operationIds).toContain(name);
    expect(doc.paths['/api/v1/cas/{id}']?.get).toMatchObject({
      operationId: 'ca.get',
      parameters: [{ name: 'id', in: 'path', required: true }],
    });
    // the input of a GET travels as typed query parameters
    const list = doc.paths['/api/v1/certificates']!.get as unknown as {
      parameters: { name: string; schema: object }[];
    };
    expect(list.parameters.find((p) => p.name === 'limit')?.schema).toMatchObject({ type: 'integer' });
  });

  it('documents the statuses refusals answer: 422 for policy and lint, 429, 503 — a 422 seen on the wire', async () => {
    const doc = (await api('GET', '/api/v1/openapi.json', undefined, { authorization: '' })).json as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    const missing = Object.values(doc.paths)
      .flatMap((ops) => Object.values(ops))
      .flatMap((op) => ['422', '429', '503'].filter((s) => !op.responses[s]).map((s) => `${op.operationId} ${s}`));
    expect(missing).toEqual([]);
    const refused = await api('POST', '/api/v1/certificates/with-key', {
      ca: 'twin-issuing',
      profile: 'tls-server',
      subject: { commonName: 'long.example.com' },
      sans: { dns: ['long.example.com'] },
      keyType: 'ec-p256',
      ttl: '500d',
    });
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ code: 'policy.lifetime_exceeded' });
    const documented = doc.paths['/api/v1/certificates/with-key']!.post!.responses['422'] as { content?: object };
    expect(JSON.stringify(documented.content)).toContain('#/components/schemas/Error');
  });

  it('types the success answer of every operation: no untyped ("any" or empty) response schema', async () => {
    const doc = (await api('GET', '/api/v1/openapi.json', undefined, { authorization: '' })).json as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    const untyped: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
        if (success.length === 0) untyped.push(`${op.operationId} (${method.toUpperCase()} ${path}): no 2xx answer`);
        for (const [status, r] of success) {
          for (const [media, c] of Object.entries(r.content ?? {})) {
            if (isUntyped(c.schema))
              untyped.push(`${op.operationId} (${method.toUpperCase()} ${path}) ${status} ${media}`);
          }
        }
      }
    }
    expect(untyped, 'operations answering an untyped schema: add a zod output schema (packages/contract)').toEqual([]);
    // the check itself: an empty schema and an array of anything are untyped, a typed object is not
    expect([isUntyped({}), isUntyped(undefined), isUntyped({ type: 'array', items: {} })]).toEqual([true, true, true]);
    expect(isUntyped({ type: 'object', properties: { a: { type: 'string' } } })).toBe(false);
  });

  it('serves Swagger UI at /api/docs from the package files (no CDN), with its own CSP', async () => {
    const page = await api('GET', '/api/docs', undefined, { authorization: '' });
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref.startsWith('/api/docs/'), ref).toBe(true);
      const f = await api('GET', ref, undefined, { authorization: '' });
      expect(f.status, ref).toBe(200);
    }
    const bundle = await api('GET', '/api/docs/swagger-ui-bundle.js', undefined, { authorization: '' });
    expect(bundle.text).toContain('SwaggerUIBundle');
    expect((await api('GET', '/api/docs/pkim-docs.js')).text).toContain('/api/v1/openapi.json');
    expect((await api('GET', '/api/docs/package.json')).status).toBe(404);
  });

  it('answers 404 in the REST error shape for a Swagger UI file missing on disk', async () => {
    const tmp = tempDir('pkim-api-docs-');
    writeFileSync(join(tmp.dir, 'swagger-ui.css'), 'body {}');
    const docs = await buildServer(fx.authority, {
      logger: false,
      backgroundJobs: false,
      console: false,
      apiDocsDir: tmp.dir,
    });
    try {
      const at = await listen(docs);
      const css = await fetch(`${at}/api/docs/swagger-ui.css`);
      expect(css.status).toBe(200);
      expect(await css.text()).toBe('body {}');
      const missing = await fetch(`${at}/api/docs/swagger-ui-bundle.js`, { headers: { 'x-request-id': 'docs-1' } });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
      const message = "Swagger UI's swagger-ui-bundle.js is not installed with this server";
      expect(await missing.json()).toEqual({
        error: { code: 'route.not_found', message },
        code: 'route.not_found',
        message,
        requestId: 'docs-1',
      });
    } finally {
      await docs.close();
      tmp.cleanup();
    }
  });

  it('answers as tRPC does: create a CA (201), issue, revoke, list with typed query parameters', async () => {
    // no keyType: ec-p256, as `pkim ca create` and `cert issue` (the console and bulk rows) default to
    const created = await api('POST', '/api/v1/cas', {
      name: 'twin-made',
      subject: { commonName: 'Twin Made CA' },
      parent: 'twin-root',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.keyType).toBe('ec-p256');
    const viaTrpc = await callerFor(fx.authority, ACTORS.admin).ca.get({ ref: 'twin-made' });
    expect(created.json).toEqual(JSON.parse(JSON.stringify(viaTrpc)));

    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=twin.example', sans: ['DNS:twin.example'] }).csrPem;
    const issued = await api('POST', '/api/v1/certificates', { ca: 'twin-made', csr, profile: 'tls-server' });
    expect(issued.status, issued.text).toBe(201);
    const rootPem = (await api('GET', '/api/v1/cas/twin-root')).json.certificatePem as string;
    const v = opensslVerify({
      leafPem: issued.json.certificatePem as string,
      chainPems: [created.json.certificatePem as string],
      rootPem,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);

    const withKey = await api('POST', '/api/v1/certificates/with-key', {
      ca: 'twin-made',
      subject: { commonName: 'key.twin.example' },
      sans: { dns: ['key.twin.example'] },
    });
    expect(withKey.status, withKey.text).toBe(201);
    expect(withKey.json.keyType).toBe('ec-p256');
    const generated = opensslVerify({
      leafPem: withKey.json.certificatePem as string,
      chainPems: [created.json.certificatePem as string],
      rootPem,
      purpose: 'sslserver',
    });
    expect(generated.ok, generated.output).toBe(true);
    expect(withKey.json.privateKeyPem as string).toContain('PRIVATE KEY');

    const call = restCallFor('certificate.revoke', { ref: issued.json.serial, reason: 'superseded' });
    expect(call.url).toBe(`/api/v1/certificates/${issued.json.serial as string}/revoke`);
    const revoked = await api(call.method, call.url, call.body);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.json).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });

    const page = await api('GET', '/api/v1/certificates?ca=twin-made&status=revoked&limit=1');
    expect(page.status, page.text).toBe(200);
    expect((page.json.items as { serial: string }[]).map((c) => c.serial)).toEqual([issued.json.serial]);
  });

  it('refuses bad input with 400 input.invalid naming the field, an unknown field, and changes nothing', async () => {
    const before = (await api('GET', '/api/v1/cas')).json.items as unknown[];
    const bad = await api('POST', '/api/v1/cas', { name: 'x', subject: { commonName: 'X' }, keyType: 'rsa-7' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'input.invalid', error: { code: 'input.invalid' } });
    expect(bad.json.message).toMatch(/^keyType: /);
    const limit = await api('GET', '/api/v1/certificates?limit=many');
    expect(limit.status).toBe(400);
    expect(limit.json.message).toMatch(/^limit: /);
    const unknown = await api('GET', '/api/v1/cas/twin-root?frobnicate=1');
    expect([200, 400]).toContain(unknown.status); // ca.get's schema decides; never a 500
    // a procedure without input refuses a key rather than drop it (the whole answer taken for a filtered one)
    for (const url of ['/api/v1/users/me?status=disabled', '/api/v1/system/info?verbose=1&x=2']) {
      const stray = await api('GET', url);
      expect(stray.status, url).toBe(400);
      expect(stray.json.code).toBe('input.invalid');
    }
    expect((await api('GET', '/api/v1/users/me?status=disabled')).json.message).toBe('Unrecognized key: "status"');
    expect((await api('GET', '/api/v1/users/me')).status).toBe(200);
    expect((await api('GET', '/api/v1/cas')).json.items).toEqual(before);
    const body = await api('PUT', '/api/v1/users/me/password', [1, 2]);
    expect(body.status).toBe(400);
  });

  it('a twin with a download answers the file, or the JSON object with Accept: application/json', async () => {
    const file = await api('POST', '/api/v1/cas/twin-root/truststore', { format: 'pem' });
    expect(file.status, file.text).toBe(200);
    expect(file.type).toContain('application/pem-certificate-chain');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="/);
    expect(file.text).toContain('-----BEGIN CERTIFICATE-----');
    const json = await api(
      'POST',
      '/api/v1/cas/twin-root/truststore',
      { format: 'pem' },
      { accept: 'application/json' },
    );
    expect(json.status).toBe(200);
    expect(Buffer.from(json.json.contentBase64 as string, 'base64').toString()).toBe(file.text);
  });

  it("needs the procedure's permission: a requester token may not create a CA (403, nothing created)", async () => {
    const requester = (await fx.authority.auth.createToken({ name: 'twin-req', role: 'requester' }, ACTORS.admin))
      .token;
    const r = await api(
      'POST',
      '/api/v1/cas',
      { name: 'twin-nope', subject: { commonName: 'Nope' }, keyType: 'ec-p256' },
      { authorization: `Bearer ${requester}` },
    );
    expect(r.status).toBe(403);
    expect(r.json.code).toBe('auth.forbidden');
    expect((await api('GET', '/api/v1/cas/twin-nope')).status).toBe(404);
  });
});
