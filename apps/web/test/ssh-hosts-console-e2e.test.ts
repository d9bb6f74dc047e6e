// End to end in Chromium against `pkim serve` (see ssh-console-e2e.test.ts): a host registered with an account
// mapping and its deploy bundle; a block refusing issuance and putting the user's certificate into the host KRL
// (ssh-keygen -Q) until it is lifted.
import { describe, expect, it } from 'vitest';
import { krlRevokes } from '../../../tests/support/openssh';
import { HOST, seedRegistry, useSshConsole } from './support/ssh-console';

describe('web console SSH pages: hosts and access blocks (Chromium against pkim serve)', () => {
  const e2e = useSshConsole('pkim-ssh-e2e-hosts', seedRegistry);
  const { shot, tab, dialog, failure, signUser } = e2e;

  it('registers a host, maps a principal to a local account and shows the deploy bundle', async () => {
    await tab('Hosts');
    await e2e.page.getByRole('button', { name: 'Add host' }).click();
    await dialog().getByLabel('Host name').fill(HOST);
    await dialog().getByLabel('Environment').selectOption('staging');
    await dialog().getByLabel('Certificate names').fill(`${HOST}, 10.0.0.5`);
    await dialog().getByRole('button', { name: 'Add host' }).click();
    const row = e2e.page.locator(`[data-ssh-host="${HOST}"]`);
    await row.waitFor();
    expect((await e2e.server.authority.ssh.listHosts('staging')).map((h) => h.principals)).toEqual([
      [HOST, '10.0.0.5'],
    ]);

    await row.getByRole('button', { name: 'Accounts' }).click();
    await dialog().getByText('No account mapping').waitFor();
    await dialog().getByLabel('Principal').selectOption('deploy');
    await dialog().getByLabel('Local account').fill('app');
    await dialog().getByRole('button', { name: 'Map', exact: true }).click();
    await dialog().locator('[data-ssh-mapping="deploy:app"]').waitFor();
    await dialog().getByText('principals/app').waitFor();
    await shot('ssh-host-accounts');
    expect(await e2e.server.authority.ssh.principalsFiles('staging', HOST)).toEqual({ app: 'deploy\n' });
    await e2e.page.keyboard.press('Escape');

    await row.getByRole('button', { name: 'Deploy bundle' }).click();
    const bundle = e2e.page.getByTestId('ssh-bundle');
    await bundle.waitFor();
    const text = (await bundle.textContent())!;
    expect(text).toContain('sshd_config.d/pkim.conf');
    expect(text).toContain('TrustedUserCAKeys');
    expect(text).toContain('principals/app');
    const users = await e2e.server.authority.ssh.getCa('stg-users');
    expect(text).toContain(users.publicKey.split(' ')[1]);
    // long lines (known_hosts, the CA keys) scroll inside their block: every file's buttons stay inside the dialog
    const dialogBox = (await dialog().boundingBox())!;
    const buttons = bundle.getByRole('button');
    expect(await buttons.count()).toBeGreaterThan(4);
    for (const b of await buttons.all()) {
      const box = (await b.boundingBox())!;
      expect(box.x + box.width, (await b.textContent()) ?? undefined).toBeLessThanOrEqual(
        dialogBox.x + dialogBox.width,
      );
    }
    await shot('ssh-host-bundle');
    await e2e.page.keyboard.press('Escape');
    await shot('ssh-hosts');
  }, 60_000);

  it('blocks a user on a host: issuance refused, their certificate in the host KRL; unblock lifts both', async () => {
    const before = await signUser('alice', ['deploy'], HOST);
    const hostKrl = async () => (await e2e.server.authority.ssh.hostKrl('staging', HOST)).krl;
    expect(krlRevokes(await hostKrl(), before.line)).toBe(false);

    await tab('Users');
    await e2e.page.locator('[data-ssh-user="alice"]').getByRole('button', { name: 'Block' }).click();
    await dialog().getByLabel('Environment').selectOption('staging');
    await dialog().getByLabel('Host').selectOption(HOST);
    await dialog().getByLabel('Reason').fill('left the project');
    await dialog().getByRole('button', { name: 'Block', exact: true }).click();
    await e2e.page.locator('[data-ssh-user="alice"] [data-blocks="1"]').waitFor();

    await tab('Access blocks');
    const block = e2e.page.locator(`[data-ssh-block="alice@${HOST}"]`);
    await block.waitFor();
    expect(await block.textContent()).toContain('left the project');
    await shot('ssh-blocks');
    expect(await failure(signUser('alice', ['deploy'], HOST))).toBe('ssh.blocked');
    // ssh-keygen -Q: the host's KRL now lists alice's unexpired certificate
    expect(krlRevokes(await hostKrl(), before.line)).toBe(true);

    await block.getByRole('button', { name: 'Unblock' }).click();
    await e2e.page.getByRole('alertdialog').getByRole('button', { name: 'Unblock' }).click();
    await e2e.page.getByText('Nobody is blocked').waitFor();
    expect(krlRevokes(await hostKrl(), before.line)).toBe(false);
    expect((await signUser('alice', ['deploy'], HOST)).certificate.principals).toEqual(['deploy']);
  }, 60_000);
});
