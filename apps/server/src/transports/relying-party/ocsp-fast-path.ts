import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Authority } from '@pkim/authority';
import type { ServerMetrics } from '../../server-metrics';
import { OCSP_TRY_LATER, type RequestBudget } from '../../request-budget';
import { httpStatusFor, toHttpPkiError } from '../../error-mapping';
import { OCSP_BODY_LIMIT } from './ocsp-plugin';

export interface OcspFastPathOptions {
  authority: Authority;
  metrics: ServerMetrics;
  /** the headers every answer carries (the security headers), lower-case names */
  commonHeaders: readonly (readonly [string, string])[];
  /** the request id: the client's `x-request-id` when valid, else a new one (Fastify's `genReqId`) */
  requestId(headers: IncomingHttpHeaders): string;
  /** the relying-party budget, charged per client address as the budget hook does; undefined when off */
  budget?: RequestBudget;
}

const TRY_LATER = Buffer.from(OCSP_TRY_LATER);

/**
 * `POST /ocsp` answered in front of Fastify's router (issue #12 item 5, docs/architecture.md "OCSP"). A relying
 * party's OCSP request is the server's most frequent request and its answer is usually a stored, pre-signed DER kept in
 * memory (ocsp-service.ts): Fastify's routing, request and reply objects, hooks and content-type parsing were most of
 * its CPU beyond Node's own HTTP work (docs/benchmarks.md, session 18). This path answers exactly what the OCSP plugin
 * and the global hooks answer — the same DER from `authority.ocsp.respond`, the request id and security headers,
 * `content-type`/`cache-control`, the relying-party budget and its headers (`tryLater` over budget), the OCSP
 * counter, the request histogram and the `request completed` log line — for a request it can take whole: `POST` to
 * exactly `/ocsp`, `content-type: application/ocsp-request` as is, a `content-length` within the 64 KiB limit, while
 * the server is not closing. Anything else (other spellings, chunked or oversized bodies, GET, errors to report) goes
 * to Fastify as before. Not installed when the server trusts a proxy (the client address would come from
 * `x-forwarded-for`, Fastify's business).
 */
export function installOcspFastPath(app: FastifyInstance, opts: OcspFastPathOptions): void {
  const server = app.server;
  const [fastify, ...others] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (!fastify || others.length > 0) return; // not the server this was written for: Fastify answers everything
  const { authority, metrics, budget } = opts;
  const common = opts.commonHeaders.flat();
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true; // Fastify answers 503 from now on
    done();
  });
  // Fastify's logger (its serialisers); without logging it is a null logger that has no isLevelEnabled
  const log = app.log as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };

  const finish = (req: IncomingMessage, res: ServerResponse, id: string, startedAt: number, status: number) => {
    const ms = performance.now() - startedAt;
    metrics.httpDuration.observe('POST', '/ocsp', status, ms / 1000);
    if (log.isLevelEnabled?.('info')) {
      // the line of OneLineRequestLog, through Fastify's serialisers (req: method, url, host, address, port)
      const request = { method: req.method, url: req.url, headers: req.headers, host: req.headers.host };
      const r = { ...request, ip: req.socket.remoteAddress, socket: req.socket };
      log.child({ reqId: id }).info({ req: r, res: { statusCode: status }, responseTime: ms }, 'request completed');
    }
  };

  const answer = (req: IncomingMessage, res: ServerResponse) => {
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
        finish(req, res, id, startedAt, 200);
        return;
      }
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy()); // the client went away: nothing to answer
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      authority.ocsp.respond(body).then(
        (r) => {
          if (r.errorStatus) metrics.ocspResponses.inc(r.errorStatus);
          else for (const s of r.statuses) metrics.ocspResponses.inc(s);
          send(res, headers, Buffer.from(r.der.buffer, r.der.byteOffset, r.der.byteLength));
          finish(req, res, id, startedAt, 200);
        },
        (err: unknown) => {
          // respond() answers every failure as an OCSP error itself; this is for a bug, answered as the error
          // handler would
          const e = toHttpPkiError(err);
          const status = httpStatusFor(e);
          log.child({ reqId: id }).error({ err, code: e.code }, 'request failed');
          const message = e.kind === 'internal' ? 'internal error' : e.message;
          const json = JSON.stringify({ error: { code: e.code, message }, code: e.code, message, requestId: id });
          const body = Buffer.from(json);
          headers.push('content-type', 'application/json; charset=utf-8', 'content-length', String(body.length));
          res.writeHead(status, headers).end(body);
          finish(req, res, id, startedAt, status);
        },
      );
    });
  };

  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const h = req.headers;
    const length = h['content-length'];
    if (
      req.url === '/ocsp' &&
      req.method === 'POST' &&
      !closing &&
      h['content-type'] === 'application/ocsp-request' &&
      length !== undefined &&
      Number(length) <= OCSP_BODY_LIMIT &&
      h['transfer-encoding'] === undefined
    ) {
      answer(req, res);
    } else {
      fastify(req, res);
    }
  });
}

function send(res: ServerResponse, headers: string[], der: Buffer): void {
  headers.push('content-type', 'application/ocsp-response', 'cache-control', 'no-store');
  headers.push('content-length', String(der.length));
  res.writeHead(200, headers).end(der);
}
