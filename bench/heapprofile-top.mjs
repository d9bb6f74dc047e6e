// Summarises V8 sampling heap profiles (.heapprofile: node:inspector `HeapProfiler.stopSampling`, e.g. the
// 16-in-flight row's under `BENCH_HEAP_PROF=<dir> npm run bench`): bytes allocated per certificate by function, self
// (allocated in the function's own frame) and inclusive (in it or anything it called), over all files given.
// Usage: node bench/heapprofile-top.mjs [--n=40] [--per=N] <dir or files…> — the divisor is N, else the number in
// <dir>/full16-certificates.txt; functions are keyed by name, file and line. A profile holds the objects GCs
// collected when it was taken with includeObjectsCollectedByMinorGC/MajorGC (the bench's), not only the live ones.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const n = Number(args.find((a) => a.startsWith('--n='))?.slice(4) ?? 40);
let per = Number(args.find((a) => a.startsWith('--per='))?.slice(6) ?? NaN);
const files = [];
for (const a of args.filter((x) => !x.startsWith('--'))) {
  if (statSync(a).isDirectory()) {
    for (const f of readdirSync(a).sort()) if (f.endsWith('.heapprofile')) files.push(join(a, f));
    if (Number.isNaN(per)) per = Number(readFileSync(join(a, 'full16-certificates.txt'), 'utf8'));
  } else files.push(a);
}
if (Number.isNaN(per)) per = 1;
const short = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/(packages|apps|bench)\//, '$1/');
const key = (cf) =>
  `${cf.functionName || '(anonymous)'} ${cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
const self = new Map();
const incl = new Map();
let total = 0;
/** the subtree's bytes; each function counted once per path (recursion) */
function walk(node, onPath) {
  const k = key(node.callFrame);
  self.set(k, (self.get(k) ?? 0) + node.selfSize);
  const added = !onPath.has(k);
  if (added) onPath.add(k);
  let sum = node.selfSize;
  for (const c of node.children ?? []) sum += walk(c, onPath);
  if (added) {
    onPath.delete(k);
    incl.set(k, (incl.get(k) ?? 0) + sum);
  }
  return sum;
}
for (const f of files) total += walk(JSON.parse(readFileSync(f, 'utf8')).head, new Set());
const kib = (b) => (b / per / 1024).toFixed(2);
console.log(`${files.length} profile(s), ${per} certificates: ${kib(total)} KiB per certificate\n`);
const top = (m, title) => {
  console.log(`| ${title} | KiB/cert | share |\n|---|---:|---:|`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`| ${k} | ${kib(v)} | ${((100 * v) / total).toFixed(1)} % |`);
  console.log('');
};
top(self, 'self');
top(incl, 'inclusive');
