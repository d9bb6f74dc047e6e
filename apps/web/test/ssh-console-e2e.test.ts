// End to end: the SSH pages of the web console in Debian's Chromium against a real `pkim serve`, one file per part
// (each its own server and browser, seeded through the authority with what the earlier parts make): this one creates
// the environment and its CAs; ssh-users- (principals, users, grants, an auditor), ssh-hosts- (hosts, account
// mappings, deploy bundle, access blocks) and ssh-krl-console-e2e.test.ts (certificates and KRLs, CA rotation, fleet
// tokens). What the console does is checked through the authority and with OpenSSH's own ssh-keygen (KRLs);
// screenshots go to docs/screenshots/ssh-*.png. Shared: ./support/ssh-console.ts.
import { describe, expect, it } from 'vitest';
import { POLL, useSshConsole } from './support/ssh-console';

describe('web console SSH pages: environments and CAs (Chromium against pkim serve)', () => {
  const e2e = useSshConsole('pkim-ssh-e2e');
  const { shot, tab, dialog } = e2e;

  it('creates an environment and its user and host CAs; the trust lines carry their keys', async () => {
    await e2e.session.nav('SSH');
    await e2e.page.getByRole('heading', { name: 'SSH certificate authority' }).waitFor();
    await tab('Environments');
    await e2e.page.getByText('No environment yet').waitFor();
    await e2e.page.getByRole('button', { name: 'Create environment' }).click();
    await dialog().getByLabel('Name').fill('staging');
    await dialog().getByLabel('Description').fill('pre-production hosts');
    await dialog().getByRole('button', { name: 'Create environment' }).click();
    await e2e.page.locator('[data-ssh-environment="staging"]').waitFor();
    // a second one with the same name is refused with the stable code
    await e2e.page.getByRole('button', { name: 'Create environment' }).click();
    await dialog().getByLabel('Name').fill('staging');
    await dialog().getByRole('button', { name: 'Create environment' }).click();
    await expect.poll(() => dialog().locator('[data-error-code]').textContent(), POLL).toBe('ssh.name_taken');
    await e2e.page.keyboard.press('Escape');

    await tab('CAs');
    for (const [name, type] of [
      ['stg-users', 'user'],
      ['stg-hosts', 'host'],
    ] as const) {
      await e2e.page.getByRole('button', { name: 'Create SSH CA' }).click();
      await dialog().getByLabel('Name').fill(name);
      await dialog().getByLabel('Certificate type').selectOption(type);
      await dialog().getByLabel('Environment').fill('staging');
      await dialog().getByRole('button', { name: 'Create CA' }).click();
      await e2e.page.locator(`[data-ssh-ca="${name}"]`).waitFor();
    }
    expect((await e2e.server.authority.ssh.listCas('staging')).map((v) => [v.ca.name, v.ca.certType])).toEqual([
      ['stg-users', 'user'],
      ['stg-hosts', 'host'],
    ]);

    await tab('Environments');
    await expect.poll(() => e2e.page.getByTestId('env-user-cas-staging').textContent(), POLL).toBe('1');
    await e2e.page.locator('[data-ssh-environment="staging"]').getByRole('button', { name: 'Trust lines' }).click();
    const trust = e2e.page.getByTestId('ssh-trust');
    await trust.waitFor();
    const users = await e2e.server.authority.ssh.getCa('stg-users');
    const hosts = await e2e.server.authority.ssh.getCa('stg-hosts');
    const keyOf = (line: string) => line.split(' ').slice(0, 2).join(' ');
    expect(await trust.textContent()).toContain(keyOf(users.publicKey));
    expect(await trust.textContent()).toContain(`@cert-authority * ${keyOf(hosts.publicKey)}`);
    await shot('ssh-environment-trust');
    await e2e.page.keyboard.press('Escape');
    await shot('ssh-environments');
  }, 90_000);
});
