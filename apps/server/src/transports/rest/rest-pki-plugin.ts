import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { PkiError } from '@pkim/shared';
import {
  certificateListInputSchema,
  certificateRefSchema,
  caRefSchema,
  caSetUrlsInputSchema,
  idSchema,
  pageOf,
  requestListInputSchema,
  requestSubmitInputSchema,
  restRejectInputSchema,
  restRevokeInputSchema,
  restSignInputSchema,
  toCaDto,
  toCaViewDto,
  toCertificateDetailDto,
  toCertificateDto,
  toIssuedCertificateDto,
  toRequestDto,
  ttlToMs,
  restCertificateExportInputSchema,
  restCertificateRenewInputSchema,
  toRenewalDto,
  restTruststoreExportInputSchema,
} from '@pkim/contract';
import type { Actor, Authority, ExportFile } from '@pkim/authority';
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
    return { items: (await authority.cas.list()).map(toCaDto), nextCursor: null };
  });

  app.get<{ Params: { id: string } }>('/cas/:id', async (request) => {
    return toCaViewDto(await authority.cas.get(parseInput(caRefSchema, request.params.id)));
  });

  /** `{ base }` or `{ crlDistributionPoints, ocspUrls, caIssuersUrls }` or `{ clear: true }` → the CA */
  app.put<{ Params: { id: string } }>('/cas/:id/urls', async (request) => {
    const ref = parseInput(caRefSchema, request.params.id);
    const input = parseInput(caSetUrlsInputSchema, request.body ?? {});
    return toCaDto(await authority.cas.setUrls(ref, input, actorOf(request)));
  });

  /** PEM chain from the CA up to its root */
  app.get<{ Params: { id: string } }>('/cas/:id/bundle', async (request, reply) => {
    const v = await authority.cas.get(parseInput(caRefSchema, request.params.id));
    if (!v.chainPem) throw new PkiError('ca.not_active', `CA '${v.ca.name}' has no certificate yet`);
    reply.type('application/pem-certificate-chain');
    return v.chainPem;
  });

  /** `{ csr, profile, ttl }` → the issued certificate (object + `certificatePem` + `chainPem`) */
  app.post<{ Params: { id: string } }>('/cas/:id/sign', async (request, reply) => {
    const caRef = parseInput(caRefSchema, request.params.id);
    const input = parseInput(restSignInputSchema, request.body);
    const issued = await authority.issuance.issueFromCsr(
      {
        caId: caRef,
        csrPem: input.csr,
        profile: input.profile,
        validityMs: input.ttl === undefined ? undefined : ttlToMs(input.ttl),
      },
      actorOf(request),
    );
    reply.code(201);
    // `certificate` / `chain`: the PEM names of the first REST version, kept for scripts written against it
    return { ...toIssuedCertificateDto(issued), certificate: issued.certificatePem, chain: issued.chainPem };
  });

  /** `?ca=&status=&profile=&search=&limit=&cursor=` → `{ items, nextCursor }` */
  app.get<{ Querystring: Record<string, string | undefined> }>('/certificates', async (request) => {
    const q = request.query;
    const input = parseInput(certificateListInputSchema, {
      ...(q.ca ? { ca: q.ca } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.profile ? { profile: q.profile } : {}),
      ...(q.search ? { search: q.search } : {}),
      ...(q.limit ? { limit: Number(q.limit) } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    const page = await authority.certificates.list(
      {
        caId: input.ca,
        status: input.status,
        profile: input.profile,
        search: input.search,
        limit: input.limit,
        cursor: input.cursor,
      },
      actorOf(request),
    );
    return pageOf(page, toCertificateDto);
  });

  app.get<{ Params: { ref: string } }>('/certificates/:ref', async (request) => {
    const actor = actorOf(request);
    const row = await authority.certificates.find(parseInput(certificateRefSchema, request.params.ref), actor);
    return toCertificateDetailDto(await authority.certificates.get(row.id, actor));
  });

  /** a file download: the right media type, `Content-Disposition: attachment` with the file name */
  function sendFile(reply: FastifyReply, f: ExportFile) {
    reply.type(f.mediaType);
    reply.header('content-disposition', `attachment; filename="${f.fileName.replace(/["\\]/g, '_')}"`);
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    if (f.warning) reply.header('x-pkim-warning', f.warning);
    return reply.send(Buffer.from(f.body));
  }

  /** `{ format, password?, legacy?, includeRoot?, includeKey? }` → the file */
  app.post<{ Params: { ref: string } }>('/certificates/:ref/export', async (request, reply) => {
    const ref = parseInput(certificateRefSchema, request.params.ref);
    const input = parseInput(restCertificateExportInputSchema, request.body ?? {});
    return sendFile(reply, await authority.exports.certificate(ref, input, actorOf(request)));
  });

  /** `{ ttl?, sans?, revokeOld?, csrPem?, reuseKey?, keyType?, keepKey? }` → the renewal (201) */
  app.post<{ Params: { ref: string } }>('/certificates/:ref/renew', async (request, reply) => {
    const ref = parseInput(certificateRefSchema, request.params.ref);
    const { ttl, ...o } = parseInput(restCertificateRenewInputSchema, request.body ?? {});
    const r = await authority.renewal.renew(
      ref,
      { ...o, validityMs: ttl === undefined ? undefined : ttlToMs(ttl) },
      actorOf(request),
    );
    reply.code(201);
    return toRenewalDto(r);
  });

  /** `{ format, password?, legacy? }` → the CA chain as a truststore file */
  app.post<{ Params: { id: string } }>('/cas/:id/truststore', async (request, reply) => {
    const caRef = parseInput(caRefSchema, request.params.id);
    const input = parseInput(restTruststoreExportInputSchema, request.body ?? {});
    return sendFile(reply, await authority.exports.truststore(caRef, input, actorOf(request)));
  });

  app.post<{ Params: { ref: string } }>('/certificates/:ref/revoke', async (request) => {
    const ref = parseInput(certificateRefSchema, request.params.ref);
    const input = parseInput(restRevokeInputSchema, request.body ?? {});
    const row = await authority.certificates.revoke(ref, input.reason, actorOf(request));
    return toCertificateDetailDto(await authority.certificates.get(row.id));
  });

  // ---- certificate requests: submit, list own, show, approve, reject, download the certificate ----

  /** `{ ca, csr, profile, ttl }` → the pending request */
  app.post('/requests', async (request, reply) => {
    const input = parseInput(requestSubmitInputSchema, request.body);
    const r = await authority.requests.submit(
      {
        caId: input.ca,
        csrPem: input.csr,
        profile: input.profile,
        validityMs: input.ttl === undefined ? undefined : ttlToMs(input.ttl),
      },
      actorOf(request),
    );
    reply.code(201);
    return toRequestDto(r);
  });

  /** a requester sees only its own requests */
  app.get<{ Querystring: Record<string, string | undefined> }>('/requests', async (request) => {
    const q = request.query;
    const input = parseInput(requestListInputSchema, {
      ...(q.status ? { status: q.status } : {}),
      ...(q.ca ? { ca: q.ca } : {}),
      ...(q.limit ? { limit: Number(q.limit) } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    const page = await authority.requests.list(
      { status: input.status, caId: input.ca, limit: input.limit, cursor: input.cursor },
      actorOf(request),
    );
    return pageOf(page, toRequestDto);
  });

  app.get<{ Params: { id: string } }>('/requests/:id', async (request) => {
    return toRequestDto(await authority.requests.get(parseInput(idSchema, request.params.id), actorOf(request)));
  });

  app.post<{ Params: { id: string } }>('/requests/:id/approve', async (request) => {
    const r = await authority.requests.approve(parseInput(idSchema, request.params.id), actorOf(request));
    return { request: toRequestDto(r.request), certificate: toIssuedCertificateDto(r.issued) };
  });

  app.post<{ Params: { id: string } }>('/requests/:id/reject', async (request) => {
    const input = parseInput(restRejectInputSchema, request.body ?? {});
    return toRequestDto(
      await authority.requests.reject(parseInput(idSchema, request.params.id), input.reason, actorOf(request)),
    );
  });

  /**
   * The certificate issued from a request: PEM (certificate + chain) by default, the JSON object with `Accept:
   * application/json`. The requester who submitted it, or anyone who may read requests.
   */
  app.get<{ Params: { id: string } }>('/requests/:id/certificate', async (request, reply) => {
    const v = await authority.requests.certificate(parseInput(idSchema, request.params.id), actorOf(request));
    if ((request.headers.accept ?? '').includes('application/json')) {
      return toIssuedCertificateDto(v);
    }
    reply.type('application/pem-certificate-chain');
    return `${v.certificatePem.trim()}\n${v.chainPem}`;
  });
};
