// Layering rule of docs/architecture.md: dependencies point inward only.
//   apps/* → authority → (core, keys, store) → shared
//   apps/server, apps/web, apps/cli → contract (the API's zod schemas) → core, shared
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';

const ALLOWED = {
  'packages/shared': [],
  'packages/contract': ['@pkim/shared', '@pkim/core'],
  'packages/core': ['@pkim/shared'],
  'packages/keys': ['@pkim/shared'],
  'packages/store': ['@pkim/shared'],
  'packages/authority': ['@pkim/shared', '@pkim/core', '@pkim/keys', '@pkim/store'],
  // a CLIENT of the Vault-compatible API (PKI Manager's /v1/ or OpenBao): it reaches the PKI over HTTP only, never
  // through the authority, the store or the key backends, so the same code works against OpenBao unchanged
  'packages/keystore-certs': ['@pkim/shared'],
  'apps/server': ['@pkim/shared', '@pkim/contract', '@pkim/core', '@pkim/authority'],
  // never @pkim/store or @pkim/keys: `pkim db|backup|restore` go through the authority's database-admin facade
  'apps/cli': [
    '@pkim/shared',
    '@pkim/contract',
    '@pkim/core',
    '@pkim/authority',
    '@pkim/server',
    '@pkim/keystore-certs',
  ],
  'apps/web': ['@pkim/shared', '@pkim/contract', '@pkim/server'],
} satisfies Record<string, string[]>;
type Workspace = keyof typeof ALLOWED;

function files(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (/\.(ts|tsx)$/.test(name)) out.push(p);
  }
  return out;
}

/** Every module a source file loads: `import … from`, `export … from`, `import 'x'`, `import()`, `require()`. */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/[^\n]*/g, '$1');
  return [
    ...code.matchAll(
      /(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].flatMap((m) => m[1] ?? m[2] ?? m[3] ?? m[4] ?? []);
}

const workspaces = (Object.keys(ALLOWED) as Workspace[]).filter((w) => {
  try {
    return statSync(join(REPO_ROOT, w, 'src')).isDirectory();
  } catch {
    return false;
  }
});

describe('architecture: imports point inward only', () => {
  it('covers every workspace', () => {
    for (const top of ['packages', 'apps']) {
      for (const name of readdirSync(join(REPO_ROOT, top))) {
        expect(Object.keys(ALLOWED), `${top}/${name} has no layering rule`).toContain(`${top}/${name}`);
      }
    }
  });

  for (const ws of workspaces) {
    it(`${ws} imports only ${ALLOWED[ws].join(', ') || 'no other workspace'}, declared in its package.json`, () => {
      const pkg = JSON.parse(readFileSync(join(REPO_ROOT, ws, 'package.json'), 'utf8'));
      const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }));
      const violations: string[] = [];
      for (const f of files(join(REPO_ROOT, ws, 'src'))) {
        for (const spec of importsOf(readFileSync(f, 'utf8'))) {
          const where = relative(REPO_ROOT, f);
          if (spec.startsWith('@pkim/')) {
            const name = spec.split('/').slice(0, 2).join('/');
            if (!(ALLOWED[ws] as string[]).includes(name))
              violations.push(`${where} imports ${name} (outward or sideways)`);
            else if (!declared.has(name)) violations.push(`${where} imports ${name}, missing from ${ws}/package.json`);
          } else if (spec.startsWith('.')) {
            const target = relative(join(REPO_ROOT, ws), join(f, '..', spec));
            if (target.startsWith('..')) violations.push(`${where} reaches outside its workspace with '${spec}'`);
          }
        }
      }
      expect(violations).toEqual([]);
    });
  }
});

const read = (f: string) => readFileSync(f, 'utf8');
const srcFiles = (ws: string) => files(join(REPO_ROOT, ws, 'src'));

/**
 * The edges of docs/architecture.md's diagram (its first ```text block): each line `sources ──> targets`, a line
 * that ends with a comma or the next one indented continuing it; `(…)` notes and backticks are not names.
 */
