// Summarises V8 .cpuprofile files (node --cpu-prof, node:inspector): the functions with the most self time, and the
// inclusive time of each function, over all files given. Usage: node bench/cpuprofile-top.mjs [--n=40] files…
// Shares are of the sampled time (idle and GC are their own entries: "(idle)", "(garbage collector)").
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const n = Number(args.find((a) => a.startsWith('--n='))?.slice(4) ?? 40);
const files = args.filter((a) => !a.startsWith('--'));
const self = new Map();
const incl = new Map();
let total = 0;
const short = (url) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(/^.*\/(packages|apps|bench)\//, '$1/');
for (const f of files) {
  const p = JSON.parse(readFileSync(f, 'utf8'));
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const key = (x) => {
    const cf = x.callFrame;
    return `${cf.functionName || '(anonymous)'} ${cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
  };
  const deltas = p.timeDeltas;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    total += dt;
    let id = p.samples[i];
    const k = key(byId.get(id));
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set();
    while (id !== undefined) {
      const kk = key(byId.get(id));
      if (!seen.has(kk)) {
        seen.add(kk);
        incl.set(kk, (incl.get(kk) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
}
const pct = (v) => ((100 * v) / total).toFixed(1).padStart(5);
console.log(`total sampled ${(total / 1000).toFixed(0)} ms in ${files.length} file(s)\n\nself time:`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(v)} %  ${k}`);
console.log('\ninclusive time:');
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, n * 2)) console.log(`${pct(v)} %  ${k}`);
