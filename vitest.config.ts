import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/** the console's tests: one process (as SHARED) and one Chromium (apps/web/test/support/chromium-server.ts) */
const WEB = ['apps/web/test/**/*.test.ts'];
const ALL = ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tests/**/*.test.ts'];
/**
 * Files that run one after another in one process (`isolate: false`): the modules they import (the server, the
 * authority, @peculiar/x509 …) are loaded once, not once per file — about a second per file (docs/testing.md,
 * "Session 30: suite time"). None of them changes what a later file sees: no env, umask or cwd change, no process
 * listener, no module mock or fake timers left behind, no PKCS#11 module (initialised once per process, with the
 * SOFTHSM2_CONF of that moment). A file that needs any of those goes in ISOLATED below. Still a process per file
 * (the `isolated` project): packages/store (pg-group-commit listens for a deprecation Node prints once per
 * process; the files' time is PostgreSQL's, not imports) and packages/keys (PKCS#11, SoftHSM2, PyKMIP) —
 * docs/testing.md, "Session 31: suite time".
 */
const SHARED = [
  'apps/server/test/**/*.test.ts',
  'packages/authority/test/**/*.test.ts',
  'packages/core/test/**/*.test.ts',
  'packages/shared/test/**/*.test.ts',
  'packages/contract/test/**/*.test.ts',
  'packages/keystore-certs/test/**/*.test.ts',
  'apps/cli/test/**/*.test.ts',
  'tests/**/*.test.ts',
];
/**
 * in SHARED's folders, but each in a process of its own: SoftHSM2 tokens (pkcs11-module.ts keeps the module, and
 * tests/support/softhsm.ts sets SOFTHSM2_CONF for the process); file-modes changes the umask; load-isolation counts
 * this process's CPU per thread (another file's leftovers would count)
 */
const ISOLATED = [
  'packages/authority/test/ca-import-existing-hsm.test.ts',
  'packages/authority/test/ca-import-existing.test.ts',
  'packages/authority/test/compute-pool.test.ts',
  'packages/authority/test/group-commit-issuance.test.ts',
  'packages/authority/test/key-custody-pkcs11.test.ts',
  'packages/authority/test/workers-one-row-fields.test.ts',
  'apps/cli/test/ca-import-existing-kms-cli.test.ts',
  'apps/cli/test/key-custody-cli.test.ts',
  'tests/security/file-modes.test.ts',
  'tests/security/load-isolation.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    /**
     * at least two files at a time: vitest's default (`availableParallelism − 1`) is ONE on a 2-core host, where a
     * file's children (openssl, `pkim serve`, PostgreSQL, Chromium) leave the second core idle half the time. Two
     * workers in the idle clean-clone CI of e4d3387: 291 files, 3,413 tests passed, vitest 777 s against 1,140–1,199 s
     * with one (docs/testing.md "Session 36: suite time"). `VITEST_MAX_WORKERS` still overrides it.
     */
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ['tests/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'isolated', include: ALL, exclude: [...configDefaults.exclude, ...SHARED, ...WEB] },
      },
      { extends: true, test: { name: 'isolated-hsm', include: ISOLATED } },
      {
        extends: true,
        test: {
          name: 'shared',
          include: SHARED,
          exclude: [...configDefaults.exclude, ...ISOLATED],
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'web',
          include: WEB,
          isolate: false,
          globalSetup: ['apps/web/test/support/chromium-server.ts'],
        },
      },
    ],
  },
});
