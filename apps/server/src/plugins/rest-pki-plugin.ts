import type { FastifyPluginAsync } from 'fastify';
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
} from '@pkim/shared';
import { authorize, type Authority } from '@pkim/authority';

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

/**
 * Plain REST for scripts and tools (`/api/v1`): Bearer token or session cookie (+ CSRF).
 * Errors go through the server's one error handler as `{ code, message, requestId }`.
 */
export const restPkiPlugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  // JSON only: text/plain bodies are refused with 415 instead of being parsed as strings
  app.removeContentTypeParser('text/plain');

  app.get('/cas', async (request) => {
    authorize(request.actor, 'ca:read');
    return { items: caSchema.array().parse(await authority.cas.list()) };
  });

  app.get<{ Params: { id: string } }>('/cas/:id', async (request) => {
    authorize(request.actor, 'ca:read');
    const v = await authority.cas.get(parseInput(caRefSchema, request.params.id));
    return caViewSchema.parse({ ...v.ca, certificatePem: v.certificatePem, chainPem: v.chainPem });
  });

  /** PEM chain from the CA up to its root */
  app.get<{ Params: { id: string } }>('/cas/:id/bundle', async (request, reply) => {
    authorize(request.actor, 'ca:read');
    const v = await authority.cas.get(parseInput(caRefSchema, request.params.id));
    if (!v.chainPem) throw new PkiError('ca.not_active', `CA '${v.ca.name}' has no certificate yet`);
    reply.type('application/pem-certificate-chain');
    return v.chainPem;
  });

  /** `{ csr, profile, ttl }` → `{ certificate, chain, serial, id }` */
  app.post<{ Params: { id: string } }>('/cas/:id/sign', async (request, reply) => {
    authorize(request.actor, 'certificate:issue');
    const caRef = parseInput(caRefSchema, request.params.id);
    const input = parseInput(restSignInputSchema, request.body);
    const issued = await authority.issuance.issueFromCsr(
      {
        caId: caRef,
        csrPem: input.csr,
        profile: input.profile,
        validityMs: input.ttl === undefined ? undefined : parseDuration(input.ttl),
      },
      request.actor,
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
    authorize(request.actor, 'certificate:read');
    const row = await authority.certificates.find(parseInput(certificateRefSchema, request.params.ref));
    return certificateDetailSchema.parse(await authority.certificates.get(row.id));
  });

  app.post<{ Params: { ref: string } }>('/certificates/:ref/revoke', async (request) => {
    authorize(request.actor, 'certificate:revoke');
    const ref = parseInput(certificateRefSchema, request.params.ref);
    const input = parseInput(restRevokeInputSchema, request.body ?? {});
    return {
      certificate: certificateSchema.parse(await authority.certificates.revoke(ref, input.reason, request.actor)),
    };
  });
};
