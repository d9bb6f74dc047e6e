// Issue #12 (session 26): without a worker pool, a channel that read the CSR to plan its request (Vault `sign`) hands
// it to the signing pipeline (`csrRead`), which verifies its signature instead of reading the PEM again. What it read
// is used only for the very PEM the request signs, its signature is still verified, and the Vault answer is what it
// was. Every certificate is verified by openssl.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsrUnverified } from '@pkim/core';
import type { Authority } from '@pkim/authority';
import { openssl, opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, TEST_ADMIN } from '../../../tests/support/test-kit';
import { flipSignatureBit } from './fixtures/csr-compare';
import { vaultSignAuthority, type VaultSignAuthority } from './fixtures/vault-sign-authority';

/** the public key (SPKI, hex) of a certificate (node's X509Certificate) or a CSR (`openssl req -pubkey`) */
function spkiOf(pem: string): string {
  const key = pem.includes('CERTIFICATE REQUEST')
    ? createPublicKey(openssl(['req', '-in', '@csr.pem', '-pubkey', '-noout'], { 'csr.pem': pem }).output)
    : new X509Certificate(pem).publicKey;
  return key.export({ type: 'spki', format: 'der' }).toString('hex');
}

describe('a CSR read by the channel, verified by the pipeline (no worker pool)', () => {
  let fx: VaultSignAuthority;
  let a: Authority;
  let rootPem: string;
  const issued = async () => (await a.audit.list({ action: 'certificate.issued', limit: 1000 })).length;
  const vaultSign = (params: Record<string, unknown>) => fx.vaultSign(params);

  beforeAll(async () => {
    fx = await vaultSignAuthority({
      rootCn: 'Read Root',
      role: {
        allowed_domains: 'example.com',
        allow_subdomains: true,
        max_ttl: '72h',
        key_type: 'ec',
        organization: 'Example Org',
        ou: 'Web',
        country: 'US',
        street_address: '1 Main St',
        postal_code: '12345',
      },
    });
    ({ a, rootPem } = fx);
    expect(a.describe().workers).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('certifies the key of the PEM it signs, even when handed what was read from another CSR', async () => {
    const one = opensslCsr({ keyType: 'ec-p256', subject: '/CN=one.example.com', sans: ['DNS:one.example.com'] });
    const two = opensslCsr({ keyType: 'ec-p256', subject: '/CN=two.example.com', sans: ['DNS:two.example.com'] });
    for (const csrRead of [readCsrUnverified(one.csrPem), readCsrUnverified(two.csrPem)]) {
      const r = await a.sign(
        { kind: 'leaf-csr', ca: 'root', profile: 'tls-server', csrPem: one.csrPem, csrRead, lifetimeMs: 3_600_000 },
        { actor: TEST_ADMIN },
      );
      expect(spkiOf(r.certificatePem)).toBe(spkiOf(one.csrPem));
      expect(opensslVerify({ leafPem: r.certificatePem, rootPem }).ok).toBe(true);
    }
  });

  it('still refuses a CSR whose signature does not verify, read or not, and issues nothing', async () => {
    const bad = flipSignatureBit(opensslCsr({ keyType: 'ec-p256', subject: '/CN=bad.example.com' }).csrPem);
    const before = await issued();
    const request = { kind: 'leaf-csr', ca: 'root', profile: 'tls-server', csrPem: bad } as const;
    await expectPkiError(
      a.sign({ ...request, csrRead: readCsrUnverified(bad) }, { actor: TEST_ADMIN }),
      'csr.invalid_signature',
    );
    await expectPkiError(vaultSign({ csr: bad, common_name: 'bad.example.com' }), 'csr.invalid_signature');
    expect(await issued()).toBe(before);
  });

  it('Vault sign: the role subject and the CSR key, verified by openssl', async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=a.example.com', sans: ['DNS:a.example.com'] });
    const r = await vaultSign({ csr: csrPem, common_name: 'a.example.com', ttl: '1h' });
    const pem = r.data!.certificate as string;
    const cert = new X509Certificate(pem);
    expect(cert.subject.split('\n')).toEqual([
      'C=US',
      'street=1 Main St',
      'postalCode=12345',
      'O=Example Org',
      'OU=Web',
      'CN=a.example.com',
    ]);
    expect(spkiOf(pem)).toBe(spkiOf(csrPem));
    expect(opensslVerify({ leafPem: pem, rootPem, purpose: 'sslserver' }).ok).toBe(true);
  });
});
