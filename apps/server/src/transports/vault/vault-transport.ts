import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import Router from 'find-my-way';
import { PkiError } from '@pkim/shared';
import type { Authority, VaultMount } from '@pkim/authority';
import { retryAfterSecondsOf } from '../../error-mapping';
import { render, sendJson, vaultErrorFor, type VaultOutcome } from './vault-reply';
import {
  isListQuery,
  MOUNT_ROUTES,
  SYSTEM_ROUTES,
  type VaultCall,
  type VaultOp,
  type VaultPathParams,
  type VaultRoute,
} from './vault-routes';

/**
 * The Vault/OpenBao-compatible API under `/v1/` (see docs/vault-api.md): parse the Vault request (verb, `?list`,
 * string-valued JSON, X-Vault-Token / Bearer) → ONE authority call (`authority.vault.…`) → render Vault's
 * envelope or `{"errors":[…]}`. The raw LIST verb reaches this plugin through the shim in list-verb-shim.ts.
 */
function buildRouter(routes: VaultRoute[]) {
  const router = Router({ ignoreTrailingSlash: true, caseSensitive: true });
  for (const route of routes) router.on('GET', `/${route.path}`, () => undefined, route);
  return (path: string): { route: VaultRoute; params: Record<string, string> } | undefined => {
    const found = router.find('GET', `/${path}`);
    if (!found) return undefined;
    return { route: found.store as VaultRoute, params: found.params as Record<string, string> };
  };
}

const system = buildRouter(SYSTEM_ROUTES);
/** paths that answer while the Vault API is sealed */
const SEAL_EXEMPT = new Set(['sys/health', 'sys/seal-status', 'sys/seal', 'sys/unseal']);
const mountRoutes = buildRouter(MOUNT_ROUTES);

function opOf(method: string, query: Record<string, string>): VaultOp {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return isListQuery(query) ? 'list' : 'read';
    case 'POST':
    case 'PUT':
      return 'write';
    case 'DELETE':
      return 'delete';
    case 'PATCH':
      return 'patch';
    default:
      throw new PkiError('vault.unsupported_operation', 'unsupported operation');
  }
}

function tokenOf(headers: IncomingHttpHeaders): string | undefined {
  const vaultToken = headers['x-vault-token'];
  if (typeof vaultToken === 'string' && vaultToken.trim()) return vaultToken.trim();
  const authz = headers.authorization;
  const m = typeof authz === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authz) : null;
  return m?.[1];
}

function parseBody(raw: Buffer | undefined): Record<string, unknown> {
  if (!raw || raw.length === 0) return {};
  const text = raw.toString('utf8').trim();
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new PkiError('vault.invalid_parameter', 'failed to parse JSON input: invalid character in request body');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new PkiError('vault.invalid_parameter', 'failed to parse JSON input: expected a JSON object');
  }
  return v as Record<string, unknown>;
}

/** what a Vault request is made of, whichever path received it (Fastify's route or the front path) */
export interface VaultRequest {
  method: string;
  /** the path below `/v1/`, without leading slashes */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  rawBody?: Buffer;
  request: VaultCall['request'];
}

/** the route a path goes to, and the mount it is below (mount routes) */
export interface VaultHit {
  route: VaultRoute;
  params: Record<string, string>;
  mount?: VaultMount;
}

/** no route: below a mount (an unsupported path) or not (no handler) */
export interface VaultMiss {
  route?: undefined;
  mount?: VaultMount;
}

/** no route and no mount: Vault's 404 "no handler for route" (an answer, not an error) */
export const NO_HANDLER = Symbol('no handler');
export const noHandlerBody = (path: string) => ({
  errors: [`no handler for route "${path}". route entry not found.`],
});

/** the route of `path`: a system route, else a route below the longest mount path that prefixes it */
export async function findVaultRoute(authority: Authority, path: string): Promise<VaultHit | VaultMiss> {
  const hit = system(path);
  if (hit) return hit;
  if (path.startsWith('sys/') || path.startsWith('auth/')) return {};
  const found = await authority.vault.mounts.findMount(path);
  if (!found) return {};
  const inMount = mountRoutes(found.rest);
  return inMount ? { ...inMount, mount: found.mount } : { mount: found.mount };
}

