import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ifNoneMatchHits } from '../../http/conditional-get';

/**
 * Cache headers for CRL/AIA/OCSP GET answers (RFC 5019 §6.2 for OCSP): a short, bounded max-age (never beyond the
 * object's nextUpdate), `Expires` = nextUpdate, `Last-Modified` = thisUpdate, and a strong ETag so revalidation is
 * a 304. The server itself keeps no copy: freshness after a revocation is the authority's job.
 */
export function etagOf(der: Uint8Array): string {
  return `"${createHash('sha256').update(der).digest('base64url').slice(0, 27)}"`;
}

export interface CacheOptions {
  maxAgeSeconds: number;
  nextUpdate?: number;
  lastModified?: number;
  now: number;
}

/**
 * the cache headers of a GET answer: cache-control, etag, and expires/last-modified when known; `etag`: the body's
 * (etagOf) when the caller has it already
 */
export function cacheHeaders(body: Uint8Array, opts: CacheOptions, etag?: string): Record<string, string> {
  let maxAge = opts.maxAgeSeconds;
  if (opts.nextUpdate !== undefined)
    maxAge = Math.max(0, Math.min(maxAge, Math.floor((opts.nextUpdate - opts.now) / 1000)));
  const headers: Record<string, string> = {
    'cache-control': `public, max-age=${maxAge}, no-transform`,
    etag: etag ?? etagOf(body),
  };
  if (opts.nextUpdate !== undefined) headers.expires = new Date(opts.nextUpdate).toUTCString();
  if (opts.lastModified !== undefined) headers['last-modified'] = new Date(opts.lastModified).toUTCString();
  return headers;
}

export function sendCacheable(
  request: FastifyRequest,
  reply: FastifyReply,
  body: Uint8Array,
  contentType: string,
  opts: CacheOptions,
): FastifyReply {
  const headers = cacheHeaders(body, opts);
  reply.headers(headers);
  if (ifNoneMatchHits(request.headers['if-none-match'], headers.etag!)) return reply.code(304).send();
  return reply.type(contentType).send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}
