import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PkiError, parseDuration } from '@pkim/shared';
import type { Actor, Authority, IssuedSshCertificate, SshKrl } from '@pkim/authority';
import { z } from 'zod';
import { checkAccess } from '../../http/access-table';
import { ifNoneMatchHits } from '../../http/conditional-get';
import type { ExtraOperation } from '../../http/openapi-document';

const sshOptionsDoc = z.record(z.string(), z.union([z.string(), z.literal(true)])).optional();
/** `POST /api/v1/ssh/sign` and `/ssh/revoke` for the OpenAPI document (the twins are /ssh/certificates…) */
export const SSH_API_OPERATIONS: ExtraOperation[] = [
  {
    method: 'POST',
    path: '/api/v1/ssh/sign',
    summary: 'Sign an SSH public key (the first REST version of POST /api/v1/ssh/certificates)',
    tag: 'ssh',
    status: 200,
    body: z.object({
      ca: z.string(),
      publicKey: z.string(),
      type: z.enum(['user', 'host']).optional(),
      principals: z.array(z.string()).optional(),
      ttl: z.union([z.string(), z.number()]).optional(),
      keyId: z.string().optional(),
      user: z.string().optional(),
      host: z.string().optional(),
      criticalOptions: sshOptionsDoc,
      extensions: sshOptionsDoc,
    }),
    output: z.object({
      certificate: z.string(),
      serial: z.string(),
      keyId: z.string(),
      type: z.enum(['user', 'host']),
      principals: z.array(z.string()),
      validAfter: z.string(),
      validBefore: z.string(),
      replayed: z.boolean(),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/ssh/revoke',
    summary: 'Revoke SSH certificates by serial, key id or public key',
    tag: 'ssh',
    status: 200,
    body: z.object({
      ca: z.string(),
      serial: z.string().optional(),
      keyId: z.string().optional(),
      publicKey: z.string().optional(),
      reason: z.string().optional(),
    }),
    output: z.object({ revoked: z.array(z.string()), krlVersion: z.number() }),
  },
];

/**
 * The SSH CA over HTTP (docs/ssh.md). Parse → ONE authority call (`authority.ssh.…`) → render.
 *
 * Public (hosts poll these; CA keys and KRLs are public):
 *   GET /ssh/krl/ca/:ca                        the KRL of an SSH CA
 *   GET /ssh/krl/:environment/hosts/:host      the KRL of one host (its environment's user CAs + its user blocks)
 *   GET /ssh/trust/:environment/user-ca-keys   TrustedUserCAKeys file
 *   GET /ssh/trust/:environment/known-hosts    `@cert-authority` lines
 * KRLs carry a monotonic version (`X-KRL-Version`) and an ETag: `If-None-Match` answers 304 until a change.
 *
 * Fleet tokens (`Authorization: Bearer pkimf_…`), rate-limited per token, `Idempotency-Key` header honoured:
 *   POST /ssh/fleet/sign   { type: 'host'|'user', publicKey, host?, user?, principals?, ttl? }
 *
 * Authenticated API (session/API token, `ssh:issue` / `ssh:revoke`), registered inside the auth scope:
 *   POST /api/v1/ssh/sign     { ca, publicKey, type?, principals?, ttl?, user?, host?, keyId?,
 *                               criticalOptions?, extensions? }
 *   POST /api/v1/ssh/revoke   { ca, serial? , keyId?, publicKey?, reason? }
 */

function sendKrl(request: FastifyRequest, reply: FastifyReply, k: SshKrl): FastifyReply {
  reply
    .header('etag', k.etag)
    .header('x-krl-version', String(k.version))
    .header('last-modified', new Date(k.generatedAt).toUTCString())
    .header('cache-control', 'no-cache');
  if (ifNoneMatchHits(request.headers['if-none-match'], k.etag)) return reply.code(304).send();
  return reply.type('application/octet-stream').send(Buffer.from(k.krl));
}

function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new PkiError('input.invalid', 'expected a JSON object');
  return b as Record<string, unknown>;
}

const str = (b: Record<string, unknown>, k: string, required = false): string | undefined => {
  const v = b[k];
  if (v === undefined || v === null) {
    if (required) throw new PkiError('input.invalid', `'${k}' is required`, { details: { field: k } });
    return undefined;
  }
  if (typeof v !== 'string') throw new PkiError('input.invalid', `'${k}' must be a string`, { details: { field: k } });
  return v;
};

const strings = (b: Record<string, unknown>, k: string): string[] | undefined => {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string')
    return v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw new PkiError('input.invalid', `'${k}' must be a list of strings`, { details: { field: k } });
};

const ttl = (b: Record<string, unknown>): number | undefined => {
  const v = b.ttl;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v * 1000; // seconds
  if (typeof v === 'string') return parseDuration(/^\d+$/.test(v) ? `${v}s` : v);
  throw new PkiError('input.invalid', "'ttl' must be seconds or a duration such as 1h, 30d");
};

const options = (b: Record<string, unknown>, k: string): Record<string, string | true> | undefined => {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return Object.fromEntries(v.map((x) => [x, true]));
  if (typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, string | true> = {};
    for (const [name, val] of Object.entries(v as Record<string, unknown>)) {
      if (val === true || val === '') out[name] = true;
      else if (typeof val === 'string') out[name] = val;
      else throw new PkiError('input.invalid', `'${k}.${name}' must be a string or true`);
    }
    return out;
  }
  throw new PkiError('input.invalid', `'${k}' must be an object or a list of names`);
};

function certReply(issued: IssuedSshCertificate) {
  const c = issued.certificate;
  return {
    certificate: issued.line,
    serial: c.serial,
    keyId: c.keyId,
    type: c.certType,
    principals: c.principals,
    validAfter: new Date(c.validAfter).toISOString(),
    validBefore: new Date(c.validBefore).toISOString(),
    replayed: issued.replayed ?? false,
  };
}

function bearer(request: FastifyRequest): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!m?.[1]) throw new PkiError('ssh.fleet_token_invalid', 'send the fleet token as Authorization: Bearer pkimf_…');
  return m[1];
}

