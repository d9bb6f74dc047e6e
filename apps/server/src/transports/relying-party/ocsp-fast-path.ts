import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Authority, OcspAnswer } from '@pkim/authority';
import type { ServerMetrics } from '../../server-metrics';
import { OCSP_TRY_LATER, type RequestBudget } from '../../request-budget';
import { httpStatusFor, toHttpPkiError } from '../../error-mapping';
import { OCSP_BODY_LIMIT, ocspCacheOptions, ocspRequestOfPath } from './ocsp-plugin';
import { cacheHeaders, etagOf } from './relying-party-cache';
import { installFrontPath, type FrontPathContext, type FrontPathHandler } from '../front-path';

export interface OcspFastPathOptions {
  authority: Authority;
  metrics: ServerMetrics;
  /** the headers every answer carries (the security headers), lower-case names */
  commonHeaders: readonly (readonly [string, string])[];
  /** the request id: the client's `x-request-id` when valid, else a new one (Fastify's `genReqId`) */
  requestId(headers: IncomingHttpHeaders): string;
  /** the relying-party budget, charged per client address as the budget hook does; undefined when off */
  budget?: RequestBudget;
  /** max-age of GET answers in seconds (the OCSP plugin's `maxAgeSeconds`) */
  maxAgeSeconds: number;
}

const TRY_LATER = Buffer.from(OCSP_TRY_LATER);
/**
 * `GET /ocsp/<request>` taken in front: base64 (and base64url) characters with `/`, `+`, `=` also percent-encoded
 * (RFC 6960 appendix A), no other escape and no query. The router's wildcard parameter of such a path is the path
 * itself with those three decoded, so the route's `ocspRequestOfPath` of it gives the same DER as of the raw path
 */
const GET_PATH_RE = /^\/ocsp\/(?:[A-Za-z0-9+/=_-]|%2[FfBb]|%3[Dd])+$/;
/** how the path answers: the histogram's route label; whether the answer is cacheable */
const POST = { method: 'POST', route: '/ocsp', cacheable: false } as const;
const GET = { method: 'GET', route: '/ocsp/*', cacheable: true } as const;
type Kind = typeof POST | typeof GET;

/**
 * `POST /ocsp` and `GET /ocsp/<request>` answered in front of Fastify's router (issue #12 item 5,
 * docs/architecture.md "OCSP"). A relying party's OCSP request is the server's most frequent request and its answer is
 * usually a stored, pre-signed DER kept in memory (ocsp-service.ts): Fastify's routing, request and reply objects,
 * hooks and content-type parsing were most of its CPU beyond Node's own HTTP work (docs/benchmarks-record.md, session
 * 18). This path answers exactly what the OCSP plugin and the global hooks answer — the same DER from
 * `authority.ocsp.respond`, the request id and security headers, `content-type`/`cache-control` (and for GET the
 * cache headers of relying-party-cache.ts), the relying-party budget and its headers (`tryLater` over budget), the
 * OCSP counter, the request histogram and the `request completed` log line — for a request it can take whole, while
 * the server is not closing: `POST` to exactly `/ocsp`, `content-type: application/ocsp-request` as is, a
 * `content-length` within the 64 KiB limit; `GET` of a path GET_PATH_RE takes, without `if-none-match`. Anything else
 * (other spellings, chunked or oversized bodies, conditional GETs, errors to report) goes to Fastify as before. Not
 * installed when the server trusts a proxy (the client address would come from `x-forwarded-for`, Fastify's
 * business).
 */
export function installOcspFastPath(app: FastifyInstance, opts: OcspFastPathOptions): void {
  installFrontPath(app, opts.metrics, 'OCSP', (ctx) => ocspHandler(opts, ctx));
}

/** a request received in full, waiting for its batch's answer (below) */
interface Waiting {
  req: IncomingMessage;
  res: ServerResponse;
  kind: Kind;
  id: string;
  startedAt: number;
  /** the answer's headers so far (request id, security and budget headers) */
  headers: string[];
  der: Uint8Array;
}

