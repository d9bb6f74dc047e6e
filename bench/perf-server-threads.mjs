// bench:http's server CPU per request by thread and part, from `BENCH_PERF_DIR`'s `perf record -e cpu-clock -g` of
// the server over one measured row (every thread of the process). The threads are told apart by what they run: the
// main thread (tid = pid), libuv's pool (its samples mostly OpenSSL's ECDSA), V8's helper threads (the rest:
// TurboFan, GC). On the main thread a sample goes to the innermost frame a rule matches (node:crypto's key import,
// its signature jobs, SQLite, ours — the built server's chunks —, Node's HTTP and net), a kernel sample to its
// syscall's user-side caller. µs = share × the row's "server CPU µs/req (all)" the bench printed.
// docs/benchmarks-record.md "Session 41: … (h-perf)".
//
//   mkdir <dir>; BENCH_PERF_DIR=<dir> PKIM_WORKERS=1 BENCH_ONLY=pkim,cfssl BENCH_FLOOR_SECONDS=0 npm run bench:http
//   node bench/perf-server-threads.mjs --us=<server CPU µs/req, all threads> <dir>/pkim.data
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const us = Number(args.find((a) => a.startsWith('--us='))?.slice(5));
const data = args.find((a) => !a.startsWith('--'));
if (!data || !(us > 0)) {
  console.error('usage: node bench/perf-server-threads.mjs --us=<server CPU µs/req, all threads> <perf.data>');
  process.exit(2);
}
const script = execFileSync('perf', ['script', '-i', data, '-F', 'pid,tid,ip,sym,dso'], {
  encoding: 'utf8',
  maxBuffer: 1 << 30,
  env: { ...process.env, DEBUGINFOD_URLS: '' },
  stdio: ['ignore', 'pipe', 'ignore'],
});

const CRYPTO = /ecp_nistz256|ecdsa|ECDSA|^EC_|^ec_|^bn_|^BN_|sha256|EVP_|ossl_|DeriveBits|SignTraits|CRYPTO_/;
const MAIN_RULES = [
  [
    /ImportJWK|InitJWK|ecp_nistz256|^EC_|^ec_|ossl_ec|^BN_|^bn_|getKeyObjectHandleFromJwk|createPublicKey/,
    "main: the CSR key's import (node:crypto, OpenSSL)",
  ],
  [
    /DeriveBits|SignTraits|CryptoJob|AsyncWrap::AsyncWrap|signOneShot|verifyOneShot|uv_queue_work|uv__work_done/,
    'main: the signature jobs made and done (node:crypto)',
  ],
  [/sqlite3|better_sqlite|Statement::|Database::/, 'main: the commit, SQLite and its binding'],
  [/pkim-bench-build|\/dist\/cli\//, "main: ours, the server's and the pipeline's JavaScript"],
  [
    /llhttp|Parser::|StreamBase|LibuvStreamWrap|TCPWrap|node:_http|node:http|node:net|node:stream|node:internal\/(streams|http)/,
    "main: Node's HTTP and net (llhttp, IncomingMessage, the head, end)",
  ],
];
const KERNEL_CALLERS = [
  [/pwrite/, "main, kernel: the WAL's pages (pwrite)"],
  [/cond_signal|lll_lock_wake/, 'main, kernel: the pool woken (futex: condition, mutex)'],
  [/writev/, "main, kernel: the answer's writev (TCP over loopback)"],
  [/^read$/, "main, kernel: the request's read"],
  [/malloc|free/, "main, kernel: malloc's page faults"],
  [/epoll/, 'main, kernel: epoll'],
  [/libc_write/, 'main, kernel: write (the perf map: the instrument)'],
];

const samples = [];
for (const block of script.split('\n\n')) {
  const lines = block.split('\n').filter(Boolean);
  if (lines.length < 2) continue;
  const [, pid, tid] = /(\d+)\/(\d+)/.exec(lines[0]) ?? [];
  const frames = lines
    .slice(1)
    .map((l) => /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(l))
    .filter(Boolean)
    .map((m) => ({ name: m[1], dso: m[2] }));
  if (frames.length) samples.push({ main: pid === tid, tid, frames });
}
// libuv's pool: the non-main threads whose samples are mostly OpenSSL's
const byTid = new Map();
for (const s of samples) {
  const t = byTid.get(s.tid) ?? { n: 0, crypto: 0 };
  t.n++;
  if (s.frames.some((f) => CRYPTO.test(f.name))) t.crypto++;
  byTid.set(s.tid, t);
}
const pool = new Set([...byTid].filter(([, t]) => t.crypto > t.n / 3).map(([tid]) => tid));

function part({ main, tid, frames }) {
  const all = frames.map((f) => f.name).join(' ');
  const kernel = frames[0].dso.includes('kernel');
  if (main) {
    if (/Heap::|Scavenge|MarkCompact|GCTracer|IncrementalMarking|MinorMC/.test(all)) return 'main: GC';
    if (kernel) {
      const caller = frames.find((f) => !f.dso.includes('kernel'))?.name ?? '';
      return KERNEL_CALLERS.find(([re]) => re.test(caller))?.[1] ?? 'main, kernel: other (fcntl, pread, interrupts)';
    }
    for (const f of frames) {
      const rule = MAIN_RULES.find(([re]) => re.test(f.name));
      if (rule) return rule[1];
    }
    if (/malloc|free|unlink_chunk|consolidate/.test(frames[0].name)) return 'main: malloc/free (caller lost)';
    return 'main: other (promise jobs, microtasks, callers lost)';
  }
  if (pool.has(tid)) {
    if (kernel || /lll_lock|futex|pthread_cond/.test(frames[0].name))
      return "libuv's pool: kernel (futex: the queue's mutex and condition, scheduling)";
    if (/malloc|free|unlink_chunk|consolidate/.test(frames[0].name)) return "libuv's pool: malloc/free";
    return "libuv's pool: the signatures (ECDSA sign, verify, their OpenSSL set-up)";
  }
  if (/compiler::|Compil|Maglev|Turbofan|Optimiz/.test(all)) return "V8's helper threads: TurboFan compiling";
  if (/Scaveng|Mark|Sweep|Heap::|Evacuat|Concurrent/.test(all)) return "V8's helper threads: GC";
  return kernel ? "V8's helper threads: kernel" : "V8's helper threads: other";
}

const counts = new Map();
for (const s of samples) counts.set(part(s), (counts.get(part(s)) ?? 0) + 1);
console.log(`${samples.length} samples, ${byTid.size} threads (${pool.size} of libuv's pool); µs at ${us} µs/req\n`);
console.log('| part | share | µs/req |\n|---|---:|---:|');
const order = (k) => (k.startsWith('libuv') ? 0 : k.startsWith('main:') ? 1 : k.startsWith('main,') ? 2 : 3);
for (const [k, v] of [...counts].sort((a, b) => order(a[0]) - order(b[0]) || b[1] - a[1])) {
  console.log(`| ${k} | ${((100 * v) / samples.length).toFixed(1)} % | ${((us * v) / samples.length).toFixed(0)} |`);
}
