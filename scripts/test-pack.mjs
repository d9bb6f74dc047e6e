#!/usr/bin/env node
// `npm run test:pack`: the root package can be packed and installed like a user would.
//   npm pack (prepack builds dist/: the web console and the CLI + server bundle)
//   → npm install -g ./pki-manager-<version>.tgz into a temporary --prefix (never the real global prefix)
//   → the installed `pkim` (package.json `bin`) runs from a directory outside the repository, with the
//     repository's node_modules out of reach: --help, init, a CA, a certificate verified by openssl, `pkim serve`
//     answering /healthz and serving the console.
//   → no installed package runs an install script but the native modules (better-sqlite3, pkcs11js): Swagger UI's
//     files ship in dist/api-docs, so swagger-ui-dist and its install telemetry (@scarf/scarf) are not installed.
//   → no installed package declares an engines.node that excludes the lowest Node.js the root package admits
//     (package.json `engines`): overrides do not reach a user's install, the root's own ranges must (README.md
//     "Node.js 20 and dependency engines"); npm's EBADENGINE warning is refused as well.
// The install compiles better-sqlite3 (and pkcs11js) from source like a user's install does (~1–2 min): this is
// why it is a separate command from `vitest run`; .ci/run calls it after `npm test`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { ROOT } from './build.mjs';

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'pkim-pack-'));
const prefix = join(work, 'prefix');
const home = join(work, 'home'); // the CLI runs here: no node_modules above it
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function step(what) {
  process.stdout.write(`test:pack: ${what} (${Math.round((Date.now() - started) / 1000)} s)\n`);
}

function fail(message) {
  process.stderr.write(`error: test_pack.failed: ${message}\n`);
  process.exitCode = 1;
}

