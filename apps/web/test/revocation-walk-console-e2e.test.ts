// End to end in Chromium against `pkim serve`: a platform engineer's walk through a revocation and what needs
// attention. A root, an issuing CA whose URLs point at this server (`ca.setUrls` with its base) and a second issuing
// CA that ends in 12 days, neither of the others with a URL; a certificate ending in 5 days. The dashboard puts the
// critical first and links each warning to what it names, says which CAs' certificates carry no CRL or OCSP URL (a
// revocation there reaches nobody: the API's `ca.no_urls` warnings) and names who acted in its recent activity. A
// CA without a CRL yet says so and how to make one. A certificate issued and revoked in the console shows its CRL
// and OCSP URLs; the CRL the revoked page links is read by openssl (the serial listed, keyCompromise), `openssl ocsp`
// asks the OCSP URL the page shows and is told revoked; a revoked certificate without URLs says nobody can learn of
// it. The audit log opens from the certificate at its events (the filter in the address), each target a link back,
// each actor by name, the details readable in full at 1366 px.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '@pkim/server';
import { createIssuingCa } from '../../../tests/support/ca-kit';
import { opensslCrlVerify, opensslOcspUrl, opensslText } from '../../../tests/support/verifiers';
import { openConsole, placeholderCut, SERVER_WORK, unreadable, type ConsoleSession } from './support/console-browser';
import { createE2eHierarchy, E2E_ADMIN, issueServerCertificate, PASSWORD } from './support/console-pki';

const POLL = { timeout: 15_000 };
/** a time as the console prints one (formatDateTime) */
const utc = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
const DAY = 86_400_000;

