// End to end in Chromium against `pkim serve`: a profile of the profiles file that cannot issue for a key type it
// allows (keyEncipherment with an EC key: every such issuance fails lint.key_usage_key_type_mismatch) says so where a
// user looks — a badge beside its name on the Profiles list (the page a user scans) and, on its page, a warning box
// with each clash from the profile's API object (`warnings`) and the fix for its source. A sound profile shows
// neither. The Issue page warns as the user picks the profile and a key type it cannot issue for (a generated key's
// type, a pasted CSR's); the server still refuses a submit. The clash is the one profile-warnings-cli.test.ts reads
// through the CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { toProfileEntryDto } from '@pkim/contract';
import type { RunningServer } from '@pkim/server';
import { createRootCa } from '../../../tests/support/ca-kit';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { openConsole, SERVER_WORK, type ConsoleSession } from './support/console-browser';
import { E2E_ADMIN } from './support/console-pki';

const POLL = { timeout: 15_000 };
const BASE = {
  isCa: false,
  extKeyUsage: ['serverAuth'],
  allowedSanTypes: ['dns'],
  sanRequired: false,
  defaultLifetimeMs: 86_400_000,
  maxLifetimeMs: 7 * 86_400_000,
};
const MIXED = {
  ...BASE,
  name: 'file-mixed',
  description: 'web servers, RSA and EC keys',
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  allowedKeyTypes: ['ec-p256', 'rsa-2048'],
};
const FINE = { ...BASE, name: 'file-fine', keyUsage: ['digitalSignature'], allowedKeyTypes: ['ec-p256', 'rsa-2048'] };
/**
 * a clash of rsaKeyUsage (what an RSA key carries besides keyUsage): every RSA key type it allows (rsa-2048 only, so
 * the badge names that one, not every RSA size), no EC one
 */
const RSA_CLASH = {
  ...BASE,
  name: 'file-rsa-clash',
  keyUsage: ['digitalSignature'],
  rsaKeyUsage: ['keyAgreement'],
  allowedKeyTypes: ['ec-p256', 'rsa-2048'],
};

