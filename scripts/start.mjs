#!/usr/bin/env node
// `npm start`: starts the PKI Manager server on this machine with embedded SQLite and software keys.
// Data lives in ./data (override with PKIM_DATA_DIR); the first boot prints the admin credential once.
// The web console (apps/web) is built first when its static files are missing or older than its sources.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'apps/web');

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

function consoleIsStale() {
  const built = join(web, 'dist/index.html');
  if (!existsSync(built)) return true;
  const sources = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json']
    .map((p) => join(web, p))
    .filter((p) => existsSync(p));
  return Math.max(...sources.map(newestMtime)) > statSync(built).mtimeMs;
}

if (!process.env.PKIM_CONSOLE_DIR && existsSync(web) && consoleIsStale()) {
  process.stdout.write('Building the web console (apps/web)…\n');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: web,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    process.stderr.write('error: console.build_failed: the web console did not build (the API still starts)\n');
  }
}

const args = ['serve', ...process.argv.slice(2)];
const child = spawn(process.execPath, [join(root, 'apps/cli/bin/pkim.mjs'), ...args], {
  stdio: 'inherit',
  env: { PKIM_DATA_DIR: join(root, 'data'), ...process.env },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  process.exitCode = signal ? 0 : (code ?? 0);
});
