import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Authority } from '@pkim/authority';
import type { ServerMetrics } from '../../server-metrics';
import { sendCacheable, type CacheOptions } from './relying-party-cache';

export const OCSP_BODY_LIMIT = 64 * 1024;

/** the headers of an uncached OCSP answer (POST, error statuses), built once */
const NO_STORE_HEADERS = Object.freeze({
  'content-type': 'application/ocsp-response',
  'cache-control': 'no-store',
});

/**
 * RFC 6960 / RFC 5019 responder transport: `POST /ocsp` (application/ocsp-request, ≤ 64 KiB)
 * and `GET /ocsp/<base64 of the DER request, URL-encoded>`. `authority.ocsp.respond` never
 * throws: undecodable requests become an OCSP `malformedRequest` response. A request without nonce for one
 * certificate is answered with its stored, pre-signed response (docs/ocsp.md): this route does no more than read
 * the body, count the answer and send the DER with headers built once.
 */
export const ocspPlugin: FastifyPluginAsync<{
  authority: Authority;
  metrics: ServerMetrics;
  maxAgeSeconds: number;
}> = async (app, opts) => {
  const { authority, metrics, maxAgeSeconds: maxAge } = opts;
  // only DER OCSP requests are accepted here (anything else is 415)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/ocsp-request',
    { parseAs: 'buffer', bodyLimit: OCSP_BODY_LIMIT },
    (_req, body, done) => done(null, body),
  );

  const answer = async (der: Uint8Array) => {
    const r = await authority.ocsp.respond(der);
    if (r.errorStatus) metrics.ocspResponses.inc(r.errorStatus);
    else for (const s of r.statuses) metrics.ocspResponses.inc(s);
    return r;
  };

  const send = (reply: FastifyReply, der: Uint8Array) =>
    reply.headers(NO_STORE_HEADERS).send(Buffer.from(der.buffer, der.byteOffset, der.byteLength));

  app.post('/ocsp', { bodyLimit: OCSP_BODY_LIMIT }, async (request, reply) => {
    const body = request.body as Buffer | undefined;
    const r = await answer(body ?? new Uint8Array());
    return send(reply, r.der);
  });

  app.get<{ Params: { '*': string } }>('/ocsp/*', async (request, reply) => {
    const r = await answer(ocspRequestOfPath(request.params['*']));
    if (r.errorStatus) return send(reply, r.der);
    return sendCacheable(request, reply, r.der, 'application/ocsp-response', ocspCacheOptions(authority, r, maxAge));
  });
};

/**
 * The DER request of `GET /ocsp/<path>` (RFC 6960 appendix A: base64, URL-encoded; base64url accepted too): empty
 * (a malformedRequest answer) when it is not base64 or longer than a POST body may be
 */
export function ocspRequestOfPath(path: string): Uint8Array {
  let der: Uint8Array;
  try {
    const text = decodeURIComponent(path).replace(/-/g, '+').replace(/_/g, '/').replace(/\s/g, '');
    der = /^[A-Za-z0-9+/]*={0,2}$/.test(text) ? Buffer.from(text, 'base64') : new Uint8Array();
  } catch {
    der = new Uint8Array();
  }
  return der.length > OCSP_BODY_LIMIT ? new Uint8Array() : der;
}

/**
 * GET answers are cacheable (RFC 5019 §6.2: Last-Modified = thisUpdate, Expires = nextUpdate, ETag, max-age not
 * beyond nextUpdate), but only briefly: a revocation must show within seconds
 */
export function ocspCacheOptions(
  authority: Authority,
  r: { thisUpdate?: number; nextUpdate?: number },
  maxAgeSeconds: number,
): CacheOptions {
  return { maxAgeSeconds, nextUpdate: r.nextUpdate, lastModified: r.thisUpdate, now: authority.clock.now() };
}
