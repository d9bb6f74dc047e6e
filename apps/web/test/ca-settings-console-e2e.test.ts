// End to end in Chromium against `pkim serve` (no public URL, as `npm start` runs it): a CA's settings on its page.
// Relying-party URLs — a CA made without a public URL has none: its page warns (what it means, what to do), the
// wizard's review says so before a CA is made; set from the warning with this server's base URL (ca.setUrls), the
// page lists them and warns no more, and a leaf issued afterwards carries them (openssl reads the CRL distribution
// point and OCSP URL; the CRL at that URL verifies under the CA with openssl). Set one by one as `pkim ca set-urls
// --crl/--ocsp/--aia` takes them (a wrong URL named under its field, nothing sent), a leaf carries those (openssl);
// removed (--clear), the warning is back. The leaf-past-the-CA's-end setting
// (ca.setLeafNotAfterBehavior) — changed in the console to "End it with the CA", the server stores and audits it and a
// leaf asked past the CA's end ends with the CA (openssl reads both dates); back to "Refuse it", such a leaf is refused
// with lint.lifetime_beyond_issuer. An operator (no ca:write) sees both settings but can change neither.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { createIssuingCa, createRootCa, type TestCa } from '../../../tests/support/ca-kit';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';
import { createUsers, E2E_ADMIN, PASSWORD } from './support/console-pki';

const POLL = { timeout: 15_000 };
const DAY = 86_400_000;

/** openssl's reading of a certificate: its end (`notAfter=…`) and the extensions asked for */
const opensslRead = (pem: string, ext: string) =>
  execFileSync('openssl', ['x509', '-noout', '-enddate', '-ext', ext], { input: pem, encoding: 'utf8' });

