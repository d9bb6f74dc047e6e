import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { PkiError, parseDuration } from '@pkim/shared';
import {
  caSchema,
  caViewSchema,
  certificateDetailSchema,
  certificateRefSchema,
  caRefSchema,
  restRevokeInputSchema,
  restSignInputSchema,
  certificateSchema,
} from '@pkim/contract';
import type { Actor, Authority } from '@pkim/authority';
import { checkAccess } from '../../http/access-table';

function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first?.path.length ? `${first.path.join('.')}: ` : '';
    throw new PkiError('input.invalid', `${where}${first?.message ?? 'invalid input'}`, {
      details: { issues: r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
    });
  }
  return r.data;
}

/** the actor the access check already required */
function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new PkiError('auth.unauthenticated', 'authentication required');
  return request.actor;
}

/**
 * Plain REST for scripts and tools (`/api/v1`): Bearer token or session cookie (+ CSRF).
 * Errors go through the server's one error handler as `{ code, message, requestId }`.
 */
export const restPkiPlugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  // JSON only: text/plain bodies are refused with 415 instead of being parsed as strings
  app.removeContentTypeParser('text/plain');

  // the one access check, shared with tRPC: every route is looked up in the access table
  app.addHook('preHandler', async (request) => {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    checkAccess('rest', `${method} ${request.routeOptions.url ?? ''}`, request.actor);
  });

  app.get('/cas', async () => {
    return { items: caSchema.array().parse(await authority.cas.list()) };
  });

  app.get<{ Params: { id: string } }>('/cas/:id', async (request) => {
    const v = await authority.cas.get(parseInput(caRefSchema, request.params.id));
    return caViewSchema.parse({ ...v.ca, certificatePem: v.certificatePem, chainPem: v.chainPem });
  });

  /** PEM chain from the CA up to its root */
  app.get<{ Params: { id: string } }>('/cas/:id/bundle', async (request, reply) => {
    const v = await authority.cas.get(parseInput(caRefSchema, request.params.id));
    if (!v.chainPem) throw new PkiError('ca.not_active', `CA '${v.ca.name}' has no certificate yet`);
    reply.type('application/pem-certificate-chain');
    return v.chainPem;
  });

  /** `{ csr, profile, ttl }` → `{ certificate, chain, serial, id }` */
  app.post<{ Params: { id: string } }>('/cas/:id/sign', async (request, reply) => {
    const caRef = parseInput(caRefSchema, request.params.id);
    const input = parseInput(restSignInputSchema, request.body);
    const issued = await authority.issuance.issueFromCsr(
      {
        caId: caRef,
        csrPem: input.csr,
        profile: input.profile,
        validityMs: input.ttl === undefined ? undefined : parseDuration(input.ttl),
      },
      actorOf(request),
    );
    reply.code(201);
    return {
      certificate: issued.certificatePem,
      chain: issued.chainPem,
      serial: issued.certificate.serialHex,
      id: issued.certificate.id,
    };
  });

  app.get<{ Params: { ref: string } }>('/certificates/:ref', async (request) => {
    const row = await authority.certificates.find(parseInput(certificateRefSchema, request.params.ref));
    return certificateDetailSchema.parse(await authority.certificates.get(row.id));
  });

  app.post<{ Params: { ref: string } }>('/certificates/:ref/revoke', async (request) => {
    const ref = parseInput(certificateRefSchema, request.params.ref);
    const input = parseInput(restRevokeInputSchema, request.body ?? {});
    return {
      certificate: certificateSchema.parse(await authority.certificates.revoke(ref, input.reason, actorOf(request))),
    };
  });
};
