// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): a CA signed by an outside CA from the
// console — the wizard's third kind makes the key on the server and shows the CSR (no validity: the outside CA sets
// it); an openssl root outside the deployment signs the CSR; the CA page's import refuses a certificate for another
// subject (`ca.certificate_mismatch`) and one whose issuer it cannot check (`ca.issuer_unverified`), leaving the CA
// pending, then takes it with the outside root's certificate and the CA becomes active; the CA page's chain is the CA
// and the outside root. openssl checks the CSR the page showed and the imported CA certificate against the outside
// root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslSignCaCsr } from '../../../tests/support/openssl-tools';
import { opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';

describe('web console: a CA signed by an outside CA (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let caId: string;
  let csrPem: string;

  const next = () => page.getByRole('button', { name: 'Next' }).click();

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-external' });
    ({ server, page } = session);
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('creates the pending CA with the wizard and shows its CSR', async () => {
    await session.nav('Authorities');
    await page.getByRole('link', { name: 'Create CA' }).first().click();
    await page.getByText('Signed by an outside CA', { exact: true }).click();
    await next();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('e2e-outside-issuing');
    await page.getByLabel('Common name (CN)').fill('E2E Outside Issuing CA');
    await page.getByLabel('Organization (O)').fill('PKI Manager E2E');
    await next();
    await page.getByLabel('Key type').selectOption('ec-p256');
    await next();
    // no validity to give: the outside CA sets the dates
    expect(await page.getByLabel('Validity (days)').count()).toBe(0);
    await page.getByTestId('external-validity').waitFor();
    await page.getByLabel('Path length').fill('0');
    await next();
    await page.getByText('set by the outside CA').waitFor();
    await page.getByRole('button', { name: 'Create CA and CSR' }).click();
    await page.getByRole('heading', { name: 'e2e-outside-issuing' }).waitFor();
    caId = page.url().split('/cas/')[1]!;
    expect(caId).toMatch(/^ca_/);
    await page.getByText('Certificate signing request', { exact: true }).waitFor();
    csrPem = `${(await page.locator('pre').filter({ hasText: 'BEGIN CERTIFICATE REQUEST' }).textContent())!}\n`;
    const view = await server.authority.cas.get(caId);
    expect(view.ca.status).toBe('pending');
    const req = opensslRaw(['req', '-verify', '-noout', '-subject'], Buffer.from(csrPem));
    expect(req.output).toMatch(/verify OK/i);
    expect(req.stdout).toMatch(/CN\s*=\s*E2E Outside Issuing CA/);
    await session.shot('ca-external-pending');
  }, 90_000);

  it('refuses a certificate for another subject or an unverifiable issuer, then imports it', async () => {
    const certificate = page.getByLabel('Signed CA certificate (PEM)');
    const issuer = page.getByLabel('Issuer certificate (PEM)');
    const importButton = page.getByRole('button', { name: 'Import certificate' });
    const errorCode = () => page.locator('[data-error-code]').getAttribute('data-error-code');

    const renamed = opensslSignCaCsr(csrPem, undefined, { subject: '/O=PKI Manager E2E/CN=Someone Else' });
    await certificate.fill(renamed.subPem);
    await issuer.fill(renamed.rootPem);
    await importButton.click();
    await expect.poll(errorCode).toBe('ca.certificate_mismatch');
    await page.getByText(/is not the CSR's subject/).waitFor();

    const outside = opensslSignCaCsr(csrPem, '/CN=E2E Outside Root');
    await certificate.fill(outside.subPem);
    await issuer.fill('');
    await importButton.click();
    await expect.poll(errorCode).toBe('ca.issuer_unverified');
    await page.getByText(/is not a CA here: give its certificate/).waitFor();
    expect((await server.authority.cas.get(caId)).ca.status).toBe('pending');

    await issuer.fill(outside.rootPem);
    await importButton.click();
    await page.getByText('CA certificate', { exact: true }).waitFor();
    expect(await page.getByLabel('Signed CA certificate (PEM)').count()).toBe(0);
    await page.getByText('CN=E2E Outside Root').first().waitFor();
    const view = await server.authority.cas.get(caId);
    expect(view.ca).toMatchObject({ status: 'active', issuerDn: 'CN=E2E Outside Root', parentId: null });
    const v = opensslVerify({ leafPem: view.certificatePem!, rootPem: outside.rootPem, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);
    // the chain the page shows (and downloads): this CA, then the outside root stored at import
    const chain = (await page.locator('pre').filter({ hasText: 'BEGIN CERTIFICATE' }).allTextContents()).find(
      (t) => (t.match(/BEGIN CERTIFICATE-/g) ?? []).length > 1,
    );
    const flat = (pem: string) => pem.replace(/\s/g, '');
    expect(flat(chain ?? '')).toBe(flat(view.certificatePem! + outside.rootPem));
    await page.getByRole('heading', { name: 'e2e-outside-issuing' }).scrollIntoViewIfNeeded();
    await session.shot('ca-external-imported');
  }, 90_000);
});
