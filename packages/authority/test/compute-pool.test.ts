import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { createComputePool } from '../src/compute/compute-pool';
import { createKeyBackends, createKmipBackend, createMemoryKeyBlobStorage, createSoftwareBackend } from '@pkim/keys';
import { fixedClock } from '@pkim/shared';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import {
  opensslOcspCheck,
  opensslOcspRequest,
  opensslRaw,
  opensslText,
  opensslVerify,
} from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { comparable, flipSignatureBit } from './fixtures/csr-compare';

/** OS threads of this process (worker threads are threads; process.getActiveResourcesInfo does not list them) */
const threads = (): number => readdirSync('/proc/self/task').length;

describe('signing worker threads (PKIM_WORKERS)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let inProcess: Authority;
  let pooled: Authority;
  let rootPem: string;
  const clock = fixedClock(Math.floor(Date.now() / 1000) * 1000);

  beforeAll(async () => {
    tmp = tempDir();
    inProcess = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock });
    // the same data directory and clock: both instances see the same CAs and plan the same certificates
    pooled = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock, workers: 2 });
    // the root is self-signed in a worker (its new key lent to it), the intermediate signed there by the root key
    const root = await pooled.sign(
      { kind: 'root-ca', name: 'root', subject: 'CN=Pool Root,O=Tests', keyType: 'ec-p256' },
      { actor: TEST_ADMIN },
    );
    rootPem = root.certificatePem!;
    await pooled.sign(
      {
        kind: 'intermediate-ca',
        parent: 'root',
        name: 'issuing',
        subject: 'CN=Pool Issuing,O=Tests',
        keyType: 'rsa-2048',
      },
      { actor: TEST_ADMIN },
    );
  });

  afterAll(async () => {
    await pooled?.close();
    await inProcess?.close();
    tmp?.cleanup();
  });

  it('issues the same certificates with workers as in-process, verified by openssl', async () => {
    expect(pooled.describe().workers).toBe(2);
    expect(inProcess.describe().workers).toBe(0);
    const issuing = await inProcess.cas.get('issuing');
    for (const keyType of ['ec-p256', 'rsa-2048', 'ed25519']) {
      const { csrPem } = opensslCsr({ keyType, subject: '/CN=svc.example.com', sans: ['DNS:svc.example.com'] });
      const request = { kind: 'leaf-csr', ca: 'issuing', csrPem, profile: 'tls-server' } as const;
      const a = await inProcess.sign(request, { actor: TEST_ADMIN });
      const b = await pooled.sign(request, { actor: TEST_ADMIN });
      expect(comparable(opensslText(b.certificatePem))).toBe(comparable(opensslText(a.certificatePem)));
      for (const { certificate, certificatePem: leafPem } of [a, b]) {
        const v = opensslVerify({ leafPem, chainPems: [issuing.certificatePem!], rootPem, purpose: 'sslserver' });
        expect(v.ok, v.output).toBe(true);
        // the row's record of the certificate (made in the worker for b): the PEM it returns, openssl's fingerprint
        // and subject
        expect(certificate.certificatePem).toBe(leafPem);
        const fp = opensslRaw(['x509', '-noout', '-fingerprint', '-sha256'], Buffer.from(leafPem));
        expect(certificate.fingerprintSha256).toBe(fp.stdout.split('=')[1]!.trim().replaceAll(':', '').toLowerCase());
        const subject = opensslRaw(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], Buffer.from(leafPem));
        expect(certificate.subjectDn).toBe(subject.stdout.replace(/^subject=/, '').trim());
        expect(certificate.commonName).toBe('svc.example.com');
      }
    }
  });

  it('signs with each CA’s own certificate and key job after job, sent once to a worker: openssl agrees', async () => {
    const issuing = await inProcess.cas.get('issuing');
    const leaf = async (ca: string, n: number) => {
      const name = `alt${n}.example.com`;
      const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${name}`, sans: [`DNS:${name}`] });
      const { certificatePem } = await pooled.sign(
        { kind: 'leaf-csr', ca, csrPem, profile: 'tls-server' },
        { actor: TEST_ADMIN },
      );
      return { ca, certificatePem };
    };
    // one after the other, then together (one message per worker with both CAs' jobs)
    const cas = ['issuing', 'root', 'issuing', 'root'];
    const leaves = [];
    for (const [n, ca] of cas.entries()) leaves.push(await leaf(ca, n));
    leaves.push(...(await Promise.all(cas.map((ca, n) => leaf(ca, n + 4)))));
    for (const { ca, certificatePem } of leaves) {
      const chainPems = ca === 'issuing' ? [issuing.certificatePem!] : [];
      const v = opensslVerify({ leafPem: certificatePem, chainPems, rootPem, purpose: 'sslserver' });
      expect(v.ok, `${ca}: ${v.output}`).toBe(true);
    }
  });

  it('refuses in a worker what the in-process pipeline refuses (CSR without proof of possession, lint)', async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=x.example.com', sans: ['DNS:x.example.com'] });
    // flip one bit of the signature: the proof of possession fails in the worker
    const broken = flipSignatureBit(csrPem);
    await expectPkiError(
      pooled.sign({ kind: 'leaf-csr', ca: 'issuing', csrPem: broken, profile: 'tls-server' }, { actor: TEST_ADMIN }),
      'csr.invalid_signature',
    );
  });

  it('signs OCSP responses (with a nonce) in a worker: openssl verifies them, revocation is reflected', async () => {
    const issuing = await pooled.cas.get('issuing');
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=o.example.com', sans: ['DNS:o.example.com'] });
    const leaf = await pooled.sign(
      { kind: 'leaf-csr', ca: 'issuing', csrPem, profile: 'tls-server' },
      { actor: TEST_ADMIN },
    );
    const chain = `${issuing.certificatePem!}${rootPem}`;
    for (const expected of ['good', 'revoked']) {
      if (expected === 'revoked') await pooled.certificates.revoke(leaf.certificate.id, 'keyCompromise', TEST_ADMIN);
      const requestDer = opensslOcspRequest({
        issuerPem: issuing.certificatePem!,
        leafPem: leaf.certificatePem,
        nonce: true,
      });
      const r = await pooled.ocsp.respond(requestDer);
      expect(r.statuses).toEqual([expected]);
      const check = opensslOcspCheck({
        responseDer: r.der,
        issuerPem: issuing.certificatePem!,
        caFilePem: chain,
        requestDer,
        atTime: Math.floor(clock.now() / 1000),
      });
      expect(check.ok, check.output).toBe(true);
      expect(check.output).toContain(`Cert Status: ${expected}`);
    }
  });
});

describe('the compute pool itself', () => {
  const keys = createKeyBackends([]);

  it('lends nothing but software keys: HSM/KMS keys keep signing through their backend', () => {
    const software = createSoftwareBackend({ kek: new Uint8Array(32), storage: createMemoryKeyBlobStorage() });
    // a configured KMIP backend (no connection is made): a backend without the lendKey capability
    const kmip = createKmipBackend({ url: 'http://127.0.0.1:9/kmip' });
    const pool = createComputePool({ size: 1, keys: createKeyBackends([software, kmip]), logger: silentLogger });
    try {
      expect(pool.signsWith('software:key_abc')).toBe(true);
      expect(pool.signsWith('kmip:abc@127.0.0.1:9')).toBe(false);
      expect(pool.signsWith('pkcs11:token=x;object=y')).toBe(false);
    } finally {
      void pool.close();
    }
  });

  it('answers each job of a batch with its own result; a refusal in a batch stays its own', async () => {
    const pool = createComputePool({ size: 2, keys, logger: silentLogger });
    try {
      const names = Array.from({ length: 6 }, (_, i) => `batch-${i}.example.com`);
      const csrs = names.map((n) => opensslCsr({ keyType: 'ec-p256', subject: `/CN=${n}`, sans: [`DNS:${n}`] }).csrPem);
      // all submitted in the same turn of the event loop: four jobs per worker, posted as one message each
      const outcomes = await Promise.allSettled([
        ...csrs.map((c) => pool.decodeCsr(c)),
        pool.decodeCsr('not a CSR'),
        pool.decodeCsr(flipSignatureBit(csrs[0]!)),
      ]);
      expect(outcomes.slice(0, 6).map((o) => (o.status === 'fulfilled' ? o.value.subjectDn : o.reason))).toEqual(
        names.map((n) => `CN=${n}`),
      );
      expect(outcomes.slice(6).map((o) => (o.status === 'rejected' ? (o.reason as { code: string }).code : o))).toEqual(
        ['csr.invalid', 'csr.invalid_signature'],
      );
      // the hand-offs: one message of jobs to each worker, one of answers from each (its four jobs finished in one
      // turn of its event loop)
      expect(pool.messages).toEqual({ jobs: 2, answers: 2 });
      // the pool still answers afterwards; a job alone is posted at once and answered alone (nothing held back)
      expect((await pool.decodeCsr(csrs[5]!)).subjectDn).toBe(`CN=${names[5]}`);
      expect(pool.messages).toEqual({ jobs: 3, answers: 3 });
      expect(pool.jobs).toBe(9);
    } finally {
      await pool.close();
    }
  });

  it('cpuProfileDir: each worker writes its CPU profile when the pool closes (PKIM_WORKER_CPU_PROF)', async () => {
    const dir = tempDir();
    try {
      const pool = createComputePool({ size: 2, keys, logger: silentLogger, cpuProfileDir: dir.dir });
      const csrs = ['a', 'b', 'c', 'd'].map(
        (n) =>
          opensslCsr({ keyType: 'ec-p256', subject: `/CN=${n}.example.com`, sans: [`DNS:${n}.example.com`] }).csrPem,
      );
      // four jobs in one turn: two per worker, both started
      for (const d of await Promise.all(csrs.map((c) => pool.decodeCsr(c)))) expect(d.keyType).toBe('ec-p256');
      expect(readdirSync(dir.dir)).toEqual([]); // written at close, not before
      await pool.close();
      const files = readdirSync(dir.dir);
      expect(files).toHaveLength(2);
      for (const f of files) {
        expect(f).toMatch(new RegExp(`^compute-worker-${process.pid}-\\d+-\\d+\\.cpuprofile$`));
        const profile = JSON.parse(readFileSync(join(dir.dir, f), 'utf8')) as {
          nodes: { callFrame: { url: string } }[];
          startTime: number;
          endTime: number;
        };
        expect(profile.endTime).toBeGreaterThan(profile.startTime);
        // the worker's own modules ran under the profiler
        expect(profile.nodes.some((n) => n.callFrame.url.includes('compute-worker'))).toBe(true);
      }
    } finally {
      dir.cleanup();
    }
  });

  it('a dead worker fails its request with worker.failed and is restarted; close() ends every thread', async () => {
    await promisify(randomBytes)(1); // libuv's thread pool is started before counting
    const before = threads();
    const pool = createComputePool({
      size: 1,
      keys,
      logger: silentLogger,
      workerUrl: new URL('./fixtures/crashing-compute-worker.ts', import.meta.url),
    });
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=ok.example.com', sans: ['DNS:ok.example.com'] });
    expect((await pool.decodeCsr(csrPem)).subjectDn).toBe('CN=ok.example.com');
    expect(threads()).toBeGreaterThan(before); // the count sees the worker
    const e = await expectPkiError(pool.decodeCsr('crash'), 'worker.failed');
    expect(e.message).toMatch(/worker thread stopped .*exit code 3/);
    // the replacement answers
    expect((await pool.decodeCsr(csrPem)).subjectDn).toBe('CN=ok.example.com');
    await pool.close();
    expect(threads()).toBeLessThanOrEqual(before);
    await expectPkiError(pool.decodeCsr(csrPem), 'worker.failed');
  });

  it('workers that cannot start fail requests instead of hanging or restarting forever', async () => {
    const pool = createComputePool({
      size: 1,
      keys,
      logger: silentLogger,
      workerUrl: new URL('./fixtures/broken-compute-worker.ts', import.meta.url),
    });
    // each request fails (none hangs); after three failed starts the pool stops restarting and says why
    let last: Error | undefined;
    for (let i = 0; i < 10 && !last?.message.includes('threads cannot start'); i++) {
      last = await expectPkiError(pool.decodeCsr('x'), 'worker.failed');
    }
    expect(last?.message).toMatch(/workers? threads cannot start \(.*this worker cannot start/);
    await pool.close();
  });
});
