#!/usr/bin/env node
/**
 * What grew between two V8 heap snapshots (bench/heap-long-run.ts and heap-in-process.ts write them; so does
 * --heapsnapshot-signal), by constructor — objects by constructor name, closures by function name, strings, arrays,
 * code, V8's system objects —, and for the largest growers the retainer paths of their objects that are new in the
 * second snapshot (the shortest path from the GC roots, weak edges skipped, as DevTools' Retainers view; element
 * indexes shown as n).
 *
 *   node bench/heapsnapshot-diff.mjs <a.heapsnapshot> <b.heapsnapshot> [top=25] [paths=8]
 *   env: HEAP_PATHS_FOR=Map,(string) (retainer paths of these groups instead of the top growers)
 */
import { readFileSync } from 'node:fs';

function load(file) {
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const m = s.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const nodeTypes = m.node_types[0];
  const edgeTypes = m.edge_types[0];
  const N = s.nodes.length / nf;
  const ix = (name) => m.node_fields.indexOf(name);
  const [T, NAME, ID, SIZE, EC] = ['type', 'name', 'id', 'self_size', 'edge_count'].map(ix);
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0; i < N; i++) firstEdge[i + 1] = firstEdge[i] + s.nodes[i * nf + EC] * ef;
  const type = (i) => nodeTypes[s.nodes[i * nf + T]];
  const name = (i) => s.strings[s.nodes[i * nf + NAME]];
  const group = (i) => {
    const t = type(i);
    if (t === 'object') return name(i);
    if (t === 'closure') return `(closure) ${name(i)}`;
    if (t.includes('string')) return '(string)';
    if (t === 'array') return `(array) ${name(i)}`;
    if (t === 'hidden' || t === 'object shape') return `(system) ${name(i).replace(/ \/ .*/, '')}`;
    return `(${t})`;
  };
  return { s, nf, ef, N, T, NAME, ID, SIZE, firstEdge, edgeTypes, type, name, group };
}

function byGroup(h) {
  const g = new Map();
  for (let i = 0; i < h.N; i++) {
    const k = h.group(i);
    const e = g.get(k) ?? { count: 0, size: 0 };
    e.count++;
    e.size += h.s.nodes[i * h.nf + h.SIZE];
    g.set(k, e);
  }
  return g;
}

const [fa, fb, topArg, pathsArg] = process.argv.slice(2);
if (!fa || !fb) {
  console.error('usage: heapsnapshot-diff.mjs <a.heapsnapshot> <b.heapsnapshot> [top] [paths]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const paths = Number(pathsArg ?? 8);
const a = load(fa);
const ga = byGroup(a);
const idsA = new Set();
for (let i = 0; i < a.N; i++) idsA.add(a.s.nodes[i * a.nf + a.ID]);
const totalA = [...ga.values()].reduce((x, e) => x + e.size, 0);
a.s = null;
const b = load(fb);
const gb = byGroup(b);
const totalB = [...gb.values()].reduce((x, e) => x + e.size, 0);
console.log(`a: ${a.N} nodes ${(totalA / 1e6).toFixed(2)} MB   b: ${b.N} nodes ${(totalB / 1e6).toFixed(2)} MB`);
const rows = [...new Set([...ga.keys(), ...gb.keys()])].map((k) => {
  const x = ga.get(k) ?? { count: 0, size: 0 };
  const y = gb.get(k) ?? { count: 0, size: 0 };
  return { k, dc: y.count - x.count, ds: y.size - x.size, count: y.count, size: y.size };
});
rows.sort((p, q) => q.ds - p.ds);
console.log('\ngroup | Δcount | Δbytes | count in b | bytes in b');
for (const r of rows.slice(0, top)) console.log(`${r.k.slice(0, 70)} | ${r.dc} | ${r.ds} | ${r.count} | ${r.size}`);
console.log('\nby Δcount:');
for (const r of [...rows].sort((p, q) => q.dc - p.dc).slice(0, top))
  console.log(`${r.k.slice(0, 70)} | ${r.dc} | ${r.ds}`);

// retainers: reverse edges, BFS distance from the root (node 0) over strong edges
const { s, nf, ef, N, firstEdge, edgeTypes } = b;
const E = s.edges;
const eT = 0;
const eName = 1;
const eTo = 2;
const retCount = new Uint32Array(N + 1);
for (let i = 0; i < N; i++)
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
    if (edgeTypes[E[e + eT]] === 'weak') continue;
    retCount[E[e + eTo] / nf]++;
  }
const retStart = new Uint32Array(N + 1);
for (let i = 0; i < N; i++) retStart[i + 1] = retStart[i] + retCount[i];
const retFrom = new Uint32Array(retStart[N]);
const retEdge = new Uint32Array(retStart[N]);
const fill = retStart.slice(0, N);
for (let i = 0; i < N; i++)
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
    if (edgeTypes[E[e + eT]] === 'weak') continue;
    const t = E[e + eTo] / nf;
    retFrom[fill[t]] = i;
    retEdge[fill[t]++] = e;
  }
const dist = new Int32Array(N).fill(-1);
dist[0] = 0;
const queue = [0];
// for-of visits the nodes pushed while it runs: a breadth-first walk
for (const i of queue) {
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
    if (edgeTypes[E[e + eT]] === 'weak') continue;
    const t = E[e + eTo] / nf;
    if (dist[t] === -1) {
      dist[t] = dist[i] + 1;
      queue.push(t);
    }
  }
}
const edgeLabel = (e) => {
  const t = edgeTypes[E[e + eT]];
  const n = E[e + eName];
  return t === 'element' || t === 'hidden' ? `[${n}]` : `.${s.strings[n]}`;
};
const pathOf = (i) => {
  const parts = [];
  for (let guard = 0; i !== 0 && guard < 40; guard++) {
    let best = -1;
    for (let r = retStart[i]; r < retStart[i + 1]; r++) {
      const f = retFrom[r];
      if (dist[f] >= 0 && (best === -1 || dist[f] < dist[retFrom[best]])) best = r;
    }
    if (best === -1) return `${parts.join(' ← ')} ← (unreachable)`;
    const f = retFrom[best];
    parts.push(`${edgeLabel(retEdge[best])} of ${b.group(f).slice(0, 50)}`);
    i = f;
  }
  return parts.join(' ← ');
};
const wanted =
  process.env.HEAP_PATHS_FOR?.split(',') ??
  rows
    .filter((r) => r.dc > 0)
    .slice(0, 8)
    .map((r) => r.k);
for (const k of wanted) {
  console.log(`\nretainers of new '${k}':`);
  const seen = new Map();
  let shown = 0;
  for (let i = 0; i < N && shown < 200_000; i++) {
    if (b.group(i) !== k || idsA.has(s.nodes[i * nf + b.ID])) continue;
    shown++;
    const p = pathOf(i)
      .replace(/\[\d+\]/g, '[n]')
      .replace(/\.\d+ of /g, '.n of ');
    seen.set(p, (seen.get(p) ?? 0) + 1);
  }
  for (const [p, c] of [...seen].sort((x, y) => y[1] - x[1]).slice(0, paths)) console.log(`  ${c}× ${p.slice(0, 600)}`);
}
