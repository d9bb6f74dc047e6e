// Issue #12 item 1: a leaf from a CSR is ONE worker job (decode + proof of possession → the leaf checks → plan → lint
// → encode → sign → verify) when the CA key can be lent and the channel has no validator functions; the main thread
// decides CA, profile and lifetime before, and commits after. Refusals keep the codes, messages and precedence of the
// in-process pipeline (a CSR failing two checks gives the error the in-process pipeline gives); every certificate is
// verified by openssl; a channel with validators still works (two jobs, its validators on the main thread).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PkiError, fixedClock } from '@pkim/shared';
import {
  createAuthority,
  createProvisioner,
  type Actor,
  type Authority,
  type IssuedCertificate,
  type LeafFromCsrRequest,
  type Via,
} from '@pkim/authority';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { rootAndIssuing } from '../../../tests/support/ca-kit';
import { comparable, flipSignatureBit } from './fixtures/csr-compare';

describe('a leaf from a CSR in one worker job (PKIM_WORKERS ≥ 2)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let inProcess: Authority;
  let pooled: Authority;
  let rootPem: string;
  let issuingPem: string;

  /** a token limited to the issuing CA, two profiles and names below svc.example.com */
  const limited: Actor = {
    id: 'tok_limited',
    name: 'svc-ci',
    role: 'operator',
    resources: { cas: ['issuing'], profiles: ['tls-server', 'tls-client'], names: ['*.svc.example.com', '10.0.0.0/8'] },
  };

  /** the worker jobs `run` caused */
  async function jobsOf(run: () => Promise<unknown>): Promise<number> {
    const before = pooled.describe().workerJobs;
    await run();
    return pooled.describe().workerJobs - before;
  }

  /** the same request through both pipelines: the same refusal (code, message, details), one audit event each */
  async function refusedAlike(request: LeafFromCsrRequest, via: Via, code: string): Promise<PkiError> {
    const failures = async () => (await pooled.audit.list({ action: 'certificate.issue_failed', limit: 1000 })).length;
    const issued = async () => (await pooled.audit.list({ action: 'certificate.issued', limit: 1000 })).length;
    const [f0, i0] = [await failures(), await issued()];
    const a = await expectPkiError(inProcess.sign(request, via), code);
    const b = await expectPkiError(pooled.sign(request, via), code);
    expect({ message: b.message, details: b.details }).toEqual({ message: a.message, details: a.details });
    expect([await failures(), await issued()]).toEqual([f0 + 2, i0]);
    const [event] = await pooled.audit.list({ action: 'certificate.issue_failed', order: 'desc', limit: 1 });
    expect(event?.details).toMatchObject({ code });
    return b;
  }

  beforeAll(async () => {
    tmp = tempDir();
    const clock = fixedClock(Math.floor(Date.now() / 1000) * 1000);
    inProcess = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock });
    // the same data directory and clock: both instances see the same CAs and plan the same certificates
    pooled = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock, workers: 2 });
    const { root, issuing } = await rootAndIssuing(pooled, undefined, {
      root: { subject: 'CN=Job Root,O=Tests' },
      issuing: { subject: 'CN=Job Issuing,O=Tests' },
    });
    [rootPem, issuingPem] = [root.pem, issuing.pem];
  });

  afterAll(async () => {
    await pooled?.close();
    await inProcess?.close();
    tmp?.cleanup();
  });

  it('signs in one job what the in-process pipeline signs (three key types, CSR names), openssl verifies', async () => {
    for (const keyType of ['ec-p256', 'rsa-2048', 'ed25519']) {
      const { csrPem } = opensslCsr({
        keyType,
        subject: '/CN=a.svc.example.com/O=Tests',
        sans: ['DNS:a.svc.example.com', 'DNS:b.svc.example.com', 'IP:10.1.2.3'],
      });
      const request: LeafFromCsrRequest = { kind: 'leaf-csr', ca: 'issuing', csrPem, profile: 'tls-server' };
      let b: IssuedCertificate | undefined;
      expect(await jobsOf(async () => (b = await pooled.sign(request, { actor: limited })))).toBe(1);
      const a = await inProcess.sign(request, { actor: limited });
      const pem = b!.certificatePem;
      expect(comparable(opensslText(pem))).toBe(comparable(opensslText(a.certificatePem)));
      const v = opensslVerify({ leafPem: pem, chainPems: [issuingPem], rootPem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
      // the row and its audit event hold what the worker decoded
      const row = ({ subjectDn, commonName, sans, keyType }: IssuedCertificate['certificate']) => ({
        subjectDn,
        commonName,
        sans,
        keyType,
      });
      expect(row(b!.certificate)).toEqual(row(a.certificate));
      expect(row(b!.certificate)).toMatchObject({
        commonName: 'a.svc.example.com',
        sans: { dns: ['a.svc.example.com', 'b.svc.example.com'], ip: ['10.1.2.3'] },
        keyType,
      });
      const [event] = await pooled.audit.list({ action: 'certificate.issued', target: b!.certificate.id });
      expect(event?.details).toMatchObject({ subject: a.certificate.subjectDn, provisioner: { kind: 'token' } });
    }
  });

  it("the request's subject and names replace the CSR's, checked in the worker (openssl)", async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=csr.other.example',
      sans: ['DNS:csr.other.example'],
    });
    const request: LeafFromCsrRequest = {
      kind: 'leaf-csr',
      ca: 'issuing',
      csrPem,
      profile: 'tls-server',
      subject: 'CN=given.svc.example.com',
      sans: { dns: [' given.svc.example.com', 'given.svc.example.com', 'x.svc.example.com'] },
    };
    let issued: IssuedCertificate | undefined;
    expect(await jobsOf(async () => (issued = await pooled.sign(request, { actor: limited })))).toBe(1);
    const text = opensslText(issued!.certificatePem);
    expect(text).toMatch(/Subject: CN ?= ?given\.svc\.example\.com\n/);
    expect(text).toMatch(/DNS:given\.svc\.example\.com, DNS:x\.svc\.example\.com\n/);
    expect(text).not.toMatch(/other\.example/);
    const v = opensslVerify({ leafPem: issued!.certificatePem, chainPems: [issuingPem], rootPem });
    expect(v.ok, v.output).toBe(true);
    expect(issued!.certificate.sans).toEqual({ dns: ['given.svc.example.com', 'x.svc.example.com'] });
  });

  it('refuses with the in-process codes and messages: proof of possession, names, key type, SAN limits', async () => {
    const good = opensslCsr({ keyType: 'ec-p256', subject: '/CN=c.svc.example.com', sans: ['DNS:c.svc.example.com'] });
    const outside = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=c.elsewhere.example',
      sans: ['DNS:c.elsewhere.example'],
    });
    const leaf = (csrPem: string, over: Record<string, unknown> = {}) =>
      ({ kind: 'leaf-csr', ca: 'issuing', csrPem, profile: 'tls-server', ...over }) as LeafFromCsrRequest;
    const byLimited = { actor: limited };
    // each refusal costs one job, like a success
    expect(
      await jobsOf(() =>
        expectPkiError(pooled.sign(leaf(flipSignatureBit(good.csrPem)), byLimited), 'csr.invalid_signature'),
      ),
    ).toBe(1);
    await refusedAlike(leaf(flipSignatureBit(good.csrPem)), byLimited, 'csr.invalid_signature');
    const e = await refusedAlike(leaf(outside.csrPem), byLimited, 'provisioner.name_not_allowed');
    expect(e.details).toMatchObject({ provisioner: { kind: 'token', id: 'tok_limited' }, name: 'c.elsewhere.example' });
    // a name the request gives instead of the CSR's is judged too
    await refusedAlike(
      leaf(good.csrPem, { sans: { dns: ['x.elsewhere.example'] } }),
      byLimited,
      'provisioner.name_not_allowed',
    );
    const ecOnly = createProvisioner({
      kind: 'vault-role',
      id: 'vault-role:ec',
      name: 'ec',
      policy: { keyTypes: ['ec-p256'] },
    });
    const rsa = opensslCsr({ keyType: 'rsa-2048', subject: '/CN=r.svc.example.com', sans: ['DNS:r.svc.example.com'] });
    await refusedAlike(
      leaf(rsa.csrPem),
      { actor: TEST_ADMIN, provisioner: ecOnly },
      'provisioner.key_type_not_allowed',
    );
    const many = { dns: Array.from({ length: 200 }, (_, i) => `n${i}.svc.example.com`) };
    await refusedAlike(leaf(good.csrPem, { sans: many }), byLimited, 'policy.too_many_sans');
  });

  it('a CSR failing two checks gives the one error the in-process pipeline gives (the CSR first)', async () => {
    const outside = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=d.elsewhere.example',
      sans: ['DNS:d.elsewhere.example'],
    });
    const broken = flipSignatureBit(outside.csrPem);
    const leaf = (csrPem: string, over: Record<string, unknown> = {}) =>
      ({ kind: 'leaf-csr', ca: 'issuing', csrPem, profile: 'tls-server', ...over }) as LeafFromCsrRequest;
    // no proof of possession AND a name outside the channel's
    await refusedAlike(leaf(broken), { actor: limited }, 'csr.invalid_signature');
    // no proof of possession AND a profile the channel may not use (refused on the main thread, before the job)
    await refusedAlike(leaf(broken, { profile: 'code-signing' }), { actor: limited }, 'csr.invalid_signature');
    // not a CSR AND a lifetime beyond the channel's maximum
    const shortLived = createProvisioner({
      kind: 'vault-role',
      id: 'vault-role:short',
      name: 'short',
      policy: { maxLifetimeMs: 60_000 },
    });
    await refusedAlike(
      leaf('not a CSR', { lifetimeMs: 86_400_000 }),
      { actor: TEST_ADMIN, provisioner: shortLived },
      'csr.invalid',
    );
    // a good CSR with a bad requested subject: the subject's error
    const good = opensslCsr({ keyType: 'ec-p256', subject: '/CN=e.svc.example.com', sans: ['DNS:e.svc.example.com'] });
    await refusedAlike(leaf(good.csrPem, { subject: 'XX=1' }), { actor: limited }, 'dn.invalid');
    await refusedAlike(leaf(broken, { subject: 'XX=1' }), { actor: limited }, 'csr.invalid_signature');
  });

  it('a channel with validator functions keeps them on the main thread (two jobs), in their order', async () => {
    const seen: string[] = [];
    const role = createProvisioner({
      kind: 'vault-role',
      id: 'vault-role:checked',
      name: 'checked',
      policy: {
        names: ['*.svc.example.com'],
        validators: [
          (facts) => {
            seen.push(facts.subject.map((a) => a.value).join(','));
            if (facts.sans.dns?.includes('refused.svc.example.com')) {
              throw new PkiError('vault.name_refused', 'refused by the role');
            }
          },
        ],
      },
    });
    const ok = opensslCsr({ keyType: 'ec-p256', subject: '/CN=v.svc.example.com', sans: ['DNS:v.svc.example.com'] });
    const request: LeafFromCsrRequest = { kind: 'leaf-csr', ca: 'issuing', csrPem: ok.csrPem, profile: 'tls-server' };
    let issued: IssuedCertificate | undefined;
    const jobs = await jobsOf(
      async () => (issued = await pooled.sign(request, { actor: TEST_ADMIN, provisioner: role })),
    );
    expect(jobs).toBe(2);
    expect(seen).toEqual(['v.svc.example.com']);
    const v = opensslVerify({ leafPem: issued!.certificatePem, chainPems: [issuingPem], rootPem });
    expect(v.ok, v.output).toBe(true);
    const refused = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=refused.svc.example.com',
      sans: ['DNS:refused.svc.example.com'],
    });
    await refusedAlike(
      { ...request, csrPem: refused.csrPem },
      { actor: TEST_ADMIN, provisioner: role },
      'vault.name_refused',
    );
  });
});
