import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { PkiError, fixedClock } from '@pkim/shared';
import {
  createAuthority,
  hashPassword,
  verifyPassword,
  needsRehash,
  sha256Hex,
  authorize,
  hasPermission,
  ROLE_PERMISSIONS,
  PERMISSIONS,
  BOOTSTRAP_SETTING,
  TOKEN_ROW_MS,
  type Authority,
  type Actor,
} from '@pkim/authority';
import { ENGINES, type EngineHandle } from '../../../tests/support/engines';
import { tempDir } from '../../../tests/support/openssl-tools';
import { internalsOf } from '@pkim/authority/internals';

const silent = pino({ level: 'silent' });
/**
 * the service's scrypt cost, lowered (N 32768 → 1024) for the service tests: what they check (salts, verification,
 * lockouts, the dummy check for unknown users) does not depend on the cost; the default's format is checked above
 */
const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const cliAdmin: Actor = { id: 'cli:test', name: 'test', role: 'admin' };

async function expectPkiError(p: Promise<unknown> | (() => unknown), code: string): Promise<PkiError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(PkiError);
    expect((e as PkiError).code).toBe(code);
    return e as PkiError;
  }
  throw new Error(`expected PkiError ${code}, but the call succeeded`);
}

describe('password hashing', () => {
  it('stores scrypt$N$r$p$salt$hash with a per-user salt and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b); // different salts
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99999999$8$1$AA==$AA==')).toBe(false);
    expect(needsRehash('scrypt$1024$8$1$AA$AA')).toBe(true);
    expect(needsRehash(a)).toBe(false);
  });
});

describe('permissions', () => {
  it('grants admins everything and narrows other roles as designed', () => {
    expect(ROLE_PERMISSIONS.admin).toEqual(PERMISSIONS);
    expect(hasPermission({ id: 'u', role: 'operator' }, 'certificate:revoke')).toBe(true);
    expect(hasPermission({ id: 'u', role: 'operator' }, 'ca:write')).toBe(false);
    expect(hasPermission({ id: 'u', role: 'auditor' }, 'audit:read')).toBe(true);
    expect(hasPermission({ id: 'u', role: 'auditor' }, 'certificate:issue')).toBe(false);
    expect(hasPermission({ id: 'u', role: 'requester' }, 'request:submit')).toBe(true);
    expect(hasPermission({ id: 'u', role: 'requester' }, 'certificate:read')).toBe(false);
  });

  it('lets token scopes narrow a role but never widen it', () => {
    const scoped: Actor = { id: 'tok_1', role: 'operator', scopes: ['certificate:issue'] };
    expect(hasPermission(scoped, 'certificate:issue')).toBe(true);
    expect(hasPermission(scoped, 'certificate:revoke')).toBe(false);
    expect(hasPermission({ id: 'tok_2', role: 'operator', scopes: ['certificate:*'] }, 'certificate:revoke')).toBe(
      true,
    );
    expect(hasPermission({ id: 'tok_3', role: 'requester', scopes: ['*'] }, 'ca:write')).toBe(false);
  });

  it('throws auth.unauthenticated without an actor and auth.forbidden without the permission', async () => {
    await expectPkiError(() => authorize(undefined, 'ca:read'), 'auth.unauthenticated');
    const e = await expectPkiError(() => authorize({ id: 'u', role: 'auditor' }, 'ca:write'), 'auth.forbidden');
    expect(e.kind).toBe('forbidden');
  });
});

