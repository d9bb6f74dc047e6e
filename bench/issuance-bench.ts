// `npm run bench`: issuance throughput against the crypto floor (ECDSA P-256, one core).
//  (1) crypto floor: only the mandatory node:crypto operations per certificate —
//      verify the CSR signature (importing its key), sign the certificate, verify the result. node:crypto imports
//      a public key two ways: through OpenSSL's DER decoder (the SPKI) or from its JWK (x, y); both are measured and
//      the faster is THE floor (the best node:crypto can do: the JWK on OpenSSL 3, as the pipeline imports them);
//  (2) core: decode CSR + plan + lint + encode + sign + assemble (no persistence);
//  (2b) worker job: the `csr-leaf` job a worker thread runs per certificate (compute-jobs.ts: decode CSR + proof of
//      possession, leaf checks, plan, lint, encode, sign, verify), here in-process: what the workers spend per
//      certificate, without the thread messages;
//  (3) full service: CSR → policy → lint → sign → verify → persist certificate + audit on SQLite,
//      one at a time and with 16 in flight. Prints a markdown table and the ratio full/floor.
//  (3b) the other two leaf paths, 16 in flight: approving submitted certificate requests (the approval signs the
//      request's CSR in a `csr-leaf` job; the requests are submitted beforehand, untimed) and leaves with a key the
//      authority generates (ECDSA P-256, a `key-leaf` job: key generation + the certificate steps, no CSR to verify).
//  For the floor, worker-job and full-service rows it also prints the CPU per certificate: of the main thread (Linux:
//  /proc/self/task, the thread that runs the store's group commit and everything between the transports and the
//  workers) and of the whole process (every thread), and the worker jobs per certificate (with PKIM_WORKERS ≥ 2).
//  env: BENCH_SECONDS (default 3), PKIM_WORKERS (worker threads of the authority; unset = in-process)
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import {
  buildCsr,
  decodeCsr,
  generateSerial,
  planCertificate,
  lintCertificate,
  assertLintClean,
  issueCertificate,
  resolveProfile,
  parseDn,
  toPem,
} from '@pkim/core';
import { createAuthority } from '@pkim/authority';
import { runJob } from '../packages/authority/src/compute/compute-jobs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const admin = { id: 'bench', role: 'admin' as const };

async function makeCsrs(n: number): Promise<{ pem: string; der: Uint8Array }[]> {
  const out: { pem: string; der: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const subject = parseDn(`CN=host${i}.example.com`);
    const der = await buildCsr(
      { subject, sans: { dns: [`host${i}.example.com`] }, publicKey: spki, keyType: 'ec-p256' },
      (d) => new Uint8Array(sign('sha256', d, privateKey)),
    );
    out.push({ pem: toPem(der, 'CERTIFICATE REQUEST'), der });
  }
  return out;
}

/** CPU time of the main thread in µs (utime + stime of /proc/self/task/<pid>/stat), undefined off Linux */
function mainThreadCpuUs(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks of 1/100 s (USER_HZ)
  } catch {
    return undefined;
  }
}

/** CPU µs per certificate of a timed run: main thread and whole process */
interface CpuPerCert {
  main?: number;
  process: number;
}

/** runs `run`, which returns how many certificates it made, and the CPU it took per certificate */
async function withCpu(
  run: () => Promise<{ rate: number; n: number }>,
): Promise<{ rate: number; n: number; cpu: CpuPerCert }> {
  const main0 = mainThreadCpuUs();
  const proc0 = process.cpuUsage();
  const { rate, n } = await run();
  const main1 = mainThreadCpuUs();
  const proc = process.cpuUsage(proc0);
  return {
    rate,
    n,
    cpu: {
      main: main0 !== undefined && main1 !== undefined ? (main1 - main0) / n : undefined,
      process: (proc.user + proc.system) / n,
    },
  };
}

async function timeLoop(fn: (i: number) => unknown): Promise<number> {
  return (await countLoop(fn)).rate;
}

async function countLoop(fn: (i: number) => unknown): Promise<{ rate: number; n: number }> {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    await fn(n);
    n++;
  }
  return { rate: n / ((performance.now() - start) / 1000), n };
}

/** runs fn(0 … n-1), `inFlight` at a time */
async function countAll(
  n: number,
  inFlight: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ rate: number; n: number }> {
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { rate: n / ((performance.now() - start) / 1000), n };
}

async function countConcurrent(
  fn: (i: number) => Promise<unknown>,
  inFlight: number,
): Promise<{ rate: number; n: number }> {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() < end) {
      const i = n++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { rate: n / ((performance.now() - start) / 1000), n };
}

const csrs = await makeCsrs(256);

