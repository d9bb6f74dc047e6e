// Issue #12 item 2 (session 13): the Vault `sign` and SPIFFE channels read the CSR without verifying it and leave the
// proof of possession to the signing pipeline, which checks it in its one worker job (PKIM_WORKERS ≥ 2); a Vault role's
// name rules no longer force a second job when they allow the request. Refusals keep their codes and precedence: a CSR
// without proof of possession is refused as such even when the channel would refuse it for another reason, a name the
// role refuses is refused and audited by the pipeline as before. Every certificate is verified by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '@pkim/authority';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, TEST_ADMIN } from '../../../tests/support/test-kit';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';
import { flipSignatureBit } from './fixtures/csr-compare';
import { vaultSignAuthority, type VaultSignAuthority } from './fixtures/vault-sign-authority';

describe('Vault sign and SPIFFE SVIDs with a worker pool: the CSR verified once, by the pipeline', () => {
  let fx: VaultSignAuthority;
  let a: Authority;
  let rootPem: string;
  let svidToken: string;

  async function jobsOf(run: () => Promise<unknown>): Promise<number> {
    const before = a.describe().workerJobs;
    await run();
    return a.describe().workerJobs - before;
  }
  const count = async (action: string) => (await a.audit.list({ action, limit: 1000 })).length;
  const vaultSign = (params: Record<string, unknown>) => fx.vaultSign(params);

  beforeAll(async () => {
    fx = await vaultSignAuthority({
      workers: 2,
      rootCn: 'Once Root',
      role: { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '72h', key_type: 'ec', key_bits: 256 },
    });
    ({ a, rootPem } = fx);
    await a.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
    svidToken = (await a.auth.createToken({ name: 'svid', role: 'operator', scopes: ['spiffe:sign'] }, TEST_ADMIN))
      .token;
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('Vault sign: one worker job for a CSR the role allows, verified by openssl', async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=a.example.com', sans: ['DNS:a.example.com'] });
    let pem = '';
    const jobs = await jobsOf(async () => {
      const r = await vaultSign({ csr: csrPem, common_name: 'a.example.com', ttl: '1h' });
      pem = r.data!.certificate as string;
    });
    expect(jobs).toBe(1);
    const v = opensslVerify({ leafPem: `${pem}\n`, chainPems: [], rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
  });

  it('Vault sign: refusals keep their codes and precedence, the pipeline audits what it refuses', async () => {
    const good = opensslCsr({ keyType: 'ec-p256', subject: '/CN=b.example.com', sans: ['DNS:b.example.com'] });
    const broken = flipSignatureBit(good.csrPem);
    const [failed0, issued0] = [await count('certificate.issue_failed'), await count('certificate.issued')];
    // no proof of possession, everything else allowed: refused by the pipeline's job (and audited there)
    await expectPkiError(vaultSign({ csr: broken, common_name: 'b.example.com' }), 'csr.invalid_signature');
    // no proof of possession AND a name or a key type the role refuses: the CSR's error first
    const evil = opensslCsr({ keyType: 'ec-p256', subject: '/CN=evil.org' });
    await expectPkiError(vaultSign({ csr: flipSignatureBit(evil.csrPem) }), 'csr.invalid_signature');
    const rsa = opensslCsr({ keyType: 'rsa-2048', subject: '/CN=b.example.com' });
    await expectPkiError(vaultSign({ csr: flipSignatureBit(rsa.csrPem) }), 'csr.invalid_signature');
    await expectPkiError(vaultSign({ csr: rsa.csrPem }), 'policy.key_type_not_allowed');
    // a name the role refuses (valid CSR): refused by the role's rule in the pipeline, audited as before
    const e = await expectPkiError(vaultSign({ csr: evil.csrPem }), 'policy.name_not_allowed');
    expect(e.message).toMatch(/common name evil\.org not allowed by this role/);
    const [event] = await a.audit.list({ action: 'certificate.issue_failed', order: 'desc', limit: 1 });
    expect(event?.details).toMatchObject({ code: 'policy.name_not_allowed' });
    // audited by the pipeline: the two broken CSRs it was asked to sign and the refused name (the RSA key type is
    // the role's refusal, before the pipeline, as always); nothing issued
    expect([await count('certificate.issue_failed'), await count('certificate.issued')]).toEqual([
      failed0 + 3,
      issued0,
    ]);
  });

  it('SPIFFE: one worker job and the CSR verified once; a CSR without proof of possession refused', async () => {
    const id = spiffeIdFor('node', 'n-1');
    let svid: Awaited<ReturnType<Authority['spiffe']['sign']>> | undefined;
    const jobs = await jobsOf(async () => {
      svid = await a.spiffe.sign(
        { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId: 'n-1' },
        { bearerToken: svidToken },
      );
    });
    expect(jobs).toBe(1);
    expect(svid!.spiffeId).toBe(id);
    const plane = (await a.spiffe.bundle()).servicesBundle;
    const v = opensslVerify({
      leafPem: svid!.certificatePem,
      chainPems: svid!.chain,
      rootPem: plane[plane.length - 1]!,
    });
    expect(v.ok, v.output).toBe(true);
    const issued0 = await count('certificate.issued');
    const broken = flipSignatureBit(svidCsr(id).csrPem);
    // identity and key fine: the pipeline's job refuses it, audited as a failed issuance
    await expectPkiError(
      a.spiffe.sign({ csrPem: broken, serviceType: 'node', instanceId: 'n-1' }, { bearerToken: svidToken }),
      'csr.invalid_signature',
    );
    const [failed] = await a.audit.list({ action: 'certificate.issue_failed', order: 'desc', limit: 1 });
    expect(failed?.details).toMatchObject({ code: 'csr.invalid_signature' });
    // another identity too: the CSR's own error first, audited by the channel
    await expectPkiError(
      a.spiffe.sign({ csrPem: broken, serviceType: 'node', instanceId: 'n-2' }, { bearerToken: svidToken }),
      'csr.invalid_signature',
    );
    const [refused] = await a.audit.list({ action: 'spiffe.sign_failed', order: 'desc', limit: 1 });
    expect(refused?.details).toMatchObject({ code: 'csr.invalid_signature' });
    expect(await count('certificate.issued')).toBe(issued0);
  });
});