describe('web console: a CA’s settings — relying-party URLs, a leaf past the CA’s end (Chromium)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let root: TestCa;
  let int: TestCa;
  const dialog = () => page.getByRole('dialog');
  const leaf = (cn: string, validityMs?: number) =>
    server.authority.issuance.issueWithKey(
      {
        caId: int.id,
        profile: 'tls-server',
        subject: { commonName: cn },
        sans: { dns: [cn] },
        keyType: 'ec-p256',
        ...(validityMs ? { validityMs } : {}),
      },
      E2E_ADMIN,
    );
  const verify = (pem: string, cn: string) => {
    const v = opensslVerify({
      leafPem: pem,
      chainPems: [int.pem],
      rootPem: root.pem,
      purpose: 'sslserver',
      hostname: cn,
    });
    expect(v.ok, v.output).toBe(true);
  };

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-ca-settings' });
    ({ server, page, base } = session);
    root = await createRootCa(server.authority, 'set-root', { actor: E2E_ADMIN });
    int = await createIssuingCa(server.authority, root, 'set-int', { validityMs: 60 * DAY, actor: E2E_ADMIN });
    await createUsers(server.authority, [['otto', 'operator']]);
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it("the wizard's review says a new CA would carry no revocation URL", async () => {
    await page.goto(`${base}/cas/new`);
    await page.getByRole('heading', { name: 'Create a certificate authority' }).waitFor(POLL);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('set-new');
    await page.getByLabel('Common name (CN)').fill('Set New Root');
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Create CA' }).waitFor(POLL);
    const warning = page.getByTestId('ca-review-no-urls');
    await warning.getByText('Its certificates will carry no CRL or OCSP URL').waitFor(POLL);
    expect(await warning.textContent()).toContain('PKIM_PUBLIC_URL');
  }, 120_000);

  it('a CA without URLs warns; Set URLs gives its leaves a CRL and OCSP URL (openssl), the warning goes', async () => {
    await page.goto(`${base}/cas/${int.id}`);
    await page.getByRole('heading', { name: 'set-int' }).waitFor(POLL);
    const warning = page.getByTestId('ca-no-urls');
    await warning.getByText('Certificates this CA issues carry no CRL or OCSP URL').waitFor(POLL);
    const text = (await warning.textContent()) ?? '';
    expect(text).toContain('Relying parties cannot check whether one was revoked');
    expect(text).toContain('pkim ca set-urls set-int --base');
    expect(await page.getByTestId('ca-urls').getAttribute('data-source')).toBe('none');
    // what the server said too: a leaf issued now carries no CRL distribution point
    const before = await leaf('before.example.com');
    expect(before.warnings?.join(' ') ?? '').toContain('no CRL or OCSP URL');
    expect(opensslRead(before.certificatePem, 'crlDistributionPoints')).not.toContain('URI:');
    await session.shot('ca-no-urls');

    await warning.getByRole('button', { name: 'Set URLs' }).click();
    const field = dialog().getByLabel('Base URL');
    // proposed: the console's own address (the server has no public URL)
    await expect.poll(() => field.inputValue(), POLL).toBe(base);
    await dialog().getByRole('button', { name: 'Set URLs' }).click();
    await warning.waitFor({ state: 'detached', ...POLL });
    const urls = page.getByTestId('ca-urls');
    await urls.getByText(`${base}/crl/${int.id}.crl`).waitFor(POLL);
    await urls.getByText(`${base}/ocsp`).waitFor(POLL);
    expect(await urls.getAttribute('data-source')).toBe('ca');
    expect((await server.authority.cas.get(int.id)).ca.urls?.crlDistributionPoints).toEqual([
      `${base}/crl/${int.id}.crl`,
    ]);

    const after = await leaf('after.example.com');
    verify(after.certificatePem, 'after.example.com');
    const read = opensslRead(after.certificatePem, 'crlDistributionPoints,authorityInfoAccess');
    expect(read).toContain(`URI:${base}/crl/${int.id}.crl`);
    expect(read).toContain(`OCSP - URI:${base}/ocsp`);
    // the CRL is where the certificate says, and the CA page links to it
    const crlHref = await urls.getByRole('link', { name: `${base}/crl/${int.id}.crl` }).getAttribute('href', POLL);
    expect(crlHref).toBe(`${base}/crl/${int.id}.crl`);
    expect(await urls.getByRole('link', { name: `${base}/ocsp` }).count()).toBe(0);
    const crl = new Uint8Array(await (await fetch(crlHref!)).arrayBuffer());
    const crlOk = opensslCrlVerify(crl, int.pem);
    expect(crlOk.ok, crlOk.text).toBe(true);
  }, 120_000);

  it('a leaf past the CA’s end: set to end with the CA in the console, stored, audited, followed', async () => {
    await page.goto(`${base}/cas/${int.id}`);
    const setting = page.getByTestId('ca-leaf-not-after');
    await setting.waitFor(POLL);
    expect(await setting.getAttribute('data-value')).toBe('err');
    const select = setting.getByLabel("When asked past the CA's end");
    expect(await select.inputValue()).toBe('err');
    await setting.getByText('the request fails with lint.lifetime_beyond_issuer').waitFor(POLL);
    const asked = 120 * DAY;
    await expect(leaf('long.example.com', asked)).rejects.toMatchObject({ code: 'lint.lifetime_beyond_issuer' });

    await select.selectOption('truncate');
    await setting.getByText(/The certificate is issued and ends with the CA/).waitFor(POLL);
    await setting.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => setting.getAttribute('data-value'), POLL).toBe('truncate');
    await session.shot('ca-settings');
    expect((await server.authority.cas.get(int.id)).ca.leafNotAfterBehavior).toBe('truncate');
    const events = await server.authority.audit.list({ action: 'ca.leaf_not_after_configured', target: int.id });
    expect(events[0]?.details).toMatchObject({ from: 'err', to: 'truncate' });

    const cut = await leaf('cut.example.com', asked);
    verify(cut.certificatePem, 'cut.example.com');
    const end = (pem: string) => /notAfter=(.+)/.exec(opensslRead(pem, 'basicConstraints'))![1];
    expect(end(cut.certificatePem)).toBe(end(int.pem));

    await select.selectOption('err');
    await setting.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => setting.getAttribute('data-value'), POLL).toBe('err');
    await expect(leaf('long2.example.com', asked)).rejects.toMatchObject({ code: 'lint.lifetime_beyond_issuer' });
  }, 120_000);

  it('Set URLs takes each URL as `pkim ca set-urls` does: wrong ones named, stored, carried (openssl)', async () => {
    await page.goto(`${base}/cas/${int.id}`);
    await page.getByTestId('ca-urls').getByRole('button', { name: 'Set URLs' }).click();
    await dialog().getByLabel('Each URL').check();
    // prefilled with what the CA's certificates carry now (the base set above)
    const crl = dialog().getByLabel('CRL distribution points');
    const ocsp = dialog().getByLabel('OCSP responders');
    const aia = dialog().getByLabel('CA issuers');
    await expect.poll(() => crl.inputValue(), POLL).toBe(`${base}/crl/${int.id}.crl`);
    expect(await ocsp.inputValue()).toBe(`${base}/ocsp`);
    const submit = dialog().getByRole('button', { name: 'Set URLs' });
    // a wrong URL is named under its field and nothing can be sent
    await ocsp.fill(`${base}/ocsp\nldap://ocsp.example.com`);
    await dialog().getByText('URL 2 is not an http:// or https:// URL: ldap://ocsp.example.com').waitFor(POLL);
    expect(await submit.isDisabled()).toBe(true);
    // every list empty: said, not sent
    await crl.fill('');
    await ocsp.fill('');
    await aia.fill('');
    await dialog().getByTestId('ca-urls-form-error').getByText('Give at least one URL').waitFor(POLL);
    expect(await submit.isDisabled()).toBe(true);
    // CA issuers only: allowed, with the warning that nothing tells of a revocation
    await aia.fill('http://aia.example.com/int.crt');
    await dialog().getByText('No CRL or OCSP URL: relying parties cannot check revocation').waitFor(POLL);
    // two CRL distribution points (this server's and a CDN's), this server's OCSP, no CA issuers
    await crl.fill(`${base}/crl/${int.id}.crl\nhttp://cdn.example.com/set-int.crl`);
    await ocsp.fill(`${base}/ocsp`);
    await aia.fill('');
    await session.shot('ca-set-urls-each');
    await submit.click();
    await dialog().waitFor({ state: 'detached', ...POLL });
    const urls = page.getByTestId('ca-urls');
    await urls.getByText('http://cdn.example.com/set-int.crl').waitFor(POLL);
    expect((await server.authority.cas.get(int.id)).ca.urls).toEqual({
      crlDistributionPoints: [`${base}/crl/${int.id}.crl`, 'http://cdn.example.com/set-int.crl'],
      ocspUrls: [`${base}/ocsp`],
      caIssuersUrls: [],
    });
    const issued = await leaf('each.example.com');
    verify(issued.certificatePem, 'each.example.com');
    const read = opensslRead(issued.certificatePem, 'crlDistributionPoints,authorityInfoAccess');
    expect(read).toContain(`URI:${base}/crl/${int.id}.crl`);
    expect(read).toContain('URI:http://cdn.example.com/set-int.crl');
    expect(read).toContain(`OCSP - URI:${base}/ocsp`);
    expect(read).not.toContain('CA Issuers');

    // URLs set one by one open on "Each URL"; removing them (the server has no public URL) brings the warning back
    await urls.getByRole('button', { name: 'Set URLs' }).click();
    expect(await dialog().getByLabel('Each URL').isChecked()).toBe(true);
    await dialog().getByLabel('Remove its own URLs').check();
    await dialog().getByTestId('ca-urls-clear-effect').getByText('The server has no public URL').waitFor(POLL);
    await dialog().getByRole('button', { name: 'Remove URLs' }).click();
    await page.getByTestId('ca-no-urls').waitFor(POLL);
    expect((await server.authority.cas.get(int.id)).ca.urls).toBeNull();
    const events = await server.authority.audit.list({ action: 'ca.urls_configured', target: int.id });
    expect(events.length).toBe(3);
  }, 120_000);

  it("the narrow Key card stacks each name over its value: no word cut ('ec-p256 (so ftware)')", async () => {
    await page.goto(`${base}/cas/${int.id}`);
    const card = page.getByTestId('ca-key-card');
    const name = card.locator('dt', { hasText: /^Key$/ });
    const value = card.locator('dd').first();
    await value.getByText('ec-p256 (software)').waitFor(POLL);
    const [n, v] = [(await name.boundingBox())!, (await value.boundingBox())!];
    // the value under its name (not in a column beside it) and on one line
    expect(v.y).toBeGreaterThanOrEqual(n.y + n.height);
    expect(v.height).toBeLessThan(n.height * 1.5);
  }, 120_000);

  it('an operator (no ca:write) sees the settings and changes neither', async () => {
    await session.signIn('otto', PASSWORD);
    await page.goto(`${base}/cas/${root.id}`);
    await page.getByRole('heading', { name: 'set-root' }).waitFor(POLL);
    const setting = page.getByTestId('ca-leaf-not-after');
    await setting.waitFor(POLL);
    expect(await setting.getByLabel("When asked past the CA's end").isDisabled()).toBe(true);
    expect(await setting.getByRole('button', { name: 'Save' }).count()).toBe(0);
    await page.getByTestId('ca-no-urls').waitFor(POLL);
    expect(await page.getByRole('button', { name: 'Set URLs' }).count()).toBe(0);
  }, 120_000);
});
