import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Authority } from '@pkim/authority';
import { buildServer } from '../src/build-server';
import { ACTORS, openAuthorityFixture, silent, type AuthorityFixture } from './server-test-support';
import { generateSshKey, makeTempDir } from '../../../tests/support/openssh';

/**
 * A fleet token's rate limit holds across server processes: two servers on one database (two authorities, each
 * with its own in-memory window, as two `pkim serve` processes have) share the budget through the certificates
 * the token got issued in the last minute.
 */
describe('fleet token rate limit across processes', () => {
  let fx: AuthorityFixture;
  let second: Authority;
  let a: FastifyInstance;
  let b: FastifyInstance;
  const keys = makeTempDir('pkim-fleet-rate-');

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    second = await fx.openSecond();
    const opts = { logger: silent, backgroundJobs: false as const, rateLimit: false as const, console: false as const };
    a = await buildServer(fx.authority, opts);
    b = await buildServer(second, opts);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await fx?.close();
    keys.cleanup();
  });

  it('refuses the third host certificate of a 2-per-minute token on the other server (429 rate.limited)', async () => {
    await fx.authority.ssh.createCa({ name: 'hosts', type: 'host' }, ACTORS.admin);
    const { token } = await fx.authority.ssh.createFleetToken(
      { name: 'boot', operations: ['sign-host'], ratePerMinute: 2 },
      ACTORS.admin,
    );
    const sign = (app: FastifyInstance, host: string) =>
      app.inject({
        method: 'POST',
        url: '/ssh/fleet/sign',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: { type: 'host', host, publicKey: generateSshKey(keys.dir, host).pub },
      });
    expect((await sign(a, 'web1.example.com')).statusCode).toBe(200);
    expect((await sign(a, 'web2.example.com')).statusCode).toBe(200);
    const third = await sign(b, 'web3.example.com'); // b's own window is empty: the database holds the limit
    expect([third.statusCode, third.json().code]).toEqual([429, 'rate.limited']);
    const page = await fx.authority.ssh.listCertificates({ ca: 'hosts' });
    expect(page.items).toHaveLength(2);
  });
});
