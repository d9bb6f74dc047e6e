// End to end: Renew on a certificate page with a pasted CSR, in Debian's Chromium against a real `pkim serve`
// (issue #16 item 1): the CSR made by openssl, decoded in the dialog, the new certificate verified by openssl, its
// public key the CSR's, its validity (10 days) and SANs (one added) as set in the dialog, invalid values refused in the
// dialog, linked to the old one (renewedFrom/renewedBy). The dialog shows the certificate's SANs; renewed with them
// as shown (a server-generated key), the new certificate has the same names (openssl).
// A subordinate CA certificate made by Vault `sign-intermediate` (its key held elsewhere) is renewed with "Renew with
// CSR": the dialog takes only a CSR (no key choice, no SANs); a refusal of the server is shown in the dialog with its
// code, nothing renewed; renewed, openssl verifies the new CA certificate against the root, reads the CSR's public key
// and the old subject in it, and verifies a leaf the new key signs up to the root.
// Screenshots: certificate-renew-csr.png, certificate-renew-subordinate-ca.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { leafSignedBy, openssl, opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createRootAndIssuingCa } from './support/console-pki';

const ADMIN = { id: 'usr_renew_e2e', name: 'renew-e2e', role: 'admin' as const };
const POLL = { timeout: 30_000 };
const CN = 'csr.renew-e2e.example';
const EXTRA = 'extra.renew-e2e.example';
const IP = '192.0.2.10';
const DAY = 86_400_000;
const SUB_CA = 'Renew CSR E2E Sub CA';

/**
 * openssl's -startdate/-enddate text says `days` of validity (plus at most the backdating of notBefore), and openssl
 * reads the same public key in the certificate as in the CSR
 */
function expectDaysAndKey(datesText: string, days: number, certificatePem: string, csrPem: string): void {
  const from = Date.parse(/notBefore=(.+)/.exec(datesText)![1]!);
  const to = Date.parse(/notAfter=(.+)/.exec(datesText)![1]!);
  expect(to - from).toBeGreaterThanOrEqual(days * DAY);
  expect(to - from).toBeLessThanOrEqual(days * DAY + 5 * 60_000);
  const certKey = openssl(['x509', '-in', '@c.pem', '-noout', '-pubkey'], { 'c.pem': certificatePem });
  const csrKey = openssl(['req', '-in', '@r.pem', '-noout', '-pubkey'], { 'r.pem': csrPem });
  expect(certKey.ok && csrKey.ok, certKey.output + csrKey.output).toBe(true);
  expect(certKey.output.trim()).toBe(csrKey.output.trim());
}

