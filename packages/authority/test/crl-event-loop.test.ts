// A CRL of many entries is built without holding the event loop: its revoked certificates are read page by page
// (10,000 a page) and SQLite's reads are synchronous, so the build turns the event loop between pages — OCSP, health
// and the delta-CRL claim renewal are answered meanwhile (1,000,000 entries were one 7-second task before).
// 25,000 revoked rows are seeded around the authority (Store.importRows, as `npm run bench:crl` does): three pages.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { openStore } from '@pkim/store';
import { tempDir } from '../../../tests/support/openssl-tools';
import { goVerifyBinary, opensslRaw } from '../../../tests/support/verifiers';
import { silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';

const ENTRIES = 25_000;
/** Go's reason code of an entry without reasonCode */
const REASON_NONE = -1;
const PEM = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`;

describe('a CRL of many entries turns the event loop while it is built', () => {
  let authority: Authority;
  let tmp: ReturnType<typeof tempDir>;
  let ca: { id: string; pem: string };
  const serials: string[] = [];

  beforeAll(async () => {
    tmp = tempDir();
    const first = await createAuthority({ dataDir: tmp.dir, logger: silentLogger });
    const root = await first.cas.create(
      { name: 'paged', subject: 'CN=Paged CRL Root', keyType: 'ec-p256' },
      TEST_ADMIN,
    );
    ca = { id: root.ca.id, pem: root.certificatePem! };
    await first.close();
    const store = await openStore({ url: join(tmp.dir, 'pkim.db') });
    const now = Date.now();
    for (let i = 0; i < ENTRIES; i += 10_000) {
      const rows: Record<string, unknown>[] = [];
      for (let j = i; j < Math.min(ENTRIES, i + 10_000); j++) {
        const serialHex =
          (now - ENTRIES + j).toString(16).padStart(12, '0') +
          createHash('sha256').update(`r${j}`).digest('hex').slice(0, 28);
        serials.push(serialHex);
        rows.push({
          id: `crt_paged${String(j).padStart(9, '0')}`,
          caId: ca.id,
          serialHex,
          subjectDn: `CN=h${j}.example`,
          commonName: `h${j}.example`,
          sans: { dns: [`h${j}.example`] },
          profile: 'tls-server',
          keyType: 'ec-p256',
          notBefore: now - 86_400_000,
          notAfter: now + 30 * 86_400_000,
          status: 'revoked',
          revokedAt: now - j * 1000,
          revocationReason: j % 2 ? 'keyCompromise' : null,
          fingerprintSha256: j.toString(16).padStart(64, '0'),
          certificatePem: PEM,
          requestId: null,
          issuedBy: 'test',
          createdAt: now - ENTRIES + j,
        });
      }
      await store.importRows('certificates', rows);
    }
    await store.close();
    authority = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, create: false });
  }, 120_000);
  afterAll(async () => {
    await authority?.close();
    tmp?.cleanup();
  });

  it('a timer set at the first page read fires before the last; the CRL lists every entry (openssl, Go)', async () => {
    // the build's page reads, recorded on the authority's own store (each still reads): a timer set when the first
    // page is read fires before the last one is — the event loop turned while the entries were read
    const certificates = internalsOf(authority).store.certificates;
    const listRevoked = certificates.listRevoked.bind(certificates);
    const unwrapped = certificates.listRevoked; // eslint-disable-line @typescript-eslint/unbound-method
    const order: string[] = [];
    certificates.listRevoked = (caId, page) => {
      if (!order.length) setTimeout(() => order.push('timer'), 0);
      order.push('page');
      return listRevoked(caId, page);
    };
    let crl: Awaited<ReturnType<Authority['crl']['generate']>>;
    try {
      crl = await authority.crl.generate(ca.id, TEST_ADMIN);
    } finally {
      certificates.listRevoked = unwrapped;
    }
    expect(order.filter((o) => o === 'page')).toHaveLength(Math.ceil(ENTRIES / 10_000));
    expect(order.indexOf('timer')).toBeGreaterThan(-1);
    expect(order.indexOf('timer')).toBeLessThan(order.lastIndexOf('page'));

    const crlPath = join(tmp.dir, 'paged.crl');
    const caPath = join(tmp.dir, 'paged.pem');
    writeFileSync(crlPath, crl.der);
    writeFileSync(caPath, ca.pem);
    // Go x509.ParseRevocationList + CheckSignatureFrom (goCrlVerify's program; its listing is over 1 MB here)
    const go = spawnSync(goVerifyBinary(), ['-crl', crlPath, '-issuer', caPath], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    expect(go.status, go.stderr).toBe(0);
    expect(go.stdout).toMatch(new RegExp(`^PASS go-x509: CRL number \\d+, ${ENTRIES} entries`));
    const entries = new Map<string, number>();
    for (const m of go.stdout.matchAll(/^entry ([0-9a-f]+) reason (-?\d+)$/gm)) entries.set(m[1]!, Number(m[2]));
    expect(entries.size).toBe(ENTRIES);
    // keyCompromise (1) on every other row, no reasonCode on the rest
    const wrong = serials.filter((s, j) => entries.get(s.replace(/^0+/, '')) !== (j % 2 ? 1 : REASON_NONE));
    expect(wrong).toEqual([]);
    const v = opensslRaw(['crl', '-inform', 'DER', '-in', crlPath, '-CAfile', caPath, '-verify', '-noout']);
    expect(v.status, v.output).toBe(0);
    expect(v.output).toContain('verify OK');
  }, 120_000);
});
