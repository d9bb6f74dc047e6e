import type { FastifyPluginAsync } from 'fastify';
import { PkiError } from '@pkim/shared';
import type { Authority, IdempotencyClaim } from '@pkim/authority';
import { checkAccess } from './access-table';

declare module 'fastify' {
  interface FastifyRequest {
    /** the claim of a first request made with an `Idempotency-Key` (idempotency-plugin.ts), until it is answered */
    idempotencyClaim?: IdempotencyClaim;
  }
}

/** A replayed answer says so (as Stripe's): the creation it reports happened at the first request. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/**
 * The REST POSTs that refuse `Idempotency-Key` (400 `idempotency.not_supported`), with why: their answer carries a
 * private key or a secret, which the server never keeps to replay (the answers are stored in the database), or a
 * file. Every other `POST /api/v1/…` honours it. A test (idempotency-key.test.ts) walks every POST route's answer
 * schema: one that can carry a private key or a secret must be here.
 */
export const IDEMPOTENCY_REFUSED: Readonly<Record<string, string>> = {
  'POST /api/v1/certificates/with-key':
    'its answer carries the private key the server generated, which is never kept to replay; to retry safely, make ' +
    'the key yourself and send its CSR to POST /api/v1/certificates with the Idempotency-Key',
  'POST /api/v1/certificates/:ref/renew':
    'its answer carries the new private key unless the body has a csrPem (then the header is taken)',
  'POST /api/v1/certificates/:ref/export': 'an export may carry a private key and is safe to repeat without a key',
  'POST /api/v1/cas/:id/truststore': 'a truststore export is a file and is safe to repeat without a key',
  'POST /api/v1/tokens': "its answer carries the new token's secret, which is never kept to replay",
  'POST /api/v1/ssh/fleet-tokens': "its answer carries the fleet token's secret, which is never kept to replay",
  'POST /api/v1/acme/eab-keys': "its answer carries the EAB key's HMAC secret, which is never kept to replay",
  'POST /api/v1/notifications/rules': "its answer carries a webhook rule's secret, which is never kept to replay",
  'POST /api/v1/notifications/rules/:rule/rotate-secret':
    'its answer carries the new webhook secret, which is never kept to replay',
};

/** routes of IDEMPOTENCY_REFUSED that take the header for some bodies: the renewal with the caller's own CSR */
function takesKeyAnyway(route: string, body: unknown): boolean {
  return (
    route === 'POST /api/v1/certificates/:ref/renew' &&
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Record<string, unknown>).csrPem === 'string'
  );
}

/** a bare key: printable ASCII, no space, not starting with a quote (that is a structured-field string's) */
const BARE_KEY_RE = /^[\x21\x23-\x7e][\x21-\x7e]{0,254}$/;
const SF_STRING_RE = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\]){1,255})"$/;

/**
 * The key of an `Idempotency-Key` header: a structured-field string (`"8e03978e-…"`, RFC 8941, as the IETF draft
 * defines the field) or, as most clients send it, the bare key; 1 to 255 printable ASCII characters.
 */
export function parseIdempotencyKey(header: string | string[]): string {
  const value = Array.isArray(header) ? undefined : header.trim();
  const sf = value === undefined ? null : SF_STRING_RE.exec(value);
  const key = sf ? sf[1]!.replace(/\\(["\\])/g, '$1') : value;
  if (key === undefined || key.length > 255 || (!sf && !BARE_KEY_RE.test(key))) {
    throw new PkiError(
      'idempotency.invalid_key',
      'Idempotency-Key must be one key of 1 to 255 printable ASCII characters ("…" or bare)',
    );
  }
  return key;
}

/**
 * `Idempotency-Key` on the REST API's POSTs (`/api/v1/…`; IETF draft "The Idempotency-Key HTTP Header Field"): the
 * first request with a key runs and its answer (2xx status + body) is kept; a retry by the same caller with the same
 * key and request gets that answer again (`Idempotent-Replayed: true`) instead of a second creation or a 409; the key
 * with another request is 422 `idempotency.key_reused`; a retry while the first runs is 409 `idempotency.in_progress`.
 * The authority keeps the answers (`authority.idempotency`, in the database: a restart or another instance on the same
 * PostgreSQL database replays them). The caller's access is checked before anything is looked up, as the route would.
 * Register in the authenticated API scope after the auth plugin (skip-override: its hooks apply to the scope).
 */
const plugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  app.decorateRequest('idempotencyClaim', undefined);
  app.addHook('preHandler', async (request, reply) => {
    const header = request.headers['idempotency-key'];
    if (header === undefined || request.method !== 'POST') return;
    const url = request.routeOptions.url;
    if (!url?.startsWith('/api/v1/')) return; // tRPC, OIDC: not REST creations
    const route = `POST ${url}`;
    // the route's own check, first: a caller without the permission learns nothing of the key
    checkAccess('rest', route, request.actor);
    const refused = IDEMPOTENCY_REFUSED[route];
    if (refused !== undefined && !takesKeyAnyway(route, request.body)) {
      throw new PkiError('idempotency.not_supported', `${route} does not take an Idempotency-Key: ${refused}`);
    }
    const key = parseIdempotencyKey(header);
    if (!request.actor) return; // a public route: no caller to keep an answer for
    const begun = await authority.idempotency.begin({
      scope: request.actor.id,
      key,
      method: 'POST',
      path: request.url,
      body: request.body,
    });
    if ('claim' in begun) {
      request.idempotencyClaim = begun.claim;
      // the events the creation commits name the claim: a retry after a stop before finish() finds the creation
      request.actor = { ...request.actor, idempotencyClaim: begun.claim.owner };
      return;
    }
    const a = begun.replay;
    reply.code(a.status).header('content-type', a.contentType).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    return reply.send(a.bodyBase64 ? Buffer.from(a.body, 'base64') : a.body);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const claim = request.idempotencyClaim;
    if (!claim) return payload;
    request.idempotencyClaim = undefined;
    const status = reply.statusCode;
    const text = typeof payload === 'string';
    try {
      // an answer with a PEM private key is never kept, whatever the route (IDEMPOTENCY_REFUSED should have refused)
      const keyless = text ? !payload.includes('PRIVATE KEY-----') : true;
      if (!keyless) request.log.warn({ route: request.routeOptions.url }, 'an answer with a private key was not kept');
      if (status >= 200 && status < 300 && keyless && (text || Buffer.isBuffer(payload))) {
        const type = reply.getHeader('content-type');
        await authority.idempotency.finish(claim, {
          status,
          contentType: typeof type === 'string' ? type : 'application/json; charset=utf-8',
          body: text ? payload : payload.toString('base64'),
          bodyBase64: !text,
        });
      } else {
        // a failure changed nothing (or a streamed answer): the retry runs again
        await authority.idempotency.abandon(claim);
      }
    } catch (e) {
      request.log.warn({ err: (e as Error).message }, 'could not keep the answer of an Idempotency-Key');
    }
    return payload;
  });
};
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const idempotencyPlugin = plugin;
