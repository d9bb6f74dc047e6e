// Finding 5 of issue #9: five wrong passwords for `admin` locked the account for 15 minutes for every client,
// and unknown user names answered 401 where known ones answered 429 `auth.locked` (user-name enumeration).
// Now failed logins are counted per (user name, client address) and per client address, in the database,
// with a doubling backoff (429 `auth.throttled` + Retry-After); unknown and known names are answered alike
// and both run exactly one password hash check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '@pkim/server';
import { verifyPassword } from '@pkim/authority';
import { fixedClock } from '@pkim/shared';
import { ACTORS, FAST_SCRYPT, openSecurityFixture, type HttpAnswer, type SecurityFixture } from './security-support';

const ADMIN_PASSWORD = 'the-real-admin-password';
const clock = fixedClock(Date.UTC(2026, 5, 1));
/** every password hash check the authority runs (the real scrypt verification, counted) */
let hashChecks = 0;
const countingVerifier = async (password: string, stored: string) => {
  hashChecks++;
  return verifyPassword(password, stored);
};

const login = (s: SecurityFixture, username: string, password: string, ip: string) =>
  s.http('POST', '/trpc/user.login', { body: { username, password }, ip });

/** what a client can observe of an answer: status, error code and message, Retry-After (no request id) */
function observable(r: HttpAnswer) {
  const body = r.json<{ error?: { message: string; data: { pkiCode: string; httpStatus: number } } }>();
  return {
    status: r.status,
    code: body.error?.data.pkiCode,
    message: body.error?.message,
    retryAfter: r.headers['retry-after'],
  };
}

