// End to end: batch actions on the certificate list in Debian's Chromium against a real `pkim serve` (issue #16):
// three certificates ticked, downloaded as one ZIP (each certificate read by openssl x509), then revoked with the
// reason keyCompromise (the job's progress and per-certificate outcomes on the page; the CRL read by openssl lists
// the three with that reason, and openssl verify refuses them). Screenshots: certificates-batch.png,
// certificates-batch-revoked.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { unzipSync } from 'fflate';
import type { RunningServer } from '@pkim/server';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslCrlVerifyOnly, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, readDownload, type ConsoleSession } from './support/console-browser';
import { createRootAndIssuingCa } from './support/console-pki';

const ADMIN = { id: 'usr_batch_e2e', name: 'batch-e2e', role: 'admin' as const };
const POLL = { timeout: 30_000 };
const NAMES = ['a.batch-e2e.example', 'b.batch-e2e.example', 'c.batch-e2e.example'];
const OTHER = 'keep.batch-e2e.example';

describe('web console batch actions on the certificate list (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let rootPem = '';
  let issuingPem = '';
  let issuingId = '';
  const serials = new Map<string, string>();

  const download = async (click: () => Promise<void>) => {
    const [d] = await Promise.all([page.waitForEvent('download'), click()]);
    return { name: d.suggestedFilename(), bytes: await readDownload(d) };
  };
  /** the certificate list showing only this test's certificates, the three ticked */
  const selectThree = async () => {
    await page.goto(`${session.base}/certificates?caId=${issuingId}&status=active`);
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    for (const n of NAMES) await page.getByLabel(`Select ${n}`).check();
    await expect.poll(() => page.getByTestId('batch-bar').textContent(), POLL).toContain('3 certificates selected');
  };

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-batch-e2e' });
    ({ server, page } = session);
    const ca = await createRootAndIssuingCa(server.authority, 'Batch E2E', ADMIN);
    ({ rootPem, issuingPem } = ca);
    issuingId = ca.issuing.id;
    for (const cn of [...NAMES, OTHER]) {
      const c = await server.authority.issuance.issueWithKey(
        {
          caId: issuingId,
          profile: 'tls-server',
          subject: { commonName: cn },
          sans: { dns: [cn] },
          keyType: 'ec-p256',
        },
        ADMIN,
      );
      serials.set(cn, c.certificate.serialHex);
    }
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('downloads three ticked certificates as one ZIP; openssl reads each', async () => {
    await selectThree();
    await page.getByRole('button', { name: 'Download ZIP' }).click();
    await page.locator('[data-bulk-job][data-state="succeeded"]').waitFor(POLL);
    await expect.poll(() => page.getByTestId('bulk-counts').textContent(), POLL).toContain('3 exported, 0 failed');
    const zip = await download(() => page.getByRole('link', { name: 'certificates.zip' }).click());
    const entries = unzipSync(new Uint8Array(zip.bytes));
    const leaves = Object.entries(entries).filter(([name]) => !name.endsWith('.chain.pem'));
    expect(leaves).toHaveLength(3);
    const seen: string[] = [];
    for (const [name, pem] of leaves) {
      const x = openssl(['x509', '-in', '@c.pem', '-noout', '-subject', '-serial'], { 'c.pem': pem });
      expect(x.ok, `${name}: ${x.output}`).toBe(true);
      const cn = /CN\s*=\s*(\S+)/.exec(x.output)?.[1] ?? '';
      expect(x.output.toLowerCase()).toContain(`serial=${serials.get(cn)}`);
      const v = opensslVerify({ leafPem: Buffer.from(pem).toString(), chainPems: [issuingPem], rootPem });
      expect(v.ok, v.output).toBe(true);
      seen.push(cn);
    }
    expect(seen.sort()).toEqual(NAMES);
  }, 60_000);

  it('revokes three ticked certificates (keyCompromise): progress, outcomes, the CRL read by openssl', async () => {
    await selectThree();
    await session.shot('certificates-batch');
    await page.getByTestId('batch-bar').getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByLabel('Reason').selectOption('keyCompromise');
    await dialog.getByRole('button', { name: 'Revoke certificates' }).click();
    await page.getByRole('progressbar', { name: 'Bulk progress' }).waitFor(POLL);
    await page.locator('[data-bulk-job][data-state="succeeded"]').waitFor(POLL);
    await expect.poll(() => page.getByTestId('bulk-counts').textContent(), POLL).toContain('3 revoked, 0 failed');
    for (const n of NAMES) {
      expect(await page.locator(`[data-batch-item="${serials.get(n)}"]`).getAttribute('data-outcome')).toBe('revoked');
    }
    await session.shot('certificates-batch-revoked');

    const res = await fetch(`${session.base}/crl/${issuingId}.crl`);
    expect(res.status).toBe(200);
    const der = new Uint8Array(await res.arrayBuffer());
    const crl = opensslCrlVerifyOnly(der, issuingPem);
    expect(crl.ok, crl.text).toBe(true);
    const text = crl.text.toLowerCase().replace(/\s+/g, ' ');
    for (const n of NAMES) expect(text).toContain(`serial number: ${serials.get(n)}`);
    expect(text).not.toContain(`serial number: ${serials.get(OTHER)}`);
    expect(text.match(/key compromise/g)).toHaveLength(3);
    const leaf = (await server.authority.certificates.find(serials.get(NAMES[0]!)!)).certificatePem;
    const b64 = Buffer.from(der)
      .toString('base64')
      .replace(/.{1,64}/g, '$&\n');
    const pem = `-----BEGIN X509 CRL-----\n${b64}-----END X509 CRL-----\n`;
    const v = opensslVerify({ leafPem: leaf, chainPems: [issuingPem], rootPem, crlPems: [pem] });
    expect(v.ok).toBe(false);
    expect(v.output).toContain('certificate revoked');
  }, 60_000);
});
