import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { PkiError } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import type { ServerMetrics } from '../server-metrics';
import type { RequestBudget } from '../request-budget';

/** what a path answered in front of the router shares with Fastify's hooks */
export interface FrontPathContext {
  /** Fastify's logger (its serialisers); without logging a null logger that has no isLevelEnabled */
  log: FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
  /** an answered request's histogram sample and `request completed` line, as the hooks record them */
  finish: (req: IncomingMessage, method: string, route: string, id: string, startedAt: number, status: number) => void;
  /**
   * hands a request the handler took back to the listener behind it (Fastify's), for a handler that learns only
   * after an await that the request is not its own; allowed while nothing of the request was read or answered
   */
  pass: (req: IncomingMessage, res: ServerResponse) => void;
}

/** takes a request (true: it answers it) or leaves it to the router (false) */
export type FrontPathHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Installs a path answered in front of Fastify's router (the OCSP and CSR sign routes: issue #12,
 * docs/benchmarks-record.md sessions 18 and 22): `build` gets what it shares with the hooks and gives the handler that
 * takes its requests; every request it does not take, and every request once the server is closing (Fastify answers 503
 * then), goes to the listener that was there — Fastify's, or another front path's. `name` says which path in the list
 * of installed ones (`installedFrontPaths`) and in the error. The server must have exactly one request listener: with
 * none or two (a listener added beside Fastify's: session 36 turned every front path off that way, silently) nothing is
 * installed and `FrontPathNotInstalled` is thrown, naming the path and the cause (buildServer's `frontPathFailure`
 * makes it a start-up error, or a warning in production).
 */
export function installFrontPath(
  app: FastifyInstance,
  metrics: ServerMetrics,
  name: string,
  build: (ctx: FrontPathContext) => FrontPathHandler,
): void {
  const server = app.server;
  const [next, ...others] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (!next || others.length > 0) {
    throw new FrontPathNotInstalled(
      name,
      `the HTTP server has ${server.listenerCount('request')} 'request' listeners, not one: a listener added beside ` +
        `Fastify's takes every request too (wrap the one there instead, as http-idle-timeout.ts does)`,
    );
  }
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  const log = app.log as FrontPathContext['log'];
  const handler = build({
    log,
    finish: (req, method, route, id, startedAt, status) => {
      const ms = performance.now() - startedAt;
      metrics.httpDuration.observe(method, route, status, ms / 1000);
      if (log.isLevelEnabled?.('info')) {
        // the line of OneLineRequestLog, through Fastify's serialisers (req: method, url, host, address, port)
        const request = { method: req.method, url: req.url, headers: req.headers, host: req.headers.host };
        const r = { ...request, ip: req.socket.remoteAddress, socket: req.socket };
        log.child({ reqId: id }).info({ req: r, res: { statusCode: status }, responseTime: ms }, 'request completed');
      }
    },
    pass: (req, res) => next(req, res),
  });
  server.removeListener('request', next);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (closing || !handler(req, res)) next(req, res);
  });
  installed.set(app, [...installedFrontPaths(app), name]);
}

const installed = new WeakMap<FastifyInstance, readonly string[]>();

/** the names of the front paths installed on `app`, in the order installed */
export function installedFrontPaths(app: FastifyInstance): readonly string[] {
  return installed.get(app) ?? [];
}

/** a front path that could not be installed; `message` names it and the cause */
export class FrontPathNotInstalled extends Error {
  constructor(
    readonly frontPath: string,
    readonly reason: string,
  ) {
    super(`the ${frontPath} front path cannot be installed: ${reason}`);
    this.name = 'FrontPathNotInstalled';
  }
}

/**
 * Runs a front path's install as buildServer's `frontPathFailure` says: `error` lets `FrontPathNotInstalled` through
 * (the start fails); `warn` logs it on the app's logger, naming the path and the cause, and the server goes on with
 * the path's requests answered by the router (the same answers, slower). Any other error is thrown either way.
 */
export function installFrontPathOrWarn(app: FastifyInstance, failure: 'error' | 'warn', install: () => void): void {
  try {
    install();
  } catch (e) {
    if (failure === 'error' || !(e instanceof FrontPathNotInstalled)) throw e;
    app.log.warn(
      { frontPath: e.frontPath, reason: e.reason },
      `${e.message}; its requests go through the router (the same answers, slower)`,
    );
  }
}

/** the API budget and its key (per valid credential, else per address), as the budget hook charges it */
export interface FrontPathBudget {
  budget: RequestBudget;
  keyOf(headers: IncomingHttpHeaders, ip: string): Promise<string>;
}

/** what the API routes answered in front of the router (the CSR sign route, Vault's issue/sign) are given */
export interface ApiFrontPathOptions {
  authority: Authority;
  metrics: ServerMetrics;
  /** the headers every answer carries (the security headers), lower-case names */
  commonHeaders: readonly (readonly [string, string])[];
  /** the request id: the client's `x-request-id` when valid, else a new one (Fastify's `genReqId`) */
  requestId(headers: IncomingHttpHeaders): string;
  /** the API budget and its key (per valid token, else per address), as the budget hook charges; undefined when off */
  budget?: FrontPathBudget;
  /** Fastify's `bodyLimit`: a longer `content-length` goes to Fastify (its 413) */
  bodyLimit: number;
}

/**
 * Charges one request to the API budget as the budget hook does: the `x-ratelimit-*` headers (and `retry-after` over
 * the budget) pushed on `headers`; over the budget it throws `rate.limited` (the route's error handler answers it)
 */
export async function chargeApiBudget(b: FrontPathBudget, req: IncomingMessage, headers: string[]): Promise<void> {
  const d = b.budget.take(await b.keyOf(req.headers, req.socket.remoteAddress ?? ''), 1, Date.now());
  headers.push('x-ratelimit-limit', String(d.limit), 'x-ratelimit-remaining', String(d.remaining));
  headers.push('x-ratelimit-reset', String(d.resetSeconds));
  if (!d.ok) {
    headers.push('retry-after', String(d.resetSeconds));
    throw new PkiError('rate.limited', `too many requests; retry in ${d.resetSeconds} s`);
  }
}

/** the request's body (as Fastify's `parseAs: 'buffer'`); a client gone away ends the exchange */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('the client went away')));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  });
}

/** a JSON answer: `headers` (lower-case name, value, …) plus its `content-type` and `content-length` */
export function writeJson(res: ServerResponse, headers: string[], status: number, type: string, value: unknown): void {
  writeJsonText(res, headers, status, type, JSON.stringify(value));
}

/**
 * an answer of JSON text already serialised, as writeJson. The text goes to `end` as a string, its length in bytes
 * counted without encoding it: node:http then joins the head and the body into one string and one `write` (a Buffer
 * body was encoded once by `Buffer.from` and went out beside the head in a `writev` of two chunks) — the largest line
 * of ours on the CSR sign row's main thread after the warm-up (docs/benchmarks-record.md, session 42)
 */
export function writeJsonText(
  res: ServerResponse,
  headers: string[],
  status: number,
  type: string,
  text: string,
): void {
  headers.push('content-type', type, 'content-length', String(Buffer.byteLength(text)));
  res.writeHead(status, headers).end(text);
}
