import type { FastifyRequest } from 'fastify';

/**
 * The origin a client reached this server at: `<protocol>://<host>` of the request — the socket's protocol and the
 * Host header, or X-Forwarded-Proto/-Host from a proxy the server trusts (`PKIM_TRUST_PROXY`, Fastify's
 * `trustProxy`). The ACME transport builds every URL it hands out from it; the API's ACME directory objects give
 * `directoryUrl` from it when the server has no public URL, so both name the same place.
 */
export const requestOrigin = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;
