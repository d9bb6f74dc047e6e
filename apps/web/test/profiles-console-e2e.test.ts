// End to end in Chromium against `pkim serve`: the console's Profiles page. A custom profile is made in the form
// (a malformed EKU OID is refused before sending, a lifetime the server refuses is shown next to its field), the
// store holds what the form said, a leaf issued with it on the Issue page is read by openssl (key usage, EKU with
// the OID, lifetime); a built-in shows no edit; an operator (no ca:write) sees no create/edit/delete; deleting a
// profile an API token is limited to shows the server's profile.in_use message, and once the token is revoked it
// goes. A profile made through the REST API with SAN rules the form does not show (required SAN types, URI schemes,
// SAN limits) shows them on its page and keeps them when the form edits its description.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEFAULT_MAX_SAN_BYTES, DEFAULT_MAX_SANS } from '@pkim/core';
import type { RunningServer } from '@pkim/server';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, createUsers, E2E_ADMIN, PASSWORD } from './support/console-pki';

const POLL = { timeout: 15_000 };
const DAY = 86_400_000;
const EKU_OID = '1.3.6.1.4.1.32473.9.3';

describe('web console: the Profiles page (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let chain = { rootPem: '', intPem: '', intId: '' };
  const dialog = () => page.getByRole('dialog');
  const field = (label: string) => page.locator(`dt:text-is("${label}") + dd`);

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-profiles' });
    ({ server, page, base } = session);
    const { root, int } = await createE2eHierarchy(server.authority);
    chain = { rootPem: root.pem, intPem: int.pem, intId: int.id };
    await createUsers(server.authority, [['olivia', 'operator']]);
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('creates a profile in the form: a bad OID refused before sending, the refusal beside its field', async () => {
    await session.nav('Profiles');
    await page.getByRole('heading', { name: 'Profiles' }).waitFor();
    // the built-ins are listed with their source, lifetimes as pkim profile list prints them
    const tls = page.locator('[data-profile="tls-server"]');
    await tls.getByText('built-in').waitFor(POLL);
    await page.getByRole('button', { name: 'New profile' }).click();
    await dialog().getByLabel('Name').fill('lab-client');
    await dialog().getByLabel('Description').fill('lab clients');
    const group = (name: string) => dialog().getByRole('group', { name });
    await group('Key usage').getByLabel('keyAgreement').check();
    await group('Extended key usage').getByLabel('clientAuth').check();
    await dialog().getByLabel('Extended key usage OIDs').fill('1.3.6.x');
    await dialog().getByLabel('Default lifetime').fill('45d');
    await dialog().getByLabel('Max lifetime').fill('200y');
    await dialog().getByRole('button', { name: 'Create profile' }).click();
    // checked in the browser: nothing sent
    await page.locator('#profile-eku-oids + p').getByText("'1.3.6.x' is not a dotted OID").waitFor(POLL);
    expect((await server.authority.profileCatalog.list(E2E_ADMIN)).map((e) => e.profile.name)).not.toContain(
      'lab-client',
    );

    // the server refuses 200y (over 100 years): the problem stands under Max lifetime, no separate alert
    await dialog().getByLabel('Extended key usage OIDs').fill(EKU_OID);
    await dialog().getByRole('button', { name: 'Create profile' }).click();
    await page.locator('#profile-max + p').getByText('exceeds the maximum').waitFor(POLL);
    expect(await dialog().locator('[data-error-code]').count()).toBe(0);
    await session.shot('profiles-form');

    await dialog().getByLabel('Max lifetime').fill('1y');
    await dialog().getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('heading', { name: 'lab-client' }).waitFor(POLL);
    await page.getByText('api — made through the API or this console').waitFor(POLL);
    const stored = await server.authority.profileCatalog.get('lab-client', E2E_ADMIN);
    expect(stored.source).toBe('api');
    expect(stored.profile).toMatchObject({
      name: 'lab-client',
      description: 'lab clients',
      isCa: false,
      keyUsage: ['digitalSignature', 'keyAgreement'],
      extKeyUsage: ['clientAuth'],
      extKeyUsageOids: [EKU_OID],
      allowedSanTypes: ['dns'],
      sanRequired: false,
      allowedKeyTypes: ['ec-p256'],
      defaultLifetimeMs: 45 * DAY,
      maxLifetimeMs: 365 * DAY,
    });
    await page.getByRole('link', { name: '← All profiles' }).click();
    const row = page.locator('[data-profile="lab-client"]');
    await row.getByText('digitalSignature, keyAgreement · clientAuth, 1.3.6.1.4.1.32473.9.3').waitFor(POLL);
    await row.getByText('1y', { exact: true }).waitFor(POLL);
    await session.shot('profiles');
  }, 120_000);

  it('a leaf issued with it on the Issue page carries what the profile says (openssl)', async () => {
    await page.goto(`${base}/issue?caId=${chain.intId}`);
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    await page.getByLabel('Profile').selectOption('lab-client');
    await page.getByLabel('Common name').fill('lab.example.com');
    await page.getByLabel('Subject alternative names').fill('lab.example.com');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    // the certificate, or the refusal's code and message in the failure
    await page.getByTestId('issued-result').or(page.locator('[data-error-code]')).first().waitFor(POLL);
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    await page.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: 'lab.example.com' }).waitFor();
    const id = page.url().split('/certificates/')[1]!;
    const { certificatePem } = await server.authority.certificates.get(id);
    const v = opensslVerify({
      leafPem: certificatePem,
      chainPems: [chain.intPem],
      rootPem: chain.rootPem,
      purpose: 'sslclient',
    });
    expect(v.ok, v.output).toBe(true);
    const text = opensslText(certificatePem);
    expect(/X509v3 Key Usage: critical\n\s+(.+)\n/.exec(text)?.[1]).toBe('Digital Signature, Key Agreement');
    expect(/X509v3 Extended Key Usage: \n\s+(.+)\n/.exec(text)?.[1]).toBe(`TLS Web Client Authentication, ${EKU_OID}`);
    const notBefore = Date.parse(/Not Before: (.+)\n/.exec(text)![1]!);
    const notAfter = Date.parse(/Not After : (.+)\n/.exec(text)![1]!);
    // 45 days, the start backdated by at most a few minutes for clock skew
    expect(notAfter - notBefore).toBeGreaterThanOrEqual(45 * DAY);
    expect(notAfter - notBefore).toBeLessThanOrEqual(45 * DAY + 10 * 60_000);
  }, 120_000);

  it('a built-in is read-only and says why; an operator sees no create, edit or delete', async () => {
    await page.goto(`${base}/profiles/tls-server`);
    await page.getByRole('heading', { name: 'tls-server' }).waitFor();
    await page.getByText('A built-in profile is read-only').waitFor(POLL);
    // no SAN limits set: the defaults in effect, as the API gives them (effectiveMaxSans…), not the console's own text
    expect(await field('Max SANs').textContent()).toBe(`default (${DEFAULT_MAX_SANS})`);
    expect(await field('Max SAN bytes').textContent()).toBe(`default (${DEFAULT_MAX_SAN_BYTES})`);
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);

    await session.signIn('olivia', PASSWORD);
    await session.nav('Profiles');
    await page.locator('[data-profile="lab-client"]').waitFor(POLL);
    expect(await page.getByRole('button', { name: 'New profile' }).count()).toBe(0);
    await page.getByRole('link', { name: 'lab-client', exact: true }).click();
    await page.getByRole('heading', { name: 'lab-client' }).waitFor();
    await page.getByText('digitalSignature, keyAgreement', { exact: true }).waitFor(POLL);
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
  }, 120_000);

  it('edits it; delete asks first, shows profile.in_use while a token is limited to it, then deletes', async () => {
    const limited = await server.authority.auth.createToken(
      { name: 'lab-only', role: 'operator', resources: { profiles: ['lab-client'] } },
      E2E_ADMIN,
    );
    await session.signIn('admin', session.adminPassword);
    await page.goto(`${base}/profiles/lab-client`);
    await page.getByRole('heading', { name: 'lab-client' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    await expect.poll(() => dialog().getByLabel('Max lifetime').inputValue(), POLL).toBe('1y');
    await dialog().getByLabel('Default lifetime').fill('30d');
    await dialog().getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('30d', { exact: true }).waitFor(POLL);
    expect((await server.authority.profileCatalog.get('lab-client', E2E_ADMIN)).profile).toMatchObject({
      defaultLifetimeMs: 30 * DAY,
      extKeyUsageOids: [EKU_OID],
    });

    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('alertdialog');
    await confirm.getByRole('button', { name: 'Delete profile' }).click();
    await confirm.locator('[data-error-code="profile.in_use"]').waitFor(POLL);
    await confirm.getByText(`API token lab-only (${limited.id})`).waitFor();
    expect((await server.authority.profileCatalog.get('lab-client', E2E_ADMIN)).source).toBe('api');
    await confirm.getByRole('button', { name: 'Cancel' }).click();

    await server.authority.auth.revokeToken(limited.id, E2E_ADMIN);
    await page.getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete profile' }).click();
    await page.getByRole('heading', { name: 'Profiles' }).waitFor(POLL);
    await page.locator('[data-profile="tls-server"]').waitFor(POLL);
    expect(await page.locator('[data-profile="lab-client"]').count()).toBe(0);
    const names = (await server.authority.profileCatalog.list(E2E_ADMIN)).map((e) => e.profile.name);
    expect(names).not.toContain('lab-client');
  }, 120_000);

  it('an edit keeps what the form does not show: a profile made through the REST API keeps its SAN rules', async () => {
    const { token } = await server.authority.auth.createToken({ name: 'profiles-e2e', role: 'admin' }, E2E_ADMIN);
    const api = (path: string, init?: RequestInit) =>
      fetch(`${base}/api/v1/profiles${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
    const rules = {
      requiredSanTypes: ['uri'],
      allowedUriSchemes: ['spiffe'],
      maxUriSans: 1,
      maxSans: 4,
      maxSanBytes: 300,
    };
    const made = await api('', {
      method: 'POST',
      body: JSON.stringify({
        name: 'svid-lab',
        isCa: false,
        keyUsage: ['digitalSignature'],
        extKeyUsage: ['clientAuth'],
        allowedSanTypes: ['uri', 'dns'],
        sanRequired: true,
        allowedKeyTypes: ['ec-p256'],
        defaultLifetime: '1h',
        maxLifetime: '1d',
        ...rules,
      }),
    });
    expect(made.status, await made.clone().text()).toBe(201);
    await session.signIn('admin', session.adminPassword);
    await page.goto(`${base}/profiles/svid-lab`);
    await page.getByRole('heading', { name: 'svid-lab' }).waitFor();
    // the page shows them
    await expect.poll(() => field('SAN types required').textContent(), POLL).toBe('uri');
    expect(await field('URI schemes allowed').textContent()).toBe('spiffe');
    expect(await field('Max URI SANs').textContent()).toBe('1');
    expect(await field('Max SANs').textContent()).toBe('4');
    expect(await field('Max SAN bytes').textContent()).toBe('300');

    await page.getByRole('button', { name: 'Edit' }).click();
    await expect.poll(() => dialog().getByLabel('Max lifetime').inputValue(), POLL).toBe('1d');
    await dialog().getByLabel('Description').fill('SVIDs of the lab');
    await dialog().getByRole('button', { name: 'Save profile' }).click();
    await expect.poll(() => field('Description').textContent(), POLL).toBe('SVIDs of the lab');
    // read back through the API: the description changed, the SAN rules kept
    const read = await api('/svid-lab');
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({
      source: 'api',
      description: 'SVIDs of the lab',
      ...rules,
      effectiveMaxSans: 4,
      effectiveMaxSanBytes: 300,
    });
    expect((await server.authority.profileCatalog.get('svid-lab', E2E_ADMIN)).profile).toMatchObject(rules);
  }, 120_000);
});
