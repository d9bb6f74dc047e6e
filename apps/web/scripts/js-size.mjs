#!/usr/bin/env node
// `npm run size -w @pkim/web`: gzip size of the built console's JavaScript (run `npm run build` first).
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const dist = join(import.meta.dirname, '..', 'dist');
const gz = (f) => gzipSync(readFileSync(join(dist, 'assets', f)), { level: 9 }).length;
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const initial = [...readFileSync(join(dist, 'index.html'), 'utf8').matchAll(/\/assets\/([^"]+\.js)/g)].map((m) => m[1]);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `initial JS (index.html + preloads, ${initial.length} files): ${kib(initial.reduce((s, f) => s + gz(f), 0))} gzip`,
);
console.log(`all JS (${all.length} files, pages load lazily): ${kib(all.reduce((s, f) => s + gz(f), 0))} gzip`);
