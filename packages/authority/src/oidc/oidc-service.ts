import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
// jose loads with the first OIDC sign-in, not with every authority (the CLI's start-up)
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import { PkiError, newId, type Clock } from '@pkim/shared';
import type { NewAuditEvent, Store, UserRole, UserRow } from '@pkim/store';
import { USER_ROLES } from '../permissions';
import type { Actor } from '../types';
import { describeOidc, type OidcConfig } from './oidc-config';

/** What discovery tells us about the provider (the fields we use). */
export interface OidcProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  token_endpoint_auth_methods_supported?: string[];
  code_challenge_methods_supported?: string[];
}

export interface OidcLoginResult {
  sessionToken: string;
  csrfToken: string;
  expiresAt: number;
  actor: Actor;
  /** the console path to go to after sign-in */
  returnTo: string;
  /** true when the user was created by this sign-in */
  created: boolean;
}

export interface OidcService {
  /** `{ enabled: false }` when OIDC is not configured; the console shows "Sign in with <name>" otherwise */
  describe(): { enabled: boolean; name?: string; redirectUri?: string };
  /**
   * Starts Authorization Code + PKCE: the provider URL to redirect the browser to, and the sealed transaction
   * (state, nonce, PKCE verifier, return path) to keep in a short-lived HttpOnly cookie until the callback.
   */
  begin(input: { redirectUri: string; returnTo?: string }): Promise<{ url: string; transaction: string }>;
  /**
   * Finishes the sign-in at the callback: checks the state, redeems the code with the PKCE verifier, verifies the
   * ID token (signature via the provider's JWKS, issuer, audience, expiry, nonce), maps the role claim, creates
   * the user at the first sign-in (JIT) and opens a console session.
   */
  complete(input: {
    transaction: string | undefined;
    params: Record<string, string | undefined>;
    redirectUri: string;
    ip?: string;
  }): Promise<OidcLoginResult>;
  /** the provider's end-session URL (RP-initiated logout), when it has one */
  logoutUrl(postLogoutRedirectUri: string): Promise<string | undefined>;
}

export interface OidcServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: OidcConfig | undefined;
  /** AES-256-GCM key sealing the login transaction (derived from the key-encryption key: same on every instance) */
  transactionKey: Buffer;
  /** opens a console session for a user (the auth service's session rows) */
  openSession(
    user: UserRow,
    method: 'oidc',
    extra: { audit: NewAuditEvent[]; ip: string },
  ): Promise<{ sessionToken: string; csrfToken: string; expiresAt: number; actor: Actor }>;
  /** fetch (tests may pass their own); default globalThis.fetch */
  fetch?: typeof fetch;
}

/** How long a started sign-in may take before the callback (10 minutes). */
export const OIDC_TRANSACTION_TTL_MS = 10 * 60_000;
const USERNAME_RE = /^[a-z0-9][a-z0-9._@-]{1,63}$/i;

const b64url = (b: Buffer) => b.toString('base64url');

/**
 * Verifies an ID token: signature with a key of the provider's JWKS (asymmetric algorithms only), `iss`,
 * `aud` (and `azp` when there are several audiences), `exp`/`nbf`/`iat` against `now`, and the nonce.
 * Throws `auth.oidc_invalid_token` naming the reason.
 */
export async function verifyIdToken(
  idToken: string,
  o: {
    keys: JWTVerifyGetKey;
    issuer: string;
    audience: string;
    now: number;
    nonce?: string;
    clockToleranceSeconds?: number;
  },
): Promise<JWTPayload> {
  const { errors: joseErrors, jwtVerify } = await import('jose');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, o.keys, {
      issuer: o.issuer,
      audience: o.audience,
      currentDate: new Date(o.now),
      clockTolerance: o.clockToleranceSeconds ?? 60,
      requiredClaims: ['sub', 'exp', 'iat'],
      algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    }));
  } catch (e) {
    if (e instanceof PkiError) throw e;
    const reason =
      e instanceof joseErrors.JWTExpired
        ? 'the ID token has expired'
        : e instanceof joseErrors.JWSSignatureVerificationFailed
          ? 'the ID token signature does not verify'
          : e instanceof joseErrors.JWKSNoMatchingKey
            ? "no key of the provider's JWKS matches the ID token"
            : e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud'
              ? `the ID token is for another client: its audience (aud) is ${audienceOf(e.payload.aud)}, not ` +
                `'${o.audience}', this server's client id (PKIM_OIDC_CLIENT_ID)`
              : e instanceof joseErrors.JWTClaimValidationFailed
                ? `ID token claim '${e.claim}' refused: ${e.reason}`
                : e instanceof joseErrors.JOSEAlgNotAllowed
                  ? 'the ID token algorithm is not allowed'
                  : e instanceof joseErrors.JWKSTimeout || (e as { code?: string }).code === 'ERR_JOSE_GENERIC'
                    ? undefined
                    : `the ID token is not valid (${(e as Error).message})`;
    if (reason === undefined)
      throw new PkiError('auth.oidc_provider_unavailable', `could not fetch the provider's keys: ${String(e)}`);
    throw new PkiError('auth.oidc_invalid_token', reason);
  }
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (aud.length > 1 && payload.azp !== o.audience)
    throw new PkiError('auth.oidc_invalid_token', 'ID token claim azp does not name this client');
  if (o.nonce !== undefined && payload.nonce !== o.nonce)
    throw new PkiError('auth.oidc_invalid_token', 'the ID token nonce does not match this sign-in');
  return payload;
}

