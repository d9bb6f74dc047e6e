// Issue #12: the signing pipeline announces every certificate it signs in a worker thread to the store's group commit
// (Store.expectCommit), so a batch is held while they are signed and their units share one transaction; a lone
// issuance is written at once. The delay is set to an hour here: only the announced work decides (a batch held for
// the delay would time the test out). Certificates signed on an HSM (SoftHSM2, signing on libuv's threads) are
// announced the same way. Every certificate is verified by openssl.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority, type IssuedCertificate } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { PkiError } from '@pkim/shared';
import { silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { createSoftHsmToken, type SoftHsmToken } from '../../../tests/support/softhsm';
import { flipSignatureBit } from './fixtures/csr-compare';

describe('group commit of issuances signed in worker threads', () => {
  let tmp: ReturnType<typeof tempDir>;
  let authority: Authority;
  let rootPem: string;
  const csrs = Array.from(
    { length: 6 },
    (_, i) =>
      opensslCsr({ keyType: 'ec-p256', subject: `/CN=gc${i}.example.com`, sans: [`DNS:gc${i}.example.com`] }).csrPem,
  );

  const issue = (csrPem: string) =>
    authority.issuance.issueFromCsr({ caId: 'gc-root', csrPem, profile: 'tls-server' }, TEST_ADMIN);
  const verified = (issued: IssuedCertificate) => {
    const v = opensslVerify({ leafPem: issued.certificatePem, rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
  };
  /** batches and units the store's group commit writes while `run` runs */
  async function commitsOf<T>(run: () => Promise<T>): Promise<{ result: T; batches: number; units: number }> {
    const before = authority.describe().commits;
    const result = await run();
    const after = authority.describe().commits;
    return { result, batches: after.batches - before.batches, units: after.units - before.units };
  }

  beforeAll(async () => {
    tmp = tempDir();
    authority = await createAuthority({
      dataDir: tmp.dir,
      logger: silentLogger,
      workers: 2,
      groupCommit: { maxBatch: 32, maxDelayMs: 3_600_000 },
    });
    const root = await authority.sign(
      { kind: 'root-ca', name: 'gc-root', subject: 'CN=Group Commit Root,O=Tests', keyType: 'ec-p256' },
      { actor: TEST_ADMIN },
    );
    rootPem = root.certificatePem!;
  });

  afterAll(async () => {
    await authority?.close();
    tmp?.cleanup();
  });

  it('a lone issuance is written at once, in a batch of its own', async () => {
    const { result, batches, units } = await commitsOf(() => issue(csrs[0]!));
    expect({ batches, units }).toEqual({ batches: 1, units: 1 });
    verified(result);
  });

  it('a unit that arrives while certificates are signed waits for them: one transaction for all', async () => {
    const first = await issue(csrs[0]!);
    const { result, batches, units } = await commitsOf(() =>
      // the revocation's unit is ready in this turn; the six certificates are still being signed in the workers
      Promise.all([
        authority.certificates.revoke(first.certificate.id, 'superseded', TEST_ADMIN),
        ...csrs.map((c) => issue(c)),
      ]),
    );
    expect({ batches, units }).toEqual({ batches: 1, units: 7 });
    const [revoked, ...issued] = result;
    expect(revoked.status).toBe('revoked');
    for (const i of issued) verified(i);
    expect(await authority.audit.verify()).toMatchObject({ ok: true });
  });

  it('a request refused in the worker does not hold the batch; the others are written and verified', async () => {
    const settled = await Promise.allSettled([issue(flipSignatureBit(csrs[1]!)), ...csrs.map((c) => issue(c))]);
    expect(settled[0]).toMatchObject({ status: 'rejected', reason: { code: 'csr.invalid_signature' } });
    expect(settled[0].status === 'rejected' && settled[0].reason).toBeInstanceOf(PkiError);
    for (const s of settled.slice(1)) {
      expect(s.status).toBe('fulfilled');
      if (s.status === 'fulfilled') verified(s.value);
    }
    const [failure] = await authority.audit.list({ action: 'certificate.issue_failed', order: 'desc', limit: 1 });
    expect(failure?.details).toMatchObject({ code: 'csr.invalid_signature' });
    expect(await authority.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('group commit of issuances signed on an HSM (PKCS#11, SoftHSM2)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let hsm: SoftHsmToken;
  let authority: Authority;
  let rootPem: string;
  let caId: string;

  beforeAll(async () => {
    tmp = tempDir();
    hsm = await createSoftHsmToken({ label: 'pkim-gc' });
    const pinFile = join(tmp.dir, 'pin');
    writeFileSync(pinFile, `${hsm.pin}\n`, { mode: 0o600 });
    authority = await createAuthority({
      dataDir: join(tmp.dir, 'data'),
      logger: silentLogger,
      groupCommit: { maxBatch: 32, maxDelayMs: 3_600_000 },
      env: {
        PKIM_PKCS11_MODULE: hsm.modulePath,
        PKIM_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
        PKIM_PKCS11_PIN_FILE: pinFile,
      },
    });
    const root = await authority.cas.create(
      { name: 'hsm-gc', subject: 'CN=HSM Group Commit Root,O=Tests', keyType: 'ec-p256', backend: 'pkcs11' },
      TEST_ADMIN,
    );
    rootPem = root.certificatePem!;
    caId = root.ca.id;
  });

  afterAll(async () => {
    await authority?.close();
    await hsm?.cleanup();
    tmp?.cleanup();
  });

  it('certificates signed on the token are announced: concurrent ones share one transaction', async () => {
    const csrs = Array.from(
      { length: 4 },
      (_, i) =>
        opensslCsr({ keyType: 'ec-p256', subject: `/CN=hsm${i}.example.com`, sans: [`DNS:hsm${i}.example.com`] })
          .csrPem,
    );
    const before = authority.describe().commits;
    const issued = await Promise.all(
      csrs.map((csrPem) => authority.issuance.issueFromCsr({ caId, csrPem, profile: 'tls-server' }, TEST_ADMIN)),
    );
    const after = authority.describe().commits;
    expect({ batches: after.batches - before.batches, units: after.units - before.units }).toEqual({
      batches: 1,
      units: 4,
    });
    for (const i of issued) {
      const v = opensslVerify({ leafPem: i.certificatePem, rootPem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    }
  });
});

describe("the group commit's default follows where certificates are signed", () => {
  it('signing on the main thread holds batches; with worker threads SQLite writes at the first look', async () => {
    const tmp = tempDir();
    const opened: Authority[] = [];
    try {
      for (const workers of [undefined, 1, 2]) {
        const authority = await createAuthority({
          dataDir: join(tmp.dir, `w${workers}`),
          logger: silentLogger,
          workers,
        });
        opened.push(authority);
        expect(internalsOf(authority).store.holdsCommits, `workers ${workers}`).toBe(workers !== 2);
        const root = await authority.sign(
          { kind: 'root-ca', name: 'd-root', subject: 'CN=Default Policy Root,O=Tests', keyType: 'ec-p256' },
          { actor: TEST_ADMIN },
        );
        const csrPem = opensslCsr({
          keyType: 'ec-p256',
          subject: '/CN=d.example.com',
          sans: ['DNS:d.example.com'],
        }).csrPem;
        // a lone issuance is written at once either way (with the hold: nothing else announced)
        const before = authority.describe().commits;
        const issued = await authority.issuance.issueFromCsr(
          { caId: root.ca.id, csrPem, profile: 'tls-server' },
          TEST_ADMIN,
        );
        const after = authority.describe().commits;
        expect({ batches: after.batches - before.batches, units: after.units - before.units }).toEqual({
          batches: 1,
          units: 1,
        });
        const v = opensslVerify({
          leafPem: issued.certificatePem,
          rootPem: root.certificatePem!,
          purpose: 'sslserver',
        });
        expect(v.ok, v.output).toBe(true);
      }
    } finally {
      for (const a of opened) await a.close();
      tmp.cleanup();
    }
  });
});
