#!/usr/bin/env node
// Start-up time of the compiled CLI: runs each command N times (default 10) and prints min and median wall time.
//   node scripts/startup-time.mjs [--runs N] [--bin FILE]     (default bin: dist/cli/pkim.mjs; build it first)
// `pkim ca list` runs on a throw-away data directory holding one CA. `pkim serve` on that (existing) data dir:
// time until it listens (its --json line), the CPU time it used until then, and its resident memory (VmRSS, VmHWM)
// after 3 s idle.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const runs = Number(opt('--runs', 10));
const bin = opt('--bin', join(root, 'dist/cli/pkim.mjs'));
const dataDir = mkdtempSync(join(tmpdir(), 'pkim-startup-'));
const env = { ...process.env, PKIM_DATA_DIR: dataDir, PKIM_LOG_LEVEL: 'silent' };

// CPU time (user + system) of the child too, through GNU time when present: on a loaded machine wall time mostly
// measures the wait for a core, CPU time what the command itself costs
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function run(args) {
  const started = process.hrtime.bigint();
  const r = GNU_TIME
    ? spawnSync(GNU_TIME, ['-f', 'pkim-cpu %U %S', process.execPath, ...args], { env, encoding: 'utf8' })
    : spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const cpu = /pkim-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  return { ms, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN };
}

try {
  run([bin, 'init']);
  run([bin, 'ca', 'create', '--name', 'startup', '--subject', 'CN=Startup Root', '--key-type', 'ec-p256']);
  const rows = [
    ['node -e 0 (Node itself)', ['-e', '0']],
    ['pkim --help', [bin, '--help']],
    ['pkim ca list', [bin, 'ca', 'list']],
  ];
  console.log(`| command | min ms | median ms | median CPU ms | (${runs} runs, Node ${process.version}) |`);
  console.log('|---|---:|---:|---:|---|');
  for (const [name, args] of rows) {
    const results = Array.from({ length: runs }, () => run(args));
    const times = results.map((x) => x.ms).sort((a, b) => a - b);
    const cpu = results.map((x) => x.cpuMs).sort((a, b) => a - b);
    const mid = Math.floor(runs / 2);
    console.log(`| ${name} | ${Math.round(times[0])} | ${Math.round(times[mid])} | ${Math.round(cpu[mid])} | |`);
  }
  const serves = [];
  for (let i = 0; i < Math.min(runs, 5); i++) serves.push(await serveOnce());
  serves.sort((a, b) => a.readyMs - b.readyMs);
  const mid = serves[Math.floor(serves.length / 2)];
  console.log(
    `| pkim serve: ready (listening) | ${Math.round(serves[0].readyMs)} | ${Math.round(mid.readyMs)} | ` +
      `${[...serves].sort((a, b) => a.cpuMs - b.cpuMs)[Math.floor(serves.length / 2)].cpuMs} | ` +
      `idle RSS ${mid.rssMb} MB, peak ${mid.hwmMb} MB (median run of ${serves.length}) |`,
  );
  const [l1, l5] = loadavg();
  console.log(
    `load average while measuring: ${l1.toFixed(1)} (1 min), ${l5.toFixed(1)} (5 min) on ${cpus().length} cores`,
  );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

/** starts `pkim serve --port 0 --json`, times it until the JSON line, reads its RSS after 3 s idle, stops it */
function serveOnce() {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.once('exit', (code) => reject(new Error(`pkim serve exited ${code}`)));
    child.stdout.on('data', (d) => {
      out += d.toString();
      if (!out.includes('\n')) return;
      child.stdout.removeAllListeners('data');
      const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
      // CPU time (user + system, clock ticks of 10 ms) the server used until it listened: on a loaded machine the
      // wall time is mostly the wait for a core
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      const cpuMs = (Number(stat[11]) + Number(stat[12])) * 10;
      setTimeout(() => {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
        child.removeAllListeners('exit');
        child.once('exit', () =>
          resolve({ readyMs, cpuMs, rssMb: Math.round(kb('VmRSS') / 1024), hwmMb: Math.round(kb('VmHWM') / 1024) }),
        );
        child.kill('SIGTERM');
      }, 3000);
    });
  });
}
