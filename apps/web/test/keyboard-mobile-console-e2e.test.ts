// End to end in Chromium against a fresh server: the walk-through's forms with the keyboard only (tab order, Enter
// submits, Escape closes dialogs, a visible focus on every stop) and the main pages on a phone's screen (390×844):
// no page wider than the screen, the navigation a drawer that is out of the tab order while closed and closes on
// Escape; the audit log's details readable there. Assertions on the page's state (focus, sizes, attributes), no
// picture compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { openConsole, unreadable, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, issueServerCertificate } from './support/console-pki';

const POLL = { timeout: 120_000 };

/** what the focused element is, and whether its focus can be seen (an outline or a ring) */
interface Focused {
  tag: string;
  id: string;
  label: string;
  visible: boolean;
}

/** the browser side of {@link focused} (the tests are type-checked without the DOM library) */
interface FocusGlobals {
  document: { activeElement: FocusElement | null };
  getComputedStyle(e: FocusElement): { outlineStyle: string; outlineWidth: string; boxShadow: string };
}
interface FocusElement {
  tagName: string;
  id: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
}

async function focused(page: Page): Promise<Focused> {
  return page.evaluate(() => {
    const g = globalThis as unknown as FocusGlobals;
    const e = g.document.activeElement;
    if (!e) return { tag: '', id: '', label: '', visible: false };
    const s = g.getComputedStyle(e);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
    const ring = s.boxShadow !== 'none' && s.boxShadow !== '';
    return {
      tag: e.tagName.toLowerCase(),
      id: e.id,
      label: (e.getAttribute('aria-label') ?? e.textContent ?? '').trim(),
      visible: outline || ring,
    };
  });
}

/** Tab (or Shift+Tab), then what has the focus — which must be visible */
async function tab(page: Page, back = false): Promise<Focused> {
  await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  const f = await focused(page);
  expect(f.visible, `focus on ${f.tag}#${f.id} "${f.label}" is not visible`).toBe(true);
  return f;
}

/** page width beyond the viewport (0: nothing to scroll sideways) */
async function overflowX(page: Page): Promise<number> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document;
    return d.documentElement.scrollWidth - (globalThis as unknown as { innerWidth: number }).innerWidth;
  });
}

