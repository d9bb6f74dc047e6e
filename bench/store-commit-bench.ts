// `npm run bench:store`: main-thread CPU per issued certificate of the SQLite store's commit alone — the units an
// issuance commits (certificate row, its search terms, the counter, the hash-chained audit event), submitted in
// groups of BENCH_BATCH in one turn of the event loop so the group commit writes each group in one transaction.
// No signing, no workers: the process's CPU time is the commit path's. Prints CPU µs,
// bytes written, write and read syscalls per certificate (Linux /proc/self/io), then checks the audit chain and
// counters.
//  env: BENCH_CERTS (default 3000), BENCH_BATCH (default 5), BENCH_RUNS (default 6, a fresh database each; the
//  first is a warm-up, min and median of the others printed), BENCH_SQL (SQL run on each fresh database before the
//  commits, for experiments: `drop index …`), BENCH_WRITER=thread (the batches written by the SQLite writer thread,
//  OpenStoreOptions.sqliteWriterThread: the main thread's CPU, from /proc/self/task/<pid>/schedstat, is then printed
//  apart from the process's), BENCH_SERIAL=random (20 random bytes per serial, as before session 17; default: the
//  product's, core generateSerial — the time first, appended at the serial index's right edge), BENCH_FRAMES=1 (after
//  the last run: the WAL frames per certificate of each B-tree, from the transactions since the last checkpoint —
//  the frame headers' page numbers named by the `dbstat` table of a copy of the database), BENCH_DB=FILE (each run
//  starts from a copy of that database instead of an empty one: the commit at 1,000,000 rows, e.g. the database
//  `BENCH_KEEP=DIR npm run bench:inventory` leaves in DIR/pkim.db), BENCH_SAVE=FILE (the last run's database,
//  checkpointed, copied to FILE: a grown store for BENCH_DB, e.g. BENCH_RUNS=1 BENCH_CERTS=100000 BENCH_BATCH=16)
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { generateSerial, serialToHex } from '@pkim/core';
import { newId } from '@pkim/shared';
import { openStore, type CaRow, type CertificateRow, type UnitOfWork } from '@pkim/store';
import { activeRootCaRow, randomCertificatePem } from '../packages/store/src/example-rows';

const CERTS = Number(process.env.BENCH_CERTS ?? 3000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5);
const RUNS = Number(process.env.BENCH_RUNS ?? 6);
const WRITER = process.env.BENCH_WRITER === 'thread';
const RANDOM_SERIALS = process.env.BENCH_SERIAL === 'random';
const T0 = Date.UTC(2030, 0, 1);

/** CPU time of this process's main thread so far, µs (schedstat: nanoseconds on a CPU) */
function mainThreadCpu(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
  } catch {
    return NaN;
  }
}

function io(): { wchar: number; syscw: number; rchar: number; syscr: number } {
  try {
    const f = Object.fromEntries(
      readFileSync('/proc/self/io', 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(': ') as [string, string]),
    );
    return { wchar: Number(f.wchar), syscw: Number(f.syscw), rchar: Number(f.rchar), syscr: Number(f.syscr) };
  } catch {
    return { wchar: NaN, syscw: NaN, rchar: NaN, syscr: NaN };
  }
}

/**
 * WAL frames per certificate by B-tree: the frames of the WAL's current generation (its header's salt; an automatic
 * checkpoint restarts it), each commit frame ending one transaction of BATCH units, pages named by `dbstat` on a copy
 */
