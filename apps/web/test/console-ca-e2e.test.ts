// End to end: the built web console in Debian's Chromium (playwright-core, no browser download) against a real
// `pkim serve` on a fresh data dir: first sign-in and the CA wizard (a root, a name-constrained intermediate).
// The console's other pages have a file each (console-*-e2e.test.ts, ssh-, vault-, bulk-, batch-, renew-csr-,
// notifications-); all share ./support/console-browser.ts and write their screenshots to docs/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, SERVER_WORK, type ConsoleSession } from './support/console-browser';

// waits on the server's work (a sign-in, a CA made, a rename) are bounded by SERVER_WORK, not Playwright's 30 s: at
// load 16 a CA's creation once took longer; waits on the page alone keep the default
const WORK = SERVER_WORK;

describe('web console: sign-in and the CA wizard (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  const ids: { root?: string; int?: string } = {};

  async function wizardNext() {
    await page.getByRole('button', { name: 'Next' }).click();
  }

  beforeAll(async () => {
    session = await openConsole();
    ({ server, page, base } = session);
    expect(session.printed.join('\n')).toContain(`Sign in to the web console at ${base}/`);
  }, 240_000);

  afterAll(async () => session?.close());

  it('signs the administrator in (a wrong password refused first)', async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await session.shot('login');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('[data-error-code]').textContent(), WORK).toBe('auth.invalid_credentials');
    await page.getByLabel('Password').fill(session.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor(WORK);
    await expect.poll(() => page.getByText('No certificate authority yet').count(), WORK).toBeGreaterThan(0);
  }, 300_000);

  it('creates a root CA and a name-constrained intermediate with the wizard', async () => {
    await session.nav('Authorities');
    await page.getByRole('heading', { name: 'Certificate authorities' }).waitFor();
    await session.shot('ca-hierarchy-empty');
    await page.getByRole('link', { name: 'Create CA' }).first().click();
    await page.getByText('Root CA', { exact: true }).click();
    await wizardNext();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('e2e-root');
    await page.getByLabel('Common name (CN)').fill('E2E Root CA');
    await page.getByLabel('Organization (O)').fill('PKI Manager E2E');
    await page.getByLabel('Country (C)').fill('US');
    await wizardNext();
    await page.getByLabel('Key type').selectOption('ec-p384');
    await wizardNext();
    await wizardNext();
    await session.shot('create-ca-review');
    await page.getByRole('button', { name: 'Create CA' }).click();
    await page.getByRole('heading', { name: 'e2e-root' }).waitFor(WORK);
    ids.root = page.url().split('/cas/')[1];
    expect(ids.root).toMatch(/^ca_/);

    await page.getByRole('link', { name: 'Subordinate CA' }).click();
    await expect.poll(() => page.getByLabel('Parent CA').inputValue(), WORK).toBe(ids.root);
    await wizardNext();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('e2e-issuing');
    await page.getByLabel('Common name (CN)').fill('E2E Issuing CA');
    await wizardNext();
    await page.getByLabel('Key type').selectOption('ec-p256');
    await wizardNext();
    await page.getByLabel('Path length').fill('0');
    await page.getByLabel('Permitted DNS subtrees').fill('.example.com, example.com');
    await wizardNext();
    await page.getByRole('button', { name: 'Create CA' }).click();
    await page.getByRole('heading', { name: 'e2e-issuing' }).waitFor(WORK);
    ids.int = page.url().split('/cas/')[1];
    await page.getByText('pathLen 0').first().waitFor(WORK);
    await session.shot('ca-detail');

    const root = await server.authority.cas.get(ids.root!);
    const int = await server.authority.cas.get(ids.int!);
    expect(int.ca.parentId).toBe(ids.root);
    const v = opensslVerify({ leafPem: int.certificatePem!, rootPem: root.certificatePem!, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);

    await session.nav('Authorities');
    await page.locator('[data-ca="e2e-issuing"]').waitFor(WORK);
    await session.shot('ca-hierarchy');
  }, 600_000);

  it('renames a CA from its page: a name taken is refused with its code, nothing changed; then renamed', async () => {
    await page.goto(`${base}/cas/${ids.int}`);
    await page.getByRole('heading', { name: 'e2e-issuing' }).waitFor(WORK);
    await page.getByRole('button', { name: 'Rename' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('New name').fill('e2e-root');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await expect.poll(() => dialog.locator('[data-error-code]').textContent(), WORK).toBe('ca.name_taken');
    expect((await server.authority.cas.get(ids.int!)).ca.name).toBe('e2e-issuing');

    await dialog.getByLabel('New name').fill('e2e-issuing-2026');
    await dialog.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'e2e-issuing-2026' }).waitFor(WORK);
    expect(page.url()).toBe(`${base}/cas/${ids.int}`);
    const renamed = await server.authority.audit.list({ action: 'ca.renamed', target: ids.int!, limit: 5 });
    expect(renamed.map((e) => e.details)).toEqual([{ from: 'e2e-issuing', to: 'e2e-issuing-2026' }]);
    await session.nav('Authorities');
    await page.locator('[data-ca="e2e-issuing-2026"]').waitFor(WORK);
  }, 300_000);
});
