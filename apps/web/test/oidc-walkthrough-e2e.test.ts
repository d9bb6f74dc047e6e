// docs/oidc.md's walk-through, run verbatim (tests/support/doc-script.ts) with PKIM_CHECKOUT this checkout: the local
// provider `npm run oidc:dev-provider` (scripts/oidc-dev-provider.ts), the PKIM_OIDC_* variables it prints and the
// doc's name and role map, and the compiled `pkim serve` configured by nothing else. Then Chromium signs in as the
// doc says: alice (pki-admins) an admin, bob (pki-ops) an operator, eve (marketing) refused with the sign-in page's
// message and no user made. The reader stops it with Ctrl-C (SIGINT to the walk's process group, as a terminal sends
// it): the server and the provider end, the script exits 0, nothing is left. Then the doc's troubleshooting: the same
// block run again in the same directory with a scope asking for another client's ID token (the provider's second
// client, Dex's cross-client trust) — alice is refused with `auth.oidc_invalid_token`, its message on the sign-in
// page, the log line and the audit event naming both audiences. The console is the one `npm run build` puts beside
// the bundle (dist/web): the test run's bundle (tests/global-setup.ts) is built without it, so PKIM_CONSOLE_DIR names
// apps/web/dist, built by buildConsole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT, runPkim } from '../../../tests/support/cli-runner';
import { markedBashBlock, startDocScript, type RunningDocScript } from '../../../tests/support/doc-script';
import { tempDir } from '../../../tests/support/openssl-tools';
import { requireBinary } from '../../../tests/support/verifiers';
import { buildConsole, openBrowser, SERVER_WORK, WEB } from './support/console-browser';
import { signInThroughDevProvider } from './support/oidc-kit';

const DOC = 'docs/oidc.md';
const script = (md: string): string => markedBashBlock(md, 'oidc-dev-provider', DOC);
/** the troubleshooting's lines, then the walk-through's block again ("run the block above again") */
const wrongAudienceScript = (md: string): string => `${markedBashBlock(md, 'oidc-wrong-audience', DOC)}\n${script(md)}`;
/** the command lines of running processes that name `dir` (the provider's settings file is in the walk's directory) */
const processesIn = (dir: string): string[] =>
  spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((args) => args.includes(dir) && !args.startsWith('ps '));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** the walk's `pkim serve` answers /readyz (the provider listens by then); the script must not have ended */
