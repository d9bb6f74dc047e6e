// Issue #12, session 29: with PKIM_WORKERS=1 the main thread signs (node:crypto on libuv's pool) and commits; with the
// opt-in SQLite writer thread (AuthorityConfig.sqliteWriterThread, `BENCH_SQLITE_WRITER=1 npm run bench`) that thread
// commits the batches. What the row records is made before the commit; these tests recompute every field of the row
// from its stored certificate with openssl, for a software CA and a PKCS#11 (SoftHSM2) CA given the same inputs, and
// verify each certificate with openssl.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { fixedClock } from '@pkim/shared';
import type { CertificateRow } from '@pkim/store';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
import { silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { createSoftHsmToken, type SoftHsmToken } from '../../../tests/support/softhsm';

/** the row's fields as openssl reads them from the row's own certificate (one openssl run per certificate) */
function fromCertificate(row: CertificateRow) {
  const args = ['-serial', '-fingerprint', '-sha256', '-subject', '-nameopt', 'RFC2253', '-startdate', '-enddate'];
  const out = opensslRaw(['x509', '-noout', ...args, '-ext', 'subjectAltName'], Buffer.from(row.certificatePem));
  const lines = out.stdout.split('\n').map((l) => l.trim());
  const value = (prefix: string) => {
    const line = lines.find((l) => l.startsWith(prefix));
    if (!line) throw new Error(`openssl printed no ${prefix}: ${out.output}`);
    return line.slice(prefix.length);
  };
  const sanLine = lines[lines.findIndex((l) => l.startsWith('X509v3 Subject Alternative Name')) + 1] ?? '';
  const sans = sanLine
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    serialHex: value('serial=').toLowerCase().replace(/^0+/, ''),
    fingerprintSha256: value('sha256 Fingerprint=').replaceAll(':', '').toLowerCase(),
    subjectDn: value('subject='),
    notBefore: Date.parse(value('notBefore=')),
    notAfter: Date.parse(value('notAfter=')),
    sans: {
      dns: sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
      ip: sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11)),
    },
  };
}

/** the row as stored, in the shape of fromCertificate (openssl's serial has no leading zeros; absent SAN kinds: []) */
function asStored(row: CertificateRow) {
  return {
    serialHex: row.serialHex.replace(/^0+/, ''),
    fingerprintSha256: row.fingerprintSha256,
    subjectDn: row.subjectDn,
    notBefore: Math.floor(row.notBefore / 1000) * 1000,
    notAfter: Math.floor(row.notAfter / 1000) * 1000,
    sans: { dns: row.sans.dns ?? [], ip: row.sans.ip ?? [] },
  };
}

describe.each([
  { name: 'commits on the main thread', sqliteWriterThread: false },
  { name: 'commits on the SQLite writer thread', sqliteWriterThread: true },
])('PKIM_WORKERS=1, signing on the main thread, $name', ({ sqliteWriterThread }) => {
  let tmp: ReturnType<typeof tempDir>;
  let hsm: SoftHsmToken;
  let authority: Authority;
  const cas: { software: { id: string; pem: string }; pkcs11: { id: string; pem: string } } = {} as never;
  const clock = fixedClock(Math.floor(Date.now() / 1000) * 1000);
  const csrs = Array.from(
    { length: 16 },
    (_, i) =>
      opensslCsr({
        keyType: i % 4 === 3 ? 'rsa-2048' : 'ec-p256',
        subject: `/CN=w1-${i}.example.com/O=Tests`,
        sans: [`DNS:w1-${i}.example.com`, `DNS:alt${i}.example.com`, `IP:10.0.0.${i + 1}`],
      }).csrPem,
  );

  beforeAll(async () => {
    tmp = tempDir();
    hsm = await createSoftHsmToken({ label: 'pkim-w1' });
    const pinFile = join(tmp.dir, 'pin');
    writeFileSync(pinFile, `${hsm.pin}\n`, { mode: 0o600 });
    authority = await createAuthority({
      dataDir: join(tmp.dir, 'data'),
      logger: silentLogger,
      clock,
      workers: 1,
      sqliteWriterThread,
      env: {
        PKIM_PKCS11_MODULE: hsm.modulePath,
        PKIM_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
        PKIM_PKCS11_PIN_FILE: pinFile,
      },
    });
    for (const backend of ['software', 'pkcs11'] as const) {
      const root = await authority.cas.create(
        { name: `w1-${backend}`, subject: `CN=W1 ${backend} Root,O=Tests`, keyType: 'ec-p256', backend },
        TEST_ADMIN,
      );
      cas[backend] = { id: root.ca.id, pem: root.certificatePem! };
    }
  });

  afterAll(async () => {
    await authority?.close();
    await hsm?.cleanup();
    tmp?.cleanup();
  });

  it('concurrent issuances: each row is what its certificate says', async () => {
    // the two roots: written by the writer thread when there is one
    if (sqliteWriterThread) expect(authority.describe().commits.writerThreadBatches).toBeGreaterThan(0);
    else expect(authority.describe().commits.writerThreadBatches).toBeUndefined();
    const before = authority.describe().commits;
    const issued = await Promise.all(
      csrs.map((csrPem) =>
        authority.issuance.issueFromCsr({ caId: cas.software.id, csrPem, profile: 'tls-server' }, TEST_ADMIN),
      ),
    );
    const after = authority.describe().commits;
    expect(after.units - before.units).toBe(16);
    if (sqliteWriterThread) {
      expect(after.writerThreadBatches! - before.writerThreadBatches!).toBe(after.batches - before.batches);
    }
    for (const i of issued) {
      const { certificate: row } = await authority.certificates.get(i.certificate.id);
      expect(row.certificatePem).toBe(i.certificatePem);
      expect(asStored(row)).toEqual(fromCertificate(row));
      const v = opensslVerify({ leafPem: row.certificatePem, rootPem: cas.software.pem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    }
    expect(await authority.audit.verify()).toMatchObject({ ok: true });
  });

  it('a PKCS#11 (SoftHSM2) CA stores the same field values as a software CA for the same inputs', async () => {
    for (const csrPem of csrs.slice(0, 4)) {
      const rows: Record<string, CertificateRow> = {};
      for (const backend of ['software', 'pkcs11'] as const) {
        const i = await authority.issuance.issueFromCsr(
          { caId: cas[backend].id, csrPem, profile: 'tls-server' },
          TEST_ADMIN,
        );
        const { certificate: row } = await authority.certificates.get(i.certificate.id);
        expect(asStored(row)).toEqual(fromCertificate(row));
        const v = opensslVerify({ leafPem: row.certificatePem, rootPem: cas[backend].pem, purpose: 'sslserver' });
        expect(v.ok, v.output).toBe(true);
        rows[backend] = row;
      }
      // all but what the CA and the signature make: serial (random), fingerprint, ids, the CA
      const same = ({
        subjectDn,
        commonName,
        sans,
        profile,
        keyType,
        notBefore,
        notAfter,
        status,
      }: CertificateRow) => ({
        subjectDn,
        commonName,
        sans,
        profile,
        keyType,
        notBefore,
        notAfter,
        status,
      });
      expect(same(rows.pkcs11!)).toEqual(same(rows.software!));
      expect(rows.pkcs11!.fingerprintSha256).not.toBe(rows.software!.fingerprintSha256);
    }
    expect(await authority.audit.verify()).toMatchObject({ ok: true });
  });
});
