// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): the Notifications page adds a webhook
// rule whose secret is shown once, the job delivers signed expiry webhooks to a receiver here, the secret rotates
// with an overlap (a delivery then verifies under both keys), and the rule is disabled.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { E2E_ADMIN } from './support/console-pki';

/**
 * What a receiver does with `x-pkim-signature: t=<s>,v1=<hex>[,v1=<hex>]`: accepts the request when one `v1` is the
 * HMAC-SHA256 of `<t>.<raw body>` under its secret (several `v1` during a secret rotation's overlap).
 */
function verifiesUnder(got: { headers: Record<string, string | string[] | undefined>; body: string }, key: string) {
  const parts = String(got.headers['x-pkim-signature']).split(',');
  const t = parts.find((p) => p.startsWith('t='))?.slice(2);
  if (!t || t !== String(got.headers['x-pkim-timestamp'])) return false;
  const want = createHmac('sha256', key).update(`${t}.${got.body}`).digest('hex');
  return parts.some((p) => p === `v1=${want}`);
}

describe('web console: notifications (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let hook: Server;

  /** A TLS server certificate for `cn` from `root` expiring in `days` days (a key made here), verified by openssl. */
  async function issueExpiring(
    root: Awaited<ReturnType<RunningServer['authority']['cas']['create']>>,
    cn: string,
    days: number,
  ) {
    const issued = await server.authority.issuance.issueWithKey(
      {
        caId: root.ca.id,
        profile: 'tls-server',
        subject: { commonName: cn },
        sans: { dns: [cn] },
        keyType: 'ec-p256',
        validityMs: days * 86_400_000,
      },
      E2E_ADMIN,
    );
    const v = opensslVerify({ leafPem: issued.certificatePem, rootPem: root.certificatePem! });
    expect(v.ok, v.output).toBe(true);
    return issued;
  }

  /** One pass of the notification job: one webhook enqueued and delivered, which the receiver got; returns it. */
  async function deliversOne() {
    const before = received.length;
    expect(await server.authority.notifications.run()).toMatchObject({ enqueued: 1, delivered: 1 });
    expect(received).toHaveLength(before + 1);
    return received[before]!;
  }

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    session = await openConsole({ prefix: 'pkim-e2e-notify' });
    ({ server, page } = session);
  }, 240_000);

  afterAll(async () => {
    await session?.close();
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
  });

  it('adds a webhook rule (secret shown once); the job delivers a signed expiry webhook; the log has it', async () => {
    const a = server.authority;
    const root = await a.cas.create(
      { name: 'notify-root', subject: { commonName: 'Notify Root' }, keyType: 'ec-p256' },
      E2E_ADMIN,
    );
    const leaf = await issueExpiring(root, 'soon.example.com', 5);

    await page.goto(`${server.url}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(session.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await page.getByText('No notification rules').waitFor();
    await page.getByRole('button', { name: 'Add rule' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('tls-expiry');
    await dialog.getByLabel('Days before expiry').fill('30, 7');
    await dialog.getByLabel('Webhook URL').fill(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/pki`);
    await dialog.getByLabel('Only certificates of CA').selectOption(root.ca.id);
    await dialog.getByLabel('Only names matching').fill('*.example.com');
    await session.shot('notification-rule-form');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent())!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await session.shot('notification-secret-once');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-status="active"]').waitFor();
    expect(await page.content()).not.toContain(secret);
    await session.shot('notification-rules');

    // one pass of the leader-only job (pkim serve runs it every PKIM_JOBS_INTERVAL_MS)
    const got = await deliversOne();
    const t = String(got.headers['x-pkim-timestamp']);
    expect(got.headers['x-pkim-signature']).toBe(
      `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${got.body}`).digest('hex')}`,
    );
    expect(JSON.parse(got.body)).toMatchObject({
      event: 'certificate.expiring',
      data: { daysBefore: 7, certificate: { serial: leaf.certificate.serialHex, ca: { name: 'notify-root' } } },
    });

    await page.getByRole('tab', { name: 'Delivery log' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-status="delivered"]').waitFor();
    await session.shot('notification-deliveries');

    await page.getByRole('tab', { name: 'Rules' }).click();
    await page.locator('[data-rule="tls-expiry"]').getByRole('button', { name: 'Rotate secret' }).click();
    const rotateDialog = page.getByRole('dialog');
    await rotateDialog.getByLabel('Overlap').selectOption('24h');
    await rotateDialog.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = (await page.getByTestId('rotated-secret').textContent())!;
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated).not.toBe(secret);
    await page.getByText('Deliveries carry a signature under the old key too until').waitFor();
    await session.shot('notification-secret-rotated');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-testid="secret-overlap"]').waitFor();
    expect(await page.content()).not.toContain(rotated);

    // the next delivery, during the overlap, verifies under the new secret and under the old one
    const later = await issueExpiring(root, 'later.example.com', 6);
    const next = await deliversOne();
    expect(JSON.parse(next.body)).toMatchObject({
      data: { certificate: { serial: later.certificate.serialHex, commonName: 'later.example.com' } },
    });
    expect(verifiesUnder(next, rotated)).toBe(true);
    expect(verifiesUnder(next, secret)).toBe(true);
    expect(verifiesUnder(next, 'not-the-secret')).toBe(false);

    await page.locator('[data-rule="tls-expiry"]').getByRole('button', { name: 'Disable' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-status="disabled"]').waitFor();
    expect((await a.notifications.listRules(E2E_ADMIN))[0]?.enabled).toBe(false);
  }, 120_000);
});