async function served(run: RunningDocScript): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (run.exited() !== undefined) throw new Error(`the walk-through ended (${run.exited()}): ${run.out()}`);
    if (Date.now() > deadline) throw new Error(`pkim serve never answered /readyz: ${run.out()}`);
    const status = await fetch(`${run.base}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
/** the issuer URL the provider of this run printed (its last `export PKIM_OIDC_ISSUER=` line) */
const issuerIn = (out: string): string =>
  [...out.matchAll(/^export PKIM_OIDC_ISSUER=(http:\/\/127\.0\.0\.1:\d+)$/gm)].at(-1)![1]!;
const providerPidIn = (out: string): number => Number([...out.matchAll(/^# issuer http:\S+, pid (\d+);/gm)].at(-1)![1]);

describe('docs/oidc.md walk-through: the local provider, PKIM_OIDC_* and pkim serve, signed in with Chromium', () => {
  const tmp = tempDir('pkim-oidc-walk-');
  let run: RunningDocScript;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let issuer: string;

  beforeAll(async () => {
    for (const bin of ['bash', 'npm']) requireBinary(bin);
    buildConsole();
    const md = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    run = await startDocScript(tmp.dir, script(md), {
      PKIM_CHECKOUT: REPO_ROOT,
      PKIM_CONSOLE_DIR: join(WEB, 'dist'),
    });
    await served(run);
    issuer = issuerIn(run.out());
    browser = await openBrowser();
    context = await browser.newContext({ viewport: { width: 1366, height: 860 } });
    // the provider's development pages import a web font: no network here, answer it empty
    await context.route(/fonts\.googleapis\.com/, (route) => route.fulfill({ status: 200, body: '' }));
    page = await context.newPage();
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await run?.stop();
    await again?.stop();
    tmp.cleanup();
  });

  let again: RunningDocScript | undefined;
  const signInAs = (login: string, at: RunningDocScript = run) =>
    signInThroughDevProvider({ context, page, base: at.base, issuer, name: 'Local test IdP' }, login);
  const role = () => page.getByRole('button', { name: 'Account menu' }).locator('[data-role]');

  it('prints the provider settings (not for production); the compiled pkim serve serves the console', async () => {
    expect(run.out()).toContain('FOR TRYING PKIM OUT, NOT FOR PRODUCTION');
    expect(run.out()).toMatch(/^export PKIM_OIDC_CLIENT_ID=pkim-console$/m);
    expect(run.out()).toMatch(/^export PKIM_OIDC_CLIENT_SECRET=[A-Za-z0-9_-]{32}$/m);
    const login = await fetch(`${run.base}/login`, { headers: { accept: 'text/html' } });
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<title>PKI Manager</title>');
    const cfg = (await (await fetch(`${run.base}/auth/oidc/config`)).json()) as Record<string, unknown>;
    expect(cfg).toEqual({ enabled: true, name: 'Local test IdP', loginUrl: '/auth/oidc/login' });
  });

  it('signs alice in (pki-admins → admin) and bob (pki-ops → operator), as the doc says', async () => {
    await signInAs('alice');
    await page.waitForURL(`${run.base}/certificates`, SERVER_WORK);
    await expect.poll(() => role().getAttribute('data-role'), SERVER_WORK).toBe('admin');
    const me = await page.evaluate(async () => {
      const res = await fetch('/trpc/user.me', { credentials: 'same-origin' });
      return (await res.json()) as { result: { data: { authMethod: string; role: string; name: string } } };
    });
    expect(me.result.data).toMatchObject({ authMethod: 'oidc', role: 'admin', name: 'alice' });

    await signInAs('bob');
    await page.waitForURL(`${run.base}/certificates`, SERVER_WORK);
    await expect.poll(() => role().getAttribute('data-role'), SERVER_WORK).toBe('operator');
  });

  it("refuses eve (marketing: no role) on the sign-in page with the doc's message", async () => {
    await signInAs('eve');
    await page.waitForURL(/\/login\?error=auth\.oidc_no_role/, SERVER_WORK);
    const alert = page.getByRole('alert').filter({ hasText: 'auth.oidc_no_role' });
    await expect
      .poll(() => alert.textContent())
      .toContain('Your account at the identity provider is not in a group that has a role here.');
  });

  it('stops with Ctrl-C: pkim serve and the provider end, the walk exits 0, nothing is left running', async () => {
    const providerPid = providerPidIn(run.out());
    const before = run.out().length;
    const ended = await run.interrupt();
    const after = run.out().slice(before);
    expect(ended, after).toEqual({ code: 0, signal: null });
    expect(after).toMatch(/"msg":"pkim stopped"/);
    // nothing on stderr but the server's own lines (a failing `kill` in the walk's trap printed "No such process")
    expect(after.split('\n').filter((l) => l !== '' && !l.startsWith('{"level"'))).toEqual([]);
    // the provider (npm run oidc:dev-provider, its pid as it printed it) stopped with the walk; no orphan
    await expect.poll(() => alive(providerPid), { timeout: 20_000 }).toBe(false);
    await expect.poll(() => run.groupProcesses(), { timeout: 20_000 }).toEqual([]);
    await expect.poll(() => processesIn(run.work), { timeout: 20_000 }).toEqual([]);
    const users = runPkim(['user', 'list', '--json'], { dataDir: join(tmp.dir, 'data') }).json<{
      items: { username: string; role: string }[];
    }>().items;
    expect(users.map((u) => [u.username, u.role]).sort()).toEqual([
      ['admin', 'admin'],
      ['alice', 'admin'],
      ['bob', 'operator'],
    ]);
  });

  it("troubleshooting: another client's token (the doc's scope, block run again) refused, reason named", async () => {
    const md = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    // the same directory (its oidc.env of the run before) and port, the server at its default log level (info)
    again = await startDocScript(tmp.dir, wrongAudienceScript(md), {
      PKIM_CHECKOUT: REPO_ROOT,
      PKIM_CONSOLE_DIR: join(WEB, 'dist'),
      PKIM_PORT: new URL(run.base).port,
      PKIM_LOG_LEVEL: 'info',
    });
    await served(again);
    issuer = issuerIn(again.out());
    expect(issuer).not.toBe(issuerIn(run.out()));
    await signInAs('alice', again);
    await page.waitForURL(/\/login\?error=auth\.oidc_invalid_token/, SERVER_WORK);
    const alert = page.getByRole('alert').filter({ hasText: 'auth.oidc_invalid_token' });
    await expect
      .poll(() => alert.textContent())
      .toContain('The identity provider sent a token that could not be verified.');
    const reason =
      "the ID token is for another client: its audience (aud) is 'other-app', not 'pkim-console', this server's " +
      'client id (PKIM_OIDC_CLIENT_ID)';
    // the server's log line (what the reader's terminal shows) and the audit event the doc points to
    await expect.poll(() => again!.out(), SERVER_WORK).toContain(reason);
    const failed = runPkim(['audit', 'list', '--action', 'auth.login_failed', '--json'], {
      dataDir: join(tmp.dir, 'data'),
    }).json<{ items: { details: Record<string, unknown> }[] }>().items;
    expect(failed.map((e) => e.details)).toEqual([
      expect.objectContaining({ method: 'oidc', reason: 'invalid_token', code: 'auth.oidc_invalid_token' }),
      expect.objectContaining({ method: 'oidc', reason: 'no_role', code: 'auth.oidc_no_role' }),
    ]);
    expect(failed[0]!.details.message).toBe(reason);
    const ended = await again.interrupt();
    expect(ended, again.out()).toEqual({ code: 0, signal: null });
    await expect.poll(() => again!.groupProcesses(), { timeout: 20_000 }).toEqual([]);
  }, 240_000);
});
