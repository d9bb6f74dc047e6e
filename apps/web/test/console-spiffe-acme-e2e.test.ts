// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): the Workload identity (SPIFFE) page and
// the ACME page, whose EAB key a real certbot registers with.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { tempDir } from '../../../tests/support/openssl-tools';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';
import { runAsync } from '../../../tests/support/acme-kit';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, E2E_ADMIN } from './support/console-pki';

describe('web console: workload identity and ACME (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  const ids: { int?: string } = {};

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-spiffe-acme' });
    ({ server, page, base } = session);
    ids.int = (await createE2eHierarchy(server.authority)).int.id;
  }, 240_000);

  afterAll(async () => session?.close());

  it('SPIFFE: initialises the trust domain, shows status and SVIDs, denies and allows an identity', async () => {
    await session.signIn('admin', session.adminPassword);
    await session.nav('Workload identity');
    await page.getByLabel('Trust domain').fill(TD);
    await page.getByRole('button', { name: 'Initialise' }).click();
    await page.getByTestId('spiffe-cas-table').waitFor();
    const admin = { id: 'usr_e2e', name: 'e2e', role: 'admin' as const };
    const token = (
      await server.authority.auth.createToken(
        { name: 'e2e-workloads', role: 'operator', scopes: ['spiffe:sign'] },
        admin,
      )
    ).token;
    const id = spiffeIdFor('node', 'worker-1');
    for (const [type, instance] of [
      ['node', 'worker-1'],
      ['orchestrator', 'api'],
      ['envoy/app', 'web'],
    ] as const)
      await server.authority.spiffe.sign(
        { csrPem: svidCsr(spiffeIdFor(type, instance)).csrPem, serviceType: type, instanceId: instance },
        { bearerToken: token },
      );
    await page.reload();
    await page.getByTestId('spiffe-cas-table').waitFor();
    await expect.poll(() => page.locator('[data-spiffe-ca="services"]').textContent()).toContain('2');
    await session.shot('spiffe-status');

    await page.getByRole('tab', { name: 'SVIDs' }).click();
    await page.getByTestId('spiffe-svids-table').waitFor();
    expect(await page.getByTestId('spiffe-svids-table').textContent()).toContain(id);

    await page.getByRole('tab', { name: 'Deny list' }).click();
    await page.getByLabel('SPIFFE ID').fill(id);
    await page.getByLabel('Reason').fill('host decommissioned');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.locator(`[data-denied="${id}"]`).waitFor();
    await page.getByText('1 SVID(s) stay valid until they expire').waitFor();
    await session.shot('spiffe-deny-list');
    const refused = await server.authority.spiffe
      .sign({ csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'worker-1' }, { bearerToken: token })
      .then(
        () => 'issued',
        (e: unknown) => (e as { code?: string }).code,
      );
    expect(refused).toBe('spiffe.identity_denied');

    await page.locator(`[data-denied="${id}"]`).getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Nobody is denied').waitFor();
    expect(await server.authority.spiffe.listDenied(admin)).toEqual([]);
  }, 90_000);

  it('ACME: enables a directory, creates an EAB key shown once; certbot registers with it; revokes it', async () => {
    const certbotDir = tempDir('pkim-e2e-certbot-');
    try {
      await session.signIn('admin', session.adminPassword);
      await session.nav('ACME');
      await page.getByRole('heading', { name: 'ACME', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Enable ACME' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Issuing CA').selectOption(ids.int!);
      await dialog.getByLabel('Allowed DNS names').fill('*.example.com');
      await dialog.getByRole('button', { name: 'Enable ACME' }).click();
      await page.locator('[data-acme-directory="e2e-issuing"]').waitFor();
      expect((await server.authority.acme.listDirectories(E2E_ADMIN)).map((d) => [d.caId, d.requireEab])).toEqual([
        [ids.int, true],
      ]);
      await session.shot('acme-directories');

      await page.getByRole('tab', { name: 'EAB keys' }).click();
      await page.getByRole('button', { name: 'Create EAB key' }).click();
      await page.getByRole('button', { name: 'Create key' }).click();
      const kid = (await page.getByTestId('eab-kid').textContent())!;
      const hmacKey = (await page.getByTestId('eab-hmac-key').textContent())!;
      expect(kid).toMatch(/^eab_/);
      await session.shot('acme-eab-key-created');
      await page.getByRole('button', { name: 'Done' }).click();
      await page.locator(`[data-eab-kid="${kid}"]`).waitFor();
      expect(await page.content()).not.toContain(hmacKey);

      // a real ACME client registers with the key the console created
      const r = await runAsync('certbot', [
        'register',
        '--server',
        `${base}/acme/${ids.int}/directory`,
        '--eab-kid',
        kid,
        '--eab-hmac-key',
        hmacKey,
        '-m',
        'ops@example.com',
        '--agree-tos',
        '--non-interactive',
        '--config-dir',
        join(certbotDir.dir, 'config'),
        '--work-dir',
        join(certbotDir.dir, 'work'),
        '--logs-dir',
        join(certbotDir.dir, 'logs'),
      ]);
      expect(r.code, r.output).toBe(0);
      const [account] = await server.authority.acme.listAccounts(ids.int, E2E_ADMIN);
      expect(account).toMatchObject({ eabKeyId: kid, status: 'valid', contact: ['mailto:ops@example.com'] });

      await page.getByRole('tab', { name: 'Accounts' }).click();
      await page.locator(`[data-acme-account="${account!.id}"] [data-status="valid"]`).waitFor();
      await session.shot('acme-accounts');
      await page.getByRole('tab', { name: 'Activity' }).click();
      await page.locator('[data-action="acme.account_created"]').first().waitFor();
      await session.shot('acme-activity');

      await page.getByRole('tab', { name: 'EAB keys' }).click();
      const row = page.locator(`[data-eab-kid="${kid}"]`);
      await row.locator('[data-status="used"]').waitFor();
      await row.getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('button', { name: 'Revoke key' }).click();
      await page.getByText(`The account it bound (${account!.id}) is deactivated.`).waitFor();
      expect((await server.authority.acme.listAccounts(ids.int, E2E_ADMIN))[0]?.status).toBe('deactivated');
      expect(await server.authority.acme.listEabKeys(ids.int, E2E_ADMIN)).toEqual([]);
    } finally {
      certbotDir.cleanup();
    }
  }, 120_000);
});
