// A large CRL is re-signed in the background once out of date: relying parties keep getting the previous (still
// valid) CRL meanwhile instead of waiting for a million-entry encode; a small CRL is rebuilt before answering.
// "Large" is `crlBackgroundEntries` (default 10,000), set to 3 here so a handful of certificates shows both paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { crlVerifyAll } from '../../../tests/support/verifiers';
import { silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';

describe('CRLs re-signed in the background above a size', () => {
  let authority: Authority;
  let tmp: ReturnType<typeof tempDir>;
  const cas: Record<string, { id: string; pem: string }> = {};

  const issue = async (ca: string, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await authority.issuance.issueWithKey(
        {
          caId: cas[ca]!.id,
          profile: 'tls-server',
          subject: { commonName: `h${i}.${ca}.example` },
          sans: { dns: [`h${i}.${ca}.example`] },
          keyType: 'ec-p256',
        },
        TEST_ADMIN,
      );
      ids.push(r.certificate.id);
    }
    return ids;
  };
  const revoke = (id: string) => authority.certificates.revoke(id, 'keyCompromise', TEST_ADMIN);
  const entriesOf = (ca: string, der: Uint8Array) => {
    const v = crlVerifyAll(der, cas[ca]!.pem);
    expect(v.ok, v.text).toBe(true);
    return v.go.entries.size;
  };

  beforeAll(async () => {
    tmp = tempDir();
    authority = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, crlBackgroundEntries: 3 });
    const root = await authority.sign(
      { kind: 'root-ca', name: 'root', subject: 'CN=CRL Root', keyType: 'ec-p256' },
      { actor: TEST_ADMIN },
    );
    cas.root = { id: root.ca.id, pem: root.certificatePem! };
    for (const name of ['big', 'small']) {
      const v = await authority.sign(
        { kind: 'intermediate-ca', parent: 'root', name, subject: `CN=${name} CA`, keyType: 'ec-p256', pathLen: 0 },
        { actor: TEST_ADMIN },
      );
      cas[name] = { id: v.ca.id, pem: v.certificatePem! };
    }
  });
  afterAll(async () => {
    await authority?.close();
    tmp?.cleanup();
  });

  it('a CRL of 3 entries keeps being served while its successor is signed, then the successor is served', async () => {
    const ids = await issue('big', 4);
    for (const id of ids.slice(0, 3)) await revoke(id);
    const first = await authority.crl.current('big');
    expect(entriesOf('big', first.der)).toBe(3);

    await revoke(ids[3]!);
    // the answer right after the revocation: the previous CRL, still valid (no wait for the encode)
    const during = await authority.crl.current('big');
    expect(during.crlNumber).toBe(first.crlNumber);
    expect(Buffer.from(during.der).equals(Buffer.from(first.der))).toBe(true);

    // the successor, signed in the background, is served as soon as it exists
    let next = during;
    for (let i = 0; i < 200 && next.crlNumber === first.crlNumber; i++) {
      await new Promise((r) => setTimeout(r, 25));
      next = await authority.crl.current('big');
    }
    expect(next.crlNumber).toBeGreaterThan(first.crlNumber);
    expect(entriesOf('big', next.der)).toBe(4);
  });

  it('a CRL under the size is rebuilt before answering: the revocation is in the very next CRL', async () => {
    const ids = await issue('small', 3);
    await revoke(ids[0]!);
    const first = await authority.crl.current('small');
    expect(entriesOf('small', first.der)).toBe(1);
    await revoke(ids[1]!);
    const next = await authority.crl.current('small');
    expect(next.crlNumber).toBeGreaterThan(first.crlNumber);
    expect(entriesOf('small', next.der)).toBe(2);
  });
});
