// Finding 2 of issue #9: a token scoped to `token:manage` minted an unscoped admin token, and one scoped
// to `user:manage` created an admin user. No principal can grant what it does not hold: checked in the
// authority for tokens, users, role changes, enable/disable and password resets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@pkim/authority';
import {
  effectivePermissions,
  scopesNotGrantedBy,
  USER_ROLES,
  withinLimits,
  type ResourceLimits,
} from '@pkim/authority';
import { PkiError } from '@pkim/shared';
import { ACTORS, openSecurityFixture, type HttpAnswer, type SecurityFixture } from './security-support';
import { opensslCsr } from '../support/openssl-tools';
import { createIssuingCa } from '../support/ca-kit';

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
const DAY = 86_400_000;

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
      for (const [i, scopes] of SCOPES.entries()) {
        // a scope the role never grants is refused at creation (token.scope_not_grantable): no such principal
        if (scopesNotGrantedBy(role, scopes ?? []).length) continue;
        const { token } = await s.authority.auth.createToken({ name: `m-${role}-${i}`, role, scopes }, ACTORS.admin);
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
            .createToken({ name: `x-${allowed + refused}`, role, scopes }, actor)
            .then((t) => t)
            .catch((e: unknown) => e);
          const wanted = powers({ id: 'w', role, scopes });
          const may = powers(actor).has('token:manage') && subset(wanted, powers(actor));
          const what = `${label} → ${role} token [${scopes?.join(' ') ?? 'unscoped'}]`;
          if (scopesNotGrantedBy(role, scopes ?? []).length) {
            expect(codeOf(r), what).toMatch(/^(token\.scope_not_grantable|auth\.forbidden)$/);
            expect((await s.authority.auth.listTokens()).length, `${what}: nothing written`).toBe(before);
            refused++;
          } else if (may) {
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

  it('resource limits: a limited creator gives and touches nothing wider than its own (tokens, users)', async () => {
    const own: ResourceLimits = {
      cas: ['ca-a'],
      profiles: ['tls-server'],
      names: ['*.a.example'],
      maxLifetimeMs: DAY,
      spiffe: ['node/worker-*'],
    };
    // limited admin principals: a token and a user, each holding token:manage and user:manage
    const { token } = await s.authority.auth.createToken({ name: 'lim', role: 'admin', resources: own }, ACTORS.admin);
    const tokenActor = (await s.authority.auth.authenticateToken(token))!;
    const limitedUser = await s.authority.auth.createUser(
      { username: 'limited-admin', password: PASSWORD, role: 'admin' },
      ACTORS.admin,
    );
    await s.authority.auth.setUserResources(limitedUser.id, own, ACTORS.admin);
    const userActor = (await s.authority.auth.login('limited-admin', PASSWORD, { ip: '192.0.2.200' })).actor;
    expect(userActor.resources).toEqual(own);

    const targets: { label: string; resources: ResourceLimits | null; within: boolean }[] = [
      { label: 'none given (inherits)', resources: null, within: true },
      { label: 'the same', resources: own, within: true },
      { label: 'narrower', resources: { ...own, names: [], maxLifetimeMs: DAY / 2 }, within: true },
      { label: 'another CA', resources: { ...own, cas: ['ca-a', 'ca-b'] }, within: false },
      { label: 'another profile', resources: { ...own, profiles: ['tls-server', 'code-signing'] }, within: false },
      { label: 'a wider name pattern', resources: { ...own, names: ['*.example'] }, within: false },
      { label: 'a longer lifetime', resources: { ...own, maxLifetimeMs: 2 * DAY }, within: false },
      { label: 'wider SPIFFE IDs', resources: { ...own, spiffe: ['node/*'] }, within: false },
    ];
    let n = 0;
    for (const [label, actor] of [
      ['limited token', tokenActor],
      ['limited user', userActor],
    ] as const) {
      for (const t of targets) {
        const what = `${label} → token with ${t.label}`;
        const before = (await s.authority.auth.listTokens()).length;
        const r = await s.authority.auth
          .createToken({ name: `r${n++}`, role: 'operator', resources: t.resources ?? undefined }, actor)
          .catch((e: unknown) => e);
        if (t.within) {
          const created = (await s.authority.auth.authenticateToken((r as { token: string }).token))!;
          expect(created.resources, what).toBeDefined();
          expect(withinLimits(created.resources!, own), what).toBe(true);
        } else {
          expect(codeOf(r), what).toBe('auth.forbidden');
          expect((await s.authority.auth.listTokens()).length, `${what}: nothing written`).toBe(before);
        }
      }
      // a user it creates inherits its limits
      const u = await s.authority.auth.createUser(
        { username: `inh${n++}`, password: PASSWORD, role: 'operator' },
        actor,
      );
      expect((await s.authority.auth.listUsers()).find((x) => x.id === u.id)!.resources).toEqual(own);
      // it cannot lift or widen a user's limits, nor touch a user less limited than itself
      for (const t of targets.filter((x) => !x.within || x.resources === null)) {
        const r = await s.authority.auth.setUserResources(u.id, t.resources, actor).catch((e: unknown) => e);
        expect(codeOf(r), `${label} → set limits to ${t.label}`).toBe('auth.forbidden');
      }
      expect((await s.authority.auth.listUsers()).find((x) => x.id === u.id)!.resources).toEqual(own);
      const unlimited = await s.authority.auth.createUser(
        { username: `free${n++}`, password: PASSWORD, role: 'operator' },
        ACTORS.admin,
      );
      for (const [op, run] of [
        ['reset the password of', () => s.authority.auth.changePassword(unlimited.id, '', `${PASSWORD}!`, actor)],
        ['disable', () => s.authority.auth.setUserDisabled(unlimited.id, true, actor)],
        ['change the role of', () => s.authority.auth.setUserRole(unlimited.id, 'auditor', actor)],
        ['limit', () => s.authority.auth.setUserResources(unlimited.id, own, actor)],
      ] as const) {
        expect(codeOf(await run().catch((e: unknown) => e)), `${label}: ${op} an unlimited user`).toBe(
          'auth.forbidden',
        );
      }
      const after = (await s.authority.auth.listUsers()).find((x) => x.id === unlimited.id)!;
      expect({ role: after.role, disabled: after.disabled, resources: after.resources }).toEqual({
        role: 'operator',
        disabled: false,
        resources: undefined,
      });
      // a user within its limits it may manage
      await s.authority.auth.setUserDisabled(u.id, true, actor);
      await s.authority.auth.setUserResources(u.id, { ...own, names: [] }, actor);
    }
  });
});

