// `POST /ocsp` is answered in front of Fastify's router (ocsp-fast-path.ts). Over real HTTP: what it answers is what
// the Fastify route answers for the same request (body, headers, budget, counter, histogram, log line), each answer
// checked by `openssl ocsp`; a hook counts the requests Fastify sees, so each test knows which path answered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Authority } from '@pkim/authority';
import { opensslOcspRequest } from '../../../tests/support/verifiers';
import { buildServer } from '../src/build-server';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { checked, ocspPki, statusOf, type OcspPki } from './ocsp-test-support';

const OCSP = 'application/ocsp-request';
/** headers that differ between any two answers */
const PER_ANSWER = new Set(['date', 'x-request-id', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'keep-alive']);
const TRY_LATER = [0x30, 0x03, 0x0a, 0x01, 0x03];

describe('POST /ocsp in front of the router', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let p: OcspPki;
  let app: FastifyInstance;
  let base: string;
  /** requests to /ocsp that reached Fastify */
  let viaFastify = 0;
  const lines: Record<string, unknown>[] = [];

  /** a server of the authority, relying-party budget `max` per hour, logging at info into `lines` */
  async function serve(max: number): Promise<{ app: FastifyInstance; base: string }> {
    const logger = pino(
      { level: 'info' },
      { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const a = await buildServer(authority, {
      logger,
      backgroundJobs: false,
      console: false,
      rateLimit: false,
      relyingPartyRateLimit: { max, timeWindowMs: 3_600_000 },
    });
    a.addHook('onRequest', (request, _reply, done) => {
      if (request.url.startsWith('/ocsp')) viaFastify++;
      done();
    });
    return { app: a, base: await listen(a) };
  }

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    authority = fx.authority;
    p = await ocspPki(authority, 'fast', 2);
    ({ app, base } = await serve(1000));
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const post = (b: string, body: Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${b}/ocsp`, { method: 'POST', headers: { 'content-type': OCSP, ...headers }, body });
  const check = async (r: Response, leafPem: string) => {
    expect(r.status).toBe(200);
    const der = new Uint8Array(await r.arrayBuffer());
    return { der, status: statusOf(checked({ der, issuingPem: p.issuingPem, rootPem: p.rootPem, leafPem })) };
  };
  const headersOf = (r: Response) => new Map([...r.headers].filter(([name]) => !PER_ANSWER.has(name)));

  it('answers as the Fastify route does: the same DER and headers', async () => {
    const leaf = p.leaves[0]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const before = viaFastify;
    const fast = await post(base, req, { 'x-request-id': 'fast-path-1' });
    expect(viaFastify).toBe(before); // not through Fastify
    // the same request with a content-type parameter: not taken in front, Fastify's route answers it
    const routed = await post(base, req, { 'content-type': `${OCSP}; x=1`, 'x-request-id': 'routed-1' });
    expect(viaFastify).toBe(before + 1);
    expect(fast.headers.get('x-request-id')).toBe('fast-path-1');
    expect(routed.headers.get('x-request-id')).toBe('routed-1');
    expect(headersOf(fast)).toEqual(headersOf(routed));
    expect(fast.headers.get('content-type')).toBe('application/ocsp-response');
    expect(fast.headers.get('cache-control')).toBe('no-store');
    expect(fast.headers.get('x-content-type-options')).toBe('nosniff'); // the security headers
    expect(fast.headers.get('x-ratelimit-limit')).toBe('1000');
    const a = await check(fast, leaf.pem);
    const b = await check(routed, leaf.pem);
    expect(a.status).toBe('good');
    expect(Buffer.from(a.der).equals(Buffer.from(b.der))).toBe(true);
    // no valid id from the client: a new one
    const other = await post(base, req, { 'x-request-id': 'not valid!' });
    expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await check(other, leaf.pem);
  });

  it('a revocation shows at once', async () => {
    const leaf = p.leaves[1]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    expect((await check(await post(base, req), leaf.pem)).status).toBe('good');
    await authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    const before = viaFastify;
    expect((await check(await post(base, req), leaf.pem)).status).toBe('revoked');
    expect(viaFastify).toBe(before);
  });

  it('counts its answers in /metrics and logs the line of the router', async () => {
    lines.length = 0;
    const leaf = p.leaves[0]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const good = /pkim_ocsp_responses_total\{status="good"\} (\d+)/;
    const timed = /pkim_http_request_duration_seconds_count\{method="POST",route="\/ocsp",status_code="200"\} (\d+)/;
    const malformed = /pkim_ocsp_responses_total\{status="malformedRequest"\} (\d+)/;
    const t0 = await scrape();
    const before = viaFastify;
    await check(await post(base, req, { 'x-request-id': 'fast-log-1' }), leaf.pem);
    expect((await post(base, new Uint8Array([0x30, 0x01]))).status).toBe(200); // malformedRequest, answered
    await check(await post(base, req, { 'content-type': `${OCSP}; x=1`, 'x-request-id': 'routed-log-1' }), leaf.pem);
    expect(viaFastify).toBe(before + 1);
    const t1 = await scrape();
    expect(count(t1, good) - count(t0, good)).toBe(2);
    expect(count(t1, malformed) - count(t0, malformed)).toBe(1);
    expect(count(t1, timed) - count(t0, timed)).toBe(3);
    const done = (id: string) => lines.find((l) => l.reqId === id && l.msg === 'request completed');
    const fast = done('fast-log-1');
    const routed = done('routed-log-1');
    expect(fast).toBeDefined();
    expect(routed).toBeDefined();
    const shape = (l: Record<string, unknown>) => ({ ...l, time: 0, responseTime: 0, reqId: '' });
    expect(shape(fast!)).toEqual(shape(routed!));
    expect(fast!.req).toMatchObject({ method: 'POST', url: '/ocsp', remoteAddress: '127.0.0.1' });
    expect(fast!.res).toEqual({ statusCode: 200 });
  });

  it('leaves to Fastify what it cannot take whole: chunked and oversized bodies', async () => {
    const leaf = p.leaves[0]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const before = viaFastify;
    const chunked = await fetch(`${base}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': OCSP },
      body: new ReadableStream({
        start(c) {
          c.enqueue(req);
          c.close();
        },
      }),
      duplex: 'half',
    });
    expect((await check(chunked, leaf.pem)).status).toBe('good');
    const big = await post(base, new Uint8Array(64 * 1024 + 1));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('input.too_large');
    expect(viaFastify).toBe(before + 2);
  });

  it('charges the relying-party budget shared with the router, and answers tryLater over it', async () => {
    const small = await serve(2);
    try {
      const leaf = p.leaves[0]!;
      const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
      const first = await post(small.base, req);
      expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
      await check(first, leaf.pem);
      // the router's GET charges the same budget
      const get = await fetch(`${small.base}/ocsp/${encodeURIComponent(Buffer.from(req).toString('base64'))}`);
      expect(get.headers.get('x-ratelimit-remaining')).toBe('0');
      const before = viaFastify;
      const over = await post(small.base, req);
      expect(viaFastify).toBe(before);
      expect(over.status).toBe(200);
      expect(over.headers.get('content-type')).toBe('application/ocsp-response');
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect([...new Uint8Array(await over.arrayBuffer())]).toEqual(TRY_LATER);
    } finally {
      await small.app.close();
    }
  });
});
