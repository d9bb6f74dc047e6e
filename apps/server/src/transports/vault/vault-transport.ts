import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Router from 'find-my-way';
import { PkiError } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { render, sendJson, vaultErrorFor } from './vault-reply';
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

function opOf(request: FastifyRequest, query: Record<string, string>): VaultOp {
  switch (request.method) {
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

function tokenOf(request: FastifyRequest): string | undefined {
  const vaultToken = request.headers['x-vault-token'];
  if (typeof vaultToken === 'string' && vaultToken.trim()) return vaultToken.trim();
  const authz = request.headers.authorization;
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

export const vaultTransport: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  // every body arrives raw: Vault clients send JSON with or without a content type (OCSP sends DER)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => {
    const { status, errors } = vaultErrorFor(error);
    if (status >= 500 && (error as PkiError).code !== 'vault.sealed') {
      request.log.error({ err: error }, 'vault request failed');
    } else request.log.info({ status, code: (error as PkiError).code }, 'vault request refused');
    return sendJson(reply, status, { errors });
  });

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: '/v1/*',
    handler: async (request, reply) => {
      const path = ((request.params as Record<string, string>)['*'] ?? '').replace(/^\/+/, '');
      const query = request.query as Record<string, string>;
      const op = opOf(request, query);
      const namespace = request.headers['x-vault-namespace'];
      if (typeof namespace === 'string' && namespace !== '' && namespace !== 'root' && namespace !== 'root/') {
        throw new PkiError('vault.unsupported_path', `namespace ${namespace} does not exist`);
      }

      // sealed (OpenBao): every path but the seal's own answers 503 "Vault is sealed", before routing and tokens
      if (!SEAL_EXEMPT.has(path.replace(/\/+$/, '')) && (await authority.vault.seal.state()).sealed) {
        throw new PkiError('vault.sealed', 'Vault is sealed');
      }

      let hit = system(path);
      let mount;
      if (!hit && !path.startsWith('sys/') && !path.startsWith('auth/')) {
        const found = await authority.vault.mounts.findMount(path);
        if (found) {
          mount = found.mount;
          hit = mountRoutes(found.rest);
        }
      }
      if (!hit) {
        if (!mount) {
          return sendJson(reply, 404, { errors: [`no handler for route "${path}". route entry not found.`] });
        }
        throw new PkiError('vault.unsupported_path', 'unsupported path');
      }
      const handler = hit.route.ops[op];
      if (!handler) throw new PkiError('vault.unsupported_operation', 'unsupported operation');

      const token = tokenOf(request);
      const actor = token ? await authority.auth.authenticateToken(token) : undefined;
      if (hit.route.auth !== false && !actor) throw new PkiError('vault.permission_denied', 'permission denied');

      const rawBody = Buffer.isBuffer(request.body) ? request.body : undefined;
      const { list: _list, ...queryParams } = query;
      const jsonBody = (op === 'write' || op === 'patch') && hit.route.body !== 'raw';
      const params = { ...queryParams, ...(jsonBody ? parseBody(rawBody) : {}) };
      const call: VaultCall = {
        op,
        params,
        query,
        path: hit.params as VaultPathParams,
        mount,
        actor,
        token,
        rawBody,
        authority,
        request,
      };
      return render(reply, await handler(call));
    },
  });
};
