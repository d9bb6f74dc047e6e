// Layering rule of docs/architecture.md: dependencies point inward only.
//   apps/* → authority → (core, keys, store) → shared
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';

const ALLOWED = {
  'packages/shared': [],
  'packages/core': ['@pkim/shared'],
  'packages/keys': ['@pkim/shared'],
  'packages/store': ['@pkim/shared'],
  'packages/authority': ['@pkim/shared', '@pkim/core', '@pkim/keys', '@pkim/store'],
  'apps/server': ['@pkim/shared', '@pkim/core', '@pkim/authority', '@pkim/store', '@pkim/keys'],
  'apps/cli': ['@pkim/shared', '@pkim/core', '@pkim/authority', '@pkim/server', '@pkim/store', '@pkim/keys'],
  'apps/web': ['@pkim/shared', '@pkim/server'],
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

function importsOf(source: string): string[] {
  return [
    ...source.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].flatMap((m) => m[1] ?? m[2] ?? []);
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
