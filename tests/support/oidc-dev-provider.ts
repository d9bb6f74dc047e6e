// A local OpenID provider (the `oidc-provider` package) for trying PKI Manager's OIDC sign-in: what the console's
// OIDC e2e tests sign in through (apps/web/test/support/oidc-kit.ts) and what `npm run oidc:dev-provider`
// (scripts/oidc-dev-provider.ts, docs/oidc.md's walk-through) starts. NOT for production: its accounts are fixed,
// any password signs them in (oidc-provider's development login and consent pages), its keys live in memory only.
// One confidential client, Authorization Code + PKCE (S256) required; the `groups` claim of each account is what
// PKIM_OIDC_ROLE_MAP maps to a pkim role.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider from 'oidc-provider';

/** The provider's accounts and their `groups` claim (docs/oidc.md's walk-through maps these). */
export const DEV_ACCOUNTS: Record<string, { email: string; groups: string[] }> = {
  alice: { email: 'alice@example.com', groups: ['staff', 'pki-admins'] },
  bob: { email: 'bob@example.com', groups: ['pki-ops'] },
  carol: { email: 'carol@example.com', groups: ['pki-audit'] },
  eve: { email: 'eve@example.com', groups: ['marketing'] },
  // the same name as the local bootstrap administrator: must not take it over (oidc-e2e-refusals.test.ts)
  admin: { email: 'mallory@example.com', groups: ['pki-audit'] },
};

export const DEV_CLIENT_ID = 'pkim-console';

export interface DevProviderOptions {
  /** the issuer URL: where the provider answers (http://127.0.0.1:<port>) */
  issuer: string;
  /** pkim's base URLs the browser uses (http://127.0.0.1:8200): the client's redirect and post-logout URIs */
  consoleUrls: string[];
  /** the client's secret (default: a random one) */
  clientSecret?: string;
}

export interface DevProvider {
  clientId: string;
  clientSecret: string;
  /** the provider's HTTP handler, for a node:http server listening at the issuer URL */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** The provider (no listening: the caller's server answers at `issuer` with `handler`). */
export function createDevProvider(opts: DevProviderOptions): DevProvider {
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString('base64url');
  const bases = opts.consoleUrls.map((u) => u.replace(/\/+$/, ''));
  const provider = new Provider(opts.issuer, {
    clients: [
      {
        client_id: DEV_CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: bases.map((b) => `${b}/auth/oidc/callback`),
        post_logout_redirect_uris: bases.map((b) => `${b}/login`),
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] },
    findAccount: (_ctx, id) =>
      Promise.resolve({
        accountId: id,
        claims: () =>
          Promise.resolve({
            sub: id,
            preferred_username: id,
            name: id,
            email: DEV_ACCOUNTS[id]?.email ?? `${id}@example.com`,
            groups: DEV_ACCOUNTS[id]?.groups ?? [],
          }),
      }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
  });
  const callback = provider.callback();
  return { clientId: DEV_CLIENT_ID, clientSecret, handler: (req, res) => void callback(req, res) };
}