/**
 * ONE Vault request, from its parts to the route's outcome: the verb, the namespace, the seal, the route, the token,
 * the JSON body, then the route's handler. Errors are thrown (answered by `vaultErrorAnswer`). `routed`: the route
 * the caller already looked up for this path (the front path), else looked up here after the seal check.
 */
export async function answerVault(
  authority: Authority,
  req: VaultRequest,
  routed?: VaultHit | VaultMiss,
): Promise<VaultOutcome | typeof NO_HANDLER> {
  const { path, query } = req;
  const op = opOf(req.method, query);
  const namespace = req.headers['x-vault-namespace'];
  if (typeof namespace === 'string' && namespace !== '' && namespace !== 'root' && namespace !== 'root/') {
    throw new PkiError('vault.unsupported_path', `namespace ${namespace} does not exist`);
  }

  // sealed (OpenBao): every path but the seal's own answers 503 "Vault is sealed", before routing and tokens
  if (!SEAL_EXEMPT.has(path.replace(/\/+$/, '')) && (await authority.vault.seal.state()).sealed) {
    throw new PkiError('vault.sealed', 'Vault is sealed');
  }

  const hit = routed ?? (await findVaultRoute(authority, path));
  if (!hit.route) {
    if (!hit.mount) return NO_HANDLER;
    throw new PkiError('vault.unsupported_path', 'unsupported path');
  }
  const handler = hit.route.ops[op];
  if (!handler) throw new PkiError('vault.unsupported_operation', 'unsupported operation');

  const token = tokenOf(req.headers);
  const actor = token ? await authority.auth.authenticateToken(token) : undefined;
  if (hit.route.auth !== false && !actor) throw new PkiError('vault.permission_denied', 'permission denied');

  const { rawBody } = req;
  const { list: _list, ...queryParams } = query;
  const jsonBody = (op === 'write' || op === 'patch') && hit.route.body !== 'raw';
  const params = { ...queryParams, ...(jsonBody ? parseBody(rawBody) : {}) };
  const call: VaultCall = {
    op,
    params,
    query,
    path: hit.params as VaultPathParams,
    mount: hit.mount,
    actor,
    token,
    rawBody,
    authority,
    request: req.request,
  };
  return handler(call);
}

/** the Vault error handler's answer to an error — `{"errors":[…]}` with Vault's status — and its log line */
export function vaultErrorAnswer(
  error: unknown,
  log: FastifyBaseLogger,
): { status: number; retryAfter: number | undefined; body: { errors: string[] } } {
  const { status, errors } = vaultErrorFor(error);
  if (status >= 500 && (error as PkiError).code !== 'vault.sealed') log.error({ err: error }, 'vault request failed');
  else log.info({ status, code: (error as PkiError).code }, 'vault request refused');
  const retryAfter = error instanceof PkiError ? retryAfterSecondsOf(error) : undefined;
  return { status, retryAfter, body: { errors } };
}

export const vaultTransport: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  // every body arrives raw: Vault clients send JSON with or without a content type (OCSP sends DER)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => {
    const a = vaultErrorAnswer(error, request.log);
    if (a.retryAfter !== undefined) reply.header('retry-after', a.retryAfter);
    return sendJson(reply, a.status, a.body);
  });

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: '/v1/*',
    handler: async (request, reply) => {
      const path = ((request.params as Record<string, string>)['*'] ?? '').replace(/^\/+/, '');
      const out = await answerVault(authority, {
        method: request.method,
        path,
        query: request.query as Record<string, string>,
        headers: request.headers,
        rawBody: Buffer.isBuffer(request.body) ? request.body : undefined,
        request,
      });
      return out === NO_HANDLER ? sendJson(reply, 404, noHandlerBody(path)) : render(reply, out);
    },
  });
};
