import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import {
  ACTORS,
  callerFor,
  openAuthorityFixture,
  pkiCodeOf,
  trpcError,
  type AuthorityFixture,
} from './server-test-support';
import { describeCertificate, generateSshKey, krlRevokes, makeTempDir } from '../../../tests/support/openssh';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';

const DAY = 86_400_000;

describe('tRPC spiffe.* (admin procedures)', () => {
  let fx: AuthorityFixture;
  const clock = fixedClock(Date.now());
  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock, ephemeral: true });
  });
  afterAll(async () => fx?.close());

  it('initialises, reports status, lists SVIDs, denies and allows, rotates and purges', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    expect((await admin.spiffe.status()).status).toBe('uninitialized');
    const init = await admin.spiffe.init({ trustDomain: TD });
    expect(init.created).toEqual(['root', 'services', 'transport']);
    expect((await admin.spiffe.init({ trustDomain: TD })).created).toEqual([]);
    expect(pkiCodeOf(await trpcError(admin.spiffe.init({ trustDomain: 'other.org' })))).toBe(
      'spiffe.trust_domain_mismatch',
    );

    const token = (
      await fx.authority.auth.createToken({ name: 'w', role: 'operator', scopes: ['spiffe:sign'] }, ACTORS.admin)
    ).token;
    const id = spiffeIdFor('node', 'n-1');
    const svid = await fx.authority.spiffe.sign(
      { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'n-1', ttlSeconds: 600 },
      { bearerToken: token },
    );
    const status = await admin.spiffe.status();
    expect(status).toMatchObject({ status: 'healthy', trustDomain: TD, activeCertCount: 1, warnings: [] });
    const listed = await admin.spiffe.list({ spiffeId: id });
    expect(listed.items.map((i) => [i.serial, i.state])).toEqual([[svid.serial, 'current']]);

    const denied = await admin.spiffe.deny({ spiffeId: id, reason: 'compromised host' });
    expect(denied.currentCertificates.map((c) => c.serial)).toEqual([svid.serial]);
    expect((await admin.spiffe.denied()).items.map((d) => [d.spiffeId, d.reason])).toEqual([[id, 'compromised host']]);
    expect((await admin.spiffe.status()).deniedIdentityCount).toBe(1);
    expect(await admin.spiffe.allow({ spiffeId: id })).toEqual({ spiffeId: id, wasDenied: true });
    expect(await admin.spiffe.denied()).toEqual({ items: [], nextCursor: null });
    const badId = await trpcError(admin.spiffe.deny({ spiffeId: 'https://x/y', reason: 'x' }));
    expect([badId.code, pkiCodeOf(badId)]).toEqual(['BAD_REQUEST', 'spiffe.invalid_id']);

    const rot = await admin.spiffe.rotate({ role: 'services' });
    expect(rot.oldKeptUntil).toBe(svid.expiresAt);
    // every CA of the bundle, the superseded services CA with the time it leaves the bundle and the SVID that
    // chains to it; the bundle route publishes exactly these
    const rotated = await admin.spiffe.status();
    expect(
      rotated.bundleCas.map((c) => [c.role, c.id, c.state, c.inBundleUntil, c.role === 'root' ? 0 : c.issuedCertCount]),
    ).toEqual([
      ['root', status.rootCa!.id, 'current', null, 0],
      ['services', rot.newCaId, 'current', null, 0],
      ['services', rot.oldCaId, 'superseded', svid.expiresAt, 1],
      ['transport', status.transportCa!.id, 'current', null, 0],
    ]);
    expect(rotated.servicesCa!.id).toBe(rot.newCaId);
    const bundle = await fx.authority.spiffe.bundle();
    expect(bundle.servicesBundle.length + bundle.transportBundle.length - 2).toBe(rotated.bundleCas.length - 1);

    expect(await admin.spiffe.purge()).toEqual({ purged: 0 });
    clock.advance(DAY + 3_600_000);
    expect(await admin.spiffe.purge()).toEqual({ purged: 1 });
    expect((await admin.spiffe.list({ spiffeId: id })).items).toEqual([]);
  });

  it('refuses every SPIFFE procedure to an operator, and rejects input before anything changes', async () => {
    const operator = callerFor(fx.authority, ACTORS.operator);
    expect((await trpcError(operator.spiffe.status())).code).toBe('FORBIDDEN');
    expect((await trpcError(operator.spiffe.deny({ spiffeId: spiffeIdFor('node', 'x'), reason: 'r' }))).code).toBe(
      'FORBIDDEN',
    );
    const admin = callerFor(fx.authority, ACTORS.admin);
    const e = await trpcError(admin.spiffe.rotate({ role: 'root' as never }));
    expect(e.code).toBe('BAD_REQUEST'); // zod: services or transport only
  });
});

