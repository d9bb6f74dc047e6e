import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { unzipSync } from 'fflate';
import { runPkim } from '../../../tests/support/cli-in-process';
import { createRootAndIssuing } from '../../../tests/support/cli-ca-fixture';
import { tempDir } from '../../../tests/support/openssl-tools';
import { requireBinary } from '../../../tests/support/verifiers';

/** runs a peer tool (openssl, keytool, unzip) on files in the test dir */
function tool(bin: string, args: string[], cwd: string): { code: number; out: string } {
  requireBinary(bin);
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

// every step spawns pkim or a JVM: generous timeouts for a loaded 2-core machine
describe('pkim cert export: every format, read by openssl and Java keytool', { timeout: 240_000 }, () => {
  const tmp = tempDir('pkim-export-');
  const dataDir = join(tmp.dir, 'data');
  const dir = tmp.dir;
  const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: dir });
  const pw = join(dir, 'password.txt');
  const wrong = join(dir, 'wrong.txt');
  let kept: { serial: string; id: string };
  let notKept: { serial: string; id: string };
  let ecKept: { serial: string };

  beforeAll(() => {
    writeFileSync(pw, 'correct horse battery\n');
    writeFileSync(wrong, 'wrong password here\n');
    expect(pkim('init', '--json').code).toBe(0);
    createRootAndIssuing(
      pkim,
      { name: 'root', subject: 'CN=Export Root,O=Example' },
      { name: 'issuing', subject: 'CN=Export Issuing' },
    );
    const issue = (cn: string, keyType: string, keep: boolean) => {
      const r = pkim(
        'cert',
        'issue',
        '--ca',
        'issuing',
        '--subject',
        `CN=${cn}`,
        '--san',
        cn,
        '--key-type',
        keyType,
        ...(keep ? ['--keep-key'] : []),
        '--out-key',
        join(dir, `${cn}.original.key`),
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      return { serial: r.json().serial as string, id: r.json().id as string };
    };
    kept = issue('app.example.com', 'rsa-2048', true);
    notKept = issue('nokey.example.com', 'ec-p256', false);
    ecKept = issue('ec.example.com', 'ec-p384', true);
  });
  afterAll(() => tmp.cleanup());

  const exportTo = (ref: string, format: string, out: string, ...extra: string[]) => {
    const r = pkim('cert', 'export', ref, '--format', format, '--out', join(dir, out), ...extra, '--json');
    expect(r.code, r.stderr).toBe(0);
    return r;
  };

  it('PEM and DER: openssl x509 reads both, DER with -inform der, with the right file names', () => {
    exportTo(kept.serial, 'pem', 'c.pem');
    exportTo(kept.serial, 'der', 'c.cer');
    const pem = tool('openssl', ['x509', '-in', 'c.pem', '-noout', '-serial', '-subject'], dir);
    const der = tool('openssl', ['x509', '-inform', 'der', '-in', 'c.cer', '-noout', '-serial', '-subject'], dir);
    expect(pem.code, pem.out).toBe(0);
    expect(der.code, der.out).toBe(0);
    expect(der.out.toLowerCase()).toContain(`serial=${kept.serial}`);
    expect(der.out).toContain('CN = app.example.com');
    // DER is not PEM
    expect(readFileSync(join(dir, 'c.cer'))[0]).toBe(0x30);
    const dflt = pkim('cert', 'export', kept.serial, '--format', 'der', '--json');
    expect(dflt.json().fileName).toBe('app.example.com.cer');
    expect(dflt.json().mediaType).toBe('application/pkix-cert');
  });

  it('chain with and without the root; PKCS#7 as DER and PEM read by openssl pkcs7 -print_certs', () => {
    exportTo(kept.serial, 'chain', 'full.pem');
    exportTo(kept.serial, 'chain', 'noroot.pem', '--no-root');
    const count = (f: string) => (readFileSync(join(dir, f), 'utf8').match(/BEGIN CERTIFICATE/g) ?? []).length;
    expect(count('full.pem')).toBe(3);
    expect(count('noroot.pem')).toBe(2);
    const verify = tool(
      'openssl',
      ['verify', '-CAfile', 'full.pem', '-untrusted', 'noroot.pem', '-purpose', 'sslserver', 'c.pem'],
      dir,
    );
    expect(verify.code, verify.out).toBe(0);
    exportTo(kept.serial, 'p7b', 'c.p7b');
    exportTo(kept.serial, 'p7b-pem', 'c.p7b.pem');
    const der = tool('openssl', ['pkcs7', '-inform', 'der', '-in', 'c.p7b', '-print_certs', '-noout'], dir);
    const pem = tool('openssl', ['pkcs7', '-in', 'c.p7b.pem', '-print_certs', '-noout'], dir);
    for (const r of [der, pem]) {
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('CN = app.example.com');
      expect(r.out).toContain('CN = Export Issuing');
      expect(r.out).toContain('CN = Export Root');
    }
  });

  it('PKCS#12 (AES-256-CBC, PBKDF2-SHA256, HMAC-SHA256): openssl pkcs12 -info reads it; a wrong password fails', () => {
    const r = exportTo(kept.serial, 'p12', 'c.p12', '--password-file', pw);
    expect(r.json().containsPrivateKey).toBe(true);
    expect(r.stderr).toContain('PRIVATE KEY');
    expect(statSync(join(dir, 'c.p12')).mode & 0o777).toBe(0o600);
    const info = tool('openssl', ['pkcs12', '-info', '-in', 'c.p12', '-passin', `file:${pw}`, '-noenc'], dir);
    expect(info.code, info.out).toBe(0);
    expect(info.out).toContain('MAC: sha256');
    expect(info.out).toContain('PBES2, PBKDF2, AES-256-CBC');
    expect(info.out).toContain('PRF hmacWithSHA256');
    expect(info.out).toContain('Shrouded Keybag');
    expect(info.out).toContain('-----BEGIN PRIVATE KEY-----');
    // the key in the file is the key the certificate was issued for
    const keyOut = tool('openssl', ['pkcs12', '-in', 'c.p12', '-passin', `file:${pw}`, '-nocerts', '-noenc'], dir);
    writeFileSync(join(dir, 'p12.key'), keyOut.out.slice(keyOut.out.indexOf('-----BEGIN PRIVATE KEY-----')));
    const mod = (f: string) => tool('openssl', ['pkey', '-in', f, '-pubout'], dir).out;
    expect(mod('p12.key')).toBe(mod('app.example.com.original.key'));
    const bad = tool('openssl', ['pkcs12', '-info', '-in', 'c.p12', '-passin', `file:${wrong}`, '-noenc'], dir);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/mac verify (error|failure)/i);
  });

  it('PKCS#12 default and --legacy (3DES + SHA-1) and JKS are listed by Java keytool; a wrong password fails', () => {
    exportTo(kept.serial, 'p12', 'legacy.p12', '--password-file', pw, '--legacy');
    exportTo(kept.serial, 'jks', 'c.jks', '--password-file', pw);
    exportTo(ecKept.serial, 'jks', 'ec.jks', '--password-file', pw);
    const legacyInfo = tool(
      'openssl',
      ['pkcs12', '-info', '-in', 'legacy.p12', '-passin', `file:${pw}`, '-noenc'],
      dir,
    );
    expect(legacyInfo.code, legacyInfo.out).toBe(0);
    expect(legacyInfo.out).toContain('MAC: sha1');
    expect(legacyInfo.out).toContain('pbeWithSHA1And3-KeyTripleDES-CBC');
    const password = 'correct horse battery';
    for (const [file, type] of [
      ['c.p12', 'PKCS12'],
      ['legacy.p12', 'PKCS12'],
      ['c.jks', 'JKS'],
      ['ec.jks', 'JKS'],
    ] as const) {
      const list = tool('keytool', ['-list', '-v', '-keystore', file, '-storepass', password], dir);
      expect(list.code, `${file}: ${list.out}`).toBe(0);
      expect(list.out).toContain(`Keystore type: ${type}`);
      expect(list.out).toContain('Entry type: PrivateKeyEntry');
      expect(list.out).toContain('Certificate chain length: 3');
    }
    for (const file of ['c.p12', 'c.jks']) {
      const badList = tool('keytool', ['-list', '-keystore', file, '-storepass', 'not the password'], dir);
      expect(badList.code, file).not.toBe(0);
      expect(badList.out).toMatch(/password was incorrect|tampered/i);
    }
    // keytool can use the key: export it into a fresh PKCS#12 with the key password
    const copy = tool(
      'keytool',
      [
        '-importkeystore',
        '-srckeystore',
        'c.jks',
        '-srcstorepass',
        password,
        '-destkeystore',
        'copy.p12',
        '-deststoretype',
        'PKCS12',
        '-deststorepass',
        password,
        '-noprompt',
      ],
      dir,
    );
    expect(copy.code, copy.out).toBe(0);
  });

  it('encrypted PKCS#8 is read by openssl pkey with the password only', () => {
    exportTo(ecKept.serial, 'key', 'ec.key.pem', '--password-file', pw);
    const text = readFileSync(join(dir, 'ec.key.pem'), 'utf8');
    expect(text).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    const ok = tool('openssl', ['pkey', '-in', 'ec.key.pem', '-passin', `file:${pw}`, '-noout', '-text'], dir);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('NIST CURVE: P-384');
    const bad = tool('openssl', ['pkey', '-in', 'ec.key.pem', '-passin', `file:${wrong}`, '-noout'], dir);
    expect(bad.code).not.toBe(0);
  });

  it('a ZIP of all formats; truststores of a CA chain (PEM, P7B, JKS, PKCS#12) read by keytool', () => {
    exportTo(kept.serial, 'zip', 'all.zip', '--password-file', pw);
    const members = unzipSync(readFileSync(join(dir, 'all.zip')));
    expect(Object.keys(members).sort()).toEqual(
      ['.cer', '.chain.pem', '.fullchain.pem', '.jks', '.key.pem', '.p12', '.p7b', '.pem'].map(
        (n) => `app.example.com${n}`,
      ),
    );
    // a member is a working file: the PKCS#12 inside opens with the password
    writeFileSync(join(dir, 'from-zip.p12'), members['app.example.com.p12']!);
    const inner = tool('openssl', ['pkcs12', '-info', '-in', 'from-zip.p12', '-passin', `file:${pw}`, '-noenc'], dir);
    expect(inner.code, inner.out).toBe(0);
    for (const [format, file] of [
      ['p12', 'trust.p12'],
      ['jks', 'trust.jks'],
    ] as const) {
      const r = pkim('ca', 'truststore', 'issuing', '--format', format, '--password-file', pw, '--out', file, '--json');
      expect(r.code, r.stderr).toBe(0);
      const l = tool('keytool', ['-list', '-keystore', file, '-storepass', 'correct horse battery'], dir);
      expect(l.code, l.out).toBe(0);
      expect(l.out).toContain('Your keystore contains 2 entries');
      expect(l.out.match(/trustedCertEntry/g)?.length).toBe(2);
    }
    const p7 = pkim('ca', 'truststore', 'issuing', '--format', 'p7b', '--out', 'trust.p7b', '--json');
    expect(p7.code, p7.stderr).toBe(0);
    const printed = tool('openssl', ['pkcs7', '-inform', 'der', '-in', 'trust.p7b', '-print_certs', '-noout'], dir);
    expect(printed.out).toContain('CN = Export Root');
    expect(printed.out).not.toContain('app.example.com');
  });

  it('refuses without a password, and refuses a key the server does not hold; nothing is written', () => {
    const noPw = pkim('cert', 'export', kept.serial, '--format', 'p12', '--out', join(dir, 'x.p12'));
    expect(noPw.code).toBe(2);
    expect(noPw.stderr).toMatch(/^error: export\.password_required: /);
    const noKey = pkim('cert', 'export', notKept.serial, '--format', 'key', '--password-file', pw, '--out', 'y.pem');
    expect(noKey.code).toBe(4);
    expect(noKey.stderr).toContain('error: export.key_not_held:');
    expect(() => statSync(join(dir, 'x.p12'))).toThrow();
    // without a kept key, PKCS#12 holds the certificate only
    const certOnly = exportTo(notKept.serial, 'p12', 'certonly.p12', '--password-file', pw);
    expect(certOnly.json().containsPrivateKey).toBe(false);
  });

  it('audits every export with the actor, the format and whether it held a private key', () => {
    const audit = pkim('audit', 'list', '--limit', '200', '--json');
    expect(audit.code, audit.stderr).toBe(0);
    interface Event {
      action: string;
      actor: string;
      target: string;
      details: any;
    }
    const events = audit.json<{ items: Event[] }>().items;
    const exported = events.filter((e) => e.action === 'certificate.exported');
    const me = `cli:${userInfo().username}`;
    expect(exported.length).toBeGreaterThanOrEqual(10);
    expect(exported.every((e) => e.actor === me)).toBe(true);
    const p12 = exported.find((e) => e.target === kept.id && e.details.format === 'p12');
    expect(p12?.details.containsPrivateKey).toBe(true);
    const refused = events.filter((e) => e.action === 'certificate.export_failed');
    expect(refused.map((e) => e.details.code)).toEqual(
      expect.arrayContaining(['export.password_required', 'export.key_not_held']),
    );
    expect(events.some((e) => e.action === 'ca.truststore_exported' && e.actor === me)).toBe(true);
  });
});