describe('finding 5: login throttling per (user, address) and per address, no lock-out, no enumeration', () => {
  let s: SecurityFixture;
  beforeAll(async () => {
    s = await openSecurityFixture({
      authority: { clock, auth: { scrypt: FAST_SCRYPT, passwordVerifier: countingVerifier } },
    });
    await s.authority.auth.createUser(
      { username: 'root-admin', password: ADMIN_PASSWORD, role: 'admin' },
      ACTORS.admin,
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  it('reproduces the report: wrong passwords from one address do not lock the admin out elsewhere', async () => {
    for (let i = 0; i < 8; i++) await login(s, 'root-admin', `guess-${i}`, '203.0.113.66');
    const attacker = await login(s, 'root-admin', ADMIN_PASSWORD, '203.0.113.66');
    expect(observable(attacker)).toMatchObject({ status: 429, code: 'auth.throttled' });
    const admin = await login(s, 'root-admin', ADMIN_PASSWORD, '198.51.100.10');
    expect(admin.status).toBe(200);
    expect(admin.headers['set-cookie']).toMatch(/pkim_session=/);
  });

  it('answers an unknown user name exactly like a known one with a wrong password, attempt by attempt', async () => {
    await s.authority.auth.createUser(
      { username: 'known-op', password: 'known-op-password', role: 'operator' },
      ACTORS.admin,
    );
    const known: unknown[] = [];
    const unknown: unknown[] = [];
    for (let i = 0; i < 8; i++) {
      known.push(observable(await login(s, 'known-op', `wrong-${i}`, '192.0.2.1')));
      unknown.push(observable(await login(s, 'no-such-user', `wrong-${i}`, '192.0.2.2')));
    }
    expect(unknown).toEqual(known);
    // five answered 401 after a password check, then the backoff: 429 with Retry-After
    expect(known.slice(0, 5)).toEqual(
      Array(5).fill({ status: 401, code: 'auth.invalid_credentials', message: 'wrong user name or password' }),
    );
    expect(known[5]).toMatchObject({ status: 429, code: 'auth.throttled', retryAfter: '1' });
  });

  it('runs the password hash once for an unknown user, once for a wrong password, never while throttled', async () => {
    await s.authority.auth.createUser(
      { username: 'hash-me', password: 'hash-me-password', role: 'auditor' },
      ACTORS.admin,
    );
    const checks = async (username: string, ip: string) => {
      const before = hashChecks;
      const r = await login(s, username, 'not-the-password', ip);
      return { status: r.status, hashChecks: hashChecks - before };
    };
    expect(await checks('hash-me', '192.0.2.3')).toEqual({ status: 401, hashChecks: 1 });
    expect(await checks('nobody-at-all', '192.0.2.4')).toEqual({ status: 401, hashChecks: 1 });
    // a name the user-name rules could never match still costs one hash check
    expect(await checks('no such user!', '192.0.2.4')).toEqual({ status: 401, hashChecks: 1 });
    for (let i = 0; i < 4; i++) await checks('hash-me', '192.0.2.3');
    expect(await checks('hash-me', '192.0.2.3')).toEqual({ status: 429, hashChecks: 0 });
  });

  it('doubles the backoff per failure after the free ones (Retry-After 1, 2, 4 s) and audits each block', async () => {
    await s.authority.auth.createUser(
      { username: 'backoff', password: 'backoff-password', role: 'auditor' },
      ACTORS.admin,
    );
    const ip = '192.0.2.5';
    for (let i = 0; i < 5; i++) expect((await login(s, 'backoff', `w${i}`, ip)).status).toBe(401);
    const seen: unknown[] = [];
    for (const wait of [1, 2, 4]) {
      const r = await login(s, 'backoff', 'backoff-password', ip);
      seen.push(observable(r).retryAfter);
      clock.advance(wait * 1000);
      expect((await login(s, 'backoff', `again-${wait}`, ip)).status).toBe(401);
    }
    expect(seen).toEqual(['1', '2', '4']);
    const events = (await s.authority.audit.list({ action: 'auth.throttled', limit: 200 })).filter(
      (e) => e.details.username === 'backoff',
    );
    expect(events.map((e) => e.details.failures)).toEqual([5, 6, 7, 8]);
    expect(events[0]).toMatchObject({ outcome: 'failure', details: { scope: 'user_address', ip } });
    clock.advance(8_000);
    expect((await login(s, 'backoff', 'backoff-password', ip)).status).toBe(200);
  });

  it('reports a throttled user as locked; an admin unlock and a password reset lift its blocks', async () => {
    const u = await s.authority.auth.createUser(
      { username: 'Locked-Out', password: 'locked-out-password', role: 'operator' },
      ACTORS.admin,
    );
    const state = async () => {
      const r = await s.http('GET', '/trpc/user.list', { token: s.adminToken });
      const row = r
        .json<{ result: { data: { items: { id: string; lockedUntil: string | null; lockedAddresses: number }[] } } }>()
        .result.data.items.find((x) => x.id === u.id)!;
      return {
        lockedUntil: row.lockedUntil === null ? null : Date.parse(row.lockedUntil),
        lockedAddresses: row.lockedAddresses,
      };
    };
    const block = async (ip: string) => {
      for (let i = 0; i < 6; i++) await login(s, 'locked-out', `wrong-${i}`, ip);
      expect(observable(await login(s, 'locked-out', 'locked-out-password', ip))).toMatchObject({ status: 429 });
    };
    expect(await state()).toEqual({ lockedUntil: null, lockedAddresses: 0 });
    // fewer failures than the free ones do not lock (user name matched case-insensitively)
    for (let i = 0; i < 4; i++) await login(s, 'LOCKED-OUT', `wrong-${i}`, '198.51.100.71');
    expect(await state()).toEqual({ lockedUntil: null, lockedAddresses: 0 });
    await block('198.51.100.71');
    await block('198.51.100.72');
    const locked = await state();
    expect(locked.lockedAddresses).toBe(2);
    expect(locked.lockedUntil).toBeGreaterThan(clock.now());

    // unlock needs user:manage
    const refused = await s.http('POST', '/trpc/user.unlock', { token: s.operatorToken, body: { id: u.id } });
    expect(observable(refused)).toMatchObject({ status: 403, code: 'auth.forbidden' });
    expect((await state()).lockedAddresses).toBe(2);
    const unlocked = await s.http('POST', '/trpc/user.unlock', { token: s.adminToken, body: { id: u.id } });
    expect(unlocked.json<{ result: { data: unknown } }>().result.data).toEqual({ ok: true, cleared: 2 });
    expect(await state()).toEqual({ lockedUntil: null, lockedAddresses: 0 });
    expect((await login(s, 'Locked-Out', 'locked-out-password', '198.51.100.71')).status).toBe(200);
    const [ev] = await s.authority.audit.list({ action: 'user.unlocked', target: u.id });
    expect(ev?.details).toMatchObject({ username: 'Locked-Out', cleared: 2 });

    // a password reset by an administrator lifts the blocks too
    await block('198.51.100.73');
    expect((await state()).lockedAddresses).toBe(1);
    await s.authority.auth.changePassword(u.id, '', 'a-brand-new-password', ACTORS.admin);
    expect(await state()).toEqual({ lockedUntil: null, lockedAddresses: 0 });
    expect((await login(s, 'Locked-Out', 'a-brand-new-password', '198.51.100.73')).status).toBe(200);
  });

  it('throttles one address that sprays many user names (20 free failures), not the other addresses', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 20; i++) expect((await login(s, `spray-${i}`, 'Winter2026!', ip)).status).toBe(401);
    const next = await login(s, 'root-admin', ADMIN_PASSWORD, ip);
    expect(observable(next)).toMatchObject({ status: 429, code: 'auth.throttled', retryAfter: '1' });
    expect((await login(s, 'root-admin', ADMIN_PASSWORD, '192.0.2.78')).status).toBe(200);
    const audit = await s.authority.audit.list({ action: 'auth.throttled', limit: 200 });
    expect(audit.some((e) => e.details.scope === 'address' && e.details.ip === ip && e.target === null)).toBe(true);
  });

  it('counts in the database: a second server instance on the same database sees the backoff', async () => {
    const second = await s.fx.openSecond({ clock, auth: { scrypt: FAST_SCRYPT } });
    const app2 = await buildServer(second, { logger: false, backgroundJobs: false, console: false });
    try {
      for (let i = 0; i < 5; i++) expect((await login(s, 'known-op', `x${i}`, '192.0.2.9')).status).toBe(401);
      const r = await app2.inject({
        method: 'POST',
        url: '/trpc/user.login',
        remoteAddress: '192.0.2.9',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ username: 'known-op', password: 'known-op-password' }),
      });
      expect(r.statusCode).toBe(429);
      expect(r.headers['retry-after']).toBe('1');
      expect(JSON.parse(r.body).error.data.pkiCode).toBe('auth.throttled');
    } finally {
      await app2.close();
    }
  });

  it('takes its limits from the configuration and refuses nonsensical ones', async () => {
    const { createAuthority } = await import('@pkim/authority');
    await expect(
      createAuthority({ dataDir: s.fx.dataDir, auth: { loginThrottle: { freeFailures: 0 } } }),
    ).rejects.toMatchObject({ code: 'input.invalid' });
    const strict = await s.fx.openSecond({ clock, auth: { scrypt: FAST_SCRYPT, loginThrottle: { freeFailures: 2 } } });
    await expect(strict.auth.login('known-op', 'bad-1', { ip: '192.0.2.10' })).rejects.toMatchObject({
      code: 'auth.invalid_credentials',
    });
    await expect(strict.auth.login('known-op', 'bad-2', { ip: '192.0.2.10' })).rejects.toMatchObject({
      code: 'auth.invalid_credentials',
    });
    await expect(strict.auth.login('known-op', 'known-op-password', { ip: '192.0.2.10' })).rejects.toMatchObject({
      code: 'auth.throttled',
      details: { retryAfterSeconds: 1 },
    });
  });
});