describe('tRPC ssh.* (CAs, certificates, KRL status, fleet tokens)', () => {
  let fx: AuthorityFixture;
  const keys = makeTempDir('pkim-ssh-trpc-');
  beforeAll(async () => {
    fx = await openAuthorityFixture();
  });
  afterAll(async () => {
    await fx?.close();
    keys.cleanup();
  });

  it('creates a CA, issues a user certificate ssh-keygen reads, revokes it into the KRL, reports the KRL', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    const operator = callerFor(fx.authority, ACTORS.operator);
    const auditor = callerFor(fx.authority, ACTORS.auditor);
    const ca = await admin.ssh.createCa({ name: 'users', type: 'user', keyType: 'ed25519', maxTtl: '1d' });
    expect(ca).toMatchObject({ name: 'users', type: 'user', environment: 'default', status: 'active', maxTtl: '1d' });
    expect(ca.publicKey).toMatch(/^ssh-ed25519 AAAA/);
    expect((await auditor.ssh.listCas()).items.map((c) => c.name)).toEqual(['users']);

    const key = generateSshKey(keys.dir, 'alice');
    const issued = await operator.ssh.issue({
      ca: 'users',
      publicKey: key.pub,
      principals: ['alice', 'deploy'],
      ttl: '1h',
      criticalOptions: { 'force-command': '/usr/bin/id' },
    });
    const listing = describeCertificate(issued.line);
    expect(listing).toMatch(/Type: ssh-ed25519-cert-v01@openssh.com user certificate/);
    expect(listing).toMatch(new RegExp(`Serial: ${issued.serial}`));
    expect(listing).toMatch(/Principals:\s+alice\s+deploy/);
    expect(listing).toMatch(/force-command \/usr\/bin\/id/);

    const tooLong = await trpcError(operator.ssh.issue({ ca: 'users', publicKey: key.pub, ttl: '30d' }));
    expect([tooLong.code, pkiCodeOf(tooLong)]).toEqual(['UNPROCESSABLE_CONTENT', 'policy.lifetime_exceeded']);

    const page = await auditor.ssh.listCertificates({ ca: 'users' });
    expect(page.items.map((c) => [c.serial, c.status, c.ca])).toEqual([[issued.serial, 'active', 'users']]);
    const [before] = (await auditor.ssh.krlStatus({ ca: 'users' })).items;
    expect(before).toMatchObject({ ca: 'users', revokedCount: 0, url: '/ssh/krl/ca/users' });

    expect((await trpcError(auditor.ssh.revoke({ ca: 'users', serial: issued.serial }))).code).toBe('FORBIDDEN');
    const r = await operator.ssh.revoke({ ca: 'users', serial: issued.serial, reason: 'laptop lost' });
    expect(r.revoked).toEqual([issued.serial]);
    const [after] = (await auditor.ssh.krlStatus({ ca: 'users' })).items;
    expect(after!.version).toBeGreaterThan(before!.version);
    expect(after!.revokedCount).toBe(1);
    expect(after!.etag).not.toBe(before!.etag);
    const krl = await fx.authority.ssh.caKrl('users');
    expect(krlRevokes(krl.krl, issued.line)).toBe(true); // ssh-keygen -Q
    expect((await auditor.ssh.listCertificates({ status: 'revoked' })).items[0]).toMatchObject({
      serial: issued.serial,
      revocationReason: 'serial laptop lost', // how it was revoked (serial|key|keyid), then the reason
    });
  });

  it('creates a fleet token (secret shown once, never its hash), lists and revokes it; admin only', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    const created = await admin.ssh.createFleetToken({
      name: 'bootstrap',
      operations: ['sign-host'],
      ratePerMinute: 5,
    });
    expect(created.token).toMatch(/^pkimf_/);
    const listed = (await admin.ssh.fleetTokens()).items;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: 'bootstrap', environment: 'default', ratePerMinute: 5, revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(Object.keys(listed[0]!)).not.toContain('tokenHash');
    expect((await trpcError(callerFor(fx.authority, ACTORS.operator).ssh.fleetTokens())).code).toBe('FORBIDDEN');
    await admin.ssh.revokeFleetToken({ id: created.id });
    expect((await admin.ssh.fleetTokens()).items[0]!.revokedAt).not.toBeNull();
    const again = await trpcError(admin.ssh.revokeFleetToken({ id: created.id }));
    expect(pkiCodeOf(again)).toBe('token.already_revoked');
  });
});
