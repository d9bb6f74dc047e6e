// `npm run bench`'s 16-in-flight row, the main thread's ON-CPU time per certificate by step, from `perf` (cpu-clock
// samples count only time on a core; V8's sampler counts wall time and charges a wait for a core to the call before
// it: session 26). The row's parts are the windows of its BENCH_CPU_PROF files (V8's clock is perf's with
// `-k CLOCK_MONOTONIC`); each main-thread sample inside them goes to the first step in order its stack matches; µs =
// the step's share of those samples × the main thread's µs/cert the bench printed for the row. JIT frames are named
// through --perf-basic-prof. Limits: TurboFan's inlined functions are their caller's (the pipeline's JavaScript
// shows as its outer frames; V8's profile splits it), and libc/OpenSSL assembly has no frame pointers (a sample in
// malloc or the kernel loses its caller: its own lines). docs/benchmarks-record.md "Session 40: … (h-perf)".
//
//   NODE_OPTIONS=--perf-basic-prof PKIM_WORKERS=1 BENCH_SCALING_ROUNDS=0 BENCH_CPU_PROF=<dir> \
//     perf record -k CLOCK_MONOTONIC -e cpu-clock -F 999 -g -o <perf.data> -- env -u NODE_EXTRA_CA_CERTS npm run bench
//   perf script -i <perf.data> --tid <the bench's pid> -F time,ip,sym,dso > <main.script>
//   node bench/perf-main-steps.mjs --us=<main thread µs/cert of the 16-in-flight row> <dir> <main.script>
//
// `--server`: bench:http's `pkim serve` instead (session 42): its `BENCH_PERF_DIR` file covers the measured row only,
// so every sample counts (no windows, no dir); ours is the built server's chunks; Node's HTTP has its step; and a
// second table lists ours by function — each sample of an "ours" step to its innermost frame of ours (what TurboFan
// inlined into it included), the lines ≥ `--top=<µs>` (default 5):
//   BENCH_PERF_DIR=<dir> PKIM_WORKERS=1 BENCH_ONLY=pkim,cfssl BENCH_FLOOR_SECONDS=0 npm run bench:http
//   perf script -i <dir>/pkim.data --tid <the server's pid> -F time,ip,sym,dso > <main.script>
//   node bench/perf-main-steps.mjs --server --us=<main thread µs/req of the CSR sign row> <main.script>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const us = Number(args.find((a) => a.startsWith('--us='))?.slice(5));
const server = args.includes('--server');
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 5);
const files = args.filter((a) => !a.startsWith('--'));
const [dir, scriptFile] = server ? [undefined, files[0]] : files;
if ((!server && !dir) || !scriptFile || !(us > 0)) {
  console.error('usage: node bench/perf-main-steps.mjs --us=<main thread µs/cert> <BENCH_CPU_PROF dir> <perf script>');
  console.error('       node bench/perf-main-steps.mjs --server --us=<main thread µs/req> [--top=<µs>] <perf script>');
  process.exit(2);
}
const windows = server
  ? [[-Infinity, Infinity]]
  : readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
      .map((p) => [p.startTime / 1e6, p.endTime / 1e6]);

/** a perf script frame line → { name, url, js } */
function frameOf(line) {
  const m = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
  if (!m) return undefined;
  const js = /^JS:[*^~+]?(\S*)\s*(\S*)/.exec(m[1]);
  return js ? { name: js[1] || '(anonymous)', url: js[2], js: true } : { name: m[1], url: m[2], js: false };
}
const any = (s, re) => s.some((f) => re.test(f.name));
const anyJs = (s, re) => s.some((f) => f.js && re.test(f.name));
const noJs = (s) => !s.some((f) => f.js);
const anyJsUrl = (s, re) => s.some((f) => f.js && re.test(f.url));
/** a frame of ours: the sources (`npm run bench`) or the built server's chunks (`--server`) */
const oursUrl = server ? /pkim-bench-build|\/dist\/cli\// : /\/packages\//;
const isOurs = (f) => f.js && oursUrl.test(f.url);
const ours = (s) => s.some(isOurs);
const STORE = server ? oursUrl : /store\/src/;

