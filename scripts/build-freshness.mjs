// Is the compiled CLI (dist/cli/pkim.mjs) older than the sources it is built from? Used by `npm start` (build first
// when it is) and by the development launcher apps/cli/bin/pkim.mjs (run the bundle only when it is current).
// Walks the source folders' modification times: a few milliseconds for the whole tree.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_ENTRY = join(ROOT, 'dist/cli/pkim.mjs');

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file changes its folder
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

/** The source trees the bundle is built from (every workspace's src and migrations, the CLI, the server). */
function bundleSources() {
  const out = [join(ROOT, 'scripts/build.mjs'), join(ROOT, 'package.json')];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(ROOT, group))) {
      if (group === 'apps' && name === 'web') continue;
      for (const part of ['src', 'migrations', 'package.json']) out.push(join(ROOT, group, name, part));
    }
  }
  return out.filter((p) => existsSync(p));
}

/** true when dist/cli/pkim.mjs is missing or older than any of its sources. */
export function bundleIsStale() {
  if (!existsSync(BUNDLE_ENTRY)) return true;
  const built = statSync(BUNDLE_ENTRY).mtimeMs;
  return bundleSources().some((p) => newestMtime(p) > built);
}

/** true when the web console (apps/web/dist) is missing or older than its sources. */
export function consoleIsStale() {
  const web = join(ROOT, 'apps/web');
  const built = join(web, 'dist/index.html');
  if (!existsSync(built)) return true;
  const sources = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json']
    .map((p) => join(web, p))
    .filter((p) => existsSync(p));
  return Math.max(...sources.map(newestMtime)) > statSync(built).mtimeMs;
}
