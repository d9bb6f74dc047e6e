// End to end: the SSH pages of the web console in Debian's Chromium against a real `pkim serve`, one file per part
// (each its own server and browser, seeded through the authority with what the earlier parts make): this one creates
// the environment and its CAs; ssh-users- (principals, users, grants, an auditor), ssh-hosts- (hosts, account
// mappings, deploy bundle, access blocks) and ssh-krl-console-e2e.test.ts (certificates and KRLs, CA rotation, fleet
// tokens). What the console does is checked through the authority and with OpenSSH's own ssh-keygen (KRLs);
// screenshots go to docs/screenshots/ssh-*.png. Shared: ./support/ssh-console.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import type { ConsoleSession } from './support/console-browser';
import { POLL, useSshConsole } from './support/ssh-console';

describe('web console SSH pages: environments and CAs (Chromium against pkim serve)', () => {
  const ssh = useSshConsole('pkim-ssh-e2e');
  const { shot, tab, dialog } = ssh;
  let server: RunningServer;
  let page: Page;
  let session: ConsoleSession;

  beforeAll(() => {
    session = ssh.session();
    ({ server, page } = session);
  });

  it('creates an environment and its user and host CAs; the trust lines carry their keys', async () => {
    await session.nav('SSH');
    await page.getByRole('heading', { name: 'SSH certificate authority' }).waitFor();
    await tab('Environments');
    await page.getByText('No environment yet').waitFor();
    await page.getByRole('button', { name: 'Create environment' }).click();
    await dialog().getByLabel('Name').fill('staging');
    await dialog().getByLabel('Description').fill('pre-production hosts');
    await dialog().getByRole('button', { name: 'Create environment' }).click();
    await page.locator('[data-ssh-environment="staging"]').waitFor();
    // a second one with the same name is refused with the stable code
    await page.getByRole('button', { name: 'Create environment' }).click();
    await dialog().getByLabel('Name').fill('staging');
    await dialog().getByRole('button', { name: 'Create environment' }).click();
    await expect.poll(() => dialog().locator('[data-error-code]').textContent(), POLL).toBe('ssh.name_taken');
    await page.keyboard.press('Escape');

    await tab('CAs');
    for (const [name, type] of [
      ['stg-users', 'user'],
      ['stg-hosts', 'host'],
    ] as const) {
      await page.getByRole('button', { name: 'Create SSH CA' }).click();
      await dialog().getByLabel('Name').fill(name);
      await dialog().getByLabel('Certificate type').selectOption(type);
      await dialog().getByLabel('Environment').fill('staging');
      await dialog().getByRole('button', { name: 'Create CA' }).click();
      await page.locator(`[data-ssh-ca="${name}"]`).waitFor();
    }
    expect((await server.authority.ssh.listCas('staging')).map((v) => [v.ca.name, v.ca.certType])).toEqual([
      ['stg-users', 'user'],
      ['stg-hosts', 'host'],
    ]);

    await tab('Environments');
    await expect.poll(() => page.getByTestId('env-user-cas-staging').textContent(), POLL).toBe('1');
    await page.locator('[data-ssh-environment="staging"]').getByRole('button', { name: 'Trust lines' }).click();
    const trust = page.getByTestId('ssh-trust');
    await trust.waitFor();
    const users = await server.authority.ssh.getCa('stg-users');
    const hosts = await server.authority.ssh.getCa('stg-hosts');
    const keyOf = (line: string) => line.split(' ').slice(0, 2).join(' ');
    expect(await trust.textContent()).toContain(keyOf(users.publicKey));
    expect(await trust.textContent()).toContain(`@cert-authority * ${keyOf(hosts.publicKey)}`);
    await shot('ssh-environment-trust');
    await page.keyboard.press('Escape');
    await shot('ssh-environments');
  }, 90_000);
});
