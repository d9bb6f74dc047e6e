// The OIDC sign-in end-to-end kit (apps/web/test/oidc-e2e-*.test.ts): a real OpenID provider (the `oidc-provider`
// package) on 127.0.0.1, `pkim serve` configured for it, and the built console in Debian's Chromium (playwright-core).
// The provider's accounts' `groups` claim decides the role in PKI Manager (PKIM_OIDC_ROLE_MAP).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { openConsole, type ConsoleSession } from './console-browser';

/** The provider's accounts: `groups` decides the role in PKI Manager (PKIM_OIDC_ROLE_MAP). */
const ACCOUNTS: Record<string, { email: string; groups: string[] }> = {
  alice: { email: 'alice@example.com', groups: ['staff', 'pki-admins'] },
  bob: { email: 'bob@example.com', groups: ['pki-ops'] },
  eve: { email: 'eve@example.com', groups: ['marketing'] },
  // the same name as the local bootstrap administrator: must not take it over
  admin: { email: 'mallory@example.com', groups: ['pki-audit'] },
};

export interface OidcConsole {
  idp: Server;
  /** the provider's issuer URL (http://127.0.0.1:<port>) */
  issuer: string;
  session: ConsoleSession;
  server: RunningServer;
  context: BrowserContext;
  page: Page;
  /** pkim's base URL */
  base: string;
  /** the local bootstrap administrator's password */
  adminPassword: string;
  /** from the console's sign-in page through the provider's login and consent pages */
  signInWithSso(login: string): Promise<void>;
  /** the users in PKI Manager's database */
  sqlUsers(): Promise<{ username: string; role: string }[]>;
  close(): Promise<void>;
}

/** The provider, `pkim serve` configured for it, and a browser page on the console (beforeAll: allow 240 s). */
export async function openOidcConsole(): Promise<OidcConsole> {
  // 1. the provider's address first (its issuer URL), 2. pkim configured for it, 3. the provider with pkim's
  // redirect URI (discovery happens at the first sign-in)
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => s.writeHead(503).end();
  const idp = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const port = (idp.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;
  let session: ConsoleSession;
  try {
    session = await openConsole({
      prefix: 'pkim-oidc',
      authority: {
        oidc: {
          issuer,
          clientId: 'pkim-console',
          clientSecret: 'a-client-secret-for-tests-only',
          displayName: 'Example SSO',
          roleClaim: 'groups',
          roleMap: { 'pki-admins': 'admin', 'pki-ops': 'operator', 'pki-audit': 'auditor' },
        },
      },
    });
  } catch (e) {
    await new Promise((resolve) => idp.close(resolve));
    throw e;
  }
  const { server, context, page } = session;
  const base = server.url;
  const { adminPassword } = session;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'pkim-console',
        client_secret: 'a-client-secret-for-tests-only',
        redirect_uris: [`${base}/auth/oidc/callback`],
        post_logout_redirect_uris: [`${base}/login`],
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
            email: ACCOUNTS[id]?.email ?? `${id}@example.com`,
            groups: ACCOUNTS[id]?.groups ?? [],
          }),
      }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['oidc-provider-cookie-key-for-tests'] },
  });
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);
  // the provider's dev pages import a web font: no network here, answer it empty
  await context.route(/fonts\.googleapis\.com/, (route) => route.fulfill({ status: 200, body: '' }));

  /** from the console's sign-in page through the provider's login and consent pages */
  async function signInWithSso(login: string) {
    await context.clearCookies();
    await page.goto(`${base}/certificates`);
    await page.waitForURL(/\/login/);
    await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
    await page.waitForURL((u) => u.toString().startsWith(issuer));
    await page.locator('input[name=login]').fill(login);
    await page.locator('input[name=password]').fill('any-password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const consent = page.getByRole('button', { name: 'Continue' });
    await consent.waitFor();
    await consent.click();
  }

  async function sqlUsers() {
    return (await server.authority.auth.listUsers()).map((u) => ({ username: u.username, role: u.role }));
  }

  return {
    idp,
    issuer,
    session,
    server,
    context,
    page,
    base,
    adminPassword,
    signInWithSso,
    sqlUsers,
    async close() {
      await session.close();
      await new Promise((resolve) => idp.close(resolve));
    },
  };
}
