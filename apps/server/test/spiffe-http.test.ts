import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/build-server';
import { listen, openAuthorityFixture, silent, type AuthorityFixture } from './server-test-support';
import { goVerify, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { TEST_ADMIN } from '../../../tests/support/test-kit';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';

describe('SPIFFE over HTTP: GET /pki/ca/bundle, POST /pki/csr/sign', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    app = await buildServer(fx.authority, { logger: silent, backgroundJobs: false, rateLimit: false });
    token = (
      await fx.authority.auth.createToken(
        { name: 'w', role: 'operator', scopes: ['spiffe:sign'], resources: { spiffe: ['node/*', 'gateway/gw-*'] } },
        TEST_ADMIN,
      )
    ).token;
  });
  afterAll(async () => {
    await app.close();
    await fx.close();
  });

  const sign = (body: unknown, auth?: string) =>
    app.inject({
      method: 'POST',
      url: '/pki/csr/sign',
      headers: auth === undefined ? {} : { authorization: auth },
      payload: body as object,
    });

  it('answers 503 before initialisation, then the bundle with ETag, 304 and Cache-Control', async () => {
    const before = await app.inject({ method: 'GET', url: '/pki/ca/bundle' });
    expect(before.statusCode).toBe(503);
    expect(before.json().code).toBe('spiffe.not_initialized');
    await fx.authority.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
    const r = await app.inject({ method: 'GET', url: '/pki/ca/bundle' });
    expect(r.statusCode).toBe(200);
    const b = r.json();
    expect(Object.keys(b).sort()).toEqual(['expiresAt', 'servicesBundle', 'transportBundle', 'trustDomain', 'version']);
    expect(r.headers.etag).toBe(`"${b.version}"`);
    expect(r.headers['cache-control']).toBe('public, max-age=300');
    const again = await app.inject({
      method: 'GET',
      url: '/pki/ca/bundle',
      headers: { 'if-none-match': r.headers.etag },
    });
    expect(again.statusCode).toBe(304);
    // If-None-Match compares weakly (RFC 9110): the W/ tag a compressing proxy (nginx gzip) hands out revalidates too
    for (const inm of [`W/${r.headers.etag}`, `"other", W/${r.headers.etag}`]) {
      const weak = await app.inject({ method: 'GET', url: '/pki/ca/bundle', headers: { 'if-none-match': inm } });
      expect(weak.statusCode, inm).toBe(304);
    }
    const other = await app.inject({ method: 'GET', url: '/pki/ca/bundle', headers: { 'if-none-match': 'W/"x"' } });
    expect(other.statusCode).toBe(200);
  });

  it('signs a CSR for a Bearer token and answers the wire shape', async () => {
    const id = spiffeIdFor('node', 'n-1');
    const r = await sign({ csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'n-1' }, `Bearer ${token}`);
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(Object.keys(body).sort()).toEqual(
      ['certificatePem', 'chain', 'expiresAt', 'fingerprint', 'renewAfter', 'serial', 'spiffeId'].sort(),
    );
    const bundle = (await app.inject({ method: 'GET', url: '/pki/ca/bundle' })).json();
    const v = opensslVerify({
      leafPem: body.certificatePem,
      chainPems: body.chain,
      rootPem: bundle.servicesBundle.at(-1),
      purpose: 'sslclient',
    });
    expect(v.ok, v.output).toBe(true);
  });

  it('maps refusals to 400/401/403 with stable codes', async () => {
    const ok = (t: string, i: string) => svidCsr(spiffeIdFor(t, i)).csrPem;
    await fx.authority.spiffe.deny({ spiffeId: spiffeIdFor('node', 'bad'), reason: 'x' }, TEST_ADMIN);
    const nodeA = { csrPem: ok('node', 'a'), serviceType: 'node', instanceId: 'a' };
    const withToken = (rows: [number, string, unknown][]) => rows.map((r) => [...r, `Bearer ${token}`] as const);
    const cases: (readonly [number, string, unknown, string | undefined])[] = [
      [401, 'auth.unauthenticated', nodeA, undefined],
      [401, 'auth.unauthenticated', nodeA, 'Bearer pkim_x'],
      ...withToken([
        [400, 'spiffe.identity_mismatch', { ...nodeA, instanceId: 'b' }],
        [400, 'spiffe.unknown_service_type', { ...nodeA, serviceType: 'db' }],
        [
          400,
          'spiffe.key_type_not_allowed',
          { ...nodeA, csrPem: svidCsr(spiffeIdFor('node', 'a'), { keyType: 'ec-p256' }).csrPem },
        ],
        [400, 'spiffe.ttl_exceeded', { ...nodeA, ttlSeconds: 90_000 }],
        [400, 'input.invalid', { csrPem: nodeA.csrPem }],
        [403, 'spiffe.identity_denied', { csrPem: ok('node', 'bad'), serviceType: 'node', instanceId: 'bad' }],
        [403, 'spiffe.identity_not_allowed', { csrPem: ok('auth', 'a'), serviceType: 'auth', instanceId: 'a' }],
      ]),
    ];
    const before = (await fx.authority.audit.list({ action: 'spiffe.sign_failed', limit: 1000 })).length;
    for (const [status, code, body, auth] of cases) {
      const r = await sign(body, auth);
      expect([r.statusCode, r.json().code], r.body).toEqual([status, code]);
    }
    // each refusal is audited (no token and a bad token too), with its code
    const refused = (await fx.authority.audit.list({ action: 'spiffe.sign_failed', limit: 1000 }))
      .slice(before)
      .map((e) => [e.outcome, e.details.code]);
    expect(refused).toEqual(cases.map(([, code]) => ['failure', code]));
  });
});

