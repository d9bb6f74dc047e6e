// End to end: the built web console in Debian's Chromium (playwright-core, no browser download)
// against a real `pkim serve` on a fresh data dir. Writes screenshots of every page to docs/screenshots/.
// The SSH pages have their own file (ssh-console-e2e.test.ts); both share ./support/console-browser.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';
import { runAsync } from '../../../tests/support/acme-kit';
import { openConsole, type BrowserGlobals, type ConsoleSession } from './support/console-browser';

const PASSWORD = 'correct-horse-battery-42';
const E2E_ADMIN = { id: 'usr_e2e', name: 'e2e', role: 'admin' as const };

describe('web console end to end (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  let adminPassword: string;
  const ids: { root?: string; int?: string; csrCert?: string; keyCert?: string } = {};
  const shot = (name: string) => session.shot(name);
  const signIn = (username: string, password: string) => session.signIn(username, password);
  const nav = (name: string) => session.nav(name);

  async function wizardNext() {
    await page.getByRole('button', { name: 'Next' }).click();
  }

  beforeAll(async () => {
    session = await openConsole();
    ({ server, page, base, adminPassword } = session);
    expect(session.printed.join('\n')).toContain(`Sign in to the web console at ${base}/`);
  }, 240_000);

  afterAll(async () => {
    await session?.close();
  });

  it('signs the administrator in with the first-boot password', async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(/\/login/);
    await shot('login');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('[data-error-code]').textContent()).toBe('auth.invalid_credentials');
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await expect.poll(() => page.getByText('No certificate authority yet').count()).toBeGreaterThan(0);
  }, 60_000);

  it('creates a root CA and a name-constrained intermediate with the wizard', async () => {
    await nav('Authorities');
    await page.getByRole('heading', { name: 'Certificate authorities' }).waitFor();
    await shot('ca-hierarchy-empty');
    await page.getByRole('link', { name: 'Create CA' }).first().click();
    await page.getByText('Root CA', { exact: true }).click();
    await wizardNext();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('e2e-root');
    await page.getByLabel('Common name (CN)').fill('E2E Root CA');
    await page.getByLabel('Organization (O)').fill('PKI Manager E2E');
    await page.getByLabel('Country (C)').fill('US');
    await wizardNext();
    await page.getByLabel('Key type').selectOption('ec-p384');
    await wizardNext();
    await wizardNext();
    await shot('create-ca-review');
    await page.getByRole('button', { name: 'Create CA' }).click();
    await page.getByRole('heading', { name: 'e2e-root' }).waitFor();
    ids.root = page.url().split('/cas/')[1];
    expect(ids.root).toMatch(/^ca_/);

    await page.getByRole('link', { name: 'Subordinate CA' }).click();
    await expect.poll(() => page.getByLabel('Parent CA').inputValue()).toBe(ids.root);
    await wizardNext();
    await page.getByLabel('Name (unique, used in the CLI and URLs)').fill('e2e-issuing');
    await page.getByLabel('Common name (CN)').fill('E2E Issuing CA');
    await wizardNext();
    await page.getByLabel('Key type').selectOption('ec-p256');
    await wizardNext();
    await page.getByLabel('Path length').fill('0');
    await page.getByLabel('Permitted DNS subtrees').fill('.example.com, example.com');
    await wizardNext();
    await page.getByRole('button', { name: 'Create CA' }).click();
    await page.getByRole('heading', { name: 'e2e-issuing' }).waitFor();
    ids.int = page.url().split('/cas/')[1];
    await page.getByText('pathLen 0').first().waitFor();
    await shot('ca-detail');

    const root = await server.authority.cas.get(ids.root!);
    const int = await server.authority.cas.get(ids.int!);
    expect(int.ca.parentId).toBe(ids.root);
    const v = opensslVerify({ leafPem: int.certificatePem!, rootPem: root.certificatePem!, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);

    await nav('Authorities');
    await page.locator('[data-ca="e2e-issuing"]').waitFor();
    await shot('ca-hierarchy');
  }, 90_000);

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
    await shot('issue-from-csr');
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
    await shot('certificate-detail');
  }, 60_000);

  it('issues with a server-generated key offered once for download', async () => {
    await page.goto(`${base}/issue?caId=${ids.int}`);
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    await page.getByLabel('Common name').fill('api.example.com');
    await page.getByLabel('Subject alternative names').fill('api.example.com, 10.1.2.3');
    await page.getByLabel('Validity (days)').fill('30');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    await page.getByTestId('issued-result').waitFor();
    await shot('issue-generated-key');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-key').click()]);
    const keyPem = readFileSync(await download.path(), 'utf8');
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
    await shot('revoke-confirmation');
    await page.getByRole('button', { name: 'Revoke certificate' }).click();
    await page.getByText(/Revoked .* reason: keyCompromise/).waitFor();
    expect(await page.locator('[data-status="revoked"]').count()).toBeGreaterThan(0);

    await page.goto(`${base}/cas/${ids.int}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('crl-download').click()]);
    const crlDer = readFileSync(await download.path());
    const issuer = await server.authority.cas.get(ids.int!);
    const crl = opensslCrlVerify(crlDer, issuer.certificatePem!);
    expect(crl.ok, crl.text).toBe(true);
    const serial = (await server.authority.certificates.get(ids.csrCert!)).certificate.serialHex;
    expect(crl.text.toLowerCase().replace(/:/g, '')).toContain(serial);
    expect(crl.text).toContain('Key Compromise');

    await nav('Audit log');
    await page.getByTestId('audit-chain-ok').waitFor();
    await page.locator('[data-action="certificate.revoked"]').first().waitFor();
    await shot('audit-log');
  }, 60_000);

  it('lets an administrator add users and create an API token shown once', async () => {
    await nav('Users & tokens');
    for (const [username, role] of [
      ['rita', 'requester'],
      ['oscar', 'operator'],
      ['audrey', 'auditor'],
    ] as const) {
      await page.getByRole('button', { name: 'Add user' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Username').fill(username);
      await dialog.getByLabel('Initial password').fill(PASSWORD);
      await dialog.getByLabel('Role', { exact: true }).selectOption(role);
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.locator(`[data-user="${username}"]`).waitFor();
    }
    await shot('users');
    await page.getByRole('tab', { name: 'API tokens' }).click();
    await page.getByRole('button', { name: 'Create API token' }).click();
    await page.getByLabel('Name').fill('ci-deploy');
    await page.getByLabel('Scopes').fill('certificate:issue');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByTestId('token-secret').textContent();
    expect(secret).toMatch(/^pkim_/);
    await shot('api-token-created');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('tokens-table').waitFor();
    expect(await page.content()).not.toContain(secret!);
  }, 90_000);

  it('a requester submits a request; an operator approves it and the certificate is issued', async () => {
    await signIn('rita', PASSWORD);
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=app.example.com',
      sans: ['DNS:app.example.com'],
    });
    await nav('Requests');
    await page.getByRole('button', { name: 'New request' }).click();
    await page.getByLabel('Issuing CA').selectOption(ids.int!);
    await page.getByLabel('Certificate signing request (PEM)').fill(csrPem);
    await page.getByTestId('csr-preview').waitFor();
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.getByText(/Request req_\w+ submitted/).waitFor();
    await page.keyboard.press('Escape');
    // a requester reviews nothing
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    await signIn('oscar', PASSWORD);
    await nav('Requests');
    await page.getByTestId('requests-table').waitFor();
    await shot('requests');
    await page.getByRole('button', { name: 'Approve' }).first().click();
    await page.getByText(/Approved req_/).waitFor();
    const issued = (await server.authority.certificates.list({ search: 'app.example.com' })).items[0]!;
    expect(issued.requestId).toMatch(/^req_/);
    const cert = await server.authority.certificates.get(issued.id);
    const v = opensslVerify({
      leafPem: cert.certificatePem,
      chainPems: [(await server.authority.cas.get(ids.int!)).certificatePem!],
      rootPem: (await server.authority.cas.get(ids.root!)).certificatePem!,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
  }, 90_000);

  it('an auditor sees no issue or revoke buttons, and the API refuses the revocation anyway', async () => {
    await signIn('audrey', PASSWORD);
    expect(await page.getByRole('link', { name: 'Issue' }).count()).toBe(0);
    await page.goto(`${base}/certificates/${ids.keyCert}`);
    await page.getByRole('heading', { name: 'api.example.com' }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await page.goto(`${base}/cas/${ids.int}`);
    await page.getByRole('heading', { name: 'e2e-issuing' }).waitFor();
    expect(await page.getByRole('link', { name: 'Issue certificate' }).count()).toBe(0);
    // the same session calling the API directly (with its CSRF token) is refused
    const refused = await page.evaluate(async (ref) => {
      const r = await fetch('/trpc/certificate.revoke', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-csrf-token': (globalThis as unknown as BrowserGlobals).localStorage.getItem('pkim-csrf') ?? '',
        },
        body: JSON.stringify({ ref, reason: 'keyCompromise' }),
      });
      return { status: r.status, body: (await r.json()) as { error: { data: { pkiCode: string } } } };
    }, ids.keyCert!);
    expect(refused.status).toBe(403);
    expect(refused.body.error.data.pkiCode).toBe('auth.forbidden');
    expect((await server.authority.certificates.get(ids.keyCert!)).certificate.status).toBe('active');
  }, 60_000);

  it('captures every page (dashboard light and dark)', async () => {
    await signIn('admin', adminPassword);
    await page.getByTestId('expiry-chart').waitFor();
    await shot('dashboard-light');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await shot('dashboard-dark');
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await nav('Certificates');
    await page.getByTestId('certificates-table').waitFor();
    await shot('certificates');
    await nav('Domains');
    await page.getByTestId('domains-table').waitFor();
    expect(await page.getByTestId('domains-table').textContent()).toContain('api.example.com');
    await shot('domains');
    await page.getByLabel('Global search').fill('example.com');
    await page.keyboard.press('Enter');
    await page.getByTestId('search-certificates').waitFor();
    await shot('search');
    await nav('Key backends');
    await page.locator('[data-backend="software"]').waitFor();
    await shot('key-backends');
    // deep link reload answers the console (SPA fallback), not a JSON 404
    await page.goto(`${base}/certificates/${ids.keyCert}`);
    await page.getByRole('heading', { name: 'api.example.com' }).waitFor();
  }, 90_000);

  it('SPIFFE: initialises the trust domain, shows status and SVIDs, denies and allows an identity', async () => {
    await signIn('admin', adminPassword);
    await nav('Workload identity');
    await page.getByLabel('Trust domain').fill(TD);
    await page.getByRole('button', { name: 'Initialise' }).click();
    await page.getByTestId('spiffe-cas-table').waitFor();
    const admin = { id: 'usr_e2e', name: 'e2e', role: 'admin' as const };
    const token = (
      await server.authority.auth.createToken(
        { name: 'e2e-workloads', role: 'operator', scopes: ['spiffe:sign'] },
        admin,
      )
    ).token;
    const id = spiffeIdFor('node', 'worker-1');
    for (const [type, instance] of [
      ['node', 'worker-1'],
      ['orchestrator', 'api'],
      ['envoy/app', 'web'],
    ] as const)
      await server.authority.spiffe.sign(
        { csrPem: svidCsr(spiffeIdFor(type, instance)).csrPem, serviceType: type, instanceId: instance },
        { bearerToken: token },
      );
    await page.reload();
    await page.getByTestId('spiffe-cas-table').waitFor();
    await expect.poll(() => page.locator('[data-spiffe-ca="services"]').textContent()).toContain('2');
    await shot('spiffe-status');

    await page.getByRole('tab', { name: 'SVIDs' }).click();
    await page.getByTestId('spiffe-svids-table').waitFor();
    expect(await page.getByTestId('spiffe-svids-table').textContent()).toContain(id);

    await page.getByRole('tab', { name: 'Deny list' }).click();
    await page.getByLabel('SPIFFE ID').fill(id);
    await page.getByLabel('Reason').fill('host decommissioned');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.locator(`[data-denied="${id}"]`).waitFor();
    await page.getByText('1 SVID(s) stay valid until they expire').waitFor();
    await shot('spiffe-deny-list');
    const refused = await server.authority.spiffe
      .sign({ csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'worker-1' }, { bearerToken: token })
      .then(
        () => 'issued',
        (e: unknown) => (e as { code?: string }).code,
      );
    expect(refused).toBe('spiffe.identity_denied');

    await page.locator(`[data-denied="${id}"]`).getByRole('button', { name: 'Allow' }).click();
    await page.getByText('Nobody is denied').waitFor();
    expect(await server.authority.spiffe.listDenied(admin)).toEqual([]);
  }, 90_000);

  it('ACME: enables a directory, creates an EAB key shown once; certbot registers with it; revokes it', async () => {
    const certbotDir = tempDir('pkim-e2e-certbot-');
    try {
      await signIn('admin', adminPassword);
      await nav('ACME');
      await page.getByRole('heading', { name: 'ACME', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Enable ACME' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Issuing CA').selectOption(ids.int!);
      await dialog.getByLabel('Allowed DNS names').fill('*.example.com');
      await dialog.getByRole('button', { name: 'Enable ACME' }).click();
      await page.locator('[data-acme-directory="e2e-issuing"]').waitFor();
      expect((await server.authority.acme.listDirectories(E2E_ADMIN)).map((d) => [d.caId, d.requireEab])).toEqual([
        [ids.int, true],
      ]);
      await shot('acme-directories');

      await page.getByRole('tab', { name: 'EAB keys' }).click();
      await page.getByRole('button', { name: 'Create EAB key' }).click();
      await page.getByRole('button', { name: 'Create key' }).click();
      const kid = (await page.getByTestId('eab-kid').textContent())!;
      const hmacKey = (await page.getByTestId('eab-hmac-key').textContent())!;
      expect(kid).toMatch(/^eab_/);
      await shot('acme-eab-key-created');
      await page.getByRole('button', { name: 'Done' }).click();
      await page.locator(`[data-eab-kid="${kid}"]`).waitFor();
      expect(await page.content()).not.toContain(hmacKey);

      // a real ACME client registers with the key the console created
      const r = await runAsync('certbot', [
        'register',
        '--server',
        `${base}/acme/${ids.int}/directory`,
        '--eab-kid',
        kid,
        '--eab-hmac-key',
        hmacKey,
        '-m',
        'ops@example.com',
        '--agree-tos',
        '--non-interactive',
        '--config-dir',
        join(certbotDir.dir, 'config'),
        '--work-dir',
        join(certbotDir.dir, 'work'),
        '--logs-dir',
        join(certbotDir.dir, 'logs'),
      ]);
      expect(r.code, r.output).toBe(0);
      const [account] = await server.authority.acme.listAccounts(ids.int, E2E_ADMIN);
      expect(account).toMatchObject({ eabKeyId: kid, status: 'valid', contact: ['mailto:ops@example.com'] });

      await page.getByRole('tab', { name: 'Accounts' }).click();
      await page.locator(`[data-acme-account="${account!.id}"] [data-status="valid"]`).waitFor();
      await shot('acme-accounts');
      await page.getByRole('tab', { name: 'Activity' }).click();
      await page.locator('[data-action="acme.account_created"]').first().waitFor();
      await shot('acme-activity');

      await page.getByRole('tab', { name: 'EAB keys' }).click();
      const row = page.locator(`[data-eab-kid="${kid}"]`);
      await row.locator('[data-status="used"]').waitFor();
      await row.getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('button', { name: 'Revoke key' }).click();
      await page.getByText(`The account it bound (${account!.id}) is deactivated.`).waitFor();
      expect((await server.authority.acme.listAccounts(ids.int, E2E_ADMIN))[0]?.status).toBe('deactivated');
      expect(await server.authority.acme.listEabKeys(ids.int, E2E_ADMIN)).toEqual([]);
    } finally {
      certbotDir.cleanup();
    }
  }, 120_000);
});

/**
 * What a receiver does with `x-pkim-signature: t=<s>,v1=<hex>[,v1=<hex>]`: accepts the request when one `v1` is the
 * HMAC-SHA256 of `<t>.<raw body>` under its secret (several `v1` during a secret rotation's overlap).
 */
function verifiesUnder(got: { headers: Record<string, string | string[] | undefined>; body: string }, key: string) {
  const parts = String(got.headers['x-pkim-signature']).split(',');
  const t = parts.find((p) => p.startsWith('t='))?.slice(2);
  if (!t || t !== String(got.headers['x-pkim-timestamp'])) return false;
  const want = createHmac('sha256', key).update(`${t}.${got.body}`).digest('hex');
  return parts.some((p) => p === `v1=${want}`);
}

describe('web console: notifications (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let hook: Server;

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    session = await openConsole({ prefix: 'pkim-e2e-notify' });
    ({ server, page } = session);
  }, 240_000);

  afterAll(async () => {
    await session?.close();
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
  });

  it('adds a webhook rule (secret shown once); the job delivers a signed expiry webhook; the log has it', async () => {
    const a = server.authority;
    const root = await a.cas.create(
      { name: 'notify-root', subject: { commonName: 'Notify Root' }, keyType: 'ec-p256' },
      E2E_ADMIN,
    );
    const leaf = await a.issuance.issueWithKey(
      {
        caId: root.ca.id,
        profile: 'tls-server',
        subject: { commonName: 'soon.example.com' },
        sans: { dns: ['soon.example.com'] },
        keyType: 'ec-p256',
        validityMs: 5 * 86_400_000,
      },
      E2E_ADMIN,
    );
    const v = opensslVerify({ leafPem: leaf.certificatePem, rootPem: root.certificatePem! });
    expect(v.ok, v.output).toBe(true);

    await page.goto(`${server.url}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(server.bootstrap!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await page.getByText('No notification rules').waitFor();
    await page.getByRole('button', { name: 'Add rule' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('tls-expiry');
    await dialog.getByLabel('Days before expiry').fill('30, 7');
    await dialog.getByLabel('Webhook URL').fill(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/pki`);
    await dialog.getByLabel('Only certificates of CA').selectOption(root.ca.id);
    await dialog.getByLabel('Only names matching').fill('*.example.com');
    await session.shot('notification-rule-form');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent())!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await session.shot('notification-secret-once');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-status="active"]').waitFor();
    expect(await page.content()).not.toContain(secret);
    await session.shot('notification-rules');

    // one pass of the leader-only job (pkim serve runs it every PKIM_JOBS_INTERVAL_MS)
    expect(await a.notifications.run()).toMatchObject({ enqueued: 1, delivered: 1 });
    expect(received).toHaveLength(1);
    const got = received[0]!;
    const t = String(got.headers['x-pkim-timestamp']);
    expect(got.headers['x-pkim-signature']).toBe(
      `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${got.body}`).digest('hex')}`,
    );
    expect(JSON.parse(got.body)).toMatchObject({
      event: 'certificate.expiring',
      data: { daysBefore: 7, certificate: { serial: leaf.certificate.serialHex, ca: { name: 'notify-root' } } },
    });

    await page.getByRole('tab', { name: 'Delivery log' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-status="delivered"]').waitFor();
    await page.waitForLoadState('networkidle');
    await session.shot('notification-deliveries');

    await page.getByRole('tab', { name: 'Rules' }).click();
    await page.locator('[data-rule="tls-expiry"]').getByRole('button', { name: 'Rotate secret' }).click();
    const rotateDialog = page.getByRole('dialog');
    await rotateDialog.getByLabel('Overlap').selectOption('24h');
    await rotateDialog.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = (await page.getByTestId('rotated-secret').textContent())!;
    expect(rotated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated).not.toBe(secret);
    await page.getByText('Deliveries carry a signature under the old key too until').waitFor();
    await session.shot('notification-secret-rotated');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-testid="secret-overlap"]').waitFor();
    expect(await page.content()).not.toContain(rotated);

    // the next delivery, during the overlap, verifies under the new secret and under the old one
    const later = await a.issuance.issueWithKey(
      {
        caId: root.ca.id,
        profile: 'tls-server',
        subject: { commonName: 'later.example.com' },
        sans: { dns: ['later.example.com'] },
        keyType: 'ec-p256',
        validityMs: 6 * 86_400_000,
      },
      E2E_ADMIN,
    );
    expect(await a.notifications.run()).toMatchObject({ enqueued: 1, delivered: 1 });
    expect(received).toHaveLength(2);
    const next = received[1]!;
    expect(JSON.parse(next.body)).toMatchObject({
      data: { certificate: { serial: later.certificate.serialHex, commonName: 'later.example.com' } },
    });
    expect(verifiesUnder(next, rotated)).toBe(true);
    expect(verifiesUnder(next, secret)).toBe(true);
    expect(verifiesUnder(next, 'not-the-secret')).toBe(false);

    await page.locator('[data-rule="tls-expiry"]').getByRole('button', { name: 'Disable' }).click();
    await page.locator('[data-rule="tls-expiry"] [data-status="disabled"]').waitFor();
    expect((await a.notifications.listRules(E2E_ADMIN))[0]?.enabled).toBe(false);
  }, 120_000);
});
