// End to end: the console's Vault PKI page in Debian's Chromium against a real `pkim serve`. A mount and a role are
// created in the console, a certificate is issued through the Vault API (`/v1/<mount>/issue/<role>` with a token),
// the console lists it under its role, openssl verifies it; an auditor sees no edit buttons and the API refuses the
// change anyway. A mount enabled the Vault way (no CA) shows "no CA yet" until root/generate gives it one.
// Screenshots go to docs/screenshots/vault-*.png.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type BrowserGlobals, type ConsoleSession } from './support/console-browser';
import { createRootAndIssuingCa } from './support/console-pki';

const ADMIN = { id: 'usr_vault_e2e', name: 'vault-e2e', role: 'admin' as const };
const AUDITOR_PASSWORD = 'auditor-password-4243';
/** the machine is shared: give the console time to re-render after a mutation */
const POLL = { timeout: 15_000 };

describe('web console Vault PKI page end to end (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let token = '';
  let adminToken = '';
  let rootPem = '';
  let issued: { serial: string; certificate: string; ca_chain: string[] } | undefined;
  const dialog = () => page.getByRole('dialog');

  async function vault(method: string, path: string, body?: unknown, as = token) {
    const r = await fetch(`${session.base}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': as, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: (await r.json()) as any };
  }

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-vault-e2e' });
    ({ server, page } = session);
    const a = server.authority;
    rootPem = (await createRootAndIssuingCa(a, 'Vault E2E', ADMIN, { pathLen: 0 })).rootPem;
    await a.auth.createUser({ username: 'vault-auditor', password: AUDITOR_PASSWORD, role: 'auditor' }, ADMIN);
    token = (await a.auth.createToken({ name: 'vault-e2e-client', role: 'operator' }, ADMIN)).token;
    adminToken = (await a.auth.createToken({ name: 'vault-e2e-admin', role: 'admin' }, ADMIN)).token;
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('binds a mount to a CA and creates, edits and refuses a duplicate role in the console', async () => {
    await session.nav('Vault PKI');
    await page.getByRole('heading', { name: 'Vault PKI' }).waitFor();
    await page.getByText('No PKI mount').waitFor();
    await page.getByRole('button', { name: 'Bind mount' }).click();
    await dialog().getByLabel('Mount path').fill('pki-e2e');
    await dialog().getByLabel('Certificate authority').selectOption({ label: 'Vault E2E Issuing' });
    await dialog().getByLabel('Max lease TTL').fill('8760h');
    await dialog().getByRole('button', { name: 'Bind mount' }).click();
    const mountRow = page.locator('[data-vault-mount="pki-e2e"]');
    await mountRow.waitFor();
    expect(await mountRow.textContent()).toContain('Vault E2E Issuing');
    // what the console bound is what the Vault API serves
    const caPem = await fetch(`${session.base}/v1/pki-e2e/ca/pem`);
    expect(caPem.status).toBe(200);
    expect(new X509Certificate(await caPem.text()).subject).toContain('CN=Vault E2E Issuing');

    await mountRow.getByRole('button', { name: 'Roles' }).click();
    await page.getByText('No role on this mount').waitFor();
    await page.getByRole('button', { name: 'Create role' }).click();
    await dialog().getByLabel('Role name').fill('web');
    await dialog().getByLabel('Allowed domains').fill('e2e.example');
    await dialog().getByLabel('allow_subdomains').check();
    await dialog().getByLabel('Key type').selectOption('ec');
    await dialog().getByLabel('TTL', { exact: true }).fill('24h');
    await dialog().getByLabel('Max TTL').fill('72h');
    await dialog().getByRole('button', { name: 'Create role' }).click();
    await page.locator('[data-vault-role="web"]').waitFor();
    // the API's durations, in their largest exact unit
    await expect.poll(() => page.getByTestId('role-ttl-web').textContent(), POLL).toBe('1d / 3d');
    const role = await vault('GET', 'pki-e2e/roles/web');
    expect(role.status).toBe(200);
    expect(role.body.data).toMatchObject({
      allowed_domains: ['e2e.example'],
      allow_subdomains: true,
      key_type: 'ec',
      ttl: 86_400,
      max_ttl: 259_200,
    });

    await page.locator('[data-vault-role="web"]').getByRole('button', { name: 'Edit' }).click();
    await dialog().getByLabel('Max TTL').fill('48h');
    await dialog().getByRole('button', { name: 'Save role' }).click();
    await expect.poll(() => page.getByTestId('role-ttl-web').textContent(), POLL).toBe('1d / 2d');
    expect((await vault('GET', 'pki-e2e/roles/web')).body.data).toMatchObject({
      max_ttl: 172_800,
      allowed_domains: ['e2e.example'],
    });

    // a second role of the same name is refused with the stable code
    await page.getByRole('button', { name: 'Create role' }).click();
    await dialog().getByLabel('Role name').fill('web');
    await dialog().getByRole('button', { name: 'Create role' }).click();
    await expect.poll(() => dialog().locator('[data-error-code]').textContent(), POLL).toBe('vault.role_exists');
    await page.keyboard.press('Escape');
    await session.shot('vault-roles');
    await page.getByRole('tab', { name: 'Mounts' }).click();
    await expect.poll(() => page.getByTestId('mount-roles-pki-e2e').textContent(), POLL).toBe('1');
    await session.shot('vault-mounts');
  }, 120_000);

  it('shows a mount enabled without a CA as "no CA yet" until root/generate/internal gives it one', async () => {
    // what `vault secrets enable pki` sends: a mount with no CA (session 24, 54feb36)
    const post = (path: string, body: unknown) =>
      fetch(`${session.base}/v1/${path}`, {
        method: 'POST',
        headers: { 'x-vault-token': adminToken, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('sys/mounts/vault-bare', { type: 'pki' })).status).toBe(204);
    // the console keeps the mounts list: the page loaded anew shows a mount made outside it (listed after pki-e2e,
    // which the Roles tab then opens first, as before this case)
    const vaultPage = () => page.goto(`${session.base}/vault`);
    await vaultPage();
    const bare = page.locator('[data-vault-mount="vault-bare"]');
    await bare.waitFor(POLL);
    const badge = bare.getByText('no CA yet', { exact: true });
    await badge.waitFor(POLL);
    expect(await bare.getByRole('link').count()).toBe(0);
    expect(await bare.getByText('deleted CA').count()).toBe(0);

    const root = await post('vault-bare/root/generate/internal', {
      common_name: 'Vault E2E Bare Root',
      issuer_name: 'vault-bare-root',
      ttl: '8760h',
    });
    expect(root.status).toBe(200);
    const { certificate } = ((await root.json()) as { data: { certificate: string } }).data;
    const v = opensslVerify({ leafPem: `${certificate}\n`, chainPems: [], rootPem: certificate, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);
    await vaultPage();
    await bare.getByRole('link', { name: 'vault-bare-root' }).waitFor(POLL);
    expect(await bare.getByText('no CA yet').count()).toBe(0);
  }, 90_000);

  it('lists a certificate issued through the Vault API under its role; openssl verifies it', async () => {
    const r = await vault('POST', 'pki-e2e/issue/web', { common_name: 'app.e2e.example', ttl: '12h' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    issued = r.body.data;
    const v = opensslVerify({
      leafPem: `${issued!.certificate}\n`,
      chainPems: issued!.ca_chain.slice(0, -1),
      rootPem,
      purpose: 'sslserver',
      hostname: 'app.e2e.example',
    });
    expect(v.ok, v.output).toBe(true);
    // a name outside the role: Vault's 400 with a message, and nothing issued
    const refused = await vault('POST', 'pki-e2e/issue/web', { common_name: 'x.other.example' });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatch(/not allowed/);

    await page.getByRole('tab', { name: 'Roles' }).click();
    await page.locator('[data-vault-role="web"]').getByRole('button', { name: 'Certificates' }).click();
    const hex = new X509Certificate(issued!.certificate).serialNumber.toLowerCase();
    const row = page.locator(`[data-certificate="${hex}"]`);
    await row.waitFor(POLL);
    expect(await row.textContent()).toContain('app.e2e.example');
    expect(await page.getByTestId('vault-role-certificates').locator('tbody tr').count()).toBe(1);
    await session.shot('vault-role-certificates');
    // the row opens the certificate; it is the one Vault handed out
    await row.getByRole('link', { name: 'app.e2e.example' }).click();
    await page.getByRole('heading', { name: 'app.e2e.example' }).waitFor();
    const stored = await server.authority.certificates.list({ search: 'app.e2e.example' }, ADMIN);
    expect(stored.items.map((c) => c.fingerprintSha256)).toEqual([
      new X509Certificate(issued!.certificate).fingerprint256.replace(/:/g, '').toLowerCase(),
    ]);
  }, 90_000);

  it('shows the tenant keystores the CA issued to: rotation in progress, disconnected, active', async () => {
    // the role `pkim keystore init-roles` writes for thales_luna (client auth only), then what the client does
    const role = await vault(
      'POST',
      'pki-e2e/roles/keystore-thales_luna',
      {
        allowed_domains: 'keystore.internal,internal',
        allow_subdomains: true,
        server_flag: false,
        client_flag: true,
        key_type: 'ec',
        max_ttl: '8760h',
      },
      adminToken,
    );
    expect(role.status).toBe(200);
    const issue = async (tenant: string) => {
      const r = await vault('POST', 'pki-e2e/issue/keystore-thales_luna', {
        common_name: `tenant-${tenant}-thales.keystore.internal`,
        alt_names: `tenant-${tenant}.internal`,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.data as { serial_number: string; certificate: string; ca_chain: string[] };
    };
    await issue('acme');
    const current = await issue('acme');
    const gone = await issue('globex');
    await issue('initech');
    expect((await vault('POST', 'pki-e2e/revoke', { serial_number: gone.serial_number })).status).toBe(200);
    const v = opensslVerify({
      leafPem: `${current.certificate}\n`,
      chainPems: current.ca_chain.slice(0, -1),
      rootPem,
      purpose: 'sslclient',
    });
    expect(v.ok, v.output).toBe(true);

    await session.nav('Vault PKI');
    await page.getByRole('tab', { name: 'Tenant keystores' }).click();
    const row = (tenant: string) =>
      page.locator(`[data-keystore="thales_luna|tenant-${tenant}-thales.keystore.internal"]`);
    await row('acme').waitFor(POLL);
    expect(await row('acme').getAttribute('data-state')).toBe('rotating');
    expect(await row('globex').getAttribute('data-state')).toBe('disconnected');
    expect(await row('initech').getAttribute('data-state')).toBe('active');
    const hex = new X509Certificate(current.certificate).serialNumber.toLowerCase();
    expect(await row('acme').textContent()).toContain(hex.match(/../g)!.join(':').slice(0, 23));
    await session.shot('vault-keystores');
  }, 90_000);

  it('an auditor sees mounts, roles and certificates but no edit buttons, and the API refuses the change', async () => {
    await session.signIn('vault-auditor', AUDITOR_PASSWORD);
    await session.nav('Vault PKI');
    await page.locator('[data-vault-mount="pki-e2e"]').waitFor();
    expect(await page.getByRole('button', { name: 'Bind mount' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Unbind' }).count()).toBe(0);
    await page.locator('[data-vault-mount="pki-e2e"]').getByRole('button', { name: 'Roles' }).click();
    await page.locator('[data-vault-role="web"]').waitFor();
    expect(await page.getByRole('button', { name: 'Create role' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await page.locator('[data-vault-role="web"]').getByRole('button', { name: 'Certificates' }).click();
    await page.getByTestId('vault-role-certificates').waitFor();
    // the same session calling the API directly (with its CSRF token) is refused
    const refused = await page.evaluate(async () => {
      const r = await fetch('/trpc/vault.roles.update', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-csrf-token': (globalThis as unknown as BrowserGlobals).localStorage.getItem('pkim-csrf') ?? '',
        },
        body: JSON.stringify({ mount: 'pki-e2e', name: 'web', policy: { allow_any_name: true } }),
      });
      return { status: r.status, body: (await r.json()) as { error: { data: { pkiCode: string } } } };
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.data.pkiCode).toBe('auth.forbidden');
    expect((await vault('GET', 'pki-e2e/roles/web')).body.data.allow_any_name).toBe(false);
  }, 60_000);
});
