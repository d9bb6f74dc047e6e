// `npm run bench:svid-commit`: the store's cost per SVID commit as SPIFFE IDs are renewed again and again — each unit
// the certificate row, its SVID row and the supersede of the ID's previous SVID, as the SVID route commits it. Its
// issuing CA is registered as the plane's active `services` SPIFFE CA first (an insertSpiffeCas row and its
// `spiffe.ca_registered` event, as spiffe-service's `register` commits it), so each unit's commit check (the SVID's
// SPIFFE CA must be active or keep it: spiffe-repository.ts refuseRotatedSvidCas, the batch statement's `refused` and
// `recheck_sv`) finds and reads a real row. No signing, no HTTP.
//  SQLite (default): one SPIFFE ID, one commit at a time, main thread CPU printed per 1,000 commits, so a commit
//  that grows with the ID's history shows (before migration 0028 the supersede walked every earlier SVID of the ID).
//  BENCH_ENGINE=postgres: a throwaway cluster (fsync off: the statement's CPU, not the disk), BENCH_IN_FLIGHT lanes
//  (default 32), each renewing its own SPIFFE ID, so the group commit writes them in batches through the batch
//  statement (pg-batch-commit.ts); prints SVIDs/s, this process's and the store's PostgreSQL backends' CPU per SVID,
//  and units per batch.
//  env: BENCH_SVIDS (default 8000), BENCH_ENGINE=sqlite|postgres, BENCH_IN_FLIGHT, BENCH_TREE=<worktree> (load the
//  store of another checkout, for an A/B against a base worktree: `BENCH_TREE=/path/to/base npm run bench:svid-commit`)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { newId } from '@pkim/shared';
import type { CertificateRow, Store, UnitOfWork } from '@pkim/store';
import { activeRootCaRow, randomCertificatePem } from '../packages/store/src/example-rows';
import { startPostgres } from '../tests/support/postgres';

const ENGINE = process.env.BENCH_ENGINE ?? 'sqlite';
const SVIDS = Number(process.env.BENCH_SVIDS ?? 8000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? (ENGINE === 'postgres' ? 32 : 1));
const TREE = process.env.BENCH_TREE ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const T0 = Date.UTC(2030, 0, 1);
const TRUST_DOMAIN = 'bench.test';

const { openStore } = (await import(join(TREE, 'packages/store/src/index.ts'))) as typeof import('@pkim/store');
const dir = mkdtempSync(join(tmpdir(), 'pkim-svid-bench-'));
const cluster = ENGINE === 'postgres' ? await startPostgres() : undefined;
const url = cluster ? await cluster.createDatabase() : join(dir, 'pkim.db');
const store: Store = await openStore({ url });
const ca = activeRootCaRow(newId('ca'), 'svid-bench', randomCertificatePem(600), T0);
await store.commit({ insertCa: [ca] });
// the SPIFFE CA, as spiffe-service's register() commits it (a user's server has one per plane role)
await store.commit({
  insertSpiffeCas: [
    {
      ...{ id: ca.id, trustDomain: TRUST_DOMAIN, role: 'services', status: 'active' },
      ...{ rotatedAt: null, keepUntil: null, createdAt: T0 },
    },
  ],
  audit: [
    {
      ...{ id: newId('evt'), time: T0, actor: 'svid-bench', action: 'spiffe.ca_registered', target: ca.id },
      ...{ outcome: 'success', details: { trustDomain: TRUST_DOMAIN, role: 'services', name: ca.name } },
    },
  ],
});
if ((await store.spiffe.listCas()).length !== 1) throw new Error('the SPIFFE CA was not registered');
const pem = randomCertificatePem(900);

function svidUnit(spiffeId: string, at: number): UnitOfWork {
  const id = newId('crt');
  const cert: CertificateRow = {
    ...{ id, caId: ca.id, serialHex: id.slice(4).padEnd(40, '0'), subjectDn: 'O=workload', commonName: null },
    ...{ sans: { uri: [spiffeId] }, profile: 'spiffe-svid', keyType: 'ec-p384', notBefore: at, notAfter: at + 3.6e6 },
    ...{ status: 'active', revokedAt: null, revocationReason: null, fingerprintSha256: id.padEnd(64, '0') },
    ...{ certificatePem: pem, requestId: null, issuedBy: 'svid-bench', createdAt: at, renewedFrom: null },
    provisioner: null,
  };
  const svid = { id, caId: ca.id, spiffeId, serviceType: 'node', notAfter: cert.notAfter, createdAt: at };
  return {
    insertCertificates: [cert],
    insertSpiffeSvids: [{ ...svid, supersededBy: null, supersededAt: null }],
    supersedeSpiffeSvids: [{ spiffeId, by: id, at }],
  };
}

/** CPU µs of the store's PostgreSQL backends (/proc/<pid>/stat of the database's connections, ticks of 1/100 s) */
async function backendsCpuUs(admin: pg.Client | undefined): Promise<number> {
  if (!admin) return 0;
  const { rows } = await admin.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  let us = 0;
  for (const { pid } of rows) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      us += ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
    } catch {
      // the backend ended meanwhile
    }
  }
  return us;
}

const admin = cluster ? new pg.Client({ connectionString: url }) : undefined;
await admin?.connect();
const load0 = loadavg()[0]!;
const marks: string[] = [];
let cpu = process.cpuUsage();
const [cpuStart, serverStart, stats0, start] = [cpu, await backendsCpuUs(admin), store.commitStats(), Date.now()];
let done = 0;
await Promise.all(
  Array.from({ length: IN_FLIGHT }, async (_, lane) => {
    const spiffeId = `spiffe://${TRUST_DOMAIN}/node/bench-${lane + 1}`;
    while (done < SVIDS) {
      const i = ++done;
      await store.commit(svidUnit(spiffeId, T0 + i));
      if (IN_FLIGHT === 1 && i % 1000 === 0) {
        const used = process.cpuUsage(cpu);
        marks.push(`${i}: ${Math.round((used.user + used.system) / 1000)}`);
        cpu = process.cpuUsage();
      }
    }
  }),
);
const ms = Date.now() - start;
const server = (await backendsCpuUs(admin)) - serverStart;
const used = process.cpuUsage(cpuStart);
const stats = store.commitStats();
const svidRows = (await store.spiffe.svidsByCa(T0)).find((r) => r.caId === ca.id)?.count;
await admin?.end();
await store.close();
await cluster?.stop();
rmSync(dir, { recursive: true, force: true });
console.log(
  `SVID commits, ${ENGINE}, store of ${TREE}, ${SVIDS} SVIDs, ${IN_FLIGHT} in flight; registered: the SVIDs' CA ` +
    `as the active 'services' SPIFFE CA of ${TRUST_DOMAIN} (spiffe_cas row + spiffe.ca_registered); ` +
    `load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
);
if (IN_FLIGHT === 1)
  console.log(`CPU µs per commit, by 1,000 commits (n = SVIDs of the ID so far): ${marks.join(', ')}`);
const per = (us: number) => Math.round(us / SVIDS).toLocaleString('en-US');
const units = stats.units - stats0.units;
const batches = stats.batches - stats0.batches;
console.log(
  `${Math.round((SVIDS / ms) * 1000).toLocaleString('en-US')} SVIDs/s; CPU µs per SVID: this process ` +
    `${per(used.user + used.system)}${cluster ? `, PostgreSQL backends ${per(server)}` : ''}; ` +
    `${(units / Math.max(1, batches)).toFixed(1)} units per batch; unexpired SVID rows of the CA: ${svidRows ?? '?'}`,
);