describe('web console: a profile that cannot issue for a key type it allows (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let caId: string;

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-profile-warnings', profiles: [MIXED, FINE, RSA_CLASH] });
    ({ server, page, base } = session);
    caId = (await createRootCa(server.authority, 'warnings-root', { actor: E2E_ADMIN })).id;
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('the Profiles list flags the profile beside its name; the sound one is not flagged', async () => {
    await session.nav('Profiles');
    await page.locator('[data-profile="file-mixed"]').waitFor(POLL);
    const flag = page.locator('[data-profile="file-mixed"] [data-profile-warnings]');
    await flag.waitFor(POLL);
    expect(await flag.textContent()).toBe('cannot issue for ec-p256');
    expect(await flag.getAttribute('title')).toContain('keyEncipherment is not possible with ec-p256 keys');
    expect(await page.locator('[data-profile="file-fine"] [data-profile-warnings]').count()).toBe(0);
    // the built-ins are sound; the rsaKeyUsage clash is flagged too
    expect(await page.locator('[data-profile-warnings]').count()).toBe(2);
    expect(await page.locator('[data-profile="file-rsa-clash"] [data-profile-warnings]').textContent()).toBe(
      'cannot issue for rsa-2048',
    );
    await session.shot('profile-warnings-list');
  }, 120_000);

  it("the profile's page shows each clash of its API object and the fix for a profiles-file profile", async () => {
    const entry = (await server.authority.profileCatalog.list(E2E_ADMIN)).find((e) => e.profile.name === 'file-mixed');
    const { warnings } = toProfileEntryDto(entry!);
    await page.locator('[data-profile="file-mixed"]').getByRole('link', { name: 'file-mixed' }).click();
    await page.getByRole('heading', { name: 'file-mixed' }).waitFor(POLL);
    const box = page.getByRole('status').filter({ hasText: 'This profile cannot issue for some key types it allows' });
    await box.waitFor(POLL);
    const items = await box.getByRole('listitem').allTextContents();
    expect(items).toEqual([
      'keyUsage: keyEncipherment is not possible with ec-p256 keys (for RSA keys only: put it in rsaKeyUsage): ' +
        'every such issuance fails lint.key_usage_key_type_mismatch',
    ]);
    expect(items).toEqual(warnings);
    expect(await box.textContent()).toContain('Drop the usage or the key types in the profiles file and restart.');
    await session.shot('profile-warnings');

    await page.goto(`${base}/profiles/file-fine`);
    await page.getByRole('heading', { name: 'file-fine' }).waitFor(POLL);
    await page.getByText('file — from the profiles file').waitFor(POLL);
    expect(await page.getByText('This profile cannot issue for some key types it allows').count()).toBe(0);
  }, 120_000);

  it('the Issue page warns as the profile and key type are picked; the server still refuses a submit', async () => {
    const entry = (await server.authority.profileCatalog.list(E2E_ADMIN)).find((e) => e.profile.name === 'file-mixed');
    const { warnings } = toProfileEntryDto(entry!);
    await page.goto(`${base}/issue?caId=${caId}`);
    await page.getByRole('heading', { name: 'Issue a certificate' }).waitFor(POLL);
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    const warning = page.getByTestId('key-type-warning');
    // tls-server with ec-p256 (the defaults): nothing to say
    await page.getByLabel('Common name').waitFor(POLL);
    expect(await warning.count()).toBe(0);
    await page.getByLabel('Profile').selectOption('file-mixed');
    await warning.waitFor(POLL);
    const title = 'Profile file-mixed cannot issue for ec-p256 keys: the server refuses it';
    expect(await warning.getByText(title).count()).toBe(1);
    expect(await warning.getByRole('listitem').allTextContents()).toEqual(warnings);
    await page.getByLabel('Key type').selectOption('rsa-2048');
    await expect.poll(() => warning.count(), POLL).toBe(0);
    await page.getByLabel('Key type').selectOption('ed25519');
    await warning.waitFor(POLL);
    expect(await warning.getByRole('listitem').allTextContents()).toEqual([
      'profile file-mixed does not allow ed25519 keys (allowed: ec-p256, rsa-2048): policy.key_type_not_allowed',
    ]);
    // …in the server's words: its refusal on submit says the same
    await page.getByLabel('Common name').fill('mixed.example.com');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    const refusal = page.locator('[data-error-code="policy.key_type_not_allowed"]');
    await refusal.waitFor(SERVER_WORK);
    // the alert around the code: its message below the code
    const alert = refusal.locator('xpath=ancestor::div[contains(@class, "min-w-0")][1]');
    expect(await alert.textContent()).toContain(
      'profile file-mixed does not allow ed25519 keys (allowed: ec-p256, rsa-2048)',
    );
    // the warning does not stop a submit: the server's refusal is the rule, and nothing is issued
    await page.getByLabel('Key type').selectOption('ec-p256');
    await page.getByLabel('Common name').fill('mixed.example.com');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    await page.locator('[data-error-code="lint.key_usage_key_type_mismatch"]').waitFor(SERVER_WORK);
    expect((await server.authority.certificates.list({ caId })).items).toEqual([]);

    // a pasted CSR: its key type, once the server decoded it
    await page.getByRole('tab', { name: 'From a CSR' }).click();
    await page.getByLabel('Profile').selectOption('file-mixed');
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=csr.example.com' });
    await page.getByLabel('Certificate signing request (PEM)').fill(csrPem);
    await page.getByTestId('csr-preview').waitFor(SERVER_WORK);
    await warning.waitFor(POLL);
    expect(await warning.getByRole('listitem').allTextContents()).toEqual(warnings);

    // an rsaKeyUsage clash: said for an RSA key, not for the EC key the same profile allows
    const rsaEntry = (await server.authority.profileCatalog.list(E2E_ADMIN)).find(
      (e) => e.profile.name === 'file-rsa-clash',
    );
    const rsaWarnings = toProfileEntryDto(rsaEntry!).warnings;
    expect(rsaWarnings).toHaveLength(1);
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    await page.getByLabel('Profile').selectOption('file-rsa-clash');
    await page.getByLabel('Key type').selectOption('ec-p256');
    await expect.poll(() => warning.count(), POLL).toBe(0);
    await page.getByLabel('Key type').selectOption('rsa-2048');
    await warning.waitFor(POLL);
    const rsaTitle = 'Profile file-rsa-clash cannot issue for rsa-2048 keys: the server refuses it';
    expect(await warning.getByText(rsaTitle).count()).toBe(1);
    expect(await warning.getByRole('listitem').allTextContents()).toEqual(rsaWarnings);
  }, 120_000);
});