/** step → does a sample's stack (innermost frame first) count for it; `c.commit`: under the store's commit */
const STEPS = [
  [
    "the instrument: V8's profiler start (code logging, heap walk), --perf-basic-prof's map",
    (s) =>
      any(s, /ExistingCodeLogger|ProfilerListener|CpuProfiler|CodeEventLogger|ObjectIterator|GetPositionInfo/) ||
      any(s, /StringsStorage|InstructionStreamMap|EnsureSourcePositions|PerfBasicLogger|LinuxPerf/) ||
      anyJs(s, /^post$/),
  ],
  ["GC (the main thread's part)", (s) => any(s, /Heap::|Scavenge|MarkCompact|GCTracer|IncrementalMarking|MinorMC/)],
  ['commit: SQLite executing (better-sqlite3, sqlite3)', (s, c) => c.commit && /sqlite/.test(s[0].url + s[0].name)],
  [
    "commit: the WAL's pages written (pwrite: the kernel's copy into the page cache, ext4)",
    (s, c) => c.commit && (s[0].url.includes('kernel') || /pwrite|memmove|memcpy/.test(s[0].name)),
  ],
  [
    'commit: the audit rows (details texts, hash chain)',
    (s, c) => c.commit && anyJs(s, /^(buildAuditRows|computeAuditHash|plainWalk|plainJsonAndCanonical)$/),
  ],
  ["commit: its JavaScript and V8 (unit of work, statements' arguments, names, JSON texts)", (s, c) => c.commit],
  [
    "the CSR key's import from its JWK (OpenSSL's point check)",
    (s) =>
      anyJs(s, /^(createPublicKey|getKeyObjectHandleFromJwk|prepareAsymmetricKey|importSpki)$/) ||
      (noJs(s) && /ecp_nistz256|^EC_|^ec_|^BN_|^bn_|ossl_ec|ossl_bn/.test(s[0].name)),
  ],
  [
    "signatures handed to libuv's pool (SignJob made, queued, the pool thread woken; ondone)",
    (s) => anyJs(s, /^(verifyOneShot|signOneShot|job\.ondone)$/) || any(s, /SignJob|CryptoJob/),
  ],
  ["the CSR's decode (PEM, DER, names)", (s) => anyJs(s, /^(parseCsr|decodeBody|fromPem|firstBlock|decodeName)$/)],
  ...(server
    ? [
        [
          "Node's HTTP and net (llhttp, IncomingMessage, the head, end, writev's JavaScript)",
          (s) =>
            !isOurs(s.find((f) => f.js) ?? {}) &&
            any(s, /llhttp|Parser::|StreamBase|LibuvStreamWrap|TCPWrap/) | anyJsUrl(s, /^node:(_http|http|net)/),
        ],
      ]
    : []),
  [
    "the pipeline's other JavaScript (plan, checks, lint, TBS, event, CA context: inlined in its frames)",
    (s) => ours(s),
  ],
  ['the bench driver', (s) => s.some((f) => f.js && /\/bench\//.test(f.url))],
  ['stack lost: libc malloc/free', (s) => noJs(s) && /malloc|_int_free|unlink_chunk|^cfree|^free$/.test(s[0].name)],
  ["stack lost: libc write (the WAL's pages or the perf map)", (s) => noJs(s) && /libc_write|^__write/.test(s[0].name)],
  ['stack lost: kernel (syscalls, page faults, wake-ups, scheduling)', (s) => noJs(s) && s[0].url.includes('kernel')],
  ['stack lost: other native', (s) => noJs(s)],
  ['Node and V8 around (promise jobs, microtasks, timers, libuv)', () => true],
];

const counts = new Map();
/** the steps whose samples are our JavaScript's (by function in the second table) */
const OURS_STEPS = /^commit: the audit|^commit: its JavaScript|^the CSR's decode|^the pipeline's other/;
const byFunction = new Map();
let n = 0;
for (const block of readFileSync(scriptFile, 'utf8').split('\n\n')) {
  const lines = block.split('\n').filter(Boolean);
  if (lines.length < 2) continue;
  const t = Number.parseFloat(lines[0]);
  if (!windows.some(([a, b]) => t >= a && t <= b)) continue;
  const s = lines.slice(1).map(frameOf).filter(Boolean);
  if (!s.length) continue;
  n++;
  const c = {
    commit:
      anyJs(s, /^(sqliteTransaction|flush|runStepSync|runSync|writeNow|write)$/) &&
      s.some((f) => f.js && STORE.test(f.url)),
  };
  const step = STEPS.find(([, matches]) => matches(s, c))[0];
  counts.set(step, (counts.get(step) ?? 0) + 1);
  const inner = OURS_STEPS.test(step) ? s.find(isOurs) : undefined;
  if (inner) {
    const key = `${inner.name} (${inner.url.replace(/^.*\//, '')})`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + 1);
  }
}
console.log(`${n} main-thread samples in ${windows.length} windows; µs at ${us} µs/cert\n`);
console.log('| step | share | µs/cert |\n|---|---:|---:|');
for (const [name] of STEPS) {
  const v = counts.get(name) ?? 0;
  console.log(`| ${name} | ${((100 * v) / n).toFixed(1)} % | ${((us * v) / n).toFixed(0)} |`);
}
if (server) {
  console.log(`\nours by function (innermost frame of ours; TurboFan's inlined callees in it), ≥ ${top} µs:\n`);
  console.log('| function (chunk:line:column) | share | µs/req |\n|---|---:|---:|');
  for (const [name, v] of [...byFunction].sort((a, b) => b[1] - a[1]))
    if ((us * v) / n >= top) console.log(`| ${name} | ${((100 * v) / n).toFixed(1)} % | ${Math.round((us * v) / n)} |`);
}
