#!/usr/bin/env node
// `npm start`: starts the PKI Manager server on this machine with embedded SQLite and software keys.
// Data lives in ./data (override with PKIM_DATA_DIR); the first boot prints the admin credential once.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = ['serve', ...process.argv.slice(2)];
const child = spawn(process.execPath, [join(root, 'apps/cli/bin/pkim.mjs'), ...args], {
  stdio: 'inherit',
  env: { PKIM_DATA_DIR: join(root, 'data'), ...process.env },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  process.exitCode = signal ? 0 : (code ?? 0);
});
