// Who acted in the audit log over REST (`GET /api/v1/audit/actors?q=&limit=&cursor=`, tRPC `audit.actors`): the
// users and API tokens with an event, by name in code point order, a user before a token of its name; page after
// page by `cursor` (the previous `nextCursor`) to the same list as one page; `q` the names that begin with it, letter
// case aside beyond A–Z too; an auditor reads it, a requester (no audit:read) is refused; every bad query string is a
// 400 with its code and message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';

const PASSWORD = 'correct horse battery staple 1';

describe('GET /api/v1/audit/actors', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  const tokens = {} as Record<'auditor' | 'requester', string>;
  /** what the whole list is: [name, kind] by name */
  let all: [string, string][] = [];

  const get = async (query: string, token = tokens.auditor) => {
    const r = await fetch(`${base}/api/v1/audit/actors${query}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, json: (await r.json()) as Record<string, any> };
  };
  const names = (json: Record<string, any>) =>
    (json.items as { name: string; kind: string }[]).map((a) => [a.name, a.kind]);

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const a = fx.authority;
    const user = async (username: string) =>
      (await a.auth.createUser({ username, password: PASSWORD, role: 'operator' }, ACTORS.admin)).id;
    const acted = [await user('Zed'), await user('edgar'), await user('ada')];
    await user('quiet');
    // (user names are ASCII; a token's name may be any text)
    for (const name of ['Édith', 'zoë'])
      acted.push((await a.auth.createToken({ name, role: 'auditor' }, ACTORS.admin)).id);
    const auditor = await a.auth.createToken({ name: 'rest-auditor', role: 'auditor' }, ACTORS.admin);
    const requester = await a.auth.createToken({ name: 'rest-requester', role: 'requester' }, ACTORS.admin);
    const bot = await a.auth.createToken({ name: 'edgar', role: 'operator' }, ACTORS.admin);
    tokens.auditor = auditor.token;
    tokens.requester = requester.token;
    for (const actor of [...acted, bot.id]) await a.audit.record({ actor, action: 'test.acted', target: null });
    all = [
      ['Zed', 'user'],
      ['ada', 'user'],
      ['edgar', 'user'],
      ['edgar', 'token'],
      ['zoë', 'token'],
      ['Édith', 'token'],
    ];
    app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
    base = await listen(app);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('lists who acted by name, page after page by cursor, and by prefix', async () => {
    const whole = await get('');
    expect(whole.status).toBe(200);
    expect(names(whole.json)).toEqual(all);
    expect(whole.json.nextCursor).toBeNull();
    expect(Object.keys(whole.json.items[0]).sort()).toEqual(['createdAt', 'id', 'kind', 'name']);
    expect(whole.json.items[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    for (const limit of [1, 2, 3]) {
      const seen: unknown[] = [];
      let cursor: string | null = null;
      do {
        const page = await get(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(page.status).toBe(200);
        if (page.json.nextCursor) expect(page.json.items).toHaveLength(limit);
        seen.push(...names(page.json));
        cursor = page.json.nextCursor as string | null;
        expect(seen.length).toBeLessThanOrEqual(all.length);
      } while (cursor);
      expect(seen, `limit ${limit}`).toEqual(all);
    }
    expect(names((await get('?q=ED')).json)).toEqual([
      ['edgar', 'user'],
      ['edgar', 'token'],
    ]);
    expect(names((await get(`?q=${encodeURIComponent('é')}`)).json)).toEqual([['Édith', 'token']]);
    expect(names((await get(`?q=${encodeURIComponent('ZOË')}`)).json)).toEqual([['zoë', 'token']]);
    expect(names((await get('?q=z')).json)).toEqual([
      ['Zed', 'user'],
      ['zoë', 'token'],
    ]);
    expect(names((await get('?q=quiet')).json)).toEqual([]);
  });

  it('refuses a bad limit or cursor with 400 and a code, and a caller without audit:read with 403', async () => {
    for (const query of ['?limit=0', '?limit=1001', '?limit=abc', '?limit=1.5', '?cursor=not-a-cursor']) {
      const r = await get(query);
      expect(r.status, query).toBe(400);
      expect(r.json.code, query).toBe('input.invalid');
      expect(r.json.message, query).toEqual(expect.any(String));
    }
    expect((await get(`?q=${'x'.repeat(129)}`)).status).toBe(400);
    const refused = await get('', tokens.requester);
    expect(refused.status).toBe(403);
    expect(refused.json.code).toEqual(expect.any(String));
  });
});
