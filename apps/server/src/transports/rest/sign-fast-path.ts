import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { PkiError } from '@pkim/shared';
import { restErrorAnswer } from '../../error-mapping';
import { checkAccess } from '../../http/access-table';
import {
  chargeApiBudget,
  installFrontPath,
  readBody,
  writeJson,
  writeJsonText,
  type ApiFrontPathOptions,
  type FrontPathContext,
  type FrontPathHandler,
} from '../front-path';
import { SIGN_ROUTE, signAnswerJson, signWithCa } from './rest-pki-plugin';

export interface SignFastPathOptions extends ApiFrontPathOptions {
  /** the JSON body parser of the server's `application/json` content-type parser */
  parseJson: (text: string) => unknown;
}

/**
 * `/api/v1/cas/<id>/sign` with an id the router would hand over as is (no escapes, no query; longer than the router's
 * `maxParamLength` goes to its error)
 */
const SIGN_PATH_RE = /^\/api\/v1\/cas\/([A-Za-z0-9._~-]{1,2048})\/sign$/;
const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;
const ACCESS_KEY = `POST ${SIGN_ROUTE}`;
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `POST /api/v1/cas/:id/sign` answered in front of Fastify's router (issue #12 item 2; docs/benchmarks-record.md,
 * session 22). The CSR sign route is the API's hot path; beside the pipeline, Fastify's routing, request/reply objects,
 * four hook passes, body parsing and reply serialisation were ≈ 5–7 % of the server's main thread per signed request.
 * This path does what the route and its hooks do, in their order and with the same functions: the request id and
 * security headers, the API budget (`x-ratelimit-*`, 429 over it), the Bearer token (`authenticateToken`, 401), the
 * JSON body (the server's parser: 400 on bad JSON or poisoned keys), the access table (`checkAccess`, 403), the
 * route's checks and issuance (`signWithCa`: 400 with the zod issue, the pipeline's errors), then the 201 answer, the
 * request histogram and the `request completed` line; every error answered by the error handler's
 * `restErrorAnswer` (same status, body, `Retry-After` and log line). It takes only a request it can take whole, while
 * the server is not closing: `POST` to exactly `/api/v1/cas/<id>/sign` (id of unreserved URL characters),
 * `content-type: application/json` as is, an `authorization` header (the cookie session path, with its CSRF check,
 * stays Fastify's), a `content-length` from 1 to the body limit, not chunked, no `Idempotency-Key` (kept and replayed
 * by the router's http/idempotency-plugin.ts). Anything else goes to Fastify as
 * before. Not installed when the server trusts a proxy (the client address for the budget would come from
 * `x-forwarded-for`).
 */
export function installSignFastPath(app: FastifyInstance, opts: SignFastPathOptions): void {
  installFrontPath(app, opts.metrics, 'CSR sign', (ctx) => signHandler(opts, ctx));
}

function signHandler(opts: SignFastPathOptions, { log, finish: done }: FrontPathContext): FrontPathHandler {
  const { authority, budget, bodyLimit, parseJson } = opts;
  const common = opts.commonHeaders.flat();
  const finish = (req: IncomingMessage, id: string, startedAt: number, status: number) =>
    done(req, 'POST', SIGN_ROUTE, id, startedAt, status);
  const send = (res: ServerResponse, headers: string[], status: number, value: unknown) =>
    writeJson(res, headers, status, JSON_TYPE, value);
  const fail = (req: IncomingMessage, res: ServerResponse, h: string[], id: string, startedAt: number, e: unknown) => {
    if (res.headersSent || res.destroyed) return;
    const a = restErrorAnswer(e, id, log.child({ reqId: id }));
    if (a.retryAfter !== undefined) h.push('retry-after', String(a.retryAfter));
    send(res, h, a.status, a.body);
    finish(req, id, startedAt, a.status);
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, caId: string, authorization: string) => {
    const startedAt = performance.now();
    const id = opts.requestId(req.headers);
    const headers: string[] = ['x-request-id', id, ...common];
    try {
      // onRequest: the budget hook, then the auth hook (the body is not read when either refuses)
      if (budget) await chargeApiBudget(budget, req, headers);
      const token = BEARER_RE.exec(authorization)?.[1];
      if (token === undefined) throw new PkiError('auth.unauthenticated', 'expected Authorization: Bearer <token>');
      const actor = await authority.auth.authenticateToken(token);
      if (!actor) throw new PkiError('auth.unauthenticated', 'invalid, expired or revoked token');
      // the content-type parser, then the preHandler's access check, then the route
      let body: unknown;
      try {
        body = parseJson((await readBody(req)).toString('utf8'));
      } catch (e) {
        headers.push('connection', 'close'); // as Fastify after a parser error: the client may send more data
        throw e;
      }
      checkAccess('rest', ACCESS_KEY, actor);
      const issued = await signWithCa(authority, caId, body, actor);
      writeJsonText(res, headers, 201, JSON_TYPE, signAnswerJson(issued));
      finish(req, id, startedAt, 201);
    } catch (e) {
      fail(req, res, headers, id, startedAt, e);
    }
  };

  return (req, res) => {
    const h = req.headers;
    const length = h['content-length'];
    const m =
      req.method === 'POST' &&
      h['content-type'] === 'application/json' &&
      typeof h.authorization === 'string' &&
      length !== undefined &&
      h['transfer-encoding'] === undefined &&
      h['idempotency-key'] === undefined &&
      Number(length) > 0 &&
      Number(length) <= bodyLimit
        ? SIGN_PATH_RE.exec(req.url!)
        : null;
    if (!m) return false;
    // answer() answers its own failures; this is for a failure to answer one (the connection is dropped)
    answer(req, res, m[1]!, h.authorization!).catch(() => res.destroy());
    return true;
  };
}
