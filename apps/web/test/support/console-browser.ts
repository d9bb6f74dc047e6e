// Support for the console's end-to-end tests: the production build of apps/web (built once per test run, under a
// lock, so parallel test files never rebuild the files another one is serving), `pkim serve` on a fresh data dir,
// Debian's Chromium through playwright-core (no browser download), and the page helpers every e2e file uses.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Download, type Locator, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { startServer, type RunningServer, type StartServerOptions } from '@pkim/server';
import { REPO_ROOT } from '../../../../tests/support/cli-runner';
import { tempDir } from '../../../../tests/support/openssl-tools';
import { FAST_SCRYPT, TEST_KEEP_ALIVE_MS } from '../../../../tests/support/test-kit';
import { changeFirstBootPassword } from '../../../../tests/support/first-boot';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium-options';

/** The few browser globals the page functions use (the tests are type-checked without the DOM library). */
export interface BrowserGlobals {
  localStorage: { getItem(key: string): string | null; removeItem(key: string): void };
}

export const WEB = join(REPO_ROOT, 'apps/web');
export const SHOTS = join(REPO_ROOT, 'docs/screenshots');
/**
 * `npm run screenshots` (scripts/screenshots.mjs) runs the e2e files with PKIM_SCREENSHOTS=1: `shot` then writes
 * the docs' pictures. In `npm test` it does nothing — the tests wait for what they check themselves.
 */
export const SCREENSHOTS = process.env.PKIM_SCREENSHOTS === '1';
export { CHROMIUM, CHROMIUM_ARGS };

/**
 * The bound of a wait on the server's work — a sign-in (scrypt), a CA made or renewed, a certificate signed — not on
 * the page alone: it bounds a failure only (a wait returns as soon as its thing shows). At load 16–20 one sign-in took
 * 20 s and a CA's creation over 30 s, Playwright's default (console-ca-e2e, session 36).
 */
export const SERVER_WORK = { timeout: 120_000 };

/** the box of an element, as the page functions below read it (no DOM library in the tests' types) */
interface Boxed {
  scrollWidth: number;
  clientWidth: number;
  parentElement: Boxed | null;
  getBoundingClientRect(): { left: number; right: number; width: number };
}

/**
 * Why an element's text cannot all be read where it is — empty when it can: not shown, cut by its own box (an
 * ellipsis, overflow hidden), past the screen's right edge, or outside a scrolling box it sits in (a table to scroll
 * sideways).
 */
export async function unreadable(l: Locator): Promise<string[]> {
  return l.evaluate((node) => {
    const g = globalThis as unknown as { innerWidth: number; getComputedStyle(e: Boxed): { overflowX: string } };
    const e = node as unknown as Boxed;
    const r = e.getBoundingClientRect();
    const why: string[] = [];
    if (r.width === 0) why.push('not shown');
    if (e.scrollWidth > e.clientWidth) why.push(`cut: ${e.scrollWidth - e.clientWidth} px wider than its box`);
    if (r.right > g.innerWidth + 1) why.push(`${Math.round(r.right - g.innerWidth)} px past the screen's edge`);
    for (let a = e.parentElement; a; a = a.parentElement) {
      if (g.getComputedStyle(a).overflowX === 'visible') continue;
      const b = a.getBoundingClientRect();
      if (r.right > b.right + 1 || r.left < b.left - 1) why.push('outside the box it scrolls in');
    }
    return why;
  });
}

/**
 * How many px of an input's placeholder its box cuts (0: the whole placeholder shows), the text measured in the
 * input's own font against its content box
 */
export async function placeholderCut(l: Locator): Promise<number> {
  return l.evaluate((node) => {
    interface Style {
      font: string;
      paddingLeft: string;
      paddingRight: string;
    }
    interface Canvas {
      getContext(kind: '2d'): { font: string; measureText(text: string): { width: number } } | null;
    }
    const g = globalThis as unknown as {
      getComputedStyle(e: unknown): Style;
      document: { createElement(tag: 'canvas'): Canvas };
    };
    const input = node as unknown as { placeholder: string; clientWidth: number };
    const style = g.getComputedStyle(node);
    const context = g.document.createElement('canvas').getContext('2d')!;
    context.font = style.font;
    const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return Math.max(0, Math.ceil(context.measureText(input.placeholder).width - room));
  });
}

const LOCK = join(REPO_ROOT, 'node_modules/.cache/pkim-web-build.lock');
const STAMP = join(WEB, 'dist/.pkim-test-run');

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds the console with Vite (exactly what `npm start` serves) unless this test run already did: the run is
 * named by the CLI bundle the global setup built (PKIM_TEST_BIN). A directory lock keeps parallel test files from
 * building into apps/web/dist at the same time; a lock older than 10 minutes is a crashed run's and is broken.
 */
