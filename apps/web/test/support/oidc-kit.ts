// The OIDC sign-in end-to-end kit (apps/web/test/oidc-e2e-*.test.ts): a real OpenID provider (the `oidc-provider`
// package) on 127.0.0.1, `pkim serve` configured for it, and the built console in Debian's Chromium (playwright-core).
// The provider (tests/support/oidc-dev-provider.ts, what `npm run oidc:dev-provider` starts): its accounts' `groups`
// claim decides the role in PKI Manager (PKIM_OIDC_ROLE_MAP).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { createDevProvider, DEV_CLIENT_ID } from '../../../../tests/support/oidc-dev-provider';
import { openConsole, SERVER_WORK, type ConsoleSession } from './console-browser';

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

/**
 * From the console's sign-in page (reached from /certificates) through the dev provider's login and consent pages,
 * with a fresh cookie jar; `name` is the button's provider name (PKIM_OIDC_NAME).
 */
export async function signInThroughDevProvider(
  at: { context: BrowserContext; page: Page; base: string; issuer: string; name: string },
  login: string,
): Promise<void> {
  const { context, page } = at;
  await context.clearCookies();
  await page.goto(`${at.base}/certificates`);
  await page.waitForURL(/\/login/);
  await page.getByRole('link', { name: `Sign in with ${at.name}` }).click();
  await page.waitForURL((u) => u.toString().startsWith(at.issuer));
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any-password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  const consent = page.getByRole('button', { name: 'Continue' });
  await consent.waitFor(SERVER_WORK);
  await consent.click();
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
          clientId: DEV_CLIENT_ID,
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
  handler = createDevProvider({
    issuer,
    consoleUrls: [base],
    clientSecret: 'a-client-secret-for-tests-only',
  }).handler;
  // the provider's dev pages import a web font: no network here, answer it empty
  await context.route(/fonts\.googleapis\.com/, (route) => route.fulfill({ status: 200, body: '' }));

  const signInWithSso = (login: string) =>
    signInThroughDevProvider({ context, page, base, issuer, name: 'Example SSO' }, login);

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
