// docs/testing.md's "Walked pages" table says which shell blocks of the user's pages (README.md, docs/*.md) are
// walked — run verbatim by a test that reads the block between its `<!-- NAME:begin/end -->` markers
// (tests/support/doc-script.ts) — and how many are not. It is checked here against the pages and the tests: a new
// marked block, a marker no test reads, a new unmarked block or a block walked since changes the table, and the table
// must say so. `PRINT_WALKED_PAGES=1` prints the table as it should be.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const TESTING = 'docs/testing.md';

/** the test files that may walk a block: tests/*.test.ts and apps/<app>/test/*.test.ts */
function testFiles(): string[] {
  const top = readdirSync(join(ROOT, 'tests'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(ROOT, 'tests', f));
  const apps = readdirSync(join(ROOT, 'apps')).flatMap((app) => {
    const dir = join(ROOT, 'apps', app, 'test');
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  });
  return [...top, ...apps];
}

interface Page {
  page: string;
  walked: { name: string; tests: string[] }[];
  notWalked: number;
}

function pages(): Page[] {
  const tests = testFiles().map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') }));
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const out: Page[] = [];
  for (const page of files) {
    const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
    const walked: Page['walked'] = [];
    let marked: string | undefined;
    let notWalked = 0;
    let fenced = false;
    for (const line of lines) {
      if (fenced) {
        if (/^```\s*$/.test(line)) fenced = false;
        continue;
      }
      const begin = /^<!-- ([a-z0-9-]+):begin -->$/.exec(line);
      if (begin) marked = begin[1];
      else if (/^<!-- [a-z0-9-]+:end -->$/.test(line)) marked = undefined;
      else if (line.startsWith('```')) {
        fenced = true;
        if (!/^```(bash|sh)$/.test(line)) continue;
        const name = marked;
        if (name) walked.push({ name, tests: tests.filter((t) => t.text.includes(`'${name}'`)).map((t) => t.file) });
        else notWalked++;
      }
    }
    if (walked.length || notWalked) out.push({ page, walked, notWalked });
  }
  return out;
}

function table(all: Page[]): string {
  const code = (xs: string[]) => xs.map((x) => `\`${x}\``).join(', ') || '-';
  const rows = all.map((p) => {
    const tests = [...new Set(p.walked.flatMap((w) => w.tests))];
    return `| \`${p.page}\` | ${code(p.walked.map((w) => w.name))} | ${code(tests)} | ${p.notWalked} |`;
  });
  return ['| page | walked blocks (markers) | run by | shell blocks not walked |', '|---|---|---|---:|', ...rows].join(
    '\n',
  );
}

describe('docs/testing.md "Walked pages"', () => {
  it('every marked block is read by a test, and the table says which blocks of each page are walked', () => {
    const all = pages();
    if (process.env.PRINT_WALKED_PAGES) console.log(table(all));
    for (const p of all) for (const w of p.walked) expect(w.tests, `${p.page}: ${w.name}`).not.toEqual([]);
    const doc = readFileSync(join(ROOT, TESTING), 'utf8');
    const m = /<!-- walked-pages:begin -->\n\n([\s\S]*?)\n\n<!-- walked-pages:end -->/.exec(doc);
    expect(m, `${TESTING} has no table between <!-- walked-pages:begin/end --> markers`).not.toBeNull();
    expect(m![1]).toBe(table(all));
  });
});
