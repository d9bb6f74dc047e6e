// End to end in Chromium against `pkim serve`: each CA's expiry in the console. A root (default validity) with two
// intermediates that end in 20 and 60 days (made through the authority, openssl verifies each chain): the dashboard
// lists the CA certificates soonest first with the days left, flagging the one under CA_EXPIRY_WARN_DAYS; the CA page
// shows the days left and warns for that one only; the CA list's "By expiry" view sorts by end and filters by days
// left.
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
    await session.shot('dashboard-ca-expiry');
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

  it("the CA list's By expiry view sorts by end and filters by days left", async () => {
    await session.nav('Authorities');
    await page.getByRole('button', { name: 'By expiry' }).click();
    const rows = page.locator('[data-ca-row]');
    const names = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-ca-row')));
    await expect.poll(names, POLL).toEqual(['exp-short', 'exp-mid', 'exp-root']);
    await page.getByLabel('Expiring within').selectOption('30');
    await expect.poll(names, POLL).toEqual(['exp-short']);
    await page.getByLabel('Expiring within').selectOption('90');
    await expect.poll(names, POLL).toEqual(['exp-short', 'exp-mid']);
    await session.shot('ca-list-by-expiry');
    await page.getByRole('button', { name: 'Hierarchy' }).click();
    await page.getByRole('tree', { name: 'CA hierarchy' }).waitFor(POLL);
  }, 120_000);
});
