#!/usr/bin/env node
// `npm run build`: compiles PKI Manager to plain JavaScript under dist/ (no TypeScript at run time).
//
//   dist/cli/pkim.mjs + chunks   the CLI and the server (Rolldown, the bundler Vite uses: every @pkim/* workspace
//                                bundled, ESM, code-split so a command loads only what it imports; third-party
//                                packages stay external, resolved from node_modules: the root package's
//                                `dependencies`)
//   dist/migrations/{sqlite,pg}  the store's SQL migrations (found as ../migrations from the chunks, the same
//                                relative path as from packages/store/src)
//   dist/web/                    the web console (Vite build of apps/web), served by `pkim serve`
//   dist/api-docs/               Swagger UI's files for `/api/docs` (from swagger-ui-dist, a devDependency of the root
//                                package: the packed package installs neither it nor its install telemetry)
//
// Options: --no-web (skip the Vite build; the bundle is enough for the CLI), --watch (rebuild the bundle on change),
// --out <dir> (default dist). Used by `npm start` (when dist is missing or older than the sources), `npm pack`
// (prepack) and the test setup (tests/global-setup.ts builds once per run into a private directory).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown, watch as rolldownWatch } from 'rolldown';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WORKSPACE_DIRS = ['packages', 'apps'];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function workspaceManifests() {
  const out = [];
  for (const group of WORKSPACE_DIRS) {
    for (const name of readdirSync(join(ROOT, group))) {
      const path = join(ROOT, group, name, 'package.json');
      if (existsSync(path)) out.push({ dir: join(group, name), manifest: readJson(path) });
    }
  }
  return out;
}

/** The package name of a bare import specifier (`@scope/pkg/sub` → `@scope/pkg`). */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Every third-party package the bundle imports must be a `dependency` of the root package with the same range as
 * the workspace that declares it: the root package is what `npm pack` ships, without the workspaces.
 */
function checkExternals(output) {
  const chunkNames = new Set(output.map((c) => c.fileName));
  const root = readJson(join(ROOT, 'package.json'));
  const declared = new Map(); // name → [{ range, dir }]
  for (const { dir, manifest } of workspaceManifests()) {
    for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
      if (!name.startsWith('@pkim/')) declared.set(name, [...(declared.get(name) ?? []), { range, dir }]);
    }
  }
  const builtins = new Set(builtinModules);
  const imported = new Set();
  for (const chunk of output) {
    if (chunk.type !== 'chunk') continue;
    for (const id of [...chunk.imports, ...chunk.dynamicImports]) {
      if (id.startsWith('.') || id.startsWith('node:') || builtins.has(id) || chunkNames.has(id)) continue;
      imported.add(packageOf(id));
    }
  }
  const problems = [];
  for (const name of [...imported].sort()) {
    const want = declared.get(name);
    const have = root.dependencies?.[name];
    if (!want) problems.push(`${name}: imported by the bundle but no workspace declares it as a dependency`);
    else if (!want.some((w) => w.range === have))
      problems.push(
        `${name}: add "${name}": "${want[0].range}" to the root package.json dependencies (as ${want[0].dir})`,
      );
  }
  if (problems.length) {
    throw new Error(
      `the packed package would miss dependencies (root package.json "dependencies"):\n  ${problems.join('\n  ')}`,
    );
  }
  return [...imported].sort();
}

function externalPackages() {
  const names = new Set();
  for (const { manifest } of workspaceManifests()) {
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
      for (const name of Object.keys(manifest[field] ?? {})) if (!name.startsWith('@pkim/')) names.add(name);
    }
  }
  return [...names];
}

/**
 * Third-party packages bundled into the chunks although the root package depends on them: pure JavaScript made of
 * many modules (drizzle-orm: ~400 files, zod: ~230, jose: ~180) or CommonJS (@peculiar/*, asn1js, commander). Node
 * resolves, reads and compiles each file of an external package on every start (and runs cjs-module-lexer over
 * CommonJS ones); bundled, they are a few chunks loaded only by the commands that import them (docs/benchmarks.md,
 * start-up time). Native modules (better-sqlite3, graphene-pk11), packages that find files or workers beside
 * themselves (pino transports) and the server's stack stay external.
 */
const BUNDLED_PACKAGES = /^(drizzle-orm|zod|jose|@peculiar\/[^/]+|asn1js|fflate|commander)(\/|$)/;

export function isBundledPackage(id) {
  return BUNDLED_PACKAGES.test(id);
}

/** True when `id` is a third-party package (or a subpath of one): left as an import resolved from node_modules. */
function isExternal(externals, id) {
  if (id.startsWith('node:')) return true;
  const name = packageOf(id);
  return externals.has(name) && !id.startsWith('.');
}

