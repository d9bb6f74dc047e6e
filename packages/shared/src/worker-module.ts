import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * What `new Worker(…)` is given to run the module `url` in a worker thread: the module itself when it is JavaScript
 * (the bundle), else — a TypeScript module (sources, tests) — a boot script that registers tsx's loader in the worker
 * first (with `eval: true`).
 */
export function workerModule(url: URL): { script: URL | string; eval: boolean } {
  if (!url.pathname.endsWith('.ts')) return { script: url, eval: false };
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const mjs = cjs.replace(/\.cjs$/, '.mjs');
  const api = pathToFileURL(existsSync(mjs) ? mjs : cjs).href;
  const script =
    `import(${JSON.stringify(api)}).then(({ register }) => { register(); ` +
    `return import(${JSON.stringify(url.href)}); })`;
  return { script, eval: true };
}
