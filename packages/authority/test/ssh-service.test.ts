/**
 * SSH service behaviours beyond the CLI/HTTP tests: CA rotation (active → rotating → retired after the last
 * certificate expires, both trusted during the overlap), key-id revocation, API-token resource limits (the
 * shared provisioner model), registry errors — with certificates and KRLs read back by the real ssh-keygen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { fixedClock } from '@pkim/shared';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { expectPkiError } from '../../../tests/support/test-kit';
import { describeCertificate, generateSshKey, sshKeygen } from '../../../tests/support/openssh';

const admin: Actor = { id: 'cli:test', role: 'admin' };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('SSH service', () => {
  let tmp: ReturnType<typeof tempDir>;
  let a: Authority;
  const clock = fixedClock(Date.UTC(2026, 11, 1, 12, 0, 0));
  let key: { path: string; pub: string };

  beforeAll(async () => {
    tmp = tempDir();
    a = await createAuthority({ dataDir: tmp.dir, logger: pino({ level: 'silent' }), clock });
    key = generateSshKey(tmp.dir, 'id');
  });
  afterAll(async () => {
    await a?.close();
    tmp?.cleanup();
  });

  it('rotates: the new CA signs, the old one is trusted until its last certificate expires, then retires', async () => {
    const old = await a.ssh.createCa({ name: 'eng-users', type: 'user', environment: 'default' }, admin);
    const before = await a.ssh.sign(
      { ca: 'eng-users', type: 'user', publicKey: key.pub, principals: ['eng'], ttlMs: 2 * HOUR },
      admin,
    );
    const r = await a.ssh.rotateCa({ type: 'user', name: 'eng-users-2', keyType: 'ec-p256' }, admin);
    expect(r.rotating.map((c) => c.name)).toEqual(['eng-users']);
    expect(r.created.ca.keyType).toBe('ec-p256');
    await expectPkiError(
      a.ssh.sign({ ca: 'eng-users', type: 'user', publicKey: key.pub, principals: ['eng'] }, admin),
      'ssh.ca_not_active',
    );
    const after = await a.ssh.sign({ ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['eng'] }, admin);
    expect(describeCertificate(after.line)).toContain('(using ecdsa-sha2-nistp256)');
    const trust = await a.ssh.trust();
    expect(trust.userCaKeys.trim().split('\n')).toEqual([old.publicKey, r.created.publicKey]);

    // not yet: the old CA's certificate is still valid
    expect(await a.ssh.retireExpiredCas(admin)).toEqual([]);
    clock.advance(2 * HOUR + 1000);
    expect((await a.ssh.retireExpiredCas(admin)).map((c) => c.name)).toEqual(['eng-users']);
    expect((await a.ssh.trust()).userCaKeys.trim().split('\n')).toEqual([r.created.publicKey]);
    expect((await a.ssh.getCa('eng-users')).ca.status).toBe('retired');
    expect(before.certificate.caId).toBe(old.ca.id);
    const events = await a.audit.list({ action: 'ssh_ca.retired' });
    expect(events.map((e) => e.target)).toEqual([old.ca.id]);
  });

  it('revokes every certificate of a key id; ssh-keygen -Q agrees', async () => {
    const c1 = await a.ssh.sign(
      { ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['eng'], keyId: 'laptop-42' },
      admin,
    );
    const c2 = await a.ssh.sign(
      { ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['eng'], keyId: 'laptop-42' },
      admin,
    );
    const other = await a.ssh.sign(
      { ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['eng'], keyId: 'desktop' },
      admin,
    );
    const r = await a.ssh.revoke({ ca: 'eng-users-2', keyId: 'laptop-42' }, admin);
    expect(r.revoked.map((c) => c.serial).sort()).toEqual([c1.certificate.serial, c2.certificate.serial].sort());
    const krl = join(tmp.dir, 'eng.krl');
    writeFileSync(krl, (await a.ssh.caKrl('eng-users-2')).krl);
    const q = (line: string) => {
      writeFileSync(join(tmp.dir, 'q-cert.pub'), `${line}\n`);
      return sshKeygen(['-Q', '-f', krl, join(tmp.dir, 'q-cert.pub')]).stdout;
    };
    expect(q(c1.line)).toMatch(/REVOKED/);
    expect(q(c2.line)).toMatch(/REVOKED/);
    expect(q(other.line)).toMatch(/: ok/);
  });

  it('applies an API token’s resource limits (CAs, lifetime) like the X.509 pipeline', async () => {
    const limited: Actor = {
      id: 'tok_limited',
      role: 'operator',
      resources: { cas: ['eng-users-2'], maxLifetimeMs: HOUR },
    };
    await a.ssh.createCa({ name: 'other-users', type: 'user' }, admin);
    await expectPkiError(
      a.ssh.sign({ ca: 'other-users', type: 'user', publicKey: key.pub, principals: ['x'] }, limited),
      'provisioner.ca_not_allowed',
    );
    const long = await expectPkiError(
      a.ssh.sign({ ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['x'], ttlMs: 2 * HOUR }, limited),
      'provisioner.lifetime_exceeded',
    );
    expect(long.message).toContain('a lifetime of 2h exceeds the maximum of 1h'); // was '7200 s … 3600 s'
    const beyondCa = await expectPkiError(
      a.ssh.sign(
        { ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['x'], ttlMs: 2 * 365 * DAY },
        admin,
      ),
      'policy.lifetime_exceeded',
    );
    expect(beyondCa.message).toMatch(/^the requested lifetime 2y exceeds the SSH CA eng-users-2 maximum of \d+[dh]$/);
    const ok = await a.ssh.sign(
      { ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['x'], ttlMs: HOUR },
      limited,
    );
    expect(ok.certificate.provisioner).toBe('token:tok_limited');
    const auditor: Actor = { id: 'usr_aud', role: 'auditor' };
    await expectPkiError(
      a.ssh.sign({ ca: 'eng-users-2', type: 'user', publicKey: key.pub, principals: ['x'] }, auditor),
      'auth.forbidden',
    );
  });

  it('keeps registry names unique and refers to what exists', async () => {
    await a.ssh.addUser({ name: 'dora' }, admin);
    await expectPkiError(a.ssh.addUser({ name: 'dora' }, admin), 'ssh.name_taken');
    await expectPkiError(a.ssh.grant({ user: 'dora', principal: 'nope' }, admin), 'ssh.principal_not_found');
    await expectPkiError(a.ssh.grant({ user: 'nobody', principal: 'nope' }, admin), 'ssh.user_not_found');
    await expectPkiError(a.ssh.addHost({ name: 'bad host' }, admin), 'input.invalid');
    await expectPkiError(a.ssh.createCa({ name: 'eng-users', type: 'user' }, admin), 'ssh.ca_name_taken');
    await expectPkiError(
      a.ssh.createCa({ name: 'dsa', type: 'user', keyType: 'rsa-2048' }, admin),
      'ssh.unsupported_key',
    );
    await a.ssh.addPrincipal({ name: 'ops' }, admin);
    await a.ssh.addHost({ name: 'app1' }, admin);
    await a.ssh.mapAccount({ host: 'app1', account: 'deploy', principal: 'ops' }, admin);
    expect(await a.ssh.principalsFiles(undefined, 'app1')).toEqual({ deploy: 'ops\n' });
    const bundle = await a.ssh.hostBundle({ host: 'app1', dir: '/etc/ssh/pkim' }, admin);
    expect(bundle.files['sshd_config.d/pkim.conf']).toContain('AuthorizedPrincipalsFile /etc/ssh/pkim/principals/%u');
    expect(bundle.files['principals/deploy']).toBe('ops\n');
  });
});
