// Global test setup: makes sure the Debian test peers exist (fails loudly otherwise) and compiles the CLI once per
// run (scripts/build.mjs, a few seconds) into a private directory, so every test that spawns `pkim` runs the same
// compiled JavaScript users run, without paying the TypeScript transpiler on every spawn.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export default async function setup(): Promise<() => void> {
  // vitest.config.ts's projects each run this file in the one main process: the first builds, the others reuse it
  if (process.env.PKIM_TEST_BIN && process.env.PKIM_TEST_BIN_BY === String(process.pid)) return () => undefined;
  for (const bin of ['openssl', 'certtool', 'go']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      throw new Error(
        `test peer '${bin}' is missing: run scripts/install-test-peers.sh (npm test does this in its pretest step)`,
      );
    }
  }
  // inside the repository, so the bundle resolves its third-party packages from node_modules like dist/ does
  const outDir = join(ROOT, 'node_modules/.cache/pkim-test-build', String(process.pid));
  mkdirSync(outDir, { recursive: true });
  const { buildBundle } = (await import(join(ROOT, 'scripts/build.mjs'))) as {
    buildBundle: (outDir: string, opts?: { web?: boolean }) => Promise<string>;
  };
  // tests/support/cli-runner.ts reads it; the test workers inherit the environment
  process.env.PKIM_TEST_BIN = await buildBundle(outDir);
  process.env.PKIM_TEST_BIN_BY = String(process.pid);
  return () => rmSync(outDir, { recursive: true, force: true });
}
