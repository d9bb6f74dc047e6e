// A local OpenID provider (the `oidc-provider` package) for trying PKI Manager's OIDC sign-in: what the console's
// OIDC e2e tests sign in through (apps/web/test/support/oidc-kit.ts) and what `npm run oidc:dev-provider`
// (scripts/oidc-dev-provider.ts, docs/oidc.md's walk-through) starts. NOT for production: its accounts are fixed,
// any password signs them in (oidc-provider's development login and consent pages), its keys live in memory only.
// One confidential client, Authorization Code + PKCE (S256) required; the `groups` claim of each account is what
// PKIM_OIDC_ROLE_MAP maps to a pkim role. A second client, `other-app`, is another application at the same provider
// that trusts pkim's client as Dex's cross-client trust does: pkim asking for the scope
// `audience:server:client_id:other-app` (PKIM_OIDC_SCOPES) gets an ID token issued for other-app (aud other-app, azp
// pkim-console), the token pkim refuses as not its own (docs/oidc.md, "Troubleshooting").
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
/** the provider's second client: another application whose ID tokens pkim-console may ask for (Dex's trusted peer) */
export const DEV_PEER_CLIENT_ID = 'other-app';
/** Dex's cross-client scope: "an ID token for other-app, please" */
export const DEV_PEER_SCOPE = `audience:server:client_id:${DEV_PEER_CLIENT_ID}`;

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
      {
        client_id: DEV_PEER_CLIENT_ID,
        client_secret: randomBytes(24).toString('base64url'),
        redirect_uris: ['https://other-app.example.com/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'email', 'groups', DEV_PEER_SCOPE],
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
  issueForPeerWhenAsked(provider);
  const callback = provider.callback();
  return { clientId: DEV_CLIENT_ID, clientSecret, handler: (req, res) => void callback(req, res) };
}

/**
 * Dex's cross-client trust on oidc-provider (which always signs an ID token for the client that redeems the code): an
 * ID token whose grant holds DEV_PEER_SCOPE is signed for DEV_PEER_CLIENT_ID (`aud`) with the asking client as `azp`.
 */
function issueForPeerWhenAsked(provider: Provider): void {
  type IdToken = InstanceType<Provider['IdToken']> & {
    client: { clientId: string };
    ctx?: { oidc?: { entities?: { AuthorizationCode?: { scope?: string } } } };
  };
  const proto = provider.IdToken.prototype as IdToken;
  const issue = Object.getOwnPropertyDescriptor(proto, 'issue')!.value as (
    this: IdToken,
    ...args: Parameters<IdToken['issue']>
  ) => Promise<string>;
  proto.issue = async function (this: IdToken, ...args: Parameters<IdToken['issue']>): Promise<string> {
    const client = this.client;
    // the scopes of the code being redeemed (the ID token's own `scope` is 'openid' when its claims go by userinfo)
    const scopes = this.ctx?.oidc?.entities?.AuthorizationCode?.scope ?? '';
    const asked = args[0].use === 'idtoken' && scopes.split(' ').includes(DEV_PEER_SCOPE);
    if (!asked || client.clientId === DEV_PEER_CLIENT_ID) return issue.apply(this, args);
    this.set('azp', client.clientId);
    // the signing reads `client.clientId` for the audience: the same client seen under the peer's id
    const peer = new Proxy(client, {
      get: (target, key) => (key === 'clientId' ? DEV_PEER_CLIENT_ID : (Reflect.get(target, key, target) as unknown)),
    });
    (this as { client: unknown }).client = peer;
    try {
      return await issue.apply(this, args);
    } finally {
      (this as { client: unknown }).client = client;
    }
  };
}
