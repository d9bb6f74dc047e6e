// End to end in Chromium against `pkim serve`: a CA's renewal and key rotation from its page (ca.renew, ca.rotate).
// An intermediate renewed in the console shows its new certificate's serial and dates, and openssl verifies a leaf it
// issued before the renewal with the new CA certificate; a root rotated to a P-384 key links its successor and offers
// the cross certificate for download, and openssl verifies a leaf issued under the successor through that cross
// certificate with only the old root trusted. An operator (no ca:write) sees neither action; a disabled CA shows both
// disabled with the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { createIssuingCa, createRootCa, type TestCa } from '../../../tests/support/ca-kit';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, readDownload, type ConsoleSession } from './support/console-browser';
import { createUsers, E2E_ADMIN, PASSWORD } from './support/console-pki';

const POLL = { timeout: 15_000 };
const DAY = 86_400_000;

describe('web console: CA renewal and key rotation (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let root: TestCa;
  let int: TestCa;
  const dialog = () => page.getByRole('dialog');
  const leafOf = async (caId: string, cn: string) =>
    (
      await server.authority.issuance.issueWithKey(
        { caId, profile: 'tls-server', subject: { commonName: cn }, sans: { dns: [cn] }, keyType: 'ec-p256' },
        E2E_ADMIN,
      )
    ).certificatePem;

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-ca-lifecycle' });
    ({ server, page, base } = session);
    root = await createRootCa(server.authority, 'lc-root', { actor: E2E_ADMIN });
    int = await createIssuingCa(server.authority, root, 'lc-int', { pathLen: 0, actor: E2E_ADMIN });
    await createUsers(server.authority, [['olga', 'operator']]);
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('renews an intermediate: new dates shown; a leaf from before verifies under the new certificate', async () => {
    const before = await leafOf(int.id, 'before.example.com');
    const old = (await server.authority.cas.get(int.id)).ca;
    await page.goto(`${base}/cas/${int.id}`);
    await page.getByRole('heading', { name: 'lc-int' }).waitFor(POLL);
    await page.getByRole('button', { name: 'Renew certificate' }).click();
    await dialog().getByLabel('Validity (days)').fill('100');
    await dialog().getByRole('button', { name: 'Renew certificate' }).click();
    const shown = page.getByTestId('ca-renewed');
    await shown.waitFor(POLL);
    await session.shot('ca-renewed');

    const now = await server.authority.cas.get(int.id);
    expect(now.ca.serialHex).not.toBe(old.serialHex);
    expect(now.ca.skiHex).toBe(old.skiHex);
    expect(now.ca.notAfter! - now.ca.notBefore!).toBeGreaterThanOrEqual(100 * DAY - 10 * 60_000);
    const text = (await shown.textContent()) ?? '';
    expect(text).toContain(now.ca.serialHex!.toLowerCase());
    expect(text).toContain(new Date(now.ca.notAfter!).toISOString().replace('T', ' ').slice(0, 19));
    expect(text).toContain(new Date(now.ca.notBefore!).toISOString().replace('T', ' ').slice(0, 19));
    const renewedPem = now.certificatePem!;
    expect(renewedPem).not.toBe(int.pem);
    expect((await shown.locator('pre').textContent())?.trim()).toBe(renewedPem.trim());
    const v = opensslVerify({ leafPem: before, chainPems: [renewedPem], rootPem: root.pem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    await dialog().getByRole('button', { name: 'Done' }).click();
  }, 120_000);

  it('rotates a root: successor linked, cross certificate downloaded; openssl verifies through it', async () => {
    await page.goto(`${base}/cas/${root.id}`);
    await page.getByRole('heading', { name: 'lc-root' }).waitFor(POLL);
    await page.getByRole('button', { name: 'Rotate key' }).click();
    await expect.poll(() => dialog().getByLabel("Successor's name").inputValue(), POLL).toBe('lc-root-2');
    await dialog().getByLabel('Key type').selectOption('ec-p384');
    await dialog().getByRole('button', { name: 'Rotate key' }).click();
    const shown = page.getByTestId('ca-rotated');
    await shown.waitFor(POLL);
    await shown.getByText('lc-root-2 succeeds lc-root').waitFor(POLL);
    await session.shot('ca-rotated');
    const [d] = await Promise.all([
      page.waitForEvent('download'),
      shown.getByRole('button', { name: 'lc-root-2-cross.crt' }).click(),
    ]);
    const cross = (await readDownload(d)).toString('utf8');
    expect(cross).toMatch(/^-----BEGIN CERTIFICATE-----/);

    await shown.getByRole('link', { name: 'lc-root-2' }).click();
    await page.getByRole('heading', { name: 'lc-root-2' }).waitFor(POLL);
    await page.getByTestId('ca-predecessor').getByText(root.id).waitFor(POLL);
    const successor = await server.authority.cas.get('lc-root-2');
    expect(successor.ca.keyType).toBe('ec-p384');
    expect(successor.ca.predecessorId).toBe(root.id);

    // a leaf under the successor: with only the old root trusted, through the cross certificate
    const next = { id: successor.ca.id, name: 'lc-root-2', pem: successor.certificatePem!, view: successor };
    const int2 = await createIssuingCa(server.authority, next, 'lc-int-2', { pathLen: 0, actor: E2E_ADMIN });
    const after = await leafOf(int2.id, 'after.example.com');
    const viaCross = opensslVerify({ leafPem: after, chainPems: [int2.pem, cross], rootPem: root.pem });
    expect(viaCross.ok, viaCross.output).toBe(true);
    const without = opensslVerify({ leafPem: after, chainPems: [int2.pem], rootPem: root.pem });
    expect(without.ok, 'not without the cross certificate').toBe(false);
  }, 120_000);

  it('a disabled CA shows both actions disabled with the reason; an operator sees neither', async () => {
    await server.authority.cas.setStatus(int.id, 'disabled', E2E_ADMIN);
    await page.goto(`${base}/cas/${int.id}`);
    await page.getByRole('heading', { name: 'lc-int' }).waitFor(POLL);
    await page.getByTestId('ca-lifecycle-blocked').getByText('The CA is disabled: enable it first.').waitFor(POLL);
    expect(await page.getByRole('button', { name: 'Renew certificate' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Rotate key' }).isDisabled()).toBe(true);
    await server.authority.cas.setStatus(int.id, 'active', E2E_ADMIN);

    await session.signIn('olga', PASSWORD);
    await page.goto(`${base}/cas/${int.id}`);
    await page.getByRole('heading', { name: 'lc-int' }).waitFor(POLL);
    await page.getByText('CRL number').waitFor(POLL);
    expect(await page.getByRole('button', { name: 'Renew certificate' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Rotate key' }).count()).toBe(0);
  }, 120_000);
});
