// End to end: the single-certificate Renew dialog's "Reuse the current key" in Debian's Chromium against a real
// `pkim serve`. A certificate of a profile without allowKeyReuse, and one whose key the server did not keep, are
// refused in the dialog with their codes (`renewal.key_reuse_not_allowed`, `export.key_not_held`), nothing renewed.
// A certificate of a profile with allowKeyReuse whose key the server kept is renewed with its SANs edited to add URIs
// (`urn:uuid:…`, `spiffe://…`, which parseSanList once sent as DNS names, refused with 400): openssl reads the old
// public key and the URI SANs in the new certificate and verifies its chain.
// (A subordinate CA certificate of Vault `sign-intermediate` is renewed with a new CSR: renew-csr-console-e2e.test.ts.)
// Screenshot: certificate-renew-reuse-key.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { BUILT_IN_PROFILES } from '@pkim/core';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createRootAndIssuingCa } from './support/console-pki';

const ADMIN = { id: 'usr_renew_reuse_e2e', name: 'renew-reuse-e2e', role: 'admin' as const };
const POLL = { timeout: 30_000 };
/** tls-client (DNS, IP, URI and email SANs) whose renewals may keep the key */
const REUSE_PROFILE = { ...BUILT_IN_PROFILES['tls-client'], name: 'tls-client-reuse', allowKeyReuse: true };
const REUSED = 'kept.reuse-key-e2e.example';
const NOT_KEPT = 'not-kept.reuse-key-e2e.example';
const NOT_ALLOWED = 'not-allowed.reuse-key-e2e.example';
const URN = 'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6';
const SPIFFE = 'spiffe://reuse-key-e2e.example/ns/prod/sa/web';

describe('web console Renew reusing the current key (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let rootPem = '';
  let issuingPem = '';
  const ids = new Map<string, string>();

  const publicKey = (pem: string) => {
    const r = openssl(['x509', '-in', '@c.pem', '-noout', '-pubkey'], { 'c.pem': pem });
    expect(r.ok, r.output).toBe(true);
    return r.output.trim();
  };

  /** opens the Renew dialog of `cn` with "Reuse the current key" chosen */
  async function openReuse(cn: string) {
    await page.goto(`${session.base}/certificates/${ids.get(cn)}`);
    await page.getByRole('heading', { name: cn }).waitFor();
    await page.getByRole('button', { name: 'Renew', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Key', { exact: true }).selectOption('reuse');
    await dialog.getByText('and the same key.').waitFor(POLL);
    return dialog;
  }

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-renew-reuse-e2e', authority: { customProfiles: [REUSE_PROFILE] } });
    ({ server, page } = session);
    const ca = await createRootAndIssuingCa(server.authority, 'Renew Reuse E2E', ADMIN);
    ({ rootPem, issuingPem } = ca);
    for (const [cn, profile, keepKey] of [
      [REUSED, REUSE_PROFILE.name, true],
      [NOT_KEPT, REUSE_PROFILE.name, false],
      [NOT_ALLOWED, 'tls-client', true],
    ] as const) {
      const c = await server.authority.issuance.issueWithKey(
        { caId: ca.issuing.id, profile, subject: { commonName: cn }, sans: { dns: [cn] }, keyType: 'ec-p256', keepKey },
        ADMIN,
      );
      ids.set(cn, c.certificate.id);
    }
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it.each([
    [NOT_ALLOWED, 'renewal.key_reuse_not_allowed', 'profile tls-client does not allow a renewal to reuse the key'],
    [NOT_KEPT, 'export.key_not_held', 'the server does not hold the key of'],
  ])(
    '%s: refused in the dialog with %s, nothing renewed',
    async (cn, code, message) => {
      const dialog = await openReuse(cn);
      await dialog.getByRole('button', { name: 'Renew certificate' }).click();
      await dialog.locator(`[data-error-code="${code}"]`).waitFor(POLL);
      expect(await dialog.getByText(message).count()).toBe(1);
      expect((await server.authority.certificates.get(ids.get(cn)!)).renewedBy).toEqual([]);
      await page.keyboard.press('Escape');
    },
    60_000,
  );

  it('renews with the same key and added URI SANs: openssl reads the old public key and the URIs', async () => {
    const dialog = await openReuse(REUSED);
    expect(await dialog.getByLabel('SANs').inputValue()).toBe(REUSED);
    await dialog.getByLabel('SANs').fill(`${REUSED}\n${URN}\n${SPIFFE}`);
    const renew = dialog.getByRole('button', { name: 'Renew certificate' });
    await expect.poll(() => renew.isEnabled(), POLL).toBe(true);
    await session.shot('certificate-renew-reuse-key');
    await renew.click();
    await page.getByTestId('renewed').waitFor(POLL);
    expect(await page.getByTestId('renewed').textContent()).toContain('with the same key');
    await page.getByRole('button', { name: 'Private key (the same)' }).waitFor(POLL);

    const was = await server.authority.certificates.get(ids.get(REUSED)!);
    expect(was.renewedBy).toHaveLength(1);
    const renewed = await server.authority.certificates.get(was.renewedBy[0]!);
    expect(renewed.certificate.commonName).toBe(REUSED);
    expect(publicKey(renewed.certificatePem)).toBe(publicKey(was.certificatePem));
    const v = opensslVerify({
      leafPem: renewed.certificatePem,
      chainPems: [issuingPem],
      rootPem,
      purpose: 'sslclient',
    });
    expect(v.ok, v.output).toBe(true);
    const text = openssl(['x509', '-in', '@c.pem', '-noout', '-ext', 'subjectAltName'], {
      'c.pem': renewed.certificatePem,
    });
    expect(text.ok, text.output).toBe(true);
    expect(text.output).toContain(`DNS:${REUSED}, URI:${URN}, URI:${SPIFFE}`);
  }, 60_000);
});
