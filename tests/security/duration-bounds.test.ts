// Finding 3 of issue #9: `token.create {"expiresIn":"300000y"}` answered 500 but stored the row, after which
// `token.list` always failed; `pkim token create --expires 300000y` did the same; a REST `ttl` of 300000y
// crashed the linter. Every duration is bounded (36500d) before it reaches Date or the database, on every
// transport and the CLI, and nothing is written when it is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, PkiError } from '@pkim/shared';
import { runPkim } from '../support/cli-in-process';
import { ACTORS, csrFor, openSecurityFixture, type SecurityFixture } from './security-support';

describe('finding 3: durations are bounded before they reach Date or the database', () => {
  let s: SecurityFixture;
  const tokenCount = async () => (await s.authority.auth.listTokens()).length;
  const certCount = async () => (await s.authority.certificates.list({ limit: 1000 })).items.length;

  beforeAll(async () => {
    s = await openSecurityFixture();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('tRPC token.create with expiresIn 300000y is a 400 that writes nothing; token.list keeps working', async () => {
    const before = await tokenCount();
    for (const expiresIn of ['300000y', '36501d', '999999999999999999999d']) {
      const r = await s.http('POST', '/trpc/token.create', {
        token: s.adminToken,
        body: { name: 'far-future', role: 'requester', expiresIn },
      });
      expect(r.status, expiresIn).toBe(400);
    }
    expect(await tokenCount()).toBe(before);
    const list = await s.http('GET', '/trpc/token.list', { token: s.adminToken });
    expect(list.status).toBe(200);
    // the documented bound itself is accepted
    const ok = await s.http('POST', '/trpc/token.create', {
      token: s.adminToken,
      body: { name: 'century', role: 'requester', expiresIn: '36500d' },
    });
    expect(ok.status).toBe(200);
    expect((await s.http('GET', '/trpc/token.list', { token: s.adminToken })).status).toBe(200);
  });

  it('the authority refuses an unbounded token expiry, validity or request lifetime from any caller', async () => {
    const tokens = await tokenCount();
    const certs = await certCount();
    const huge = [MAX_DURATION_MS + 1, 300_000 * 365 * 86_400_000, Number.MAX_VALUE, Infinity, NaN, -1, 0.5];
    for (const ms of huge) {
      const t = await s.authority.auth
        .createToken({ name: 'x', role: 'requester', expiresInMs: ms }, ACTORS.admin)
        .catch((e: unknown) => e);
      expect((t as PkiError).code, `token ${ms}`).toBe('input.invalid');
      const c = await s.authority.issuance
        .issueFromCsr(
          { caId: s.intId, csrPem: csrFor('huge.example.test'), profile: 'tls-server', validityMs: ms },
          ACTORS.admin,
        )
        .catch((e: unknown) => e);
      expect((c as PkiError).code, `certificate ${ms}`).toBe('input.invalid');
      const r = await s.authority.requests
        .submit(
          { caId: s.intId, csrPem: csrFor('huge.example.test'), profile: 'tls-server', validityMs: ms },
          ACTORS.requester,
        )
        .catch((e: unknown) => e);
      expect((r as PkiError).code, `request ${ms}`).toBe('input.invalid');
    }
    expect(await tokenCount()).toBe(tokens);
    expect(await certCount()).toBe(certs);
  });

  it('REST sign with ttl 300000y or 270000y is a clean 400, not a 500', async () => {
    for (const ttl of ['300000y', '270000y', '36501d']) {
      const r = await s.http('POST', `/api/v1/cas/${s.intId}/sign`, {
        token: s.operatorToken,
        body: { csr: csrFor('ttl.example.test'), profile: 'tls-server', ttl },
      });
      expect(r.status, `${ttl}: ${r.text}`).toBe(400);
      expect(r.json<{ code: string }>().code).toBe('input.invalid');
    }
  });

  it('the CLI refuses --expires 300000y with one error line and stores no token', async () => {
    const before = await tokenCount();
    const r = runPkim(['token', 'create', '--name', 'cli-far', '--role', 'requester', '--expires', '300000y'], {
      dataDir: s.fx.dataDir,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^error: input\.invalid: .*36500d/);
    expect(await tokenCount()).toBe(before);
  });
});
