// The README's configuration table is rendered from apps/cli/src/config/settings.ts (cli-config.test.ts keeps it in
// sync, and fails on a PKIM_* variable the sources mention that the table lacks). This is the other direction:
// every setting the table documents is read by the sources — nothing documented that no code reads. A read is the
// variable's name as a string or a property outside comments (`env.PKIM_PORT`, `'PKIM_SMTP_PORT'`), or a name built
// from a prefix and a suffix in one file (`env[\`PKIM_SPIFFE_${k}\`]` with `get('TRUST_DOMAIN')`).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config/settings';

const ROOT = resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(path);
    return /\.(ts|tsx|mjs)$/.test(e.name) && !path.endsWith(join('config', 'settings.ts')) ? [path] : [];
  });
}

/** the setting names a source file reads (see the file's header) */
export function namesRead(source: string): Set<string> {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const names = new Set<string>();
  for (const m of code.matchAll(
    /(['"`])((?:PKIM|VAULT)_[A-Z0-9_]*[A-Z0-9])\1|\.((?:PKIM|VAULT)_[A-Z0-9_]*[A-Z0-9])\b/g,
  ))
    names.add(m[2] ?? m[3]!);
  const prefixes = [...code.matchAll(/`((?:PKIM|VAULT)_[A-Z0-9_]*_)\$\{/g)].map((m) => m[1]!);
  if (prefixes.length > 0)
    for (const m of code.matchAll(/(['"])(?!PKIM_|VAULT_)([A-Z][A-Z0-9_]*)\1/g))
      for (const p of prefixes) names.add(p + m[2]!);
  return names;
}

describe('the configuration table documents only what the code reads', () => {
  it('a read is a string or a property outside comments, or a prefix and its suffix', () => {
    const read = namesRead(
      [
        '/** PKIM_IN_A_COMMENT */',
        '// PKIM_ALSO_A_COMMENT',
        "const a = env.PKIM_PORT, b = e['PKIM_SMTP_PORT'], u = 'http://x'; // PKIM_TRAILING",
        'const get = (k: string) => env[`PKIM_SPIFFE_${k}`];',
        "get('TRUST_DOMAIN');",
      ].join('\n'),
    );
    expect([...read].sort()).toEqual(['PKIM_PORT', 'PKIM_SMTP_PORT', 'PKIM_SPIFFE_TRUST_DOMAIN']);
  });

  it('every setting of the README table is read by apps/*/src or packages/*/src', () => {
    const read = new Set<string>();
    const files = ['apps', 'packages'].flatMap((top) =>
      readdirSync(join(ROOT, top)).flatMap((d) => {
        try {
          return sources(join(ROOT, top, d, 'src'));
        } catch {
          return [];
        }
      }),
    );
    expect(files.length).toBeGreaterThan(300); // positive control: the walk sees the sources
    for (const f of files) for (const n of namesRead(readFileSync(f, 'utf8'))) read.add(n);
    expect(SETTINGS.map((s) => s.env).filter((env) => !read.has(env))).toEqual([]);
  });
});
