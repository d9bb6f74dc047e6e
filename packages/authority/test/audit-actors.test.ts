// `audit.actors()`: who acted in the audit log, by name — the users and API tokens with at least one event of theirs
// (what the console's Actor picker offers an auditor, who may not list users or tokens), never a secret; refused to a
// principal limited to some CAs, as the log itself is. On SQLite and PostgreSQL (the store's query probes the actor
// index once per user and per token).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { PkiError, fixedClock } from '@pkim/shared';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { ENGINES, type EngineHandle } from '../../../tests/support/engines';
import { tempDir } from '../../../tests/support/openssl-tools';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const cliAdmin: Actor = { id: 'cli:test', name: 'test', role: 'admin' };

describe.each(ENGINES)('audit actors on $name', (engine) => {
  let handle: EngineHandle;
  let tmp: ReturnType<typeof tempDir>;
  let authority: Authority;

  beforeAll(async () => {
    handle = await engine.start();
    const databaseUrl = await handle.fresh();
    tmp = tempDir();
    authority = await createAuthority({
      dataDir: tmp.dir,
      databaseUrl,
      logger: pino({ level: 'silent' }),
      clock: fixedClock(Date.UTC(2026, 0, 1)),
      auth: { scrypt: FAST_SCRYPT },
    });
  });

  afterAll(async () => {
    await authority?.close();
    await handle?.stop();
    tmp?.cleanup();
  });

  it('lists the users and API tokens that acted, by name and sorted, and none that did not', async () => {
    const password = 'a long enough password 1';
    const olivia = await authority.auth.createUser({ username: 'olivia', password, role: 'admin' }, cliAdmin);
    const quiet = await authority.auth.createUser({ username: 'quiet', password, role: 'auditor' }, cliAdmin);
    const asOlivia: Actor = { id: olivia.id, name: 'olivia', role: 'admin' };
    // olivia acts (two tokens made); the token deploy-bot acts (a user made); the token idle and quiet never do
    const bot = await authority.auth.createToken({ name: 'deploy-bot', role: 'admin' }, asOlivia);
    const idle = await authority.auth.createToken({ name: 'idle', role: 'auditor' }, asOlivia);
    await authority.auth.createUser({ username: 'ada', password, role: 'operator' }, { id: bot.id, role: 'admin' });
    // a token that shares a user's name is listed beside it (the `actor` filter takes the name: both)
    const namesake = await authority.auth.createToken({ name: 'olivia', role: 'auditor' }, cliAdmin);
    await authority.audit.record({ actor: namesake.id, action: 'test.acted', target: null });

    const { items: actors, nextCursor } = await authority.audit.actors({});
    expect(nextCursor).toBeNull();
    expect(actors).toEqual([
      { id: bot.id, kind: 'token', name: 'deploy-bot', createdAt: Date.UTC(2026, 0, 1) },
      { id: olivia.id, kind: 'user', name: 'olivia', createdAt: Date.UTC(2026, 0, 1) },
      { id: namesake.id, kind: 'token', name: 'olivia', createdAt: Date.UTC(2026, 0, 1) },
    ]);
    const ids = actors.map((a) => a.id);
    expect(ids).not.toContain(quiet.id);
    expect(ids).not.toContain(idle.id);
    // `cli:…`, `system` and the like have no name to offer; no secret of any kind (a token's secret, a hash)
    expect(ids).not.toContain('cli:test');
    expect(JSON.stringify(actors)).not.toContain(bot.token);
    expect(actors.every((a) => Object.keys(a).sort().join() === 'createdAt,id,kind,name')).toBe(true);
    // every name listed finds that actor's events through the `actor` filter
    for (const a of actors) {
      const events = await authority.audit.list({ actor: a.name, limit: 100 });
      expect(events.map((e) => e.actor)).toContain(a.id);
    }
  });

  it('is read by an auditor, refused to a principal limited to some CAs', async () => {
    const auditor: Actor = { id: 'usr_auditor', role: 'auditor' };
    expect((await authority.audit.actors({}, auditor)).items.length).toBeGreaterThan(0);
    const limited: Actor = { id: 'tok_limited', role: 'admin', resources: { cas: ['some-ca'] } };
    const refused = await authority.audit.actors({}, limited).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(PkiError);
    expect((refused as PkiError).code).toBe('auth.forbidden');
  });
});
