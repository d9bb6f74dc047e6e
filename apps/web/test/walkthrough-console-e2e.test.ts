// End to end in Chromium against a fresh server (ephemeral port, temporary data dir): a new user's first session,
// the console's most important journey in one file, every step through the pages a user sees (the main
// navigation, buttons and links; no deep URL typed): sign in with the first-boot password, which asks for a new
// one before anything else → a root CA → an intermediate below it → a profile → a certificate with a
// server-generated key and one from a CSR → a request that waits for approval, approved → a revocation with a
// reason → the CRL downloaded and read by openssl → the audit log showing each step, its hash chain verified. Every
// certificate downloaded from the console is verified by openssl against the chain downloaded from the console.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, readDownload, SERVER_WORK, type ConsoleSession } from './support/console-browser';
import { E2E_ADMIN as ADMIN } from './support/console-pki';

// a wait bounds a failure only (every wait here is on server work: SERVER_WORK)
const POLL = SERVER_WORK;
const NEW_PASSWORD = 'walk-through-password-2026';
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** the PEM certificates in a downloaded file, in order */
const certs = (text: string) => text.match(PEM_CERT) ?? [];

describe('web console: a new user walks through the main journey (Chromium against a fresh server)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  const pki = { rootPem: '', intPem: '', intChainPem: '', intId: '', rootId: '' };
  const issued: { keyCert?: string; csrCert?: string; requestCert?: string } = {};
  const dialog = () => page.getByRole('dialog');

  /** the text of the file a click downloads */
  async function download(button: Locator): Promise<string> {
    const [d] = await Promise.all([page.waitForEvent('download'), button.click()]);
    return (await readDownload(d)).toString('utf8');
  }

  /** a leaf downloaded from the console verified by openssl against the chain downloaded from the console */
  function verifyLeaf(leafPem: string, hostname: string) {
    const v = opensslVerify({
      leafPem,
      chainPems: [pki.intPem],
      rootPem: pki.rootPem,
      purpose: 'sslserver',
      hostname,
    });
    expect(v.ok, v.output).toBe(true);
  }

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-walk', firstBoot: true });
    ({ server, page, base } = session);
    page.setDefaultTimeout(POLL.timeout);
  }, 240_000);

  afterAll(async () => session?.close());

  it('signs in with the first-boot password: the console asks for a new one before anything else', async () => {
    // every API answer while the one-time password's session lasts: none may be a refusal (no page behind the
    // dialog asks for what the server refuses that session, auth.password_change_required)
    const refused: string[] = [];
    const watch = (r: { status(): number; url(): string }) => {
      if (r.status() === 403) refused.push(r.url());
    };
    page.on('response', watch);
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(session.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await dialog().getByRole('heading', { name: 'Choose a new password' }).waitFor(POLL);
    // it cannot be dismissed: no Close button, Escape leaves it open, nothing of the console behind it
    expect(await dialog().getByRole('button', { name: 'Close' }).count()).toBe(0);
    await page.keyboard.press('Escape');
    await dialog().getByRole('heading', { name: 'Choose a new password' }).waitFor(POLL);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Dashboard' }).count()).toBe(0);
    await session.shot('first-sign-in-new-password');
    // the same password again is no change
    await dialog().getByLabel('Current password').fill(session.adminPassword);
    await dialog().getByLabel('New password').fill(session.adminPassword);
    await dialog().getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => dialog().locator('[data-error-code]').textContent(), POLL).toBe('user.weak_password');
    await dialog().getByLabel('New password').fill(NEW_PASSWORD);
    await dialog().getByRole('button', { name: 'Change password' }).click();
    // the change ends every session, this one too: the dialog says so and leads to the sign-in page
    await dialog().getByText('Password changed').waitFor(POLL);
    await dialog().getByRole('button', { name: 'Sign in again' }).click();
    await page.waitForURL(/\/login/);
    page.off('response', watch);
    expect(refused).toEqual([]);
    // the old password no longer signs in; the new one does, to a console without the dialog
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(session.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('[data-error-code]').textContent(), POLL).toBe('auth.invalid_credentials');
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor(POLL);
    expect(await dialog().count()).toBe(0);

    // the account menu's change stays for later changes (not required: it can be closed)
    await page.getByRole('button', { name: 'Account menu' }).click();
    await page.getByRole('menuitem', { name: 'Change password' }).click();
    await dialog().getByRole('heading', { name: 'Change password' }).waitFor(POLL);
    await dialog().getByRole('button', { name: 'Close' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor(POLL);
  }, 300_000);

  it('creates a root CA from the empty Authorities page and an intermediate under it', async () => {
    await session.nav('Authorities');
    await page.getByText('No certificate authority yet').waitFor(POLL);
    await page.getByRole('link', { name: 'Create a root CA' }).click();
    await page.getByText('Root CA', { exact: true }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('walk-root');
    await page.getByLabel('Common name (CN)').fill('Walk Root CA');
    await page.getByLabel('Organization (O)').fill('Walk Through');
    await page.getByLabel('Country (C)').fill('DE');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create CA' }).click();
    await page.getByRole('heading', { name: 'walk-root' }).waitFor(POLL);
    pki.rootId = page.url().split('/cas/')[1]!;
    pki.rootPem = certs(await download(page.getByRole('button', { name: 'walk-root.crt' })))[0]!;
    const self = opensslVerify({ leafPem: pki.rootPem, rootPem: pki.rootPem, purpose: 'any' });
    expect(self.ok, self.output).toBe(true);

    await page.getByRole('link', { name: 'Subordinate CA' }).click();
    await expect.poll(() => page.getByLabel('Parent CA').inputValue()).toBe(pki.rootId);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('walk-issuing');
    await page.getByLabel('Common name (CN)').fill('Walk Issuing CA');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Key type').selectOption('ec-p256');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Path length').fill('0');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create CA' }).click();
    await page.getByRole('heading', { name: 'walk-issuing' }).waitFor(POLL);
    pki.intId = page.url().split('/cas/')[1]!;
    pki.intPem = certs(await download(page.getByRole('button', { name: 'walk-issuing.crt' })))[0]!;
    // the chain the page offers: this CA up to the root
    pki.intChainPem = await download(page.getByRole('button', { name: 'walk-issuing-chain.pem' }));
    const chain = certs(pki.intChainPem);
    expect(chain[0]).toBe(pki.intPem);
    const v = opensslVerify({ leafPem: pki.intPem, rootPem: pki.rootPem, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);
  }, 300_000);

  it('creates a profile and issues with a server-generated key under it', async () => {
    await session.nav('Profiles');
    await page.getByRole('button', { name: 'New profile' }).click();
    await dialog().getByLabel('Name').fill('walk-web');
    await dialog().getByLabel('Description').fill('web servers of the walk-through');
    const keyUsage = dialog().getByRole('group', { name: 'Key usage' });
    await keyUsage.getByLabel('keyEncipherment').check();
    await dialog().getByRole('group', { name: 'Extended key usage' }).getByLabel('serverAuth').check();
    await dialog().getByLabel('Default lifetime').fill('30d');
    await dialog().getByLabel('Max lifetime').fill('90d');
    // keyEncipherment with EC keys only: the linter would refuse every certificate; the form says so under the
    // field and sends nothing (it made the profile, and the first issuance failed, before)
    await dialog().getByRole('button', { name: 'Create profile' }).click();
    await keyUsage.getByText('keyEncipherment is not possible with ec-p256 keys').waitFor(POLL);
    expect((await server.authority.profileCatalog.list(ADMIN)).map((e) => e.profile.name)).not.toContain('walk-web');
    // what was typed is still there
    expect(await dialog().getByLabel('Name').inputValue()).toBe('walk-web');
    await keyUsage.getByLabel('keyEncipherment').uncheck();
    await dialog().getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('heading', { name: 'walk-web' }).waitFor(POLL);

    await session.nav('Issue');
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    await page.getByLabel('Issuing CA').selectOption(pki.intId);
    await page.getByLabel('Profile').selectOption('walk-web');
    await page.getByLabel('Common name').fill('www.walk.example');
    await page.getByLabel('Subject alternative names').fill('www.walk.example');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    const result = page.getByTestId('issued-result');
    await result.or(page.locator('[data-error-code]')).first().waitFor(POLL);
    expect(await page.locator('[data-error-code]').allTextContents()).toEqual([]);
    const keyPem = await download(page.getByTestId('download-key'));
    const leaf = certs(await download(result.getByRole('button', { name: 'Certificate' })))[0]!;
    verifyLeaf(leaf, 'www.walk.example');
    // the full chain: the leaf, then the intermediate and the root
    const full = certs(await download(result.getByRole('button', { name: 'Full chain' })));
    expect(full[0]).toBe(leaf);
    expect(full.slice(1)).toEqual(certs(pki.intChainPem));
    const pubFromKey = execFileSync('openssl', ['pkey', '-pubout'], { input: keyPem }).toString();
    const pubFromCert = execFileSync('openssl', ['x509', '-noout', '-pubkey'], { input: leaf }).toString();
    expect(pubFromKey).toBe(pubFromCert);
    await result.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: 'www.walk.example' }).waitFor(POLL);
    issued.keyCert = page.url().split('/certificates/')[1]!;
    await page.getByText('walk-web', { exact: true }).waitFor(POLL);
  }, 300_000);

  it('issues from a pasted CSR', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=api.walk.example',
      sans: ['DNS:api.walk.example'],
    });
    await session.nav('Issue');
    await page.getByRole('tab', { name: 'From a CSR' }).click();
    await page.getByLabel('Issuing CA').selectOption(pki.intId);
    await page.getByLabel('Profile').selectOption('walk-web');
    await page.getByLabel('Certificate signing request (PEM)').fill(csrPem);
    await page.getByTestId('csr-preview').waitFor(POLL);
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    const result = page.getByTestId('issued-result');
    await result.waitFor(POLL);
    const leaf = certs(await download(result.getByRole('button', { name: 'Certificate' })))[0]!;
    verifyLeaf(leaf, 'api.walk.example');
    await result.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: 'api.walk.example' }).waitFor(POLL);
    issued.csrCert = page.url().split('/certificates/')[1]!;
  }, 300_000);

  it('submits a request that waits for approval, approves it and downloads the certificate', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=mail.walk.example',
      sans: ['DNS:mail.walk.example'],
    });
    await session.nav('Requests');
    await page.getByText('No request waits for review').waitFor(POLL);
    await page.getByRole('button', { name: 'New request' }).click();
    await dialog().getByLabel('Issuing CA').selectOption(pki.intId);
    await dialog().getByLabel('Profile').selectOption('walk-web');
    await dialog().getByLabel('Certificate signing request (PEM)').fill(csrPem);
    await dialog().getByTestId('csr-preview').waitFor(POLL);
    await dialog().getByRole('button', { name: 'Submit request' }).click();
    await dialog()
      .getByText(/Request req_\w+ submitted/)
      .waitFor(POLL);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog().count()).toBe(0);
    // nothing is issued before the approval
    expect((await server.authority.certificates.list({ search: 'mail.walk.example' })).items).toEqual([]);
    const row = page.getByTestId('requests-table').locator('tr', { hasText: 'mail.walk.example' });
    await row.getByText('pending').waitFor(POLL);
    await row.getByRole('button', { name: 'Approve' }).click();
    const approved = page.getByText(/Approved req_/);
    await approved.waitFor(POLL);
    await page.getByRole('link', { name: 'mail.walk.example' }).click();
    await page.getByRole('heading', { name: 'mail.walk.example' }).waitFor(POLL);
    issued.requestCert = page.url().split('/certificates/')[1]!;
    const leaf = certs(await download(page.getByRole('button', { name: 'Certificate', exact: true })))[0]!;
    verifyLeaf(leaf, 'mail.walk.example');
    const full = certs(await download(page.getByRole('button', { name: 'Full chain' })));
    expect(full).toEqual([leaf, ...certs(pki.intChainPem)]);
  }, 300_000);

  it('revokes with a reason; the CRL downloaded from the CA page lists the serial (openssl crl)', async () => {
    await session.nav('Certificates');
    await page.getByTestId('certificates-table').getByRole('link', { name: 'api.walk.example' }).click();
    await page.getByRole('heading', { name: 'api.walk.example' }).waitFor(POLL);
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByLabel('Reason').selectOption('superseded');
    await page.getByRole('button', { name: 'Revoke certificate' }).click();
    await page.getByText(/Revoked .* reason: superseded/).waitFor(POLL);
    const serial = (await server.authority.certificates.get(issued.csrCert!)).certificate.serialHex;

    await page.getByRole('link', { name: 'walk-issuing' }).first().click();
    await page.getByRole('heading', { name: 'walk-issuing' }).waitFor(POLL);
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId('crl-download').click()]);
    const crl = opensslCrlVerify(await readDownload(d), pki.intPem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase().replace(/:/g, '')).toContain(serial);
    expect(crl.text).toContain('Superseded');
    // the certificates not revoked are not on it
    for (const id of [issued.keyCert!, issued.requestCert!]) {
      const other = (await server.authority.certificates.get(id)).certificate.serialHex;
      expect(crl.text.toLowerCase().replace(/:/g, '')).not.toContain(other);
    }
  }, 300_000);

  it('the audit log shows each step and its hash chain verifies', async () => {
    await session.nav('Audit log');
    await page.getByTestId('audit-chain-ok').waitFor(POLL);
    const steps: [action: string, count: number][] = [
      ['user.password_changed', 1],
      ['ca.created', 2],
      ['profile.created', 1],
      ['certificate.issued', 3],
      ['request.submitted', 1],
      ['request.approved', 1],
      ['certificate.revoked', 1],
    ];
    for (const [action, count] of steps) {
      await page.getByLabel('Action').fill(action);
      await page.getByLabel('Action').press('Enter');
      await expect.poll(() => page.locator(`[data-action="${action}"]`).count(), POLL).toBe(count);
    }
    const v = await server.authority.audit.verify();
    expect(v.ok).toBe(true);
  }, 300_000);
});