describe('web console renewal with a pasted CSR (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let rootPem = '';
  let issuingPem = '';
  let oldId = '';
  let subId = '';

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-renew-e2e' });
    ({ server, page } = session);
    const ca = await createRootAndIssuingCa(server.authority, 'Renew E2E', ADMIN);
    ({ rootPem, issuingPem } = ca);
    const old = await server.authority.issuance.issueWithKey(
      {
        caId: ca.issuing.id,
        profile: 'tls-server',
        subject: { commonName: CN },
        sans: { dns: [CN], ip: [IP] },
        keyType: 'ec-p256',
      },
      ADMIN,
    );
    oldId = old.certificate.id;
    // a subordinate CA certificate of the root, signed from a CSR (its key stays with the test) by sign-intermediate
    const mount = await server.authority.vault.mounts.mount({ path: 'renew-sub', ca: ca.root.id }, ADMIN);
    const subCsr = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${SUB_CA}` });
    const signed = await server.authority.vault.pki.signIntermediate(mount, 'default', { csr: subCsr.csrPem }, ADMIN);
    const sub = signed.data as { certificate: string; serial_number: string };
    const v = opensslVerify({ leafPem: `${sub.certificate}\n`, rootPem });
    expect(v.ok, v.output).toBe(true);
    subId = (await server.authority.certificates.find(sub.serial_number.replace(/:/g, ''))).id;
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('renews with a pasted CSR, 10 days, an extra SAN: the CSR key, openssl verifies, linked', async () => {
    const csr = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${CN}`, sans: [`DNS:${CN}`] });
    await page.goto(`${session.base}/certificates/${oldId}`);
    await page.getByRole('heading', { name: CN }).waitFor();
    await page.getByRole('button', { name: 'Renew', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Key', { exact: true }).selectOption('csr');
    await dialog.getByLabel('Certificate signing request (PEM)').fill(csr.csrPem);
    await dialog.getByTestId('csr-preview').waitFor(POLL);
    // the SANs field shows the certificate's names
    expect(await dialog.getByLabel('SANs').inputValue()).toBe(`${CN}\n${IP}`);
    // validation shown in the dialog, nothing sent while it stands: each bad value alone holds the button
    const renew = dialog.getByRole('button', { name: 'Renew certificate' });
    await dialog.getByLabel('Validity (days)').fill('0');
    await dialog.getByText('Validity: a whole number of days, 1 or more').waitFor(POLL);
    expect(await renew.isDisabled()).toBe(true);
    await dialog.getByLabel('Validity (days)').fill('10');
    await dialog.getByLabel('SANs').fill(`${CN}, bad_name!`);
    await dialog.getByText('Not a DNS name, IP address, email or URI: bad_name!').waitFor(POLL);
    expect(await dialog.getByText('Validity: a whole number of days, 1 or more').count()).toBe(0);
    expect(await renew.isDisabled()).toBe(true);
    await dialog.getByLabel('SANs').fill(`${CN}\n${EXTRA}`);
    await expect.poll(() => renew.isEnabled(), POLL).toBe(true);
    await session.shot('certificate-renew-csr');
    await renew.click();
    await page.getByTestId('renewed').waitFor(POLL);
    // a CSR renewal has no private key to hand out
    expect(await page.getByRole('button', { name: /New private key/ }).count()).toBe(0);

    const newSerial = (await page.getByTestId('renewed').getByRole('link').textContent())!.trim();
    const renewed = await server.authority.certificates.find(newSerial);
    expect(renewed.commonName).toBe(CN);
    expect(renewed.renewedFrom).toBe(oldId);
    expect((await server.authority.certificates.find(oldId)).status).toBe('active');
    const v = opensslVerify({ leafPem: renewed.certificatePem, chainPems: [issuingPem], rootPem });
    expect(v.ok, v.output).toBe(true);
    const text = openssl(['x509', '-in', '@c.pem', '-noout', '-startdate', '-enddate', '-ext', 'subjectAltName'], {
      'c.pem': renewed.certificatePem,
    });
    expect(text.ok, text.output).toBe(true);
    expect(text.output).toContain(`DNS:${CN}, DNS:${EXTRA}`);
    expectDaysAndKey(text.output, 10, renewed.certificatePem, csr.csrPem);

    // the old certificate's page links the renewal
    await page.goto(`${session.base}/certificates/${oldId}`);
    await page.getByTestId('renewed-by').getByRole('link', { name: renewed.id }).waitFor(POLL);
  }, 60_000);

  it('renews with the SANs as the dialog shows them: the new certificate has the same names (openssl)', async () => {
    await page.goto(`${session.base}/certificates/${oldId}`);
    await page.getByRole('heading', { name: CN }).waitFor();
    await page.getByRole('button', { name: 'Renew', exact: true }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByLabel('SANs').inputValue()).toBe(`${CN}\n${IP}`);
    await dialog.getByRole('button', { name: 'Renew certificate' }).click();
    await page.getByTestId('renewed').waitFor(POLL);
    // a server-generated key: shown once
    await page.getByRole('button', { name: /New private key/ }).waitFor(POLL);

    const newSerial = (await page.getByTestId('renewed').getByRole('link').textContent())!.trim();
    const renewed = await server.authority.certificates.find(newSerial);
    expect(renewed.renewedFrom).toBe(oldId);
    const v = opensslVerify({ leafPem: renewed.certificatePem, chainPems: [issuingPem], rootPem, hostname: CN });
    expect(v.ok, v.output).toBe(true);
    const text = openssl(['x509', '-in', '@c.pem', '-noout', '-ext', 'subjectAltName'], {
      'c.pem': renewed.certificatePem,
    });
    expect(text.ok, text.output).toBe(true);
    expect(text.output).toContain(`DNS:${CN}, IP Address:${IP}`);
  }, 60_000);

  it('renews a sign-intermediate subordinate CA with a new CSR: openssl verifies it and a leaf it signs', async () => {
    const holder = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Key Holder Request' });
    await page.goto(`${session.base}/certificates/${subId}`);
    await page.getByRole('heading', { name: SUB_CA }).waitFor();
    expect(await page.getByTestId('subordinate-ca').textContent()).toContain('sign-intermediate');
    expect(await page.getByRole('button', { name: 'Renew', exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'Renew with CSR' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Renew this subordinate CA certificate?').waitFor(POLL);
    // a CSR only: no key choice, no SANs
    expect(await dialog.getByLabel('Key', { exact: true }).count()).toBe(0);
    expect(await dialog.getByLabel('SANs').count()).toBe(0);
    const renew = dialog.getByRole('button', { name: 'Renew certificate' });
    expect(await renew.isDisabled()).toBe(true);
    await dialog.getByLabel('Certificate signing request (PEM)').fill(holder.csrPem);
    await dialog.getByTestId('csr-preview').waitFor(POLL);

    // past the root's own notAfter: the server's lint refuses it, the dialog shows the code, nothing renewed
    await dialog.getByLabel('Validity (days)').fill('4000');
    await renew.click();
    const refusal = dialog.locator('[data-error-code]');
    await refusal.waitFor(POLL);
    expect(await refusal.getAttribute('data-error-code')).toBe('lint.lifetime_beyond_issuer');
    expect((await server.authority.certificates.get(subId)).renewedBy).toEqual([]);

    await session.shot('certificate-renew-subordinate-ca');
    await dialog.getByLabel('Validity (days)').fill('365');
    await renew.click();
    await page.getByTestId('renewed').waitFor(POLL);
    expect(await page.getByRole('button', { name: /private key/i }).count()).toBe(0);

    const newSerial = (await page.getByTestId('renewed').getByRole('link').textContent())!.trim();
    const renewed = await server.authority.certificates.find(newSerial);
    expect(renewed.renewedFrom).toBe(subId);
    expect(renewed.profile).toBe('intermediate-ca');
    expect((await server.authority.certificates.find(subId)).status).toBe('active');
    // a CA certificate of the root for the CSR's key, with the old subject (not the CSR's), valid 365 days
    const v = opensslVerify({ leafPem: renewed.certificatePem, rootPem });
    expect(v.ok, v.output).toBe(true);
    const text = openssl(
      ['x509', '-in', '@c.pem', '-noout', '-subject', '-startdate', '-enddate', '-ext', 'basicConstraints'],
      {
        'c.pem': renewed.certificatePem,
      },
    );
    expect(text.ok, text.output).toBe(true);
    expect(text.output).toContain(`subject=CN = ${SUB_CA}`);
    expect(text.output).toMatch(/CA:TRUE/);
    expectDaysAndKey(text.output, 365, renewed.certificatePem, holder.csrPem);
    // the key holder's new CA works: a leaf its key signs verifies up to the root through it
    const leaf = leafSignedBy(renewed.certificatePem, holder.keyPem, 'www.renew-csr-e2e.example');
    const chained = opensslVerify({
      leafPem: leaf,
      chainPems: [renewed.certificatePem],
      rootPem,
      purpose: 'sslserver',
    });
    expect(chained.ok, chained.output).toBe(true);

    // the old certificate's page links the renewal
    await page.goto(`${session.base}/certificates/${subId}`);
    await page.getByTestId('renewed-by').getByRole('link', { name: renewed.id }).waitFor(POLL);
  }, 90_000);
});