function pkim(args, { expectCode = 0 } = {}) {
  const bin = join(prefix, 'bin', 'pkim');
  const r = spawnSync(bin, args, {
    cwd: home,
    encoding: 'utf8',
    env: { ...process.env, PKIM_DATA_DIR: join(home, 'data'), PKIM_LOG_LEVEL: 'silent', NODE_PATH: '' },
  });
  if (r.status !== expectCode) {
    throw new Error(`pkim ${args.join(' ')} exited ${r.status} (expected ${expectCode}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** Packages that may run an install script in the installed package: they compile their native modules. */
const INSTALL_SCRIPTS_ALLOWED = new Set(['better-sqlite3', 'pkcs11js']);

/** Calls `visit(pkg, pkgDir)` for every installed package under `dir` (node_modules, nested too). */
function walkInstalled(dir, visit) {
  const walk = (modules) => {
    for (const name of existsSync(modules) ? readdirSync(modules) : []) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        walk(join(modules, name));
        continue;
      }
      const pkgDir = join(modules, name);
      const file = join(pkgDir, 'package.json');
      if (!existsSync(file)) continue;
      visit(JSON.parse(readFileSync(file, 'utf8')), pkgDir);
      walk(join(pkgDir, 'node_modules'));
    }
  };
  walk(join(dir, 'node_modules'));
}

/** Installed packages under `dir` with an install script not in INSTALL_SCRIPTS_ALLOWED (install telemetry…). */
function unexpectedInstallScripts(dir) {
  const out = [];
  walkInstalled(dir, (pkg) => {
    const scripts = ['preinstall', 'install', 'postinstall'].filter((s) => pkg.scripts?.[s]);
    if (scripts.length && !INSTALL_SCRIPTS_ALLOWED.has(pkg.name)) out.push(`${pkg.name}@${pkg.version} (${scripts})`);
  });
  return out;
}

/** Installed packages under `dir` (node_modules, nested too) whose engines.node excludes `node`, as npm reads it. */
function enginesExcluding(dir, node) {
  const out = [];
  walkInstalled(dir, (pkg) => {
    const range = pkg.engines?.node;
    if (typeof range === 'string' && !semver.satisfies(node, range, { includePrerelease: true })) {
      out.push(`${pkg.name}@${pkg.version} declares node ${range}`);
    }
  });
  return out;
}

async function serveCheck() {
  const child = spawn(join(prefix, 'bin', 'pkim'), ['serve', '--host', '127.0.0.1', '--port', '0', '--json'], {
    cwd: home,
    env: { ...process.env, PKIM_DATA_DIR: join(home, 'data'), PKIM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (err += d.toString()));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('\n')) {
      if (child.exitCode !== null) throw new Error(`pkim serve exited ${child.exitCode}:\n${out}\n${err}`);
      if (Date.now() > deadline) throw new Error(`pkim serve did not start:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { url } = JSON.parse(out.split('\n')[0]);
    const health = await fetch(`${url}/healthz`);
    if (health.status !== 200) throw new Error(`GET /healthz → ${health.status}`);
    const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
    const html = await page.text();
    if (page.status !== 200 || !/<script[^>]+src="\/assets\//.test(html)) {
      throw new Error(`GET / did not serve the built console (${page.status}):\n${html.slice(0, 300)}`);
    }
    // Swagger UI's files ship in the package (dist/api-docs): swagger-ui-dist (and its telemetry) is not installed
    const swaggerUi = await fetch(`${url}/api/docs/swagger-ui-bundle.js`);
    if (swaggerUi.status !== 200 || !(await swaggerUi.text()).includes('SwaggerUIBundle')) {
      throw new Error(`GET /api/docs/swagger-ui-bundle.js → ${swaggerUi.status}`);
    }
  } finally {
    // Wait for the server to exit: it may still be closing its database (WAL files) when cleanup starts.
    const exited = new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

try {
  step('npm pack');
  const packOut = execFileSync(npm, ['pack', '--json', '--pack-destination', work], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // the prepack build prints its lines first; the JSON report is the rest
  const packed = JSON.parse(packOut.slice(packOut.search(/^\[/m)))[0];
  const tarball = join(work, packed.filename);
  const files = packed.files.map((f) => f.path);
  const wanted = ['dist/cli/pkim.mjs', 'dist/migrations/sqlite/meta/_journal.json', 'dist/web/index.html'];
  for (const want of wanted.concat('dist/api-docs/swagger-ui-bundle.js')) {
    if (!files.includes(want)) throw new Error(`the package lacks ${want}`);
  }
  const leaked = files.filter((f) => /^(packages|apps|tests|bench|node_modules)\//.test(f) || f.endsWith('.ts'));
  if (leaked.length) throw new Error(`the package ships sources: ${leaked.slice(0, 5).join(', ')}`);
  step(`${packed.filename}: ${files.length} files, ${Math.round(packed.size / 1024)} kB`);

  step(`npm install -g into ${prefix} (compiles better-sqlite3)`);
  const install = spawnSync(npm, ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
    cwd: work,
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  process.stderr.write(install.stderr);
  if (install.status !== 0) throw new Error(`npm install -g exited ${install.status}`);
  const rootEngines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node;
  const lowest = semver.minVersion(rootEngines).version;
  const excluding = enginesExcluding(join(prefix, 'lib/node_modules/pki-manager'), lowest);
  if (/EBADENGINE/.test(install.stderr) || excluding.length) {
    const which = excluding.join(', ') || 'npm printed EBADENGINE';
    throw new Error(`the install holds packages that exclude Node.js ${lowest}: ${which}`);
  }
  step(`no installed package excludes Node.js ${lowest}`);
  const scripted = unexpectedInstallScripts(join(prefix, 'lib/node_modules/pki-manager'));
  if (scripted.length) throw new Error(`the install runs install scripts besides the native modules: ${scripted}`);
  step(`no installed package has an install script but ${[...INSTALL_SCRIPTS_ALLOWED].join(', ')}`);
  execFileSync('mkdir', ['-p', home]);

  step('pkim --help, init, ca create, cert issue');
  if (!pkim(['--help']).includes('Usage: pkim')) throw new Error('pkim --help printed no usage');
  pkim(['init']);
  pkim(['ca', 'create', '--name', 'root', '--subject', 'CN=Pack Test Root', '--key-type', 'ec-p256']);
  // --json renders through @pkim/contract's mappers (a lazy chunk of its own since 22d18ce)
  const listed = JSON.parse(pkim(['ca', 'list', '--json']));
  if (listed.items?.[0]?.name !== 'root') throw new Error(`pkim ca list --json: ${JSON.stringify(listed)}`);
  pkim(
    ['cert', 'issue', '--ca', 'root', '--subject', 'CN=pack.example.com', '--san', 'dns:pack.example.com'].concat([
      '--out-cert',
      join(work, 'leaf.pem'),
      '--out-key',
      join(work, 'leaf.key'),
    ]),
  );
  writeFileSync(join(work, 'root.pem'), pkim(['ca', 'export', 'root']));
  const verify = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', 'root.pem', 'leaf.pem'], {
    cwd: work,
    encoding: 'utf8',
  });
  if (verify.status !== 0) throw new Error(`openssl verify refused the issued certificate:\n${verify.stderr}`);
  pkim(['ca', 'create', '--name', 'root', '--subject', 'CN=Again', '--key-type', 'ec-p256'], { expectCode: 4 });

  step('pkim serve: /healthz and the console');
  await serveCheck();
  if (!existsSync(join(home, 'data', 'pkim.db'))) throw new Error('no database in the data directory');
  const version = JSON.parse(readFileSync(join(prefix, 'lib/node_modules/pki-manager/package.json'), 'utf8')).version;
  step(`ok: pki-manager ${version} packs, installs and runs`);
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
} finally {
  rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