function ocspHandler(opts: OcspFastPathOptions, { log, finish: done }: FrontPathContext): FrontPathHandler {
  const { authority, metrics, budget, maxAgeSeconds } = opts;
  const common = opts.commonHeaders.flat();
  const finish = (req: IncomingMessage, kind: Kind, id: string, startedAt: number, status: number) =>
    done(req, kind.method, kind.route, id, startedAt, status);

  // the ETag of an answer kept in memory, hashed once: the same DER object is served while it is kept
  // (ocsp-service.ts), and a DER object is never written to
  const etags = new WeakMap<Uint8Array, string>();
  const answered = ({ req, res, kind, id, startedAt, headers }: Waiting, r: OcspAnswer) => {
    if (r.errorStatus) metrics.ocspResponses.inc(r.errorStatus);
    else for (const s of r.statuses) metrics.ocspResponses.inc(s);
    const body = Buffer.from(r.der.buffer, r.der.byteOffset, r.der.byteLength);
    if (kind.cacheable && !r.errorStatus) {
      let etag = etags.get(r.der);
      if (etag === undefined) etags.set(r.der, (etag = etagOf(body)));
      const cache = cacheHeaders(body, ocspCacheOptions(authority, r, maxAgeSeconds), etag);
      for (const name in cache) headers.push(name, cache[name]!);
      send(res, headers, body, false);
    } else send(res, headers, body);
    finish(req, kind, id, startedAt, 200);
  };
  const failed = ({ req, res, kind, id, startedAt, headers }: Waiting, err: unknown) => {
    // respond() answers every failure as an OCSP error itself; this is for a bug, answered as the error handler would
    const e = toHttpPkiError(err);
    const status = httpStatusFor(e);
    log.child({ reqId: id }).error({ err, code: e.code }, 'request failed');
    const message = e.kind === 'internal' ? 'internal error' : e.message;
    const json = JSON.stringify({ error: { code: e.code, message }, code: e.code, message, requestId: id });
    const body = Buffer.from(json);
    headers.push('content-type', 'application/json; charset=utf-8', 'content-length', String(body.length));
    res.writeHead(status, headers).end(body);
    finish(req, kind, id, startedAt, status);
  };
  const viaRespond = (w: Waiting) =>
    void authority.ocsp.respond(w.der).then(
      (r) => answered(w, r),
      (err: unknown) => failed(w, err),
    );

  // The requests received in full since the last batch, answered together in the check phase (setImmediate) after
  // the poll phase that received them: ONE read of Store.otherCommits (`answersInMemory`: on SQLite a `PRAGMA
  // data_version`, ≈ 9 % of an answer when read per request) for all of them, and an answer kept in memory written
  // without a promise. Why that read may answer each of them — the rule of one read per request (session 19): a read
  // answers a request only if it started after the request's bytes arrived, so a commit of another connection that a
  // client saw before sending its request (`pkim cert revoke` beside the server) is in its answer. A request enters
  // `waiting` once its last byte was read from its socket (POST: its body's end; GET: its head, it has no body); the
  // batch is taken out of `waiting` and THEN the read is made, synchronously, and the batch answered before anything
  // else runs: every request a read answers arrived before it, whichever loop phase the requests came in, and a
  // request arriving after the read waits for the next batch and its own read. Nothing read is kept past the batch
  // (no clock window, no epoch to end: the read is made for the batch). A miss goes to `respond`, which reads again.
  let waiting: Waiting[] = [];
  const answerBatch = () => {
    const batch = waiting;
    waiting = [];
    const inMemory = authority.ocsp.answersInMemory();
    for (const w of batch) {
      const hit = inMemory(w.der);
      if (!hit) viaRespond(w);
      else answered(w, hit);
    }
  };
  const received = (w: Waiting) => {
    if (waiting.push(w) === 1) setImmediate(answerBatch);
  };

  const answer = (req: IncomingMessage, res: ServerResponse, kind: Kind) => {
    const startedAt = performance.now();
    const id = opts.requestId(req.headers);
    const headers: string[] = ['x-request-id', id, ...common];
    if (budget) {
      const d = budget.take(`ip:${req.socket.remoteAddress ?? ''}`, 1, Date.now());
      headers.push('x-ratelimit-limit', String(d.limit), 'x-ratelimit-remaining', String(d.remaining));
      headers.push('x-ratelimit-reset', String(d.resetSeconds));
      if (!d.ok) {
        // tryLater, as the budget hook answers an OCSP client (RFC 6960 §2.3); the body is not read
        headers.push('retry-after', String(d.resetSeconds));
        send(res, headers, TRY_LATER);
        finish(req, kind, id, startedAt, 200);
        return;
      }
    }
    if (kind === GET) {
      received({ req, res, kind, id, startedAt, headers, der: ocspRequestOfPath(req.url!.slice('/ocsp/'.length)) });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy()); // the client went away: nothing to answer
    req.on('end', () => {
      const der = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      received({ req, res, kind, id, startedAt, headers, der });
    });
  };

  return (req, res) => {
    const h = req.headers;
    let kind: Kind | undefined;
    if (req.method === 'POST') {
      const length = h['content-length'];
      if (
        req.url === '/ocsp' &&
        h['content-type'] === 'application/ocsp-request' &&
        length !== undefined &&
        Number(length) <= OCSP_BODY_LIMIT &&
        h['transfer-encoding'] === undefined
      )
        kind = POST;
    } else if (
      req.method === 'GET' &&
      req.url!.startsWith('/ocsp/') &&
      h['if-none-match'] === undefined &&
      GET_PATH_RE.test(req.url!)
    ) {
      kind = GET;
    }
    if (kind === undefined) return false;
    answer(req, res, kind);
    return true;
  };
}

/** a 200 of OCSP's type: `no-store` unless the caller added cache headers */
function send(res: ServerResponse, headers: string[], der: Buffer, noStore = true): void {
  headers.push('content-type', 'application/ocsp-response');
  if (noStore) headers.push('cache-control', 'no-store');
  headers.push('content-length', String(der.length));
  res.writeHead(200, headers).end(der);
}