export const sshTransport: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  app.get<{ Params: { ca: string } }>('/ssh/krl/ca/:ca', async (request, reply) =>
    sendKrl(request, reply, await authority.ssh.caKrl(request.params.ca)),
  );
  app.get<{ Params: { environment: string; host: string } }>(
    '/ssh/krl/:environment/hosts/:host',
    async (request, reply) =>
      sendKrl(request, reply, await authority.ssh.hostKrl(request.params.environment, request.params.host)),
  );
  app.get<{ Params: { environment: string; file: string } }>(
    '/ssh/trust/:environment/:file',
    async (request, reply) => {
      const t = await authority.ssh.trust(request.params.environment);
      const file = request.params.file;
      if (file !== 'user-ca-keys' && file !== 'known-hosts') {
        throw new PkiError('route.not_found', 'expected /ssh/trust/<environment>/user-ca-keys or …/known-hosts');
      }
      return reply
        .header('cache-control', 'no-cache')
        .type('text/plain; charset=utf-8')
        .send(file === 'user-ca-keys' ? t.userCaKeys : t.knownHosts);
    },
  );
  app.post('/ssh/fleet/sign', async (request) => {
    const b = body(request);
    const type = str(b, 'type') ?? 'host';
    if (type !== 'host' && type !== 'user') throw new PkiError('input.invalid', "'type' must be host or user");
    const idem = request.headers['idempotency-key'];
    if (idem !== undefined && (typeof idem !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(idem))) {
      throw new PkiError('input.invalid', 'Idempotency-Key must be 1–200 printable characters');
    }
    const issued = await authority.ssh.fleetSign(bearer(request), {
      type,
      publicKey: str(b, 'publicKey', true)!,
      host: str(b, 'host'),
      user: str(b, 'user'),
      principals: strings(b, 'principals'),
      ttlMs: ttl(b),
      idempotencyKey: idem,
    });
    return certReply(issued);
  });
};

/** The authenticated SSH routes, registered under /api/v1 inside the auth scope (request.actor is set there). */
export const sshApiRoutes: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  // the one access check of the REST routes (http/access-table.ts), before any handler runs
  app.addHook('preHandler', async (request) => {
    checkAccess('rest', `${request.method} ${request.routeOptions.url ?? ''}`, request.actor);
  });
  const actorOf = (request: FastifyRequest): Actor => {
    if (!request.actor) throw new PkiError('auth.unauthenticated', 'authentication required');
    return request.actor;
  };
  app.post('/ssh/sign', async (request) => {
    const b = body(request);
    const type = str(b, 'type') ?? 'user';
    if (type !== 'host' && type !== 'user') throw new PkiError('input.invalid', "'type' must be host or user");
    const issued = await authority.ssh.sign(
      {
        ca: str(b, 'ca', true)!,
        publicKey: str(b, 'publicKey', true)!,
        type,
        principals: strings(b, 'principals'),
        ttlMs: ttl(b),
        keyId: str(b, 'keyId'),
        user: str(b, 'user'),
        host: str(b, 'host'),
        criticalOptions: options(b, 'criticalOptions'),
        extensions: options(b, 'extensions'),
      },
      actorOf(request),
    );
    return certReply(issued);
  });
  app.post('/ssh/revoke', async (request) => {
    const b = body(request);
    const r = await authority.ssh.revoke(
      {
        ca: str(b, 'ca', true)!,
        serial: str(b, 'serial'),
        keyId: str(b, 'keyId'),
        publicKey: str(b, 'publicKey'),
        reason: str(b, 'reason'),
      },
      actorOf(request),
    );
    return { revoked: r.revoked.map((c) => c.serial), krlVersion: r.krlVersion };
  });
};
