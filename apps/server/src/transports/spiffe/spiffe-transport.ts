import type { TLSSocket } from 'node:tls';
import type { FastifyPluginAsync } from 'fastify';
import type { Authority } from '@pkim/authority';
import { ifNoneMatchHits } from '../../http/conditional-get';

/**
 * SPIFFE workload identity over HTTP (docs/spiffe.md). Parse → ONE authority call → render.
 *
 *   GET  /pki/ca/bundle    public trust bundle; ETag = version, If-None-Match → 304, Cache-Control 5 min,
 *                          503 spiffe.not_initialized before `pkim spiffe init`
 *   POST /pki/csr/sign     { csrPem, serviceType, instanceId, ttlSeconds? } with `Authorization: Bearer <token with
 *                          spiffe:sign>` or, over HTTPS, the workload's current SVID as TLS client certificate
 * Authentication, identity checks and the audit of every refusal are the authority's (`authority.spiffe.sign`).
 */
const plugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  app.get('/pki/ca/bundle', async (request, reply) => {
    const bundle = await authority.spiffe.bundle();
    const etag = `"${bundle.version}"`;
    reply.header('etag', etag).header('cache-control', 'public, max-age=300');
    if (ifNoneMatchHits(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return bundle;
  });

  app.post('/pki/csr/sign', async (request) => {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const socket = request.raw.socket as Partial<TLSSocket>;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const clientCertificate = peer?.raw ? new Uint8Array(peer.raw) : undefined;
    return authority.spiffe.sign(request.body, {
      bearerToken: header !== undefined ? (m?.[1] ?? '') : undefined,
      clientCertificate: header === undefined ? clientCertificate : undefined,
      ip: request.ip,
    });
  });
};

export const spiffeTransport = plugin;
