// docs/oidc.md's walk-through, run verbatim (tests/support/doc-script.ts) with PKIM_CHECKOUT this checkout: the local
// provider `npm run oidc:dev-provider` (scripts/oidc-dev-provider.ts), the PKIM_OIDC_* variables it prints and the
// doc's name and role map, and the compiled `pkim serve` configured by nothing else. Then Chromium signs in as the
// doc says: alice (pki-admins) an admin, bob (pki-ops) an operator, eve (marketing) refused with the sign-in page's
// message and no user made. The console is the one `npm run build` puts beside the bundle (dist/web): the test run's
// bundle (tests/global-setup.ts) is built without it, so PKIM_CONSOLE_DIR names apps/web/dist, built by buildConsole.
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
/** the command lines of running processes that name `dir` (the provider's settings file is in the walk's directory) */
const processesIn = (dir: string): string[] =>
  spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((args) => args.includes(dir) && !args.startsWith('ps '));

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
    // the server answers once the provider listens and `pkim serve` has started; the script must not have ended
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (run.exited() !== undefined) throw new Error(`the walk-through ended (${run.exited()}): ${run.out()}`);
      if (Date.now() > deadline) throw new Error(`pkim serve never answered /readyz: ${run.out()}`);
      const status = await fetch(`${run.base}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    issuer = /^export PKIM_OIDC_ISSUER=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(run.out())![1]!;
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
    tmp.cleanup();
  });

  const signInAs = (login: string) =>
    signInThroughDevProvider({ context, page, base: run.base, issuer, name: 'Local test IdP' }, login);
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

  it('stops with Ctrl-C/SIGTERM leaving nothing running; the users are alice and bob, never eve', async () => {
    const providerPid = Number(/^# issuer http:\S+, pid (\d+);/m.exec(run.out())![1]);
    await run.stop();
    await expect.poll(() => processesIn(run.work), { timeout: 20_000 }).toEqual([]);
    // the provider (npm run oidc:dev-provider, its pid as it printed it) stopped with the walk
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(() => alive(providerPid), { timeout: 20_000 }).toBe(false);
    const users = runPkim(['user', 'list', '--json'], { dataDir: join(tmp.dir, 'data') }).json<{
      items: { username: string; role: string }[];
    }>().items;
    expect(users.map((u) => [u.username, u.role]).sort()).toEqual([
      ['admin', 'admin'],
      ['alice', 'admin'],
      ['bob', 'operator'],
    ]);
  });
});
