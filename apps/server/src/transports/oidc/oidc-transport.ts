import cookie from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PkiError, toPkiError } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { OIDC_TRANSACTION_TTL_MS } from '@pkim/authority';
import { SESSION_COOKIE, setSessionCookie } from '../../http/auth-plugin';

/** The sealed sign-in transaction between /auth/oidc/login and the callback (SameSite=Lax: the provider redirects). */
export const OIDC_TRANSACTION_COOKIE = 'pkim_oidc';
const COOKIE_PATH = '/auth/oidc';
/** refusals of the sign-in's start that the sign-in page explains (`/login?error=<code>`) */
const LOGIN_PAGE_CODES = new Set(['auth.oidc_provider_unavailable', 'auth.oidc_failed']);

export interface OidcTransportOptions {
  authority: Authority;
  publicBaseUrl?: string;
  secureCookies: boolean;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * A same-site hop to `location`: after the provider's cross-site redirect the browser withholds SameSite=Strict
 * cookies from the navigation, so the callback answers a page that navigates on (the console's next request is
 * same-site and carries the new session cookie).
 */
function sendHop(reply: FastifyReply, location: string) {
  const url = escapeHtml(location);
  return reply
    .code(200)
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}">` +
        `<title>Signing in…</title></head><body><a href="${url}">Continue</a></body></html>`,
    );
}

/**
 * OIDC sign-in for the web console (docs/oidc.md): Authorization Code + PKCE against any provider found by
 * issuer discovery. The authority does the protocol (state, nonce, PKCE, token verification, role mapping,
 * JIT users, the session); this transport only moves cookies and redirects.
 *
 * - `GET /auth/oidc/config` → `{ enabled, name?, loginUrl? }` (public: the sign-in page asks it)
 * - `GET /auth/oidc/login?returnTo=/path` → 302 to the provider
 * - `GET /auth/oidc/callback` → session cookie, then the console (errors: `/login?error=<code>`)
 * - `GET /auth/csrf` → `{ csrfToken }` of the cookie session (401 without one)
 * - `GET /auth/oidc/logout` → 302 to the provider's end-session endpoint (after `user.logout`), else `/login`
 */
export const oidcTransport: FastifyPluginAsync<OidcTransportOptions> = async (app, opts) => {
  // the sign-in transaction and session cookies: the cookie plugin in this scope only
  await app.register(cookie);
  const { authority } = opts;
  const base = (request: FastifyRequest) => opts.publicBaseUrl ?? `${request.protocol}://${request.host}`;
  const redirectUri = (request: FastifyRequest) =>
    authority.oidc.describe().redirectUri ?? `${base(request)}/auth/oidc/callback`;
  const secure = (request: FastifyRequest) => opts.secureCookies || request.protocol === 'https';

  app.get('/auth/oidc/config', async () => {
    const d = authority.oidc.describe();
    return d.enabled ? { enabled: true, name: d.name, loginUrl: '/auth/oidc/login' } : { enabled: false };
  });

  app.get<{ Querystring: { returnTo?: string } }>('/auth/oidc/login', async (request, reply) => {
    const returnTo = typeof request.query.returnTo === 'string' ? request.query.returnTo : undefined;
    let begun: Awaited<ReturnType<Authority['oidc']['begin']>>;
    try {
      begun = await authority.oidc.begin({ redirectUri: redirectUri(request), returnTo });
    } catch (e) {
      // a browser clicked "Sign in with …": a provider that cannot be reached goes back to the sign-in page, which
      // explains the code (it answered the JSON 503 in the browser); OIDC off stays a 404
      const err = toPkiError(e);
      if (!LOGIN_PAGE_CODES.has(err.code)) throw err;
      request.log.info({ code: err.code }, 'OIDC sign-in could not begin');
      return reply.header('cache-control', 'no-store').redirect(`/login?error=${encodeURIComponent(err.code)}`, 302);
    }
    const { url, transaction } = begun;
    reply.setCookie(OIDC_TRANSACTION_COOKIE, transaction, {
      httpOnly: true,
      sameSite: 'lax',
      secure: secure(request),
      path: COOKIE_PATH,
      maxAge: OIDC_TRANSACTION_TTL_MS / 1000,
    });
    return reply.header('cache-control', 'no-store').redirect(url, 302);
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/auth/oidc/callback', async (request, reply) => {
    const transaction = request.cookies?.[OIDC_TRANSACTION_COOKIE];
    reply.clearCookie(OIDC_TRANSACTION_COOKIE, {
      httpOnly: true,
      sameSite: 'lax',
      secure: secure(request),
      path: COOKIE_PATH,
    });
    try {
      const params: Record<string, string | undefined> = {};
      for (const k of ['code', 'state', 'error', 'error_description', 'iss'] as const) {
        const v = request.query[k];
        if (typeof v === 'string') params[k] = v.slice(0, 4096);
      }
      const r = await authority.oidc.complete({
        transaction,
        params,
        redirectUri: redirectUri(request),
        ip: request.ip,
      });
      setSessionCookie(request, reply, r.sessionToken, r.expiresAt, opts.secureCookies);
      return await sendHop(reply, r.returnTo);
    } catch (e) {
      const err = toPkiError(e);
      request.log.info({ code: err.code }, 'OIDC callback refused');
      return sendHop(reply, `/login?error=${encodeURIComponent(err.code)}`);
    }
  });

  // the CSRF token of the caller's cookie session: a session opened by the OIDC callback hands none to scripts
  // (same-origin only: no CORS headers, the session cookie is SameSite=Strict)
  app.get('/auth/csrf', async (request, reply) => {
    const cookie = request.cookies?.[SESSION_COOKIE];
    const session = cookie ? await authority.auth.authenticateSession(cookie) : undefined;
    if (!session) throw new PkiError('auth.unauthenticated', 'no console session');
    return reply.header('cache-control', 'no-store').send({ csrfToken: session.csrfToken });
  });

  app.get('/auth/oidc/logout', async (request, reply) => {
    let target: string | undefined;
    if (authority.oidc.describe().enabled) {
      target = await authority.oidc.logoutUrl(`${base(request)}/login`).catch(() => undefined);
    }
    return reply.header('cache-control', 'no-store').redirect(target ?? '/login', 302);
  });
};
