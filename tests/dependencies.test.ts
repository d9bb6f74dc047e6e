// Declared npm dependencies match what the code loads (no unused, no undeclared), and the libraries that
// must exist once (one zod, one tRPC server…) are installed once. Rules: tests/support/dependency-check.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cli-runner';
import { tempDir } from './support/openssl-tools';
import semver from 'semver';
import {
  checkDependencies,
  duplicatedPackages,
  enginesExcluding,
  packagesLoadedBy,
  unreviewedInstallScripts,
} from './support/dependency-check';

const ONCE = [
  'zod',
  'drizzle-orm',
  'fastify',
  'pino',
  '@peculiar/asn1-schema',
  'react',
  'typescript',
  '@trpc/server',
  '@trpc/client',
];

/**
 * Installed packages whose `engines.node` excludes the Node.js we support, each with why it cannot be avoided.
 * Empty: session 17 pinned the newest Node 20 versions instead (README "Node.js 20 and dependency engines").
 */
const ENGINES_ALLOWED: Record<string, string> = {};

describe('dependencies', () => {
  const tmp = tempDir('pkim-deps-');
  afterAll(() => tmp.cleanup());

  it('every workspace declares what it loads and loads what it declares', () => {
    expect(checkDependencies(REPO_ROOT)).toEqual([]);
  });

  it(`installs ${ONCE.join(', ')} once each (npm ls zod shows one version)`, () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    expect(duplicatedPackages(lock, ONCE)).toEqual([]);
  });

  it('installs no package whose engines.node excludes the Node.js the root package supports (no EBADENGINE)', () => {
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const lowest = semver.minVersion(root.engines.node)?.version;
    expect(lowest?.startsWith('20.')).toBe(true); // the product runs on Node.js 20 (Debian 12)
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    expect(enginesExcluding(lock, lowest!, ENGINES_ALLOWED)).toEqual([]);
  });

  it('reviews every install script: allowScripts says true or false for each; @scarf/scarf is denied', () => {
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
    expect(unreviewedInstallScripts(lock, root.allowScripts)).toEqual([]);
    // swagger-ui-dist's install telemetry: never run (allowScripts), and opted out for npm versions without
    // allowScripts (scarf's own setting, read from the root package.json) — README "Install scripts and telemetry"
    expect(root.allowScripts['@scarf/scarf']).toBe(false);
    expect(root.scarfSettings).toEqual({ enabled: false });
  });

  it('reads imports with the TypeScript pre-processor: not strings or comments; CSS @import too', () => {
    const src = [
      "import a from 'pkg-a';",
      "import type { B } from '@scope/b/deep';",
      "export * from './local';",
      "import 'side-effect';",
      "const c = await import('dyn');",
      "const d = require('req');",
      "// import x from 'commented'",
      'const s = "import y from \'in-a-string\'";',
      "import { readFileSync } from 'node:fs';",
      "import path from 'path';",
    ].join('\n');
    expect(packagesLoadedBy('x.ts', src).sort()).toEqual(['@scope/b', 'dyn', 'pkg-a', 'req', 'side-effect']);
    expect(packagesLoadedBy('x.css', "@import 'tailwindcss';")).toEqual(['tailwindcss']);
  });

  it('positive control: finds an unused, an undeclared, a dev-only and a duplicated dependency', () => {
    const root = tmp.dir;
    const write = (path: string, text: string) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('package.json', JSON.stringify({ name: 'r', workspaces: ['packages/*'], devDependencies: { vitest: '1' } }));
    write(
      'packages/p/package.json',
      JSON.stringify({ name: '@x/p', dependencies: { used: '1', unused: '1', testonly: '1' } }),
    );
    write('packages/p/src/index.ts', "import u from 'used';\nimport m from 'missing';\n");
    write('packages/p/test/p.test.ts', "import { it } from 'vitest';\nimport t from 'testonly';\n");
    expect(checkDependencies(root, {})).toEqual([
      'packages/p/src/index.ts loads missing, which packages/p/package.json does not declare',
      'packages/p: dependency testonly is used by tests/tooling only (make it a devDependency)',
      'packages/p: dependency unused is not used',
    ]);
    const lock = {
      packages: {
        'node_modules/zod': { version: '4.6.7' },
        'apps/web/node_modules/zod': { version: '3.25.0' },
      },
    };
    expect(duplicatedPackages(lock, ['zod'])).toEqual([
      'zod: 4.6.7 at node_modules/zod, 3.25.0 at apps/web/node_modules/zod',
    ]);
    const engines = {
      packages: {
        '': { engines: { node: '>=20.19' } },
        'node_modules/cookie': { version: '2.0.2', engines: { node: '>=22' } },
        'node_modules/a/node_modules/b': { version: '1.0.0', engines: { node: '^20.19.0 || >=22.12.0' } },
        'node_modules/old': { version: '0.1.0', engines: ['node >= 0.4'] },
        'node_modules/typo': { version: '1.0.0', engines: { node: 'node20' } },
        'node_modules/pre': { version: '1.0.0', engines: { node: '>=20.19.0-0' } },
        'node_modules/kept': { version: '3.0.0', engines: { node: '>=24' } },
      },
    };
    expect(enginesExcluding(engines, '20.19.0', { kept: 'a reason' })).toEqual([
      'cookie@2.0.2 (node_modules/cookie) declares node >=22, which excludes 20.19.0',
      'typo@1.0.0 (node_modules/typo) declares node node20, which excludes 20.19.0',
    ]);
    const scripts = {
      packages: {
        '': { hasInstallScript: true },
        'node_modules/native': { version: '1.0.0', hasInstallScript: true },
        'node_modules/a/node_modules/native': { version: '2.0.0', hasInstallScript: true },
        'node_modules/phone-home': { version: '1.4.0', hasInstallScript: true },
        'node_modules/new-one': { version: '0.1.0', hasInstallScript: true },
        'node_modules/plain': { version: '1.0.0' },
      },
    };
    expect(unreviewedInstallScripts(scripts, { native: true, 'phone-home': false })).toEqual([
      'new-one@0.1.0 (node_modules/new-one)',
    ]);
  });
});