describe('web console: revoking, CRL and OCSP, the audit trail and the dashboard (Chromium against pkim serve)', () => {
  let session: ConsoleSession;
  let server: RunningServer;
  let page: Page;
  let base: string;
  const ids: Record<string, string> = {};
  let pems = { root: '', int: '' };
  const warning = (code: string) => page.locator(`[data-warning="${code}"]`);
  // the audit log's Actor field's list: the options it shows, each `name (kind)`
  const actorList = () => page.getByRole('listbox', { name: 'Actors' });
  const offered = () =>
    actorList()
      .getByRole('option')
      .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));

  // the `q` of an `audit.actors` request the console made (undefined: another request)
  const actorsAsked = (url: string) => {
    const u = new URL(url);
    if (!u.pathname.endsWith('/trpc/audit.actors')) return undefined;
    return (JSON.parse(u.searchParams.get('input') ?? '{}') as { q?: string }).q;
  };

  beforeAll(async () => {
    session = await openConsole({ prefix: 'pkim-e2e-revocation-walk' });
    ({ server, page, base } = session);
    const h = await createE2eHierarchy(server.authority);
    // the issuing CA's certificates point at this server: their CRL and OCSP URLs answer
    await server.authority.cas.setUrls(h.int.id, { base }, E2E_ADMIN);
    const soon = await createIssuingCa(server.authority, h.root, 'soon-issuing', {
      validityMs: 12 * DAY,
      actor: E2E_ADMIN,
    });
    await issueServerCertificate(server.authority, h, 'db.example.com', { validityMs: 5 * DAY });
    // a certificate of a CA without URLs, revoked
    const bare = await server.authority.issuance.issueWithKey(
      {
        caId: soon.id,
        profile: 'tls-server',
        subject: { commonName: 'bare.example.com' },
        sans: { dns: ['bare.example.com'] },
        keyType: 'ec-p256',
      },
      E2E_ADMIN,
    );
    await server.authority.certificates.revoke(bare.certificate.id, 'superseded', E2E_ADMIN);
    Object.assign(ids, { root: h.root.id, int: h.int.id, soon: soon.id, bare: bare.certificate.id });
    pems = { root: h.root.pem, int: h.int.pem };
    await session.signIn('admin', session.adminPassword);
  }, 240_000);

  afterAll(async () => session?.close());

  it('the dashboard puts the critical first and links each warning to what it names', async () => {
    const warnings = page.getByRole('region', { name: 'Warnings' }).locator('[data-warning]');
    await expect.poll(() => warnings.count(), POLL).toBe(3);
    expect(await warnings.evaluateAll((els) => els.map((e) => e.getAttribute('data-warning')))).toEqual([
      'ca.expiring',
      'ca.no_urls',
      'certificate.expiring',
    ]);
    expect(await warning('certificate.expiring').getByRole('link').textContent()).toBe(
      '1 active certificate expires within 7 days',
    );
    // the CAs whose certificates carry neither a CRL nor an OCSP URL, one alert, each CA a link; not the one with its
    // URLs — the API's warnings (insights.dashboard: one a CA), as any client reads them
    const bare = warning('ca.no_urls');
    const api = (await server.authority.insights.dashboard()).warnings.filter((w) => w.code === 'ca.no_urls');
    expect(api.map((w) => w.target)).toEqual([ids.root, ids.soon]);
    expect(api.map((w) => w.message)).toEqual(
      ['e2e-root', 'soon-issuing'].map(
        (ca) => `Certificates of CA ${ca} carry no CRL or OCSP URL: a revocation there reaches no relying party`,
      ),
    );
    expect(await bare.getByRole('link').allTextContents()).toEqual(['e2e-root', 'soon-issuing']);
    expect(await bare.textContent()).toContain('a revocation there reaches no relying party');
    // recent activity names who acted: the signed-in administrator by name (its id in the title), not `usr_…`
    const login = page.getByRole('listitem').filter({ has: page.locator('code', { hasText: /^auth\.login$/ }) });
    expect(await login.first().textContent()).toMatch(/auth\.loginadmin$/);
    // the last revocations: the one made before the page opened, its serial a link, its reason
    const revoked = page.getByRole('list', { name: 'Recently revoked' }).getByRole('listitem');
    await expect.poll(() => revoked.count(), POLL).toBe(1);
    const target = (await revoked.first().getAttribute('data-revoked'))!;
    expect(target).toBe(ids.bare);
    const { certificate: revokedBare } = await server.authority.certificates.get(target);
    expect(await revoked.first().getByRole('link').textContent()).toBe(revokedBare.serialHex);
    expect(await revoked.first().textContent()).toContain('superseded');
    await session.shot('dashboard-attention');

    await warning('ca.expiring')
      .getByRole('link', { name: /^CA soon-issuing expires in \d+ days$/ })
      .click();
    await page.getByRole('heading', { name: 'soon-issuing' }).waitFor(POLL);
    expect(new URL(page.url()).pathname).toBe(`/cas/${ids.soon}`);
    await session.nav('Dashboard');
    await warning('certificate.expiring').getByRole('link').click();
    await page.getByTestId('certificates-table').getByRole('link', { name: 'db.example.com' }).waitFor(POLL);
    expect(new URL(page.url()).search).toBe('?expiring=7d&sort=expiry_asc');
    await session.nav('Dashboard');
    await bare.getByRole('link', { name: 'e2e-root' }).click();
    await page.getByRole('heading', { name: 'e2e-root' }).waitFor(POLL);
    await page.getByTestId('ca-no-urls').waitFor(POLL);
    // no CRL signed yet: said so (not "CRL number 0"), with how to make one
    expect(await page.locator('dt:text-is("CRL number") + dd').textContent()).toBe(
      'None made yet: downloading the CRL below makes the first, as does pkim crl generate --ca e2e-root',
    );
  }, 120_000);

  it('revokes in the console; the CRL the page links lists it and OCSP at the URL it shows says revoked', async () => {
    await page.goto(`${base}/issue?caId=${ids.int}`);
    await page.getByRole('tab', { name: 'Generate a key' }).click();
    await page.getByLabel('Common name').fill('web.example.com');
    await page.getByLabel('Subject alternative names').fill('web.example.com');
    await page.getByRole('button', { name: 'Generate key and issue' }).click();
    await page.getByTestId('issued-result').waitFor(SERVER_WORK);
    await page.getByRole('link', { name: 'Open certificate →' }).click();
    await page.getByRole('heading', { name: 'web.example.com' }).waitFor(POLL);
    ids.web = page.url().split('/certificates/')[1]!;
    const cert = await server.authority.certificates.get(ids.web);
    // the decoded certificate shows the URLs it carries, as openssl reads them
    const field = (label: string) => page.locator(`dt:text-is("${label}") + dd`);
    const crlUrl = (await field('CRL distribution points').textContent())!;
    const ocspUrl = (await field('OCSP').textContent())!;
    expect(crlUrl).toBe(`${base}/crl/${ids.int}.crl`);
    expect(ocspUrl).toBe(`${base}/ocsp`);
    const text = opensslText(cert.certificatePem);
    expect(text).toContain(`URI:${crlUrl}`);
    expect(text).toContain(`OCSP - URI:${ocspUrl}`);
    expect(await field('CA issuers').getByRole('link').getAttribute('href')).toBe(`${base}/aia/${ids.int}.crt`);

    // the reason is asked first; Cancel revokes nothing
    await page.getByRole('button', { name: 'Revoke' }).click();
    expect(await page.getByLabel('Reason').inputValue()).toBe('unspecified');
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await server.authority.certificates.get(ids.web)).certificate.status).toBe('active');
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByLabel('Reason').selectOption('keyCompromise');
    await page.getByRole('button', { name: 'Revoke certificate' }).click();
    const revoked = page.getByRole('alert').filter({ hasText: /^Revoked .* reason: keyCompromise/ });
    await revoked.waitFor(SERVER_WORK);
    expect(await page.getByRole('button', { name: 'Revoke', exact: true }).count()).toBe(0);
    expect(await revoked.textContent()).toContain('answered as revoked by OCSP');
    await session.shot('certificate-revoked');

    // the CRL the page links: signed by the issuing CA, the serial listed with its reason
    const href = (await revoked.getByRole('link').getAttribute('href'))!;
    const crl = opensslCrlVerify(new Uint8Array(await (await fetch(new URL(href, base))).arrayBuffer()), pems.int);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase().replace(/:/g, '')).toContain(cert.certificate.serialHex);
    expect(crl.text).toContain('Key Compromise');
    // OCSP at the URL the certificate carries (and the page shows)
    const ocsp = await opensslOcspUrl({
      url: ocspUrl,
      issuerPem: pems.int,
      rootPem: pems.root,
      leafPem: cert.certificatePem,
    });
    expect(ocsp).toMatch(/: revoked/);
    expect(ocsp).toContain('Response verify OK');
  }, 180_000);

  it('a revoked certificate that carries no CRL or OCSP URL says relying parties cannot learn of it', async () => {
    await page.goto(`${base}/certificates/${ids.bare}`);
    await page.getByRole('heading', { name: 'bare.example.com' }).waitFor(POLL);
    const revoked = page.getByRole('alert').filter({ hasText: /^Revoked .* reason: superseded/ });
    await revoked.waitFor(POLL);
    await revoked.getByText('This certificate carries no CRL or OCSP URL').waitFor(POLL);
    expect(await revoked.textContent()).not.toContain('answered as revoked by OCSP');
    expect(await page.locator('dt:text-is("CRL distribution points") + dd').textContent()).toBe('none');
  }, 120_000);

  it("the certificate's audit events open from its page, filtered in the address; targets link back", async () => {
    // an API token that issues a certificate: the Actor field's picker offers it by name (the user admin, who signed
    // in, beside it)
    const bot = await server.authority.auth.createToken({ name: 'deploy-bot', role: 'operator' }, E2E_ADMIN);
    const botActor = (await server.authority.auth.authenticateToken(bot.token))!;
    const botIssued = await server.authority.issuance.issueWithKey(
      {
        caId: ids.int!,
        profile: 'tls-server',
        subject: { commonName: 'bot.example.com' },
        sans: { dns: ['bot.example.com'] },
        keyType: 'ec-p256',
      },
      botActor,
    );
    ids.bot = botIssued.certificate.id;
    await page.goto(`${base}/certificates/${ids.web}`);
    await page.getByRole('heading', { name: 'web.example.com' }).waitFor(POLL);
    await page.getByRole('link', { name: 'Audit events' }).click();
    await page.getByTestId('audit-chain-ok').waitFor(SERVER_WORK);
    expect(new URL(page.url()).search).toBe(`?target=${ids.web}`);
    expect(await page.getByLabel('Target').inputValue()).toBe(ids.web);
    const rows = page.locator('[data-testid="audit-table"] [data-action]');
    const actions = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
    await expect.poll(actions, POLL).toEqual(['certificate.revoked', 'certificate.issued']);
    // who revoked it, by name (audit.list's actorName); the issuance's details readable in full at 1366 px
    const cell = (row: number, column: number) => rows.nth(row).locator('td').nth(column);
    expect(await cell(0, 3).textContent()).toBe('admin');
    expect(await cell(0, 3).getAttribute('title')).toMatch(/^usr_/);
    expect(await unreadable(cell(1, 5))).toEqual([]);
    const { certificate } = await server.authority.certificates.get((await cell(1, 4).textContent())!);
    expect(await cell(1, 5).innerText()).toContain(certificate.fingerprintSha256);
    await session.shot('audit-certificate-events');

    // by action: both revocations; a reload keeps the filter
    await page.getByLabel('Target').fill('');
    await page.getByLabel('Action').fill('certificate.revoked');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(actions, POLL).toEqual(['certificate.revoked', 'certificate.revoked']);
    expect(new URL(page.url()).search).toBe('?action=certificate.revoked');
    await page.reload();
    await expect.poll(actions, POLL).toEqual(['certificate.revoked', 'certificate.revoked']);
    expect(await page.getByLabel('Action').inputValue()).toBe('certificate.revoked');
    // by who acted, by name (audit.list takes a username or a token's name): the user admin revoked web only (bare
    // was revoked by the test's own actor)
    const actor = page.getByRole('combobox', { name: 'Actor' });
    // the whole placeholder shows (it was cut at sm:w-64)
    expect(await actor.getAttribute('placeholder')).toBe('actor: a username, token name or id');
    expect(await placeholderCut(actor)).toBe(0);
    // the field's list offers who acted whose name begins with what is typed; ↓ and Enter choose one
    await actor.fill('ad');
    await expect.poll(offered, POLL).toEqual(['admin (user)']);
    await actor.press('ArrowDown');
    await actor.press('Enter');
    expect(await actor.inputValue()).toBe('admin');
    expect(await actorList().isHidden()).toBe(true);
    expect(new URL(page.url()).search).toBe('?action=certificate.revoked');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => new URL(page.url()).search, POLL).toBe('?action=certificate.revoked&actor=admin');
    await expect.poll(actions, POLL).toEqual(['certificate.revoked']);
    // each target opens what it names
    await rows.first().getByRole('link', { name: ids.web }).click();
    await page.getByRole('heading', { name: 'web.example.com' }).waitFor(POLL);
  }, 120_000);

  it("an auditor picks who acted from the Actor field's list (audit.actors: no user or token list)", async () => {
    await server.authority.auth.createUser({ username: 'audrey', password: PASSWORD, role: 'auditor' }, E2E_ADMIN);
    await session.signIn('audrey', PASSWORD);
    await page.goto(`${base}/audit`);
    await page.getByTestId('audit-chain-ok').waitFor(SERVER_WORK);
    const actor = page.getByRole('combobox', { name: 'Actor' });
    // every user and token that acted, by name (audrey by signing in); no user or token that did not
    await actor.click();
    await expect.poll(offered, POLL).toEqual(['admin (user)', 'audrey (user)', 'deploy-bot (API token)']);
    expect(await actor.getAttribute('aria-expanded')).toBe('true');
    // what is typed is asked of the server (audit.actors' `q`), which answers with the names that begin with it only
    const asked = page.waitForResponse((r) => actorsAsked(r.url()) === 'de', POLL);
    await actor.pressSequentially('de');
    const answer = (await (await asked).json()) as { result: { data: { items: { name: string }[] } } };
    expect(answer.result.data.items.map((a) => a.name)).toEqual(['deploy-bot']);
    await expect.poll(offered, POLL).toEqual(['deploy-bot (API token)']);
    await actorList().getByRole('option', { name: 'deploy-bot (API token)' }).click();
    expect(await actor.inputValue()).toBe('deploy-bot');
    expect(await actorList().isHidden()).toBe(true);
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => new URL(page.url()).search, POLL).toBe('?actor=deploy-bot');
    const rows = page.locator('[data-testid="audit-table"] [data-action]');
    await expect
      .poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action'))), POLL)
      .toEqual(['certificate.issued']);
    expect(await rows.first().locator('td').nth(3).textContent()).toBe('deploy-bot');
    expect(await rows.first().locator('td').nth(4).textContent()).toBe(ids.bot);
    // Escape closes the list, the field keeps what was typed
    await actor.fill('a');
    await expect.poll(offered, POLL).toEqual(['admin (user)', 'audrey (user)']);
    // while the answer to the next prefix is held back, the last answer's names that do not begin with it are not
    // offered: ↓ and Enter cannot choose one (before: 'admin' of the answer to 'a' went in the field)
    let release: (() => void) | undefined;
    const held = new Promise<void>((r) => (release = r));
    const actorsRoute = (u: URL) => u.pathname.endsWith('/trpc/audit.actors');
    await page.route(actorsRoute, async (route) => {
      if (['AUD', 'dep'].includes(actorsAsked(route.request().url()) ?? '')) await held;
      await route.continue();
    });
    const asking = page.waitForRequest((r) => actorsAsked(r.url()) === 'AUD', POLL);
    await actor.fill('AUD');
    await asking;
    expect(await offered()).toEqual(['audrey (user)']);
    await actor.fill('dep');
    await actor.press('ArrowDown');
    await actor.press('ArrowDown');
    expect(await offered()).toEqual([]);
    expect(await actor.getAttribute('aria-activedescendant')).toBeNull();
    release?.();
    await expect.poll(offered, POLL).toEqual(['deploy-bot (API token)']);
    await page.unroute(actorsRoute);
    await actor.fill('a');
    await expect.poll(offered, POLL).toEqual(['admin (user)', 'audrey (user)']);
    await actor.press('Escape');
    expect(await actorList().isHidden()).toBe(true);
    expect(await actor.inputValue()).toBe('a');
    // deploy-bot is revoked and a new token of its name acts: the two options tell them apart (when each was made,
    // its id's start), as the API's answer does (createdAt)
    const [first] = (await server.authority.audit.actors({ q: 'deploy' })).items;
    await server.authority.auth.revokeToken(first!.id, E2E_ADMIN);
    const twin = await server.authority.auth.createToken({ name: 'deploy-bot', role: 'auditor' }, E2E_ADMIN);
    await server.authority.audit.record({ actor: twin.id, action: 'test.acted', target: null });
    await actor.fill('deploy');
    const deployBots = async () => (await offered()).filter((l) => l?.startsWith('deploy-bot')).length;
    await expect.poll(deployBots, POLL).toBe(2);
    const labels = (await offered()).map(String);
    const tokens = (await server.authority.audit.actors({ q: 'deploy' })).items;
    expect(labels).toEqual(
      tokens.map((t) => `deploy-bot (API token, created ${utc(t.createdAt)}, ${t.id.slice(0, 12)}…)`),
    );
    expect(new Set(labels).size).toBe(2);
    // the "more" note is the answer's to what is typed now: while the next answer loads it is not shown (the last
    // answer's nextCursor says nothing of the next prefix), a loading note is
    for (let i = 0; i <= 20; i++) {
      const t = await server.authority.auth.createToken(
        { name: `fleet-${String(i).padStart(2, '0')}`, role: 'auditor' },
        E2E_ADMIN,
      );
      await server.authority.audit.record({ actor: t.id, action: 'test.acted', target: null });
    }
    const notes = () => actorList().locator('[data-actor-more], [data-actor-loading]').allTextContents();
    await actor.fill('f');
    await expect.poll(async () => (await offered()).length, POLL).toBe(20);
    expect(await notes()).toEqual(['more: type more of the name']);
    let letGo: (() => void) | undefined;
    let holding = new Promise<void>((r) => (letGo = r));
    await page.route(actorsRoute, async (route) => {
      if (['fleet-1', 'fleet-'].includes(actorsAsked(route.request().url()) ?? '')) await holding;
      await route.continue();
    });
    const fleet1 = page.waitForRequest((r) => actorsAsked(r.url()) === 'fleet-1', POLL);
    await actor.fill('fleet-1');
    await fleet1;
    // the answer to 'f' (20 of 21, more) filtered to fleet-10…fleet-19: not "type more", which the answer to
    // 'fleet-1' (those 10, no more) would contradict
    expect(await offered()).toHaveLength(10);
    expect(await notes()).toEqual(['loading the names that begin with it…']);
    letGo?.();
    await expect.poll(notes, POLL).toEqual([]);
    expect(await offered()).toHaveLength(10);
    // the other way: a complete answer (to 'fleet-1'), then a shorter prefix that has more
    holding = new Promise<void>((r) => (letGo = r));
    const fleet = page.waitForRequest((r) => actorsAsked(r.url()) === 'fleet-', POLL);
    await actor.fill('fleet-');
    await fleet;
    expect(await notes()).toEqual(['loading the names that begin with it…']);
    letGo?.();
    await expect.poll(notes, POLL).toEqual(['more: type more of the name']);
    expect(await offered()).toHaveLength(20);
    await page.unroute(actorsRoute);
  }, 120_000);
});