// (1) crypto floor: exactly the three mandatory node:crypto operations per certificate, with the
// CSR split into its signed bytes, signature and key beforehand (parsing is not part of the floor)
const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const csrParts = csrs.map((c) => {
  const req = AsnConvert.parse(c.der, CertificationRequest);
  const spki = new Uint8Array(AsnConvert.serialize(req.certificationRequestInfo.subjectPKInfo));
  return {
    info: new Uint8Array(AsnConvert.serialize(req.certificationRequestInfo)),
    signature: new Uint8Array(req.signature),
    spki,
    // the same key as a JWK (x, y read from the SPKI when parsing: node:crypto's own export of it)
    jwk: createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }),
  };
});
const tbsSample = csrs[0]!.der; // a few hundred bytes, like a TBSCertificate
/** the floor with the CSR key imported one way: verify the CSR (importing the requester's key), sign, verify */
const floorWith = (importKey: (p: (typeof csrParts)[number]) => KeyObject) =>
  withCpu(() =>
    countLoop((i) => {
      const p = csrParts[i % csrParts.length]!;
      if (!verify('sha256', p.info, importKey(p), p.signature)) throw new Error('CSR verify failed');
      const sig = sign('sha256', tbsSample, ca.privateKey);
      if (!verify('sha256', tbsSample, ca.publicKey, sig)) throw new Error('floor verify failed');
    }),
  );
const floorDer = await floorWith((p) => createPublicKey({ key: Buffer.from(p.spki), format: 'der', type: 'spki' }));
const floorJwk = await floorWith((p) => createPublicKey({ key: p.jwk, format: 'jwk' }));
const floorRun = floorJwk.rate >= floorDer.rate ? floorJwk : floorDer;
const floorHow = floorRun === floorJwk ? 'JWK' : 'DER';
const floor = floorRun.rate;

