import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { PkiError } from '@pkim/shared';
import {
  chargeApiBudget,
  installFrontPath,
  readBody,
  writeJsonText,
  type ApiFrontPathOptions,
  type FrontPathContext,
  type FrontPathHandler,
} from '../front-path';
import { JSON_TYPE, jsonAnswerOf, jsonTextOf } from './vault-reply';
import { MOUNT_ROUTES } from './vault-routes';
import { answerVault, findVaultRoute, NO_HANDLER, vaultErrorAnswer, type VaultHit } from './vault-transport';

export type VaultFastPathOptions = ApiFrontPathOptions;

/** the Vault plugin's route (the histogram's label, as Fastify's `routeOptions.url`) */
const ROUTE = '/v1/*';
/**
 * `/v1/<mount>/[issuer/<ref>/](issue|sign)/<role>`: segments of unreserved URL characters (what the router's wildcard
 * hands over as is: no escape, no empty segment), no query
 */
const PATH_RE = /^\/v1\/((?:[A-Za-z0-9._~-]+\/)+(?:issue|sign)\/[A-Za-z0-9._~-]+)$/;
const MAX_URL = 2048;
/** the routes taken in front: issue and sign below a mount, and their twins below `issuer/:ref/` */
const FRONT_ROUTES = new Set(MOUNT_ROUTES.filter((r) => /^(?:issuer\/:ref\/)?(?:issue|sign)\/:role$/.test(r.path)));

/**
 * The Vault API's `issue/:role` and `sign/:role` (and their `issuer/:ref/` twins) answered in front of Fastify's router
 * (issue #12; docs/benchmarks-record.md, session 23), as `POST /api/v1/cas/:id/sign` is (sign-fast-path.ts): the
 * request id and security headers, the API budget (`x-ratelimit-*`, 429 over it), the body, then `answerVault` — the
 * function the Vault route calls: namespace, seal, route, token (X-Vault-Token or Bearer), JSON body, the route's
 * handler — and Vault's envelope or `{"errors":[…]}` with the Vault error handler's status and log line
 * (`vaultErrorAnswer`), the request histogram and the `request completed` line. It takes `POST`/`PUT` with
 * `content-type: application/json` as is, a `content-length` from 1 to the body limit, not chunked, a path PATH_RE
 * takes; the path's route is looked up first (`findVaultRoute`, the mount's settings read) and a path that is not one
 * of these routes (another route below a mount named like `…/sign`, no mount) or whose lookup fails goes back to
 * Fastify untouched, before anything is read or answered.
 */
export function installVaultFastPath(app: FastifyInstance, opts: VaultFastPathOptions): void {
  installFrontPath(app, opts.metrics, 'Vault issue/sign', (ctx) => vaultHandler(opts, ctx));
}

function vaultHandler(opts: VaultFastPathOptions, { log, finish, pass }: FrontPathContext): FrontPathHandler {
  const { authority, budget, bodyLimit } = opts;
  const common = opts.commonHeaders.flat();
  const send = (res: ServerResponse, headers: string[], status: number, value: unknown) => {
    headers.push('cache-control', 'no-store');
    writeJsonText(res, headers, status, JSON_TYPE, jsonTextOf(value));
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, path: string, hit: VaultHit) => {
    const startedAt = performance.now();
    const id = opts.requestId(req.headers);
    const headers: string[] = ['x-request-id', id, ...common];
    const method = req.method!;
    try {
      // onRequest: the budget hook; then the body (the Vault plugin's content-type parser), then the route handler
      if (budget) await chargeApiBudget(budget, req, headers);
      const rawBody = await readBody(req);
      const request = { url: req.url! };
      const out = await answerVault(
        authority,
        { method, path, query: {}, headers: req.headers, rawBody, request },
        hit,
      );
      if (out === NO_HANDLER || (out.kind !== 'json' && out.kind !== 'missing' && out.kind !== 'bare')) {
        throw new PkiError('internal.error', 'a Vault route taken in front answered other than JSON');
      }
      const a = jsonAnswerOf(out);
      send(res, headers, a.status, a.body);
      finish(req, method, ROUTE, id, startedAt, a.status);
    } catch (e) {
      if (res.headersSent || res.destroyed) return;
      const a = vaultErrorAnswer(e, log.child({ reqId: id }));
      if (a.retryAfter !== undefined) headers.push('retry-after', String(a.retryAfter));
      send(res, headers, a.status, a.body);
      finish(req, method, ROUTE, id, startedAt, a.status);
    }
  };

  /** the route of the path first: a request that is not one of FRONT_ROUTES goes back to Fastify untouched */
  const take = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    let hit;
    try {
      hit = await findVaultRoute(authority, path);
    } catch {
      hit = undefined; // Fastify's route answers it (the seal check comes first there)
    }
    if (hit?.route && FRONT_ROUTES.has(hit.route)) await answer(req, res, path, hit);
    else pass(req, res);
  };

  return (req, res) => {
    const h = req.headers;
    const length = h['content-length'];
    const url = req.url!;
    const m =
      (req.method === 'POST' || req.method === 'PUT') &&
      h['content-type'] === 'application/json' &&
      length !== undefined &&
      h['transfer-encoding'] === undefined &&
      Number(length) > 0 &&
      Number(length) <= bodyLimit &&
      url.length <= MAX_URL
        ? PATH_RE.exec(url)
        : null;
    if (!m) return false;
    // answer() answers its own failures; this is for a failure to answer one (the connection is dropped)
    take(req, res, m[1]!).catch(() => res.destroy());
    return true;
  };
}
