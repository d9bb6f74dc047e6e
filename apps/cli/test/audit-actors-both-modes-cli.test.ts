// `pkim audit actors` in both modes on their own data: it lists the users and API tokens that acted, by name — the
// same page shape (`{ items, nextCursor }`, each item `{ id, kind, name, createdAt }`) in both. Local mode acts as
// `cli:<OS user>`, an id with no user or token behind it: nothing to list by name (the server's list on that database
// would not have it either), so the local table says which id is this CLI's and how to list its events; remote mode
// acts as its API token, listed by name. (Why no `audit actors` row in both-modes-errors-cli's READS: those compare
// the items' keys, and local mode's list is empty there.)
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inBothModes, type PkimServer } from '../../../tests/support/remote-server';
import { tempDir } from '../../../tests/support/openssl-tools';

const tmp = tempDir('pkim-audit-actors-modes-');
const XDG = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };
const self = `cli:${userInfo().username}`;
interface Answers {
  json: { items: { id: string; kind: string; name: string; createdAt: string }[]; nextCursor: string | null };
  text: string;
  own: { items: { actor: string }[] };
}
const answers: Partial<Record<'local' | 'remote', Answers>> = {};
let server: PkimServer | undefined;

beforeAll(async () => {
  ({ server } = await inBothModes(tmp.dir, XDG, async (pkim, out) => {
    const mode = out.endsWith('remote-out') ? 'remote' : 'local';
    const ok = async (...args: string[]) => {
      const r = await pkim(...args);
      if (r.code !== 0) throw new Error(`pkim ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await ok(...'token create --name reader --role auditor'.split(' '));
    answers[mode] = {
      json: JSON.parse(await ok('audit', 'actors', '--json')) as Answers['json'],
      text: await ok('audit', 'actors'),
      own: JSON.parse(await ok('audit', 'list', '--actor', self, '--json')) as Answers['own'],
    };
    return {};
  }));
}, 300_000);
afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('pkim audit actors, local and --server', () => {
  it('the same page shape; local mode lists no cli: actor and says which id is its own', () => {
    const { local, remote } = answers as Required<typeof answers>;
    expect(Object.keys(local.json).sort()).toEqual(['items', 'nextCursor']);
    expect(Object.keys(remote.json).sort()).toEqual(['items', 'nextCursor']);
    // remote: the CLI's token (it created `reader`), by name
    expect(remote.json.items.map((a) => [a.name, a.kind])).toEqual([['remote-flow', 'token']]);
    expect(Object.keys(remote.json.items[0]!).sort()).toEqual(['createdAt', 'id', 'kind', 'name']);
    expect(remote.text).toMatch(/^NAME\s+KIND\s+ID\s+CREATED\n/);
    expect(remote.text).not.toContain('cli:');
    // local: this CLI's events are by cli:<OS user> (no name to list); the table says so and how to find them
    expect(local.json).toEqual({ items: [], nextCursor: null });
    expect(local.text).toContain(
      `(this CLI's own events, local mode, are by ${self}: an id with no name — pkim audit list --actor ${self})`,
    );
    expect(local.own.items.length).toBeGreaterThan(0);
    expect(new Set(local.own.items.map((e) => e.actor))).toEqual(new Set([self]));
  });
});
