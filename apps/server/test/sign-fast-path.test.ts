// `POST /api/v1/cas/:id/sign` is answered in front of Fastify's router (sign-fast-path.ts). Over real HTTP: what it
// answers is what the Fastify route answers for the same request — status, body, headers, budget, histogram, log
// lines — for the signed certificate (checked by openssl) and for every refusal; a hook counts the requests Fastify
// answers, so each test knows which path answered. A `content-type` parameter sends the same request through Fastify.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Authority } from '@pkim/authority';
import { issuedCertificateSchema, toIssuedCertificateDto } from '@pkim/contract';
import { openssl, opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { signAnswer, signAnswerJson, signWithCa } from '../src/transports/rest/rest-pki-plugin';
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  openAuthorityFixture,
  type AuthorityFixture,
} from './server-test-support';
import { frontPathHarness, logLineOf, requestCount } from './front-path-test-support';

const JSON_TYPE = 'application/json';
const ROUTED = 'application/json; charset=utf-8';

describe('the CSR sign route in front of the router', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let caId: string;
  let rootPem: string;
  let root: Awaited<ReturnType<typeof createRootCa>>;
  let admin: string;
  let auditor: string;
  let csr: string;
  /** sign requests that reached Fastify (every answer it sent), servers with the API budget */
  const h = frontPathHarness(() => authority, {
    prefix: '/api/v1/cas/',
    budget: 'api',
    countOn: 'onResponse',
    perAnswer: ['content-length'],
  });
  const { lines, serve, headersOf } = h;

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    authority = fx.authority;
    root = await createRootCa(authority, 'fast-sign-root');
    ({ id: caId, pem: rootPem } = root);
    admin = (await authority.auth.createToken({ name: 'fast-admin', role: 'admin' }, ACTORS.admin)).token;
    auditor = (await authority.auth.createToken({ name: 'fast-auditor', role: 'auditor' }, ACTORS.admin)).token;
    csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=fast.example.com', sans: ['DNS:fast.example.com'] }).csrPem;
    ({ app, base } = await serve(100_000));
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const sign = (
    b: string,
    body: string,
    o: { type?: string; token?: string; authorization?: string; ca?: string; id?: string } = {},
  ) =>
    fetch(`${b}/api/v1/cas/${o.ca ?? caId}/sign`, {
      method: 'POST',
      headers: {
        'content-type': o.type ?? JSON_TYPE,
        authorization: o.authorization ?? `Bearer ${o.token ?? admin}`,
        ...(o.id ? { 'x-request-id': o.id } : {}),
      },
      body,
    });
  /** the same request answered in front and by Fastify: both answers, and that each went its way */
  const both = (body: string, o: Parameters<typeof sign>[2] = {}) =>
    h.both(
      () => sign(base, body, o),
      () => sign(base, body, { ...o, type: ROUTED }),
    );

  it('signs as the Fastify route does: status, headers, the answer, a certificate openssl verifies', async () => {
    const { fast, routed } = await both(JSON.stringify({ csr, profile: 'tls-server', ttl: '30d' }), { id: 'fast-1' });
    expect(fast.status).toBe(201);
    expect(routed.status).toBe(201);
    expect(fast.headers.get('x-request-id')).toBe('fast-1');
    expect(headersOf(fast)).toEqual(headersOf(routed));
    expect(fast.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(fast.headers.get('x-content-type-options')).toBe('nosniff'); // the security headers
    expect(fast.headers.get('x-ratelimit-limit')).toBe('100000'); // the API budget
    const text = await fast.text();
    const a = JSON.parse(text) as Record<string, unknown>;
    const b = (await routed.json()) as Record<string, unknown>;
    expect(Object.keys(a)).toEqual(Object.keys(b));
    // the text JSON.stringify gives (the front path splices its PEMs in: signAnswerJson)
    expect(text).toBe(JSON.stringify(a));
    for (const k of ['caId', 'status', 'profile', 'subject', 'chain', 'chainPem']) expect(a[k]).toEqual(b[k]);
    expect(a.certificate).toBe(a.certificatePem);
    expect(a.id).not.toBe(b.id);
    for (const r of [a, b]) {
      const v = opensslVerify({ leafPem: r.certificatePem as string, rootPem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    }
    const issued = await authority.certificates.get(a.id as string);
    expect(issued.certificatePem).toBe(a.certificatePem);
  });

  it('writes what JSON.stringify writes, for CAs with chains of one and two certificates, repeatedly', async () => {
    const inter = await createIssuingCa(authority, root, 'fast-sign-issuing');
    const issuedKeys = Object.keys(issuedCertificateSchema.shape).filter((k) => k !== 'privateKeyPem');
    for (const ca of [caId, inter.id, caId, inter.id]) {
      const issued = await signWithCa(authority, ca, { csr, profile: 'tls-server' }, ACTORS.admin);
      const text = signAnswerJson(issued);
      expect(text).toBe(JSON.stringify(signAnswer(issued)));
      // the contract's object (the keys the REST/tRPC contract tests expect), with the first version's two names
      const { certificate, chain, ...dto } = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(dto)).toEqual(issuedKeys);
      expect(issuedCertificateSchema.strict().parse(dto)).toEqual(
        JSON.parse(JSON.stringify(toIssuedCertificateDto(issued))),
      );
      expect([certificate, chain]).toEqual([issued.certificatePem, issued.chainPem]);
      // fields a CSR can carry that JSON escapes or UTF-8 encodes in more than one byte, and the optional ones set
      const odd = {
        ...issued,
        certificate: {
          ...issued.certificate,
          subjectDn: 'CN=Zoë "Ω" \\ tab\there\u2028,O=Ünïcødé 😀',
          commonName: 'Zoë "Ω" \\ 😀',
          sans: { dns: ['zoë.example'], uri: ['spiffe://x/"y"'], email: ['a@b.example'], ip: ['::1'] },
          revokedAt: Date.UTC(2031, 0, 2, 3, 4, 5, 6),
          revocationReason: 'keyCompromise' as const,
          requestId: 'req_1',
          renewedFrom: 'crt_before',
        },
      };
      expect(signAnswerJson(odd)).toBe(JSON.stringify(signAnswer(odd)));
    }
  });

  it('counts the bytes of an answer UTF-8 encodes in several bytes (content-length), as the router does', async () => {
    // a subject of characters two to four bytes long each: the answer's length in bytes ≠ its length in characters
    const r = openssl([
      ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '@key.pem'],
      ...['-utf8', '-subj', '/CN=fast.example.com/O=Zoë Ünïcødé 😀', '-addext', 'subjectAltName=DNS:fast.example.com'],
    ]);
    expect(r.ok, r.output).toBe(true);
    const utf8Csr = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----\n/.exec(r.output)![0];
    const { fast, routed } = await both(JSON.stringify({ csr: utf8Csr, profile: 'tls-server' }));
    expect([fast.status, routed.status]).toEqual([201, 201]);
    for (const answer of [fast, routed]) {
      const bytes = Buffer.from(await answer.arrayBuffer());
      expect(Number(answer.headers.get('content-length'))).toBe(bytes.length);
      const text = bytes.toString('utf8');
      expect(text.length).toBeLessThan(bytes.length);
      expect((JSON.parse(text) as { subject: string }).subject).toContain('O=Zoë Ünïcødé 😀');
    }
  });

  it.each([
    ['a body that is not JSON', '{"csr": ', {}],
    ['a poisoned JSON key', '{"csr": "x", "__proto__": {"a": 1}}', {}],
    ['a CSR field that is not a CSR', JSON.stringify({ csr: 'nope' }), {}],
    ['an unknown field', JSON.stringify({ csr: 'nope', extra: 1 }), {}],
    ['an unknown profile', JSON.stringify({ csr: 'PEM', profile: 'no-such-profile' }), { csr: true }],
    [
      'a garbage CSR',
      JSON.stringify({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----\n' }),
      {},
    ],
    ['an unknown CA', 'PEM', { ca: 'ca_doesnotexist' }],
    ['a CA reference the schema refuses', 'PEM', { ca: 'x'.repeat(129) }],
    ['no Bearer scheme', 'PEM', { authorization: 'Basic abc' }],
    ['an unknown token', 'PEM', { token: 'pkim_nosuchtoken' }],
    ['a role without the right', 'PEM', { token: 'AUDITOR' }],
  ] as const)('refuses %s as the Fastify route does, nothing signed', async (_name, body, o) => {
    const text =
      body === 'PEM' ? JSON.stringify({ csr }) : 'csr' in o ? body.replace('"PEM"', JSON.stringify(csr)) : body;
    const opts = {
      ...('ca' in o ? { ca: o.ca } : {}),
      ...('authorization' in o ? { authorization: o.authorization } : {}),
      ...('token' in o ? { token: o.token === 'AUDITOR' ? auditor : o.token } : {}),
    };
    const count = (await authority.certificates.list({ limit: 1000 })).items.length;
    const { fast, routed } = await both(text, opts);
    expect(fast.status).toBeGreaterThanOrEqual(400);
    expect(fast.status).toBeLessThan(500);
    expect(fast.status).toBe(routed.status);
    expect(headersOf(fast)).toEqual(headersOf(routed));
    const a = (await fast.json()) as Record<string, unknown>;
    const b = (await routed.json()) as Record<string, unknown>;
    expect(a.requestId).toBe(fast.headers.get('x-request-id'));
    expect({ ...a, requestId: '' }).toEqual({ ...b, requestId: '' });
    expect(typeof a.code).toBe('string');
    expect((await authority.certificates.list({ limit: 1000 })).items.length).toBe(count);
  });

  it('charges the API budget per token as the budget hook does, 429 over it', async () => {
    const s = await serve(2);
    try {
      const body = JSON.stringify({ csr });
      const first = await sign(s.base, body);
      expect(first.status).toBe(201);
      expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
      const before = h.viaFastify;
      expect((await sign(s.base, body, { type: ROUTED })).status).toBe(201);
      expect(h.viaFastify).toBe(before + 1);
      const fast = await sign(s.base, body);
      const routed = await sign(s.base, body, { type: ROUTED });
      expect(h.viaFastify).toBe(before + 2); // the over-budget request in front did not reach Fastify
      expect(fast.status).toBe(429);
      expect(routed.status).toBe(429);
      expect(fast.headers.get('retry-after')).toBeTruthy();
      expect(headersOf(fast)).toEqual(headersOf(routed));
      const a = (await fast.json()) as Record<string, unknown>;
      const b = (await routed.json()) as Record<string, unknown>;
      expect({ ...a, requestId: '' }).toEqual({ ...b, requestId: '' });
      expect(a.code).toBe('rate.limited');
    } finally {
      await s.app.close();
    }
  });

  it('counts its answers in /metrics and logs the lines of the router', async () => {
    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    const count = (text: string, status: number) => requestCount(text, 'POST', '/api/v1/cas/:id/sign', status);
    const m0 = await scrape();
    lines.length = 0;
    await sign(base, JSON.stringify({ csr }), { id: 'line-fast' });
    await sign(base, JSON.stringify({ csr }), { id: 'line-routed', type: ROUTED });
    await sign(base, '{', { id: 'refused-fast' });
    await sign(base, '{', { id: 'refused-routed', type: ROUTED });
    const m1 = await scrape();
    expect(count(m1, 201) - count(m0, 201)).toBe(2);
    expect(count(m1, 400) - count(m0, 400)).toBe(2);
    const of = (id: string, msg: string) => logLineOf(lines, id, msg);
    expect(of('line-fast', 'request completed')).toEqual(of('line-routed', 'request completed'));
    expect(of('refused-fast', 'request refused')).toEqual(of('refused-routed', 'request refused'));
    expect(of('refused-fast', 'request completed')).toEqual(of('refused-routed', 'request completed'));
  });

  it('leaves to Fastify what it does not take: a session cookie, a query, an escaped path', async () => {
    const before = h.viaFastify;
    const body = JSON.stringify({ csr });
    const cookie = await fetch(`${base}/api/v1/cas/${caId}/sign`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE, cookie: 'pkim_session=nope' },
      body,
    });
    expect(cookie.status).toBe(401);
    const query = await fetch(`${base}/api/v1/cas/${caId}/sign?x=1`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE, authorization: `Bearer ${admin}` },
      body,
    });
    expect(query.status).toBe(201);
    const escaped = await fetch(`${base}/api/v1/cas/fast%2Dsign%2Droot/sign`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE, authorization: `Bearer ${admin}` },
      body,
    });
    expect(escaped.status).toBe(201);
    expect(h.viaFastify).toBe(before + 3);
  });

  it('a request arriving while the server closes goes to Fastify, which answers 503', async () => {
    let preClose!: () => void;
    const closingStarted = new Promise<void>((r) => (preClose = r));
    const closing = await serve(1000, preClose);
    const body = Buffer.from(JSON.stringify({ csr }));
    const head =
      `POST /api/v1/cas/${caId}/sign HTTP/1.1\r\nhost: x\r\ncontent-type: ${JSON_TYPE}\r\n` +
      `authorization: Bearer ${admin}\r\ncontent-length: ${body.length}\r\n\r\n`;
    const request = Buffer.concat([Buffer.from(head), body]);
    // a request line and part of the headers sent before the close (a request being received keeps the connection
    // from being closed as idle), the rest once the server is closing: the request arrives then
    const socket = net.connect(Number(new URL(closing.base).port), '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(request.subarray(0, 20));
    try {
      const before = h.viaFastify;
      // the connection is accepted and its first bytes read before a request on another one is answered
      expect((await sign(closing.base, body.toString())).status).toBe(201);
      expect(h.viaFastify).toBe(before); // the fast path's
      const closed = closing.app.close();
      await closingStarted;
      socket.write(request.subarray(20));
      await ended;
      // Fastify's answer while closing (return503OnClosing, before any hook)
      expect(text).toMatch(/^HTTP\/1\.1 503 /);
      expect(text).toMatch(/"statusCode":503/);
      await closed;
    } finally {
      socket.destroy();
      await closing.app.close();
    }
  });
});
