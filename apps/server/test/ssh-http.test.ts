/**
 * The SSH transport over Fastify inject: KRLs per CA and per host with a monotonic version and ETag/If-None-Match,
 * trust files, fleet-token signing (scoped, rate-limited, idempotent), the authenticated sign/revoke routes.
 * KRLs and certificates are read back by the real ssh-keygen.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import type { Authority } from '@pkim/authority';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { describeCertificate, generateSshKey, sshKeygen } from '../../../tests/support/openssh';

describe('SSH over HTTP', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let dir: string;
  let apiToken: string;
  let hostKey: { path: string; pub: string };
  let userKey: { path: string; pub: string };

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    authority = fx.authority;
    dir = mkdtempSync(join(tmpdir(), 'pkim-ssh-http-'));
    hostKey = generateSshKey(dir, 'host_key');
    userKey = generateSshKey(dir, 'user_key');
    await authority.ssh.createEnvironment({ name: 'prod' }, ACTORS.admin);
    await authority.ssh.createCa({ name: 'prod-users', type: 'user', environment: 'prod' }, ACTORS.admin);
    await authority.ssh.createCa(
      { name: 'prod-hosts', type: 'host', environment: 'prod', keyType: 'ec-p256' },
      ACTORS.admin,
    );
    apiToken = (await authority.auth.createToken({ name: 'ssh-ops', role: 'operator' }, ACTORS.admin)).token;
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const krlCheck = (krl: Buffer, certLine: string) => {
    writeFileSync(join(dir, 'check.krl'), krl);
    writeFileSync(join(dir, 'check-cert.pub'), `${certLine}\n`);
    const r = sshKeygen(['-Q', '-f', join(dir, 'check.krl'), join(dir, 'check-cert.pub')]);
    return r.stdout + r.stderr;
  };

  it('signs through the API with an operator token, serves the KRL with versions and ETags, revokes', async () => {
    const signed = await app.inject({
      method: 'POST',
      url: '/api/v1/ssh/sign',
      headers: { authorization: `Bearer ${apiToken}` },
      payload: { ca: 'prod-users', publicKey: userKey.pub, principals: ['deploy'], ttl: '2h' },
    });
    expect(signed.statusCode, signed.body).toBe(200);
    const cert = signed.json();
    expect(describeCertificate(cert.certificate)).toMatch(/Principals: \n\s+deploy\n/);

    const k0 = await app.inject({ method: 'GET', url: '/ssh/krl/ca/prod-users' });
    expect(k0.statusCode).toBe(200);
    expect(k0.headers['x-krl-version']).toBe('0');
    expect(k0.headers['content-type']).toBe('application/octet-stream');
    expect(krlCheck(k0.rawPayload, cert.certificate)).toMatch(/: ok/);
    const etag0 = k0.headers.etag!;
    const same = await app.inject({
      method: 'GET',
      url: '/ssh/krl/ca/prod-users',
      headers: { 'if-none-match': etag0 },
    });
    expect(same.statusCode).toBe(304);
    const weak = await app.inject({
      method: 'GET',
      url: '/ssh/krl/ca/prod-users',
      headers: { 'if-none-match': `W/${etag0}` }, // a compressing proxy's weakened tag (RFC 9110: compared weakly)
    });
    expect(weak.statusCode).toBe(304);

    // an auditor may read but not revoke; a revocation needs ssh:revoke
    const auditorToken = (await authority.auth.createToken({ name: 'aud', role: 'auditor' }, ACTORS.admin)).token;
    const refused = await app.inject({
      method: 'POST',
      url: '/api/v1/ssh/revoke',
      headers: { authorization: `Bearer ${auditorToken}` },
      payload: { ca: 'prod-users', serial: cert.serial },
    });
    expect(refused.statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/ssh/krl/ca/prod-users' })).headers.etag).toBe(etag0);

    const rev = await app.inject({
      method: 'POST',
      url: '/api/v1/ssh/revoke',
      headers: { authorization: `Bearer ${apiToken}` },
      payload: { ca: 'prod-users', serial: cert.serial },
    });
    expect(rev.statusCode, rev.body).toBe(200);
    expect(rev.json()).toEqual({ revoked: [cert.serial], krlVersion: 1 });
    const k1 = await app.inject({ method: 'GET', url: '/ssh/krl/ca/prod-users', headers: { 'if-none-match': etag0 } });
    expect(k1.statusCode).toBe(200);
    expect(k1.headers['x-krl-version']).toBe('1');
    expect(k1.headers.etag).not.toBe(etag0);
    expect(krlCheck(k1.rawPayload, cert.certificate)).toMatch(/REVOKED/);

    const again = await app.inject({
      method: 'POST',
      url: '/api/v1/ssh/revoke',
      headers: { authorization: `Bearer ${apiToken}` },
      payload: { ca: 'prod-users', serial: cert.serial },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('ssh.certificate_already_revoked');
    expect((await app.inject({ method: 'GET', url: '/ssh/krl/ca/prod-users' })).headers['x-krl-version']).toBe('1');
  });

  it('bootstraps hosts with a fleet token: scoped, idempotent, rate-limited', async () => {
    const { token } = await authority.ssh.createFleetToken(
      { name: 'boot', environment: 'prod', operations: ['sign-host'], ratePerMinute: 4 },
      ACTORS.admin,
    );
    const sign = (payload: unknown, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/ssh/fleet/sign',
        headers: { authorization: `Bearer ${token}`, ...headers },
        payload: payload as Record<string, unknown>,
      });
    const first = await sign(
      { type: 'host', publicKey: hostKey.pub, host: 'web7', principals: ['web7.prod.example'] },
      { 'idempotency-key': 'boot-web7' },
    );
    expect(first.statusCode, first.body).toBe(200);
    expect(describeCertificate(first.json().certificate)).toContain('host certificate');
    const retry = await sign(
      { type: 'host', publicKey: hostKey.pub, host: 'web7', principals: ['web7.prod.example'] },
      { 'idempotency-key': 'boot-web7' },
    );
    expect(retry.json()).toMatchObject({ serial: first.json().serial, replayed: true });
    expect((await authority.ssh.listHosts('prod')).map((h) => h.name)).toContain('web7');

    const otherKey = generateSshKey(dir, 'other_host_key');
    const conflict = await sign(
      { type: 'host', publicKey: otherKey.pub, host: 'web7' },
      { 'idempotency-key': 'boot-web7' },
    );
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('ssh.idempotency_conflict');

    const userOp = await sign({ type: 'user', publicKey: userKey.pub, user: 'nobody' });
    expect(userOp.statusCode).toBe(403); // sign-user is not among this token's operations
    const fifth = await sign({ type: 'host', publicKey: otherKey.pub, host: 'web8' });
    expect(fifth.statusCode).toBe(429); // the fifth request of the minute: refused before anything else
    expect(fifth.json().code).toBe('rate.limited');
    expect((await authority.ssh.listHosts('prod')).map((h) => h.name)).not.toContain('web8');
    const bad = await app.inject({
      method: 'POST',
      url: '/ssh/fleet/sign',
      headers: { authorization: 'Bearer pkimf_wrong' },
      payload: { type: 'host', publicKey: hostKey.pub, host: 'x' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('ssh.fleet_token_invalid');
  });

  it('refuses a fleet token outside its operations', async () => {
    const { token } = await authority.ssh.createFleetToken(
      { name: 'hosts-only', environment: 'prod', operations: ['sign-host'] },
      ACTORS.admin,
    );
    const r = await app.inject({
      method: 'POST',
      url: '/ssh/fleet/sign',
      headers: { authorization: `Bearer ${token}` },
      payload: { type: 'user', publicKey: userKey.pub, user: 'x' },
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('ssh.operation_not_allowed');
  });

  it('serves trust files and the per-host KRL', async () => {
    const keys = await app.inject({ method: 'GET', url: '/ssh/trust/prod/user-ca-keys' });
    expect(keys.statusCode).toBe(200);
    expect(keys.body).toMatch(/^ssh-ed25519 \S+ prod-users\n$/);
    const kh = await app.inject({ method: 'GET', url: '/ssh/trust/prod/known-hosts' });
    expect(kh.body).toMatch(/^@cert-authority web7\.prod\.example ecdsa-sha2-nistp256 \S+ prod-hosts\n$/);
    const hk = await app.inject({ method: 'GET', url: '/ssh/krl/prod/hosts/web7' });
    expect(hk.statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/ssh/krl/prod/hosts/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('ssh.host_not_found');
  });
});
