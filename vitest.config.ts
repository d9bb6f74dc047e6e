import { configDefaults, defineConfig } from 'vitest/config';

const ALL = ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tests/**/*.test.ts'];
/**
 * Files that run one after another in one process (`isolate: false`): the modules they import (the server, the
 * authority, @peculiar/x509 …) are loaded once, not once per file — about a second per file (docs/testing.md,
 * "Session 30: suite time"). None of them changes what a later file sees: no env, umask or cwd change, no process
 * listener, no module mock or fake timers left behind, no PKCS#11 module (initialised once per process, with the
 * SOFTHSM2_CONF of that moment). A file that needs any of those goes in ISOLATED below.
 */
const SHARED = [
  'apps/server/test/**/*.test.ts',
  'packages/authority/test/**/*.test.ts',
  'packages/core/test/**/*.test.ts',
  'packages/shared/test/**/*.test.ts',
  'packages/contract/test/**/*.test.ts',
];
/** in SHARED's folders, but each in a process of its own: SoftHSM2 tokens (pkcs11-module.ts keeps the module) */
const ISOLATED = [
  'packages/authority/test/ca-import-existing-hsm.test.ts',
  'packages/authority/test/ca-import-existing.test.ts',
  'packages/authority/test/compute-pool.test.ts',
  'packages/authority/test/group-commit-issuance.test.ts',
  'packages/authority/test/key-custody-pkcs11.test.ts',
  'packages/authority/test/workers-one-row-fields.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['tests/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'isolated', include: ALL, exclude: [...configDefaults.exclude, ...SHARED] } },
      { extends: true, test: { name: 'isolated-hsm', include: ISOLATED } },
      {
        extends: true,
        test: { name: 'shared', include: SHARED, exclude: [...configDefaults.exclude, ...ISOLATED], isolate: false },
      },
    ],
  },
});
