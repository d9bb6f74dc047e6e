// docs/profiles.md stays true to the code: its complete PKIM_PROFILES_FILE example loads through the loader the
// server and the CLI use (loadCustomProfiles), its field table names exactly the fields the profile schema accepts
// (plus the file's two duration spellings), its built-in table names every built-in profile, and its error example
// is the message the loader gives for that broken entry.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PROFILES, profileSchema } from '@pkim/core';
import { loadCustomProfiles } from '../src/profile-loader';

const DOC = readFileSync(join(import.meta.dirname, '../../../docs/profiles.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'pkim-profiles-doc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** the text of a section, from its heading to the next heading of the same or a higher level */
function section(heading: string): string {
  const start = DOC.indexOf(`${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)![0];
  const rest = DOC.slice(start + heading.length);
  const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return end < 0 ? rest : rest.slice(0, end);
}

/** the first cell of each body row of the first table in `text` */
function firstCells(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .slice(1)
    .map((l) => l.split('|')[1]!.trim());
}

/** the profiles file at `path` as the server reads it */
const load = (path: string) => loadCustomProfiles(dir, { PKIM_PROFILES_FILE: path });

describe('docs/profiles.md', () => {
  it('the complete example loads as a PKIM_PROFILES_FILE: four profiles, durations in ms', async () => {
    const example = /A complete example[^\n]*\n\n```json\n([\s\S]*?)\n```/.exec(DOC)?.[1];
    expect(example).toBeDefined();
    const path = join(dir, 'profiles.json');
    writeFileSync(path, example!);
    const { profiles } = await load(path);
    expect(profiles.map((p) => p.name)).toEqual([
      'tls-server-internal',
      'workload-mtls',
      'ocsp-responder',
      'intermediate-ca',
    ]);
    const [tls, mtls, ocsp] = profiles;
    expect(tls).toMatchObject({ defaultLifetimeMs: 30 * 86_400_000, maxLifetimeMs: 90 * 86_400_000 });
    expect(tls!.allowKeyReuse).toBe(true);
    expect(mtls).toMatchObject({ allowedUriSchemes: ['spiffe'], maxUriSans: 1, requiredSanTypes: ['uri'] });
    expect(ocsp).toMatchObject({ defaultLifetimeMs: 7 * 86_400_000, extensions: ['ocspNoCheck'] });
  });

  it('the field table names every field the schema accepts, and no other', async () => {
    const names = firstCells(section('## Fields'))
      .flatMap((cell) => cell.split(','))
      .map((n) => n.trim().replace(/`/g, ''));
    const schemaFields = Object.keys((await profileSchema()).shape);
    expect(names.sort()).toEqual([...schemaFields, 'defaultLifetime', 'maxLifetime'].sort());
  });

  it('the built-in table names every built-in profile', () => {
    const names = firstCells(section('## Built-in profiles')).map((c) => c.replace(/`/g, ''));
    expect(names.sort()).toEqual(Object.keys(BUILT_IN_PROFILES).sort());
  });

  it("the error example is the loader's message for that entry", async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(
      path,
      JSON.stringify([
        {
          name: 'Bad Name',
          isCa: false,
          keyUsage: [],
          extKeyUsage: ['serverAuth'],
          allowedSanTypes: ['dns'],
          sanRequired: true,
          allowedKeyTypes: ['ec-p256'],
          defaultLifetime: '90d',
          maxLifetime: '30d',
        },
      ]),
    );
    const shown = /```\nerror: (profile\.invalid: [\s\S]*?)\n```/.exec(DOC)?.[1];
    expect(shown).toBeDefined();
    // the doc wraps the one line: its line breaks are spaces
    const message = shown!.replace(/\n/g, ' ').replace('/etc/pkim/profiles.json', path);
    await expect(load(path)).rejects.toMatchObject({ code: 'profile.invalid', message: message.slice(17) });
    expect(message.slice(0, 17)).toBe('profile.invalid: ');
  });
});
