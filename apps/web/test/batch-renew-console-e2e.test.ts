// End to end: the batch Renew action on the certificate list in Debian's Chromium against a real `pkim serve`: two
// certificates ticked, renewed with a validity of 10 days and the old ones revoked as superseded. The new
// certificates are read by openssl (chain verified, lifetime 10 days); the CRL read by openssl lists the old ones.
// "Reuse the existing keys": a batch with one certificate whose profile does not allow it is refused in the dialog
// (nothing renewed); two of a profile with allowKeyReuse are renewed, openssl reads the old public keys in the new
// certificates and verifies their chains. Screenshot: certificates-batch-renew.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { BUILT_IN_PROFILES } from '@pkim/core';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslCrlVerifyOnly, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createRootAndIssuingCa } from './support/console-pki';

const ADMIN = { id: 'usr_batch_renew_e2e', name: 'batch-renew-e2e', role: 'admin' as const };
const POLL = { timeout: 30_000 };
const NAMES = ['a.renew-e2e.example', 'b.renew-e2e.example'];
const DAY = 86_400_000;
/** tls-server whose renewals may keep the key */
const REUSE_PROFILE = { ...BUILT_IN_PROFILES['tls-server'], name: 'tls-server-reuse', allowKeyReuse: true };
const REUSE_NAMES = ['a.reuse-e2e.example', 'b.reuse-e2e.example'];
const PLAIN = 'plain.reuse-e2e.example';

