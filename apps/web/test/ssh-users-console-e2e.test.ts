// End to end in Chromium against `pkim serve` (see ssh-console-e2e.test.ts): principals, users and grants made in the
// console are what issuance enforces; an auditor reads the SSH pages without manage buttons and the API refuses anyway.
import { describe, expect, it } from 'vitest';
import type { BrowserGlobals } from './support/console-browser';
import { ADMIN, AUDITOR_PASSWORD, HOST, POLL, seedEnvironment, seedHost, useSshConsole } from './support/ssh-console';

describe('web console SSH pages: principals, users and an auditor (Chromium against pkim serve)', () => {
  const e2e = useSshConsole('pkim-ssh-e2e-users', async (a) => {
    await seedEnvironment(a);
    await seedHost(a);
  });
  const { shot, tab, dialog, failure, signUser } = e2e;

  it('adds principals and users, grants principals; issuance enforces the grants', async () => {
    await tab('Principals');
    for (const name of ['deploy', 'dba']) {
      await e2e.page.getByRole('button', { name: 'Add principal' }).click();
      await dialog().getByLabel('Principal').fill(name);
      await dialog().getByLabel('Description').fill(`${name} logins`);
      await dialog().getByRole('button', { name: 'Add principal' }).click();
      await e2e.page.locator(`[data-ssh-principal="${name}"]`).waitFor();
    }

    await tab('Users');
    for (const name of ['alice', 'bob']) {
      await e2e.page.getByRole('button', { name: 'Add user' }).click();
      await dialog().getByLabel('User name').fill(name);
      await dialog().getByRole('button', { name: 'Add user' }).click();
      await e2e.page.locator(`[data-ssh-user="${name}"]`).waitFor();
    }
    for (const [user, principal] of [
      ['alice', 'deploy'],
      ['bob', 'deploy'],
      ['bob', 'dba'],
    ]) {
      await e2e.page.locator(`[data-ssh-user="${user}"]`).getByRole('button', { name: 'Grant' }).click();
      await dialog().getByLabel('Principal').selectOption(principal!);
      await dialog().getByRole('button', { name: 'Grant' }).click();
      await e2e.page.locator(`[data-ssh-user="${user}"] [data-grant="${principal}"]`).waitFor();
    }
    await shot('ssh-users');
    expect((await e2e.server.authority.ssh.listUsers()).map((u) => [u.name, u.principals.sort()])).toEqual([
      ['alice', ['deploy']],
      ['bob', ['dba', 'deploy']],
    ]);
    // the registry the console wrote is what issuance enforces
    expect(await failure(signUser('alice', ['dba']))).toBe('ssh.principal_not_allowed');
    expect((await signUser('alice', ['deploy'])).certificate.principals).toEqual(['deploy']);

    // ungrant from the badge; disable a user
    await e2e.page.getByRole('button', { name: 'Revoke dba from bob' }).click();
    await expect.poll(() => e2e.page.locator('[data-ssh-user="bob"] [data-grant="dba"]').count(), POLL).toBe(0);
    await e2e.page.locator('[data-ssh-user="bob"]').getByRole('button', { name: 'Disable' }).click();
    await e2e.page.locator('[data-ssh-user="bob"] [data-status="disabled"]').waitFor();
    expect(await failure(signUser('bob', ['deploy']))).toBe('ssh.user_disabled');

    await tab('Principals');
    await expect
      .poll(() => e2e.page.locator('[data-ssh-principal="deploy"]').textContent(), POLL)
      .toContain('alice, bob');
    await shot('ssh-principals');
  }, 90_000);

  it('an auditor reads the SSH pages without manage buttons, and the API refuses a block anyway', async () => {
    await e2e.server.authority.auth.createUser(
      { username: 'audrey', password: AUDITOR_PASSWORD, role: 'auditor' },
      ADMIN,
    );
    await e2e.session.signIn('audrey', AUDITOR_PASSWORD);
    expect(await e2e.page.getByRole('link', { name: 'Workload identity' }).count()).toBe(0);
    await e2e.session.nav('SSH');
    await tab('Users');
    await e2e.page.locator('[data-ssh-user="alice"]').waitFor();
    for (const name of ['Add user', 'Grant', 'Block', 'Disable'])
      expect(await e2e.page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    await tab('Hosts');
    await e2e.page.locator(`[data-ssh-host="${HOST}"]`).waitFor();
    expect(await e2e.page.getByRole('button', { name: 'Add host' }).count()).toBe(0);
    await tab('Certificates');
    await e2e.page.getByTestId('ssh-certificates-table').waitFor();
    expect(await e2e.page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    const refused = await e2e.page.evaluate(async () => {
      const r = await fetch('/trpc/ssh.block', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-csrf-token': (globalThis as unknown as BrowserGlobals).localStorage.getItem('pkim-csrf') ?? '',
        },
        body: JSON.stringify({ user: 'alice' }),
      });
      return { status: r.status, body: (await r.json()) as { error: { data: { pkiCode: string } } } };
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.data.pkiCode).toBe('auth.forbidden');
    expect(await e2e.server.authority.ssh.listBlocks()).toEqual([]);
  }, 60_000);
});
