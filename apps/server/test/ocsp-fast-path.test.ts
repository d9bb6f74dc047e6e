// `POST /ocsp` and `GET /ocsp/<request>` are answered in front of Fastify's router (ocsp-fast-path.ts). Over real
// HTTP: what it answers is what the Fastify route answers for the same request (body, headers, budget, counter,
// histogram, log line), each answer checked by `openssl ocsp`; a hook counts the requests Fastify sees, so each test
// knows which path answered.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Authority } from '@pkim/authority';
import { opensslOcspRequest } from '../../../tests/support/verifiers';
import { etagOf } from '../src/transports/relying-party/relying-party-cache';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { frontPathHarness } from './front-path-test-support';
import {
  checked,
  holdNextStatusRead,
  ocspLeaf,
  ocspPki,
  statusOf,
  type OcspLeaf,
  type OcspPki,
} from './ocsp-test-support';

const OCSP = 'application/ocsp-request';
const TRY_LATER = [0x30, 0x03, 0x0a, 0x01, 0x03];

describe('OCSP in front of the router', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let p: OcspPki;
  let app: FastifyInstance;
  let base: string;
  /** requests to /ocsp that reached Fastify (every one it received), servers with the relying-party budget */
  const h = frontPathHarness(() => authority, { prefix: '/ocsp', budget: 'relying-party', countOn: 'onRequest' });
  const { lines, serve, headersOf } = h;

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    authority = fx.authority;
    // the issuing CA `fast26 Issuing CA`: the SHA-1 hash of its name, in every request's CertID, is base64 with `+` and
    // `/` whatever its key and the serial (the GET tests percent-encode them); chosen once, a leaf hunt was a flake
    p = await ocspPki(authority, 'fast26', 2);
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

  it('answers as the Fastify route does: the same DER and headers', async () => {
    const leaf = p.leaves[0]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const before = h.viaFastify;
    const fast = await post(base, req, { 'x-request-id': 'fast-path-1' });
    expect(h.viaFastify).toBe(before); // not through Fastify
    // the same request with a content-type parameter: not taken in front, Fastify's route answers it
    const routed = await post(base, req, { 'content-type': `${OCSP}; x=1`, 'x-request-id': 'routed-1' });
    expect(h.viaFastify).toBe(before + 1);
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
    const before = h.viaFastify;
    expect((await check(await post(base, req), leaf.pem)).status).toBe('revoked');
    expect(h.viaFastify).toBe(before);
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
    const before = h.viaFastify;
    await check(await post(base, req, { 'x-request-id': 'fast-log-1' }), leaf.pem);
    expect((await post(base, new Uint8Array([0x30, 0x01]))).status).toBe(200); // malformedRequest, answered
    await check(await post(base, req, { 'content-type': `${OCSP}; x=1`, 'x-request-id': 'routed-log-1' }), leaf.pem);
    expect(h.viaFastify).toBe(before + 1);
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
    const before = h.viaFastify;
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
    expect(h.viaFastify).toBe(before + 2);
  });

  it('charges the relying-party budget shared with the router, and answers tryLater over it', async () => {
    const small = await serve(2);
    try {
      const leaf = p.leaves[0]!;
      const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
      const first = await post(small.base, req);
      expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
      await check(first, leaf.pem);
      // a GET charges the same budget
      const get = await fetch(`${small.base}/ocsp/${encodeURIComponent(Buffer.from(req).toString('base64'))}`);
      expect(get.headers.get('x-ratelimit-remaining')).toBe('0');
      const before = h.viaFastify;
      const over = await post(small.base, req);
      expect(h.viaFastify).toBe(before);
      expect(over.status).toBe(200);
      expect(over.headers.get('content-type')).toBe('application/ocsp-response');
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect([...new Uint8Array(await over.arrayBuffer())]).toEqual(TRY_LATER);
    } finally {
      await small.app.close();
    }
  });

  /**
   * a leaf of the issuing CA and its SHA-1 request, whose base64 holds `+` and `/` (the CA's name hash has them):
   * 87 bytes, a base64 without `=`; the same with a nonce (124 bytes) ends with `==`
   */
  let getLeaf: { leaf: OcspLeaf; req: Uint8Array; b64: string } | undefined;
  async function leafForGet() {
    if (getLeaf) return getLeaf;
    const leaf = await ocspLeaf(authority, p.issuingId, 'fast-get.example.test');
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const b64 = Buffer.from(req).toString('base64');
    expect(b64).toMatch(/\+/);
    expect(b64).toMatch(/\//);
    return (getLeaf = { leaf, req, b64 });
  }
  const get = (path: string, headers: Record<string, string> = {}, b = base) => fetch(`${b}/ocsp/${path}`, { headers });

  // the fast path hashes the ETag of an answer kept in memory once (per DER object): a new answer gets its own
  it("GET: an answer kept in memory keeps its body's ETag; a revocation's new answer gets its own", async () => {
    const leaf = await ocspLeaf(authority, p.issuingId, 'fast-etag.example.test');
    const path = encodeURIComponent(
      Buffer.from(opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem })).toString('base64'),
    );
    const answer = async (r: Response) => {
      const { der, status } = await check(r.clone(), leaf.pem);
      expect(r.headers.get('etag')).toBe(etagOf(der));
      return { status, etag: r.headers.get('etag') };
    };
    const first = await answer(await get(path));
    expect(first.status).toBe('good');
    expect(await answer(await get(path))).toEqual(first); // from memory
    await authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    const before = h.viaFastify;
    const revoked = await answer(await get(path));
    expect(h.viaFastify).toBe(before);
    expect(revoked.status).toBe('revoked');
    expect(revoked.etag).not.toBe(first.etag);
    expect(await answer(await get(path))).toEqual(revoked);
    expect(await answer(await get(`${path}?x=1`))).toEqual(revoked); // the router's
  });

  // a revocation re-signs the certificate's response in the background (presign); a GET arriving meanwhile is answered
  // with that response — not with one signed on the spot and stored beside it, which the re-signing then replaced (two
  // answers of one status with different ETags and Last-Modified, seen under load: 1 run in 20)
  it('GET after a revocation, while its re-signing is in flight: its response, one ETag until it changes', async () => {
    const leaf = await ocspLeaf(authority, p.issuingId, 'fast-resign.example.test');
    const path = encodeURIComponent(
      Buffer.from(opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem })).toString('base64'),
    );
    const answer = async (r: Response) => {
      const { der, status } = await check(r.clone(), leaf.pem);
      expect(r.headers.get('etag')).toBe(etagOf(der));
      return { status, etag: r.headers.get('etag'), lastModified: r.headers.get('last-modified') };
    };
    expect((await answer(await get(path))).status).toBe('good');
    const hold = holdNextStatusRead(authority, leaf.serial);
    try {
      await authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
      await hold.readDone; // the re-signing read the revoked status; its signature waits
      const read = hold.nextRead();
      const during = get(path);
      await read; // the GET read the stored response ("good": stale)
      await new Promise((r) => setImmediate(r));
      hold.release();
      const first = await answer(await during);
      expect(first.status).toBe('revoked');
      for (let i = 0; i < 3; i++) expect(await answer(await get(path))).toEqual(first);
      expect(await answer(await get(`${path}?x=1`))).toEqual(first); // the router's
    } finally {
      hold.restore();
    }
  });

  it('answers GET /ocsp/<base64> as the Fastify route does: DER, headers with the cache headers', async () => {
    const { leaf, req, b64 } = await leafForGet();
    const encoded = encodeURIComponent(b64);
    expect(encoded).toMatch(/%2B/);
    expect(encoded).toMatch(/%2F/);
    const before = h.viaFastify;
    // RFC 6960 appendix A's URL-encoded base64, the same with lower-case escapes, the raw base64 and base64url
    const lower = encoded.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
    const url = b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const fast = [
      await get(encoded, { 'x-request-id': 'fast-get-1' }),
      await get(lower),
      await get(b64),
      await get(url),
    ];
    expect(h.viaFastify).toBe(before); // not through Fastify
    // a query string sends it through Fastify's route (its wildcard parameter leaves the query out)
    const routed = await get(`${encoded}?x=1`, { 'x-request-id': 'routed-get-1' });
    expect(h.viaFastify).toBe(before + 1);
    expect(fast[0]!.headers.get('x-request-id')).toBe('fast-get-1');
    expect(routed.headers.get('x-request-id')).toBe('routed-get-1');
    expect(routed.headers.get('cache-control')).toBe('public, max-age=5, no-transform');
    expect(routed.headers.get('etag')).toMatch(/^"[\w-]{27}"$/);
    expect(routed.headers.get('last-modified')).toBeTruthy();
    expect(routed.headers.get('expires')).toBeTruthy();
    const b = await check(routed.clone(), leaf.pem);
    expect(b.status).toBe('good');
    for (const r of fast) {
      expect(headersOf(r)).toEqual(headersOf(routed));
      const a = await check(r, leaf.pem);
      expect(Buffer.from(a.der).equals(Buffer.from(b.der))).toBe(true);
    }
    // the request the GET carried is the POST's: the same stored answer
    const posted = await check(await post(base, req), leaf.pem);
    expect(Buffer.from(posted.der).equals(Buffer.from(b.der))).toBe(true);

    // with a nonce (its base64 ends with `==`, %3D%3D): signed per request, so the DER differs between two answers;
    // both carry the request's nonce (`openssl ocsp` checks it) and the same header names
    const withNonce = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem, nonce: true });
    const nonced = encodeURIComponent(Buffer.from(withNonce).toString('base64'));
    expect(nonced).toMatch(/%3D%3D$/);
    const n0 = h.viaFastify;
    const fastNonce = await get(nonced);
    expect(h.viaFastify).toBe(n0);
    const routedNonce = await get(`${nonced}?x=1`);
    expect(h.viaFastify).toBe(n0 + 1);
    expect([...headersOf(fastNonce).keys()].sort()).toEqual([...headersOf(routedNonce).keys()].sort());
    for (const r of [fastNonce, routedNonce]) {
      const der = new Uint8Array(await r.arrayBuffer());
      const out = checked({
        der,
        issuingPem: p.issuingPem,
        rootPem: p.rootPem,
        leafPem: leaf.pem,
        requestDer: withNonce,
      });
      expect(statusOf(out)).toBe('good');
      expect(r.headers.get('etag')).toBe(etagOf(der));
    }
  });

  it('GET: errors uncached, other escapes and conditional requests left to Fastify, counted and logged', async () => {
    lines.length = 0;
    const { leaf, b64 } = await leafForGet();
    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const timed = /pkim_http_request_duration_seconds_count\{method="GET",route="\/ocsp\/\*",status_code="200"\} (\d+)/;
    const malformed = /pkim_ocsp_responses_total\{status="malformedRequest"\} (\d+)/;
    const t0 = await scrape();
    const before = h.viaFastify;
    // not base64: malformedRequest, not cacheable, on both paths
    const bad = await get('not*base64'.replace('*', '%2A'));
    expect(h.viaFastify).toBe(before + 1); // %2A is not one of the three escapes: Fastify's
    const badFast = await get('notbase64!'.replace('!', '') + '%3D%3D%3D', { 'x-request-id': 'fast-bad-1' });
    expect(h.viaFastify).toBe(before + 1);
    for (const r of [bad, badFast]) {
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('etag')).toBeNull();
      expect([...new Uint8Array(await r.arrayBuffer())]).toEqual([0x30, 0x03, 0x0a, 0x01, 0x01]);
    }
    expect(headersOf(badFast)).toEqual(headersOf(bad));
    // a conditional request (an HTTP cache revalidating) is Fastify's: its 304
    const first = await get(encodeURIComponent(b64), { 'x-request-id': 'fast-get-log' });
    await check(first.clone(), leaf.pem);
    const etag = first.headers.get('etag')!;
    const notModified = await get(encodeURIComponent(b64), { 'if-none-match': etag });
    expect(notModified.status).toBe(304);
    expect(h.viaFastify).toBe(before + 2);
    const t1 = await scrape();
    expect(count(t1, malformed) - count(t0, malformed)).toBe(2);
    expect(count(t1, timed) - count(t0, timed)).toBe(3); // the two malformed and the good one (the 304 is not 200)
    const done = (id: string) => lines.find((l) => l.reqId === id && l.msg === 'request completed');
    expect(done('fast-get-log')!.req).toMatchObject({ method: 'GET', url: `/ocsp/${encodeURIComponent(b64)}` });
    expect(done('fast-bad-1')!.res).toEqual({ statusCode: 200 });
  });

  it('a request arriving while the server closes goes to Fastify, which answers 503', async () => {
    let preClose!: () => void;
    const closingStarted = new Promise<void>((r) => (preClose = r));
    const closing = await serve(1000, preClose);
    const leaf = p.leaves[0]!;
    const req = Buffer.from(opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem }));
    const { b64 } = await leafForGet();
    const { port } = new URL(closing.base);
    const postHead = `POST /ocsp HTTP/1.1\r\nhost: x\r\ncontent-type: ${OCSP}\r\ncontent-length: ${req.length}\r\n\r\n`;
    const requests = {
      post: Buffer.concat([Buffer.from(postHead), req]),
      get: Buffer.from(`GET /ocsp/${encodeURIComponent(b64)} HTTP/1.1\r\nhost: x\r\n\r\n`),
    };
    // per connection, a request line and part of the headers sent before the close (a request being received keeps
    // the connection from being closed as idle), the rest once the server is closing: the request arrives then
    const conns = Object.entries(requests).map(([name, request]) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
      socket.write(request.subarray(0, 20));
      return { name, socket, rest: request.subarray(20), ended };
    });
    try {
      const before = h.viaFastify;
      // the two connections are accepted and their first bytes read before a request on a third is answered
      const ok = await post(closing.base, req);
      await check(ok, leaf.pem);
      expect(h.viaFastify).toBe(before); // the fast path's
      const closed = closing.app.close();
      await closingStarted;
      for (const c of conns) c.socket.write(c.rest);
      for (const c of conns) {
        const text = await c.ended;
        // Fastify's answer while closing (return503OnClosing, before any hook: the counting hook sees none)
        expect(text, c.name).toMatch(/^HTTP\/1\.1 503 /);
        expect(text).toMatch(/"statusCode":503/);
      }
      expect(h.viaFastify).toBe(before);
      await closed;
    } finally {
      for (const c of conns) c.socket.destroy();
      await closing.app.close();
    }
  });
});
