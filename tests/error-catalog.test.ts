import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CATALOG } from '@pkim/shared';
import { renderErrorDocs } from '../scripts/render-error-docs';
import { REPO_ROOT } from './support/cli-runner';

describe('error code catalog', () => {
  it('docs/errors.md lists exactly the catalog (run `npm run docs:errors` after changing codes)', () => {
    expect(readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8')).toBe(renderErrorDocs());
  });

  it('every code thrown in the source is in the catalog', () => {
    const out = execFileSync(
      'git',
      [
        'grep',
        '--untracked',
        '-hoE',
        "PkiError[(][[:space:]]*'[a-z0-9_]+[.][a-z0-9_]+'",
        '--',
        ':(glob)packages/*/src/**',
        ':(glob)apps/*/src/**',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    const used = new Set([...out.matchAll(/'([a-z0-9_]+\.[a-z0-9_]+)'/g)].flatMap((m) => m[1] ?? []));
    expect(used.size).toBeGreaterThan(30);
    const missing = [...used].filter((c) => !(c in ERROR_CATALOG));
    expect(missing).toEqual([]);
  });
});
