// OIDC sign-in end to end: a real OpenID provider (the `oidc-provider` package) on 127.0.0.1, `pkim serve`
// configured for it, and the built console in Debian's Chromium (playwright-core). Authorization Code + PKCE,
// role mapping from the `groups` claim, users created at their first sign-in, logout at the provider, and the
// local administrator's password sign-in beside it (break-glass).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { openConsole, type ConsoleSession } from './support/console-browser';

/** The provider's accounts: `groups` decides the role in PKI Manager (PKIM_OIDC_ROLE_MAP). */
const ACCOUNTS: Record<string, { email: string; groups: string[] }> = {
  alice: { email: 'alice@example.com', groups: ['staff', 'pki-admins'] },
  bob: { email: 'bob@example.com', groups: ['pki-ops'] },
  eve: { email: 'eve@example.com', groups: ['marketing'] },
  // the same name as the local bootstrap administrator: must not take it over
  admin: { email: 'mallory@example.com', groups: ['pki-audit'] },
};

describe('OIDC sign-in (oidc-provider + Chromium against pkim serve)', () => {
  let idp: Server;
  let issuer: string;
  let session: ConsoleSession;
  let server: RunningServer;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let adminPassword: string;

  beforeAll(async () => {
    // 1. the provider's address first (its issuer URL), 2. pkim configured for it, 3. the provider with pkim's
    // redirect URI (discovery happens at the first sign-in)
    let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => s.writeHead(503).end();
    idp = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    const port = (idp.address() as { port: number }).port;
    issuer = `http://127.0.0.1:${port}`;
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
    ({ server, context, page } = session);
    base = server.url;
    adminPassword = server.bootstrap!.password;
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
  }, 240_000);

  afterAll(async () => {
    await session?.close();
    await new Promise((resolve) => (idp ? idp.close(resolve) : resolve(undefined)));
  });

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

  it('shows "Sign in with <provider>" beside the local form', async () => {
    const cfg = (await (await fetch(`${base}/auth/oidc/config`)).json()) as Record<string, unknown>;
    expect(cfg).toEqual({ enabled: true, name: 'Example SSO', loginUrl: '/auth/oidc/login' });
    await page.goto(`${base}/login`);
    await expect.poll(() => page.getByRole('link', { name: 'Sign in with Example SSO' }).count()).toBe(1);
    await page.getByLabel('Username').waitFor();
  });

  it('signs a provider user in with Authorization Code + PKCE, creates the user and maps groups to admin', async () => {
    await signInWithSso('alice');
    // back at the page the sign-in started from, signed in
    await page.waitForURL(`${base}/certificates`);
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    const role = page.getByRole('button', { name: 'Account menu' }).locator('[data-role]');
    await expect.poll(() => role.getAttribute('data-role')).toBe('admin');
    expect(await sqlUsers()).toContainEqual({ username: 'alice', role: 'admin' });
    // the PKCE verifier was sent: the provider refuses a code redemption without it (pkce.required)
    const events = await server.authority.audit.list({ limit: 50, order: 'desc' });
    const created = events.find((e) => e.action === 'user.created' && e.details.via === 'oidc');
    expect(created?.details).toMatchObject({ username: 'alice', role: 'admin', issuer, subject: 'alice' });
    const login = events.find((e) => e.action === 'auth.login' && e.details.method === 'oidc');
    expect(login?.details).toMatchObject({ username: 'alice', issuer });
  });

  it('reports the OIDC session and hands the console its CSRF token', async () => {
    const me = await page.evaluate(async () => {
      const res = await fetch('/trpc/user.me', { credentials: 'same-origin' });
      return (await res.json()) as { result: { data: { authMethod: string; role: string; name: string } } };
    });
    expect(me.result.data).toMatchObject({ authMethod: 'oidc', role: 'admin', name: 'alice' });
    const csrf = await page.evaluate(() =>
      (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem(
        'pkim-csrf',
      ),
    );
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('maps another group to operator, and signs out at the provider too', async () => {
    await signInWithSso('bob');
    await page.waitForURL(`${base}/certificates`);
    const role = page.getByRole('button', { name: 'Account menu' }).locator('[data-role]');
    await expect.poll(() => role.getAttribute('data-role')).toBe('operator');
    expect(await sqlUsers()).toContainEqual({ username: 'bob', role: 'operator' });
    await page.getByRole('button', { name: 'Account menu' }).click();
    await page.getByRole('menuitem', { name: /Sign out/ }).click();
    // RP-initiated logout: the provider asks to confirm, then returns to the console's sign-in page
    await page.waitForURL((u) => u.toString().startsWith(issuer));
    await page.getByRole('button', { name: /Yes, sign me out/i }).click();
    await page.waitForURL(`${base}/login`);
    const me = await page.evaluate(async () => (await fetch('/trpc/user.me')).status);
    expect(me).toBe(401);
  });

  it('refuses an identity whose groups map to no role, and creates no user', async () => {
    await signInWithSso('eve');
    await page.waitForURL(/\/login\?error=auth\.oidc_no_role/);
    await expect.poll(() => page.locator('[data-error-code]').first().textContent()).toBe('auth.oidc_no_role');
    expect((await sqlUsers()).map((u) => u.username)).not.toContain('eve');
  });

  it('never takes over a local user of the same name; the local admin still signs in with its password', async () => {
    await signInWithSso('admin');
    await page.waitForURL(`${base}/certificates`);
    const users = await sqlUsers();
    // the local admin keeps its role; the provider's "admin" became a separate auditor
    expect(users).toContainEqual({ username: 'admin', role: 'admin' });
    expect(users.filter((u) => u.username.startsWith('admin-'))).toEqual([
      { username: expect.stringMatching(/^admin-[0-9a-f]{8}$/) as string, role: 'auditor' },
    ]);
    // break-glass: the local administrator's password sign-in works beside SSO
    await context.clearCookies();
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    const role = page.getByRole('button', { name: 'Account menu' }).locator('[data-role]');
    await expect.poll(() => role.getAttribute('data-role')).toBe('admin');
  });

  it('refuses a callback without the sign-in transaction of this browser (state + PKCE in its cookie)', async () => {
    await context.clearCookies();
    await page.goto(`${base}/auth/oidc/callback?code=forged&state=forged`);
    await page.waitForURL(/\/login\?error=auth\.oidc_failed/);
    await expect.poll(() => page.locator('[data-error-code]').first().textContent()).toBe('auth.oidc_failed');
  });
});
