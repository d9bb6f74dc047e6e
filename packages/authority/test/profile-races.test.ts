// Two writes of one API profile at once (profile-service.ts), by two authorities on one database — one SQLite file
// (a server and a CLI on one data dir) and one PostgreSQL database (two instances): the store's guarded settings
// writes (insertSettings / updateSettings / removeSettings) let exactly one create of a name win; the other gets
// `profile.exists` and nothing of it is written or audited. An update racing a delete never brings the profile back.
// Each race is run twice: started together (Promise.all, whichever reads first), and held so that the loser has read
// the catalog before the winner commits (its own check saw no clash: only the store's guard can refuse it).
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Authority } from '@pkim/authority';
import { PkiError } from '@pkim/shared';
import { internalsOf } from '@pkim/authority/internals';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { TEST_ADMIN } from '../../../tests/support/test-kit';
import { withDataDir, withReopenedAuthority } from './fixtures/authority-suite';

const LAB = {
  name: 'lab-race',
  isCa: false,
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['clientAuth'],
  allowedSanTypes: ['dns'],
  sanRequired: false,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetime: '5d',
  maxLifetime: '30d',
};
const KEY = `profile.${LAB.name}`;

/** the profile's stored row and the profile events of the audit log, read through `a`'s store */
async function state(a: Authority) {
  const { store } = internalsOf(a);
  const row = await store.settings.get(KEY);
  const events = (await a.audit.list({ limit: 500 }))
    .filter((e) => e.action.startsWith('profile.'))
    .sort((x, y) => x.seq - y.seq);
  return { profile: row === undefined ? undefined : (JSON.parse(row) as { description?: string }), events };
}

/**
 * runs `first` on its authority; when it is about to commit (it has read the catalog and found what it expects),
 * runs `second` to its end, then lets `first` commit: both results, settled
 */
async function held(first: Authority, run1: () => Promise<unknown>, run2: () => Promise<unknown>) {
  const store = internalsOf(first).store;
  const commit = store.commit.bind(store);
  let second: Promise<unknown> | undefined;
  const spy = vi.spyOn(store, 'commit').mockImplementation(async (unit) => {
    spy.mockRestore();
    second = run2();
    await second.catch(() => undefined);
    return commit(unit);
  });
  const a = await Promise.allSettled([run1()]);
  expect(second, 'the first write reached its commit').toBeDefined();
  const [b] = await Promise.allSettled([second!]);
  return [a[0], b] as const;
}

function refused(r: PromiseSettledResult<unknown> | undefined, code: string) {
  expect(r?.status).toBe('rejected');
  const e = (r as PromiseRejectedResult).reason as unknown;
  expect(e).toBeInstanceOf(PkiError);
  expect((e as PkiError).code, (e as Error).message).toBe(code);
}

const described = (d: string) => ({ ...LAB, description: d });

async function races(a: Authority, b: Authority) {
  // started together: exactly one create wins, whichever it is
  const together = await Promise.allSettled([
    a.profileCatalog.create(described('by a'), TEST_ADMIN),
    b.profileCatalog.create(described('by b'), TEST_ADMIN),
  ]);
  const won = together.filter((r) => r.status === 'fulfilled');
  expect(won).toHaveLength(1);
  const lost = together.find((r) => r.status === 'rejected')!;
  refused(lost, 'profile.exists');
  let s = await state(b);
  const winner = (won[0] as PromiseFulfilledResult<{ profile: { description?: string } }>).value.profile.description;
  expect(s.profile?.description).toBe(winner);
  expect(s.events.map((e) => e.action)).toEqual(['profile.created']);
  expect(s.events[0]!.details).toMatchObject({ profile: { description: winner } });

  await a.profileCatalog.delete(LAB.name, TEST_ADMIN);
  expect((await state(a)).profile).toBeUndefined();

  // held: a has read the catalog (no 'lab-race') when b creates it; a's create is refused by the store, not written
  const [late, early] = await held(
    a,
    () => a.profileCatalog.create(described('late'), TEST_ADMIN),
    () => b.profileCatalog.create(described('early'), TEST_ADMIN),
  );
  expect(early.status).toBe('fulfilled');
  refused(late, 'profile.exists');
  s = await state(a);
  expect(s.profile?.description).toBe('early');
  const created = s.events.filter((e) => e.action === 'profile.created');
  expect(created.map((e) => (e.details.profile as { description: string }).description).sort()).toEqual(
    ['early', winner].sort(),
  );

  // held: b has read the profile for its update when a deletes it; b's update is refused, the profile stays gone
  const before = s.events.length;
  const [upd, del] = await held(
    b,
    () => b.profileCatalog.update(LAB.name, described('updated'), TEST_ADMIN),
    () => a.profileCatalog.delete(LAB.name, TEST_ADMIN),
  );
  expect(del.status).toBe('fulfilled');
  refused(upd, 'profile.not_found');
  s = await state(a);
  expect(s.profile).toBeUndefined();
  expect(s.events.slice(before).map((e) => e.action)).toEqual(['profile.deleted']);

  // held: two deletes of one profile: one is done, the other refused and not audited
  await a.profileCatalog.create(described('again'), TEST_ADMIN);
  const made = (await state(a)).events.length;
  const [d1, d2] = await held(
    a,
    () => a.profileCatalog.delete(LAB.name, TEST_ADMIN),
    () => b.profileCatalog.delete(LAB.name, TEST_ADMIN),
  );
  expect(d2.status).toBe('fulfilled');
  refused(d1, 'profile.not_found');
  s = await state(a);
  expect(s.profile).toBeUndefined();
  expect(s.events.length - made).toBe(1);

  // started together: an update and a delete; whatever the order, the profile is gone and each success audited once
  await a.profileCatalog.create(described('once more'), TEST_ADMIN);
  const n = (await state(a)).events.length;
  const both = await Promise.allSettled([
    a.profileCatalog.update(LAB.name, described('changed'), TEST_ADMIN),
    b.profileCatalog.delete(LAB.name, TEST_ADMIN),
  ]);
  expect(both[1].status).toBe('fulfilled');
  s = await state(a);
  expect(s.profile).toBeUndefined();
  expect(s.events.length - n).toBe(both.filter((r) => r.status === 'fulfilled').length);
}

afterEach(() => vi.restoreAllMocks());

describe('one profile name written by two authorities at once', () => {
  it('on one SQLite file', async () => {
    await withDataDir(async (dataDir) => {
      await withReopenedAuthority(dataDir, {}, async (a) => {
        await withReopenedAuthority(dataDir, {}, async (b) => races(a, b));
      });
    });
  }, 120_000);

  const hosts = postgresInstances();
  it('on one PostgreSQL database', async () => {
    const [a, b] = await hosts.two();
    await races(a, b);
  }, 120_000);
});
