import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PkiError } from '@pkim/shared';
import {
  acmeProblemType,
  type AcmePostKind,
  type AcmeRequestContext,
  type AcmeResponse,
  type Authority,
} from '@pkim/authority';
import { httpStatusFor, toHttpPkiError } from '../../error-mapping';
import { requestOrigin } from '../../http/request-origin';

/**
 * The ACME server (RFC 8555, docs/acme.md) of every CA with ACME enabled, at `/acme/<CA id or name>/`:
 * parse (flattened JWS body, URL, headers) → ONE authority call (`authority.acme.…`) → render (JSON or PEM,
 * Replay-Nonce, Location, Link, Retry-After) — or an RFC 7807 problem document `urn:ietf:params:acme:error:*`.
 * JWS verification, nonces, the order state machine, challenge validation and issuance are the authority's.
 */

/** HTTP statuses of the ACME problems (RFC 8555 §6.7; Boulder's choices where the RFC leaves it open) */
const STATUS: Record<string, number> = {
  'acme.malformed': 400,
  'acme.bad_nonce': 400,
  'acme.bad_signature_algorithm': 400,
  'acme.bad_public_key': 400,
  'acme.unauthorized': 403,
  'acme.account_does_not_exist': 400,
  'acme.external_account_required': 400,
  'acme.invalid_contact': 400,
  'acme.rejected_identifier': 400,
  'acme.unsupported_identifier': 400,
  'acme.order_not_ready': 403,
  'acme.bad_csr': 400,
  'acme.bad_revocation_reason': 400,
  'acme.already_revoked': 400,
  'acme.rate_limited': 429,
  'acme.conflict': 409,
  'acme.not_found': 404,
  'acme.not_enabled': 404,
};

/** PkiError → ACME problem (type, HTTP status) */
export function acmeProblemFor(e: PkiError): { type: string; status: number } {
  if (e.code.startsWith('acme.'))
    return {
      type: acmeProblemType(e.code === 'acme.not_enabled' ? 'acme.malformed' : e.code),
      status: STATUS[e.code] ?? httpStatusFor(e),
    };
  if (e.code === 'input.unsupported_media_type') return { type: acmeProblemType('acme.malformed'), status: 415 };
  if (e.code.startsWith('csr.')) return { type: acmeProblemType('acme.bad_csr'), status: 400 };
  if (e.code.endsWith('.name_not_allowed')) return { type: acmeProblemType('acme.rejected_identifier'), status: 400 };
  if (e.code === 'rate.limited') return { type: acmeProblemType('acme.rate_limited'), status: 429 };
  switch (e.kind) {
    case 'invalid_input':
    case 'not_found':
      return { type: acmeProblemType('acme.malformed'), status: httpStatusFor(e) };
    case 'unauthenticated':
    case 'forbidden':
      return { type: acmeProblemType('acme.unauthorized'), status: 403 };
    case 'policy':
      return { type: acmeProblemType('acme.bad_csr'), status: 400 };
    case 'rate_limited':
      return { type: acmeProblemType('acme.rate_limited'), status: 429 };
    default:
      return { type: acmeProblemType('acme.server_internal'), status: httpStatusFor(e) };
  }
}

interface DirParams {
  dir: string;
  id?: string;
  type?: string;
  certId?: string;
}

function contextOf(request: FastifyRequest): AcmeRequestContext {
  const raw = request.url.split('?')[0] ?? '';
  const dirSegment = raw.split('/')[2] ?? '';
  const origin = requestOrigin(request);
  return {
    directory: (request.params as DirParams).dir,
    baseUrl: `${origin}/acme/${dirSegment}`,
    url: `${origin}${raw}`,
    ip: request.ip,
  };
}

async function withNonce(authority: Authority, reply: FastifyReply): Promise<void> {
  reply.header('replay-nonce', await authority.acme.newNonce());
}

