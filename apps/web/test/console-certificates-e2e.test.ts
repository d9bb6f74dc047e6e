// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): issuing from a pasted CSR and with a
// server-generated key, revoking (the certificate page, the CRL download read by openssl, the audit log), and the
// screenshots of the everyday pages, and the list sorted "Revoked latest" (two more certificates revoked in the
// reverse of their issuance order). The CAs are the ones the wizard makes, created through the authority.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, readDownload, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, issueServerCertificate } from './support/console-pki';

const POLL = { timeout: 15_000 };

describe('web console: issuing, revoking and the everyday pages (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let hierarchy: Awaited<ReturnType<typeof createE2eHierarchy>>;
  const ids: { root?: string; int?: string; csrCert?: string; keyCert?: string } = {};

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-certs' });
    ({ server, page, base } = session);
    hierarchy = await createE2eHierarchy(server.authority);
    ids.root = hierarchy.root.id;
    ids.int = hierarchy.int.id;
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('issues from a pasted CSR after showing its decoded preview', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=www.example.com',
      sans: ['DNS:www.example.com', 'DNS:example.com'],
    });
    await page.goto(`${base}/issue?caId=${ids.int}`);
    await page.getByRole('heading', { name: 'Issue a certificate' }).waitFor();
    await page.getByLabel('Certificate signing request (PEM)').fill(csrPem);
    const preview = page.getByTestId('csr-preview');
    await preview.waitFor();
    expect(await preview.textContent()).toContain('www.example.com, example.com');
    expect(await preview.textContent()).toContain('ec-p256');
    await session.shot('issue-from-csr');
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    await page.getByTestId('issued-result').waitFor();
    await page.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: 'www.example.com' }).waitFor();
    ids.csrCert = page.url().split('/certificates/')[1];
    const cert = await server.authority.certificates.get(ids.csrCert!);
    const chain = await server.authority.cas.get(ids.int!);
    const root = await server.authority.cas.get(ids.root!);
    const v = opensslVerify({
      leafPem: cert.certificatePem,
      chainPems: [chain.certificatePem!],
      rootPem: root.certificatePem!,
      purpose: 'sslserver',
      hostname: 'www.example.com',
    });
    expect(v.ok, v.output).toBe(true);
    await page.getByText('Subject alternative names').waitFor();
    await session.shot('certificate-detail');
  }, 60_000);

  it('issues with a server-generated key offered once for download', async () => {
    await page.goto(`${base}/issue?caId=${ids.int}`);
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    await page.getByLabel('Common name').fill('api.example.com');
    await page.getByLabel('Subject alternative names').fill('api.example.com, 10.1.2.3');
    await page.getByLabel('Validity (days)').fill('30');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    await page.getByTestId('issued-result').waitFor();
    await session.shot('issue-generated-key');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-key').click()]);
    const keyPem = (await readDownload(download)).toString('utf8');
    expect(keyPem).toMatch(/-----BEGIN PRIVATE KEY-----/);
    await page.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: 'api.example.com' }).waitFor();
    ids.keyCert = page.url().split('/certificates/')[1];
    const cert = await server.authority.certificates.get(ids.keyCert!);
    // the downloaded key is the certificate's key: same public key
    const pubFromKey = execFileSync('openssl', ['pkey', '-pubout'], { input: keyPem }).toString();
    const pubFromCert = execFileSync('openssl', ['x509', '-noout', '-pubkey'], {
      input: cert.certificatePem,
    }).toString();
    expect(pubFromKey).toBe(pubFromCert);
    // the key was not stored: the database holds no copy of it
    const body = keyPem.split('\n').slice(1, 3).join('');
    expect(readFileSync(join(session.dataDir, 'pkim.db')).includes(Buffer.from(body))).toBe(false);
  }, 60_000);

  it('revokes with a reason; the certificate, the CRL download and the audit log show it', async () => {
    await page.goto(`${base}/certificates/${ids.csrCert}`);
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByLabel('Reason').selectOption('keyCompromise');
    await session.shot('revoke-confirmation');
    await page.getByRole('button', { name: 'Revoke certificate' }).click();
    await page.getByText(/Revoked .* reason: keyCompromise/).waitFor();
    expect(await page.locator('[data-status="revoked"]').count()).toBeGreaterThan(0);

    await page.goto(`${base}/cas/${ids.int}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('crl-download').click()]);
    const crlDer = await readDownload(download);
    const issuer = await server.authority.cas.get(ids.int!);
    const crl = opensslCrlVerify(crlDer, issuer.certificatePem!);
    expect(crl.ok, crl.text).toBe(true);
    const serial = (await server.authority.certificates.get(ids.csrCert!)).certificate.serialHex;
    expect(crl.text.toLowerCase().replace(/:/g, '')).toContain(serial);
    expect(crl.text).toContain('Key Compromise');

    await session.nav('Audit log');
    await page.getByTestId('audit-chain-ok').waitFor();
    await page.locator('[data-action="certificate.revoked"]').first().waitFor();
    await session.shot('audit-log');
  }, 60_000);

  it('captures every page (dashboard light and dark)', async () => {
    await session.signIn('admin', session.adminPassword);
    await page.getByTestId('expiry-chart').waitFor();
    await session.shot('dashboard-light');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await session.shot('dashboard-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await session.nav('Certificates');
    await page.getByTestId('certificates-table').waitFor();
    await session.shot('certificates');
    await session.nav('Domains');
    await page.getByTestId('domains-table').waitFor();
    expect(await page.getByTestId('domains-table').textContent()).toContain('api.example.com');
    await session.shot('domains');
    await page.getByLabel('Global search').fill('example.com');
    await page.keyboard.press('Enter');
    await page.getByTestId('search-certificates').waitFor();
    await session.shot('search');
    await session.nav('Key backends');
    await page.locator('[data-backend="software"]').waitFor();
    await session.shot('key-backends');
    // deep link reload answers the console (SPA fallback), not a JSON 404
    await page.goto(`${base}/certificates/${ids.keyCert}`);
    await page.getByRole('heading', { name: 'api.example.com' }).waitFor();
  }, 90_000);

  it('sorts "Revoked latest": the last revoked first, whatever the issuance order', async () => {
    // older is issued first and revoked last: each order of the list tells the other apart
    const older = await issueServerCertificate(server.authority, hierarchy, 'older.example.com');
    const newer = await issueServerCertificate(server.authority, hierarchy, 'newer.example.com');
    const revokeInConsole = async (id: string, commonName: string) => {
      await page.goto(`${base}/certificates/${id}`);
      await page.getByRole('heading', { name: commonName }).waitFor();
      await page.getByRole('button', { name: 'Revoke' }).click();
      await page.getByLabel('Reason').selectOption('superseded');
      await page.getByRole('button', { name: 'Revoke certificate' }).click();
      await page.getByText(/Revoked .* reason: superseded/).waitFor();
      return (await server.authority.certificates.get(id)).certificate.revokedAt!;
    };
    const firstAt = await revokeInConsole(newer.certificate.id, 'newer.example.com');
    // the second revocation a later millisecond than the first, so revocation time alone orders them
    while (Date.now() <= firstAt) await new Promise((r) => setTimeout(r, 1));
    const secondAt = await revokeInConsole(older.certificate.id, 'older.example.com');
    expect(secondAt).toBeGreaterThan(firstAt);

    const rows = () =>
      page.locator('[data-testid="certificates-table"] tbody tr a[href^="/certificates/"]').allTextContents();
    await session.nav('Certificates');
    await expect
      .poll(rows, POLL)
      .toEqual(['newer.example.com', 'older.example.com', 'api.example.com', 'www.example.com']);
    await page.getByLabel('Sort').selectOption({ label: 'Revoked latest' });
    // the revoked certificates only, the latest revocation first (www.example.com: revoked by the step above)
    await expect.poll(rows, POLL).toEqual(['older.example.com', 'newer.example.com', 'www.example.com']);
    expect(new URL(page.url()).searchParams.get('sort')).toBe('revoked_desc');
    // the order is the link's: a reload shows it again
    await page.reload();
    await expect.poll(rows, POLL).toEqual(['older.example.com', 'newer.example.com', 'www.example.com']);
    expect(await page.getByLabel('Sort').inputValue()).toBe('revoked_desc');
  }, 90_000);
});
