// Issue #12 item 1: an approved certificate request and a leaf with a server-generated key are ONE worker job each,
// like a leaf from a CSR (csr-leaf-job.test.ts): the approval decodes, checks and signs the request's CSR in a
// `csr-leaf` job; a generated-key leaf generates its key and signs in a `key-leaf` job (EC and Ed25519 on the worker's
// thread, RSA on libuv's thread pool). Refusals keep the codes, messages, details and precedence of the in-process
// pipeline (a request whose CSR fails as well gives the CSR's error); every certificate is verified by openssl, and
// the key a generated-key leaf returns is the certificate's (openssl compares them).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import { openStore, type Store } from '@pkim/store';
import {
  createAuthority,
  createProvisioner,
  type Actor,
  type Authority,
  type IssuedCertificate,
  type Via,
} from '@pkim/authority';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslRaw, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { rootAndIssuing } from '../../../tests/support/ca-kit';
import { comparable, flipSignatureBit } from './fixtures/csr-compare';

describe('approved requests and generated-key leaves in one worker job (PKIM_WORKERS ≥ 2)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let inProcess: Authority;
  let pooled: Authority;
  /** a third handle on the same database, to put a broken CSR into a pending request */
  let store: Store;
  let rootPem: string;
  let issuingPem: string;
  const requester: Actor = { id: 'usr_requester', role: 'requester' };

  /** the worker jobs `run` caused, per kind */
  async function jobsOf(run: () => Promise<unknown>): Promise<Record<string, number>> {
    const before = pooled.describe().workerJobsByKind;
    await run();
    const after = pooled.describe().workerJobsByKind;
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(after)) if (n !== (before[k] ?? 0)) out[k] = n - (before[k] ?? 0);
    return out;
  }

  const submit = (csrPem: string) =>
    pooled.requests.submit({ caId: 'issuing', csrPem, profile: 'tls-server' }, requester);

  /** the same approval refused alike by both pipelines; the request stays pending; one failure event each */
  async function approvalRefusedAlike(requestId: string, via: Via, code: string) {
    const failures = async () => (await pooled.audit.list({ action: 'request.approve_failed', limit: 1000 })).length;
    const f0 = await failures();
    const approve = { kind: 'approved-request', requestId } as const;
    const a = await expectPkiError(inProcess.sign(approve, via), code);
    const b = await expectPkiError(pooled.sign(approve, via), code);
    expect({ message: b.message, details: b.details }).toEqual({ message: a.message, details: a.details });
    expect(await failures()).toBe(f0 + 2);
    expect((await pooled.requests.get(requestId, TEST_ADMIN)).status).toBe('pending');
    return b;
  }

  /** the SubjectPublicKeyInfo (PEM) of a certificate and of a private key, each as openssl reads it */
  const certificateKey = (pem: string) => opensslRaw(['x509', '-noout', '-pubkey'], Buffer.from(pem)).stdout;
  const privateKeyPublic = (pem: string) => opensslRaw(['pkey', '-pubout'], Buffer.from(pem)).stdout;

  beforeAll(async () => {
    tmp = tempDir();
    const clock = fixedClock(Math.floor(Date.now() / 1000) * 1000);
    inProcess = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock });
    // the same data directory and clock: both instances see the same CAs and requests, plan the same certificates
    pooled = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock, workers: 2 });
    store = await openStore({ url: join(tmp.dir, 'pkim.db') });
    const { root, issuing } = await rootAndIssuing(pooled, undefined, {
      root: { subject: 'CN=One Job Root,O=Tests' },
      issuing: { subject: 'CN=One Job Issuing' },
    });
    [rootPem, issuingPem] = [root.pem, issuing.pem];
  });

  afterAll(async () => {
    await pooled?.close();
    await inProcess?.close();
    await store?.close();
    tmp?.cleanup();
  });

  it('approves a request in one csr-leaf job: the in-process pipeline’s certificate, openssl verifies', async () => {
    for (const keyType of ['ec-p256', 'rsa-2048']) {
      const { csrPem } = opensslCsr({
        keyType,
        subject: '/CN=approved.svc.example.com/O=Tests',
        sans: ['DNS:approved.svc.example.com', 'IP:10.1.2.3'],
      });
      const [r1, r2] = [await submit(csrPem), await submit(csrPem)];
      let done: Awaited<ReturnType<Authority['requests']['approve']>> | undefined;
      expect(await jobsOf(async () => (done = await pooled.requests.approve(r1.id, TEST_ADMIN)))).toEqual({
        'csr-leaf': 1,
      });
      const other = await inProcess.requests.approve(r2.id, TEST_ADMIN);
      const pem = done!.issued.certificatePem;
      expect(comparable(opensslText(pem))).toBe(comparable(opensslText(other.issued.certificatePem)));
      const v = opensslVerify({ leafPem: pem, chainPems: [issuingPem], rootPem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
      expect(done!.request).toMatchObject({ status: 'issued', reviewer: TEST_ADMIN.id });
      expect(done!.issued.certificate).toMatchObject({
        requestId: r1.id,
        keyType,
        subjectDn: 'O=Tests,CN=approved.svc.example.com',
        sans: { dns: ['approved.svc.example.com'], ip: ['10.1.2.3'] },
      });
      expect((await pooled.requests.get(r1.id, TEST_ADMIN)).certificateId).toBe(done!.issued.certificate.id);
      const [approved] = await pooled.audit.list({ action: 'request.approved', target: r1.id });
      expect(approved?.details).toEqual({ certificateId: done!.issued.certificate.id });
    }
  });

  it("refuses an approval the reviewer's channel does not allow with the in-process codes and messages", async () => {
    const outside = opensslCsr({
      keyType: 'rsa-2048',
      subject: '/CN=x.elsewhere.example',
      sans: ['DNS:x.elsewhere.example'],
    });
    const req = await submit(outside.csrPem);
    // names: judged in the worker, from the CSR
    const namesLimited: Actor = { id: 'tok_names', role: 'operator', resources: { names: ['*.svc.example.com'] } };
    const e = await approvalRefusedAlike(req.id, { actor: namesLimited }, 'provisioner.name_not_allowed');
    expect(e.details).toMatchObject({ provisioner: { kind: 'token', id: 'tok_names' }, name: 'x.elsewhere.example' });
    // the CA: judged on the main thread, before the job
    const casLimited: Actor = { id: 'tok_cas', role: 'operator', resources: { cas: ['root'] } };
    await approvalRefusedAlike(req.id, { actor: casLimited }, 'provisioner.ca_not_allowed');
    // the key type: judged in the worker
    const ecOnly = createProvisioner({
      kind: 'vault-role',
      id: 'vault-role:ec',
      name: 'ec',
      policy: { keyTypes: ['ec-p256'] },
    });
    await approvalRefusedAlike(req.id, { actor: TEST_ADMIN, provisioner: ecOnly }, 'provisioner.key_type_not_allowed');
    // refused by the worker: one job, like a success
    expect(
      await jobsOf(() => expectPkiError(pooled.requests.approve(req.id, namesLimited), 'provisioner.name_not_allowed')),
    ).toEqual({ 'csr-leaf': 1 });
    // and approved by a reviewer who may
    const done = await pooled.requests.approve(req.id, TEST_ADMIN);
    const v = opensslVerify({ leafPem: done.issued.certificatePem, chainPems: [issuingPem], rootPem });
    expect(v.ok, v.output).toBe(true);
  });

  it("a request whose CSR fails too gives the CSR's error, as the in-process pipeline does (CSR first)", async () => {
    const good = opensslCsr({ keyType: 'ec-p256', subject: '/CN=b.svc.example.com', sans: ['DNS:b.svc.example.com'] });
    const req = await submit(good.csrPem);
    // the stored CSR altered after submission (its proof of possession no longer holds)
    await store.commit({ updateRequests: [{ id: req.id, patch: { csrPem: flipSignatureBit(good.csrPem) } }] });
    const casLimited: Actor = { id: 'tok_cas', role: 'operator', resources: { cas: ['root'] } };
    // no proof of possession AND a CA the reviewer may not use (refused on the main thread, before the job)
    await approvalRefusedAlike(req.id, { actor: casLimited }, 'csr.invalid_signature');
    // no proof of possession AND a lifetime beyond the reviewer's channel maximum
    const shortLived = createProvisioner({
      kind: 'vault-role',
      id: 'vault-role:short',
      name: 'short',
      policy: { maxLifetimeMs: 60_000 },
    });
    await approvalRefusedAlike(req.id, { actor: TEST_ADMIN, provisioner: shortLived }, 'csr.invalid_signature');
    // alone
    expect(
      await jobsOf(() => expectPkiError(pooled.requests.approve(req.id, TEST_ADMIN), 'csr.invalid_signature')),
    ).toEqual({ 'csr-leaf': 1 });
    await approvalRefusedAlike(req.id, { actor: TEST_ADMIN }, 'csr.invalid_signature');
  });

  it('generates the key and signs in one key-leaf job (EC, Ed25519, RSA): the key is the certificate’s', async () => {
    for (const keyType of ['ec-p256', 'ec-p384', 'ed25519', 'rsa-2048'] as const) {
      const input = {
        caId: 'issuing',
        profile: 'tls-server',
        subject: 'CN=gen.svc.example.com',
        sans: { dns: ['gen.svc.example.com'] },
        keyType,
        keepKey: true,
      };
      let issued: IssuedCertificate | undefined;
      expect(await jobsOf(async () => (issued = await pooled.issuance.issueWithKey(input, TEST_ADMIN)))).toEqual({
        'key-leaf': 1,
      });
      const pem = issued!.certificatePem;
      const v = opensslVerify({ leafPem: pem, chainPems: [issuingPem], rootPem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
      expect(privateKeyPublic(issued!.privateKeyPem!)).toBe(certificateKey(pem));
      expect(certificateKey(pem)).toMatch(/BEGIN PUBLIC KEY/);
      expect(issued!.certificate).toMatchObject({ keyType, subjectDn: 'CN=gen.svc.example.com' });
      // kept (sealed) with the certificate, as in-process
      expect(await store.certificates.findSealedKey(issued!.certificate.id)).toBeTruthy();
      const [event] = await pooled.audit.list({ action: 'certificate.issued', target: issued!.certificate.id });
      expect(event?.details).toMatchObject({ keyKept: true });
      // the in-process pipeline makes the same certificate but for its key
      const other = await inProcess.issuance.issueWithKey(input, TEST_ADMIN);
      const noKey = (text: string) => comparable(text).replace(/Subject Public Key Info:[\s\S]*?X509v3 extensions/, '');
      const noSki = (text: string) => noKey(text).replace(/Subject Key Identifier:\s*\n\s*[0-9A-F:]+/, '');
      expect(noSki(opensslText(pem))).toBe(noSki(opensslText(other.certificatePem)));
    }
  });

  it('refuses a generated-key leaf with the in-process codes: checks before the job, the lint in it', async () => {
    const namesLimited: Actor = { id: 'tok_names', role: 'operator', resources: { names: ['*.svc.example.com'] } };
    const leaf = (over: Record<string, unknown> = {}) => ({
      caId: 'issuing',
      profile: 'tls-server',
      subject: 'CN=k.elsewhere.example',
      sans: { dns: ['k.elsewhere.example'] },
      keyType: 'ec-p256' as const,
      ...over,
    });
    const refusedAlike = async (input: ReturnType<typeof leaf>, actor: Actor, code: string, jobs: object) => {
      const a = await expectPkiError(inProcess.issuance.issueWithKey(input, actor), code);
      let b: Error | undefined;
      expect(
        await jobsOf(async () => (b = await expectPkiError(pooled.issuance.issueWithKey(input, actor), code))),
      ).toEqual(jobs);
      expect({ message: b!.message }).toEqual({ message: a.message });
    };
    // a name outside the token's: refused before any key is generated (no job)
    await refusedAlike(leaf(), namesLimited, 'provisioner.name_not_allowed', {});
    // a subject that is not a DN
    await refusedAlike(leaf({ subject: 'XX=1' }), TEST_ADMIN, 'dn.invalid', {});
    // a lifetime beyond the issuing CA's: the linter refuses it in the job, after the key was generated
    await pooled.sign(
      {
        kind: 'intermediate-ca',
        parent: 'root',
        name: 'short',
        subject: 'CN=One Job Short',
        keyType: 'ec-p256',
        lifetimeMs: 10 * 86_400_000,
      },
      { actor: TEST_ADMIN },
    );
    const beyond = leaf({ caId: 'short', subject: 'CN=k.svc.example.com', validityMs: 20 * 86_400_000 });
    await refusedAlike(beyond, TEST_ADMIN, 'lint.lifetime_beyond_issuer', { 'key-leaf': 1 });
  });
});
