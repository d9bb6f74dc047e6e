/**
 * The SSH CA end to end with real OpenSSH, driven through the `pkim ssh …` contract commands:
 * ssh-keygen -L reads the certificates, ssh-keygen -Q reads the KRL, and a real sshd on 127.0.0.1
 * (TrustedUserCAKeys, RevokedKeys, HostCertificate, AuthorizedPrincipalsFile) lets a user certificate
 * in, refuses it after revocation + KRL refresh, and an `ssh` client with only `@cert-authority` in its
 * known_hosts accepts the host certificate with StrictHostKeyChecking yes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { runPkim } from '../../../tests/support/cli-in-process';
import {
  describeCertificate,
  generateSshKey,
  runSsh,
  sshKeygen,
  startSshd,
  type RunningSshd,
} from '../../../tests/support/openssh';

// Each `pkim` run starts a Node process (seconds on a loaded machine): the contract commands run through
// the CLI, the rest of the setup through the same authority in-process, on the same data directory.
const SLOW = 300_000;
const admin: Actor = { id: 'cli:test', role: 'admin' };
let work: string;
let dataDir: string;
let a: Authority;
const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: work });
const ok = (...args: string[]) => {
  const r = pkim(...args);
  if (r.code !== 0) throw new Error(`pkim ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pkim-ssh-e2e-'));
  dataDir = join(work, 'data');
  a = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await a?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('pkim ssh with real OpenSSH', () => {
  let sshd: RunningSshd | undefined;
  afterAll(async () => {
    await sshd?.stop();
  });

  it(
    'signs user and host certificates that ssh-keygen -L prints with the requested fields',
    () => {
      const userCa = ok('ssh', 'ca', 'create', '--name', 'users', '--type', 'user', '--json').json();
      expect(userCa.publicKey).toMatch(/^ssh-ed25519 AAAA\S+ users$/);
      const hostCa = ok('ssh', 'ca', 'create', '--name', 'hosts', '--type', 'host', '--key-type', 'ec-p384', '--json');
      expect(hostCa.json().publicKey).toMatch(/^ecdsa-sha2-nistp384 /);

      const id = generateSshKey(work, 'id_ed25519');
      const signed = ok(
        'ssh',
        'sign',
        '--ca',
        'users',
        '--public-key',
        `${id.path}.pub`,
        '--principal',
        'alice,bob',
        '--ttl',
        '1h',
        '--force-command',
        'echo forced',
        '--source-address',
        '127.0.0.1/32',
        '--extension',
        'permit-pty',
        '--out',
        join(work, 'probe-cert.pub'),
        '--json',
      ).json();
      const out = describeCertificate(readFileSync(join(work, 'probe-cert.pub'), 'utf8'));
      expect(out).toContain('Type: ssh-ed25519-cert-v01@openssh.com user certificate');
      expect(out).toContain(`Serial: ${signed.serial}`);
      expect(out).toContain(`Key ID: "${signed.keyId}"`);
      expect(out).toMatch(/Principals: \n\s+alice\n\s+bob\n/);
      expect(out).toMatch(/Critical Options: \n\s+force-command echo forced\n\s+source-address 127\.0\.0\.1\/32\n/);
      expect(out).toMatch(/Extensions: \n\s+permit-pty\n/);
      const valid = /Valid: from (\S+) to (\S+)/.exec(out)!;
      const lifetime = Date.parse(`${valid[2]}Z`) - Date.parse(`${valid[1]}Z`);
      expect(lifetime).toBe(65 * 60_000); // 1h plus the 5-minute backdating
      expect(out).toContain(userCa.fingerprint);

      const hostKey = generateSshKey(work, 'ssh_host_ed25519_key');
      ok(
        'ssh',
        'sign',
        '--ca',
        'hosts',
        '--public-key',
        `${hostKey.path}.pub`,
        '--host',
        '--principal',
        'sshd.test,localhost',
        '--ttl',
        '30d',
        '--out',
        `${hostKey.path}-cert.pub`,
      );
      const hostOut = describeCertificate(readFileSync(`${hostKey.path}-cert.pub`, 'utf8'));
      expect(hostOut).toContain('Type: ssh-ed25519-cert-v01@openssh.com host certificate');
      expect(hostOut).toMatch(/Principals: \n\s+sshd\.test\n\s+localhost\n/);
      expect(hostOut).toContain('(using ecdsa-sha2-nistp384)');
      expect(hostOut).toMatch(/Extensions: \(none\)/);
    },
    SLOW,
  );

  it(
    'logs in with a user certificate, is refused after revocation and KRL refresh; trusts the host CA',
    async () => {
      const trustDir = join(work, 'sshd-trust');
      mkdirSync(join(trustDir, 'principals'), { recursive: true });
      const trust = await a.ssh.trust();
      writeFileSync(join(trustDir, 'trusted_user_ca_keys.pub'), trust.userCaKeys);
      // principal alice may log in as the local account the test runs as (root)
      writeFileSync(join(trustDir, 'principals', 'root'), 'alice\n');
      const krlPath = join(trustDir, 'revoked.krl');
      writeFileSync(krlPath, (await a.ssh.caKrl('users')).krl);

      const hostKey = join(work, 'ssh_host_ed25519_key');
      sshd = await startSshd({
        hostKey,
        config: [
          `TrustedUserCAKeys ${join(trustDir, 'trusted_user_ca_keys.pub')}`,
          `RevokedKeys ${krlPath}`,
          `HostCertificate ${hostKey}-cert.pub`,
          `AuthorizedPrincipalsFile ${join(trustDir, 'principals')}/%u`,
        ],
      });

      const user = generateSshKey(work, 'alice_key');
      const issue = async () => {
        const r = await a.ssh.sign(
          { ca: 'users', type: 'user', publicKey: user.pub, principals: ['alice'], ttlMs: 3_600_000 },
          admin,
        );
        writeFileSync(`${user.path}-cert.pub`, `${r.line}\n`);
        return r.certificate;
      };
      const issued = await issue();

      // known_hosts holds only the host CA line from `trust`: no host key of sshd is known to the client
      expect(trust.knownHosts).toMatch(/^@cert-authority \* ecdsa-sha2-nistp384 /);
      const knownHosts = join(work, 'known_hosts');
      writeFileSync(knownHosts, trust.knownHosts);
      const login = (kh = knownHosts) =>
        runSsh({
          port: sshd!.port,
          user: 'root',
          identity: user.path,
          knownHosts: kh,
          hostAlias: 'sshd.test',
          command: 'echo logged-in-as-$(id -un)',
        });

      const first = await login();
      expect(first.status, first.stderr + sshd.log()).toBe(0);
      expect(first.stdout.trim()).toBe('logged-in-as-root');
      expect(readFileSync(knownHosts, 'utf8')).toBe(trust.knownHosts); // nothing learned, nothing prompted

      // a client that does not trust the host CA refuses the host (no prompt: StrictHostKeyChecking yes)
      const emptyKnownHosts = join(work, 'known_hosts_empty');
      writeFileSync(emptyKnownHosts, '');
      const strict = await login(emptyKnownHosts);
      expect(strict.status).not.toBe(0);
      expect(strict.stderr).toMatch(/Host key verification failed/);

      // revoke and refresh the KRL file sshd reads (the contract commands): the same login is refused
      const rev = ok('ssh', 'revoke', '--ca', 'users', issued.serial, '--json').json();
      expect(rev.krlVersion).toBe(1);
      const before = readFileSync(krlPath);
      ok('ssh', 'krl', '--ca', 'users', '--out', krlPath);
      expect(readFileSync(krlPath).equals(before)).toBe(false);
      const q = sshKeygen(['-Q', '-f', krlPath, `${user.path}-cert.pub`]);
      expect(q.stdout + q.stderr).toMatch(/REVOKED/);
      const second = await login();
      expect(second.status).not.toBe(0);
      expect(second.stderr).toMatch(/Permission denied/);
      expect(sshd.log()).toMatch(/revoked/i);

      // a fresh certificate for the same principal still works: only the revoked one is out
      await issue();
      const third = await login();
      expect(third.status, third.stderr).toBe(0);
    },
    SLOW,
  );
});

describe('pkim ssh refuses bad input: clear errors, audited, nothing issued', () => {
  const count = async () => (await a.ssh.listCertificates({ ca: 'users', limit: 1000 })).items.length;
  const lastFailure = async () =>
    (await a.audit.list({ action: 'ssh_certificate.issue_failed', order: 'desc', limit: 1 }))[0];

  beforeAll(async () => {
    await a.ssh.addUser({ name: 'carol' }, admin);
    await a.ssh.addPrincipal({ name: 'carol' }, admin);
    await a.ssh.addPrincipal({ name: 'admins' }, admin);
    await a.ssh.grant({ user: 'carol', principal: 'carol' }, admin);
    await a.ssh.addHost({ name: 'db1', principals: ['db1.example.com'] }, admin);
    await a.ssh.addHost({ name: 'web1' }, admin);
    await a.ssh.block({ user: 'carol', host: 'db1', reason: 'no database access' }, admin);
  });

  it(
    'prints one error line and exits non-zero for a malformed public key (CLI)',
    async () => {
      writeFileSync(join(work, 'garbage.pub'), 'garbage\n');
      const n = await count();
      const r = pkim('ssh', 'sign', '--ca', 'users', '--public-key', join(work, 'garbage.pub'), '--principal', 'x');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: ssh\.invalid_public_key: .+\n$/);
      expect(await count()).toBe(n);
      expect((await lastFailure())?.details).toMatchObject({ code: 'ssh.invalid_public_key' });
    },
    SLOW,
  );

  it.each([
    ['a principal not granted to the user', { user: 'carol', principals: ['admins'] }, 'ssh.principal_not_allowed'],
    ['a host the user is blocked on', { user: 'carol', host: 'db1' }, 'ssh.blocked'],
    ['a validity beyond the CA cap', { principals: ['x'], ttlMs: 400 * 86_400_000 }, 'policy.lifetime_exceeded'],
    [
      'a malformed source-address',
      { principals: ['x'], criticalOptions: { 'source-address': 'x.org' } },
      'ssh.invalid_request',
    ],
    ['a user certificate from the host CA', { ca: 'hosts', principals: ['x'] }, 'ssh.invalid_request'],
    ['a weak RSA key', { principals: ['x'], publicKey: 'rsa1024' }, 'ssh.weak_key'],
  ])('%s', async (_name, patch, code) => {
    const input = {
      ca: 'users',
      type: 'user' as const,
      publicKey: readFileSync(join(work, 'id_ed25519.pub'), 'utf8'),
      ...patch,
    };
    if (input.publicKey === 'rsa1024') input.publicKey = generateSshKey(work, 'weak_rsa', 'rsa', 1024).pub;
    const n = await count();
    const e = await a.ssh.sign(input, admin).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(PkiError);
    expect((e as PkiError).code).toBe(code);
    expect(await count()).toBe(n);
    const failure = await lastFailure();
    expect(failure?.outcome).toBe('failure');
    expect(failure?.details).toMatchObject({ code });
  });

  it('issues for granted principals on hosts the user is not blocked on; lists the block in the host KRL', async () => {
    const c = await a.ssh.sign(
      {
        ca: 'users',
        type: 'user',
        publicKey: readFileSync(join(work, 'id_ed25519.pub'), 'utf8'),
        user: 'carol',
        host: 'web1',
      },
      admin,
    );
    expect(c.certificate.principals).toEqual(['carol']);
    const certFile = join(work, 'carol-cert.pub');
    writeFileSync(certFile, `${c.line}\n`);
    const db1Krl = join(work, 'db1.krl');
    const web1Krl = join(work, 'web1.krl');
    writeFileSync(db1Krl, (await a.ssh.hostKrl('default', 'db1')).krl);
    writeFileSync(web1Krl, (await a.ssh.hostKrl('default', 'web1')).krl);
    expect(sshKeygen(['-Q', '-f', db1Krl, certFile]).stdout).toMatch(/REVOKED/);
    expect(sshKeygen(['-Q', '-f', web1Krl, certFile]).stdout).toMatch(/: ok/);
  });
});
