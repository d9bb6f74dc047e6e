// `npm run bench:console`: the certificates page of the web console over BENCH_ROWS (default 100,000)
// certificates: BENCH_REAL (default 2,000) issued through the signing pipeline (issueFromCsr, 8 in
// flight), the rest imported as rows copied from those (own id, serial, names, expiry). Starts
// `pkim serve` as a separate process on the data dir, drives Debian's Chromium (playwright-core) and
// reports how long the first page of the certificates table takes to render:
//   - full load: navigation to /certificates (HTML, JS, session check, first tRPC page) until 50 rows are in the DOM
//   - in-app: a click on "Certificates" in the navigation until the rows are in the DOM
//   - API: certificate.list (50 rows) from the browser, over HTTP
// Runs BENCH_SAMPLES (default 7) times each and prints a markdown table (median, p90, max).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { createAuthority } from '@pkim/authority';
import { openStore } from '@pkim/store';
import { opensslCsr } from '../tests/support/openssl-tools';
import { CHROMIUM, CHROMIUM_ARGS } from '../apps/web/test/support/chromium-options';
import { startPkimServe } from './pkim-serve';

/** The few browser globals the page functions use (this file is type-checked without the DOM library). */
interface BrowserGlobals {
  __t0: number;
  document: {
    querySelector(selector: string): { click(): void } | null;
    querySelectorAll(selector: string): { length: number };
  };
}

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
/** how many of them go through the signing pipeline; the rest are imported as rows (like `pkim db restore`) */
const REAL = Math.min(ROWS, Number(process.env.BENCH_REAL ?? 2_000));
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 7);
const IN_FLIGHT = 8;
const DAY = 86_400_000;
const ROOT = join(import.meta.dirname, '..');
const actor = { id: 'bench', name: 'bench', role: 'admin' as const };
const PASSWORD = 'bench-password-123456';

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), max: s[s.length - 1]! };
}

async function seed(dataDir: string): Promise<void> {
  const a = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
  const root = await a.cas.create({ name: 'bench-root', subject: 'CN=Bench Root CA', keyType: 'ec-p384' }, actor);
  const issuing = await a.cas.create(
    { name: 'bench-issuing', subject: 'CN=Bench Issuing CA', keyType: 'ec-p256', parentId: root.ca.id },
    actor,
  );
  await a.auth.createUser({ username: 'bench', password: PASSWORD, role: 'admin' }, actor);
  const csrs = Array.from({ length: 8 }, (_, i) => opensslCsr({ keyType: 'ec-p256', subject: `/CN=seed${i}` }).csrPem);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < REAL; i = next++) {
        const cn = `host${i}.svc${i % 1000}.example.com`;
        await a.issuance.issueFromCsr(
          {
            caId: issuing.ca.id,
            csrPem: csrs[i % csrs.length]!,
            profile: 'tls-server',
            subject: { commonName: cn },
            sans: { dns: [cn] },
            validityMs: (1 + (i % 365)) * DAY,
          },
          actor,
        );
        if (i % 500 === 0) process.stderr.write(`issued ${i}\n`);
      }
    }),
  );
  process.stderr.write(`issued ${REAL} certificates in ${((performance.now() - start) / 1000).toFixed(0)} s\n`);
  const real = (await a.certificates.list({ limit: 1000 })).items;
  await a.close();
  // the rest: rows copied from the issued ones with their own id, serial, names and expiry
  const store = await openStore({ url: join(dataDir, 'pkim.db') });
  const now = Date.now();
  for (let i = REAL; i < ROWS; i += 20_000) {
    const rows = [];
    for (let j = i; j < Math.min(ROWS, i + 20_000); j++) {
      const t = real[j % real.length]!;
      const cn = `host${j}.svc${j % 1000}.example.com`;
      rows.push({
        ...t,
        id: `crt_seed${String(j).padStart(9, '0')}`,
        serialHex: (0x10000000 + j).toString(16).padStart(40, '0'),
        subjectDn: `CN=${cn}`,
        commonName: cn,
        sans: { dns: [cn] },
        notAfter: now + (1 + (j % 365)) * DAY,
        fingerprintSha256: j.toString(16).padStart(64, '0'),
        createdAt: now - ROWS + j,
      });
    }
    await store.importRows('certificates', rows);
  }
  process.stderr.write(`imported ${ROWS - REAL} more certificate rows\n`);
  await store.close();
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pkim-console-bench-'));
  const profile = mkdtempSync(join(tmpdir(), 'pkim-console-bench-chromium-'));
  if (!existsSync(join(ROOT, 'apps/web/dist/index.html'))) {
    const b = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
      {
        cwd: join(ROOT, 'apps/web'),
        stdio: 'inherit',
      },
    );
    if (b.status !== 0) throw new Error('console build failed');
  }
  await seed(dataDir);
  const server = await startPkimServe(dataDir);
  try {
    const url = server.url;
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1366, height: 860 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // main-thread CPU time of the renderer (thread ticks): independent of how busy the machine is
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const cpuMs = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000;
    };
    await page.goto(`${url}/login`);
    await page.getByLabel('Username').fill('bench');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

    const full: number[] = [];
    const inApp: number[] = [];
    const inAppCpu: number[] = [];
    const api: number[] = [];
    // measured inside the page (performance.now() is relative to the navigation start)
    const rendered = () =>
      page.waitForFunction(
        () =>
          (globalThis as unknown as BrowserGlobals).document.querySelectorAll(
            '[data-testid="certificates-table"] tbody tr',
          ).length >= 50,
        undefined,
        { polling: 10, timeout: 60_000 },
      );
    for (let i = 0; i < SAMPLES; i++) {
      await page.goto(`${url}/certificates`, { waitUntil: 'commit' });
      await rendered();
      full.push(await page.evaluate(() => performance.now()));

      await page.goto(`${url}/`);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await page.waitForLoadState('networkidle');
      const cpu0 = await cpuMs();
      await page.evaluate(() => {
        const g = globalThis as unknown as BrowserGlobals;
        g.__t0 = performance.now();
        g.document.querySelector('nav[aria-label="Main"] a[href="/certificates"]')?.click();
      });
      await rendered();
      inApp.push(await page.evaluate(() => performance.now() - (globalThis as unknown as BrowserGlobals).__t0));
      inAppCpu.push((await cpuMs()) - cpu0);

      api.push(
        await page.evaluate(async () => {
          const input = encodeURIComponent(JSON.stringify({ limit: 50 }));
          const t = performance.now();
          const r = await fetch(`/trpc/certificate.list?input=${input}`);
          await r.json();
          return performance.now() - t;
        }),
      );
    }
    await context.close();
    const f = (n: number) => `${n.toFixed(0)} ms`;
    console.log(
      `\nCertificates page over ${ROWS.toLocaleString('en-US')} certificates (${SAMPLES} samples, ` +
        `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs)\n`,
    );
    console.log('| measurement | median | p90 | max |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, v] of [
      ['full page load of /certificates until 50 rows are rendered', full],
      ['in-app navigation to Certificates until 50 rows are rendered', inApp],
      ['browser main-thread CPU time of that in-app navigation', inAppCpu],
      ['certificate.list (50 rows) over HTTP from the browser', api],
    ] as const) {
      const s = stats(v);
      console.log(`| ${name} | ${f(s.median)} | ${f(s.p90)} | ${f(s.max)} |`);
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
