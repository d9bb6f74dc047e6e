// An existing CA brought with its private key (`cas.importExisting`: `pkim ca import-existing`, REST, tRPC, Vault
// `config/ca`): openssl makes the CAs and their keys (PKCS#8, encrypted PKCS#1, SEC1), the authority imports them
// and issues leaves under them that openssl and certtool verify against the ORIGINAL certificates; the key is kept
// encrypted under the KEK (the database file holds neither the PEM nor the DER of the key); every refusal stores
// nothing (no CA row, no key blob). On SQLite and PostgreSQL.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Authority } from '@pkim/authority';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { opensslCsr, opensslSelfSigned, opensslSignCaCsr, tempDir } from '../../../tests/support/openssl-tools';
import {
  certtoolVerify,
  goVerify,
  opensslCrlVerify,
  opensslText,
  opensslVerify,
} from '../../../tests/support/verifiers';
import { expectPkiError, TEST_ADMIN } from '../../../tests/support/test-kit';
import { internalsOf } from '@pkim/authority/internals';

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];

/** a clock at the real time plus `offset` (moved to make a certificate expired for the authority) */
let offset = 0;
const clock = { now: () => Date.now() + offset };

/** openssl turns `keyPem` into another PEM form (`pkey`/`rsa`/`ec` args), optionally encrypted with `password` */
function convertKey(keyPem: string, args: string[], password?: string): string {
  const t = tempDir('pkim-key-');
  try {
    writeFileSync(join(t.dir, 'in.pem'), keyPem);
    const pass = password ? ['-aes256', '-passout', `pass:${password}`] : [];
    execFileSync('openssl', [...args, '-in', join(t.dir, 'in.pem'), ...pass, '-out', join(t.dir, 'out.pem')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return readFileSync(join(t.dir, 'out.pem'), 'utf8');
  } finally {
    t.cleanup();
  }
}

/** a tls-server leaf for `dns` issued by the CA from an openssl CSR */
async function leafOf(a: Authority, caId: string, dns: string): Promise<string> {
  const csrPem = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${dns}`, sans: [`DNS:${dns}`] }).csrPem;
  return (await a.issuance.issueFromCsr({ caId, profile: 'tls-server', csrPem }, TEST_ADMIN)).certificatePem;
}

function expectVerified(leafPem: string, rootPem: string, chainPems: string[] = []): void {
  const o = opensslVerify({ leafPem, rootPem, chainPems, purpose: 'sslserver' });
  expect(o.ok, o.output).toBe(true);
  const c = certtoolVerify({ leafPem, rootPem, chainPems, purpose: 'serverAuth' });
  expect(c.ok, c.output).toBe(true);
}

/** the PEM with its second body line left out: not a key any more */
const cutKey = (pem: string) =>
  pem
    .split('\n')
    .filter((_, i) => i !== 2)
    .join('\n');

describe.each(ENGINES)('importing an existing CA with its private key on $name', (engine) => {
  const fx = authorityOnEngine(engine, { clock });

  /** what a refusal must leave as it was: the CA rows and the key blobs */
  async function stored(): Promise<{ cas: number; keys: number }> {
    return { cas: await fx.rowCount('certificate_authorities'), keys: await fx.rowCount('key_blobs') };
  }

  /** the key blob rows (id, data) of the software backend, from the store */
  async function keyBlob(id: string): Promise<string | undefined> {
    return internalsOf(fx.authority).store.keyBlobs.get(id);
  }

  it('a self-signed root (PKCS#8 key) becomes an active CA: its leaves verify against the original', async () => {
    const a = fx.authority;
    const root = opensslSelfSigned({ subject: '/O=Example/CN=Old Root', days: 30, addext: CA_EXT });
    const { ca, chainPem } = await a.cas.importExisting(
      { certificatePem: root.certPem, keyPem: root.keyPem },
      TEST_ADMIN,
    );
    expect(ca).toMatchObject({ name: 'Old-Root', status: 'active', parentId: null, keyBackend: 'software' });
    expect(ca.keyType).toBe('ec-p256');
    expect(chainPem.trim()).toBe(root.certPem.trim());
    expectVerified(await leafOf(a, ca.id, 'www.old.example'), root.certPem);

    // the key is kept encrypted: neither its PEM body nor its DER (nor its base64) is in the database (the SQLite file;
    // on PostgreSQL the key blob row the store reads back)
    const der = createPrivateKey(root.keyPem).export({ type: 'pkcs8', format: 'der' });
    const pemBody = root.keyPem.split('\n').find((l) => l && !l.startsWith('-----'))!;
    const blob = (await keyBlob(ca.keyUri.split(':')[1]!))!;
    expect(JSON.parse(blob)).toMatchObject({ v: 1, alg: 'A256GCM', keyType: 'ec-p256' });
    const needles = [der, Buffer.from(der.toString('base64').slice(8, 60)), Buffer.from(pemBody.slice(4))];
    for (const needle of needles) expect(Buffer.from(blob).includes(needle)).toBe(false);
    if (engine.name === 'sqlite') {
      const files = ['pkim.db', 'pkim.db-wal'].map((f) => join(fx.dataDir, f)).filter((f) => existsSync(f));
      const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
      for (const needle of needles) expect(bytes.includes(needle)).toBe(false);
    }
    // the audit rows name the key and its fingerprint, never the key
    const events = await a.audit.list({ limit: 10, order: 'desc' });
    const imported = events.find((e) => e.action === 'ca.imported' && e.target === ca.id)!;
    expect(imported.details).toMatchObject({ fingerprint: ca.fingerprintSha256, keyUri: ca.keyUri });
    const key = events.find((e) => e.action === 'kms.key_imported' && e.target === ca.keyUri)!;
    expect(key.details).toMatchObject({ caId: ca.id, backend: 'software' });
    expect(String((key.details as { publicKeySha256: string }).publicKeySha256)).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(events)).not.toContain(pemBody.slice(4, 40));
    expect((await a.audit.verify()).ok).toBe(true);

    // the same certificate again: refused, nothing stored
    const before = await stored();
    await expectPkiError(
      a.cas.importExisting({ certificatePem: root.certPem, keyPem: root.keyPem, name: 'again' }, TEST_ADMIN),
      'ca.name_taken',
    );
    expect(await stored()).toEqual(before);
  }, 120_000);

  it('a SEC1-key intermediate under an imported root is its child; one signed outside keeps its chain', async () => {
    const a = fx.authority;
    const root = opensslSelfSigned({ subject: '/CN=Parent Root', days: 30, addext: CA_EXT });
    const { ca: rootCa } = await a.cas.importExisting(
      { certificatePem: root.certPem, keyPem: root.keyPem },
      TEST_ADMIN,
    );
    const inter = opensslCsr({ keyType: 'ec-p384', subject: '/CN=Old Issuing' });
    const { subPem } = opensslSignCaCsr(inter.csrPem, undefined, { issuer: root });
    const sec1 = convertKey(inter.keyPem, ['ec']);
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    const { ca, chainPem } = await a.cas.importExisting(
      { certificatePem: subPem, keyPem: sec1, name: 'old-issuing' },
      TEST_ADMIN,
    );
    expect(ca).toMatchObject({ parentId: rootCa.id, keyType: 'ec-p384', status: 'active' });
    expect(chainPem).toContain(root.certPem.split('\n')[1]);
    expectVerified(await leafOf(a, ca.id, 'api.old.example'), root.certPem, [subPem]);

    // signed by an outside root (not a CA here): its certificate given as the issuer chain, stored and served
    const outside = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Outside Issuing' });
    const signed = opensslSignCaCsr(outside.csrPem, '/CN=Far Root');
    await expectPkiError(
      a.cas.importExisting({ certificatePem: signed.subPem, keyPem: outside.keyPem }, TEST_ADMIN),
      'ca.issuer_unverified',
    );
    const far = await a.cas.importExisting(
      { certificatePem: signed.subPem, keyPem: outside.keyPem, issuerCertificatePem: signed.rootPem },
      TEST_ADMIN,
    );
    expect(far.ca.parentId).toBeNull();
    expect(far.chainPem).toContain(signed.rootPem.split('\n')[1]);
    expectVerified(await leafOf(a, far.ca.id, 'far.old.example'), signed.rootPem, [signed.subPem]);
  }, 120_000);

  it('encrypted PKCS#1 and PKCS#8 keys are read with the password; without or wrong: nothing stored', async () => {
    const a = fx.authority;
    const root = opensslSelfSigned({ subject: '/CN=Rsa Root', keyType: 'rsa-2048', days: 30, addext: CA_EXT });
    const pkcs1 = convertKey(root.keyPem, ['rsa', '-traditional'], 's3cret pass');
    expect(pkcs1).toMatch(/BEGIN RSA PRIVATE KEY[\s\S]*Proc-Type: 4,ENCRYPTED/);
    const pkcs8 = convertKey(root.keyPem, ['pkey'], 's3cret pass');
    expect(pkcs8).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    const before = await stored();
    for (const keyPem of [pkcs1, pkcs8]) {
      const e1 = await expectPkiError(
        a.cas.importExisting({ certificatePem: root.certPem, keyPem }, TEST_ADMIN),
        'key.invalid',
      );
      expect(e1.message).toMatch(/encrypted: give its password/);
      const e2 = await expectPkiError(
        a.cas.importExisting({ certificatePem: root.certPem, keyPem, keyPassword: 'wrong' }, TEST_ADMIN),
        'key.invalid',
      );
      expect(e2.message).toMatch(/could not be decrypted/);
    }
    expect(await stored()).toEqual(before);
    const { ca } = await a.cas.importExisting(
      { certificatePem: root.certPem, keyPem: pkcs1, keyPassword: 's3cret pass' },
      TEST_ADMIN,
    );
    expect(ca.keyType).toBe('rsa-2048');
    expectVerified(await leafOf(a, ca.id, 'rsa.old.example'), root.certPem);
  }, 120_000);

  it('a CA certificate without keyUsage: refused unless allowed; then its leaves and CRL verify', async () => {
    const a = fx.authority;
    // RFC 5280 lets a CA certificate go without keyUsage (its issuer MUST include it, verifiers differ): openssl
    // -x509_strict (and Python 3.13's default TLS context) refuse leaves under it, GnuTLS and Go take them
    const root = opensslSelfSigned({
      subject: '/O=Example/CN=No Key Usage Root',
      days: 30,
      addext: ['basicConstraints=critical,CA:TRUE', 'subjectKeyIdentifier=hash'],
    });
    expect(opensslText(root.certPem)).not.toContain('X509v3 Key Usage');
    const before = await stored();
    const e = await expectPkiError(
      a.cas.importExisting({ certificatePem: root.certPem, keyPem: root.keyPem }, TEST_ADMIN),
      'ca.certificate_mismatch',
    );
    expect(e.message).toMatch(/no keyUsage extension: strict verifiers .* allowMissingKeyUsage/);
    expect(e.details).toMatchObject({ reason: 'no_key_usage' });
    expect(await stored()).toEqual(before);

    const { ca } = await a.cas.importExisting(
      { certificatePem: root.certPem, keyPem: root.keyPem, allowMissingKeyUsage: true },
      TEST_ADMIN,
    );
    expect(ca).toMatchObject({ name: 'No-Key-Usage-Root', status: 'active' });
    const leafPem = await leafOf(a, ca.id, 'noku.old.example');
    const lax = opensslVerify({ leafPem, rootPem: root.certPem, purpose: 'sslserver', strict: false });
    expect(lax.ok, lax.output).toBe(true);
    const c = certtoolVerify({ leafPem, rootPem: root.certPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({ leafPem, rootPem: root.certPem, dnsName: 'noku.old.example', keyUsage: 'serverAuth' });
    expect(g.ok, g.output).toBe(true);
    // what the refusal warns of: a strict verifier refuses the very same leaf
    const strict = opensslVerify({ leafPem, rootPem: root.certPem, purpose: 'sslserver' });
    expect(strict.ok).toBe(false);
    expect(strict.output).toMatch(/does not include key usage/);
    const crl = await a.crl.generate(ca.id, TEST_ADMIN);
    const v = opensslCrlVerify(crl.der, root.certPem);
    expect(v.ok, v.text).toBe(true);
    const imported = (await a.audit.list({ action: 'ca.imported', target: ca.id, limit: 1 }))[0]!;
    expect(imported.details).toMatchObject({ keyUsage: 'absent' });
  }, 120_000);

  it('refuses another key, a non-CA, an expired CA, garbage and unusable keys: nothing stored', async () => {
    const a = fx.authority;
    const root = opensslSelfSigned({ subject: '/CN=Refused Root', days: 2, addext: CA_EXT });
    const other = opensslSelfSigned({ subject: '/CN=Other', days: 2, addext: CA_EXT });
    const leaf = opensslSelfSigned({
      subject: '/CN=Not A CA',
      days: 2,
      addext: ['basicConstraints=critical,CA:FALSE'],
    });
    const noSign = opensslSelfSigned({
      subject: '/CN=No Cert Sign',
      days: 2,
      addext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature'],
    });
    const weak = opensslSelfSigned({ subject: '/CN=Weak', keyType: 'rsa-1024', days: 2, addext: CA_EXT });
    const before = await stored();
    const cases: [string, Promise<unknown>][] = [
      [
        'ca.certificate_mismatch',
        a.cas.importExisting({ certificatePem: root.certPem, keyPem: other.keyPem }, TEST_ADMIN),
      ],
      [
        'ca.certificate_mismatch',
        a.cas.importExisting({ certificatePem: leaf.certPem, keyPem: leaf.keyPem }, TEST_ADMIN),
      ],
      [
        'ca.certificate_mismatch',
        a.cas.importExisting({ certificatePem: noSign.certPem, keyPem: noSign.keyPem }, TEST_ADMIN),
      ],
      ['key.invalid', a.cas.importExisting({ certificatePem: root.certPem, keyPem: 'not a key' }, TEST_ADMIN)],
      ['key.invalid', a.cas.importExisting({ certificatePem: root.certPem, keyPem: cutKey(root.keyPem) }, TEST_ADMIN)],
      ['key.invalid', a.cas.importExisting({ certificatePem: weak.certPem, keyPem: weak.keyPem }, TEST_ADMIN)],
      ['certificate.invalid', a.cas.importExisting({ certificatePem: 'garbage', keyPem: root.keyPem }, TEST_ADMIN)],
      [
        'certificate.invalid',
        a.cas.importExisting({ certificatePem: root.certPem + other.certPem, keyPem: root.keyPem }, TEST_ADMIN),
      ],
      [
        'kms.config_invalid',
        a.cas.importExisting({ certificatePem: root.certPem, keyPem: root.keyPem, backend: 'pkcs11' }, TEST_ADMIN),
      ],
    ];
    for (const [code, p] of cases) await expectPkiError(p, code);
    offset = 3 * 86_400_000; // the root's end is behind the authority's clock
    try {
      const e = await expectPkiError(
        a.cas.importExisting({ certificatePem: root.certPem, keyPem: root.keyPem }, TEST_ADMIN),
        'ca.certificate_mismatch',
      );
      expect(e.message).toMatch(/expired/);
    } finally {
      offset = 0;
    }
    expect(await stored()).toEqual(before);
    const failures = (await a.audit.list({ limit: 20, order: 'desc' })).filter((e) => e.action === 'ca.import_failed');
    expect(failures.length).toBeGreaterThanOrEqual(cases.length);
    expect(JSON.stringify(failures)).not.toContain(root.keyPem.split('\n')[1]!.slice(4, 40));
  }, 120_000);
});
