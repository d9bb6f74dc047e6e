#!/usr/bin/env node
// The docs' screenshots: runs the console's end-to-end files (vitest's `web` project) with PKIM_SCREENSHOTS=1, so
// each `session.shot(name)` writes docs/screenshots/<name>.png (in `npm test` it writes nothing), then checks that
// every picture README.md and docs/*.md show was written by this run.
//   npm run screenshots [-- <vitest arguments, e.g. a file>]
// Exit 1 when the tests fail or a picture the docs show was not written (a test renamed or removed its shot).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const shots = join(root, 'docs/screenshots');
// whole milliseconds: a file's mtime is compared with this
const started = Math.floor(Date.now() / 1000) * 1000;

const vitest = spawnSync(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'web', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, PKIM_SCREENSHOTS: '1' } },
);

/** the PNGs under docs/screenshots that a document shows, with the documents showing each */
function shown() {
  const md = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'));
  const docs = ['README.md', ...md.map((f) => `docs/${f}`)];
  const where = new Map();
  for (const doc of docs) {
    for (const m of readFileSync(join(root, doc), 'utf8').matchAll(/screenshots\/([\w.-]+\.png)/g)) {
      where.set(m[1], [...new Set([...(where.get(m[1]) ?? []), doc])]);
    }
  }
  return where;
}

const written = new Set(
  readdirSync(shots).filter((f) => f.endsWith('.png') && statSync(join(shots, f)).mtimeMs >= started),
);
const docs = shown();
const missing = [...docs.keys()].filter((f) => !written.has(f)).sort();
const unshown = [...written].filter((f) => !docs.has(f)).sort();
console.log(`\nscreenshots: ${written.size} written to docs/screenshots; README.md and docs/*.md show ${docs.size}`);
for (const f of missing) console.log(`  not written by this run: ${f} (shown in ${docs.get(f).join(', ')})`);
for (const f of unshown) console.log(`  written, shown by no document: ${f}`);
if (vitest.status !== 0) console.log(`the end-to-end tests failed (vitest exit ${vitest.status ?? vitest.signal})`);
process.exit(vitest.status === 0 && missing.length === 0 ? 0 : 1);