describe('web console batch Renew with a validity (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let rootPem = '';
  let issuingPem = '';
  let issuingId = '';
  const old = new Map<string, { id: string; serial: string }>();

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-batch-renew-e2e', authority: { customProfiles: [REUSE_PROFILE] } });
    ({ server, page } = session);
    const ca = await createRootAndIssuingCa(server.authority, 'Batch Renew E2E', ADMIN);
    ({ rootPem, issuingPem } = ca);
    issuingId = ca.issuing.id;
    for (const cn of NAMES) {
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
      old.set(cn, { id: c.certificate.id, serial: c.certificate.serialHex });
    }
    // keys kept by the server, so that a renewal may reuse them; PLAIN's profile does not allow it
    for (const cn of [...REUSE_NAMES, PLAIN]) {
      const c = await server.authority.issuance.issueWithKey(
        {
          caId: issuingId,
          profile: cn === PLAIN ? 'tls-server' : REUSE_PROFILE.name,
          subject: { commonName: cn },
          sans: { dns: [cn] },
          keyType: 'ec-p256',
          keepKey: true,
        },
        ADMIN,
      );
      old.set(cn, { id: c.certificate.id, serial: c.certificate.serialHex });
    }
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('renews two ticked certificates for 10 days, the old revoked; openssl reads the new and the CRL', async () => {
    await page.goto(`${session.base}/certificates?caId=${issuingId}&status=active`);
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    for (const n of NAMES) await page.getByLabel(`Select ${n}`).check();
    await expect.poll(() => page.getByTestId('batch-bar').textContent(), POLL).toContain('2 certificates selected');
    await page.getByTestId('batch-bar').getByRole('button', { name: 'Renew' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Validity (days)').fill('0');
    await dialog.getByText('Validity: a whole number of days, 1 or more').waitFor(POLL);
    expect(await dialog.getByRole('button', { name: 'Renew certificates' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Validity (days)').fill('10');
    await dialog.getByLabel('Revoke the old certificates as superseded').check();
    await dialog.getByRole('button', { name: 'Renew certificates' }).click();
    await page.locator('[data-bulk-job][data-state="succeeded"]').waitFor(POLL);
    await expect.poll(() => page.getByTestId('bulk-counts').textContent(), POLL).toContain('2 renewed, 0 failed');
    for (const n of NAMES) {
      expect(await page.locator(`[data-batch-item="${old.get(n)!.serial}"]`).getAttribute('data-outcome')).toBe(
        'renewed',
      );
    }

    const listed = (await server.authority.certificates.list({ caId: issuingId, limit: 50 }, ADMIN)).items;
    for (const n of NAMES) {
      const renewed = listed.filter((c) => c.commonName === n && c.status === 'active');
      expect(renewed, n).toHaveLength(1);
      expect(renewed[0]!.id).not.toBe(old.get(n)!.id);
      const pem = (await server.authority.certificates.find(renewed[0]!.id)).certificatePem;
      const v = opensslVerify({ leafPem: pem, chainPems: [issuingPem], rootPem, purpose: 'sslserver', hostname: n });
      expect(v.ok, v.output).toBe(true);
      const dates = openssl(['x509', '-in', '@c.pem', '-noout', '-startdate', '-enddate'], { 'c.pem': pem }).output;
      const from = Date.parse(/notBefore=(.+)/.exec(dates)![1]!);
      const to = Date.parse(/notAfter=(.+)/.exec(dates)![1]!);
      // 10 days, plus at most the backdating of notBefore
      expect(to - from).toBeGreaterThanOrEqual(10 * DAY);
      expect(to - from).toBeLessThanOrEqual(10 * DAY + 5 * 60_000);
    }

    const res = await fetch(`${session.base}/crl/${issuingId}.crl`);
    expect(res.status).toBe(200);
    const crl = opensslCrlVerifyOnly(new Uint8Array(await res.arrayBuffer()), issuingPem);
    expect(crl.ok, crl.text).toBe(true);
    const text = crl.text.toLowerCase().replace(/\s+/g, ' ');
    for (const n of NAMES) expect(text).toContain(`serial number: ${old.get(n)!.serial}`);
    expect(text.match(/superseded/g)).toHaveLength(2);
  }, 90_000);

  it('renews two certificates reusing their keys: openssl reads the old public keys, the chains verify', async () => {
    const publicKey = (pem: string) => {
      const r = openssl(['x509', '-in', '@c.pem', '-noout', '-pubkey'], { 'c.pem': pem });
      expect(r.ok, r.output).toBe(true);
      return r.output.trim();
    };
    await page.goto(`${session.base}/certificates?caId=${issuingId}&status=active`);
    await page.getByRole('heading', { name: 'Certificates' }).waitFor();
    for (const n of [...REUSE_NAMES, PLAIN]) await page.getByLabel(`Select ${n}`).check();
    await page.getByTestId('batch-bar').getByRole('button', { name: 'Renew' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reuse the existing keys').check();
    await dialog.getByText('and its existing key.').waitFor(POLL);
    await dialog.getByRole('button', { name: 'Renew certificates' }).click();
    // PLAIN's profile does not allow key reuse: the whole batch is refused, in the dialog, nothing renewed
    await dialog.locator('[data-error-code="renewal.key_reuse_not_allowed"]').waitFor(POLL);
    expect(await dialog.getByText(`certificate ${old.get(PLAIN)!.id}: profile tls-server`).count()).toBe(1);
    for (const n of [...REUSE_NAMES, PLAIN]) {
      expect((await server.authority.certificates.get(old.get(n)!.id)).renewedBy, n).toEqual([]);
    }
    await page.keyboard.press('Escape');
    await page.getByLabel(`Select ${PLAIN}`).uncheck();
    await expect.poll(() => page.getByTestId('batch-bar').textContent(), POLL).toContain('2 certificates selected');
    await page.getByTestId('batch-bar').getByRole('button', { name: 'Renew' }).click();
    await dialog.getByLabel('Reuse the existing keys').check();
    await session.shot('certificates-batch-renew');
    await dialog.getByRole('button', { name: 'Renew certificates' }).click();
    await page.locator('[data-bulk-job][data-state="succeeded"]').waitFor(POLL);
    await expect.poll(() => page.getByTestId('bulk-counts').textContent(), POLL).toContain('2 renewed, 0 failed');

    for (const n of REUSE_NAMES) {
      const was = await server.authority.certificates.get(old.get(n)!.id);
      expect(was.renewedBy, n).toHaveLength(1);
      const renewed = await server.authority.certificates.get(was.renewedBy[0]!);
      expect(renewed.certificate.commonName).toBe(n);
      expect(publicKey(renewed.certificatePem)).toBe(publicKey(was.certificatePem));
      const v = opensslVerify({
        leafPem: renewed.certificatePem,
        chainPems: [issuingPem],
        rootPem,
        purpose: 'sslserver',
        hostname: n,
      });
      expect(v.ok, v.output).toBe(true);
    }
  }, 90_000);
});