/**
 * drizzle-orm's core (`sql/sql.js`, `relations.js`) imports two names from its PostgreSQL module, and through them
 * all of `pg-core` (every PG column type, ~45 KB) lands in the chunk every SQLite command loads. Both names are
 * checks by global symbol, so they are given here without `pg-core`, with the same results for both dialects:
 *   - isPgEnum(x): `x[Symbol.for('drizzle:isPgEnum')] === true` on a function (pg-core/columns/enum.js);
 *   - PrimaryKeyBuilder: used only as `is(entry, PrimaryKeyBuilder)`, which compares the static
 *     `[Symbol.for('drizzle:entityKind')]` ('PgPrimaryKeyBuilder') along the entry's class chain
 *     (entity.js), so a class with that kind answers as the real one does.
 * The build checks that drizzle's sources still say so (a newer drizzle that changes them fails the build here).
 */
const DRIZZLE_PG_SHIMS = {
  'sql/sql.js': {
    from: '../pg-core/columns/enum.js',
    source: 'pg-core/columns/enum.js',
    expect: [
      'const isPgEnumSym = Symbol.for("drizzle:isPgEnum");',
      'return !!obj && typeof obj === "function" && isPgEnumSym in obj && obj[isPgEnumSym] === true;',
    ],
    code:
      'const isPgEnumSym = Symbol.for("drizzle:isPgEnum");\n' +
      'export function isPgEnum(obj) {\n' +
      '  return !!obj && typeof obj === "function" && isPgEnumSym in obj && obj[isPgEnumSym] === true;\n' +
      '}\n',
  },
  'relations.js': {
    from: './pg-core/primary-keys.js',
    source: 'pg-core/primary-keys.js',
    expect: ['static [entityKind] = "PgPrimaryKeyBuilder";'],
    code:
      'export class PrimaryKeyBuilder {\n' +
      '  static [Symbol.for("drizzle:entityKind")] = "PgPrimaryKeyBuilder";\n' +
      '}\n',
  },
};

function drizzlePgShims() {
  const drizzle = join(ROOT, 'node_modules/drizzle-orm');
  for (const [importer, shim] of Object.entries(DRIZZLE_PG_SHIMS)) {
    const src = readFileSync(join(drizzle, shim.source), 'utf8');
    const imp = readFileSync(join(drizzle, importer), 'utf8');
    if (!shim.expect.every((e) => src.includes(e)) || !imp.includes(`from "${shim.from}"`))
      throw new Error(`drizzle-orm changed: ${importer} / ${shim.source} no longer match DRIZZLE_PG_SHIMS`);
  }
  return {
    name: 'pkim-drizzle-pg-shims',
    resolveId(source, importer) {
      if (!importer?.includes('/node_modules/drizzle-orm/')) return null;
      const rel = importer.slice(importer.lastIndexOf('/node_modules/drizzle-orm/') + 26);
      const shim = DRIZZLE_PG_SHIMS[rel];
      return shim && source === shim.from ? `\0pkim-drizzle-shim:${rel}` : null;
    },
    load(id) {
      if (!id.startsWith('\0pkim-drizzle-shim:')) return null;
      return { code: DRIZZLE_PG_SHIMS[id.slice('\0pkim-drizzle-shim:'.length)].code, moduleSideEffects: false };
    },
  };
}

/** Rolldown input options for the CLI + server bundle (written to `<outDir>/cli` with outputOptions). */
export function inputOptions() {
  const externals = new Set(externalPackages());
  return {
    cwd: ROOT,
    // the signing worker threads' module (PKIM_WORKERS), started by the authority's compute pool from its chunk, and
    // the SQLite writer thread's (sqlite-writer.ts)
    input: {
      pkim: 'apps/cli/src/main.ts',
      'compute-worker': 'packages/authority/src/compute/compute-worker.ts',
      'sqlite-writer-thread': 'packages/store/src/sqlite-writer-thread.ts',
    },
    platform: 'node',
    tsconfig: 'tsconfig.json',
    external: (id) => isExternal(externals, id) && !isBundledPackage(id),
    // the console transport finds the console beside the bundle (dist/web) instead of apps/web/dist
    transform: { target: 'node20', define: { PKIM_BUNDLED: 'true' } },
    logLevel: 'warn',
    plugins: [drizzlePgShims()],
  };
}