function walFramesByBtree(dbPath: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'pkim-store-frames-'));
  try {
    copyFileSync(dbPath, join(copy, 'x.db'));
    copyFileSync(`${dbPath}-wal`, join(copy, 'x.db-wal'));
    const wal = readFileSync(join(copy, 'x.db-wal'));
    const pageSize = wal.readUInt32BE(8);
    const salt = wal.readBigUInt64BE(16);
    const pages: number[] = [];
    let commits = 0;
    for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
      if (wal.readBigUInt64BE(off + 8) !== salt) break;
      pages.push(wal.readUInt32BE(off));
      if (wal.readUInt32BE(off + 4) !== 0) commits++;
    }
    const raw = new Database(join(copy, 'x.db'));
    const owner = new Map<number, string>();
    for (const r of raw.prepare('SELECT name, pageno FROM dbstat').all() as { name: string; pageno: number }[])
      owner.set(r.pageno, r.name);
    raw.close();
    const by = new Map<string, number>();
    for (const p of pages) {
      const name = owner.get(p) ?? (p === 1 ? '(page 1)' : '(other)');
      by.set(name, (by.get(name) ?? 0) + 1);
    }
    const certs = commits * BATCH;
    const rows = [...by].sort((a, b) => b[1] - a[1]).map(([n, c]) => `| ${n} | ${(c / certs).toFixed(2)} |`);
    return [
      `WAL frames per certificate, ${commits} transactions of ${BATCH} since the last checkpoint: ` +
        (pages.length / certs).toFixed(2),
      '',
      '| B-tree | frames/cert |',
      '|---|---:|',
      ...rows,
    ].join('\n');
  } finally {
    rmSync(copy, { recursive: true, force: true });
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
    serialHex: RANDOM_SERIALS ? randomBytes(20).toString('hex') : serialToHex(generateSerial()),
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
  `SQLite store commit (${CERTS} issuance units, ${BATCH} per transaction, ${RUNS} runs, ` +
    `${RANDOM_SERIALS ? 'random' : 'time-first'} serials, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})\n`,
);
const cpuPerCert: number[] = [];
const mainPerCert: number[] = [];
let frames = '';
console.log(
  '| run | CPU µs/cert (user + system) | main thread µs/cert | bytes written/cert | write syscalls/cert | ' +
    'read syscalls/cert |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (let run = 1; run <= RUNS; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'pkim-store-bench-'));
  try {
    if (process.env.BENCH_DB) {
      // a copy of an existing database (e.g. the 1,000,000 rows bench:inventory keeps with BENCH_KEEP)
      copyFileSync(process.env.BENCH_DB, join(dir, 'pkim.db'));
      if (existsSync(`${process.env.BENCH_DB}-wal`))
        copyFileSync(`${process.env.BENCH_DB}-wal`, join(dir, 'pkim.db-wal'));
    }
    const store = await openStore({ url: join(dir, 'pkim.db'), sqliteWriterThread: WRITER });
    // a database BENCH_SAVE wrote has the bench's CA already
    const hasCa = process.env.BENCH_DB
      ? (() => {
          const raw = new Database(join(dir, 'pkim.db'), { readonly: true });
          const found = raw.prepare("SELECT 1 FROM certificate_authorities WHERE id = 'ca_bench'").get() !== undefined;
          raw.close();
          return found;
        })()
      : false;
    if (!hasCa) await store.commit({ insertCa: [ca()] });
    if (process.env.BENCH_SQL) {
      const raw = new Database(join(dir, 'pkim.db'));
      raw.exec(process.env.BENCH_SQL);
      // what it wrote (an index built over BENCH_DB's rows) reaches the database file now, not while measuring
      raw.pragma('wal_checkpoint(TRUNCATE)');
      raw.close();
    }
    const activeBefore = (await store.certificates.countByStatus()).active;
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
    // reads: the pages SQLite's cache (cache_size, 64 MiB) does not hold, each a pread from the OS's cache
    const reads = ((io1.syscr - io0.syscr) / CERTS).toFixed(1);
    console.log(`| ${label} | ${cpuCell} | ${per(main)} | ${per(io1.wchar - io0.wchar)} | ${syscalls} | ${reads} |`);
    if (process.env.BENCH_FRAMES === '1' && run === RUNS) frames = walFramesByBtree(join(dir, 'pkim.db'));
    const check = await store.audit.verify();
    const counts = await store.certificates.countByStatus();
    if (!check.ok || counts.active !== activeBefore + CERTS)
      throw new Error(`check failed: ${JSON.stringify({ check, counts })}`);
    await store.close();
    if (process.env.BENCH_SAVE && run === RUNS) {
      const raw = new Database(join(dir, 'pkim.db'));
      raw.pragma('wal_checkpoint(TRUNCATE)');
      raw.close();
      copyFileSync(join(dir, 'pkim.db'), process.env.BENCH_SAVE);
    }
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
if (frames) console.log(`\n${frames}`);
