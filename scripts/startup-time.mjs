#!/usr/bin/env node
// Start-up time of the compiled CLI: runs each command N times (default 10) and prints min and median wall time.
//   node scripts/startup-time.mjs [--runs N] [--bin FILE]     (default bin: dist/cli/pkim.mjs; build it first)
// `pkim ca list` runs on a throw-away data directory holding one CA.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const runs = Number(opt('--runs', 10));
const bin = opt('--bin', join(root, 'dist/cli/pkim.mjs'));
const dataDir = mkdtempSync(join(tmpdir(), 'pkim-startup-'));
const env = { ...process.env, PKIM_DATA_DIR: dataDir, PKIM_LOG_LEVEL: 'silent' };

function run(args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

try {
  run([bin, 'ca', 'create', '--name', 'startup', '--subject', 'CN=Startup Root', '--key-type', 'ec-p256']);
  const rows = [
    ['node -e 0 (Node itself)', ['-e', '0']],
    ['pkim --help', [bin, '--help']],
    ['pkim ca list', [bin, 'ca', 'list']],
  ];
  console.log(`| command | min ms | median ms | (${runs} runs, Node ${process.version}) |`);
  console.log('|---|---:|---:|---|');
  for (const [name, args] of rows) {
    const times = Array.from({ length: runs }, () => run(args)).sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(`| ${name} | ${Math.round(times[0])} | ${Math.round(median)} | |`);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
