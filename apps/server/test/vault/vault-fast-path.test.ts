// The Vault API's issue/sign routes are answered in front of Fastify's router (vault-fast-path.ts). Over real HTTP:
// what they answer is what the Vault route answers for the same request — status, envelope, headers, budget,
// histogram, log lines — for certificates (checked by openssl) and for every refusal; a hook counts the requests
// Fastify answers, so each test knows which path answered. A `content-type` parameter sends the same request through
// Fastify.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Authority } from '@pkim/authority';
import { opensslCsr } from '../../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import { frontPathHarness, logLineOf, requestCount } from '../front-path-test-support';
import { corruptCsrSignature, openVaultFixture, type VaultFixture } from './vault-test-support';

const JSON_TYPE = 'application/json';
const ROUTED = 'application/json; charset=utf-8';
const EC_ROLE = { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '72h', key_type: 'ec' };

describe('the Vault issue/sign routes in front of the router', () => {
  let v: VaultFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let auditor: string;
  let csr: string;
  /** Vault requests that reached Fastify (every answer it sent), servers with the API budget */
  const h = frontPathHarness(() => authority, {
    prefix: '/v1/',
    budget: 'api',
    countOn: 'onResponse',
    perAnswer: ['content-length'],
  });
  const { lines, serve, headersOf } = h;

  beforeAll(async () => {
    v = await openVaultFixture({}, { roles: { web: EC_ROLE } });
    authority = v.authority;
    auditor = (await authority.auth.createToken({ name: 'vault-auditor', role: 'auditor' }, ACTORS.admin)).token;
    csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=front.example.com', sans: ['DNS:front.example.com'] }).csrPem;
    ({ app, base } = await serve(100_000));
  });
  afterAll(async () => {
    await app?.close();
    await v?.close();
  });

  const call = (
    b: string,
    path: string,
    body: string,
    o: { type?: string; token?: string | null; headers?: Record<string, string>; method?: string } = {},
  ) =>
    fetch(`${b}/v1/${path}`, {
      method: o.method ?? 'POST',
      headers: {
        'content-type': o.type ?? JSON_TYPE,
        ...(o.token === null ? {} : { 'x-vault-token': o.token ?? v.token }),
        ...o.headers,
      },
      body,
    });
  /** the same request answered in front and by Fastify: both answers, and that each went its way */
  const both = (path: string, body: string, o: Parameters<typeof call>[3] = {}) =>
    h.both(
      () => call(base, path, body, o),
      () => call(base, path, body, { ...o, type: ROUTED }),
    );
  const verify = (leafPem: string, issuingCa: string) => {
    const r = opensslVerify({ leafPem, chainPems: [issuingCa], rootPem: v.rootPem, purpose: 'sslserver' });
    expect(r.ok, r.output).toBe(true);
  };

  it.each([
    ['sign/web', 'POST', {}],
    ['issuer/default/sign/web', 'PUT', {}],
    ['issue/web', 'POST', { common_name: 'issued.example.com' }],
  ] as const)(
    '%s (%s) answers as the Vault route does: status, headers, envelope, certificates openssl verifies',
    async (path, method, extra) => {
      const body = JSON.stringify(path.includes('issue/') ? extra : { csr, ttl: '24h' });
      const { fast, routed } = await both(`pki/${path}`, body, {
        method,
        headers: { 'x-request-id': 'vault-fast-1' },
      });
      expect(fast.status).toBe(200);
      expect(routed.status).toBe(200);
      expect(fast.headers.get('x-request-id')).toBe('vault-fast-1');
      expect(headersOf(fast)).toEqual(headersOf(routed));
      expect(fast.headers.get('content-type')).toBe('application/json');
      expect(fast.headers.get('cache-control')).toBe('no-store');
      expect(fast.headers.get('x-content-type-options')).toBe('nosniff'); // the security headers
      expect(fast.headers.get('x-ratelimit-limit')).toBe('100000'); // the API budget
      const a = (await fast.json()) as { data: Record<string, unknown>; request_id: string };
      const b = (await routed.json()) as { data: Record<string, unknown>; request_id: string };
      expect(Object.keys(a)).toEqual(Object.keys(b));
      expect({ ...a, request_id: '', data: null }).toEqual({ ...b, request_id: '', data: null });
      expect(a.request_id).not.toBe(b.request_id);
      expect(Object.keys(a.data)).toEqual(Object.keys(b.data));
      expect(a.data.issuing_ca).toBe(b.data.issuing_ca);
      expect(a.data.ca_chain).toEqual(b.data.ca_chain);
      expect(a.data.serial_number).not.toBe(b.data.serial_number);
      for (const d of [a.data, b.data]) verify(d.certificate as string, d.issuing_ca as string);
      const stored = await fetch(`${base}/v1/pki/cert/${a.data.serial_number as string}`);
      expect(((await stored.json()) as { data: { certificate: string } }).data.certificate).toBe(a.data.certificate);
    },
  );

  it.each([
    ['a body that is not JSON', 'sign/web', '{"csr": ', {}],
    ['a JSON array', 'sign/web', '[1]', {}],
    ['an unknown role', 'sign/nosuchrole', 'CSR', {}],
    ['a name the role refuses', 'sign/web', JSON.stringify({ csr: 'OTHER' }), {}],
    ['a CSR without proof of possession', 'sign/web', JSON.stringify({ csr: 'CORRUPT' }), {}],
    ['a garbage CSR', 'sign/web', JSON.stringify({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n' }), {}],
    ['ttl and not_after together', 'sign/web', JSON.stringify({ csr: 'CSR', not_after: '2030-01-01T00:00:00Z' }), {}],
    ['an unknown issuer', 'issuer/nosuchissuer/sign/web', 'CSR', {}],
    ['no token', 'sign/web', 'CSR', { token: null }],
    ['an unknown token', 'sign/web', 'CSR', { token: 'pkim_nosuchtoken' }],
    ['a role without the right', 'sign/web', 'CSR', { token: 'AUDITOR' }],
    ['a namespace', 'sign/web', 'CSR', { headers: { 'x-vault-namespace': 'team-a' } }],
  ] as const)('refuses %s as the Vault route does, nothing signed', async (_name, path, body, o) => {
    const other = opensslCsr({ keyType: 'ec-p256', subject: '/CN=evil.example.org' }).csrPem;
    const text =
      body === 'CSR'
        ? JSON.stringify({ csr, ttl: '1h' })
        : body
            .replace('"CSR"', JSON.stringify(csr))
            .replace('"OTHER"', JSON.stringify(other))
            .replace('"CORRUPT"', JSON.stringify(corruptCsrSignature(csr)))
            .replace('"not_after"', '"ttl":"1h","not_after"');
    const opts = {
      ...('token' in o ? { token: o.token === 'AUDITOR' ? auditor : o.token } : {}),
      ...('headers' in o ? { headers: o.headers } : {}),
    };
    const count = (await authority.certificates.list({ limit: 1000 })).items.length;
    const { fast, routed } = await both(`pki/${path}`, text, opts);
    expect(fast.status).toBeGreaterThanOrEqual(400);
    expect(fast.status).toBeLessThan(500);
    expect(fast.status).toBe(routed.status);
    expect(headersOf(fast)).toEqual(headersOf(routed));
    const a = (await fast.json()) as { errors: string[] };
    expect(a).toEqual(await routed.json());
    expect(Array.isArray(a.errors)).toBe(true);
    expect((await authority.certificates.list({ limit: 1000 })).items.length).toBe(count);
  });

  it('answers 503 while the Vault API is sealed, as the Vault route does', async () => {
    await authority.vault.seal.seal(ACTORS.admin);
    try {
      const { fast, routed } = await both('pki/sign/web', JSON.stringify({ csr }));
      expect(fast.status).toBe(503);
      expect(routed.status).toBe(503);
      expect(headersOf(fast)).toEqual(headersOf(routed));
      expect(await fast.json()).toEqual(await routed.json());
    } finally {
      await authority.vault.seal.unseal(ACTORS.admin);
    }
  });

  it('charges the API budget per token as the budget hook does, 429 over it', async () => {
    const s = await serve(2);
    try {
      const body = JSON.stringify({ csr });
      const first = await call(s.base, 'pki/sign/web', body);
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
      const before = h.viaFastify;
      expect((await call(s.base, 'pki/sign/web', body, { type: ROUTED })).status).toBe(200);
      expect(h.viaFastify).toBe(before + 1);
      const fast = await call(s.base, 'pki/sign/web', body);
      const routed = await call(s.base, 'pki/sign/web', body, { type: ROUTED });
      expect(h.viaFastify).toBe(before + 2); // the over-budget request in front did not reach Fastify
      expect(fast.status).toBe(429);
      expect(routed.status).toBe(429);
      expect(fast.headers.get('retry-after')).toBeTruthy();
      expect(headersOf(fast)).toEqual(headersOf(routed));
      expect(await fast.json()).toEqual(await routed.json());
    } finally {
      await s.app.close();
    }
  });

  it('counts its answers in /metrics and logs the lines of the router', async () => {
    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    const count = (text: string, status: number) => requestCount(text, 'POST', '/v1/\\*', status);
    const m0 = await scrape();
    lines.length = 0;
    const body = JSON.stringify({ csr });
    await call(base, 'pki/sign/web', body, { headers: { 'x-request-id': 'line-fast' } });
    await call(base, 'pki/sign/web', body, { headers: { 'x-request-id': 'line-routed' }, type: ROUTED });
    await call(base, 'pki/sign/web', '{', { headers: { 'x-request-id': 'refused-fast' } });
    await call(base, 'pki/sign/web', '{', { headers: { 'x-request-id': 'refused-routed' }, type: ROUTED });
    const m1 = await scrape();
    expect(count(m1, 200) - count(m0, 200)).toBe(2);
    expect(count(m1, 400) - count(m0, 400)).toBe(2);
    const of = (id: string, msg: string) => logLineOf(lines, id, msg);
    expect(of('line-fast', 'request completed')).toEqual(of('line-routed', 'request completed'));
    expect(of('refused-fast', 'vault request refused')).toEqual(of('refused-routed', 'vault request refused'));
    expect(of('refused-fast', 'request completed')).toEqual(of('refused-routed', 'request completed'));
  });

  it('leaves to Fastify what it does not take: another route below a mount, no mount, a query, a Bearer', async () => {
    // a mount whose path ends in `sign`: `<mount>/sign/ocsp` is that mount's OCSP route, not a sign route
    await authority.vault.mounts.mount({ path: 'edge/sign', ca: v.caId }, ACTORS.admin);
    try {
      const before = h.viaFastify;
      const ocsp = await call(base, 'edge/sign/ocsp', JSON.stringify({ csr }));
      expect(ocsp.status).toBe(400); // an OCSP answer: malformedRequest
      expect(ocsp.headers.get('content-type')).toBe('application/ocsp-response');
      const none = await call(base, 'nomount/sign/web', JSON.stringify({ csr }));
      expect(none.status).toBe(404);
      expect(await none.json()).toEqual({
        errors: ['no handler for route "nomount/sign/web". route entry not found.'],
      });
      const query = await fetch(`${base}/v1/pki/sign/web?ttl=1h`, {
        method: 'POST',
        headers: { 'content-type': JSON_TYPE, 'x-vault-token': v.token },
        body: JSON.stringify({ csr }),
      });
      expect(query.status).toBe(200);
      expect(h.viaFastify).toBe(before + 3);
      // the token as a Bearer is taken in front, as the route takes it
      const bearer = await call(base, 'pki/sign/web', JSON.stringify({ csr }), {
        token: null,
        headers: { authorization: `Bearer ${v.token}` },
      });
      expect(bearer.status).toBe(200);
      expect(h.viaFastify).toBe(before + 3);
    } finally {
      await authority.vault.mounts.unmount('edge/sign', ACTORS.admin);
    }
  });
});