// the SVID route end to end with P-256 CAs and keys (PKIM_SPIFFE_CA_KEY_TYPE=ec-p256, PKIM_SPIFFE_KEY_TYPES=ec-p256):
// over a socket, through the worker pool as `pkim serve` runs it, the answers checked by openssl and Go
describe('SPIFFE over HTTP with P-256 CAs, through the worker pool', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let url: string;
  let token: string;

  beforeAll(async () => {
    fx = await openAuthorityFixture({ workers: 2, spiffe: { caKeyType: 'ec-p256', keyTypes: ['ec-p256'] } });
    app = await buildServer(fx.authority, { logger: silent, backgroundJobs: false, rateLimit: false });
    url = await listen(app);
    await fx.authority.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
    token = (
      await fx.authority.auth.createToken(
        { name: 'p256', role: 'operator', scopes: ['spiffe:sign'], resources: { spiffe: ['node/*', 'envoy/app/*'] } },
        TEST_ADMIN,
      )
    ).token;
  });
  afterAll(async () => {
    await app.close();
    await fx.close();
  });

  it('signs P-256 SVIDs from both intermediates that openssl and Go verify; a P-384 key is refused', async () => {
    const bundle = (await (await fetch(`${url}/pki/ca/bundle`)).json()) as {
      servicesBundle: string[];
      transportBundle: string[];
    };
    for (const [type, plane] of [
      ['node', bundle.servicesBundle],
      ['envoy/app', bundle.transportBundle],
      ['node', bundle.servicesBundle],
    ] as const) {
      const id = spiffeIdFor(type, 'p-1');
      const r = await fetch(`${url}/pki/csr/sign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          csrPem: svidCsr(id, { keyType: 'ec-p256' }).csrPem,
          serviceType: type,
          instanceId: 'p-1',
        }),
      });
      const text = await r.text();
      expect(r.status, text).toBe(200);
      const body = JSON.parse(text) as { certificatePem: string; chain: string[]; spiffeId: string };
      expect(body.spiffeId).toBe(id);
      expect(body.chain).toEqual([plane[0]]);
      const rootPem = plane.at(-1)!;
      const leaf = opensslText(body.certificatePem);
      expect(leaf).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
      expect(leaf).toMatch(/NIST CURVE: P-256/);
      const o = opensslVerify({ leafPem: body.certificatePem, chainPems: body.chain, rootPem, purpose: 'sslclient' });
      expect(o.ok, o.output).toBe(true);
      const g = goVerify({
        leafPem: body.certificatePem,
        intermediatesPems: body.chain,
        rootPem,
        keyUsage: 'clientAuth',
      });
      expect(g.ok, g.output).toBe(true);
    }
    const refused = await fetch(`${url}/pki/csr/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        csrPem: svidCsr(spiffeIdFor('node', 'p-2')).csrPem,
        serviceType: 'node',
        instanceId: 'p-2',
      }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code: string }).code).toBe('spiffe.key_type_not_allowed');
  });
});
