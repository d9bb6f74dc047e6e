// End to end in Chromium against `pkim serve`: the certificates page's expiry window is the API's `expiringWithin`
// (a duration) — the list's tRPC call, the CSV export's link and the batch selection all send it, never the first
// version's `expiringWithinDays`. Three certificates (made through the authority, openssl verifies each) end in 2, 20
// and 200 days: "Expiring in 7 days" lists the first, "30 days" the first two, "1 year" all three; a link with a
// duration the menu does not offer (`?expiring=36h`) filters by it and shows it in the menu; the dashboard's
// "Expiring in 30 days" card opens the 30-day window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openConsole, type BrowserGlobals, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, issueServerCertificate } from './support/console-pki';

const POLL = { timeout: 15_000 };
const DAY = 86_400_000;

describe('web console: the certificates expiry window (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let page: Page;
  let base: string;
  /** the inputs of every certificate.list call the page made (tRPC GET: `input` is JSON in the query) */
  const listInputs: string[] = [];
  const rows = () =>
    page.locator('[data-testid="certificates-table"] tbody tr a[href^="/certificates/"]').allTextContents();

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-cert-expiry' });
    ({ page, base } = session);
    const hierarchy = await createE2eHierarchy(session.server.authority);
    for (const [cn, days] of [
      ['two.example.com', 2],
      ['twenty.example.com', 20],
      ['twohundred.example.com', 200],
    ] as const)
      await issueServerCertificate(session.server.authority, hierarchy, cn, { validityMs: days * DAY });
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.includes('certificate.list')) listInputs.push(url.searchParams.get('input') ?? '');
    });
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('filters by the window chosen, sending expiringWithin as a duration', async () => {
    await session.nav('Certificates');
    await expect.poll(() => rows().then((r) => r.length), POLL).toBe(3);
    const window = page.getByLabel('Expiry window');
    const choices = await window.locator('option').allTextContents();
    expect(choices).toEqual(
      expect.arrayContaining(['Expiring in 7 days', 'Expiring in 30 days', 'Expiring in 1 year']),
    );

    listInputs.length = 0;
    await window.selectOption({ label: 'Expiring in 7 days' });
    await expect.poll(rows, POLL).toEqual(['two.example.com']);
    expect(
      listInputs.some((i) => i.includes('"expiringWithin":"7d"')),
      listInputs.join('\n'),
    ).toBe(true);
    expect(
      listInputs.some((i) => i.includes('expiringWithinDays')),
      listInputs.join('\n'),
    ).toBe(false);
    const csv = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(new URL(csv!, base).searchParams.get('expiringWithin')).toBe('7d');
    expect(csv).not.toContain('expiringWithinDays');
    // the export the link downloads has the same window
    const exported = await page.evaluate(
      (href) => (globalThis as unknown as BrowserGlobals & { fetch: typeof fetch }).fetch(href).then((r) => r.text()),
      csv!,
    );
    expect(exported).toContain('two.example.com');
    expect(exported).not.toContain('twenty.example.com');

    await window.selectOption({ label: 'Expiring in 30 days' });
    await expect.poll(() => rows().then((r) => r.sort()), POLL).toEqual(['twenty.example.com', 'two.example.com']);
    await window.selectOption({ label: 'Expiring in 1 year' });
    await expect.poll(() => rows().then((r) => r.length), POLL).toBe(3);
    expect(
      listInputs.some((i) => i.includes('expiringWithinDays')),
      listInputs.join('\n'),
    ).toBe(false);
  }, 120_000);

  it('a link with another duration (36h) filters by it and shows it in the menu', async () => {
    await page.goto(`${base}/certificates?expiring=36h`);
    await page.getByRole('heading', { name: 'Certificates' }).waitFor(POLL);
    await expect.poll(rows, POLL).toEqual([]);
    await page.getByText('No certificate matches').waitFor(POLL);
    expect(await page.getByLabel('Expiry window').inputValue()).toBe('36h');
    await page.goto(`${base}/certificates?expiring=3d`);
    await expect.poll(rows, POLL).toEqual(['two.example.com']);
  }, 120_000);

  it("the dashboard's 30-day card opens the 30-day window", async () => {
    await session.nav('Dashboard');
    await page.getByRole('link', { name: /Expiring in 30 days/ }).click();
    await page.getByRole('heading', { name: 'Certificates' }).waitFor(POLL);
    await expect.poll(() => rows().then((r) => r.sort()), POLL).toEqual(['twenty.example.com', 'two.example.com']);
    expect(await page.getByLabel('Expiry window').inputValue()).toBe('30d');
  }, 120_000);
});
