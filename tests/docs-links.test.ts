// Every relative link of the user's documentation (README.md, docs/*.md, the packages' READMEs) leads somewhere: the
// file exists and, with a `#fragment`, the markdown file has a heading GitHub gives that anchor. A section moved to
// another file (docs/benchmarks.md → docs/benchmarks-record.md, session 34) or renamed breaks its links here first.
// The benchmarks are also cited in prose and comments by section (`docs/benchmarks-record.md "Session 17: …"`,
// `docs/benchmarks.md, session 26`): each such citation names a heading of the file it names.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f));
  const packages = ['packages', 'apps'].flatMap((top) =>
    readdirSync(join(ROOT, top))
      .map((d) => join(ROOT, top, d, 'README.md'))
      .filter((f) => existsSync(f)),
  );
  return [join(ROOT, 'README.md'), ...docs, ...packages];
}

/** the text outside fenced code blocks and code spans, where a `[x](y)` is a link */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchors of a markdown file's headings (github-slugger: lower case, punctuation dropped, `-n` repeats) */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').split('\n')) {
    const m = /^#{1,6} +(.*?)#* *$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .split('`')
      .map((part, i) => (i % 2 ? part : part.replace(/<[^>]*>/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')))
      .join('')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a (?:name|id)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

export function brokenLinks(file: string, read: (path: string) => string | undefined): string[] {
  const text = read(file)!;
  const broken: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  for (const m of prose(text).matchAll(/\]\(([^()\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [path, fragment] = target.split('#', 2) as [string, string | undefined];
    const to = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    const body = read(to);
    if (body === undefined) {
      broken.push(`${relative(ROOT, file)}: ${target} (no such file)`);
      continue;
    }
    if (fragment === undefined || !to.endsWith('.md')) continue;
    if (!anchorsOf.has(to)) anchorsOf.set(to, headingAnchors(body));
    if (!anchorsOf.get(to)!.has(fragment)) broken.push(`${relative(ROOT, file)}: ${target} (no such heading)`);
  }
  return broken;
}

/** the headings a citation like `benchmarks-record.md, session 26 "HTTP sign routes"` can mean: none is an error */
export function citedHeadings(headings: string[], after: string): string[] | undefined {
  const m = /^\)?[,;:]?\s*\(?(?:sessions? ((?:\d+(?: and |–|, ))*\d+)\b)?[,:]?\s*(?:"([^"]+)")?/i.exec(after)!;
  const [, sessions, title] = m;
  if (!sessions && !title) return undefined;
  const numbers = sessions ? sessions.split(/ and |–|, /) : [];
  const pieces = (title ?? '')
    .split('…')
    .map((p) => p.trim())
    .filter(Boolean);
  const hits = (n: string | undefined) =>
    headings.filter(
      (h) =>
        (n === undefined || new RegExp(`\\bsessions? (?:\\d+ and )?${n}\\b`, 'i').test(h)) &&
        pieces.every((p) => h.replace(/`/g, '').includes(p.replace(/`/g, ''))),
    );
  return numbers.length
    ? numbers.flatMap((n) => (hits(n).length ? hits(n) : [`missing session ${n}`]))
    : hits(undefined);
}

const readReal = (path: string): string | undefined => {
  if (!existsSync(path)) return undefined;
  return statSync(path).isDirectory() ? '' : readFileSync(path, 'utf8');
};

/** the repository's own text files that may cite the benchmarks (shipped migrations are never edited, so not them) */
function citingFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory())
      return ['node_modules', 'dist', 'migrations', 'coverage', 'data'].includes(e.name) || e.name.startsWith('.')
        ? []
        : citingFiles(path);
    const name = relative(ROOT, path);
    return /\.(ts|tsx|mjs|js|md|sh)$/.test(name) && !/^docs\/benchmarks|^tests\/docs-links/.test(name) ? [path] : [];
  });
}

describe('documentation links', () => {
  it('anchors are the ones GitHub makes', () => {
    const anchors = headingAnchors(
      '# Benchmarks\n## Issuance — `npm run bench`\n### Session 14: `PKIM_WORKERS` on 2 cores\n## Notes\n## Notes\n',
    );
    expect([...anchors]).toEqual([
      'benchmarks',
      'issuance--npm-run-bench',
      'session-14-pkim_workers-on-2-cores',
      'notes',
      'notes-1',
    ]);
  });

  it('a link to a missing file or heading is reported', () => {
    const files: Record<string, string> = {
      [join(ROOT, 'docs/a.md')]:
        '# A\n\nSee [b](b.md#there), [gone](gone.md), [here](#a), [nope](#nope), `[x](y.md)`.\n',
      [join(ROOT, 'docs/b.md')]: '# B\n\n## Somewhere else\n',
    };
    expect(brokenLinks(join(ROOT, 'docs/a.md'), (p) => files[p])).toEqual([
      'docs/a.md: b.md#there (no such heading)',
      'docs/a.md: gone.md (no such file)',
      'docs/a.md: #nope (no such heading)',
    ]);
  });

  it('a citation by session or title names a heading of the file', () => {
    const headings = [
      'Session 26: HTTP sign routes (h-http) — what',
      'Where issue #12 stands — idle, session 30 (main)',
    ];
    expect(citedHeadings(headings, ' session 26 "HTTP sign routes").')).toEqual([headings[0]]);
    expect(citedHeadings(headings, ', "Where issue #12 stands — … session 30").')).toEqual([headings[1]]);
    expect(citedHeadings(headings, ', sessions 26 and 27).')).toEqual([headings[0], 'missing session 27']);
    expect(citedHeadings(headings, ' "Session 17: dependencies")')).toEqual([]);
    expect(citedHeadings(headings, ', start-up time).')).toBeUndefined();
  });

  it('every citation of docs/benchmarks.md or docs/benchmarks-record.md names a section of that file', () => {
    const headings = new Map(
      ['benchmarks.md', 'benchmarks-record.md'].map((f) => [
        f,
        readFileSync(join(ROOT, 'docs', f), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('#'))
          .map((l) => l.replace(/^#+ /, '')),
      ]),
    );
    const wrong: string[] = [];
    let cited = 0;
    for (const file of citingFiles()) {
      const text = readFileSync(file, 'utf8').replace(/\n\s*(?:\*|\/\/|--|#)?\s*/g, ' ');
      for (const m of text.matchAll(/(?<![\w-])(benchmarks(?:-record)?\.md)(?!#)/g)) {
        const found = citedHeadings(headings.get(m[1]!)!, text.slice(m.index + m[0].length, m.index + 200));
        if (found === undefined) continue;
        cited++;
        if (found.length === 0 || found.some((h) => h.startsWith('missing ')))
          wrong.push(`${relative(ROOT, file)}: ${m[1]}${text.slice(m.index + m[0].length, m.index + 90)}`);
      }
    }
    expect(cited).toBeGreaterThan(50);
    expect(wrong).toEqual([]);
  });

  it('docs/README.md lists every page of docs/, and README.md links it', () => {
    const index = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
    const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pages.length).toBeGreaterThan(15);
    expect(pages.filter((p) => !index.includes(`](${p})`))).toEqual([]);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('](docs/README.md)');
  });

  it('every relative link of README.md, docs/*.md and the packages’ READMEs resolves', () => {
    const files = markdownFiles();
    expect(files.map((f) => relative(ROOT, f))).toContain('docs/benchmarks-record.md');
    expect(files.flatMap((f) => brokenLinks(f, readReal))).toEqual([]);
  });
});