export function outputOptions(outDir) {
  return {
    dir: join(outDir, 'cli'),
    format: 'esm',
    entryFileNames: '[name].mjs',
    // chunks sit beside the entry, so `../migrations` from any of them is <outDir>/migrations
    chunkFileNames: '[name]-[hash].mjs',
    // each command module (apps/cli/src/commands, loaded with `import()` by command-tree.ts) is a chunk of its own,
    // so `pkim ca list` reads and compiles the ca command only (`pkim --help` reads them all). The small modules
    // every command shares — packages/shared and the CLI's output helpers, ~45 KB — are one chunk instead of ~12:
    // Node resolves, reads and links each file of its own (`--help` 44 → 32 files, `ca list` 49 → 37; figures in
    // docs/benchmarks.md). A module added here loads with every command: keep it small and free of heavy imports
    // (apps/cli/test/startup-loads.test.ts). packages/keys private-key-pem.ts (≈ 3 KB, node:crypto only) is there too:
    // the authority reads a key to import with it and every key backend checks one with it, so on its own it would be
    // one more file for every command that opens the authority (`ca list` 39 → 40). So is packages/authority's
    // profile-filter.ts (≈ 1 KB, PkiError only), since the notification service shares it with the certificate service.
    codeSplitting: {
      groups: [
        {
          name: 'common',
          test: /(packages\/shared\/src\/|packages\/keys\/src\/private-key-pem\.ts$|packages\/authority\/src\/profile-filter\.ts$|apps\/cli\/src\/(format|cli-parsers|option-values|export-output|command-outputs)\.ts$)/,
        },
        // what the SQLite store shares with its writer thread's entry (sqlite-writer-thread): one chunk, not three
        { name: 'sqlite-commit', test: /packages\/store\/src\/(sqlite-commit|sqlite-database|store-errors)\.ts$/ },
      ],
    },
    sourcemap: true,
    banner: (chunk) => (chunk.isEntry ? '#!/usr/bin/env node' : ''),
    // license comments of the bundled third-party packages (BUNDLED_PACKAGES) stay in the chunks
    comments: { legal: true },
  };
}

/**
 * The files of Swagger UI that `/api/docs` serves (apps/server rest-twin-plugin.ts DOCS_FILES), with their licence:
 * copied into the package so that it does not depend on swagger-ui-dist, whose dependency @scarf/scarf reports
 * every install to scarf.sh from a postinstall script (README "Install scripts and telemetry").
 */
export const API_DOCS_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'LICENSE', 'NOTICE'];

function copyAssets(outDir, { web }) {
  const migrations = join(outDir, 'migrations');
  rmSync(migrations, { recursive: true, force: true });
  cpSync(join(ROOT, 'packages/store/migrations'), migrations, { recursive: true });
  const apiDocs = join(outDir, 'api-docs');
  rmSync(apiDocs, { recursive: true, force: true });
  mkdirSync(apiDocs, { recursive: true });
  const swaggerUi = join(ROOT, 'node_modules/swagger-ui-dist');
  for (const file of API_DOCS_FILES) cpSync(join(swaggerUi, file), join(apiDocs, file));
  if (web) {
    const built = join(ROOT, 'apps/web/dist');
    rmSync(join(outDir, 'web'), { recursive: true, force: true });
    if (existsSync(join(built, 'index.html'))) cpSync(built, join(outDir, 'web'), { recursive: true });
  }
}

/** Builds the bundle (and copies the migrations) into outDir; returns the CLI entry file. */
export async function buildBundle(outDir = join(ROOT, 'dist'), { web = false } = {}) {
  rmSync(join(outDir, 'cli'), { recursive: true, force: true });
  const bundle = await rolldown(inputOptions());
  try {
    const { output } = await bundle.write(outputOptions(outDir));
    checkExternals(output);
  } finally {
    await bundle.close();
  }
  copyAssets(outDir, { web });
  return join(outDir, 'cli', 'pkim.mjs');
}

export function buildWeb() {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: join(ROOT, 'apps/web'),
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('the web console did not build (vite build failed)');
}

async function main(argv) {
  const watch = argv.includes('--watch');
  const web = !argv.includes('--no-web');
  const outIndex = argv.indexOf('--out');
  const outDir = outIndex >= 0 ? resolve(argv[outIndex + 1]) : join(ROOT, 'dist');
  const started = performance.now();
  if (web) buildWeb();
  if (watch) {
    copyAssets(outDir, { web });
    const watcher = rolldownWatch({ ...inputOptions(), output: outputOptions(outDir) });
    watcher.on('event', (e) => {
      if (e.code === 'BUNDLE_END') {
        process.stdout.write(`pkim: rebuilt ${relative(ROOT, outDir)}/cli in ${e.duration} ms\n`);
        void e.result.close();
      } else if (e.code === 'ERROR') {
        process.stderr.write(`error: build.failed: ${e.error.message}\n`);
        void e.result.close();
      }
    });
    process.stdout.write(`pkim: watching the sources, bundle in ${relative(ROOT, outDir)}/cli (Ctrl-C stops)\n`);
    return;
  }
  const entry = await buildBundle(outDir, { web });
  const ms = Math.round(performance.now() - started);
  process.stdout.write(`pkim: built ${relative(ROOT, entry)}${web ? ' and the web console' : ''} in ${ms} ms\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`error: build.failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