export function buildConsole(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium`);
  const run = process.env.PKIM_TEST_BIN ?? `pid-${process.pid}-${Date.now()}`;
  mkdirSync(join(LOCK, '..'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })!.mtimeMs > 600_000) rmSync(LOCK, { force: true });
      sleepSync(250);
    }
  }
  try {
    if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === run) return;
    const build = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
      { cwd: WEB, encoding: 'utf8' },
    );
    if (build.status !== 0) throw new Error(`vite build failed: ${build.stderr}${build.stdout}`);
    writeFileSync(STAMP, run);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface ConsoleSession {
  server: RunningServer;
  context: BrowserContext;
  page: Page;
  /** http://127.0.0.1:<port> */
  base: string;
  /**
   * the administrator's password: the first-boot one changed once by `openConsole` (the one-time password only
   * changes itself, auth.password_change_required), or the one-time password itself with `{ firstBoot: true }`
   */
  adminPassword: string;
  /** what the server printed at start-up */
  printed: string[];
  dataDir: string;
  /**
   * with PKIM_SCREENSHOTS=1 (`npm run screenshots`), a PNG of the viewport into docs/screenshots/<name>.png once the
   * network is idle; otherwise nothing (no test may rely on it to wait)
   */
  shot(name: string): Promise<void>;
  /** signs in with a fresh cookie jar and CSRF token; waits for the dashboard */
  signIn(username: string, password: string): Promise<void>;
  /** a link of the main navigation (other links may share its words) */
  nav(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The run's Chromium (chromium-server.ts, the `web` project's global setup) when there is one, else a Chromium of
 * this file's own. Closing a connected browser closes only the connection (and its contexts).
 */
export async function openBrowser(): Promise<Browser> {
  const endpoint = inject('pkimChromium');
  if (endpoint) return chromium.connect(endpoint);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A download's bytes (saved through playwright: `download.path()` does not exist for a connected browser). */
export async function readDownload(download: Download): Promise<Buffer> {
  const t = tempDir('pkim-e2e-download-');
  try {
    const file = join(t.dir, 'download');
    await download.saveAs(file);
    return readFileSync(file);
  } finally {
    t.cleanup();
  }
}

/**
 * The built console served by `startServer` on a fresh data dir (127.0.0.1, ephemeral port, no background jobs,
 * no rate limit, idle sockets kept TEST_KEEP_ALIVE_MS) and a Chromium page at 1366×860 in a browser context of its
 * own (its own cookies, storage and downloads). `authority` passes extra authority options (OIDC…); `profiles`
 * are custom profiles, written to the data dir's profiles.json before the server starts. The first-boot
 * administrator's one-time password is changed once (its own change, through the authority) unless `firstBoot`
 * keeps it for a test of the first sign-in.
 */
export async function openConsole(
  opts: {
    prefix?: string;
    authority?: StartServerOptions['authority'];
    profiles?: unknown[];
    firstBoot?: boolean;
  } = {},
): Promise<ConsoleSession> {
  buildConsole();
  if (SCREENSHOTS) mkdirSync(SHOTS, { recursive: true });
  const prefix = opts.prefix ?? 'pkim-e2e';
  const data = tempDir(`${prefix}-data-`);
  const printed: string[] = [];
  let server: RunningServer | undefined;
  let adminPassword = '';
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  // the context, then the browser: this file's own Chromium, or only this connection to the run's
  const closeBrowser = async () => {
    await context?.close();
    await browser?.close();
  };
  try {
    if (opts.profiles) writeFileSync(join(data.dir, 'profiles.json'), JSON.stringify(opts.profiles));
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: data.dir,
      logLevel: 'warn',
      handleSignals: false,
      print: (l) => printed.push(l),
      server: { backgroundJobs: false, rateLimit: false },
      // the test's fetch shares this loop: a socket the server closed while a verifier blocked it is not reused
      keepAliveTimeoutMs: TEST_KEEP_ALIVE_MS,
      // nor one cut while a request works: at load 20 a CA's creation outlasted the 30 s default, the server closed
      // the socket and Chromium sent the POST again (the second answered ca.name_taken, the first had committed)
      idleTimeoutMs: TEST_KEEP_ALIVE_MS,
      // scrypt at a lower cost (FAST_SCRYPT): a file hashes 5–10 times (the first-boot administrator, its change, each
      // user it makes, each sign-in), none of them its subject
      authority: { ...opts.authority, auth: { scrypt: FAST_SCRYPT, ...opts.authority?.auth } },
    });
    adminPassword = opts.firstBoot
      ? server.bootstrap!.password
      : await changeFirstBootPassword(server.authority.auth, server.bootstrap);
    browser = await openBrowser();
    context = await browser.newContext({ viewport: { width: 1366, height: 860 }, acceptDownloads: true });
  } catch (e) {
    await closeBrowser();
    await server?.close();
    data.cleanup();
    throw e;
  }
  const page = await context.newPage();
  const base = server.url;
  const session: ConsoleSession = {
    server,
    context,
    page,
    base,
    adminPassword,
    printed,
    dataDir: data.dir,
    async shot(name) {
      if (!SCREENSHOTS) return;
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
    },
    async signIn(username, password) {
      await session.context.clearCookies();
      await page.goto(`${base}/login`);
      await page.evaluate(() => (globalThis as unknown as BrowserGlobals).localStorage.removeItem('pkim-csrf'));
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    },
    async nav(name) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
    },
    async close() {
      await closeBrowser();
      await session.server.close();
      data.cleanup();
    },
  };
  return session;
}
