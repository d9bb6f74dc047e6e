import type { FastifyPluginAsync } from 'fastify';
import cookie from '@fastify/cookie';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { Authority } from '@pkim/authority';
import { appRouter, type AppRouter } from './app-router';
import type { TrpcContext } from './trpc-context';
import { findPkiError, retryAfterSecondsOf } from '../../error-mapping';
import { clearSessionCookie, setSessionCookie } from '../../http/auth-plugin';
import { requestOrigin } from '../../http/request-origin';

export interface TrpcPluginOptions {
  authority: Authority;
  publicBaseUrl?: string;
  secureCookies: boolean;
  /** the most calls one batch may carry; larger batches are refused with 400 */
  maxBatchSize: number;
}

/** tRPC v11 at `/trpc` (register with that prefix). */
export const trpcPlugin: FastifyPluginAsync<TrpcPluginOptions> = async (app, opts) => {
  // login and logout set the session cookie (reply.setCookie): the cookie plugin in this scope only
  await app.register(cookie);
  const options: FastifyTRPCPluginOptions<AppRouter> = {
    prefix: '',
    trpcOptions: {
      router: appRouter,
      maxBatchSize: opts.maxBatchSize,
      createContext: ({ req, res }): TrpcContext => ({
        authority: opts.authority,
        actor: req.actor,
        authMethod: req.authMethod,
        sessionToken: req.sessionToken,
        requestId: req.id,
        ip: req.ip,
        publicBaseUrl: opts.publicBaseUrl,
        origin: requestOrigin(req),
        setSessionCookie: (token, expiresAt) => setSessionCookie(req, res, token, expiresAt, opts.secureCookies),
        clearSessionCookie: () => clearSessionCookie(req, res, opts.secureCookies),
      }),
      // a throttled call (login backoff) says when to retry, as a REST 429 does
      responseMeta({ errors }) {
        const waits = errors.map((e) => retryAfterSecondsOf(findPkiError(e))).filter((s) => s !== undefined);
        return waits.length ? { headers: { 'retry-after': String(Math.max(...waits)) } } : {};
      },
      onError({ error, path, req }) {
        const pki = findPkiError(error);
        if (error.code === 'INTERNAL_SERVER_ERROR' && (!pki || pki.kind === 'internal')) {
          req.log.error({ err: error.cause ?? error, path }, 'tRPC procedure failed');
        } else {
          req.log.info({ path, code: error.code, pkiCode: pki?.code }, 'tRPC procedure refused');
        }
      },
    },
  };
  await app.register(fastifyTRPCPlugin, options);
};
