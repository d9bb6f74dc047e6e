/**
 * OpenSSH certificates and KRLs from @pkim/core, checked by the real ssh-keygen (-L prints what we encoded,
 * -Q reports what our KRLs revoke) and against certificates and KRLs ssh-keygen itself writes.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import {
  encodeKrl,
  encodeSshCertificateTbs,
  formatSshPublicKey,
  isRevokedByKrl,
  issueSshCertificate,
  parseKrl,
  parseSshCertificate,
  parseSshPublicKey,
  sshPublicKeyBlobFromSpki,
  SSH_DEFAULT_USER_EXTENSIONS,
  SSH_EXTENSIONS,
  verifySshCertificate,
  type SshCaSigner,
  type SshCertificateInput,
} from '../src/index';
import { cachedKey } from './helpers';
import {
  describeCertificate,
  generateSshKey,
  krlRevokes,
  makeTempDir,
  sshKeygen,
} from '../../../tests/support/openssh';

const NOW = Date.UTC(2026, 11, 1, 21, 0, 0);
const HOUR = 3_600_000;

function signerFor(keyType: KeyType): SshCaSigner {
  const k = cachedKey(keyType);
  return { keyType, publicKey: k.publicKey, sign: (d) => k.sign(d) };
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PkiError) return e.code;
    throw e;
  }
  throw new Error('expected a PkiError');
}

let tmp: ReturnType<typeof makeTempDir>;
let userKey: { path: string; pub: string };
let hostKey: { path: string; pub: string };
beforeAll(() => {
  tmp = makeTempDir();
  userKey = generateSshKey(tmp.dir, 'id_ed25519');
  hostKey = generateSshKey(tmp.dir, 'ssh_host_ecdsa_key', 'ecdsa');
});
afterAll(() => tmp.cleanup());

describe('OpenSSH certificates, read back by ssh-keygen -L', () => {
  const caTypes: KeyType[] = ['ed25519', 'ec-p256', 'ec-p384', 'rsa-4096'];
  it.each(caTypes)('a %s CA signs a user certificate with principals, validity, options and extensions', async (kt) => {
    const issued = await issueSshCertificate(
      {
        publicKey: userKey.pub,
        serial: 123456789n,
        type: 'user',
        keyId: 'alice@example.com',
        principals: ['alice', 'bob'],
        validAfter: NOW,
        validBefore: NOW + HOUR,
        criticalOptions: { 'force-command': '/usr/bin/id -un', 'source-address': '127.0.0.1/32,10.0.0.0/8' },
        extensions: { 'permit-pty': true, 'permit-port-forwarding': true },
      },
      signerFor(kt),
      'alice',
    );
    const out = describeCertificate(issued.line);
    const sigAlg = { ed25519: 'ssh-ed25519', 'ec-p256': 'ecdsa-sha2-nistp256', 'ec-p384': 'ecdsa-sha2-nistp384' }[
      kt as string
    ];
    expect(out).toContain('Type: ssh-ed25519-cert-v01@openssh.com user certificate');
    expect(out).toContain(`(using ${sigAlg ?? 'rsa-sha2-256'})`);
    expect(out).toContain('Key ID: "alice@example.com"');
    expect(out).toContain('Serial: 123456789');
    expect(out).toContain('Valid: from 2026-12-01T21:00:00 to 2026-12-01T22:00:00');
    expect(out).toMatch(/Principals: \n\s+alice\n\s+bob\n/);
    expect(out).toMatch(
      /Critical Options: \n\s+force-command \/usr\/bin\/id -un\n\s+source-address 127\.0\.0\.1\/32,10\.0\.0\.0\/8\n/,
    );
    expect(out).toMatch(/Extensions: \n\s+permit-port-forwarding\n\s+permit-pty\n/);
    const caPub = formatSshPublicKey(sshPublicKeyBlobFromSpki(cachedKey(kt).publicKey));
    writeFileSync(join(tmp.dir, `ca-${kt}.pub`), caPub + '\n');
    const fp = sshKeygen(['-l', '-f', join(tmp.dir, `ca-${kt}.pub`)]).stdout.split(' ')[1];
    expect(fp).toMatch(/^SHA256:/);
    expect(out).toContain(
      `Signing CA: ${KEY_TYPE_INFO[kt].algorithm === 'rsa' ? 'RSA' : kt === 'ed25519' ? 'ED25519' : 'ECDSA'} ${fp}`,
    );
    expect(verifySshCertificate(parseSshCertificate(issued.line))).toBe(true);
  });

  it('signs a host certificate with host names as principals and no options', async () => {
    const issued = await issueSshCertificate(
      {
        publicKey: hostKey.pub,
        serial: 42n,
        type: 'host',
        keyId: 'host:web1',
        principals: ['web1.example.com', '10.1.2.3'],
        validAfter: NOW,
        validBefore: NOW + 30 * 24 * HOUR,
      },
      signerFor('ec-p256'),
    );
    const out = describeCertificate(issued.line);
    expect(out).toContain('Type: ecdsa-sha2-nistp256-cert-v01@openssh.com host certificate');
    expect(out).toMatch(/Principals: \n\s+web1\.example\.com\n\s+10\.1\.2\.3\n/);
    expect(out).toContain('Valid: from 2026-12-01T21:00:00 to 2026-12-31T21:00:00');
    expect(out).toMatch(/Critical Options: \(none\)/);
    expect(out).toMatch(/Extensions: \(none\)/);
  });

  it('certifies RSA subject keys too', async () => {
    const rsa = generateSshKey(tmp.dir, 'id_rsa', 'rsa', 3072);
    const issued = await issueSshCertificate(
      {
        publicKey: rsa.pub,
        serial: 7n,
        type: 'user',
        keyId: 'r',
        principals: ['r'],
        validAfter: NOW,
        validBefore: NOW + HOUR,
      },
      signerFor('ed25519'),
    );
    expect(describeCertificate(issued.line)).toContain('Type: ssh-rsa-cert-v01@openssh.com user certificate');
  });

  it('encodes byte for byte what ssh-keygen -s signs (same fields, Ed25519 CA)', () => {
    const caPath = join(tmp.dir, 'ca_ed25519');
    sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-f', caPath]);
    const keyCopy = join(tmp.dir, 'subject');
    writeFileSync(`${keyCopy}.pub`, userKey.pub + '\n');
    const r = sshKeygen([
      '-q',
      '-s',
      caPath,
      '-I',
      'kid',
      '-n',
      'alice,bob',
      '-z',
      '99',
      '-V',
      '20261201210000:20261201220000',
      '-O',
      'clear',
      '-O',
      'force-command=/bin/true',
      '-O',
      'permit-pty',
      '-O',
      'source-address=127.0.0.1',
      `${keyCopy}.pub`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const theirs = parseSshCertificate(readFileSync(`${keyCopy}-cert.pub`, 'utf8'));
    expect(verifySshCertificate(theirs)).toBe(true);
    const tbs = encodeSshCertificateTbs({
      publicKey: userKey.pub,
      serial: 99n,
      type: 'user',
      keyId: 'kid',
      principals: ['alice', 'bob'],
      validAfter: NOW,
      validBefore: NOW + HOUR,
      criticalOptions: { 'force-command': '/bin/true', 'source-address': '127.0.0.1' },
      extensions: { 'permit-pty': true },
      caPublicKey: theirs.caPublicKey,
      nonce: theirs.nonce,
    });
    expect(Buffer.from(tbs).equals(Buffer.from(theirs.tbs))).toBe(true);
  });

  it('grants a user certificate by default exactly the extensions ssh-keygen -s grants by default', () => {
    const caPath = join(tmp.dir, 'ca_defaults');
    sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-f', caPath]);
    const keyCopy = join(tmp.dir, 'defaults');
    writeFileSync(`${keyCopy}.pub`, userKey.pub + '\n');
    const r = sshKeygen(['-q', '-s', caPath, '-I', 'kid', '-n', 'alice', `${keyCopy}.pub`]);
    expect(r.status, r.stderr).toBe(0);
    const theirs = parseSshCertificate(readFileSync(`${keyCopy}-cert.pub`, 'utf8'));
    expect(Object.keys(theirs.extensions).sort()).toEqual([...SSH_DEFAULT_USER_EXTENSIONS].sort());
    expect(SSH_EXTENSIONS).toEqual(expect.arrayContaining([...SSH_DEFAULT_USER_EXTENSIONS]));
  });

  it('converts key backend SubjectPublicKeyInfo to the same SSH key ssh-keygen derives', () => {
    // ssh-keygen cannot import Ed25519 SPKI; the sshd test proves that conversion (TrustedUserCAKeys).
    for (const kt of ['ec-p256', 'ec-p384', 'rsa-4096'] as KeyType[]) {
      const pem = createPublicKey({ key: Buffer.from(cachedKey(kt).publicKey), format: 'der', type: 'spki' }).export({
        type: 'spki',
        format: 'pem',
      });
      const f = join(tmp.dir, `spki-${kt}.pem`);
      writeFileSync(f, pem);
      const r = sshKeygen(['-i', '-m', 'PKCS8', '-f', f]);
      expect(r.status, r.stderr).toBe(0);
      expect(formatSshPublicKey(sshPublicKeyBlobFromSpki(cachedKey(kt).publicKey))).toBe(r.stdout.trim());
    }
  });
});

describe('refuses bad certificate requests with clear errors', () => {
  const base = {
    serial: 1n,
    type: 'user' as const,
    keyId: 'k',
    principals: ['alice'],
    validAfter: NOW,
    validBefore: NOW + HOUR,
    caPublicKey: sshPublicKeyBlobFromSpki(cachedKey('ed25519').publicKey),
  };
  it.each([
    ['garbage', 'not a key', 'ssh.invalid_public_key'],
    ['truncated base64', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE', 'ssh.invalid_public_key'],
    [
      'type mismatch',
      'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIG9rZ29rZ29rZ29rZ29rZ29rZ29rZ29rZ29rZ29rZ29rZ29r',
      'ssh.invalid_public_key',
    ],
    ['PEM', '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----', 'ssh.invalid_public_key'],
  ])('malformed public key (%s)', (_n, key, code) => {
    expect(errorCode(() => encodeSshCertificateTbs({ ...base, publicKey: key }))).toBe(code);
  });

  it('weak RSA and DSA keys', () => {
    const rsa1024 = generateSshKey(tmp.dir, 'weak_rsa', 'rsa', 1024);
    expect(errorCode(() => parseSshPublicKey(rsa1024.pub))).toBe('ssh.weak_key');
    const dsa = 'ssh-dss ' + Buffer.from([0, 0, 0, 7, ...Buffer.from('ssh-dss')]).toString('base64');
    expect(errorCode(() => parseSshPublicKey(dsa))).toBe('ssh.unsupported_key');
  });

  it.each([
    ['no principals', { principals: [] }],
    ['a principal with a comma', { principals: ['a,b'] }],
    ['duplicate principals', { principals: ['a', 'a'] }],
    ['inverted validity', { validBefore: NOW - HOUR }],
    ['serial 0', { serial: 0n }],
    ['unknown critical option', { criticalOptions: { 'no-such-option': 'x' } }],
    ['bad source-address', { criticalOptions: { 'source-address': 'example.com' } }],
    ['empty force-command', { criticalOptions: { 'force-command': ' ' } }],
    ['unknown extension', { extensions: { 'permit-everything': true } }],
    ['valued standard extension', { extensions: { 'permit-pty': 'yes' } }],
    ['options on a host certificate', { type: 'host' as const, extensions: { 'permit-pty': true } }],
  ])('%s', (_n, patch) => {
    expect(
      errorCode(() =>
        encodeSshCertificateTbs({ ...base, publicKey: userKey.pub, ...(patch as Partial<SshCertificateInput>) }),
      ),
    ).toBe('ssh.invalid_request');
  });

  it('refuses a certificate given as the public key', async () => {
    const issued = await issueSshCertificate({ ...base, publicKey: userKey.pub }, signerFor('ed25519'));
    expect(errorCode(() => parseSshPublicKey(issued.line))).toBe('ssh.invalid_public_key');
  });

  it('detects a tampered certificate', async () => {
    const issued = await issueSshCertificate({ ...base, publicKey: userKey.pub }, signerFor('ec-p256'));
    const tampered = parseSshCertificate(issued.blob);
    const idx = Buffer.from(issued.blob).indexOf(Buffer.from('alice'));
    const mod = new Uint8Array(issued.blob);
    mod[idx] = 'A'.charCodeAt(0);
    expect(verifySshCertificate(tampered)).toBe(true);
    expect(verifySshCertificate(parseSshCertificate(mod))).toBe(false);
  });
});

describe('KRLs, checked by ssh-keygen -Q', () => {
  it('revokes by serial, range, key id and key; leaves others alone', async () => {
    const ca = signerFor('ed25519');
    const other = signerFor('ec-p256');
    const caBlob = sshPublicKeyBlobFromSpki(ca.publicKey);
    const mk = async (serial: bigint, keyId: string, signer = ca, pub = userKey.pub) =>
      (
        await issueSshCertificate(
          { publicKey: pub, serial, type: 'user', keyId, principals: ['u'], validAfter: NOW, validBefore: NOW + HOUR },
          signer,
        )
      ).line;
    const bySerial = await mk(1000n, 'a');
    const inRange = await mk(2001n, 'b');
    const byKeyId = await mk(5000n, 'compromised-laptop');
    const untouched = await mk(1001n, 'c');
    const otherCaSameSerial = await mk(1000n, 'a', other);
    const plainKey = generateSshKey(tmp.dir, 'revoked_plain').pub;
    const krl = encodeKrl({
      version: 7n,
      generatedAt: NOW,
      comment: 'test',
      certificates: [
        { caPublicKey: caBlob, serials: [1000n, 2000n, 2001n, 2002n, 3n], keyIds: ['compromised-laptop'] },
      ],
      keys: [parseSshPublicKey(plainKey).blob],
    });
    expect(krlRevokes(krl, bySerial)).toBe(true);
    expect(krlRevokes(krl, inRange)).toBe(true);
    expect(krlRevokes(krl, byKeyId)).toBe(true);
    expect(krlRevokes(krl, plainKey)).toBe(true);
    expect(krlRevokes(krl, untouched)).toBe(false);
    expect(krlRevokes(krl, otherCaSameSerial)).toBe(false);
    expect(krlRevokes(krl, userKey.pub)).toBe(false);
    const parsed = parseKrl(krl);
    expect(parsed.version).toBe(7n);
    expect(parsed.certificates[0]?.serials).toEqual([3n, 1000n]);
    expect(parsed.certificates[0]?.serialRanges).toEqual([{ from: 2000n, to: 2002n }]);
    for (const [line, want] of [
      [bySerial, true],
      [inRange, true],
      [byKeyId, true],
      [untouched, false],
      [otherCaSameSerial, false],
    ] as const) {
      expect(isRevokedByKrl(parsed, parseSshCertificate(line))).toBe(want);
    }
    // Revoking the CA key itself revokes everything it signed.
    const caRevoked = encodeKrl({ version: 8n, generatedAt: NOW, keys: [caBlob] });
    expect(krlRevokes(caRevoked, untouched)).toBe(true);
    expect(krlRevokes(caRevoked, otherCaSameSerial)).toBe(false);
  });

  it('parses a KRL written by ssh-keygen -k', () => {
    const caPath = join(tmp.dir, 'krl_ca');
    sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-f', caPath]);
    const spec = join(tmp.dir, 'krl.spec');
    writeFileSync(spec, 'serial: 5\nserial: 10-20\nid: lost\n');
    const out = join(tmp.dir, 'their.krl');
    const r = sshKeygen(['-k', '-f', out, '-s', `${caPath}.pub`, '-z', '3', spec]);
    expect(r.status, r.stderr).toBe(0);
    const parsed = parseKrl(new Uint8Array(readFileSync(out)));
    expect(parsed.version).toBe(3n);
    const serials = parsed.certificates.flatMap((c) => c.serials);
    const ranges = parsed.certificates.flatMap((c) => c.serialRanges);
    const covered = (s: bigint) => serials.includes(s) || ranges.some((x) => s >= x.from && s <= x.to);
    expect(covered(5n) && covered(10n) && covered(20n)).toBe(true);
    expect(covered(6n) || covered(21n)).toBe(false);
    expect(parsed.certificates.flatMap((c) => c.keyIds)).toEqual(['lost']);
  });

  it('refuses garbage as a KRL', () => {
    expect(errorCode(() => parseKrl(new Uint8Array([1, 2, 3])))).toBe('ssh.invalid_krl');
    expect(errorCode(() => parseKrl(new Uint8Array(32)))).toBe('ssh.invalid_krl');
  });
});