/** an ID token's `aud` for a message: 'a' or 'a', 'b' (at most 200 characters: it is the provider's text) */
function audienceOf(aud: unknown): string {
  const all = (Array.isArray(aud) ? aud : [aud]).map((a) => `'${String(a)}'`).join(', ');
  return all.length > 200 ? `${all.slice(0, 200)}…` : all;
}

/** The role an identity gets: the most powerful role any of its claim values maps to, else the default. */
export function mapRole(claim: unknown, config: Pick<OidcConfig, 'roleMap' | 'defaultRole'>): UserRole | undefined {
  const values = Array.isArray(claim) ? claim : typeof claim === 'string' ? claim.split(/[\s,]+/) : [];
  const roles = new Set<UserRole>();
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const r = config.roleMap[v];
    if (r) roles.add(r);
  }
  return USER_ROLES.find((r) => roles.has(r)) ?? config.defaultRole;
}

/** A valid, readable user name from the identity's claims (made unique by the caller). */
function usernameFrom(claims: Record<string, unknown>, claim: string, subject: string): string {
  const raw = [claims[claim], claims.preferred_username, claims.email, subject].find(
    (x): x is string => typeof x === 'string' && x.trim() !== '',
  )!;
  let name = raw
    .trim()
    .replace(/[^a-z0-9._@-]+/gi, '-')
    .replace(/^[^a-z0-9]+/i, '')
    .slice(0, 64);
  if (!USERNAME_RE.test(name)) name = `oidc-${createHash('sha256').update(subject).digest('hex').slice(0, 12)}`;
  return name;
}

