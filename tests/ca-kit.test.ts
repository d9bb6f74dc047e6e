// tests/support/ca-kit.ts, the CAs most tests start from: what a test asks for (key type, path length, name
// constraints) is in the certificates openssl reads, and a certificate without it is refused (positive control).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { fixedClock } from '@pkim/shared';
import { checkCaCertificate, createIssuingCa, createRootCa, rootAndIssuing } from './support/ca-kit';
import { tempDir } from './support/openssl-tools';
import { silentLogger } from './support/test-kit';

describe('ca-kit', () => {
  const tmp = tempDir('pkim-ca-kit-');
  let authority: Authority;
  beforeAll(async () => {
    authority = await createAuthority({ dataDir: tmp.dir, logger: silentLogger });
  });
  afterAll(async () => {
    await authority.close();
    tmp.cleanup();
  });

  it('a P-384 root and a name-constrained P-256 issuing CA with pathLen 0 below it, as asked', async () => {
    const nameConstraints = { permittedDns: ['.example.com'], excludedDns: ['bad.example.com'] };
    const root = await createRootCa(authority, 'kit-root', { keyType: 'ec-p384' });
    const int = await createIssuingCa(authority, root, 'kit-issuing', { pathLen: 0, nameConstraints });
    expect([root.view.ca.keyType, int.view.ca.keyType]).toEqual(['ec-p384', 'ec-p256']);
    expect(int.view.ca.parentId).toBe(root.id);

    // positive control: the same certificates against what they do not carry
    expect(() => checkCaCertificate(root, { keyType: 'ec-p256' })).toThrow('key type ec-p256');
    expect(() => checkCaCertificate(int, { keyType: 'ec-p256', pathLen: 1 })).toThrow('pathlen:1');
    expect(() => checkCaCertificate(root, { keyType: 'ec-p384', nameConstraints })).toThrow(
      'permitted DNS:.example.com, excluded DNS:bad.example.com',
    );
    expect(() =>
      checkCaCertificate(int, { keyType: 'ec-p256', nameConstraints: { permittedDns: ['.example.org'] } }),
    ).toThrow('permitted DNS:.example.org');
    expect(() =>
      checkCaCertificate(int, {
        keyType: 'ec-p256',
        nameConstraints: { ...nameConstraints, permittedIp: ['10.0.0.0/8'] },
      }),
    ).toThrow('1 permitted IP range(s)');
  });

  it('RSA and Ed25519 CAs are read by their key line', async () => {
    const rsa = await createRootCa(authority, 'kit-rsa', { keyType: 'rsa-2048' });
    const ed = await createIssuingCa(authority, rsa, 'kit-ed25519', { keyType: 'ed25519' });
    expect(() => checkCaCertificate(rsa, { keyType: 'rsa-3072' })).toThrow('key type rsa-3072');
    expect(() => checkCaCertificate(ed, { keyType: 'ec-p256' })).toThrow('key type ec-p256');
  });

  it('rootAndIssuing: the pair named by its prefix; on a fixed clock, verified at that time (verifyAt)', async () => {
    const { root, issuing } = await rootAndIssuing(authority, 'pair', { issuing: { pathLen: 0 } });
    expect([root.name, issuing.name]).toEqual(['pair-root', 'pair-issuing']);
    expect(issuing.view.ca.parentId).toBe(root.id);
    checkCaCertificate(issuing, { keyType: 'ec-p256', pathLen: 0 });
    // an authority whose clock is in 2031: its CAs verify at that time, and not now (positive control)
    const later = tempDir('pkim-ca-kit-later-');
    const T = Date.UTC(2031, 2, 1, 12, 0, 0);
    const future = await createAuthority({ dataDir: later.dir, logger: silentLogger, clock: fixedClock(T) });
    try {
      const pair = await rootAndIssuing(future, 'later', { verifyAt: T });
      expect(pair.issuing.view.ca.parentId).toBe(pair.root.id);
      await expect(createRootCa(future, 'later-now')).rejects.toThrow('root CA later-now does not verify');
    } finally {
      await future.close();
      later.cleanup();
    }
  });
});