export function diagramEdges(markdown: string): string[] {
  const block = /```text\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';
  const lines: string[] = [];
  for (const line of block.split('\n').filter((l) => l.trim() !== '')) {
    const last = lines.length - 1;
    const previous = lines[last];
    if (previous !== undefined && (/^\s/.test(line) || previous.trimEnd().endsWith(',')))
      lines[last] = `${previous} ${line.trim()}`;
    else lines.push(line.trim());
  }
  const names = (list: string) =>
    list
      .replace(/\([^)]*\)/g, '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
  return lines.flatMap((line) => {
    const [from, to] = line.split(/\s─+>\s/);
    if (to === undefined) throw new Error(`not an edge line in the diagram: ${line}`);
    return names(from!).flatMap((a) => names(to).map((b) => `${a} -> ${b}`));
  });
}

describe('architecture: docs/architecture.md draws the import graph', () => {
  it('reads edges, continued lines and notes (positive control)', () => {
    const md = '```text\napps/a ──> packages/b (`x` only), packages/c,\n    packages/d\napps/e, apps/f ─> apps/a\n```';
    expect(diagramEdges(md)).toEqual([
      'apps/a -> packages/b',
      'apps/a -> packages/c',
      'apps/a -> packages/d',
      'apps/e -> apps/a',
      'apps/f -> apps/a',
    ]);
  });

  it('its diagram has exactly the edges the sources import', () => {
    const dirOf = new Map(
      workspaces.map((w) => [JSON.parse(read(join(REPO_ROOT, w, 'package.json'))).name as string, w as string]),
    );
    const graph = new Set<string>();
    for (const ws of workspaces)
      for (const f of srcFiles(ws))
        for (const spec of importsOf(read(f))) {
          const to = dirOf.get(spec.split('/').slice(0, 2).join('/'));
          if (to !== undefined && to !== ws) graph.add(`${ws} -> ${to}`);
        }
    expect(graph.size).toBeGreaterThan(15); // positive control: the reader sees the imports
    const drawn = diagramEdges(read(join(REPO_ROOT, 'docs/architecture.md')));
    expect([...drawn].sort()).toEqual([...graph].sort());
  });
});

describe('architecture: the import reader', () => {
  it('sees side-effect imports, require() and dynamic imports, not comments', () => {
    const src = [
      "import '@pkim/store';",
      "const k = require('@pkim/keys');",
      "await import('./x');",
      "import { a } from '../y';",
      "export * from './z';",
      "// import '@pkim/commented'",
    ].join('\n');
    expect(importsOf(src)).toEqual(['@pkim/store', '@pkim/keys', './x', '../y', './z']);
  });
});

describe('architecture: one door', () => {
  const appFiles = workspaces.filter((w) => w.startsWith('apps/')).flatMap(srcFiles);

  it('apps never touch authority.store / authority.keys, nor the test-only internals', () => {
    const bad: string[] = [];
    for (const f of appFiles) {
      const src = read(f);
      if (/\bauthority\)?\s*\.\s*(store|keys)\b/.test(src))
        bad.push(`${relative(REPO_ROOT, f)} reaches authority.store/keys`);
      if (importsOf(src).some((s) => s.startsWith('@pkim/authority/')))
        bad.push(`${relative(REPO_ROOT, f)} imports an authority subpath`);
    }
    expect(bad).toEqual([]);
  });

  it('no package or app source imports @pkim/authority/internals (tests only)', () => {
    const bad = workspaces
      .flatMap(srcFiles)
      .filter((f) => !f.endsWith('authority-internals.ts') && !f.endsWith('packages/authority/src/create-authority.ts'))
      .filter((f) =>
        importsOf(read(f)).some((s) => s.includes('authority-internals') || s === '@pkim/authority/internals'),
      )
      .map((f) => relative(REPO_ROOT, f));
    expect(bad).toEqual([]);
  });

  it('the web console takes its word lists (key types, notification events) from the contract, not a copy', () => {
    const LIST = /\[\s*'(ec-p\d+|rsa-\d+|ed25519|ECDSA-P\d+|RSA-\d+|certificate\.issued)'\s*,/;
    // positive controls: the rule sees a copied list
    expect(LIST.test("const KEY_TYPES = ['ed25519', 'ec-p256'] as const;")).toBe(true);
    expect(LIST.test("const EVENTS: EventName[] = [\n  'certificate.issued',\n  'certificate.renewed',")).toBe(true);
    const bad = srcFiles('apps/web')
      .filter((f) => LIST.test(read(f)))
      .map((f) => relative(REPO_ROOT, f));
    expect(bad).toEqual([]);
  });

  it('a transport never imports another transport', () => {
    const root = join(REPO_ROOT, 'apps/server/src/transports');
    const bad: string[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(root).filter((n) => statSync(join(root, n)).isDirectory());
    } catch {
      names = [];
    }
    expect(names.length, 'apps/server/src/transports has transport folders').toBeGreaterThan(0);
    for (const name of names) {
      for (const f of files(join(root, name))) {
        for (const spec of importsOf(read(f))) {
          if (!spec.startsWith('.')) continue;
          const target = relative(root, join(f, '..', spec));
          const top = target.split('/')[0] ?? '';
          if (!target.startsWith('..') && top !== name && names.includes(top)) {
            bad.push(`${relative(REPO_ROOT, f)} imports transport '${top}' (${spec})`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('the signing pipeline is the only caller of the certificate encoder and of key signing for certificates', () => {
    const PIPELINE = 'packages/authority/src/signing/signing-pipeline.ts';
    /** the pipeline's certificate steps (plan → lint → encode → sign → assemble → verify): one function, two paths */
    const CERTIFICATE_STEPS = 'packages/authority/src/signing/certificate-steps.ts';
    /** the pipeline's CPU-bound steps as they run in a worker thread, called only through the compute pool */
    const PIPELINE_WORKER_STEPS = 'packages/authority/src/compute/compute-jobs.ts';
    /** other key signing, each for something that is not a certificate */
    const NON_CERTIFICATE_SIGNERS: Record<string, string> = {
      'packages/authority/src/crl-service.ts': 'CRLs',
      'packages/authority/src/ocsp-service.ts': 'OCSP responses',
      'packages/authority/src/ca-service.ts': 'the CSR of an external intermediate',
      'packages/authority/src/ssh/ssh-service.ts': 'OpenSSH certificates and KRLs (the sibling SSH pipeline)',
    };
    const ENCODER = /\b(encodeTbsCertificate|assembleCertificate|issueCertificate)\b/;
    const KEY_SIGN = /\bkeys\s*\.\s*(sign|signer)\s*\(|\.signer\s*\(/;
    const bad: string[] = [];
    const callers = { encoder: [] as string[], sign: [] as string[] };
    for (const ws of workspaces.filter((w) => w !== 'packages/core' && w !== 'packages/keys')) {
      for (const f of srcFiles(ws)) {
        const where = relative(REPO_ROOT, f);
        const src = read(f);
        if (ENCODER.test(src)) callers.encoder.push(where);
        if (KEY_SIGN.test(src)) callers.sign.push(where);
      }
    }
    for (const f of callers.encoder) {
      if (f !== CERTIFICATE_STEPS) bad.push(`${f} uses the certificate encoder`);
    }
    // the certificate steps run on the main thread (the pipeline) and in a worker (its jobs), nowhere else
    const STEPS_IMPORT = /^import (?!type )[^;]*from '[./]+\/(signing\/)?certificate-steps';/m;
    const steps = workspaces
      .flatMap(srcFiles)
      .filter((f) => STEPS_IMPORT.test(read(f)))
      .map((f) => relative(REPO_ROOT, f));
    for (const f of steps) {
      if (f !== PIPELINE && f !== PIPELINE_WORKER_STEPS) bad.push(`${f} runs the certificate steps`);
    }
    // the pool's certificate job is started by the pipeline only
    for (const ws of workspaces) {
      for (const f of srcFiles(ws)) {
        const where = relative(REPO_ROOT, f);
        if (/\.(signCertificate|signCsrLeaf)\s*\(/.test(read(f)) && where !== PIPELINE)
          bad.push(`${where} starts certificate jobs`);
      }
    }
    for (const f of callers.sign) {
      if (f === PIPELINE) continue;
      if (!NON_CERTIFICATE_SIGNERS[f]) bad.push(`${f} signs with a CA key outside the pipeline`);
      else if (ENCODER.test(read(join(REPO_ROOT, f)))) bad.push(`${f} signs certificates`);
    }
    // positive control: the rule sees the pipeline itself and both paths of its certificate steps
    expect(callers.encoder).toEqual([CERTIFICATE_STEPS]);
    expect(callers.sign).toContain(PIPELINE);
    expect(steps.sort()).toEqual([PIPELINE_WORKER_STEPS, PIPELINE]);
    expect(bad).toEqual([]);
  });
});

describe('architecture: configuration is read in one place per app', () => {
  /** the modules allowed to read the process environment: each app's config module */
  const CONFIG_MODULES = ['apps/cli/src/config/cli-config.ts'];
  const ENV_READ =
    /\bprocess\s*(?:\?\.|\.)\s*env\b|\bprocess\s*\[\s*['"`]env['"`]\s*\]|\{[^{}]*\benv\b[^{}]*\}\s*=\s*process\b/;
  const code = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/[^\n]*/g, '$1');

  it('sees process.env, process["env"] and destructuring, not comments (positive control)', () => {
    expect(ENV_READ.test(code('const d = process.env.PKIM_DATA_DIR;'))).toBe(true);
    expect(ENV_READ.test(code("const e = process['env'];"))).toBe(true);
    expect(ENV_READ.test(code('const { env } = process;'))).toBe(true);
    expect(ENV_READ.test(code('// reads process.env here'))).toBe(false);
    expect(ENV_READ.test(code('const env = config.env ?? {};'))).toBe(false);
  });

  it('no package or app source reads process.env except the config modules (tests, bench, scripts excepted)', () => {
    const bad = workspaces
      .flatMap(srcFiles)
      .map((f) => relative(REPO_ROOT, f))
      .filter((f) => !CONFIG_MODULES.includes(f))
      .filter((f) => ENV_READ.test(code(read(join(REPO_ROOT, f)))));
    expect(bad).toEqual([]);
    for (const m of CONFIG_MODULES) expect(ENV_READ.test(code(read(join(REPO_ROOT, m)))), m).toBe(true);
  });
});
