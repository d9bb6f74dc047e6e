// `npx tsx bench/pg-schema-ab.ts`: a schema change's PostgreSQL CPU per issuance unit, A/B in ONE process on ONE
// durable cluster (what a loaded machine distorts least): database A is migrated and then given BENCH_AB_UNDO (SQL
// statements separated by `;;`, default: migration 0040 undone — the `certificates.ca_id` foreign key back), database B
// is migrated as the store leaves it. Rounds alternate A B B A …; each round commits BENCH_AB_UNITS issuance units
// (certificate row of a real certificate's size, its search names, counter and certificate.issued event) in batches of
// BENCH_AB_BATCH through Store.commit (the batch statement), and measures the cluster's CPU (postmaster, backends,
// WAL writer…) and this process's per unit. Prints each round and the medians. A bench, not a test.
// BENCH_AB_REVOKE=1: each round first issues BENCH_AB_UNITS certificates (not measured), then measures their
// revocations (a guarded status change and its certificate.revoked event per unit, batched as issuance). WAL bytes per
// unit are the cluster's (pg_current_wal_lsn) over the measured part: the rounds run one at a time.
// A code change instead: BENCH_AB_A_STORE=<another checkout>/packages/store/src/index.ts opens A's store with that
// checkout's code (BENCH_AB_UNDO='' keeps the schemas alike), B's with this one's.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import pg from 'pg';
import { openStore, type CertificateRow, type Store, type UnitOfWork } from '@pkim/store';
import { makeCa } from '../packages/store/test/store-fixtures';
import { startPostgres } from '../tests/support/postgres';

const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 8);
const UNITS = Number(process.env.BENCH_AB_UNITS ?? 1600);
const BATCH = Number(process.env.BENCH_AB_BATCH ?? 16);
const UNDO = (
  process.env.BENCH_AB_UNDO ??
  'drop trigger certificates_check_ca on certificates;; ' +
    'drop trigger certificate_authorities_delete_certificates on certificate_authorities;; ' +
    'alter table certificates add constraint certificates_ca_id_certificate_authorities_id_fk foreign key (ca_id) ' +
    'references certificate_authorities(id) on delete cascade'
)
  .split(';;')
  .map((s) => s.trim())
  .filter(Boolean);
const REVOKE = process.env.BENCH_AB_REVOKE === '1';
/** BENCH_AB_A_STORE: the store module whose openStore opens A's store (default this checkout's) */
const A_STORE = process.env.BENCH_AB_A_STORE;
/** BENCH_AB_B: SQL statements (separated by `;;`) given to database B after its migration (default none) */
const B_SQL = (process.env.BENCH_AB_B ?? '')
  .split(';;')
  .map((s) => s.trim())
  .filter(Boolean);
const LEAF_PEM = `-----BEGIN CERTIFICATE-----\n${`${'A'.repeat(64)}\n`.repeat(11)}-----END CERTIFICATE-----\n`;
const TICK_US = 10_000; // CLK_TCK 100

function procStat(pid: string): { self: number; children: number; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]) * TICK_US;
    return { self: n(14) + n(15), children: n(16) + n(17), ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}

/** µs of CPU of the postmaster, its live children and its reaped children */
function clusterCpu(postmaster: number): number {
  for (;;) {
    const before = procStat(String(postmaster))!;
    let live = 0;
    for (const pid of readdirSync('/proc'))
      if (/^\d+$/.test(pid)) {
        const st = procStat(pid);
        if (st?.ppid === postmaster) live += st.self;
      }
    const after = procStat(String(postmaster))!;
    if (after.children === before.children) return after.self + after.children + live;
  }
}

let serial = 0;
function issuance(caId: string): UnitOfWork {
  const i = serial++;
  const cn = `ab${i}.svc${i % 100}.example.com`;
  const id = `crt_ab${String(i).padStart(9, '0')}`;
  const cert: CertificateRow = {
    id,
    caId,
    serialHex: randomBytes(20).toString('hex'),
    subjectDn: `CN=${cn}`,
    commonName: cn,
    sans: { dns: [cn] },
    profile: 'tls-server',
    keyType: 'ec-p256',
    notBefore: Date.now(),
    notAfter: Date.now() + 86_400_000,
    status: 'active',
    revokedAt: null,
    revocationReason: null,
    fingerprintSha256: randomBytes(32).toString('hex'),
    certificatePem: LEAF_PEM,
    requestId: null,
    issuedBy: 'bench',
    renewedFrom: null,
    provisioner: 'user:bench',
    createdAt: Date.now(),
  };
  const details = { caId, serial: cert.serialHex, subject: cert.subjectDn, sans: cert.sans, profile: 'tls-server' };
  return {
    insertCertificates: [cert],
    audit: [
      {
        id: `evt_${randomBytes(12).toString('hex')}`,
        time: Date.now(),
        actor: 'bench',
        action: 'certificate.issued',
        target: id,
        outcome: 'success',
        details,
      },
    ],
  };
}