function render(reply: FastifyReply, ctx: AcmeRequestContext, r: AcmeResponse) {
  reply.code(r.status).header('cache-control', 'no-store');
  const links = [`<${ctx.baseUrl}/directory>;rel="index"`, ...(r.links ?? [])];
  reply.header('link', links);
  if (r.location) reply.header('location', r.location);
  if (r.retryAfterSeconds !== undefined) reply.header('retry-after', String(r.retryAfterSeconds));
  if (r.body === undefined) return reply.send();
  if (typeof r.body === 'string') return reply.type(r.contentType ?? 'text/plain').send(r.body);
  return reply.type('application/json').send(r.body);
}

const POSTS: { url: string; kind: AcmePostKind }[] = [
  { url: '/acme/:dir/new-account', kind: 'new-account' },
  { url: '/acme/:dir/new-order', kind: 'new-order' },
  { url: '/acme/:dir/revoke-cert', kind: 'revoke-cert' },
  { url: '/acme/:dir/key-change', kind: 'key-change' },
  { url: '/acme/:dir/acct/:id', kind: 'account' },
  { url: '/acme/:dir/acct/:id/orders', kind: 'account-orders' },
  { url: '/acme/:dir/order/:id', kind: 'order' },
  { url: '/acme/:dir/order/:id/finalize', kind: 'finalize' },
  { url: '/acme/:dir/authz/:id', kind: 'authz' },
  { url: '/acme/:dir/chall/:id/:type', kind: 'challenge' },
  { url: '/acme/:dir/cert/:id', kind: 'certificate' },
];

const plugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  // RFC 8555 §6.2: JWS bodies come as application/jose+json (nothing else is accepted on POST)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/jose+json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new PkiError('acme.malformed', 'the request body is not JSON'), undefined);
    }
  });

  app.setErrorHandler(async (error, request, reply) => {
    const e = toHttpPkiError(error);
    const { type, status } = acmeProblemFor(e);
    if (status >= 500) request.log.error({ err: error, code: e.code }, 'ACME request failed');
    else request.log.info({ code: e.code, status }, 'ACME request refused');
    const ctx = contextOf(request);
    if (e.code !== 'acme.not_enabled') {
      try {
        await withNonce(authority, reply);
      } catch {
        // no nonce when the store is down: the problem still goes out
      }
    }
    const retry = (e.details as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retry !== undefined) reply.header('retry-after', String(retry));
    if (e.code === 'acme.conflict' && typeof e.details.location === 'string')
      reply.header('location', e.details.location);
    const extra =
      e.code === 'acme.bad_signature_algorithm' && Array.isArray(e.details.algorithms)
        ? { algorithms: e.details.algorithms }
        : {};
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .header('link', `<${ctx.baseUrl}/directory>;rel="index"`)
      .type('application/problem+json')
      .send({ type, detail: e.kind === 'internal' ? 'internal error' : e.message, status, ...extra });
  });

  // an unknown directory is a 404 problem before anything else (content type, body) is looked at
  app.addHook('onRequest', async (request) => {
    const dir = (request.params as Partial<DirParams>).dir;
    if (dir !== undefined) await authority.acme.checkDirectory(dir);
  });

  app.get('/acme/:dir/directory', async (request, reply) => {
    const ctx = contextOf(request);
    const r = await authority.acme.directory(ctx);
    return reply.code(200).header('cache-control', 'public, max-age=60').type('application/json').send(r.body);
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/acme/:dir/new-nonce',
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const ctx = contextOf(request);
      await authority.acme.checkDirectory(ctx.directory);
      await withNonce(authority, reply);
      return render(reply, ctx, { status: request.method === 'HEAD' ? 200 : 204 });
    },
  });

  app.get('/acme/:dir/renewal-info/:certId', async (request, reply) => {
    const ctx = contextOf(request);
    const r = await authority.acme.renewalInfo(ctx, (request.params as DirParams).certId ?? '');
    return render(reply, ctx, r);
  });

  for (const route of POSTS) {
    app.post(route.url, async (request, reply) => {
      const ctx = contextOf(request);
      const { id, type } = request.params as DirParams;
      const r = await authority.acme.post(route.kind, ctx, { id, type }, request.body);
      await withNonce(authority, reply);
      return render(reply, ctx, r);
    });
  }
};

export const acmeTransport = plugin;
