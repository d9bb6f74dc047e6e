// Issue #12: `csrWorker` (with PKIM_WORKERS 0/1) — one worker thread decodes each CSR and checks its proof of
// possession, so the CSR key's import leaves the main thread, while the certificate is still signed and verified
// in-process. The same certificates and the same refusals (code, message, details, one failure event, nothing issued)
// as the in-process pipeline; every certificate verified by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PkiError, fixedClock } from '@pkim/shared';
import { createAuthority, type Authority, type LeafFromCsrRequest, type Via } from '@pkim/authority';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { rootAndIssuing } from '../../../tests/support/ca-kit';
import { comparable, flipSignatureBit } from './fixtures/csr-compare';

describe('csrWorker: CSRs decoded in a worker thread, certificates signed in-process', () => {
  let tmp: ReturnType<typeof tempDir>;
  let inProcess: Authority;
  let withWorker: Authority;
  let rootPem: string;
  let issuingPem: string;
  const via: Via = { actor: TEST_ADMIN };

  /** the worker jobs `run` caused, per kind */
  async function jobsOf(run: () => Promise<unknown>): Promise<Record<string, number>> {
    const before = withWorker.describe().workerJobsByKind;
    await run();
    const after = withWorker.describe().workerJobsByKind;
    return Object.fromEntries(
      Object.entries(after)
        .map(([k, n]) => [k, n - (before[k] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
  }

  beforeAll(async () => {
    tmp = tempDir();
    const clock = fixedClock(Math.floor(Date.now() / 1000) * 1000);
    inProcess = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock, workers: 1 });
    // the same data directory and clock: both instances see the same CAs and plan the same certificates
    withWorker = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock, workers: 1, csrWorker: true });
    const { root, issuing } = await rootAndIssuing(withWorker, undefined, {
      root: { subject: 'CN=CSR Worker Root,O=Tests' },
      issuing: { subject: 'CN=CSR Worker Issuing,O=Tests' },
    });
    [rootPem, issuingPem] = [root.pem, issuing.pem];
  });

  afterAll(async () => {
    await withWorker?.close();
    await inProcess?.close();
    tmp?.cleanup();
  });

  it('signs what in-process signs, the CSR decoded in the worker (a csr job); openssl verifies', async () => {
    expect(withWorker.describe().workers).toBe(1);
    for (const keyType of ['ec-p256', 'rsa-2048', 'ed25519']) {
      const { csrPem } = opensslCsr({
        keyType,
        subject: '/CN=a.example.com/O=Tests',
        sans: ['DNS:a.example.com', 'IP:10.1.2.3'],
      });
      const request: LeafFromCsrRequest = { kind: 'leaf-csr', ca: 'issuing', csrPem, profile: 'tls-server' };
      let pem = '';
      // the CSR in the worker; nothing is signed there
      expect(await jobsOf(async () => (pem = (await withWorker.sign(request, via)).certificatePem))).toEqual({
        csr: 1,
      });
      const a = await inProcess.sign(request, via);
      expect(comparable(opensslText(pem))).toBe(comparable(opensslText(a.certificatePem)));
      const v = opensslVerify({ leafPem: pem, chainPems: [issuingPem], rootPem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    }
  });

  it('refuses a CSR without proof of possession as the in-process pipeline does, nothing issued', async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=b.example.com', sans: ['DNS:b.example.com'] });
    const request: LeafFromCsrRequest = {
      kind: 'leaf-csr',
      ca: 'issuing',
      csrPem: flipSignatureBit(csrPem),
      profile: 'tls-server',
    };
    const failures = async () =>
      (await withWorker.audit.list({ action: 'certificate.issue_failed', limit: 1000 })).length;
    const issued = async () => (await withWorker.audit.list({ action: 'certificate.issued', limit: 1000 })).length;
    const [f0, i0] = [await failures(), await issued()];
    const a = await expectPkiError(inProcess.sign(request, via), 'csr.invalid_signature');
    let b: PkiError | undefined;
    expect(
      await jobsOf(async () => (b = await expectPkiError(withWorker.sign(request, via), 'csr.invalid_signature'))),
    ).toEqual({ csr: 1 });
    expect({ message: b!.message, details: b!.details }).toEqual({ message: a.message, details: a.details });
    expect([await failures(), await issued()]).toEqual([f0 + 2, i0]);
  });

  it('a CSR failing a policy check too gives its own error first, as in-process', async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=c.example.com', sans: ['DNS:c.example.com'] });
    // an unknown profile is refused before the CSR is signed; the broken CSR's error comes first either way
    const request: LeafFromCsrRequest = {
      kind: 'leaf-csr',
      ca: 'issuing',
      csrPem: flipSignatureBit(csrPem),
      profile: 'no-such-profile',
    };
    const a = await expectPkiError(inProcess.sign(request, via), 'csr.invalid_signature');
    const b = await expectPkiError(withWorker.sign(request, via), 'csr.invalid_signature');
    expect(b.message).toBe(a.message);
  });
});
