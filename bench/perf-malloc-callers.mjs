// Who calls malloc and free on `npm run bench`'s main thread, per certificate: `perf` cpu-clock samples lose the
// caller of a sample inside glibc's malloc (no frame pointers in it, and `--call-graph dwarf` stops in _int_malloc),
// so this counts the calls instead: uprobes at malloc's and free's entry (frame pointers intact there), with the
// stack by frame pointers, for 2 s of the 16-in-flight row; a uprobe at node's ImportJWKEcKey (the CSR key's import,
// once per certificate) counts the certificates. Each call goes to its innermost JavaScript frame and its nearest
// native callers. The uprobes slow the thread ≈ 50 × (counts, not times). docs/benchmarks-record.md "Session 41".
//
//   perf probe -x /usr/lib/x86_64-linux-gnu/libc.so.6 --add 'malloc bytes=%di:u64' --add free
//   perf probe -x /usr/bin/node --add 'jwk=0x<ImportJWKEcKey's file offset>'   (nm: its address − 0x400000)
//   NODE_OPTIONS=--perf-basic-prof PKIM_WORKERS=1 BENCH_SCALING_ROUNDS=0 BENCH_SECONDS=20 BENCH_CPU_PROF=<dir> \
//     env -u NODE_EXTRA_CA_CERTS npm run bench &   then, 1 s after <dir>/full16-0.cpuprofile appears:
//   perf record -t <the bench's pid> -e probe_libc:malloc -e probe_libc:free -e probe_node:jwk -g -o <data> -- sleep 2
//   perf script -i <data> -F time,event,trace,ip,sym,dso > <script>
//   node bench/perf-malloc-callers.mjs <script> [malloc|free] [native frames, default 2]
//   perf probe -d 'probe_libc:*' -d 'probe_node:*'
import { readFileSync } from 'node:fs';

const [file, which = 'malloc', depthArg = '2'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/perf-malloc-callers.mjs <perf script> [malloc|free] [native frames]');
  process.exit(2);
}
const event = `probe_libc:${which}:`;
const depth = Number(depthArg);
const callers = new Map();
const sizes = new Map();
let calls = 0;
let certificates = 0;
const sizeClass = (b) =>
  b < 64 ? '< 64 B' : b < 256 ? '64–255 B' : b < 1024 ? '256–1023 B' : b < 4096 ? '1–4 KiB' : '≥ 4 KiB';
for (const block of readFileSync(file, 'utf8').split('\n\n')) {
  const lines = block.split('\n').filter(Boolean);
  if (!lines.length) continue;
  if (lines[0].includes('probe_node:jwk')) certificates++;
  if (!lines[0].includes(event)) continue;
  calls++;
  const size = /bytes=(\d+)/.exec(lines[0]);
  if (size) sizes.set(sizeClass(Number(size[1])), (sizes.get(sizeClass(Number(size[1]))) ?? 0) + 1);
  const frames = lines
    .slice(1)
    .map((l) => /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(l))
    .filter(Boolean)
    .map((m) => ({ name: m[1].replace(/\(.*$/, '').replace(/^JS:[*~^+]?/, 'JS:'), dso: m[2] }));
  const native = frames
    .slice(1)
    .filter((f) => !f.name.startsWith('JS:') && !/libc\.so|unknown/.test(f.dso + f.name))
    .slice(0, depth)
    .map((f) => f.name.slice(0, 70));
  const js =
    frames
      .find((f) => f.name.startsWith('JS:'))
      ?.name.slice(3)
      .replace(/:\d+:\d+$/, '') ?? '(no JS frame)';
  const key = `${js} ← ${native.join(' ← ')}`;
  callers.set(key, (callers.get(key) ?? 0) + 1);
}
if (!certificates) {
  console.error('no probe_node:jwk event: the recording missed the row');
  process.exit(1);
}
const per = (n) => (n / certificates).toFixed(1);
console.log(`${which}: ${calls} calls, ${certificates} certificates, ${per(calls)} per certificate`);
if (sizes.size) console.log([...sizes].map(([k, v]) => `${k}: ${per(v)}`).join(', '));
console.log(`\n| innermost JavaScript frame ← native callers | ${which} calls per certificate |\n|---|---:|`);
for (const [k, v] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`| ${k} | ${per(v)} |`);
