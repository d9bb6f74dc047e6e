// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): an administrator adds users and an API
// token shown once; an auditor sees no issue or revoke buttons and the API refuses the call anyway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { openConsole, type BrowserGlobals, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, issueServerCertificate, PASSWORD } from './support/console-pki';

describe('web console: users, API tokens and an auditor (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  const ids: { int?: string; keyCert?: string } = {};

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-users' });
    ({ server, page, base } = session);
    const hierarchy = await createE2eHierarchy(server.authority);
    ids.int = hierarchy.int.id;
    ids.keyCert = (await issueServerCertificate(server.authority, hierarchy, 'api.example.com')).certificate.id;
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('lets an administrator add users and create an API token shown once', async () => {
    await session.nav('Users & tokens');
    for (const [username, role] of [
      ['rita', 'requester'],
      ['oscar', 'operator'],
      ['audrey', 'auditor'],
    ] as const) {
      await page.getByRole('button', { name: 'Add user' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Username').fill(username);
      await dialog.getByLabel('Initial password').fill(PASSWORD);
      await dialog.getByLabel('Role', { exact: true }).selectOption(role);
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.locator(`[data-user="${username}"]`).waitFor();
    }
    await session.shot('users');
    await page.getByRole('tab', { name: 'API tokens' }).click();
    await page.getByRole('button', { name: 'Create API token' }).click();
    await page.getByLabel('Name').fill('ci-deploy');
    await page.getByLabel('Scopes').fill('certificate:issue');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByTestId('token-secret').textContent();
    expect(secret).toMatch(/^pkim_/);
    await session.shot('api-token-created');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('tokens-table').waitFor();
    expect(await page.content()).not.toContain(secret!);
  }, 90_000);

  it('an auditor sees no issue or revoke buttons, and the API refuses the revocation anyway', async () => {
    await session.signIn('audrey', PASSWORD);
    expect(await page.getByRole('link', { name: 'Issue' }).count()).toBe(0);
    await page.goto(`${base}/certificates/${ids.keyCert}`);
    await page.getByRole('heading', { name: 'api.example.com' }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await page.goto(`${base}/cas/${ids.int}`);
    await page.getByRole('heading', { name: 'e2e-issuing' }).waitFor();
    expect(await page.getByRole('link', { name: 'Issue certificate' }).count()).toBe(0);
    // the same session calling the API directly (with its CSRF token) is refused
    const refused = await page.evaluate(async (ref) => {
      const r = await fetch('/trpc/certificate.revoke', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-csrf-token': (globalThis as unknown as BrowserGlobals).localStorage.getItem('pkim-csrf') ?? '',
        },
        body: JSON.stringify({ ref, reason: 'keyCompromise' }),
      });
      return { status: r.status, body: (await r.json()) as { error: { data: { pkiCode: string } } } };
    }, ids.keyCert!);
    expect(refused.status).toBe(403);
    expect(refused.body.error.data.pkiCode).toBe('auth.forbidden');
    expect((await server.authority.certificates.get(ids.keyCert!)).certificate.status).toBe('active');
  }, 60_000);
});
