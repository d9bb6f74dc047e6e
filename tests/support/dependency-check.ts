/**
 * Declared dependencies against what the code loads, per npm workspace (tests/dependencies.test.ts).
 * Imports are read with TypeScript's own pre-processor (import/export from, side-effect imports,
 * `import()`, `require()`; never strings or comments); stylesheets with their `@import`s.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative, sep } from 'node:path';
import semver from 'semver';
import ts from 'typescript';

const CODE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const SKIP = new Set(['node_modules', 'dist', 'data', 'coverage', '.git', 'migrations']);

/**
 * Dependencies a workspace needs without importing them, each with the reason. Anything else that
 * no file imports is reported as unused.
 */
export const TOOLS: Record<string, Record<string, string>> = {
  '.': {
    eslint: 'npm run lint',
    prettier: 'npm run format / format:check',
    typescript: 'npm run typecheck (tsc); also read by typescript-eslint',
    tsx: 'runs the TypeScript scripts and benches (npm run bench…, docs:errors)',
    '@types/node': 'ambient Node.js types for every workspace',
    autocannon: "npm run bench:http runs autocannon's CLI in its own process (node_modules/autocannon/autocannon.js)",
    'light-my-request':
      "pins fastify's own dependency for those who install the packed package: 6.8 needs cookie 2, which needs Node 22",
  },
};

export interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workspaces?: string[];
}

/** Bare package names a source file loads (node: builtins and relative paths excluded). */
export function packagesLoadedBy(file: string, source: string): string[] {
  const specs = file.endsWith('.css')
    ? [...source.matchAll(/@(?:import|plugin)\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!)
    : ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
  const out = new Set<string>();
  for (const spec of specs) {
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || isBuiltin(spec)) continue;
    const parts = spec.split('/');
    out.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return [...out];
}

function sourceFiles(dir: string, skip: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (SKIP.has(name) || skip(p)) continue;
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p, skip));
    else if (CODE.test(name) || name.endsWith('.css')) out.push(p);
  }
  return out;
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** `@types/x` is used when `x` is (scoped `@types/a__b` for `@a/b`); `@types/node` is a tool. */
function typesTarget(name: string): string | undefined {
  if (!name.startsWith('@types/')) return undefined;
  const bare = name.slice('@types/'.length);
  return bare.includes('__') ? `@${bare.replace('__', '/')}` : bare;
}

/**
 * Rules, per workspace W (packages/*, apps/*):
 * - W/src and W/bin (what runs in production) load only W's `dependencies`; the web console also its
 *   `devDependencies` (Vite bundles it; nothing installs it at run time);
 * - every other file of W (tests, benches, config) also W's `devDependencies` and the root's
 *   `devDependencies` (the shared test toolchain: vitest, playwright-core…);
 * - every `dependencies` entry is loaded by W/src or W/bin (otherwise unused, or a devDependency);
 *   every `devDependencies` entry is loaded somewhere in W, or is the `@types/` package of one that is.
 * The root (tests/, bench/, scripts/, configs) may load its own dependencies, every workspace, and the
 * dependencies of every workspace (it tests the system with the system's libraries); every root
 * dependency is loaded by a root file or is a TOOLS entry.
 */
