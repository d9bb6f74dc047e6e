// End to end: the console's everyday pages in Debian's Chromium against a real `pkim serve` (issue #16): the Bulk page
// (a CSV uploaded, the dry run's per-row errors, the run's progress and results, the results CSV and the keys ZIP
// downloaded and read by openssl), Renew and Export on a certificate page, the inventory export of the certificate
// list (the REST route with the session cookie). Screenshot: docs/screenshots/bulk.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import type { RunningServer } from '@pkim/server';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, readDownload, type ConsoleSession } from './support/console-browser';
import { createRootAndIssuingCa } from './support/console-pki';

const ADMIN = { id: 'usr_bulk_e2e', name: 'bulk-e2e', role: 'admin' as const };
const POLL = { timeout: 30_000 };
const KEYS_PASSWORD = 'console keys password 7';
const CSV =
  'cn,o,sans,profile\n' +
  'one.bulk-e2e.example,"Example, Inc.",one.bulk-e2e.example;2001:db8::1,tls-server\n' +
  'two.bulk-e2e.example,Example,bad name.bulk-e2e.example,tls-server\n' +
  'three.bulk-e2e.example,Example,three.bulk-e2e.example;192.0.2.3,tls-server\n';

describe('web console bulk, renew and export end to end (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let rootPem = '';
  let issuingPem = '';
  let issuedId = '';

  const download = async (click: () => Promise<void>) => {
    const [d] = await Promise.all([page.waitForEvent('download'), click()]);
    return { name: d.suggestedFilename(), bytes: await readDownload(d) };
  };

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-bulk-e2e' });
    ({ server, page } = session);
    ({ rootPem, issuingPem } = await createRootAndIssuingCa(server.authority, 'Bulk E2E', ADMIN));
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('uploads a CSV, shows the dry run errors per row, issues with progress and offers the results', async () => {
    await session.nav('Bulk');
    await page.getByRole('heading', { name: 'Bulk issuance' }).waitFor();
    await page
      .getByLabel('CSV file')
      .setInputFiles({ name: 'hosts.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await page.getByLabel('Certificate authority').selectOption({ label: 'Bulk E2E Issuing' });
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.locator('[data-state="succeeded"]').waitFor(POLL);
    await expect.poll(() => page.getByTestId('bulk-counts').textContent(), POLL).toContain('2 valid, 1 failed');
    expect(await page.locator('[data-row-error="2"]').textContent()).toContain('lint.invalid_san');
    expect((await server.authority.certificates.list({ limit: 10 })).items).toHaveLength(0);

    await page.getByLabel('Password of the keys ZIP').fill(KEYS_PASSWORD);
    await page.getByRole('button', { name: 'Issue' }).click();
    await page.getByRole('progressbar', { name: 'Bulk progress' }).waitFor(POLL);
    await expect.poll(() => page.getByTestId('bulk-counts').textContent(), POLL).toContain('2 issued, 1 failed');
    await session.shot('bulk');

    const results = await download(() => page.getByRole('link', { name: 'results.csv' }).click());
    const rows: Record<string, string>[] = parse(results.bytes, { columns: true });
    expect(rows.map((r) => [r.row, r.status])).toEqual([
      ['1', 'issued'],
      ['2', 'failed'],
      ['3', 'issued'],
    ]);
    for (const r of rows.filter((x) => x.status === 'issued')) {
      const pem = (await server.authority.certificates.find(r.certificateId!)).certificatePem;
      const v = opensslVerify({ leafPem: pem, chainPems: [issuingPem], rootPem });
      expect(v.ok, v.output).toBe(true);
    }
    issuedId = rows[0]!.certificateId!;

    const keys = await download(() => page.getByRole('link', { name: 'keys.zip' }).click());
    const entries = unzipSync(new Uint8Array(keys.bytes));
    expect(Object.keys(entries)).toHaveLength(2);
    for (const p12 of Object.values(entries)) {
      const info = openssl(['pkcs12', '-info', '-in', '@k.p12', '-passin', `pass:${KEYS_PASSWORD}`, '-noenc'], {
        'k.p12': p12,
      });
      expect(info.ok, info.output).toBe(true);
      expect(info.output).toContain('-----BEGIN PRIVATE KEY-----');
    }
  }, 120_000);

  it('exports a certificate as DER and renews it (the old one revoked as superseded)', async () => {
    await page.goto(`${session.base}/certificates/${issuedId}`);
    await page.getByRole('heading', { name: 'one.bulk-e2e.example' }).waitFor();
    await page.getByRole('button', { name: 'Export' }).click();
    await page.getByRole('dialog').getByLabel('Format').selectOption('der');
    const der = await download(() => page.getByRole('dialog').getByRole('button', { name: 'Export' }).click());
    const read = openssl(['x509', '-inform', 'der', '-in', '@c.cer', '-noout', '-subject'], { 'c.cer': der.bytes });
    expect(read.ok, read.output).toBe(true);
    expect(read.output).toContain('one.bulk-e2e.example');

    await page.getByRole('button', { name: 'Renew' }).click();
    await page.getByRole('dialog').getByLabel('Revoke this certificate as superseded').check();
    await page.getByRole('dialog').getByRole('button', { name: 'Renew certificate' }).click();
    await page.getByTestId('renewed').waitFor(POLL);
    await session.shot('certificate-renewed');
    const old = await server.authority.certificates.find(issuedId);
    expect([old.status, old.revocationReason]).toEqual(['revoked', 'superseded']);
    const newSerial = (await page.getByTestId('renewed').getByRole('link').textContent())!.trim();
    const renewed = await server.authority.certificates.find(newSerial);
    expect(renewed.commonName).toBe('one.bulk-e2e.example');
    const v = opensslVerify({ leafPem: renewed.certificatePem, chainPems: [issuingPem], rootPem });
    expect(v.ok, v.output).toBe(true);
  }, 120_000);

  it('exports the filtered certificate list as a CSV inventory', async () => {
    await session.nav('Certificates');
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    await page.getByLabel('Filter by status').selectOption('revoked');
    await page.waitForURL(/status=revoked/);
    const report = await download(() => page.getByRole('link', { name: 'Export CSV' }).click());
    expect(report.name).toMatch(/\.csv$/);
    const rows: Record<string, string>[] = parse(report.bytes, { columns: true });
    expect(rows.map((r) => [r.common_name, r.status])).toEqual([['one.bulk-e2e.example', 'revoked']]);
  }, 60_000);
});
