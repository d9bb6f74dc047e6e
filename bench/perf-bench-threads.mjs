// `npm run bench`'s 16-in-flight row, the whole process's CPU per certificate by thread, from `perf`: every thread's
// cpu-clock samples inside the row's windows (its BENCH_CPU_PROF files' start and end; V8's clock is perf's with
// `-k CLOCK_MONOTONIC`), each thread's samples by their top frame — OpenSSL, libc's malloc/free, the kernel (futex
// apart), V8 and Node (the symbol). The main thread is the lowest tid; libuv's pool threads are the ones whose samples
// are mostly OpenSSL; V8's helper threads show TurboFan's `compiler::` and GC's symbols. µs = the thread's (or the
// line's) share of the windows' samples × the row's process CPU µs/cert the bench printed. docs/benchmarks-record.md
// "Session 43: the 16-in-flight row above the floor, by thread and step (h-perf)".
//
//   NODE_OPTIONS=--perf-basic-prof PKIM_WORKERS=1 BENCH_SCALING_ROUNDS=0 BENCH_CPU_PROF=<dir> \
//     perf record -k CLOCK_MONOTONIC -e cpu-clock -F 999 -g -o <perf.data> -- env -u NODE_EXTRA_CA_CERTS npm run bench
//   perf script -i <perf.data> --pid <the bench's pid> -F tid,time,ip,sym,dso > <all.script>
//   node bench/perf-bench-threads.mjs --us=<process CPU µs/cert of the 16-in-flight row> [--lines=7] <dir> <all.script>
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const [dir, script] = args.filter((x) => !x.startsWith('--'));
const us = opt('us', NaN);
const lines = opt('lines', 7);
if (!dir || !script || !Number.isFinite(us)) {
  console.error('usage: node bench/perf-bench-threads.mjs --us=<process µs/cert> [--lines=7] <cpuprofile dir> <file>');
  process.exit(2);
}

/** the row's windows in seconds of CLOCK_MONOTONIC (a .cpuprofile's startTime and endTime are µs of it) */
const windows = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    return [p.startTime / 1e6, p.endTime / 1e6];
  });
const inWindow = (t) => windows.some(([a, b]) => t >= a && t <= b);

/** perf script's samples: `tid time:` then one `ip sym (dso)` line per frame, innermost first */
const samples = [];
let current;
for (const line of readFileSync(script, 'utf8').split('\n')) {
  const head = /^\s*(\d+)\s+([\d.]+):/.exec(line);
  if (head) {
    current = { tid: Number(head[1]), time: Number(head[2]), frames: [] };
    if (inWindow(current.time)) samples.push(current);
    continue;
  }
  const frame = /^\s+[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
  if (frame && current) current.frames.push([frame[1], frame[2]]);
}
if (samples.length === 0) {
  console.error('no sample inside the windows: was perf recorded with -k CLOCK_MONOTONIC?');
  process.exit(1);
}

const OPENSSL = /libcrypto|ecp_nistz|bn_|ecdsa|sha256|ossl_|EVP_|ec_/i;
function part(sample) {
  const [sym, dso] = sample.frames[0] ?? ['?', '?'];
  if (/kallsyms/.test(dso)) {
    if (sample.frames.some(([s]) => /futex/.test(s))) return 'kernel: futex';
    const call = sample.frames.find(([s]) => /__x64_sys_|asm_exc_|irqentry|schedule/.test(s));
    return `kernel: ${call ? call[0] : sym}`;
  }
  if (/\/libc\.so/.test(dso)) return /malloc|free|_int_/.test(sym) ? 'libc: malloc/free' : `libc: ${sym}`;
  if (OPENSSL.test(sym) || /libcrypto/.test(dso)) return 'OpenSSL';
  return sym.replace(/\(.*$/, '').slice(0, 60) || dso;
}

const byTid = new Map();
for (const s of samples) {
  if (!byTid.has(s.tid)) byTid.set(s.tid, []);
  byTid.get(s.tid).push(s);
}
const mainTid = Math.min(...byTid.keys());
const µs = (n) => ((us * n) / samples.length).toFixed(1);
console.log(`${samples.length} samples in ${windows.length} windows; µs at ${us} µs/cert (the process)\n`);
for (const [tid, list] of [...byTid].sort((a, b) => b[1].length - a[1].length)) {
  if (list.length / samples.length < 0.005) continue;
  const withOpenSsl = list.filter((s) => s.frames.some(([sym, dso]) => OPENSSL.test(sym) || /libcrypto/.test(dso)));
  const share = ((100 * withOpenSsl.length) / list.length).toFixed(0);
  const name = `tid ${tid}${tid === mainTid ? ' (main)' : ''}`;
  console.log(`${name}: ${µs(list.length)} µs/cert, OpenSSL on the stack ${share} %`);
  const parts = new Map();
  for (const s of list) parts.set(part(s), (parts.get(part(s)) ?? 0) + 1);
  for (const [name, n] of [...parts].sort((a, b) => b[1] - a[1]).slice(0, lines)) {
    console.log(`  ${µs(n).padStart(7)}  ${name}`);
  }
}
