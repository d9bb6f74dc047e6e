// A server and the CLI on one SQLite data dir: an API token revoked, or its owner disabled, by `pkim` (another
// process) is refused by the server's next request, though the server remembers the token's row (auth-service.ts
// TOKEN_ROW_MS): the CLI's commit moves the server connection's PRAGMA data_version (Store.otherCommits). The server's
// clock stands still, so the remembered row never ages out while the CLI runs (it takes ≈ 1–2 s under load).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { buildServer } from '@pkim/server';
import { runPkimAsync } from '../../../tests/support/cli-runner';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';

describe('a token revoked by the CLI beside a running server', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let url: string;
  const pkim = (...args: string[]) => runPkimAsync(args, { dataDir: fx.dataDir });

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock: fixedClock(Date.now()) });
    app = await buildServer(fx.authority, { logger: false, rateLimit: false, backgroundJobs: false });
    url = await listen(app);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const me = async (token: string) =>
    (await fetch(`${url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } })).status;

  it('is refused by the next request after `pkim token revoke`', async () => {
    const { id, token } = await fx.authority.auth.createToken({ name: 'beside-cli', role: 'operator' }, ACTORS.admin);
    expect(await me(token)).toBe(200); // the server now remembers the token's row
    const revoked = await pkim('token', 'revoke', id);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await me(token)).toBe(401);
  }, 60_000);

  it('is refused by the next request after `pkim user disable` of its owner, accepted after --enable', async () => {
    const user = await fx.authority.auth.createUser(
      { username: 'ivan', password: 'ivan-password-12', role: 'operator' },
      ACTORS.admin,
    );
    const { token } = await fx.authority.auth.createToken(
      { name: 'ivan-ci', role: 'operator' },
      { ...ACTORS.admin, id: user.id }, // minted by ivan (owner), an admin actor as the CLI's is
    );
    expect(await me(token)).toBe(200);
    const disabled = await pkim('user', 'disable', 'ivan');
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(await me(token)).toBe(401);
    const enabled = await pkim('user', 'disable', 'ivan', '--enable');
    expect(enabled.code, enabled.stderr).toBe(0);
    expect(await me(token)).toBe(200);
  }, 60_000);
});
