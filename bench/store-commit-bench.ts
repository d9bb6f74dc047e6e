// `npm run bench:store`: main-thread CPU per issued certificate of the SQLite store's commit alone — the units an
// issuance commits (certificate row, its search terms, the counter, the hash-chained audit event), submitted in
// groups of BENCH_BATCH in one turn of the event loop so the group commit writes each group in one transaction.
// No signing, no workers: the process's CPU time is the commit path's. Prints CPU µs,
// bytes written and write syscalls per certificate (Linux /proc/self/io), then checks the audit chain and counters.
//  env: BENCH_CERTS (default 3000), BENCH_BATCH (default 5), BENCH_RUNS (default 6, a fresh database each; the
//  first is a warm-up, min and median of the others printed), BENCH_SQL (SQL run on each fresh database before the
//  commits, for experiments: `drop index …`), BENCH_WRITER=thread (the batches written by the SQLite writer thread,
//  OpenStoreOptions.sqliteWriterThread: the main thread's CPU, from /proc/self/task/<pid>/schedstat, is then printed
//  apart from the process's)
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '@pkim/shared';
import { openStore, type CaRow, type CertificateRow, type UnitOfWork } from '@pkim/store';
import { activeRootCaRow, randomCertificatePem } from '../packages/store/src/example-rows';

const CERTS = Number(process.env.BENCH_CERTS ?? 3000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 6);
const WRITER = process.env.BENCH_WRITER === 'thread';
const T0 = Date.UTC(2030, 0, 1);

/** CPU time of this process's main thread so far, µs (schedstat: nanoseconds on a CPU) */
function mainThreadCpu(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return NaN;
  }
}

function io(): { wchar: number; syscw: number } {
  try {
    const f = Object.fromEntries(
      readFileSync('/proc/self/io', 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(': ') as [string, string]),
    );
    return { wchar: Number(f.wchar), syscw: Number(f.syscw) };
  } catch {
    return { wchar: NaN, syscw: NaN };
  }
}

const pem = () => randomCertificatePem(480);
const ca = (): CaRow => activeRootCaRow('ca_bench', 'bench', pem(), T0);

/** the unit the signing pipeline commits for one leaf (signing-pipeline.ts), with the same audit details */
function issuanceUnit(i: number): UnitOfWork {
  const certificatePem = pem();
  const host = `host${i}.example.com`;
  const row: CertificateRow = {
    id: newId('crt'),
    caId: 'ca_bench',
    serialHex: randomBytes(20).toString('hex'),
    subjectDn: `CN=${host}`,
    commonName: host,
    sans: { dns: [host] },
    profile: 'tls-server',
    keyType: 'ec-p256',
    notBefore: T0 + i,
    notAfter: T0 + i + 90 * 86_400_000,
    status: 'active',
    revokedAt: null,
    revocationReason: null,
    fingerprintSha256: createHash('sha256').update(certificatePem).digest('hex'),
    certificatePem,
    requestId: null,
    issuedBy: 'usr_bench',
    createdAt: T0 + i,
    renewedFrom: null,
    provisioner: 'token:tok_bench',
  };
  return {
    insertCertificates: [row],
    audit: [
      {
        id: newId('evt'),
        time: T0 + i,
        actor: 'usr_bench',
        action: 'certificate.issued',
        target: row.id,
        outcome: 'success',
        details: {
          caId: row.caId,
          serial: row.serialHex,
          subject: row.subjectDn,
          sans: row.sans,
          profile: row.profile,
          notAfter: row.notAfter,
          requestId: null,
          fingerprint: row.fingerprintSha256,
          provisioner: { kind: 'token', id: 'tok_bench' },
        },
      },
    ],
  };
}

console.log(
  `SQLite store commit (${CERTS} issuance units, ${BATCH} per transaction, ${RUNS} runs, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')})\n`,
);
const cpuPerCert: number[] = [];
const mainPerCert: number[] = [];
console.log('| run | CPU µs/cert (user + system) | main thread µs/cert | bytes written/cert | write syscalls/cert |');
console.log('|---|---:|---:|---:|---:|');
for (let run = 1; run <= RUNS; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'pkim-store-bench-'));
  try {
    const store = await openStore({ url: join(dir, 'pkim.db'), sqliteWriterThread: WRITER });
    await store.commit({ insertCa: [ca()] });
    if (process.env.BENCH_SQL) {
      const Database = (await import('better-sqlite3')).default;
      const raw = new Database(join(dir, 'pkim.db'));
      raw.exec(process.env.BENCH_SQL);
      raw.close();
    }
    // the writer thread starts with the store (and loads its modules meanwhile): let it be ready before measuring
    if (WRITER) await sleep(3000);
    const units = Array.from({ length: CERTS }, (_, i) => issuanceUnit(i));
    const io0 = io();
    const cpu0 = process.cpuUsage();
    const main0 = mainThreadCpu();
    for (let i = 0; i < CERTS; i += BATCH) await Promise.all(units.slice(i, i + BATCH).map((u) => store.commit(u)));
    const cpu = process.cpuUsage(cpu0);
    const main = mainThreadCpu() - main0;
    const io1 = io();
    const per = (n: number) => Math.round(n / CERTS).toLocaleString('en-US');
    if (run > 1 || RUNS === 1) {
      cpuPerCert.push((cpu.user + cpu.system) / CERTS);
      mainPerCert.push(main / CERTS);
    }
    const label = run === 1 && RUNS > 1 ? `${run} (warm-up)` : `${run}`;
    const cpuCell = `${per(cpu.user + cpu.system)} (${per(cpu.user)} + ${per(cpu.system)})`;
    const syscalls = ((io1.syscw - io0.syscw) / CERTS).toFixed(1);
    console.log(`| ${label} | ${cpuCell} | ${per(main)} | ${per(io1.wchar - io0.wchar)} | ${syscalls} |`);
    const check = await store.audit.verify();
    const counts = await store.certificates.countByStatus();
    if (!check.ok || counts.active !== CERTS) throw new Error(`check failed: ${JSON.stringify({ check, counts })}`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const minMedian = (xs: number[]) => {
  xs.sort((a, b) => a - b);
  return `min ${Math.round(xs[0]!)}, median ${Math.round(xs[Math.floor(xs.length / 2)]!)}`;
};
console.log(`\nCPU µs per certificate, runs after the warm-up: ${minMedian(cpuPerCert)}`);
console.log(`main thread CPU µs per certificate: ${minMedian(mainPerCert)}`);
