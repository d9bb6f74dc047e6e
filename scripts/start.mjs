#!/usr/bin/env node
// `npm start`: starts the PKI Manager server on this machine with embedded SQLite and software keys, from the
// compiled JavaScript in dist/. Data lives in ./data (override with PKIM_DATA_DIR); the first boot prints the admin
// credential once. Builds first what is missing or older than its sources: the web console (apps/web, Vite) and the
// CLI + server bundle (scripts/build.mjs) — so a clean clone needs only `npm install && npm start`.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_ENTRY, ROOT, bundleIsStale, consoleIsStale } from './build-freshness.mjs';
import { buildBundle, buildWeb } from './build.mjs';

const dist = join(ROOT, 'dist');
// PKIM_START_BIN: run this compiled entry as it is, building nothing (tests/npm-start.test.ts)
const given = process.env.PKIM_START_BIN;
let webChanged = false;
if (!given && !process.env.PKIM_CONSOLE_DIR && existsSync(join(ROOT, 'apps/web')) && consoleIsStale()) {
  process.stdout.write('Building the web console (apps/web)…\n');
  try {
    buildWeb();
    webChanged = true;
  } catch {
    process.stderr.write('error: console.build_failed: the web console did not build (the API still starts)\n');
  }
}
const copied = join(dist, 'web/index.html');
const builtWeb = join(ROOT, 'apps/web/dist/index.html');
const copyStale =
  existsSync(builtWeb) && (!existsSync(copied) || statSync(copied).mtimeMs < statSync(builtWeb).mtimeMs);
if (!given && (bundleIsStale() || webChanged || copyStale)) {
  process.stdout.write('Compiling the CLI and server (dist/)…\n');
  await buildBundle(dist, { web: true });
}

const args = ['serve', ...process.argv.slice(2)];
const child = spawn(process.execPath, [given || BUNDLE_ENTRY, ...args], {
  stdio: 'inherit',
  env: { PKIM_DATA_DIR: join(ROOT, 'data'), ...process.env },
});
// npm passes SIGTERM/SIGINT (and SIGHUP) to this process: hand them to the server, which stops gracefully; this
// process stays until the server has exited, so `npm start` never leaves an orphaned server behind
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  process.exitCode = signal ? 0 : (code ?? 0);
});
