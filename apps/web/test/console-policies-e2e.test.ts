// End to end in Chromium against `pkim serve`: a custom profile's extra EKU OIDs and certificate policies (CPS URI,
// user notice) and a Vault role's ext_key_usage_oids / policy_identifiers, from the form to the certificate. A leaf
// issued in the console from the profile is read by openssl; the console's certificate page and the REST detail
// (GET /api/v1/certificates/:id, its OpenAPI schema) show what openssl reads (`pkim cert show` of such a certificate:
// apps/cli/test/cert-show-policies-cli.test.ts, in the CLI tests' process).
// The role dialog refuses a malformed OID before sending and shows the server's code and message when it refuses
// (anyPolicy in a leaf); a role made in the dialog issues through /v1 with its policy, read by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import {
  opensslPurposes,
  POLICIES,
  POLICIES_PROFILE as PROFILE,
} from '../../../tests/support/certificate-policies-fixture';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, E2E_ADMIN } from './support/console-pki';

const POLL = { timeout: 15_000 };
describe('web console: EKU OIDs and certificate policies end to end (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let token = '';
  let chain: { rootPem: string; intPem: string; intId: string } = { rootPem: '', intPem: '', intId: '' };
  const dialog = () => page.getByRole('dialog');

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-policies', profiles: [PROFILE] });
    ({ server, page, base } = session);
    const { root, int } = await createE2eHierarchy(server.authority);
    chain = { rootPem: root.pem, intPem: int.pem, intId: int.id };
    token = (await server.authority.auth.createToken({ name: 'policies-e2e', role: 'admin' }, E2E_ADMIN)).token;
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('a leaf from the profile: its page, REST and OpenAPI say what openssl reads', async () => {
    await page.goto(`${base}/issue?caId=${chain.intId}`);
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    await page.getByLabel('Profile').selectOption('tls-server-policies');
    // the profile's policies and EKU OIDs beside its description
    await page.getByText('policies 1.3.6.1.4.1.32473.1.2.4, 1.3.6.1.4.1.32473.1.2.5, 2.23.140.1.2.1').waitFor(POLL);
    await page.getByLabel('Common name').fill('policy.example.com');
    await page.getByLabel('Subject alternative names').fill('policy.example.com');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    await page.getByTestId('issued-result').waitFor();
    await page.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: 'policy.example.com' }).waitFor();
    const id = page.url().split('/certificates/')[1]!;
    const { certificatePem } = await server.authority.certificates.get(id);
    const v = opensslVerify({
      leafPem: certificatePem,
      chainPems: [chain.intPem],
      rootPem: chain.rootPem,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
    const seen = opensslPurposes(certificatePem);
    expect(seen).toEqual({ extKeyUsage: ['serverAuth', '1.3.6.1.4.1.32473.9.1'], certificatePolicies: POLICIES });

    // the console's decoded certificate
    const listed = page.getByTestId('certificate-policies').getByRole('listitem');
    await expect
      .poll(() => listed.allTextContents(), POLL)
      .toEqual([
        '1.3.6.1.4.1.32473.1.2.4 CPS https://pki.example.com/cps',
        '1.3.6.1.4.1.32473.1.2.5 notice “Internal services only”',
        '2.23.140.1.2.1',
      ]);
    await page.getByText('serverAuth, 1.3.6.1.4.1.32473.9.1', { exact: true }).waitFor(POLL);
    await session.shot('certificate-policies');

    // the REST detail and its OpenAPI schema
    const r = await fetch(`${base}/api/v1/certificates/${id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const detail = (await r.json()) as { extKeyUsage: string[]; certificatePolicies: unknown[] };
    expect({ extKeyUsage: detail.extKeyUsage, certificatePolicies: detail.certificatePolicies }).toEqual(seen);
    const openapi = JSON.stringify(await (await fetch(`${base}/api/v1/openapi.json`)).json());
    expect(openapi).toMatch(/"certificatePolicies":\{"type":"array","items":\{"type":"object","properties":\{"oid"/);
  }, 120_000);

  it('the role dialog takes EKU OIDs and policies; a bad OID, the server refusing anyPolicy', async () => {
    const put = await fetch(`${base}/api/v1/vault/mounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'pki-pol', ca: chain.intId }),
    });
    expect(put.status, await put.text()).toBe(201);
    await page.goto(`${base}/vault`);
    await page.locator('[data-vault-mount="pki-pol"]').getByRole('button', { name: 'Roles' }).click();
    await page.getByRole('button', { name: 'Create role' }).click();
    await dialog().getByLabel('Role name').fill('pol');
    await dialog().getByLabel('Allowed domains').fill('example.com');
    await dialog().getByLabel('allow_subdomains').check();
    // a malformed OID: said in the form, the button off until it is right
    await dialog().getByLabel('Extended key usage OIDs').fill('1.3.6.1.4.1.32473.9.2, 1.3.x');
    await dialog().getByText("'1.3.x' is not a dotted OID").waitFor(POLL);
    expect(await dialog().getByRole('button', { name: 'Create role' }).isDisabled()).toBe(true);
    await dialog().getByLabel('Extended key usage OIDs').fill('1.3.6.1.4.1.32473.9.2');
    await dialog().getByRole('button', { name: 'Add policy' }).click();
    // the new, empty row: no error before anything is typed, the button stays on
    await dialog().getByLabel('Policy 1 OID').waitFor(POLL);
    expect(await dialog().getByText('Policy OID: a dotted OID').count()).toBe(0);
    expect(await dialog().getByRole('button', { name: 'Create role' }).isDisabled()).toBe(false);
    await dialog().getByLabel('Policy 1 OID').fill('1.3.6.1.4.1.32473.1.9');
    await dialog().getByLabel('Policy 1 CPS URI').fill('https://pki.example.com/cps');
    await dialog().getByLabel('Policy 1 user notice').fill('Role policy');
    await dialog().getByRole('button', { name: 'Add policy' }).click();
    // anyPolicy is a dotted OID: the form lets it through, the server refuses it (leaves only), its code shown
    await dialog().getByLabel('Policy 2 OID').fill('2.5.29.32.0');
    await dialog().getByRole('button', { name: 'Create role' }).click();
    const refusal = dialog().locator('[data-error-code]');
    await expect.poll(() => refusal.textContent(), POLL).toBe('vault.invalid_parameter');
    expect(await dialog().textContent()).toMatch(/anyPolicy/);
    await dialog().getByRole('button', { name: 'Remove policy 2' }).click();
    await dialog().getByRole('button', { name: 'Create role' }).click();
    await page.locator('[data-vault-role="pol"]').waitFor(POLL);

    const issue = await fetch(`${base}/v1/pki-pol/issue/pol`, {
      method: 'POST',
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ common_name: 'svc.example.com' }),
    });
    expect(issue.status).toBe(200);
    const leaf = ((await issue.json()) as { data: { certificate: string } }).data.certificate;
    expect(opensslPurposes(`${leaf}\n`)).toEqual({
      extKeyUsage: ['serverAuth', 'clientAuth', '1.3.6.1.4.1.32473.9.2'],
      certificatePolicies: [
        { oid: '1.3.6.1.4.1.32473.1.9', cps: 'https://pki.example.com/cps', notice: 'Role policy' },
      ],
    });
    const v = opensslVerify({
      leafPem: `${leaf}\n`,
      chainPems: [chain.intPem],
      rootPem: chain.rootPem,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);

    // the edit dialog shows them back as written
    await page.locator('[data-vault-role="pol"]').getByRole('button', { name: 'Edit' }).click();
    expect(await dialog().getByLabel('Extended key usage OIDs').inputValue()).toBe('1.3.6.1.4.1.32473.9.2');
    expect(await dialog().getByLabel('Policy 1 CPS URI').inputValue()).toBe('https://pki.example.com/cps');
    expect(await dialog().getByLabel('Policy 1 user notice').inputValue()).toBe('Role policy');
    await dialog().getByLabel('Policy 1 OID').scrollIntoViewIfNeeded();
    await session.shot('vault-role-policies');
    await page.keyboard.press('Escape');
  }, 120_000);
});