describe('a principal limited to some CAs reads only their objects (lists, searches, single objects)', () => {
  let s: SecurityFixture;
  let other: string;
  const own = { x: '', y: '' };
  const req = { x: '', y: '' };
  let limitedToken = '';
  let limitedUser: Actor;
  let wideToken = '';

  beforeAll(async () => {
    s = await openSecurityFixture();
    other = (
      await createIssuingCa(s.authority, s.root, 'sec-other', {
        subject: { commonName: 'Other Issuing CA' },
        actor: ACTORS.admin,
      })
    ).id;
    const issue = async (caId: string, cn: string) =>
      (
        await s.authority.issuance.issueWithKey(
          { caId, profile: 'tls-server', subject: { commonName: cn }, sans: { dns: [cn] }, keyType: 'ec-p256' },
          ACTORS.admin,
        )
      ).certificate.id;
    own.x = await issue(s.intId, 'mine.scoped.example');
    own.y = await issue(other, 'theirs.scoped.example');
    const submit = async (caId: string, cn: string) =>
      (
        await s.authority.requests.submit(
          {
            caId,
            csrPem: opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] }).csrPem,
            profile: 'tls-server',
          },
          ACTORS.operator,
        )
      ).id;
    req.x = await submit(s.intId, 'req-mine.scoped.example');
    req.y = await submit(other, 'req-theirs.scoped.example');
    // limited by name (the CA limits may name a CA by id or by name)
    const limits = { cas: ['sec-issuing'] };
    limitedToken = (
      await s.authority.auth.createToken({ name: 'ca-limited', role: 'operator', resources: limits }, ACTORS.admin)
    ).token;
    const u = await s.authority.auth.createUser(
      { username: 'ca-limited-user', password: PASSWORD, role: 'auditor' },
      ACTORS.admin,
    );
    await s.authority.auth.setUserResources(u.id, limits, ACTORS.admin);
    limitedUser = (await s.authority.auth.login('ca-limited-user', PASSWORD, { ip: '192.0.2.201' })).actor;
    wideToken = (await s.authority.auth.createToken({ name: 'wide', role: 'auditor' }, ACTORS.admin)).token;
  });
  afterAll(async () => {
    await s?.close();
  });

  const trpc = async (token: string, path: string, input?: unknown) => {
    const q = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return s.http('GET', `/trpc/${path}${q}`, { token });
  };
  const ids = (r: HttpAnswer) =>
    r.json<{ result: { data: { items: { id: string }[] } } }>().result.data.items.map((i) => i.id);

  it('tRPC and REST: certificates, requests, search, domains, dashboard and audit over HTTP', async () => {
    // positive control: a principal without CA limits sees both CAs' objects
    expect(ids(await trpc(wideToken, 'certificate.list'))).toEqual(expect.arrayContaining([own.x, own.y]));
    expect(ids(await trpc(wideToken, 'request.list'))).toEqual(expect.arrayContaining([req.x, req.y]));
    expect((await trpc(wideToken, 'audit.list')).status).toBe(200);

    const t = limitedToken;
    const certs = ids(await trpc(t, 'certificate.list'));
    expect(certs).toContain(own.x);
    expect(certs).not.toContain(own.y);
    expect(ids(await trpc(t, 'certificate.list', { ca: other }))).toEqual([]);
    const expiring = ids(await trpc(t, 'certificate.expiring', { withinDays: 3650 }));
    expect(expiring).toContain(own.x);
    expect(expiring).not.toContain(own.y);
    const reqs = ids(await trpc(t, 'request.list'));
    expect(reqs).toContain(req.x);
    expect(reqs).not.toContain(req.y);

    // single objects of the other CA are answered as if they did not exist
    const y = (await s.authority.certificates.find(own.y)).serialHex;
    for (const ref of [own.y, y]) {
      const r = await trpc(t, 'certificate.get', { ref });
      expect([r.status, r.json<{ error: { data: { pkiCode: string } } }>().error.data.pkiCode]).toEqual([
        404,
        'certificate.not_found',
      ]);
      const rest = await s.http('GET', `/api/v1/certificates/${ref}`, { token: t });
      expect([rest.status, rest.json<{ code: string }>().code]).toEqual([404, 'certificate.not_found']);
    }
    expect((await trpc(t, 'certificate.get', { ref: own.x })).status).toBe(200);
    expect((await s.http('GET', `/api/v1/certificates/${own.x}`, { token: t })).status).toBe(200);
    const otherReq = await trpc(t, 'request.get', { id: req.y });
    expect([otherReq.status, otherReq.json<{ error: { data: { pkiCode: string } } }>().error.data.pkiCode]).toEqual([
      404,
      'request.not_found',
    ]);

    // console read models
    const found = (await trpc(t, 'insights.search', { q: 'scoped.example' })).json<{
      result: { data: { certificates: { id: string }[] } };
    }>().result.data.certificates;
    expect(found.map((c) => c.id)).toEqual([own.x]);
    const bySerial = (await trpc(t, 'insights.search', { q: y })).json<{
      result: { data: { certificates: unknown[] } };
    }>().result.data.certificates;
    expect(bySerial).toEqual([]);
    const names = (await trpc(t, 'insights.domains', { search: 'scoped.example' })).json<{
      result: { data: { items: { name: string }[] } };
    }>().result.data.items;
    expect(names.map((n) => n.name)).toEqual(['mine.scoped.example']);
    const wideNames = (await trpc(wideToken, 'insights.domains', { search: 'scoped.example' })).json<{
      result: { data: { items: { name: string }[] } };
    }>().result.data.items;
    expect(wideNames.map((n) => n.name)).toEqual(['mine.scoped.example', 'theirs.scoped.example']);
    const dash = (await trpc(t, 'insights.dashboard')).json<{
      result: { data: { expiringSoon: { caId: string }[]; recentAudit: unknown[] } };
    }>().result.data;
    expect(dash.expiringSoon.every((c) => c.caId === s.intId)).toBe(true);
    expect(dash.recentAudit).toEqual([]);

    // the audit log spans every CA: refused
    const audit = await trpc(t, 'audit.list');
    expect([audit.status, audit.json<{ error: { data: { pkiCode: string } } }>().error.data.pkiCode]).toEqual([
      403,
      'auth.forbidden',
    ]);
  });

  it('the authority filters for a CA-limited user too, whichever transport asks', async () => {
    const a = s.authority;
    expect((await a.certificates.list({}, limitedUser)).items.map((c) => c.id)).not.toContain(own.y);
    expect((await a.certificates.list({}, limitedUser)).items.map((c) => c.id)).toContain(own.x);
    expect(codeOf(await a.certificates.get(own.y, limitedUser).catch((e: unknown) => e))).toBe('certificate.not_found');
    expect((await a.requests.list({}, limitedUser)).items.map((r) => r.id)).toEqual([req.x]);
    expect(codeOf(await a.requests.get(req.y, limitedUser).catch((e: unknown) => e))).toBe('request.not_found');
    expect(codeOf(await a.audit.list({}, limitedUser).catch((e: unknown) => e))).toBe('auth.forbidden');
    expect((await a.insights.search('theirs.scoped', 10, limitedUser)).certificates).toEqual([]);
    expect((await a.insights.search('theirs.scoped', 10, ACTORS.auditor)).certificates).toHaveLength(1);
  });
});