/** The OIDC relying party of the console (docs/oidc.md). */
export function createOidcService(deps: OidcServiceDeps): OidcService {
  const { store, clock, logger, config } = deps;
  const doFetch = deps.fetch ?? globalThis.fetch;
  let metadata: Promise<OidcProviderMetadata> | undefined;
  let jwks: JWTVerifyGetKey | undefined;

  const requireConfig = (): OidcConfig => {
    if (!config) throw new PkiError('auth.oidc_not_configured', 'OIDC sign-in is not configured');
    return config;
  };

  const unavailable = (what: string, e: unknown) =>
    new PkiError('auth.oidc_provider_unavailable', `${what}: ${e instanceof Error ? e.message : String(e)}`);

  const discover = (): Promise<OidcProviderMetadata> => {
    const c = requireConfig();
    metadata ??= (async () => {
      const url = `${c.issuer}/.well-known/openid-configuration`;
      let m: OidcProviderMetadata;
      try {
        const res = await doFetch(url, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(10_000),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        m = (await res.json()) as OidcProviderMetadata;
      } catch (e) {
        throw unavailable(`OIDC discovery at ${url} failed`, e);
      }
      if (m.issuer?.replace(/\/+$/, '') !== c.issuer)
        throw new PkiError('auth.oidc_provider_unavailable', `discovery names issuer '${m.issuer}', not '${c.issuer}'`);
      for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
        if (typeof m[k] !== 'string') throw new PkiError('auth.oidc_provider_unavailable', `discovery lacks ${k}`);
      }
      const { createRemoteJWKSet } = await import('jose');
      jwks = createRemoteJWKSet(new URL(m.jwks_uri), { timeoutDuration: 10_000 });
      return m;
    })();
    // a failed discovery is tried again at the next sign-in
    metadata.catch(() => {
      metadata = undefined;
    });
    return metadata;
  };

  // the login transaction: AES-256-GCM sealed, bound to its expiry
  const seal = (value: object): string => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', deps.transactionKey, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return b64url(Buffer.concat([iv, cipher.getAuthTag(), body]));
  };
  const unseal = (text: string): Record<string, unknown> | undefined => {
    try {
      const raw = Buffer.from(text, 'base64url');
      if (raw.length < 29) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', deps.transactionKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const json = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      return JSON.parse(json) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };

  const audit = (
    actor: string,
    action: string,
    target: string | null,
    details: Record<string, unknown>,
    outcome: 'success' | 'failure' = 'success',
  ): NewAuditEvent => ({ id: newId('evt'), time: clock.now(), actor, action, target, outcome, details });

  const failed = async (ip: string, reason: string, e: PkiError, details: Record<string, unknown> = {}) => {
    await store
      .commit({
        audit: [
          audit(
            `ip:${ip}`,
            'auth.login_failed',
            null,
            { method: 'oidc', ip, reason, code: e.code, message: e.message, ...details },
            'failure',
          ),
        ],
      })
      .catch((err: unknown) => logger.warn({ err }, 'could not audit a failed OIDC sign-in'));
    logger.info({ ip, reason, code: e.code, message: e.message }, 'OIDC sign-in refused');
    return e;
  };

  const redeemCode = async (
    m: OidcProviderMetadata,
    c: OidcConfig,
    code: string,
    verifier: string,
    redirect: string,
  ) => {
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    const methods = m.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    if (c.clientSecret && (methods.includes('client_secret_basic') || !methods.includes('client_secret_post'))) {
      const enc = (s: string) => encodeURIComponent(s);
      headers.authorization = `Basic ${Buffer.from(`${enc(c.clientId)}:${enc(c.clientSecret)}`).toString('base64')}`;
    } else {
      body.set('client_id', c.clientId);
      if (c.clientSecret) body.set('client_secret', c.clientSecret);
    }
    let res: Response;
    try {
      res = await doFetch(m.token_endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
    } catch (e) {
      throw unavailable('the OIDC token endpoint could not be reached', e);
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const err = typeof json.error === 'string' ? json.error : `HTTP ${res.status}`;
      throw new PkiError('auth.oidc_failed', `the provider refused the authorization code: ${err}`);
    }
    if (typeof json.id_token !== 'string')
      throw new PkiError('auth.oidc_failed', 'the token endpoint returned no ID token (is the openid scope granted?)');
    return { idToken: json.id_token, accessToken: typeof json.access_token === 'string' ? json.access_token : '' };
  };

  /** claims missing from the ID token (often `groups`) are read from the userinfo endpoint */
  const userinfo = async (m: OidcProviderMetadata, accessToken: string, subject: string) => {
    if (!m.userinfo_endpoint || !accessToken) return {};
    try {
      const res = await doFetch(m.userinfo_endpoint, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) return {};
      const info = (await res.json()) as Record<string, unknown>;
      // OIDC Core 5.3.2: the userinfo sub must be the ID token's
      return info.sub === subject ? info : {};
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'OIDC userinfo request failed');
      return {};
    }
  };

  return {
    describe: () => describeOidc(config),

    async begin({ redirectUri, returnTo }) {
      const c = requireConfig();
      const m = await discover();
      const state = b64url(randomBytes(24));
      const nonce = b64url(randomBytes(24));
      const verifier = b64url(randomBytes(32));
      const challenge = b64url(createHash('sha256').update(verifier).digest());
      const safeReturn = returnTo && /^\/(?![/\\])[^\s]*$/.test(returnTo) ? returnTo.slice(0, 512) : '/';
      const scopes = c.scopes.includes('openid') ? c.scopes : ['openid', ...c.scopes];
      const url = new URL(m.authorization_endpoint);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', c.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('scope', scopes.join(' '));
      url.searchParams.set('state', state);
      url.searchParams.set('nonce', nonce);
      url.searchParams.set('code_challenge', challenge);
      url.searchParams.set('code_challenge_method', 'S256');
      const transaction = seal({
        state,
        nonce,
        verifier,
        redirectUri,
        returnTo: safeReturn,
        exp: clock.now() + OIDC_TRANSACTION_TTL_MS,
      });
      return { url: url.toString(), transaction };
    },

    async complete({ transaction, params, redirectUri, ip = 'unknown' }) {
      const c = requireConfig();
      if (params.error) {
        const desc = params.error_description ? `: ${params.error_description.slice(0, 200)}` : '';
        throw await failed(
          ip,
          'provider_error',
          new PkiError('auth.oidc_failed', `the provider answered ${params.error.slice(0, 64)}${desc}`),
        );
      }
      const tx = transaction ? unseal(transaction) : undefined;
      if (!tx || typeof tx.state !== 'string' || typeof tx.verifier !== 'string' || typeof tx.nonce !== 'string')
        throw await failed(
          ip,
          'no_transaction',
          new PkiError(
            'auth.oidc_failed',
            'no sign-in in progress in this browser (start again from the sign-in page)',
          ),
        );
      if (typeof tx.exp !== 'number' || tx.exp < clock.now())
        throw await failed(ip, 'expired', new PkiError('auth.oidc_failed', 'the sign-in took too long; start again'));
      if (!params.state || params.state !== tx.state)
        throw await failed(
          ip,
          'state_mismatch',
          new PkiError('auth.oidc_failed', 'the state parameter does not match'),
        );
      if (!params.code) throw await failed(ip, 'no_code', new PkiError('auth.oidc_failed', 'the callback has no code'));
      if (tx.redirectUri !== redirectUri)
        throw await failed(ip, 'redirect_mismatch', new PkiError('auth.oidc_failed', 'redirect URI changed'));

      const m = await discover();
      const { idToken, accessToken } = await redeemCode(m, c, params.code, tx.verifier, redirectUri);
      let claims: JWTPayload;
      try {
        claims = await verifyIdToken(idToken, {
          keys: jwks!,
          issuer: m.issuer,
          audience: c.clientId,
          now: clock.now(),
          nonce: tx.nonce,
          clockToleranceSeconds: c.clockToleranceSeconds,
        });
      } catch (e) {
        if (e instanceof PkiError && e.code === 'auth.oidc_invalid_token') {
          let sub: unknown;
          try {
            sub = (await import('jose')).decodeJwt(idToken).sub;
          } catch {
            sub = undefined;
          }
          throw await failed(ip, 'invalid_token', e, { subject: typeof sub === 'string' ? sub.slice(0, 128) : null });
        }
        throw e;
      }
      const subject = claims.sub!;
      const extra = claims[c.roleClaim] === undefined ? await userinfo(m, accessToken, subject) : {};
      const all: Record<string, unknown> = { ...extra, ...claims };
      const role = mapRole(all[c.roleClaim], c);
      if (!role)
        throw await failed(
          ip,
          'no_role',
          new PkiError('auth.oidc_no_role', `no value of claim '${c.roleClaim}' is mapped to a role`),
          { subject },
        );

      const now = clock.now();
      const identity = await store.userIdentities.find(m.issuer, subject);
      let user = identity ? await store.users.findById(identity.userId) : undefined;
      const events: NewAuditEvent[] = [];
      let created = false;
      if (!user) {
        let username = usernameFrom(all, c.usernameClaim, subject);
        // never take over an existing (local) user: a taken name gets a suffix from the subject
        if (await store.users.findByUsername(username)) {
          const suffix = createHash('sha256').update(`${m.issuer}\n${subject}`).digest('hex').slice(0, 8);
          username = `${username.slice(0, 55)}-${suffix}`;
        }
        user = {
          id: newId('usr'),
          username,
          // no password: OIDC users sign in only through the provider (an admin may set one for break-glass)
          passwordHash: '!oidc',
          role,
          disabled: false,
          failedLogins: 0,
          lockedUntil: null,
          mustChangePassword: false,
          resources: null,
          createdAt: now,
          updatedAt: now,
        };
        await store.commit({
          insertUsers: [user],
          insertUserIdentities: [
            { id: newId('uid'), userId: user.id, issuer: m.issuer, subject, createdAt: now, lastLoginAt: now },
          ],
          audit: [
            audit('system', 'user.created', user.id, {
              username,
              role,
              via: 'oidc',
              issuer: m.issuer,
              subject,
            }),
          ],
        });
        created = true;
      } else {
        if (user.disabled)
          throw await failed(ip, 'disabled', new PkiError('auth.unauthenticated', 'this user is disabled'), {
            userId: user.id,
          });
        if (user.role !== role) {
          events.push(
            audit('system', 'user.role_changed', user.id, {
              username: user.username,
              from: user.role,
              to: role,
              via: 'oidc',
              claim: c.roleClaim,
            }),
          );
          await store.commit({
            updateUsers: [{ id: user.id, patch: { role, updatedAt: now } }],
            audit: events.splice(0),
          });
          user = { ...user, role };
        }
      }
      const session = await deps.openSession(user, 'oidc', {
        ip,
        audit: [
          audit(user.id, 'auth.login', user.id, { username: user.username, ip, method: 'oidc', issuer: m.issuer }),
        ],
      });
      if (identity) await store.commit({ touchUserIdentities: [{ id: identity.id, lastLoginAt: now }] });
      logger.info({ userId: user.id, role, created }, 'OIDC sign-in');
      return { ...session, returnTo: typeof tx.returnTo === 'string' ? tx.returnTo : '/', created };
    },

    async logoutUrl(postLogoutRedirectUri) {
      const c = requireConfig();
      const m = await discover();
      if (!m.end_session_endpoint) return undefined;
      const url = new URL(m.end_session_endpoint);
      url.searchParams.set('client_id', c.clientId);
      url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
      return url.toString();
    },
  };
}
