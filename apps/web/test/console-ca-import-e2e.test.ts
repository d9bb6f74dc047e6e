// End to end in Chromium against `pkim serve` (see console-ca-e2e.test.ts): an existing CA, made by openssl in the
// test, imported from the console with its private key (`ca.importExisting`). Refusals — a key that is not the
// certificate's, an encrypted key without its passphrase or with a wrong one, a certificate that is not a CA's, an
// expired CA (the server's clock moved two days on) — are shown under the field each is about, with the server's code
// and message, and create nothing; the key and passphrase fields are emptied after every submit. Then the CA is
// imported (its encrypted PKCS#8 key and passphrase), the console lands on its page, a leaf is issued from it in the
// console, and openssl and certtool verify the leaf against the ORIGINAL openssl certificate; the audit log shows
// `ca.imported` and `kms.key_imported`, neither holding the key. A CA certificate without a keyUsage extension is
// refused until the form's "Accept … without a keyUsage extension" (offered with that refusal) is ticked.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslCsr, opensslSelfSigned, tempDir } from '../../../tests/support/openssl-tools';
import { certtoolVerify, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { openConsole, type ConsoleSession } from './support/console-browser';

const DAY = 86_400_000;
const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
const PASSPHRASE = 'legacy root passphrase';

/** `keyPem` as encrypted PKCS#8 (`openssl pkey -aes256`) */
function encryptKey(keyPem: string, password: string): string {
  const t = tempDir('pkim-e2e-key-');
  try {
    writeFileSync(join(t.dir, 'in.pem'), keyPem);
    const out = join(t.dir, 'out.pem');
    execFileSync('openssl', [
      'pkey',
      '-in',
      join(t.dir, 'in.pem'),
      '-aes256',
      '-passout',
      `pass:${password}`,
      '-out',
      out,
    ]);
    return readFileSync(out, 'utf8');
  } finally {
    t.cleanup();
  }
}

/** a line from the middle of a PEM body: what must never be found where the key must not be */
const bodyLine = (pem: string) => pem.split('\n')[2]!;

describe('web console: importing an existing CA with its key (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  /** the server's clock = the real one + offset */
  let offset = 0;
  let caId = '';

  const root = opensslSelfSigned({
    subject: '/O=Legacy Corp/CN=Legacy Root CA',
    keyType: 'ec-p384',
    days: 30,
    addext: CA_EXT,
  });
  const encryptedKey = encryptKey(root.keyPem, PASSPHRASE);
  const other = opensslSelfSigned({ subject: '/CN=Other Root', days: 1, addext: CA_EXT });
  const leaf = opensslSelfSigned({
    subject: '/CN=not-a-ca.example',
    days: 1,
    addext: ['basicConstraints=critical,CA:FALSE'],
  });

  const certificate = () => page.getByLabel('CA certificate (PEM)');
  const key = () => page.getByLabel('Private key (PEM)');
  const passphrase = () => page.getByLabel('Key passphrase');
  const submit = () => page.getByRole('button', { name: 'Import CA' }).click();
  /** the refusal under a field (its note): the server's code and text */
  const note = (id: string) => page.locator(`#${id}-note[data-error-code]`);
  const refusal = async (id: string) => {
    await note(id).waitFor();
    return { code: await note(id).getAttribute('data-error-code'), text: await note(id).textContent() };
  };
  const upload = (id: string, name: string, pem: string) =>
    page.getByTestId(`${id}-file`).setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(pem) });
  /** what a refusal must leave as it was: the CAs, and no key imported */
  const stored = async () => ({
    cas: (await server.authority.cas.list()).length,
    keysImported: (await server.authority.audit.list({ action: 'kms.key_imported', limit: 10 })).length,
  });
  const openImportPage = async () => {
    await session.nav('Authorities');
    await page.getByRole('link', { name: 'Import existing CA' }).click();
    await page.getByRole('heading', { name: 'Import an existing CA' }).waitFor();
  };

  beforeAll(async () => {
    session = await openConsole({
      prefix: 'pkim-e2e-ca-import',
      authority: { clock: { now: () => Date.now() + offset } },
    });
    ({ server, page, base } = session);
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('refuses another key, an encrypted key without/with a wrong passphrase, a non-CA: under its field', async () => {
    const before = await stored();
    await openImportPage();
    // the certificate from a file, the key pasted
    await upload('import-ca-certificate', 'legacy-root.pem', root.certPem);
    await expect.poll(() => certificate().inputValue()).toBe(root.certPem);
    await key().fill(other.keyPem);
    await submit();
    let r = await refusal('import-ca-key');
    expect(r.code).toBe('ca.certificate_mismatch');
    expect(r.text).toContain('Not this certificate’s key');
    expect(r.text).toContain('public keys differ');
    // emptied after the submit: the key is not kept, not even for another try
    expect(await key().inputValue()).toBe('');
    expect(await note('import-ca-certificate').count()).toBe(0);
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await session.shot('ca-import-refused');

    // an encrypted key from a file without its passphrase, then with a wrong one: the passphrase field is meant
    await upload('import-ca-key', 'legacy-root.key', encryptedKey);
    await page.getByText('This key is encrypted: its passphrase is needed').waitFor();
    await submit();
    r = await refusal('import-ca-password');
    expect(r.code).toBe('key.invalid');
    expect(r.text).toContain('Encrypted key');
    expect(await note('import-ca-key').count()).toBe(0);
    await key().fill(encryptedKey);
    await passphrase().fill('not the passphrase');
    await submit();
    await expect.poll(async () => (await refusal('import-ca-password')).text).toContain('Wrong passphrase');
    expect(await key().inputValue()).toBe('');
    expect(await passphrase().inputValue()).toBe('');

    // a certificate that is not a CA's, with its own key
    await certificate().fill(leaf.certPem);
    await key().fill(leaf.keyPem);
    await submit();
    r = await refusal('import-ca-certificate');
    expect(r.code).toBe('ca.certificate_mismatch');
    expect(r.text).toContain('Not a CA certificate');
    expect(r.text).toContain('CA:FALSE');

    expect(await stored()).toEqual(before);
    expect(page.url()).toBe(`${base}/cas/import`);
    const failed = await server.authority.audit.list({ action: 'ca.import_failed', limit: 10 });
    expect(failed.length).toBe(4);
    const seen = JSON.stringify(failed);
    for (const pem of [root.keyPem, other.keyPem, leaf.keyPem, encryptedKey]) expect(seen).not.toContain(bodyLine(pem));
  }, 120_000);

  it('imports the CA with its encrypted key; a leaf issued in the console verifies against the original', async () => {
    await openImportPage();
    await certificate().fill(root.certPem);
    await key().fill(encryptedKey);
    await passphrase().fill(PASSPHRASE);
    await page.getByLabel('Name', { exact: true }).fill('legacy-root');
    await submit();
    await page.getByRole('heading', { name: 'legacy-root' }).waitFor();
    caId = page.url().split('/cas/')[1]!;
    expect(caId).toMatch(/^ca_/);
    const view = await server.authority.cas.get(caId);
    expect(view.ca).toMatchObject({ status: 'active', keyType: 'ec-p384', keyBackend: 'software', parentId: null });
    expect(view.certificatePem!.replace(/\s/g, '')).toBe(root.certPem.replace(/\s/g, ''));
    // the key is nowhere the browser keeps things: not in the page, the URL or storage
    const kept = await page.evaluate(() => {
      const g = globalThis as unknown as Record<'localStorage' | 'sessionStorage', Record<string, string>>;
      return JSON.stringify({ ...g.localStorage, ...g.sessionStorage });
    });
    for (const where of [await page.content(), page.url(), kept]) {
      expect(where).not.toContain(bodyLine(encryptedKey));
      expect(where).not.toContain(PASSPHRASE);
    }
    await page.getByRole('heading', { name: 'legacy-root' }).scrollIntoViewIfNeeded();
    await session.shot('ca-imported');

    // a leaf from the imported CA, issued in the console from an openssl CSR
    const dns = 'app.legacy.example';
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${dns}`, sans: [`DNS:${dns}`] });
    await page.goto(`${base}/issue?caId=${caId}`);
    await page.getByRole('heading', { name: 'Issue a certificate' }).waitFor();
    await page.getByLabel('Certificate signing request (PEM)').fill(csrPem);
    await page.getByTestId('csr-preview').waitFor();
    await page.getByRole('button', { name: 'Issue certificate' }).click();
    await page.getByTestId('issued-result').waitFor();
    await page.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: dns }).waitFor();
    const issued = await server.authority.certificates.get(page.url().split('/certificates/')[1]!);
    expect(issued.certificate.caId).toBe(caId);
    const o = opensslVerify({
      leafPem: issued.certificatePem,
      rootPem: root.certPem,
      purpose: 'sslserver',
      hostname: dns,
    });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem: issued.certificatePem, rootPem: root.certPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);

    // the audit log names the import: the CA and its key (the public key's hash, never the key)
    await session.nav('Audit log');
    for (const action of ['ca.imported', 'kms.key_imported']) {
      await page.getByLabel('Action').fill(action);
      await page.getByRole('button', { name: 'Filter' }).click();
      const row = page.locator(`[data-action="${action}"]`);
      await row.first().waitFor();
      expect(await row.count()).toBe(1);
      expect(await row.textContent()).toContain(caId);
    }
    const events = await server.authority.audit.list({ action: 'kms.key_imported', limit: 5 });
    expect(events.map((e) => e.details.caId)).toEqual([caId]);
    expect(JSON.stringify(events)).not.toContain(bodyLine(root.keyPem));
  }, 120_000);

  it('a CA certificate without a keyUsage extension: refused, then imported with its checkbox ticked', async () => {
    const bare = opensslSelfSigned({
      subject: '/CN=Bare Legacy Root',
      days: 30,
      addext: ['basicConstraints=critical,CA:TRUE'],
    });
    expect(opensslText(bare.certPem)).not.toContain('X509v3 Key Usage');
    const before = await stored();
    await openImportPage();
    const accept = page.getByLabel('Accept a CA certificate without a keyUsage extension');
    expect(await accept.count()).toBe(0);
    await certificate().fill(bare.certPem);
    await key().fill(bare.keyPem);
    await page.getByLabel('Name', { exact: true }).fill('bare-root');
    await submit();
    const r = await refusal('import-ca-certificate');
    expect(r.code).toBe('ca.certificate_mismatch');
    expect(r.text).toContain('No keyUsage extension');
    expect(await stored()).toEqual(before);
    await accept.check();
    await key().fill(bare.keyPem);
    await submit();
    await page.getByRole('heading', { name: 'bare-root' }).waitFor();
    const id = page.url().split('/cas/')[1]!;
    const [event] = await server.authority.audit.list({ action: 'ca.imported', target: id, limit: 5 });
    expect(event?.details).toMatchObject({ name: 'bare-root', keyUsage: 'absent' });
  }, 90_000);

  it('refuses a CA certificate that has expired (the server two days on), nothing created', async () => {
    offset = 2 * DAY;
    try {
      // a session opened at the server's new time
      await session.signIn('admin', session.adminPassword);
      const before = await stored();
      await openImportPage();
      await certificate().fill(other.certPem);
      await key().fill(other.keyPem);
      await submit();
      const r = await refusal('import-ca-certificate');
      expect(r.code).toBe('ca.certificate_mismatch');
      expect(r.text).toContain('Expired');
      expect(r.text).toContain('already expired');
      expect(await stored()).toEqual(before);
    } finally {
      offset = 0;
    }
  }, 90_000);
});
