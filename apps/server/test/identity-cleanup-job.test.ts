import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { buildServer } from '../src/build-server';
import { ACTORS, openAuthorityFixture, silent, type AuthorityFixture } from './server-test-support';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';
import { generateSshKey, makeTempDir } from '../../../tests/support/openssh';

const H = 3_600_000;
const DAY = 24 * H;

/**
 * The leader-elected `identity-cleanup` job (background-jobs.ts) with an injected clock: it purges SVID rows 24 h
 * (PKIM_SPIFFE_PURGE_AFTER) after they expired, and retires a rotated SSH CA once its last certificate expired.
 */
describe('background job identity-cleanup (injected clock)', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  const clock = fixedClock(Date.now());
  const keys = makeTempDir('pkim-identity-job-');

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock, ephemeral: true });
    // a long interval: only runOnce() ticks the jobs, so the test decides when they run
    app = await buildServer(fx.authority, {
      logger: silent,
      rateLimit: false,
      backgroundJobs: { intervalMs: 3_600_000 },
    });
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
    keys.cleanup();
  });

  it('purges SVIDs only once they are expired for longer than 24 h, as the system actor', async () => {
    const a = fx.authority;
    await a.spiffe.init({ trustDomain: TD }, ACTORS.admin);
    const token = (await a.auth.createToken({ name: 'w', role: 'operator', scopes: ['spiffe:sign'] }, ACTORS.admin))
      .token;
    const id = spiffeIdFor('node', 'job-1');
    const svid = await a.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'job-1', ttlSeconds: 600 },
      { bearerToken: token },
    );
    const rows = async () => (await a.spiffe.list({ spiffeId: id }, ACTORS.admin)).items.length;

    await app.pkim.jobs!.runOnce();
    expect(await rows()).toBe(1); // current

    clock.set(Date.parse(svid.expiresAt) + DAY - 60_000);
    await app.pkim.jobs!.runOnce();
    expect(await rows()).toBe(1); // expired, but for less than 24 h

    clock.set(Date.parse(svid.expiresAt) + DAY + 60_000);
    await app.pkim.jobs!.runOnce();
    expect(await rows()).toBe(0);
    const [event] = await a.audit.list({ action: 'spiffe.purged', order: 'desc', limit: 1 });
    expect(event).toMatchObject({ actor: 'system', details: { count: 1 } });
    expect(app.pkim.jobs!.leadership()['identity-cleanup']).toBe(true);
  });

  it('retires a rotated SSH CA after its last certificate expired, not before', async () => {
    const a = fx.authority;
    await a.ssh.createCa({ name: 'job-users', type: 'user' }, ACTORS.admin);
    const key = generateSshKey(keys.dir, 'job');
    const cert = await a.ssh.sign(
      { ca: 'job-users', type: 'user', publicKey: key.pub, principals: ['x'], ttlMs: 2 * H },
      ACTORS.admin,
    );
    await a.ssh.rotateCa({ type: 'user', name: 'job-users-2' }, ACTORS.admin);
    const status = async () => (await a.ssh.getCa('job-users')).ca.status;
    await app.pkim.jobs!.runOnce();
    expect(await status()).toBe('rotating'); // still trusted: its certificate is valid

    clock.set(cert.certificate.validBefore + 1000);
    await app.pkim.jobs!.runOnce();
    expect(await status()).toBe('retired');
    expect((await a.ssh.trust()).userCaKeys).not.toContain((await a.ssh.getCa('job-users')).publicKey.split(' ')[1]);
  });
});
