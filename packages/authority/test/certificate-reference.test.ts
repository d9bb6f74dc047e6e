// Certificate references (`cert show REF`, REST /certificates/:ref, tRPC certificate.get): ids, serials,
// fingerprints and unique prefixes of at least 8 hex characters, resolved in one place, on both engines.
import { beforeAll, describe, expect, it } from 'vitest';
import { type Actor, type Authority, type IssuedCertificate } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import type { CertificateRow } from '@pkim/store';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { expectPkiError } from '../../../tests/support/test-kit';
import { opensslVerify } from '../../../tests/support/verifiers';
import { createRootCa } from '../../../tests/support/ca-kit';

const admin: Actor = { id: 'usr_ref_admin', name: 'alice', role: 'admin' };
const colons = (hex: string) => hex.toUpperCase().replace(/(..)(?!$)/g, '$1:');

describe.each(ENGINES)('certificate references on $name', (engine) => {
  const fx = authorityOnEngine(engine);
  let authority: Authority;
  let leaf: IssuedCertificate;
  let twins: CertificateRow[];

  beforeAll(async () => {
    authority = fx.authority;
    const root = await createRootCa(authority, 'ref-root', { actor: admin, subject: 'CN=Ref Root' });
    leaf = await authority.issuance.issueWithKey(
      {
        caId: 'ref-root',
        profile: 'tls-server',
        subject: 'CN=ref.example.com',
        sans: { dns: ['ref.example.com'] },
        keyType: 'ec-p256',
      },
      admin,
    );
    expect(opensslVerify({ leafPem: leaf.certificatePem, rootPem: root.pem, purpose: 'sslserver' }).ok).toBe(true);
    // two rows whose serials and fingerprints share their first 10 hex characters (random serials almost never
    // do): copies of the real row under other ids, written through the store
    const base = leaf.certificate;
    twins = ['1', '2'].map((d) => ({
      ...base,
      id: `crt_twin${d}`,
      serialHex: `7e57ab1e00${d}${'0'.repeat(29)}`,
      fingerprintSha256: `f1a9f1a9f1${d}${'0'.repeat(53)}`,
      createdAt: base.createdAt + Number(d),
    }));
    await internalsOf(authority).store.commit({ insertCertificates: twins });
  });
  const idOf = async (ref: string) => (await authority.certificates.get(ref, admin)).certificate.id;

  it('finds a certificate by id, full serial (any case, colons) and full fingerprint', async () => {
    const c = leaf.certificate;
    expect(await idOf(c.id)).toBe(c.id);
    expect(await idOf(c.serialHex)).toBe(c.id);
    expect(await idOf(colons(c.serialHex))).toBe(c.id);
    expect(await idOf(c.fingerprintSha256.toUpperCase())).toBe(c.id);
    expect(await idOf(colons(c.fingerprintSha256))).toBe(c.id);
  });

  it('finds a certificate by a unique prefix of 8 or more hex characters of its serial or fingerprint', async () => {
    const c = leaf.certificate;
    expect(await idOf(c.serialHex.slice(0, 8))).toBe(c.id);
    expect(await idOf(colons(c.serialHex.slice(0, 12)))).toBe(c.id);
    expect(await idOf(`${c.serialHex.slice(0, 16)}…`)).toBe(c.id); // as `cert list` shortens it
    expect(await idOf(c.fingerprintSha256.slice(0, 8).toUpperCase())).toBe(c.id);
    expect(await idOf(colons(c.fingerprintSha256.slice(0, 20)))).toBe(c.id);
    expect(await idOf('7e57ab1e001')).toBe('crt_twin1');
    expect(await idOf('f1a9f1a9f12')).toBe('crt_twin2');
    // revocation and the other reference-taking operations resolve the same way
    const revoked = await authority.certificates.revoke(twins[0]!.serialHex.slice(0, 11), 'superseded', admin);
    expect(revoked.id).toBe('crt_twin1');
  });

  it('refuses an ambiguous prefix with certificate.ambiguous_reference listing the candidates', async () => {
    for (const ref of ['7e57ab1e00', '7E:57:AB:1E', 'f1a9f1a9f1']) {
      const e = await expectPkiError(authority.certificates.get(ref, admin), 'certificate.ambiguous_reference');
      expect(e.message).toContain('crt_twin1');
      expect(e.message).toContain('crt_twin2');
      const candidates = e.details.candidates as { id: string; serial: string; ca: string }[];
      expect(candidates.map((x) => x.id).sort()).toEqual(['crt_twin1', 'crt_twin2']);
      expect(candidates[0]!.serial).toMatch(/^7e57ab1e00[12]0+$/);
      expect(candidates[0]!.ca).toBe(leaf.certificate.caId);
    }
  });

  it('does not match prefixes shorter than 8 hex characters, and says so', async () => {
    const c = leaf.certificate;
    const e = await expectPkiError(authority.certificates.get(c.serialHex.slice(0, 7), admin), 'certificate.not_found');
    expect(e.message).toMatch(/at least 8 hex characters/);
    await expectPkiError(authority.certificates.get('0badc0de0badc0de', admin), 'certificate.not_found');
    await expectPkiError(authority.certificates.get('not-a-reference', admin), 'certificate.not_found');
  });
});
