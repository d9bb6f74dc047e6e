#!/usr/bin/env node
// pkim launcher inside the repository (`npx pkim`, node_modules/.bin/pkim): runs the compiled CLI
// (dist/cli/pkim.mjs, `npm run build`) when it is up to date with the sources, else the TypeScript sources through
// tsx's ESM loader, so it is never stale. An installed package runs dist/cli/pkim.mjs directly (its `bin`).
import { BUNDLE_ENTRY, bundleIsStale } from '../../../scripts/build-freshness.mjs';

if (process.env.PKIM_FROM_SOURCE !== '1' && !bundleIsStale()) {
  await import(BUNDLE_ENTRY);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
