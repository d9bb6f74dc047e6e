import { timingSafeEqual } from 'node:crypto';
import '@fastify/cookie';
import { parseCookie } from 'cookie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PkiError } from '@pkim/shared';
import type { Actor, Authority } from '@pkim/authority';

/** How the caller authenticated (shared by every transport). */
export type AuthMethod = 'session' | 'oidc' | 'token' | 'local';

export const SESSION_COOKIE = 'pkim_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    authMethod?: AuthMethod;
    /** raw session cookie value, when one was presented */
    sessionToken?: string;
  }
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  expiresAt: number,
  secure: boolean,
): void {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: secure || request.protocol === 'https',
    path: '/',
    expires: new Date(expiresAt),
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'strict',
    secure: secure || request.protocol === 'https',
    path: '/',
  });
}

/**
 * The session cookie of a `Cookie` header, parsed as @fastify/cookie parses it (the `cookie` package). The API scope
 * does not register @fastify/cookie: its two hooks (a cookie object and a Map per request, and an onSend pass) would
 * run on every API call, while only tRPC (login/logout) and OIDC set cookies — they register it in their own scopes.
 */
export function sessionCookieOf(header: string | undefined): string | undefined {
  return header ? parseCookie(header)[SESSION_COOKIE] : undefined;
}

/**
 * Resolves `Authorization: Bearer pkim_…` or the session cookie to `request.actor`. Requests
 * authenticated by cookie that change state must carry the session's CSRF token in
 * `x-csrf-token`. Unauthenticated requests pass through: the permission layer decides.
 * Registered with skip-override so the hook applies to the scope that registers it (the API).
 */
const plugin: FastifyPluginAsync<{ authority: Authority }> = async (app, { authority }) => {
  app.decorateRequest('actor', undefined);
  app.decorateRequest('authMethod', undefined);
  app.decorateRequest('sessionToken', undefined);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
      if (token === undefined) throw new PkiError('auth.unauthenticated', 'expected Authorization: Bearer <token>');
      const actor = await authority.auth.authenticateToken(token);
      if (!actor) throw new PkiError('auth.unauthenticated', 'invalid, expired or revoked token');
      request.actor = actor;
      request.authMethod = 'token';
      return;
    }
    const cookie = sessionCookieOf(request.headers.cookie);
    if (!cookie) return;
    request.sessionToken = cookie;
    const session = await authority.auth.authenticateSession(cookie);
    if (!session) return;
    if (!SAFE_METHODS.has(request.method)) {
      const csrf = request.headers['x-csrf-token'];
      if (typeof csrf !== 'string' || !safeEqual(csrf, session.csrfToken)) {
        throw new PkiError('auth.csrf', 'missing or wrong x-csrf-token header');
      }
    }
    request.actor = session.actor;
    request.authMethod = session.method === 'oidc' ? 'oidc' : 'session';
  });
};
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const authPlugin = plugin;
