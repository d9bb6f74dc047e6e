// Finding 2 of issue #9: a token scoped to `token:manage` minted an unscoped admin token, and one scoped
// to `user:manage` created an admin user. No principal can grant what it does not hold: checked in the
// authority for tokens, users, role changes, enable/disable and password resets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@pkim/authority';
import { effectivePermissions, USER_ROLES } from '@pkim/authority';
import { PkiError } from '@pkim/shared';
import { ACTORS, openSecurityFixture, type SecurityFixture } from './security-support';

const SCOPES: (string[] | undefined)[] = [
  undefined,
  ['token:manage'],
  ['user:manage'],
  ['token:*'],
  ['*'],
  ['certificate:issue', 'token:manage'],
  ['ca:read'],
];
const PASSWORD = 'correct horse battery staple';

/** what a principal can do, as the permission layer reports it (account:self is everybody's) */
const powers = (a: Actor) => new Set(effectivePermissions(a).filter((p) => p !== 'account:self'));
const subset = (a: Set<string>, b: Set<string>) => [...a].every((p) => b.has(p));
const codeOf = (e: unknown) => (e instanceof PkiError ? e.code : `not a PkiError: ${String(e)}`);

describe('finding 2: no principal can grant what it does not hold', () => {
  let s: SecurityFixture;
  /** real token actors, one per role × scope set, as the authority authenticates them */
  const actors: { label: string; actor: Actor }[] = [];

  beforeAll(async () => {
    s = await openSecurityFixture();
    for (const role of USER_ROLES) {
      for (const scopes of SCOPES) {
        const { token } = await s.authority.auth.createToken({ name: `m-${role}`, role, scopes }, ACTORS.admin);
        const actor = (await s.authority.auth.authenticateToken(token))!;
        actors.push({ label: `${role} token [${scopes?.join(' ') ?? 'unscoped'}]`, actor });
      }
      actors.push({ label: `${role} user`, actor: ACTORS[role] });
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  it('reproduces the reported exploits over HTTP: both are refused with 403', async () => {
    const { token: tm } = await s.authority.auth.createToken(
      { name: 'tm', role: 'admin', scopes: ['token:manage'] },
      ACTORS.admin,
    );
    const r = await s.http('POST', '/trpc/token.create', { token: tm, body: { name: 'escalated', role: 'admin' } });
    expect(r.status).toBe(403);
    // what it holds it may still pass on
    const ok = await s.http('POST', '/trpc/token.create', {
      token: tm,
      body: { name: 'peer', role: 'admin', scopes: ['token:manage'] },
    });
    expect(ok.status).toBe(200);

    const { token: um } = await s.authority.auth.createToken(
      { name: 'um', role: 'admin', scopes: ['user:manage'] },
      ACTORS.admin,
    );
    const u = await s.http('POST', '/trpc/user.create', {
      token: um,
      body: { username: 'mallory', password: PASSWORD, role: 'admin' },
    });
    expect(u.status).toBe(403);
    expect((await s.authority.auth.listUsers()).some((x) => x.username === 'mallory')).toBe(false);
  });

  it('tokens: every actor × target role × scopes — created only if granting no more than its creator has', async () => {
    let allowed = 0;
    let refused = 0;
    for (const { label, actor } of actors) {
      for (const role of USER_ROLES) {
        for (const scopes of SCOPES) {
          const before = (await s.authority.auth.listTokens()).length;
          const r = await s.authority.auth
            .createToken({ name: 'x', role, scopes }, actor)
            .then((t) => t)
            .catch((e: unknown) => e);
          const wanted = powers({ id: 'w', role, scopes });
          const may = powers(actor).has('token:manage') && subset(wanted, powers(actor));
          const what = `${label} → ${role} token [${scopes?.join(' ') ?? 'unscoped'}]`;
          if (may) {
            expect(r, what).toHaveProperty('token');
            const created = (await s.authority.auth.authenticateToken((r as { token: string }).token))!;
            expect(subset(powers(created), powers(actor)), what).toBe(true);
            allowed++;
          } else {
            expect(codeOf(r), what).toBe('auth.forbidden');
            expect((await s.authority.auth.listTokens()).length, `${what}: nothing written`).toBe(before);
            refused++;
          }
        }
      }
    }
    // positive controls: the matrix has both outcomes
    expect(allowed).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(100);
  });

  it('users, role changes, enable/disable and password resets: every actor × target role', async () => {
    // one victim per role, created by the CLI-equivalent admin
    const victims: Record<string, string> = {};
    for (const role of USER_ROLES) {
      victims[role] = (
        await s.authority.auth.createUser({ username: `victim-${role}`, password: PASSWORD, role }, ACTORS.admin)
      ).id;
    }
    let n = 0;
    let allowedCount = 0;
    for (const { label, actor } of actors) {
      const mayManage = powers(actor).has('user:manage');
      for (const role of USER_ROLES) {
        const covers = mayManage && subset(powers({ id: 'w', role }), powers(actor));
        const what = `${label} → ${role}`;
        // create
        const created = await s.authority.auth
          .createUser({ username: `u${n++}`, password: PASSWORD, role }, actor)
          .catch((e: unknown) => e);
        if (covers) {
          expect(created, `${what}: create`).toHaveProperty('id');
          allowedCount++;
        } else expect(codeOf(created), `${what}: create`).toBe('auth.forbidden');

        // reset another user's password
        const reset = await s.authority.auth
          .changePassword(victims[role]!, '', `${PASSWORD} ${n}`, actor)
          .then(() => 'ok')
          .catch((e: unknown) => e);
        if (covers) expect(reset, `${what}: reset`).toBe('ok');
        else expect(codeOf(reset), `${what}: reset`).toBe('auth.forbidden');

        // disable (then re-enable) a user of that role
        const dis = await s.authority.auth
          .setUserDisabled(victims[role]!, true, actor)
          .then(() => 'ok')
          .catch((e: unknown) => e);
        if (covers) {
          expect(dis, `${what}: disable`).toBe('ok');
          await s.authority.auth.setUserDisabled(victims[role]!, false, ACTORS.admin);
        } else expect(codeOf(dis), `${what}: disable`).toBe('auth.forbidden');

        // role change: promote a requester to `role`, and change a `role` user to requester
        for (const [target, to] of [
          [victims.requester!, role],
          [victims[role]!, 'requester'],
        ] as const) {
          const from = (await s.authority.auth.listUsers()).find((u) => u.id === target)!.role;
          const ch = await s.authority.auth
            .setUserRole(target, to, actor)
            .then(() => 'ok')
            .catch((e: unknown) => e);
          const mayChange =
            mayManage &&
            subset(powers({ id: 'w', role: from }), powers(actor)) &&
            subset(powers({ id: 'w', role: to }), powers(actor));
          if (mayChange) {
            expect(ch, `${what}: ${from} → ${to}`).toBe('ok');
            await s.authority.auth.setUserRole(target, from, ACTORS.admin);
          } else {
            expect(codeOf(ch), `${what}: ${from} → ${to}`).toBe('auth.forbidden');
            expect((await s.authority.auth.listUsers()).find((u) => u.id === target)!.role).toBe(from);
          }
        }
      }
    }
    expect(allowedCount).toBeGreaterThan(0);
  });
});