/** a revocation as the authority commits it: the status guarded by the one read, its event */
function revocation(id: string): UnitOfWork {
  return {
    updateCertificates: [
      {
        id,
        patch: { status: 'revoked', revokedAt: Date.now(), revocationReason: 'superseded' },
        onlyIfStatus: 'active',
      },
    ],
    audit: [
      {
        id: `evt_${randomBytes(12).toString('hex')}`,
        time: Date.now(),
        actor: 'bench',
        action: 'certificate.revoked',
        target: id,
        outcome: 'success',
        details: { reason: 'superseded' },
      },
    ],
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const cluster = await startPostgres({ durable: true });
  try {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    const pid = Number((await admin.query('select pg_backend_pid() as pid')).rows[0].pid);
    const postmaster = procStat(String(pid))!.ppid;
    await admin.end();
    const sides: {
      name: string;
      db: string;
      store: Store;
      caId: string;
      pg: number[];
      backends: number[];
      proc: number[];
      rate: number[];
    }[] = [];
    const monitor = new pg.Client({ connectionString: cluster.url });
    await monitor.connect();
    /** µs of CPU of the client backends connected to `db` (the store's pool and its batch connection) */
    const backendCpu = async (db: string): Promise<number> => {
      const { rows } = await monitor.query<{ pid: number }>(
        "select pid from pg_stat_activity where datname = $1 and backend_type = 'client backend'",
        [db],
      );
      return rows.reduce((n, r) => n + (procStat(String(r.pid))?.self ?? 0), 0);
    };
    for (const name of ['A', 'B']) {
      const db = `ab_${name.toLowerCase()}`;
      const url = await cluster.createDatabase(db);
      const open =
        name === 'A' && A_STORE ? ((await import(A_STORE)) as { openStore: typeof openStore }).openStore : openStore;
      const store = await open({ url });
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      for (const s of name === 'A' ? UNDO : B_SQL) await c.query(s);
      await c.end();
      sides.push({ name, db, store, caId: ca.id, pg: [], backends: [], proc: [], rate: [] });
    }
    // warm-up: one round each, not counted
    const round = async (side: (typeof sides)[number], count: boolean) => {
      let units = Array.from({ length: UNITS }, () => issuance(side.caId));
      if (REVOKE) {
        for (let i = 0; i < units.length; i += BATCH)
          await Promise.all(units.slice(i, i + BATCH).map((u) => side.store.commit(u)));
        units = units.map((u) => revocation(u.insertCertificates![0]!.id));
      }
      const lsn = async () => (await monitor.query('select pg_current_wal_lsn()::text as l')).rows[0].l as string;
      const wal0 = await lsn();
      const be0 = await backendCpu(side.db);
      const pg0 = clusterCpu(postmaster);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < units.length; i += BATCH)
        await Promise.all(units.slice(i, i + BATCH).map((u) => side.store.commit(u)));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const pgUs = (clusterCpu(postmaster) - pg0) / UNITS;
      const beUs = ((await backendCpu(side.db)) - be0) / UNITS;
      const procUs = (cpu.user + cpu.system) / UNITS;
      const walBytes =
        Number((await monitor.query('select pg_wal_lsn_diff($1, $2) as d', [await lsn(), wal0])).rows[0].d) / UNITS;
      if (count) {
        side.pg.push(pgUs);
        side.backends.push(beUs);
        side.proc.push(procUs);
        side.rate.push(UNITS / seconds);
        console.log(
          `${side.name}: ${(UNITS / seconds).toFixed(0)}/s, PostgreSQL ${pgUs.toFixed(0)} µs/unit ` +
            `(its backends ${beUs.toFixed(0)}), process ${procUs.toFixed(0)} µs/unit, ` +
            `WAL ${walBytes.toFixed(0)} bytes/unit (load ${loadavg()[0]!.toFixed(1)})`,
        );
      }
    };
    for (const s of sides) await round(s, false);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? [sides[0]!, sides[1]!] : [sides[1]!, sides[0]!];
      for (const s of order) await round(s, true);
    }
    const paired = (k: 'pg' | 'backends' | 'proc') => median(sides[0]![k].map((a, i) => a - sides[1]![k][i]!));
    console.log(
      `paired A − B medians: PostgreSQL ${paired('pg').toFixed(0)}, its backends ${paired('backends').toFixed(0)}, ` +
        `process ${paired('proc').toFixed(0)} µs/unit; B lower in ` +
        `${sides[0]!.backends.filter((a, i) => a > sides[1]!.backends[i]!).length} of ${ROUNDS} (backends)`,
    );
    for (const s of sides) {
      const v = await s.store.audit.verify();
      if (!v.ok) throw new Error(`${s.name}: audit chain ${JSON.stringify(v)}`);
      console.log(
        `median ${s.name}: ${median(s.rate).toFixed(0)}/s, PostgreSQL ${median(s.pg).toFixed(0)} µs/unit ` +
          `(${s.pg.map((x) => x.toFixed(0)).join(' ')}), its backends ${median(s.backends).toFixed(0)} ` +
          `(${s.backends.map((x) => x.toFixed(0)).join(' ')}), process ${median(s.proc).toFixed(0)} µs/unit`,
      );
      await s.store.close();
    }
    await monitor.end();
  } finally {
    await cluster.stop();
  }
}

await main();
