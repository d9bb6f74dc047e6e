// OIDC sign-in end to end (1 of 2): a real OpenID provider (the `oidc-provider` package) on 127.0.0.1, `pkim serve`
// configured for it, and the built console in Debian's Chromium (playwright-core) — support/oidc-kit.ts. Here:
// Authorization Code + PKCE, role mapping from the `groups` claim, users created at their first sign-in, logout at
// the provider. The refusals and the local administrator's break-glass sign-in are in oidc-e2e-refusals.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { openOidcConsole, type OidcConsole } from './support/oidc-kit';

describe('OIDC sign-in (oidc-provider + Chromium against pkim serve)', () => {
  let oidc: OidcConsole;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let issuer: string;
  const signInWithSso = (login: string) => oidc.signInWithSso(login);
  const sqlUsers = () => oidc.sqlUsers();

  beforeAll(async () => {
    oidc = await openOidcConsole();
    ({ server, page, base, issuer } = oidc);
  }, 240_000);

  afterAll(async () => {
    await oidc?.close();
  });

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
});
