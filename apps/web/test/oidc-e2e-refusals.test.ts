// OIDC sign-in end to end (2 of 2): a real OpenID provider (the `oidc-provider` package) on 127.0.0.1, `pkim serve`
// configured for it, and the built console in Debian's Chromium (playwright-core) — support/oidc-kit.ts. Here: the
// refusals (no role, a forged callback) and the local administrator's password sign-in beside SSO (break-glass), a
// provider user of the same name never taking it over. The sign-in itself is in oidc-e2e-sign-in.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { openOidcConsole, type OidcConsole } from './support/oidc-kit';

describe('OIDC sign-in (oidc-provider + Chromium against pkim serve)', () => {
  let oidc: OidcConsole;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let adminPassword: string;
  const signInWithSso = (login: string) => oidc.signInWithSso(login);
  const sqlUsers = () => oidc.sqlUsers();

  beforeAll(async () => {
    oidc = await openOidcConsole();
    ({ context, page, base, adminPassword } = oidc);
  }, 240_000);

  afterAll(async () => {
    await oidc?.close();
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
