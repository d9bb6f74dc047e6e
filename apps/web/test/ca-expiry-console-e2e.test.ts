// End to end in Chromium against `pkim serve`: each CA's expiry in the console. A root (default validity) with two
// intermediates that end in 20 and 60 days (made through the authority, openssl verifies each chain): the dashboard
// lists the CA certificates soonest first with the days left, flagging the one under CA_EXPIRY_WARN_DAYS; the CA page
// shows the days left and warns for that one only; the CA list's "By expiry" view sorts by end and, with a window
// chosen, lists what the API's `ca.list({ expiringWithin })` answers: a revoked intermediate that ends within the
// window (25 days) is left out, as `pkim ca list --expiring-within` leaves it out; the window is in the address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { createIssuingCa, createRootCa } from '../../../tests/support/ca-kit';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { E2E_ADMIN } from './support/console-pki';

const POLL = { timeout: 15_000 };
const DAY = 86_400_000;

describe('web console: CA expiry (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  const ids: Record<string, string> = {};
  /** the days left the console should print for a CA (whole days, rounded down) */
  const daysLeft = async (name: string) => {
    const ca = await server.authority.cas.get(name);
    return Math.floor((ca.ca.notAfter! - Date.now()) / DAY);
  };
  /** "N days left" with N the CA's days left now, or one less (a day boundary passed while the test ran) */
  const expectDaysLeft = async (text: string | null, name: string) => {
    const n = Number(/^(\d+) days? left$/.exec(text ?? '')?.[1]);
    const want = await daysLeft(name);
    expect([want, want - 1], `${name}: '${text}'`).toContain(n);
  };

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-ca-expiry' });
    ({ server, page, base } = session);
    const root = await createRootCa(server.authority, 'exp-root', { actor: E2E_ADMIN });
    const short = await createIssuingCa(server.authority, root, 'exp-short', {
      validityMs: 20 * DAY,
      actor: E2E_ADMIN,
    });
    const mid = await createIssuingCa(server.authority, root, 'exp-mid', { validityMs: 60 * DAY, actor: E2E_ADMIN });
    const gone = await createIssuingCa(server.authority, root, 'exp-gone', { validityMs: 25 * DAY, actor: E2E_ADMIN });
    await server.authority.cas.revokeCa(gone.id, 'superseded', E2E_ADMIN);
    Object.assign(ids, { 'exp-root': root.id, 'exp-short': short.id, 'exp-mid': mid.id });
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('the dashboard lists the CA certificates soonest first, days left, the one under 30 days flagged', async () => {
    const rows = page.locator('[data-ca-expiry-row]');
    await expect.poll(() => rows.count(), POLL).toBe(3);
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-ca-expiry-row')))).toEqual([
      'exp-short',
      'exp-mid',
      'exp-root',
    ]);
    const badge = (name: string) => page.locator(`[data-ca-expiry-row="${name}"] [data-ca-expiry]`);
    expect(await badge('exp-short').getAttribute('data-ca-expiry')).toBe('warn');
    expect(await badge('exp-mid').getAttribute('data-ca-expiry')).toBe('ok');
    expect(await badge('exp-root').getAttribute('data-ca-expiry')).toBe('ok');
    for (const name of ['exp-short', 'exp-mid', 'exp-root'])
      await expectDaysLeft(await badge(name).textContent(), name);
    // the dashboard's warning counts the days as the badge does (whole days left, rounded down): one number on a page
    const warning = page.getByText(/^CA exp-short expires in \d+ days$/);
    await warning.waitFor(POLL);
    const warned = /in (\d+) days/.exec((await warning.textContent()) ?? '')![1];
    expect(await badge('exp-short').textContent()).toBe(`${warned} days left`);
    await session.shot('dashboard-ca-expiry');
    // its link opens the CA list by expiry
    await page.getByRole('link', { name: 'All CAs →' }).click();
    await page.locator('[data-ca-row="exp-short"]').waitFor(POLL);
    expect(new URL(page.url()).search).toBe('?view=expiry');
  }, 120_000);

  it('the CA page shows its days left and warns only under 30 days', async () => {
    await page.goto(`${base}/cas/${ids['exp-short']}`);
    await page.getByRole('heading', { name: 'exp-short' }).waitFor(POLL);
    const expiry = page.getByTestId('ca-expiry');
    await expectDaysLeft(await expiry.locator('[data-ca-expiry]').textContent(), 'exp-short');
    expect(await expiry.locator('[data-ca-expiry]').getAttribute('data-ca-expiry')).toBe('warn');
    const left = await daysLeft('exp-short');
    await page.getByText(new RegExp(`^The CA certificate expires in (${left}|${left - 1}) days`)).waitFor(POLL);

    await page.goto(`${base}/cas/${ids['exp-root']}`);
    await page.getByRole('heading', { name: 'exp-root' }).waitFor(POLL);
    await expectDaysLeft(await page.getByTestId('ca-expiry').locator('[data-ca-expiry]').textContent(), 'exp-root');
    expect(await page.getByText(/^The CA certificate expires in/).count()).toBe(0);
  }, 120_000);

  it("the CA list's By expiry view sorts by end; a window lists what ca.list({ expiringWithin }) answers", async () => {
    await session.nav('Authorities');
    await page.getByRole('button', { name: 'By expiry' }).click();
    const rows = page.locator('[data-ca-row]');
    const names = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-ca-row')));
    // any time: every CA, the revoked one too (its status says so), soonest end first
    await expect.poll(names, POLL).toEqual(['exp-short', 'exp-gone', 'exp-mid', 'exp-root']);
    // a window: the API's answer, sent with the duration (the revoked CA ending in 25 days left out)
    const [asked] = await Promise.all([
      page.waitForRequest((r) => r.url().includes('/ca.list?') && r.url().includes('expiringWithin'), POLL),
      page.getByLabel('Expiring within').selectOption('30d'),
    ]);
    expect(decodeURIComponent(asked.url())).toContain('"expiringWithin":"30d"');
    await expect.poll(names, POLL).toEqual(['exp-short']);
    await page.getByLabel('Expiring within').selectOption('90d');
    await expect.poll(names, POLL).toEqual(['exp-short', 'exp-mid']);
    const api = await server.authority.cas.list({ expiringWithinMs: 90 * DAY });
    expect(api.map((c) => c.name)).toEqual(['exp-short', 'exp-mid']);
    await session.shot('ca-list-by-expiry');
    // the view and window are in the address: a reload (or a link) opens them again
    expect(new URL(page.url()).search).toBe('?view=expiry&expiring=90d');
    await page.reload();
    await expect.poll(names, POLL).toEqual(['exp-short', 'exp-mid']);
    expect(await page.getByLabel('Expiring within').inputValue()).toBe('90d');
    await page.getByRole('button', { name: 'Hierarchy' }).click();
    await page.getByRole('tree', { name: 'CA hierarchy' }).waitFor(POLL);
    expect(new URL(page.url()).search).toBe('');
  }, 120_000);
});
