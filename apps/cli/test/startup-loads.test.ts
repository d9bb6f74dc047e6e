// What `pkim ca list` loads (issue #10 item 9: the CLI answers in < 300 ms; figures in docs/benchmarks.md). Not a
// timed assertion: the compiled CLI runs under a module-load hook that records every module file Node loads; each
// loaded chunk of the bundle is mapped back to its sources through its source map. A static import that drags the
// export encoders, the CSV, ZIP, JOSE or ASN.1 libraries, zod, pino, a channel service (ACME, SSH, SPIFFE, OIDC,
// notifications, Vault), the worker pool, the server, the contract, an optional key backend or the definitions of
// another command back into the start of every command fails here, naming the module.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PKIM_BIN, REPO_ROOT, runPkim } from '../../../tests/support/cli-runner';
import { tempDir } from '../../../tests/support/openssl-tools';

/** what no read-only command such as `ca list` may load, as repository paths of sources and installed packages */
const NOT_AT_START: [string, RegExp][] = [
  ['csv-parse / csv-stringify', /^node_modules\/csv-(parse|stringify)\//],
  ['pino (a silent command needs no logger)', /^node_modules\/(pino|pino-pretty|thread-stream)\//],
  ['fflate (ZIP)', /^node_modules\/fflate\//],
  ['jose (OIDC, ACME)', /^node_modules\/jose\//],
  ['ASN.1 classes (@peculiar/*, asn1js)', /^node_modules\/(@peculiar\/|asn1js\/|pvtsutils\/|tslib\/)/],
  ['nodemailer, pg, PKCS#11, config-file parsers', /^node_modules\/(nodemailer|pg|graphene-pk11|smol-toml|yaml)\//],
  ['the export encoders (PKCS#12, JKS, PKCS#7)', /^packages\/authority\/src\/exports\/(pkcs12|jks)/],
  ['the CRL/OCSP codecs', /^packages\/authority\/src\/asn1-codecs\.ts$/],
  ['zod (config and profile validation load on first use)', /^node_modules\/zod\//],
  ['the export encoders and services', /^packages\/authority\/src\/exports\/export-/],
  ['renewal, bulk and batch', /^packages\/authority\/src\/lifecycle\//],
  ['the ACME server', /^packages\/authority\/src\/acme\/acme-(service|validation)\.ts$/],
  ['the SSH CA', /^packages\/(authority|core)\/src\/ssh\//],
  [
    'the SPIFFE, OIDC and notification services',
    /^packages\/authority\/src\/(spiffe|oidc|notifications)\/\w+-service\.ts$/,
  ],
  ['the server and its transports', /^apps\/server\//],
  // drizzle's core imports two names from pg-core; the build gives them without it (scripts/build.mjs)
  ['drizzle pg-core (PostgreSQL only)', /^node_modules\/drizzle-orm\/pg-core\//],
  // vocabulary.ts: the contract's word lists without zod (the parsers' allowed values), loaded by every command
  ['the API contract (only for --json)', /^packages\/contract\/(?!src\/vocabulary\.ts$)/],
  ['the optional key backends', /^packages\/keys\/src\/(pkcs11\/pkcs11-backend|kmip\/kmip-(backend|client))\.ts$/],
  ['the Vault API services', /^packages\/authority\/src\/vault\/vault-/],
  [
    'the signing pipeline and the certificate planner, linter and encoder',
    /^packages\/(authority\/src\/signing\/(signing-pipeline|certificate-steps)|core\/src\/certificate-(planner|linter|encoder))\.ts$/,
  ],
  [
    'the worker pool (PKIM_WORKERS, `pkim serve` only)',
    /^(packages\/authority\/src\/compute\/compute-pool\.ts|node:worker_threads)$/,
  ],
  // a chunk per top-level command: `pkim ca …` reads the ca command's definitions only (`--help` reads them all)
  ["another command's definitions", /^apps\/cli\/src\/commands\/(?!ca-command\.ts$)/],
];

const tmp = tempDir('pkim-startup-loads-');
const hookLog = join(tmp.dir, 'loads.log');

/** how many files of the bundle the last modulesLoadedBy run loaded (each one is resolved, read and linked) */
let bundleFiles = 0;

/** the repository paths of what `pkim <args>` loaded: bundled sources (via the source maps) and installed files */
function modulesLoadedBy(args: string[]): Set<string> {
  writeFileSync(hookLog, '');
  const r = spawnSync(
    process.execPath,
    ['--import', pathToFileURL(join(tmp.dir, 'register.mjs')).href, PKIM_BIN, ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, PKIM_DATA_DIR: join(tmp.dir, 'data'), PKIM_LOG_LEVEL: 'silent', PKIM_LOAD_LOG: hookLog },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (r.status !== 0) throw new Error(`pkim ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const out = new Set<string>();
  bundleFiles = 0;
  for (const url of readFileSync(hookLog, 'utf8').split('\n')) {
    if (!url.startsWith('file:')) {
      out.add(url); // node: builtins
      continue;
    }
    const file = fileURLToPath(url);
    const map = `${file}.map`;
    if (file.startsWith(dirname(PKIM_BIN))) bundleFiles++;
    if (file.startsWith(dirname(PKIM_BIN)) && existsSync(map)) {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
      for (const s of sources) out.add(relative(REPO_ROOT, resolve(dirname(file), s)));
    } else out.add(relative(REPO_ROOT, file));
  }
  return out;
}

/** the rules of NOT_AT_START that `loaded` breaks, each with the first module that breaks it */
function violations(loaded: Set<string>): string[] {
  return NOT_AT_START.flatMap(([what, rule]) => {
    const hit = [...loaded].find((m) => rule.test(m));
    return hit ? [`${what}: ${hit}`] : [];
  });
}

describe('what pkim ca list loads (start-up time)', () => {
  beforeAll(() => {
    // the compiled CLI with its source maps (tests/global-setup.ts builds it once per run)
    expect(existsSync(`${PKIM_BIN}.map`), `${PKIM_BIN} is not the compiled CLI`).toBe(true);
    writeFileSync(
      join(tmp.dir, 'hook.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function load(url, context, next) {\n' +
        "  appendFileSync(process.env.PKIM_LOAD_LOG, url + '\\n');\n" +
        '  return next(url, context);\n' +
        '}\n',
    );
    const hook = JSON.stringify(pathToFileURL(join(tmp.dir, 'hook.mjs')).href);
    writeFileSync(join(tmp.dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${hook});\n`);
    const opts = { dataDir: join(tmp.dir, 'data') };
    expect(runPkim(['init'], opts).code).toBe(0);
    const ca = runPkim(['ca', 'create', '--name', 'root', '--subject', 'CN=Load Root', '--key-type', 'ec-p256'], opts);
    expect(ca.code, ca.stderr).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('loads the store and SQLite, and none of the modules other commands need', () => {
    const loaded = modulesLoadedBy(['ca', 'list']);
    // the hook sees bundled sources and installed packages (else an empty list would pass)
    expect(loaded).toContain('packages/store/src/sqlite-store.ts');
    expect(loaded).toContain('packages/authority/src/ca-service.ts');
    expect([...loaded].some((m) => m.startsWith('node_modules/better-sqlite3/'))).toBe(true);
    expect(violations(loaded)).toEqual([]);
  });

  it('few files: the shared helpers are one chunk and no command module is loaded through a facade chunk', () => {
    // measured 32 and 37 files (44 and 49 before the `common` chunk group and the facades went, docs/benchmarks.md)
    modulesLoadedBy(['--help']);
    expect(bundleFiles).toBeGreaterThan(20); // every command module is a file of its own
    expect(bundleFiles).toBeLessThanOrEqual(34);
    modulesLoadedBy(['ca', 'list']);
    expect(bundleFiles).toBeLessThanOrEqual(39);
    // a chunk without a source map is a facade (or the bundler's runtime): a command module that another module
    // also imports statically is loaded through one — the shared code belongs in a module of its own
    const facades = readdirSync(dirname(PKIM_BIN)).filter(
      (f) =>
        f.endsWith('.mjs') && !f.startsWith('rolldown-runtime-') && !existsSync(join(dirname(PKIM_BIN), `${f}.map`)),
    );
    expect(facades.filter((f) => f.includes('-command-'))).toEqual([]);
  });

  it('pkim --version loads no command definitions (the whole tree is for --help)', () => {
    const loaded = modulesLoadedBy(['--version']);
    expect(loaded).toContain('apps/cli/src/main.ts');
    expect([...loaded].filter((m) => m.startsWith('apps/cli/src/commands/'))).toEqual([]);
    expect(violations(loaded)).toEqual([]);
  });

  it('pkim completion bash opens no store and no authority: the script comes from the command tree alone', () => {
    const loaded = modulesLoadedBy(['completion', 'bash']);
    expect(loaded).toContain('apps/cli/src/commands/completion-command.ts');
    // (the small helpers every command's definition imports — vocabulary, permissions, URL parsers — are fine)
    const heavy = [...loaded].filter((m) =>
      /^(packages\/store\/src\/sqlite-store\.ts|packages\/authority\/src\/create-authority\.ts|node_modules\/better-sqlite3\/)/.test(
        m,
      ),
    );
    expect(heavy).toEqual([]);
    // the whole tree is its input (every command's definitions), none of the libraries their actions need
    expect(violations(loaded).filter((v) => !v.startsWith("another command's definitions"))).toEqual([]);
  });

  it('pg-core stays in the bundle for PostgreSQL: the chunk of the PostgreSQL store carries it', () => {
    const maps = readdirSync(dirname(PKIM_BIN)).filter((f) => f.endsWith('.mjs.map'));
    // as repository paths (the chunks may sit inside node_modules/.cache when the tests build them)
    const sourcesOf = (f: string) =>
      (JSON.parse(readFileSync(join(dirname(PKIM_BIN), f), 'utf8')) as { sources: string[] }).sources.map((x) =>
        relative(REPO_ROOT, resolve(dirname(PKIM_BIN), x)),
      );
    const pg = maps.map(sourcesOf).filter((s) => s.some((x) => x.endsWith('packages/store/src/pg-store.ts')));
    expect(pg.flat().some((x) => x.startsWith('node_modules/drizzle-orm/pg-core/'))).toBe(true);
  });

  it('zod is in the bundle without its locales: no `z` namespace is handed around as a value', () => {
    // a `z` used as a value (`buildSchema(z)` after `await import('zod')`) keeps every export of zod: 64 locales,
    // a 653 KB chunk that each --json command compiled (≈ 95 ms of CPU, docs/benchmarks-record.md "Session 16: CLI
    // start-up")
    const sources = readdirSync(dirname(PKIM_BIN))
      .filter((f) => f.endsWith('.mjs.map'))
      .flatMap((f) => (JSON.parse(readFileSync(join(dirname(PKIM_BIN), f), 'utf8')) as { sources: string[] }).sources)
      .map((x) => relative(REPO_ROOT, resolve(dirname(PKIM_BIN), x)));
    expect(sources.some((x) => x.startsWith('node_modules/zod/'))).toBe(true);
    expect(sources.filter((x) => /^node_modules\/zod\/.*\/locales\/(?!en\.js$)/.test(x))).toEqual([]);
  });

  it('a --json command prints through the contract mappers: no zod schema is evaluated', () => {
    // the mappers live apart from the zod schemas (packages/contract/src/*-mappers.ts, `@pkim/contract/mappers`):
    // printing JSON compiled zod and built every schema of the modules it imported (≈ 80 ms of CPU per command,
    // docs/benchmarks-record.md "Session 17: dependencies and CLI start-up")
    for (const args of [
      ['ca', 'list', '--json'],
      ['cert', 'list', '--json'],
    ]) {
      const loaded = [...modulesLoadedBy(args)];
      expect(loaded).toContain('packages/contract/src/common-mappers.ts');
      const schemas = loaded.filter(
        (m) => m.startsWith('node_modules/zod/') || /^packages\/contract\/.*-schemas\.ts$/.test(m),
      );
      expect(schemas, `pkim ${args.join(' ')}`).toEqual([]);
    }
  });

  it('positive control: the commands that need them do load them, and the check names them', () => {
    const csv = violations(modulesLoadedBy(['cert', 'list', '--format', 'csv']));
    expect(csv.some((v) => v.startsWith('csv-parse / csv-stringify: node_modules/csv-stringify/'))).toBe(true);
    const json = violations(modulesLoadedBy(['ca', 'list', '--json']));
    expect(json.some((v) => v.startsWith('the API contract (only for --json): packages/contract/src/'))).toBe(true);
    const vault = violations(modulesLoadedBy(['vault', 'mounts']));
    expect(vault.some((v) => v.startsWith('the Vault API services: packages/authority/src/vault/vault-'))).toBe(true);
    const signs = violations(modulesLoadedBy(['ca', 'create', '--name', 'second', '--subject', 'CN=Second']));
    expect(
      signs.some((v) => v.startsWith('the signing pipeline and the certificate planner, linter and encoder: ')),
    ).toBe(true);
    const help = violations(modulesLoadedBy(['--help']));
    expect(help.some((v) => v.startsWith("another command's definitions: apps/cli/src/commands/"))).toBe(true);
  });
});