// (2) core build + sign
const caKey: KeyObject = createPrivateKey(ca.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const caSpki = new Uint8Array(ca.publicKey.export({ type: 'spki', format: 'der' }));
const rootProfile = resolveProfile('root-ca');
const now = Date.now();
const rootDer = await issueCertificate(
  planCertificate({
    profile: rootProfile,
    subject: parseDn('CN=Bench Root'),
    publicKey: caSpki,
    selfSignedKeyType: 'ec-p256',
    serial: generateSerial(),
    notBefore: now - 60_000,
    notAfter: now + 3650 * 86_400_000,
  }),
  (d) => new Uint8Array(sign('sha256', d, caKey)),
);
const leafProfile = resolveProfile('tls-server');
const core = await timeLoop(async (i) => {
  const c = decodeCsr(csrs[i % csrs.length]!.der);
  const plan = planCertificate({
    profile: leafProfile,
    subject: c.subject,
    sans: c.sans,
    publicKey: c.publicKey,
    issuer: { certificateDer: rootDer, keyType: 'ec-p256' },
    serial: generateSerial(),
    notBefore: now - 60_000,
    notAfter: now + 90 * 86_400_000,
  });
  assertLintClean(lintCertificate(plan, { now }));
  await issueCertificate(plan, (d) => new Uint8Array(sign('sha256', d, caKey)));
});

// (2b) the job a worker thread runs per certificate, as it runs it (compute-jobs.ts), on this thread
const jobKey = { uri: 'bench:ca', keyType: 'ec-p256' as const, publicKey: caSpki };
const lent = () => Promise.resolve(caKey);
const admins = [{ kind: 'user' as const, id: admin.id, name: admin.id, policy: {} }];
const jobs = await withCpu(() =>
  countLoop(async (i) => {
    const leaf = {
      input: {
        profile: leafProfile,
        issuer: { certificateDer: rootDer, keyType: 'ec-p256' as const },
        serial: generateSerial(),
        notBefore: now - 60_000,
        notAfter: now + 90 * 86_400_000,
      },
      provisioners: admins,
      facts: { ca: { id: 'ca_bench', name: 'bench', notAfter: null }, lifetimeMs: undefined, source: 'csr' as const },
    };
    // what a worker gets is a structured clone of what the main thread posted
    const job = { kind: 'csr-leaf' as const, csr: csrs[i % csrs.length]!.pem, leaf, now, key: jobKey, what: 'bench' };
    await runJob(structuredClone(job), lent);
  }),
);

// (3) full service on SQLite
const dir = mkdtempSync(join(tmpdir(), 'pkim-bench-'));
// PKIM_WORKERS: worker threads for the CPU-bound steps, as `pkim serve` has them (unset: in-process, like the CLI)
const workers = process.env.PKIM_WORKERS ? Number(process.env.PKIM_WORKERS) : undefined;
const authority = await createAuthority({ dataDir: dir, logger: pino({ level: 'silent' }), workers });
const root = await authority.cas.create({ name: 'bench-root', subject: 'CN=Bench Root', keyType: 'ec-p256' }, admin);
const jobs0 = authority.describe().workerJobs;
const commits0 = authority.describe().commits;
const full1 = await withCpu(() =>
  countLoop((i) =>
    authority.issuance.issueFromCsr(
      { caId: root.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' },
      admin,
    ),
  ),
);
const jobs1 = authority.describe().workerJobs;
const commits1 = authority.describe().commits;
const full16 = await withCpu(() =>
  countConcurrent(
    (i) =>
      authority.issuance.issueFromCsr(
        { caId: root.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' },
        admin,
      ),
    16,
  ),
);
const jobs16 = authority.describe().workerJobs;
const commits16 = authority.describe().commits;
// (3b) approvals of submitted requests (as many as the 16-in-flight row issued in its time), then generated-key leaves
const requester = { id: 'bench-requester', role: 'requester' as const };
const toApprove: string[] = [];
await countAll(Math.max(200, full16.n), 16, async (i) => {
  const r = await authority.requests.submit(
    { caId: root.ca.id, csrPem: csrs[i % csrs.length]!.pem, profile: 'tls-server' },
    requester,
  );
  toApprove.push(r.id);
});
const approved = await withCpu(() =>
  countAll(toApprove.length, 16, (i) => authority.requests.approve(toApprove[i]!, admin)),
);
const keyLeaves = await withCpu(() =>
  countConcurrent(
    (i) =>
      authority.issuance.issueWithKey(
        {
          caId: root.ca.id,
          profile: 'tls-server',
          subject: `CN=gen${i}.example.com`,
          sans: { dns: [`gen${i}.example.com`] },
          keyType: 'ec-p256',
        },
        admin,
      ),
    16,
  ),
);
const verified = await authority.audit.verify();
await authority.close();
rmSync(dir, { recursive: true, force: true });
if (!verified.ok) throw new Error('audit chain broken after the bench');

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rows: [string, number, CpuPerCert?][] = [
  [`crypto floor, CSR key from its JWK${floorHow === 'JWK' ? ' (THE floor)' : ''}`, floorJwk.rate, floorJwk.cpu],
  [
    `crypto floor, CSR key through the DER decoder${floorHow === 'DER' ? ' (THE floor)' : ''}`,
    floorDer.rate,
    floorDer.cpu,
  ],
  ['core: decode CSR + plan + lint + encode + sign (result not verified)', core],
  ['worker job in-process: csr-leaf (compute-jobs.ts)', jobs.rate, jobs.cpu],
  ['full service, SQLite, 1 at a time', full1.rate, full1.cpu],
  ['full service, SQLite, 16 in flight', full16.rate, full16.cpu],
  ['approval of a submitted request (csr-leaf), SQLite, 16 in flight', approved.rate, approved.cpu],
  ['generated-key leaf, ECDSA P-256 (key-leaf), SQLite, 16 in flight', keyLeaves.rate, keyLeaves.cpu],
];
console.log(
  `\nIssuance benchmark (ECDSA P-256, ${SECONDS}s per row, Node ${process.version}, ` +
    `PKIM_WORKERS=${workers ?? 'unset (in-process)'})\n`,
);
console.log('| path | certificates/s | vs floor | main-thread CPU µs/cert | process CPU µs/cert |');
console.log('|---|---:|---:|---:|---:|');
const us = (v: number | undefined) => (v === undefined ? '' : fmt(v));
for (const [name, v, cpu] of rows) {
  console.log(`| ${name} | ${fmt(v)} | ${(v / floor).toFixed(2)} | ${us(cpu?.main)} | ${us(cpu?.process)} |`);
}
const best = Math.max(full1.rate, full16.rate);
console.log(
  `\nfull/floor = ${(best / floor).toFixed(2)} (target ≥ 0.70; floor: verify CSR + sign + verify on one core, the ` +
    `CSR key imported from its ${floorHow}, the faster way); audit chain verified: ${verified.count} events`,
);
/** mean units per group-commit batch (transaction) between two readings of describe().commits */
const perBatch = (a: typeof commits0, b: typeof commits0) =>
  ((b.units - a.units) / Math.max(1, b.batches - a.batches)).toFixed(1);
console.log(
  `units per commit (mean batch of the store's group commit): ${perBatch(commits0, commits1)} (1 at a time), ` +
    `${perBatch(commits1, commits16)} (16 in flight)`,
);
if (workers !== undefined && workers >= 2) {
  const per = (j: number, n: number) => (j / n).toFixed(2);
  const [one, sixteen] = [per(jobs1 - jobs0, full1.n), per(jobs16 - jobs1, full16.n)];
  console.log(`worker jobs per certificate: ${one} (1 at a time), ${sixteen} (16 in flight)`);
}
