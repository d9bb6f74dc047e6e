// The first-boot administrator's forced password change, end to end against a real server (`startServer` on a fresh
// data dir, the path `pkim serve` takes, over HTTP): the one-time password opens a session that may only say who it
// is, change its own password and log out — every other tRPC procedure and REST route answers 403
// auth.password_change_required; the change clears the flag (audited) and ends the session; an administrator's reset
// of another user's password sets the flag for that user; API tokens (the CLI's remote mode, Vault) are not touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '@pkim/server';
import { SYSTEM_ACTOR } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { TEST_KEEP_ALIVE_MS } from '../../../tests/support/test-kit';

const NEW_PASSWORD = 'changed-at-first-sign-in-1';
const CSR_PEM = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';

interface Session {
  cookie: string;
  csrf: string;
  user: { id: string; name: string; mustChangePassword: boolean };
}
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('a session whose user must change its password (real server, tRPC and REST)', () => {
  const data = tempDir('pkim-must-change-');
  let server: RunningServer;
  let base: string;
  let oneTime: string;

  const send = async (path: string, init: RequestInit): Promise<Answer> => {
    const r = await fetch(`${base}${path}`, init);
    const text = await r.text();
    // a refusal is JSON; an answer that got through may not be (the export's CSV)
    const json = (() => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        return { text };
      }
    })();
    return { status: r.status, body: text ? json : {} };
  };
  const headers = (s: Session | undefined, extra: Record<string, string> = {}) => ({
    ...(s ? { cookie: s.cookie, 'x-csrf-token': s.csrf } : {}),
    ...extra,
  });
  /** a tRPC query (GET) or mutation (POST) */
  const trpc = (s: Session | undefined, path: string, input?: unknown, mutation = false) =>
    mutation
      ? send(`/trpc/${path}`, {
          method: 'POST',
          headers: headers(s, { 'content-type': 'application/json' }),
          body: JSON.stringify(input ?? {}),
        })
      : send(`/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`, {
          headers: headers(s),
        });
  const rest = (s: Session | undefined, method: string, path: string, body?: unknown) =>
    send(`/api/v1${path}`, {
      method,
      headers: headers(s, body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  /** the code of a tRPC error (error.data.pkiCode) or a REST one ({ code }) */
  const codeOf = (a: Answer) =>
    (a.body.code as string | undefined) ?? (a.body.error as { data?: { pkiCode?: string } } | undefined)?.data?.pkiCode;
  const messageOf = (a: Answer) =>
    (a.body.message as string | undefined) ?? (a.body.error as { message?: string } | undefined)?.message;

  async function login(username: string, password: string): Promise<Session> {
    const r = await fetch(`${base}/trpc/user.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    const text = await r.text();
    expect(r.status, text).toBe(200);
    const data = (JSON.parse(text) as { result: { data: { csrfToken: string; user: Session['user'] } } }).result.data;
    return { cookie: r.headers.get('set-cookie')!.split(';')[0]!, csrf: data.csrfToken, user: data.user };
  }

  beforeAll(async () => {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: data.dir,
      logLevel: 'silent',
      handleSignals: false,
      print: () => undefined,
      server: { backgroundJobs: false, rateLimit: false },
      keepAliveTimeoutMs: TEST_KEEP_ALIVE_MS,
    });
    base = server.url;
    oneTime = server.bootstrap!.password;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    data.cleanup();
  });

  it('the one-time password signs in; the login answer and user.me (tRPC and REST) carry the flag', async () => {
    const s = await login('admin', oneTime);
    expect(s.user).toMatchObject({ name: 'admin', mustChangePassword: true });
    const me = await trpc(s, 'user.me');
    expect(me.status).toBe(200);
    expect((me.body.result as { data: unknown }).data).toMatchObject({
      name: 'admin',
      role: 'admin',
      authMethod: 'session',
      mustChangePassword: true,
    });
    const restMe = await rest(s, 'GET', '/users/me');
    expect(restMe.status).toBe(200);
    expect(restMe.body).toMatchObject({ name: 'admin', mustChangePassword: true });
  });

  it('refuses everything else: 403 auth.password_change_required saying what to do, on tRPC and REST', async () => {
    const s = await login('admin', oneTime);
    const refused: [string, Answer][] = [
      ['tRPC ca.list', await trpc(s, 'ca.list')],
      ['tRPC user.list', await trpc(s, 'user.list')],
      ['tRPC audit.list', await trpc(s, 'audit.list', {})],
      ['tRPC insights.dashboard', await trpc(s, 'insights.dashboard')],
      ['tRPC insights.decodeCsr', await trpc(s, 'insights.decodeCsr', { pem: CSR_PEM }, true)],
      ['tRPC token.create', await trpc(s, 'token.create', { name: 'escape', role: 'admin' }, true)],
      [
        'tRPC user.create',
        await trpc(s, 'user.create', { username: 'mallory', password: 'mallory-password-1', role: 'admin' }, true),
      ],
      ['REST GET /cas', await rest(s, 'GET', '/cas')],
      ['REST GET /certificates/export', await rest(s, 'GET', '/certificates/export')],
      ['REST POST /tokens', await rest(s, 'POST', '/tokens', { name: 'escape', role: 'admin' })],
      ['REST GET /audit/events', await rest(s, 'GET', '/audit/events')],
    ];
    for (const [what, a] of refused) {
      expect(a.status, `${what}: ${JSON.stringify(a.body)}`).toBe(403);
      expect(codeOf(a), what).toBe('auth.password_change_required');
      expect(messageOf(a), what).toMatch(/must be changed.*PUT \/api\/v1\/users\/me\/password/);
    }
    // nothing was made: no token, no user (read by the authority itself)
    expect(await server.authority.auth.listTokens()).toEqual([]);
    expect((await server.authority.auth.listUsers()).map((u) => u.username)).toEqual(['admin']);
    // logging out is allowed and ends the session
    expect((await trpc(s, 'user.logout', {}, true)).status).toBe(200);
    expect((await trpc(s, 'user.me')).status).toBe(401);
  });

  it('leaves API tokens alone: a token an administrator made works for the CLI remote mode and REST', async () => {
    // the deliberate credential: made on the server's data dir (the local CLI's root actor does the same)
    const { token } = await server.authority.auth.createToken({ name: 'ops', role: 'admin' }, SYSTEM_ACTOR);
    const listed = await fetch(`${base}/api/v1/cas`, { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(200);
    const cli = await runPkimAsync(['--server', base, '--token', token, 'user', 'list', '--json'], {
      dataDir: data.dir,
      init: false,
    });
    expect(cli.code, cli.stderr).toBe(0);
    const users = (JSON.parse(cli.stdout) as { items: { username: string; mustChangePassword: boolean }[] }).items;
    expect(users).toEqual([expect.objectContaining({ username: 'admin', mustChangePassword: true })]);
  });

  it('changes only its own password, to a new one: the flag cleared, audited, every session ended', async () => {
    const s = await login('admin', oneTime);
    const other = await login('admin', oneTime);
    // not someone else's (an admin's reset of another user waits until its own password is changed)
    const { id: victim } = await server.authority.auth.createUser(
      { username: 'victor', password: 'victor-password-1', role: 'operator' },
      SYSTEM_ACTOR,
    );
    const reset = await rest(s, 'PUT', '/users/me/password', { id: victim, newPassword: 'taken-over-password-1' });
    expect(reset.status).toBe(403);
    expect(codeOf(reset)).toBe('auth.password_change_required');
    // the same password again is no change
    const same = await rest(s, 'PUT', '/users/me/password', { oldPassword: oneTime, newPassword: oneTime });
    expect(same.status).toBe(400);
    expect(codeOf(same)).toBe('user.weak_password');
    const wrong = await rest(s, 'PUT', '/users/me/password', {
      oldPassword: 'not-the-password-1',
      newPassword: NEW_PASSWORD,
    });
    expect(codeOf(wrong)).toBe('auth.invalid_credentials');

    const changed = await rest(s, 'PUT', '/users/me/password', { oldPassword: oneTime, newPassword: NEW_PASSWORD });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    // every session of the user ended, this one too: sign in again
    expect((await trpc(s, 'user.me')).status).toBe(401);
    expect((await trpc(other, 'user.me')).status).toBe(401);
    const failed = await fetch(`${base}/trpc/user.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: oneTime }),
    });
    expect(failed.status).toBe(401);
    const fresh = await login('admin', NEW_PASSWORD);
    expect(fresh.user.mustChangePassword).toBe(false);
    expect((await rest(fresh, 'GET', '/users/me')).body).toMatchObject({ mustChangePassword: false });
    expect((await rest(fresh, 'GET', '/cas')).status).toBe(200);
    expect((await trpc(fresh, 'user.list')).status).toBe(200);
    const events = await server.authority.audit.list({ action: 'user.password_changed' });
    expect(events.map((e) => e.details)).toEqual([{ username: 'admin', requiredChangeDone: true }]);
  });

  it("an administrator's reset of another user's password sets the flag for that user", async () => {
    const admin = await login('admin', NEW_PASSWORD);
    const created = await rest(admin, 'POST', '/users', {
      username: 'olga',
      password: 'olga-first-password-1',
      role: 'operator',
    });
    expect(created.status).toBe(201);
    const olgaId = created.body.id as string;
    // a user the admin created with a password chooses it: no flag
    expect((await login('olga', 'olga-first-password-1')).user.mustChangePassword).toBe(false);
    const reset = await rest(admin, 'PUT', '/users/me/password', { id: olgaId, newPassword: 'olga-reset-password-1' });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    const listed = (await rest(admin, 'GET', '/users')).body.items as {
      username: string;
      mustChangePassword: boolean;
    }[];
    expect(listed.find((u) => u.username === 'olga')).toMatchObject({ mustChangePassword: true });
    const events = await server.authority.audit.list({ action: 'user.password_reset' });
    expect(events.map((e) => e.details)).toEqual([{ username: 'olga', mustChangePassword: true }]);

    const olga = await login('olga', 'olga-reset-password-1');
    expect(olga.user).toMatchObject({ name: 'olga', mustChangePassword: true });
    for (const a of [await trpc(olga, 'certificate.list', {}), await rest(olga, 'GET', '/certificates')]) {
      expect(a.status).toBe(403);
      expect(codeOf(a)).toBe('auth.password_change_required');
    }
    const own = await trpc(
      olga,
      'user.changePassword',
      { oldPassword: 'olga-reset-password-1', newPassword: 'olga-own-password-1' },
      true,
    );
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    const again = await login('olga', 'olga-own-password-1');
    expect(again.user.mustChangePassword).toBe(false);
    expect((await trpc(again, 'certificate.list', {})).status).toBe(200);
  });
});