describe('web console: keyboard only, and a phone-sized screen (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  const ids = { int: '', cert: '' };

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-keyboard' });
    ({ server, page, base } = session);
    page.setDefaultTimeout(POLL.timeout);
    const hierarchy = await createE2eHierarchy(server.authority);
    ids.int = hierarchy.int.id;
    ids.cert = (await issueServerCertificate(server.authority, hierarchy, 'kb.example.com')).certificate.id;
  }, 240_000);

  afterAll(async () => session?.close());

  it('signs in with the keyboard: the username has the focus, Tab to the password, Enter submits', async () => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').waitFor();
    expect((await focused(page)).id).toBe('username');
    await page.keyboard.type('admin');
    expect((await tab(page)).id).toBe('password');
    await page.keyboard.type(session.adminPassword);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor(POLL);
  }, 300_000);

  it('creates a CA with the wizard by keyboard: each step focuses its first field, Enter goes on', async () => {
    await page.goto(`${base}/cas/new`);
    await page.getByRole('heading', { name: 'Create a certificate authority' }).waitFor(POLL);
    // to the kind: the radio group is one tab stop; Root CA is chosen
    await page.getByRole('radio', { name: 'Root CA' }).focus();
    expect(await page.getByRole('radio', { name: 'Root CA' }).isChecked()).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByLabel('Name (unique, used in the CLI and URLs)').waitFor(POLL);
    expect((await focused(page)).id).toBe('ca-name');
    await page.keyboard.type('kb-root');
    expect((await tab(page)).id).toBe('ca-cn');
    await page.keyboard.type('Keyboard Root CA');
    expect((await tab(page)).id).toBe('ca-o');
    expect((await tab(page)).id).toBe('ca-c');
    await page.keyboard.press('Enter');
    await page.getByLabel('Key type').waitFor(POLL);
    expect((await focused(page)).id).toBe('ca-key');
    // Enter on a select opens it: Tab on to the key backend, Back, then Next
    expect((await tab(page)).id).toBe('ca-backend');
    expect((await tab(page)).label).toBe('Back');
    expect((await tab(page)).label).toBe('Next');
    await page.keyboard.press('Enter');
    await page.getByLabel('Path length').waitFor(POLL);
    expect((await focused(page)).id).toBe('ca-validity');
    await page.keyboard.press('Enter');
    await page.getByText('Root CA (self-signed)').waitFor(POLL);
    // the review: the focus is on the button that creates the CA
    expect(await focused(page)).toMatchObject({ tag: 'button', label: 'Create CA', visible: true });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'kb-root' }).waitFor(POLL);
  }, 300_000);

  it('opens and closes the walk-through dialogs with the keyboard; Escape closes and changes nothing', async () => {
    // a certificate request: Enter on the button opens it, the focus is inside, Escape closes and gives it back
    await session.nav('Requests');
    await page.getByRole('button', { name: 'New request' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor(POLL);
    await expect.poll(async () => (await dialog.locator(':focus').count()) > 0).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    expect((await focused(page)).label).toContain('New request');

    // the revocation's confirmation: Escape cancels, the certificate stays active
    await page.goto(`${base}/certificates/${ids.cert}`);
    await page.getByRole('heading', { name: 'kb.example.com' }).waitFor(POLL);
    await page.getByRole('button', { name: 'Revoke' }).focus();
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('alertdialog');
    await confirm.waitFor(POLL);
    // the reason, then Cancel, then the confirmation: each stop visible
    const stops = [await tab(page), await tab(page), await tab(page)].map((f) => f.label || f.id);
    expect(stops.some((s) => s.includes('Revoke certificate'))).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => confirm.count()).toBe(0);
    expect((await server.authority.certificates.get(ids.cert)).certificate.status).toBe('active');

    // the password change from the account menu: Enter opens the menu, Escape closes the dialog
    await page.getByRole('button', { name: 'Account menu' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'Change password' }).waitFor(POLL);
    await page.keyboard.press('Enter');
    await dialog.waitFor(POLL);
    expect((await focused(page)).id).toBe('pw-old');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
  }, 300_000);

  it('at 390×844: every main page fits the screen; the navigation is a drawer out of the tab order', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor(POLL);
    const menu = page.getByRole('button', { name: 'Open navigation' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    // closed, the drawer's links are not tab stops: the skip link, then the menu button
    await page.locator('body').focus();
    expect((await tab(page)).label).toBe('Skip to content');
    expect((await tab(page)).label).toBe('Open navigation');

    // Escape closes the drawer and gives the focus back to its button
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await expect.poll(async () => (await focused(page)).tag).toBe('a');
    await page.keyboard.press('Escape');
    await expect.poll(() => menu.getAttribute('aria-expanded')).toBe('false');
    expect((await focused(page)).label).toBe('Open navigation');

    // each page's overflow is checked once its data has rendered (a late table or list could widen it): the element
    // its last query shows (a navigation inside the console loads no new document, so `networkidle` waited for nothing)
    const table = (testId: string, name: string) => page.getByTestId(testId).getByRole('link', { name });
    const option = (label: string, name: string) => page.getByLabel(label).locator('option', { hasText: name });
    const pages: [link: string, heading: string, loaded: Locator[]][] = [
      ['Dashboard', 'Dashboard', [page.locator('[data-ca-expiry-row="kb-root"]'), page.getByTestId('expiry-chart')]],
      ['Authorities', 'Certificate authorities', [page.getByRole('link', { name: 'e2e-issuing' }).first()]],
      [
        'Certificates',
        'Certificates',
        [
          table('certificates-table', 'kb.example.com'),
          option('Filter by CA', 'e2e-issuing'),
          option('Filter by profile', 'tls-server'),
        ],
      ],
      ['Issue', 'Issue a certificate', [option('Issuing CA', 'e2e-issuing'), option('Profile', 'tls-server')]],
      ['Requests', 'Certificate requests', [page.getByText('No request waits for review')]],
      ['Profiles', 'Profiles', [page.locator('[data-profile="tls-server"]')]],
      [
        'Audit log',
        'Audit log',
        [page.getByTestId('audit-chain-ok'), page.locator('[data-action="ca.created"]').first()],
      ],
    ];
    for (const [link, heading, loaded] of pages) {
      await menu.click();
      await session.nav(link);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor(POLL);
      await expect.poll(() => menu.getAttribute('aria-expanded')).toBe('false');
      for (const l of loaded) await l.first().waitFor({ state: 'attached', ...POLL });
      expect(await overflowX(page), `${link} is wider than the screen`).toBeLessThanOrEqual(0);
    }
    // the last page, the audit log: an event's details under its action, readable in full (no column to scroll to)
    const details = page.locator('[data-action="ca.created"]').first().locator('[data-audit-details]:visible');
    expect(await details.count()).toBe(1);
    expect(await unreadable(details)).toEqual([]);
    for (const [path, heading, loaded] of [
      // the parent's name (ca.list) and the certificate it issued (certificate.list)
      [
        `/cas/${ids.int}`,
        'e2e-issuing',
        [page.getByRole('link', { name: 'e2e-root' }), page.getByText('kb.example.com')],
      ],
      // the issuing CA's name and its chain (ca.get)
      [
        `/certificates/${ids.cert}`,
        'kb.example.com',
        [page.getByRole('link', { name: 'e2e-issuing' }), page.getByRole('button', { name: 'Full chain' })],
      ],
    ] as const) {
      await page.goto(`${base}${path}`);
      await page.getByRole('heading', { name: heading }).waitFor(POLL);
      for (const l of loaded) await l.first().waitFor({ state: 'attached', ...POLL });
      expect(await overflowX(page), `${path} is wider than the screen`).toBeLessThanOrEqual(0);
    }
    await page.setViewportSize({ width: 1366, height: 860 });
  }, 300_000);
});