export function checkDependencies(root: string, tools: Record<string, Record<string, string>> = TOOLS): string[] {
  const rootPkg = readPackage(root);
  const workspaceDirs = (rootPkg.workspaces ?? []).flatMap((pattern) => {
    const base = pattern.replace(/\/\*$/, '');
    return readdirSync(join(root, base))
      .map((n) => join(base, n))
      .filter((d) => statSync(join(root, d, 'package.json'), { throwIfNoEntry: false })?.isFile());
  });
  const problems: string[] = [];
  const rootDev = Object.keys(rootPkg.devDependencies ?? {});
  const workspaceNames: string[] = [];
  const allWorkspaceDeps = new Set<string>();
  /** root devDependencies are the shared toolchain: a workspace's tests may use them */
  const loadedByWorkspaces = new Set<string>();

  for (const ws of workspaceDirs) {
    const pkg = readPackage(join(root, ws));
    if (pkg.name) workspaceNames.push(pkg.name);
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies });
    const dev = Object.keys(pkg.devDependencies ?? {});
    deps.forEach((d) => allWorkspaceDeps.add(d));
    const bundled = ws === join('apps', 'web');
    const loadedByProduction = new Set<string>();
    const loadedAnywhere = new Set<string>();
    for (const file of sourceFiles(join(root, ws), () => false)) {
      const rel = relative(join(root, ws), file);
      const production = rel.startsWith(`src${sep}`) || rel.startsWith(`bin${sep}`);
      const allowed = new Set([
        ...(pkg.name ? [pkg.name] : []),
        ...deps,
        ...(production && !bundled ? [] : dev),
        ...(production ? [] : rootDev),
      ]);
      for (const name of packagesLoadedBy(file, readFileSync(file, 'utf8'))) {
        loadedAnywhere.add(name);
        loadedByWorkspaces.add(name);
        if (production) loadedByProduction.add(name);
        if (!allowed.has(name)) {
          const where = relative(root, file);
          problems.push(
            deps.includes(name) || dev.includes(name) || rootDev.includes(name)
              ? `${where} loads ${name}, which ${ws}/package.json lists only for development`
              : `${where} loads ${name}, which ${ws}/package.json does not declare`,
          );
        }
      }
    }
    const wsTools = tools[ws] ?? {};
    for (const d of deps) {
      if (!loadedByProduction.has(d) && !wsTools[d]) {
        problems.push(
          loadedAnywhere.has(d)
            ? `${ws}: dependency ${d} is used by tests/tooling only (make it a devDependency)`
            : `${ws}: dependency ${d} is not used`,
        );
      }
    }
    for (const d of dev) {
      const target = typesTarget(d);
      const used = loadedAnywhere.has(d) || (target !== undefined && loadedAnywhere.has(target));
      if (!used && !wsTools[d]) problems.push(`${ws}: devDependency ${d} is not used`);
    }
  }

  const inWorkspace = (p: string) => workspaceDirs.some((ws) => relative(join(root, ws), p) === '');
  const rootAllowed = new Set([
    ...Object.keys({ ...rootPkg.dependencies, ...rootPkg.devDependencies }),
    ...workspaceNames,
    ...allWorkspaceDeps,
  ]);
  const rootLoaded = new Set<string>();
  for (const file of sourceFiles(root, inWorkspace)) {
    for (const name of packagesLoadedBy(file, readFileSync(file, 'utf8'))) {
      rootLoaded.add(name);
      if (!rootAllowed.has(name))
        problems.push(`${relative(root, file)} loads ${name}, which no package.json declares`);
    }
  }
  // the root's `dependencies` are what the packed product (the bundled CLI and server) needs at run time
  for (const d of Object.keys(rootPkg.dependencies ?? {})) {
    if (!allWorkspaceDeps.has(d) && !rootLoaded.has(d) && !tools['.']?.[d]) {
      problems.push(`package.json: dependency ${d} is needed by no workspace`);
    }
  }
  for (const d of Object.keys(rootPkg.devDependencies ?? {})) {
    const target = typesTarget(d);
    const loaded = (n: string) => rootLoaded.has(n) || loadedByWorkspaces.has(n);
    const used = loaded(d) || (target !== undefined && (loaded(target) || allWorkspaceDeps.has(target)));
    if (!used && !tools['.']?.[d]) problems.push(`package.json: ${d} is not used`);
  }
  return problems.sort();
}

/** Packages installed more than once in package-lock.json (e.g. two zod versions), with their versions. */
export function duplicatedPackages(
  lock: { packages?: Record<string, { version?: string }> },
  names: string[],
): string[] {
  const versions = new Map<string, Set<string>>();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    const name = path.split('node_modules/').pop();
    if (!name || !names.includes(name) || !path.includes('node_modules/')) continue;
    const set = versions.get(name) ?? new Set<string>();
    set.add(`${entry.version ?? '?'} at ${path}`);
    versions.set(name, set);
  }
  return [...versions].filter(([, v]) => v.size > 1).map(([name, v]) => `${name}: ${[...v].join(', ')}`);
}

/**
 * Packages in package-lock.json whose `engines.node` excludes `node` (the lowest Node.js version the root package's
 * `engines.node` admits): what a clean `npm install` on that Node reports as EBADENGINE. The range is read as npm
 * reads it (npm-install-checks: prereleases included; a range semver cannot parse excludes every version).
 * `allowed` maps a package name to why it cannot be avoided; those are left out.
 */
export function enginesExcluding(
  lock: { packages?: Record<string, { version?: string; engines?: unknown }> },
  node: string,
  allowed: Record<string, string> = {},
): string[] {
  const out: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    const name = path.split('node_modules/').pop();
    if (!name || !path.includes('node_modules/') || name in allowed) continue;
    const range = (entry.engines as { node?: unknown } | undefined)?.node; // an old array form: no Node.js range
    if (typeof range !== 'string') continue;
    if (!semver.satisfies(node, range, { includePrerelease: true })) {
      out.push(`${name}@${entry.version ?? '?'} (${path}) declares node ${range}, which excludes ${node}`);
    }
  }
  return out.sort();
}

/**
 * Packages in package-lock.json that have an install script (`hasInstallScript`) and no entry in the root
 * package.json `allowScripts` (npm 11: `true` runs it, `false` skips it; unreviewed ones run with a warning today
 * and will be refused by a later npm). Matched by name, as the name-only entries of `allowScripts` are.
 */
export function unreviewedInstallScripts(
  lock: { packages?: Record<string, { version?: string; hasInstallScript?: boolean }> },
  allowScripts: Record<string, boolean> = {},
): string[] {
  const out: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    const name = path.split('node_modules/').pop();
    if (!name || !path.includes('node_modules/') || !entry.hasInstallScript) continue;
    if (typeof allowScripts[name] !== 'boolean') out.push(`${name}@${entry.version ?? '?'} (${path})`);
  }
  return out.sort();
}
