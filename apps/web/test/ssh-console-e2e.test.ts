// End to end: the SSH pages of the web console (environments, CAs and rotation, principals, users and grants, hosts
// and account mappings, deploy bundle, access blocks, certificates and KRLs, fleet tokens) in Debian's Chromium
// against a real `pkim serve`. What the console does is checked through the authority and with OpenSSH's own
// ssh-keygen (KRLs); screenshots go to docs/screenshots/ssh-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { generateSshKey, krlRevokes, makeTempDir } from '../../../tests/support/openssh';
import { openConsole, type BrowserGlobals, type ConsoleSession } from './support/console-browser';

const ADMIN = { id: 'usr_ssh_e2e', name: 'ssh-e2e', role: 'admin' as const };
const AUDITOR_PASSWORD = 'auditor-password-4242';
const HOST = 'web1.example.com';
/** the machine is shared: give the console time to re-render after a mutation */
const POLL = { timeout: 15_000 };

describe('web console SSH pages end to end (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  const keys = makeTempDir('pkim-e2e-ssh-keys-');
  const shot = (name: string) => session.shot(name);
  /** opens a tab of the SSH page by its label */
  const tab = (name: string) => page.getByRole('tab', { name, exact: true }).click();
  const dialog = () => page.getByRole('dialog');
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => 'issued',
      (e: unknown) => (e as { code?: string }).code,
    );
  const signUser = (user: string, principals: string[], host?: string) =>
    server.authority.ssh.sign(
      {
        ca: 'stg-users',
        type: 'user',
        publicKey: generateSshKey(keys.dir, `${user}-${Date.now()}`).pub,
        user,
        principals,
        host,
      },
      ADMIN,
    );

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-ssh-e2e' });
    ({ server, page } = session);
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => {
    await session?.close();
    keys.cleanup();
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

  it('adds principals and users, grants principals; issuance enforces the grants', async () => {
    await tab('Principals');
    for (const name of ['deploy', 'dba']) {
      await page.getByRole('button', { name: 'Add principal' }).click();
      await dialog().getByLabel('Principal').fill(name);
      await dialog().getByLabel('Description').fill(`${name} logins`);
      await dialog().getByRole('button', { name: 'Add principal' }).click();
      await page.locator(`[data-ssh-principal="${name}"]`).waitFor();
    }

    await tab('Users');
    for (const name of ['alice', 'bob']) {
      await page.getByRole('button', { name: 'Add user' }).click();
      await dialog().getByLabel('User name').fill(name);
      await dialog().getByRole('button', { name: 'Add user' }).click();
      await page.locator(`[data-ssh-user="${name}"]`).waitFor();
    }
    for (const [user, principal] of [
      ['alice', 'deploy'],
      ['bob', 'deploy'],
      ['bob', 'dba'],
    ]) {
      await page.locator(`[data-ssh-user="${user}"]`).getByRole('button', { name: 'Grant' }).click();
      await dialog().getByLabel('Principal').selectOption(principal!);
      await dialog().getByRole('button', { name: 'Grant' }).click();
      await page.locator(`[data-ssh-user="${user}"] [data-grant="${principal}"]`).waitFor();
    }
    await shot('ssh-users');
    expect((await server.authority.ssh.listUsers()).map((u) => [u.name, u.principals.sort()])).toEqual([
      ['alice', ['deploy']],
      ['bob', ['dba', 'deploy']],
    ]);
    // the registry the console wrote is what issuance enforces
    expect(await failure(signUser('alice', ['dba']))).toBe('ssh.principal_not_allowed');
    expect((await signUser('alice', ['deploy'])).certificate.principals).toEqual(['deploy']);

    // ungrant from the badge; disable a user
    await page.getByRole('button', { name: 'Revoke dba from bob' }).click();
    await expect.poll(() => page.locator('[data-ssh-user="bob"] [data-grant="dba"]').count(), POLL).toBe(0);
    await page.locator('[data-ssh-user="bob"]').getByRole('button', { name: 'Disable' }).click();
    await page.locator('[data-ssh-user="bob"] [data-status="disabled"]').waitFor();
    expect(await failure(signUser('bob', ['deploy']))).toBe('ssh.user_disabled');

    await tab('Principals');
    await expect.poll(() => page.locator('[data-ssh-principal="deploy"]').textContent(), POLL).toContain('alice, bob');
    await shot('ssh-principals');
  }, 90_000);

  it('registers a host, maps a principal to a local account and shows the deploy bundle', async () => {
    await tab('Hosts');
    await page.getByRole('button', { name: 'Add host' }).click();
    await dialog().getByLabel('Host name').fill(HOST);
    await dialog().getByLabel('Environment').selectOption('staging');
    await dialog().getByLabel('Certificate names').fill(`${HOST}, 10.0.0.5`);
    await dialog().getByRole('button', { name: 'Add host' }).click();
    const row = page.locator(`[data-ssh-host="${HOST}"]`);
    await row.waitFor();
    expect((await server.authority.ssh.listHosts('staging')).map((h) => h.principals)).toEqual([[HOST, '10.0.0.5']]);

    await row.getByRole('button', { name: 'Accounts' }).click();
    await dialog().getByText('No account mapping').waitFor();
    await dialog().getByLabel('Principal').selectOption('deploy');
    await dialog().getByLabel('Local account').fill('app');
    await dialog().getByRole('button', { name: 'Map', exact: true }).click();
    await dialog().locator('[data-ssh-mapping="deploy:app"]').waitFor();
    await dialog().getByText('principals/app').waitFor();
    await shot('ssh-host-accounts');
    expect(await server.authority.ssh.principalsFiles('staging', HOST)).toEqual({ app: 'deploy\n' });
    await page.keyboard.press('Escape');

    await row.getByRole('button', { name: 'Deploy bundle' }).click();
    const bundle = page.getByTestId('ssh-bundle');
    await bundle.waitFor();
    const text = (await bundle.textContent())!;
    expect(text).toContain('sshd_config.d/pkim.conf');
    expect(text).toContain('TrustedUserCAKeys');
    expect(text).toContain('principals/app');
    const users = await server.authority.ssh.getCa('stg-users');
    expect(text).toContain(users.publicKey.split(' ')[1]);
    await shot('ssh-host-bundle');
    await page.keyboard.press('Escape');
    await shot('ssh-hosts');
  }, 60_000);

  it('blocks a user on a host: issuance refused, their certificate in the host KRL; unblock lifts both', async () => {
    const before = await signUser('alice', ['deploy'], HOST);
    const hostKrl = async () => (await server.authority.ssh.hostKrl('staging', HOST)).krl;
    expect(krlRevokes(await hostKrl(), before.line)).toBe(false);

    await tab('Users');
    await page.locator('[data-ssh-user="alice"]').getByRole('button', { name: 'Block' }).click();
    await dialog().getByLabel('Environment').selectOption('staging');
    await dialog().getByLabel('Host').selectOption(HOST);
    await dialog().getByLabel('Reason').fill('left the project');
    await dialog().getByRole('button', { name: 'Block', exact: true }).click();
    await page.locator('[data-ssh-user="alice"] [data-blocks="1"]').waitFor();

    await tab('Access blocks');
    const block = page.locator(`[data-ssh-block="alice@${HOST}"]`);
    await block.waitFor();
    expect(await block.textContent()).toContain('left the project');
    await shot('ssh-blocks');
    expect(await failure(signUser('alice', ['deploy'], HOST))).toBe('ssh.blocked');
    // ssh-keygen -Q: the host's KRL now lists alice's unexpired certificate
    expect(krlRevokes(await hostKrl(), before.line)).toBe(true);

    await block.getByRole('button', { name: 'Unblock' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Unblock' }).click();
    await page.getByText('Nobody is blocked').waitFor();
    expect(krlRevokes(await hostKrl(), before.line)).toBe(false);
    expect((await signUser('alice', ['deploy'], HOST)).certificate.principals).toEqual(['deploy']);
  }, 60_000);

  it('revokes a certificate into the CA KRL (ssh-keygen -Q) and shows the KRL version', async () => {
    const victim = await signUser('alice', ['deploy']);
    await tab('Certificates');
    const row = page.locator(`[data-ssh-serial="${victim.certificate.serial}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByLabel('Reason (optional)').fill('laptop stolen');
    await shot('ssh-revoke-confirmation');
    await page.getByRole('button', { name: 'Revoke certificate' }).click();
    await page.getByText(`Revoked serial ${victim.certificate.serial}`).waitFor();
    await row.locator('[data-status="revoked"]').waitFor();
    await shot('ssh-certificates');
    const krl = await server.authority.ssh.caKrl('stg-users');
    expect(krlRevokes(krl.krl, victim.line)).toBe(true);

    await tab('KRL');
    await expect.poll(() => page.getByTestId('krl-version-stg-users').textContent(), POLL).toBe(String(krl.version));
    await shot('ssh-krl');
    // the link serves the same KRL the hosts poll
    const fetched = await page.evaluate(async () => {
      const r = await fetch('/ssh/krl/ca/stg-users');
      return { status: r.status, version: r.headers.get('x-krl-version') };
    });
    expect(fetched).toEqual({ status: 200, version: String(krl.version) });
  }, 60_000);

  it('rotates the user CA: both keys are trusted during the overlap, the new one signs', async () => {
    const old = await server.authority.ssh.getCa('stg-users');
    await tab('CAs');
    await page.locator('[data-ssh-ca="stg-users"]').getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Rotate CA' }).click();
    await page.getByText(/is the active user CA/).waitFor();
    await page.locator('[data-ssh-ca="stg-users"] [data-status="rotating"]').waitFor();
    await shot('ssh-cas');
    const cas = (await server.authority.ssh.listCas('staging')).filter((v) => v.ca.certType === 'user');
    const active = cas.find((v) => v.ca.status === 'active')!;
    expect(active.ca.name).not.toBe('stg-users');
    const trust = await server.authority.ssh.trust('staging');
    expect(trust.userCaKeys).toContain(old.publicKey.split(' ')[1]);
    expect(trust.userCaKeys).toContain(active.publicKey.split(' ')[1]);
    expect(await failure(signUser('alice', ['deploy']))).toBe('ssh.ca_not_active');
  }, 60_000);

  it('creates a fleet token shown once; a host bootstraps its certificate with it', async () => {
    await tab('Fleet tokens');
    await page.getByRole('button', { name: 'Create fleet token' }).click();
    await dialog().getByLabel('Name').fill('stg-bootstrap');
    await dialog().getByLabel('Environment').selectOption('staging');
    await dialog().getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('fleet-token-secret').textContent())!;
    expect(secret).toMatch(/^pkimf_/);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('[data-fleet-token="stg-bootstrap"]').waitFor();
    expect(await page.content()).not.toContain(secret);
    await shot('ssh-fleet-tokens');
    const issued = await server.authority.ssh.fleetSign(secret, {
      type: 'host',
      host: 'db1.example.com',
      publicKey: generateSshKey(keys.dir, 'db1-host').pub,
    });
    expect(issued.certificate.principals).toEqual(['db1.example.com']);
    expect(issued.certificate.certType).toBe('host');
  }, 60_000);

  it('an auditor reads the SSH pages without manage buttons, and the API refuses a block anyway', async () => {
    await server.authority.auth.createUser({ username: 'audrey', password: AUDITOR_PASSWORD, role: 'auditor' }, ADMIN);
    await session.signIn('audrey', AUDITOR_PASSWORD);
    expect(await page.getByRole('link', { name: 'Workload identity' }).count()).toBe(0);
    await session.nav('SSH');
    await tab('Users');
    await page.locator('[data-ssh-user="alice"]').waitFor();
    for (const name of ['Add user', 'Grant', 'Block', 'Disable'])
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    await tab('Hosts');
    await page.locator(`[data-ssh-host="${HOST}"]`).waitFor();
    expect(await page.getByRole('button', { name: 'Add host' }).count()).toBe(0);
    await tab('Certificates');
    await page.getByTestId('ssh-certificates-table').waitFor();
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    const refused = await page.evaluate(async () => {
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
    expect(await server.authority.ssh.listBlocks()).toEqual([]);
  }, 60_000);
});