describe.each(ENGINES)('auth service on $name', (engine) => {
  let handle: EngineHandle;
  let tmp: ReturnType<typeof tempDir>;
  let databaseUrl: string | undefined;
  let authority: Authority;
  const clock = fixedClock(Date.UTC(2026, 0, 1));

  const open = () =>
    createAuthority({ dataDir: tmp.dir, databaseUrl, logger: silent, clock, auth: { scrypt: FAST_SCRYPT } });
  const actions = async () => (await authority.audit.list({ limit: 1000, order: 'asc' })).map((e) => e.action);

  beforeAll(async () => {
    handle = await engine.start();
    databaseUrl = await handle.fresh();
    tmp = tempDir();
    authority = await open();
  });

  afterAll(async () => {
    await authority?.close();
    await handle?.stop();
    tmp?.cleanup();
  });

  it('creates the bootstrap admin once, returns its password once, and not again after a restart', async () => {
    const first = await authority.auth.ensureBootstrapAdmin();
    expect(first.created).toBe(true);
    if (!first.created) throw new Error('unreachable');
    expect(first.username).toBe('admin');
    expect(first.password.length).toBeGreaterThanOrEqual(20);
    expect(await authority.auth.ensureBootstrapAdmin()).toEqual({ created: false });
    expect(await internalsOf(authority).store.settings.get(BOOTSTRAP_SETTING)).toBeTruthy();
    const row = await internalsOf(authority).store.users.findByUsername('admin');
    expect(row?.passwordHash).toMatch(/^scrypt\$/);
    expect(row?.passwordHash).not.toContain(first.password);

    await authority.close();
    authority = await open();
    expect(await authority.auth.ensureBootstrapAdmin()).toEqual({ created: false });
    const login = await authority.auth.login('admin', first.password, { ip: '127.0.0.1' });
    expect(login.actor.role).toBe('admin');
    const created = await authority.audit.list({ action: 'user.created', limit: 10 });
    expect(created).toHaveLength(1);
    expect(created[0]!.details).toMatchObject({ username: 'admin', bootstrap: true });
    expect(JSON.stringify(created[0]!.details)).not.toContain(first.password);
  });

  it('creates users with validated names, roles and passwords; names are unique', async () => {
    const u = await authority.auth.createUser(
      { username: 'olivia', password: 'operator-password-1', role: 'operator' },
      cliAdmin,
    );
    expect(u).toMatchObject({ username: 'olivia', role: 'operator' });
    expect(u.id).toMatch(/^usr_/);
    await expectPkiError(
      authority.auth.createUser({ username: 'olivia', password: 'operator-password-1', role: 'operator' }, cliAdmin),
      'user.name_taken',
    );
    await expectPkiError(
      authority.auth.createUser({ username: 'bob', password: 'short', role: 'operator' }, cliAdmin),
      'user.weak_password',
    );
    await expectPkiError(
      authority.auth.createUser({ username: 'b ad', password: 'long-enough-password', role: 'operator' }, cliAdmin),
      'input.invalid',
    );
    await expectPkiError(
      authority.auth.createUser(
        { username: 'bob', password: 'long-enough-password', role: 'root' as 'admin' },
        cliAdmin,
      ),
      'input.invalid',
    );
    await expectPkiError(
      authority.auth.createUser(
        { username: 'bob', password: 'long-enough-password', role: 'admin' },
        { id: u.id, role: 'operator' },
      ),
      'auth.forbidden',
    );
    expect((await authority.auth.listUsers()).map((x) => x.username).sort()).toEqual(['admin', 'olivia']);
  });

  it('logs in with a random session secret (only its SHA-256 stored) and expires sessions after 12 h', async () => {
    const r = await authority.auth.login('olivia', 'operator-password-1', { ip: '10.0.0.1' });
    expect(r.sessionToken.length).toBeGreaterThanOrEqual(40);
    expect(r.csrfToken.length).toBeGreaterThanOrEqual(30);
    expect(r.expiresAt - clock.now()).toBe(12 * 3_600_000);
    expect(await internalsOf(authority).store.sessions.findByHash(r.sessionToken)).toBeUndefined();
    const stored = await internalsOf(authority).store.sessions.findByHash(sha256Hex(r.sessionToken));
    expect(stored?.userId).toBe(r.actor.id);
    const s = await authority.auth.authenticateSession(r.sessionToken);
    expect(s?.actor).toMatchObject({ id: r.actor.id, name: 'olivia', role: 'operator' });
    expect(s?.csrfToken).toBe(r.csrfToken);
    expect(await authority.auth.authenticateSession(`${r.sessionToken}x`)).toBeUndefined();

    clock.advance(12 * 3_600_000 + 1);
    expect(await authority.auth.authenticateSession(r.sessionToken)).toBeUndefined();
    expect(await internalsOf(authority).store.sessions.findByHash(sha256Hex(r.sessionToken))).toBeUndefined();
  });

  it('ends a session on logout and audits login and logout', async () => {
    const r = await authority.auth.login('olivia', 'operator-password-1', {});
    await authority.auth.logout(r.sessionToken);
    expect(await authority.auth.authenticateSession(r.sessionToken)).toBeUndefined();
    const all = await actions();
    expect(all).toContain('auth.login');
    expect(all).toContain('auth.logout');
  });

  it('throttles a (user, address) after 5 failed logins, doubling the delay, only that pair; audits it', async () => {
    await authority.auth.createUser(
      { username: 'mallory-target', password: 'target-password-1', role: 'auditor' },
      cliAdmin,
    );
    const attacker = { ip: '192.0.2.66' };
    for (let i = 0; i < 5; i++) {
      await expectPkiError(authority.auth.login('mallory-target', `wrong-${i}`, attacker), 'auth.invalid_credentials');
    }
    // blocked for 1 s from the attacker's address, even with the right password
    const blocked = await expectPkiError(
      authority.auth.login('mallory-target', 'target-password-1', attacker),
      'auth.throttled',
    );
    expect(blocked.kind).toBe('rate_limited');
    expect(blocked.details).toEqual({ retryAfterSeconds: 1 });
    // the user, from anywhere else, is not locked out
    expect((await authority.auth.login('mallory-target', 'target-password-1', { ip: '198.51.100.7' })).actor.role).toBe(
      'auditor',
    );
    const target = (await internalsOf(authority).store.users.findByUsername('mallory-target'))?.id;
    const events = await authority.audit.list({ action: 'auth.throttled', limit: 10 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ target, details: { scope: 'user_address', failures: 5, ip: '192.0.2.66' } });

    // each further failure doubles the delay: 2 s, then 4 s
    clock.advance(1_000);
    await expectPkiError(authority.auth.login('mallory-target', 'wrong-again', attacker), 'auth.invalid_credentials');
    expect(
      (await expectPkiError(authority.auth.login('mallory-target', 'x', attacker), 'auth.throttled')).details,
    ).toEqual({ retryAfterSeconds: 2 });
    clock.advance(2_000);
    await expectPkiError(authority.auth.login('mallory-target', 'wrong-again', attacker), 'auth.invalid_credentials');
    expect(
      (await expectPkiError(authority.auth.login('mallory-target', 'x', attacker), 'auth.throttled')).details,
    ).toEqual({ retryAfterSeconds: 4 });
    clock.advance(4_000);
    // the right password after the wait logs in and ends the backoff of this (user, address)
    expect((await authority.auth.login('mallory-target', 'target-password-1', attacker)).actor.role).toBe('auditor');
    await expectPkiError(authority.auth.login('mallory-target', 'wrong-after', attacker), 'auth.invalid_credentials');
  });

  it('refuses unknown users and disabled users with the same error', async () => {
    await expectPkiError(authority.auth.login('nobody', 'whatever-password', {}), 'auth.invalid_credentials');
    const u = await authority.auth.createUser(
      { username: 'dave', password: 'dave-password-12', role: 'requester' },
      cliAdmin,
    );
    const s = await authority.auth.login('dave', 'dave-password-12', {});
    await authority.auth.setUserDisabled(u.id, true, cliAdmin);
    await expectPkiError(authority.auth.login('dave', 'dave-password-12', {}), 'auth.invalid_credentials');
    expect(await authority.auth.authenticateSession(s.sessionToken)).toBeUndefined();
    await authority.auth.setUserDisabled(u.id, false, cliAdmin);
    expect((await authority.auth.login('dave', 'dave-password-12', {})).actor.id).toBe(u.id);
  });

  it('changes a password only with the old one, lets an admin reset it, and keeps the last admin', async () => {
    const u = await authority.auth.createUser(
      { username: 'erin', password: 'erin-password-12', role: 'operator' },
      cliAdmin,
    );
    const self: Actor = { id: u.id, name: 'erin', role: 'operator' };
    await expectPkiError(
      authority.auth.changePassword(u.id, 'wrong-old-password', 'erin-password-34', self),
      'auth.invalid_credentials',
    );
    await authority.auth.changePassword(u.id, 'erin-password-12', 'erin-password-34', self);
    await expectPkiError(authority.auth.login('erin', 'erin-password-12', {}), 'auth.invalid_credentials');
    await authority.auth.changePassword(u.id, '', 'erin-password-56', cliAdmin);
    expect((await authority.auth.login('erin', 'erin-password-56', {})).actor.id).toBe(u.id);
    await expectPkiError(
      authority.auth.changePassword(
        (await internalsOf(authority).store.users.findByUsername('admin'))!.id,
        '',
        'x-password-1234',
        self,
      ),
      'auth.forbidden',
    );

    const adminId = (await internalsOf(authority).store.users.findByUsername('admin'))!.id;
    await expectPkiError(authority.auth.setUserRole(adminId, 'operator', cliAdmin), 'user.last_admin');
    await expectPkiError(authority.auth.setUserDisabled(adminId, true, cliAdmin), 'user.last_admin');
    await authority.auth.setUserRole(u.id, 'admin', cliAdmin);
    await authority.auth.setUserRole(adminId, 'operator', cliAdmin);
    await authority.auth.setUserRole(adminId, 'admin', cliAdmin);
    expect(await actions()).toEqual(
      expect.arrayContaining(['user.password_changed', 'user.password_reset', 'user.role_changed']),
    );
  });

  it('ends every session of a user whose password is changed or reset, or who is disabled', async () => {
    const u = await authority.auth.createUser(
      { username: 'frank', password: 'frank-password-12', role: 'auditor' },
      cliAdmin,
    );
    const s1 = await authority.auth.login('frank', 'frank-password-12', {});
    const s2 = await authority.auth.login('frank', 'frank-password-12', {});
    expect(await authority.auth.authenticateSession(s1.sessionToken)).toBeDefined();
    await authority.auth.changePassword(u.id, 'frank-password-12', 'frank-password-34', s1.actor);
    expect(await authority.auth.authenticateSession(s1.sessionToken)).toBeUndefined();
    expect(await authority.auth.authenticateSession(s2.sessionToken)).toBeUndefined();
    const s3 = await authority.auth.login('frank', 'frank-password-34', {});
    await authority.auth.changePassword(u.id, '', 'frank-password-56', cliAdmin);
    expect(await authority.auth.authenticateSession(s3.sessionToken)).toBeUndefined();
    const s4 = await authority.auth.login('frank', 'frank-password-56', {});
    await authority.auth.setUserDisabled(u.id, true, cliAdmin);
    await authority.auth.setUserDisabled(u.id, false, cliAdmin);
    expect(await authority.auth.authenticateSession(s4.sessionToken)).toBeUndefined();
  });

  it('issues pkim_ tokens shown once, stored as SHA-256, with role, scopes, expiry and lastUsedAt', async () => {
    const t = await authority.auth.createToken(
      { name: 'ci', role: 'operator', scopes: ['certificate:issue'], expiresInMs: 3_600_000 },
      cliAdmin,
    );
    expect(t.token).toMatch(/^pkim_[A-Za-z0-9_-]{40,}$/);
    expect(t.id).toMatch(/^tok_/);
    const row = await internalsOf(authority).store.tokens.findById(t.id);
    expect(row?.tokenHash).toBe(sha256Hex(t.token));
    expect(JSON.stringify(row)).not.toContain(t.token);
    expect(row?.lastUsedAt).toBeNull();

    const actor = await authority.auth.authenticateToken(t.token);
    expect(actor).toEqual({ id: t.id, name: 'ci', role: 'operator', scopes: ['certificate:issue'] });
    await new Promise((r) => setTimeout(r, 50)); // lastUsedAt is written in the background
    expect((await internalsOf(authority).store.tokens.findById(t.id))?.lastUsedAt).toBe(clock.now());
    expect(await authority.auth.authenticateToken('pkim_not-a-token')).toBeUndefined();
    expect(await authority.auth.authenticateToken(t.token.replace('pkim_', 'xxxx_'))).toBeUndefined();

    clock.advance(3_600_000);
    expect(await authority.auth.authenticateToken(t.token)).toBeUndefined();
  });

  it('remembers the lastUsedAt writes of recent tokens only: the entry of a token used once is released', async () => {
    // a Vault AppRole or Kubernetes login mints a token per login (cert-manager: per certificate); the process kept
    // an entry for each token it ever saw, so a long-running server held one per certificate issued that way
    const held = () => internalsOf(authority).held.tokenTouches();
    clock.advance(3_600_000); // earlier tests' tokens: past their last write's interval, swept at the next use
    const tokens = [];
    for (let i = 0; i < 40; i++) {
      tokens.push(await authority.auth.createToken({ name: `login-${i}`, role: 'operator' }, cliAdmin));
    }
    for (const t of tokens) expect(await authority.auth.authenticateToken(t.token)).toBeDefined();
    expect(held()).toBe(40);
    await new Promise((r) => setTimeout(r, 50)); // lastUsedAt is written in the background
    clock.advance(60_000); // the default touch interval: every one of the 40 entries decides nothing any more
    const last = await authority.auth.createToken({ name: 'login-next', role: 'operator' }, cliAdmin);
    expect(await authority.auth.authenticateToken(last.token)).toBeDefined();
    expect(held()).toBe(1);
    // the write decision is unchanged: a token used again within the interval is not written again, after it it is
    await new Promise((r) => setTimeout(r, 50));
    const written = (await internalsOf(authority).store.tokens.findById(last.id))?.lastUsedAt;
    expect(written).toBe(clock.now());
    clock.advance(30_000);
    expect(await authority.auth.authenticateToken(last.token)).toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    expect((await internalsOf(authority).store.tokens.findById(last.id))?.lastUsedAt).toBe(written);
    clock.advance(30_000);
    expect(await authority.auth.authenticateToken(last.token)).toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    expect((await internalsOf(authority).store.tokens.findById(last.id))?.lastUsedAt).toBe(clock.now());
    expect(await authority.auth.authenticateToken(tokens[0]!.token)).toBeDefined(); // a swept token still works
  });

  it('revokes tokens immediately, refuses bad scopes, and audits token events', async () => {
    const t = await authority.auth.createToken({ name: 'revoke-me', role: 'auditor' }, cliAdmin);
    expect((await authority.auth.authenticateToken(t.token))?.scopes).toBeUndefined();
    await authority.auth.revokeToken(t.id, cliAdmin);
    expect(await authority.auth.authenticateToken(t.token)).toBeUndefined();
    await expectPkiError(authority.auth.revokeToken(t.id, cliAdmin), 'token.already_revoked');
    await expectPkiError(authority.auth.revokeToken('tok_missing', cliAdmin), 'token.not_found');
    await expectPkiError(
      authority.auth.createToken({ name: 'x', role: 'operator', scopes: ['root:everything'] }, cliAdmin),
      'input.invalid',
    );
    await expectPkiError(
      authority.auth.createToken({ name: 'x', role: 'admin' }, { id: 'usr_x', role: 'operator' }),
      'auth.forbidden',
    );
    const listed = (await authority.auth.listTokens()).find((x) => x.id === t.id);
    expect(listed?.revokedAt).not.toBeNull();
    expect(JSON.stringify(await authority.auth.listTokens())).not.toMatch(/pkim_/);
    expect(await actions()).toEqual(expect.arrayContaining(['token.created', 'token.revoked']));
    expect((await authority.audit.verify()).ok).toBe(true);
  });

  // a token's row is remembered for TOKEN_ROW_MS (auth-service.ts): the authority's own revocations and disabled owners
  // count at once, another instance's on the same database at the next request on SQLite (Store.otherCommits) and
  // once its NOTIFY arrived on PostgreSQL (Store.otherCommits), expiry at the expiry instant
  /** an operator token (owned by a new user `owner` when given), authenticated once: its row is remembered now */
  const rememberedToken = async (name: string, owner?: string) => {
    const user = owner
      ? await authority.auth.createUser(
          { username: owner, password: `${owner}-password-12`, role: 'operator' },
          cliAdmin,
        )
      : undefined;
    const t = await authority.auth.createToken(
      { name, role: 'operator' },
      user ? { ...cliAdmin, id: user.id } : cliAdmin,
    );
    expect(await authority.auth.authenticateToken(t.token)).toBeDefined();
    return { ...t, userId: user?.id ?? '' };
  };

  it('refuses a remembered token at once after revoking it or disabling its owner itself', async () => {
    const t = await rememberedToken('remembered');
    await authority.auth.revokeToken(t.id, cliAdmin);
    expect(await authority.auth.authenticateToken(t.token)).toBeUndefined();

    const owned = await rememberedToken('grace-ci', 'grace');
    await authority.auth.setUserDisabled(owned.userId, true, cliAdmin);
    expect(await authority.auth.authenticateToken(owned.token)).toBeUndefined();
    await authority.auth.setUserDisabled(owned.userId, false, cliAdmin);
    expect((await authority.auth.authenticateToken(owned.token))?.id).toBe(owned.id);
  });

  // SQLite: the other connection's commit moves PRAGMA data_version (Store.otherCommits) before it returns: refused at
  // the next request. PostgreSQL: the other instance's commit is announced by a NOTIFY that this instance's listening
  // connection receives a moment after the commit (Store.otherCommits): refused once it arrived — the fake clock does
  // not move, so TOKEN_ROW_MS never runs out here
  const atOnce = engine.name === 'sqlite';
  /** SQLite: the next answer; PostgreSQL: the answer once it is the expected one (asked again every 25 ms, bounded) */
  const answerBecomes = async (token: string, accepted: boolean) => {
    for (let i = 0; !atOnce && i < 400; i++) {
      if (!!(await authority.auth.authenticateToken(token)) === accepted) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    return authority.auth.authenticateToken(token);
  };
  it(`refuses a token revoked, or whose owner is disabled, by another instance ${
    atOnce ? 'at the next request' : 'once its commit is announced'
  }`, async () => {
    const other = await open(); // a second instance on the same database (a CLI beside the server)
    try {
      const t = await rememberedToken('remembered-elsewhere');
      const kept = await rememberedToken('kept-elsewhere');
      await other.auth.revokeToken(t.id, cliAdmin);
      expect(await answerBecomes(t.token, false)).toBeUndefined();
      expect(await other.auth.authenticateToken(t.token)).toBeUndefined();
      // another token's row, read again after the other instance's commit, still answers
      expect((await authority.auth.authenticateToken(kept.token))?.id).toBe(kept.id);

      const owned = await rememberedToken('heidi-ci', 'heidi');
      await other.auth.setUserDisabled(owned.userId, true, cliAdmin);
      expect(await answerBecomes(owned.token, false)).toBeUndefined();
      await other.auth.setUserDisabled(owned.userId, false, cliAdmin);
      expect((await answerBecomes(owned.token, true))?.id).toBe(owned.id);
    } finally {
      await other.close();
    }
  });

  // auth-service.ts othersForChecks: the token checks asked in one loop turn (the requests one poll phase received)
  // share one read of Store.otherCommits (SQLite: PRAGMA data_version), made after all of them asked — so a revocation
  // another instance committed before they asked is in it (SQLite at once; PostgreSQL once announced), and a check
  // asked after that read waits for a read of its own
  it('reads Store.otherCommits once for the token checks of one turn, after they all asked', async () => {
    const other = await open();
    const store = internalsOf(authority).store;
    const signal = Object.getOwnPropertyDescriptor(store, 'otherCommits')!;
    const reads = { n: 0 };
    try {
      const kept = await rememberedToken('turn-kept');
      const t = await rememberedToken('turn-revoked');
      await other.auth.revokeToken(t.id, cliAdmin);
      if (!atOnce) expect(await answerBecomes(t.token, false)).toBeUndefined();
      Object.defineProperty(store, 'otherCommits', {
        get: () => (reads.n++, signal.get!.call(store) as number | undefined),
        configurable: true,
      });
      const turn = await Promise.all(
        Array.from({ length: 16 }, (_, i) => authority.auth.authenticateToken(i % 2 ? t.token : kept.token)),
      );
      expect(reads.n).toBe(1);
      expect(turn.map((a) => a?.id)).toEqual(Array.from({ length: 16 }, (_, i) => (i % 2 ? undefined : kept.id)));
      // the next turn reads again: another instance's revocation between the two turns is seen at its next check
      await other.auth.revokeToken(kept.id, cliAdmin);
      expect(await answerBecomes(kept.token, false)).toBeUndefined();
      expect(reads.n).toBeGreaterThan(1);
    } finally {
      Object.defineProperty(store, 'otherCommits', signal);
      await other.close();
    }
  });

  it('refuses a remembered token the moment it expires', async () => {
    const t = await authority.auth.createToken(
      { name: 'remembered-expiry', role: 'operator', expiresInMs: 60_000 },
      cliAdmin,
    );
    clock.advance(60_000 - TOKEN_ROW_MS / 2);
    expect(await authority.auth.authenticateToken(t.token)).toBeDefined(); // read and remembered before the expiry
    clock.advance(TOKEN_ROW_MS / 2);
    expect(await authority.auth.authenticateToken(t.token)).toBeUndefined();
  });
});
