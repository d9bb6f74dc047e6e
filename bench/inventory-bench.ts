// `npm run bench:inventory`: the certificate inventory at BENCH_ROWS (default 1,000,000) certificates.
//  (1) list filter latency (p50/p99 over BENCH_SAMPLES, default 200 — with 30 the p99 was the slowest sample —,
//      page of 100) for every filter the console uses — status,
//      CA, profile, expiring-before, requester, search by CN/SAN/serial prefix, the expiry sort — on SQLite and
//      PostgreSQL;
//  (2) the inventory report (`pkim cert list --format csv`, GET /api/v1/certificates/export?format=csv) of every
//      row, SQLite: wall time, rows/s and PEAK RSS of the process that streams it — the CLI as its own process
//      (`/usr/bin/time -f %M`), the server as its own process (`pkim serve`, VmHWM from /proc after the download;
//      the client reads the body in another process, this one, and throws it away).
// Rows are seeded directly (bench code, not through the signing pipeline: a million signatures would take the
// whole run): real CAs made by createAuthority, then synthetic certificate rows with the store's columns and search
// terms, as bulk loads (secondary indexes built after the rows) — SQLite with prepared multi-row INSERTs, no journal,
// 100,000 rows per transaction (sqlite-bulk-load.ts; the counters rebuilt by the store), PostgreSQL with INSERT …
// SELECT generate_series in one transaction that writes no WAL (pg-bulk-load.ts); 1 in 100 with the approved request
// it was issued from (two requesters: requestOf). Seeding is timed apart from the filters (printed at the end).
// BENCH_PG=0 skips PostgreSQL, BENCH_SQLITE=0 SQLite (and (2), which streams from SQLite); BENCH_STREAM=0 skips (2).
// BENCH_FILTER_SECONDS (default 20): a filter stops sampling once its samples add up to that (the samples column).
// BENCH_PG_SQL: SQL run on PostgreSQL's seeded database before the filters are timed (e.g. an index a migration
// dropped, `create index …; analyze certificates`, to time the schema before it).
// BENCH_FILTER=REGEX times only the filters whose name matches it (e.g. `status|serial`: the rows a change touches).
// BENCH_KEEP=DIR keeps both engines' seeded databases in DIR and reuses them in a later run (same BENCH_ROWS).
// BENCH_BASE=/work/wt/base: that worktree's @pkim/store opens the same seeded database too and every filter is
// timed on both, alternated (head, base, head, base; the worse round of each shown) — an A/B without a second seed.
// Serials are time-first, as pkim issues them (core/serial-number.ts), one certificate per millisecond.
// Everything else is removed at the end.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { createAuthority } from '@pkim/authority';
import { openStore, type CertificateQuery, type Store } from '@pkim/store';
import * as sqliteSchema from '../packages/store/src/sqlite-schema';
import { certificateNameRows } from '../packages/store/src/certificate-search-terms';
import { startPostgres } from '../tests/support/postgres';
import { startPkimServe } from './pkim-serve';
import { PG_BULK_LOAD_SETTINGS, pgBulkLoad } from './pg-bulk-load';
import { inserter, sqliteBulkLoad } from './sqlite-bulk-load';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const WITH_PG = process.env.BENCH_PG !== '0';
const WITH_SQLITE = process.env.BENCH_SQLITE !== '0';
const WITH_STREAM = process.env.BENCH_STREAM !== '0';
const FILTER_SECONDS = Number(process.env.BENCH_FILTER_SECONDS ?? 20);
const FILTER = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER) : undefined;
/** another worktree (e.g. /work/wt/base): its @pkim/store opens the same seeded database, for an A/B in one run */
const BASE_TREE = process.env.BENCH_BASE;
const ROOT = join(import.meta.dirname, '..');
const PKIM = join(ROOT, 'apps/cli/bin/pkim.mjs');
const silent = pino({ level: 'silent' });
const actor = { id: 'bench', name: 'bench', role: 'admin' as const };
const PEM = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n-----END CERTIFICATE-----\n`;
/**
 * BENCH_KEEP=DIR: the seeded databases stay in DIR after the run — SQLite's data directory DIR/sqlite, PostgreSQL's
 * cluster DIR/pg (stopped, not removed) — and a later run with the same DIR and BENCH_ROWS reuses them (no seeding:
 * bench.json keeps the seed's time and each engine's CA ids, token and seeding time). Remove DIR to seed again.
 */
const KEEP = process.env.BENCH_KEEP;
const kept =
  KEEP && existsSync(join(KEEP, 'bench.json'))
    ? (JSON.parse(readFileSync(join(KEEP, 'bench.json'), 'utf8')) as Kept)
    : undefined;
interface KeptEngine {
  caIds: string[];
  token: string;
  seedSeconds: number;
}
interface Kept {
  now: number;
  rows: number;
  engines: Record<string, KeptEngine>;
}
if (kept && (kept.rows !== ROWS || !kept.engines))
  throw new Error(`BENCH_KEEP ${KEEP} does not hold a seed of BENCH_ROWS ${ROWS} rows of this bench: remove it`);
const NOW = kept?.now ?? Date.now();
const DAY = 86_400_000;

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** row i's createdAt: one certificate per millisecond, the newest now (a fleet issued at 1,000/s) */
const createdAtOf = (i: number) => NOW - ROWS + i;
/**
 * row i's serial, as pkim issues them since bb2128a (core/serial-number.ts): 20 bytes, the issuance time in
 * milliseconds in the first 6 (createdAt), then 14 bytes that look random — so a short prefix is a time window:
 * 8 hex digits match the ≈ 65,536 certificates of the same 65.5 s
 */
const serialOf = (i: number) => createdAtOf(i).toString(16).padStart(12, '0') + sha(`s${i}`).slice(0, 28);
const fingerprintOf = (i: number) => sha(`f${i}`);

/**
 * certificate i was issued from an approved request iff i % 100 = 42 (10,000 of 1,000,000): request i's requester is
 * usr_bench_few for i % 10,000 = 42 (1 in 10,000 certificates) and usr_bench_many otherwise (≈ 1 in 101)
 */
const requestOf = (i: number) => (i % 100 === 42 ? `req_bench${String(i).padStart(9, '0')}` : null);
const requesterOf = (i: number) => (i % 10_000 === 42 ? 'usr_bench_few' : 'usr_bench_many');

/** certificate i: host<i>.svc<i%1000>.example.com; 5 % revoked, 5 % expired, a third tls-client, 4 CAs */
function syntheticRow(i: number, caIds: string[]) {
  const status = i % 20 === 5 ? 'revoked' : i % 20 === 6 ? 'expired' : 'active';
  const cn = `host${i}.svc${i % 1000}.example.com`;
  return {
    id: `crt_bench${String(i).padStart(9, '0')}`,
    caId: caIds[i % caIds.length]!,
    serialHex: serialOf(i),
    subjectDn: `CN=${cn},O=Bench`,
    commonName: cn,
    sans: { dns: [cn] },
    profile: i % 3 === 0 ? 'tls-client' : 'tls-server',
    keyType: 'ec-p256',
    notBefore: NOW - 30 * DAY,
    notAfter: NOW + (i % 730) * DAY - (status === 'expired' ? 800 * DAY : 0),
    status,
    revokedAt: status === 'revoked' ? NOW - DAY : null,
    revocationReason: status === 'revoked' ? 'keyCompromise' : null,
    fingerprintSha256: fingerprintOf(i),
    certificatePem: PEM,
    requestId: requestOf(i),
    issuedBy: 'bench',
    createdAt: createdAtOf(i),
  };
}

/** the approved request certificate i was issued from (requestOf) */
function syntheticRequest(i: number, row: ReturnType<typeof syntheticRow>) {
  return {
    id: row.requestId!,
    caId: row.caId,
    csrPem: PEM,
    subjectDn: row.subjectDn,
    sans: row.sans,
    profile: row.profile,
    validityMs: null,
    status: 'issued',
    requester: requesterOf(i),
    reviewer: 'bench',
    reason: null,
    certificateId: row.id,
    certificateNotAfter: row.notAfter,
    createdAt: row.createdAt - 1,
    reviewedAt: row.createdAt,
    updatedAt: row.createdAt,
  };
}

/**
 * SQLite's rows as a bulk load of the database file (sqlite-bulk-load.ts: indexes built at the end, no journal): the
 * columns the store writes, the search terms by the store's own rule (certificateNameRows), 100,000 certificates per
 * transaction; the counters are rebuilt by the store afterwards (seedSqlite's caller)
 */
function seedSqlite(path: string, caIds: string[]): void {
  sqliteBulkLoad(path, (db) => {
    const certificates = inserter(db, sqliteSchema.certificates, 'certificates');
    const names = inserter(db, sqliteSchema.certificateNames, 'certificate_names');
    const requests = inserter(db, sqliteSchema.certificateRequests, 'certificate_requests');
    const chunk = db.transaction((from: number, to: number) => {
      const rows = [];
      for (let j = from; j < to; j++) rows.push(syntheticRow(j, caIds));
      certificates(rows);
      names(certificateNameRows(rows));
      requests(rows.filter((r) => r.requestId).map((r) => syntheticRequest(Number(r.id.slice(9)), r)));
    });
    for (let i = 0; i < ROWS; i += 100_000) {
      chunk(i, Math.min(ROWS, i + 100_000));
      if (i % 200_000 === 0) process.stderr.write(`sqlite: ${i} rows\n`);
    }
  });
}

/** the same rows (and their search terms, the rule of certificate-search-terms.ts) generated by PostgreSQL */
async function seedPostgres(url: string, caIds: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const cn = `'host' || i || '.svc' || (i % 1000) || '.example.com'`;
  // serialOf in SQL, from the parameters that hold NOW and ROWS
  const serialAt = (now: string, rows: string) =>
    `lpad(to_hex(${now}::bigint - ${rows}::bigint + i), 12, '0') || ` +
    `substr(encode(sha256(('s' || i)::bytea), 'hex'), 1, 28)`;
  try {
    // a bulk load (pg-bulk-load.ts): secondary indexes built once at the end, foreign-key triggers off
    await pgBulkLoad(c, async () => {
      await c.query(
        `insert into certificates (id, ca_id, serial_hex, subject_dn, common_name, sans, profile, key_type,
          not_before, not_after, status, revoked_at, revocation_reason, fingerprint_sha256, certificate_pem,
          request_id, issued_by, created_at)
        select 'crt_bench' || lpad(i::text, 9, '0'), ($1::text[])[(i % $2) + 1],
          ${serialAt('$3', '$6')}, 'CN=' || ${cn} || ',O=Bench', ${cn},
          json_build_object('dns', json_build_array(${cn}))::text,
          case when i % 3 = 0 then 'tls-client' else 'tls-server' end, 'ec-p256',
          $3::bigint - 30 * $4::bigint,
          $3::bigint + (i % 730) * $4::bigint - case when i % 20 = 6 then 800 * $4::bigint else 0 end,
          case when i % 20 = 5 then 'revoked' when i % 20 = 6 then 'expired' else 'active' end,
          case when i % 20 = 5 then $3::bigint - $4::bigint end, case when i % 20 = 5 then 'keyCompromise' end,
          encode(sha256(('f' || i)::bytea), 'hex'), $5,
          case when i % 100 = 42 then 'req_bench' || lpad(i::text, 9, '0') end, 'bench', $3::bigint - $6::bigint + i
        from generate_series(0, $6::int - 1) as i`,
        [caIds, caIds.length, NOW, DAY, PEM, ROWS],
      );
      // the requests of requestOf / syntheticRequest
      await c.query(
        `insert into certificate_requests (id, ca_id, csr_pem, subject_dn, sans, profile, status, requester, reviewer,
          certificate_id, certificate_not_after, created_at, reviewed_at, updated_at)
        select request_id, ca_id, $1, subject_dn, sans, profile, 'issued',
          case when right(id, 9)::int % 10000 = 42 then 'usr_bench_few' else 'usr_bench_many' end, 'bench', id,
          not_after, created_at - 1, created_at, created_at
        from certificates where request_id is not null`,
        [PEM],
      );
      process.stderr.write('postgres: certificates loaded, search terms next\n');
      await c.query(
        `insert into certificate_names (name, certificate_id, created_at)
        select t.name, 'crt_bench' || lpad(i::text, 9, '0'), $2::bigint - $1::bigint + i
        from generate_series(0, $1::int - 1) as i
        cross join lateral (values (${cn}), ('svc' || (i % 1000) || '.example.com'), ('example.com'), ('com'),
          (${serialAt('$2', '$1')})) as t(name)`,
        [ROWS, NOW],
      );
    });
  } finally {
    await c.end();
  }
}

async function runSql(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Latency {
  p50: number;
  p99: number;
  rows: number;
  samples: number;
}

/** SAMPLES timings of fn, or fewer once they add up to BENCH_FILTER_SECONDS (a filter that takes seconds) */
async function latency(fn: () => Promise<number>, samples = SAMPLES): Promise<Latency> {
  let rows = await fn();
  const t: number[] = [];
  let total = 0;
  for (let i = 0; i < samples && total < FILTER_SECONDS * 1000; i++) {
    const s = performance.now();
    rows = await fn();
    t.push(performance.now() - s);
    total += t[t.length - 1]!;
  }
  t.sort((a, b) => a - b);
  return { p50: pct(t, 50), p99: pct(t, 99), rows, samples: t.length };
}

type Probe = (store: Store) => Promise<number>;

/** the filters of the console's certificates page and global search (page of 100) */
function probes(caIds: string[]): [string, Probe][] {
  const i = Math.floor(ROWS * 0.37) + 7; // an arbitrary certificate
  const newest = ROWS - 1;
  const list =
    (q: CertificateQuery): Probe =>
    async (store) =>
      // `now` as the authority passes it (certificate-service list): a status filter reads the status at that instant
      (await store.certificates.list({ ...q, now: NOW, limit: 100 })).items.length;
  const hex = (p: string, part: 'serial' | 'fingerprint'): Probe => {
    return async (store) => (await store.certificates.findByHexPrefix(p, 11))[part].length;
  };
  return [
    ['no filter (first page)', list({})],
    ['status = revoked', list({ status: 'revoked' })],
    ['status = expired (stored, or active past its end)', list({ status: 'expired' })],
    ['CA', list({ caId: caIds[2] })],
    ['profile = tls-client', list({ profile: 'tls-client' })],
    ['CA + status = active', list({ caId: caIds[1], status: 'active' })],
    // a requester's own inventory (the requester role's listing): 100 certificates of 1,000,000, and ≈ 9,900
    ['requester, 100 certificates', list({ requester: 'usr_bench_few' })],
    ['requester, 9,900 certificates', list({ requester: 'usr_bench_many' })],
    // (1 in 80: planned on (ca_id, status) before migration 0034, on (status, created_at, id) since)
    ['CA + status = revoked', list({ caId: caIds[1], status: 'revoked' })],
    ['expiring before now+30d', list({ expiringBefore: NOW + 30 * DAY })],
    ['expiring before now+30d, by expiry', list({ expiringBefore: NOW + 30 * DAY, sort: 'expiry_asc' })],
    ['CA + expiring before now+30d', list({ caId: caIds[3], expiringBefore: NOW + 30 * DAY })],
    // the console's "Expires soonest" / "Expires latest" with no filter (every status, the expired first / last)
    ['sort by expiry, no filter (soonest first)', list({ sort: 'expiry_asc' })],
    ['sort by expiry, no filter (latest first)', list({ sort: 'expiry_desc' })],
    // the expiry sort with another filter (expiryArms): each status's range of (status, not_after, id) walked, the
    // filter tested on its rows — a requester's certificates from their requests, sorted
    ['CA, by expiry (soonest first)', list({ caId: caIds[2], sort: 'expiry_asc' })],
    ['profile = tls-client, by expiry (latest first)', list({ profile: 'tls-client', sort: 'expiry_desc' })],
    ['CA + status = active, by expiry', list({ caId: caIds[1], status: 'active', sort: 'expiry_asc' })],
    ['status = expired (stored, or active past its end), by expiry', list({ status: 'expired', sort: 'expiry_desc' })],
    ['requester, 100 certificates, by expiry', list({ requester: 'usr_bench_few', sort: 'expiry_asc' })],
    ['requester, 9,900 certificates, by expiry', list({ requester: 'usr_bench_many', sort: 'expiry_asc' })],
    // (usr_bench_few's 100 certificates are all of caIds[2]: requestOf)
    ['CA + requester, 100 certificates', list({ caId: caIds[2], requester: 'usr_bench_few' })],
    [`search CN "host${i}.svc"`, list({ search: `host${i}.svc` })],
    [`search SAN label "svc${i % 1000}.example"`, list({ search: `svc${i % 1000}.example` })],
    ['search "example.com" (every row)', list({ search: 'example.com' })],
    // time-first serials: 8 hex digits are a 65.5 s window, 10 a 256 ms one, 16 one certificate
    ['search serial prefix, 8 hex, 63 % of the rows newer', list({ search: serialOf(i).slice(0, 8) })],
    ['search serial prefix, 8 hex, the newest window', list({ search: serialOf(newest).slice(0, 8) })],
    ['search serial prefix, 10 hex', list({ search: serialOf(i).slice(0, 10) })],
    ['search serial prefix, 16 hex', list({ search: serialOf(i).slice(0, 16) })],
    ['search + status = revoked', list({ search: 'svc5.example.com', status: 'revoked' })],
    // a dense search with a selective extra filter: the page's matches spread (1 in 60) or clustered (1 in 20 of the
    // serial window) — a shorter walk, or none, would sort every older term and read certificates until 101 pass
    [
      'search "example.com" + profile = tls-client + status = revoked (1 in 60)',
      list({ search: 'example.com', profile: 'tls-client', status: 'revoked' }),
    ],
    [
      'search serial prefix, 8 hex, 63 % newer + status = revoked',
      list({ search: serialOf(i).slice(0, 8), status: 'revoked' }),
    ],
    // the global search's and a reference's lookups (a unique prefix resolves a certificate reference)
    ['serial prefix (8 hex, findByHexPrefix, at most 11)', hex(serialOf(i).slice(0, 8), 'serial')],
    [
      'fingerprint prefix (10 hex, findByHexPrefix)',
      hex(fingerprintOf(Math.floor(ROWS * 0.61)).slice(0, 10), 'fingerprint'),
    ],
  ];
}

/** every probe on this tree's store; with BENCH_BASE also on the base tree's, alternated probe by probe */
async function filterLatencies(
  store: Store,
  base: Store | undefined,
  caIds: string[],
): Promise<{ name: string; head: Latency; base?: Latency }[]> {
  const out: { name: string; head: Latency; base?: Latency }[] = [];
  for (const [name, probe] of probes(caIds)) {
    if (FILTER && !FILTER.test(name)) continue;
    if (!base) {
      out.push({ name, head: await latency(() => probe(store)) });
      continue;
    }
    // two rounds each, alternated: head, base, head, base (half the samples each time)
    const half = Math.max(1, Math.floor(SAMPLES / 2));
    const h1 = await latency(() => probe(store), half);
    const b1 = await latency(() => probe(base), half);
    const h2 = await latency(() => probe(store), half);
    const b2 = await latency(() => probe(base), half);
    const worse = (a: Latency, b: Latency): Latency => (a.p99 >= b.p99 ? a : b);
    out.push({ name, head: worse(h1, h2), base: worse(b1, b2) });
  }
  return out;
}

/** peak RSS (kB) and wall time of `pkim cert list --format csv --out F` in its own process */
function streamViaCli(dataDir: string, out: string): { seconds: number; peakKb: number; bytes: number } {
  const t0 = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    ['-f', 'PEAK_KB=%M', process.execPath, PKIM, 'cert', 'list', '--format', 'csv', '--out', out],
    {
      env: { ...process.env, PKIM_DATA_DIR: dataDir, PKIM_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`pkim cert list --format csv failed: ${r.stderr}`);
  const peakKb = Number(/PEAK_KB=(\d+)/.exec(r.stderr)?.[1]);
  return { seconds, peakKb, bytes: statSync(out).size };
}

function vmKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

/** `pkim serve` in its own process; this process downloads the export and counts the bytes */
async function streamViaHttp(
  dataDir: string,
  token: string,
): Promise<{ seconds: number; peakKb: number; idleKb: number; bytes: number; lines: number }> {
  const server = await startPkimServe(dataDir, { PKIM_RATE_LIMIT: '0' });
  const pid = server.process.pid!;
  try {
    const url = server.url;
    const idleKb = vmKb(pid, 'VmRSS');
    const t0 = performance.now();
    const res = await fetch(`${url.replace(/\/$/, '')}/api/v1/certificates/export?format=csv`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    let bytes = 0;
    let lines = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, peakKb: vmKb(pid, 'VmHWM'), idleKb, bytes, lines };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'pkim-inventory-bench-'));
  const started = performance.now();
  // (wal_level=minimal: the bulk load writes no WAL — pg-bulk-load.ts; the filters only read)
  const cluster = WITH_PG
    ? await startPostgres({ settings: PG_BULK_LOAD_SETTINGS, keepDir: KEEP && join(KEEP, 'pg') })
    : undefined;
  const tables: {
    engine: string;
    seedSeconds: number;
    querySeconds: number;
    rows: Awaited<ReturnType<typeof filterLatencies>>;
  }[] = [];
  const keptEngines: Record<string, KeptEngine> = { ...kept?.engines };
  const baseOpen = BASE_TREE
    ? ((await import(join(BASE_TREE, 'packages/store/src/index.ts'))) as { openStore: typeof openStore }).openStore
    : undefined;
  let stream: string[] = [];
  try {
    const engines = WITH_SQLITE ? [{ name: 'SQLite', url: undefined as string | undefined }] : [];
    if (cluster) {
      const url = keptEngines.PostgreSQL
        ? cluster.url.replace(/\/postgres$/, '/bench_inventory')
        : await cluster.createDatabase('bench_inventory');
      engines.push({ name: 'PostgreSQL', url });
    }
    for (const e of engines) {
      // (PostgreSQL's authority keeps its CA keys in a data directory of its own)
      const dataDir = join(KEEP ?? tmp, e.url ? 'pg-authority' : 'sqlite');
      const reuse = keptEngines[e.name];
      let caIds: string[];
      let token: string;
      if (reuse) ({ caIds, token } = reuse);
      else {
        const a = await createAuthority({ dataDir, databaseUrl: e.url, logger: silent, create: true });
        const root = await a.cas.create(
          { name: 'root', subject: 'CN=Inventory Bench Root', keyType: 'ec-p256' },
          actor,
        );
        caIds = [root.ca.id];
        for (let i = 0; i < 3; i++) {
          const ca = await a.cas.create(
            {
              name: `issuing${i}`,
              subject: `CN=Inventory Bench Issuing ${i}`,
              keyType: 'ec-p256',
              parentId: root.ca.id,
            },
            actor,
          );
          caIds.push(ca.ca.id);
        }
        token = (await a.auth.createToken({ name: 'bench', role: 'auditor' }, actor)).token;
        await a.close();
      }
      const t0 = performance.now();
      // SQLite is loaded with no store open on the file (the bulk load turns its journal off), PostgreSQL beside it
      if (!reuse && !e.url) seedSqlite(join(dataDir, 'pkim.db'), caIds);
      const store = await openStore({ url: e.url ?? join(dataDir, 'pkim.db') });
      let seedSeconds: number;
      try {
        if (reuse) seedSeconds = reuse.seedSeconds;
        else {
          if (e.url) {
            await seedPostgres(e.url, caIds);
            if (process.env.BENCH_PG_SQL) await runSql(e.url, process.env.BENCH_PG_SQL);
          } else await store.rebuildCertificateCounts();
          seedSeconds = (performance.now() - t0) / 1000;
          if (KEEP) {
            keptEngines[e.name] = { caIds, token, seedSeconds };
            const k: Kept = { now: NOW, rows: ROWS, engines: keptEngines };
            writeFileSync(join(KEEP, 'bench.json'), JSON.stringify(k));
          }
        }
        process.stderr.write(`${e.name}: ${ROWS} rows seeded in ${seedSeconds.toFixed(0)} s\n`);
        const base = await baseOpen?.({ url: e.url ?? join(dataDir, 'pkim.db') });
        try {
          const q0 = performance.now();
          const rows = await filterLatencies(store, base, caIds);
          tables.push({ engine: e.name, seedSeconds, querySeconds: (performance.now() - q0) / 1000, rows });
        } finally {
          await base?.close();
        }
      } finally {
        await store.close();
      }
      if (WITH_STREAM && !e.url) {
        const cli = streamViaCli(dataDir, join(tmp, 'inventory.csv'));
        process.stderr.write(`CLI: ${cli.seconds.toFixed(1)} s, peak ${cli.peakKb} kB\n`);
        rmSync(join(tmp, 'inventory.csv'), { force: true });
        const http = await streamViaHttp(dataDir, token);
        process.stderr.write(`HTTP: ${http.seconds.toFixed(1)} s, peak ${http.peakKb} kB\n`);
        const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
        stream = [
          `### Inventory report of ${ROWS.toLocaleString('en')} certificates as CSV (SQLite)`,
          '',
          '| path | wall | rows/s | size | peak RSS of the streaming process |',
          '|---|---:|---:|---:|---:|',
          `| \`pkim cert list --format csv --out F\` (own process) | ${cli.seconds.toFixed(1)} s | ` +
            `${Math.round(ROWS / cli.seconds).toLocaleString('en')} | ${(cli.bytes / 1e6).toFixed(0)} MB | ` +
            `${mb(cli.peakKb)} |`,
          '| `GET /api/v1/certificates/export?format=csv` (`pkim serve` own process) | ' +
            `${http.seconds.toFixed(1)} s | ` +
            `${Math.round(ROWS / http.seconds).toLocaleString('en')} | ${(http.bytes / 1e6).toFixed(0)} MB | ` +
            `${mb(http.peakKb)} (idle before: ${mb(http.idleKb)}) |`,
          '',
          `(${http.lines.toLocaleString('en')} CSV lines received over HTTP, header included.)`,
        ];
      }
    }
    const lines = [
      `## pkim inventory benchmark (${cpus().length} CPU ${cpus()[0]?.model.trim() ?? ''}, Node ${process.version})`,
      '',
      `### Certificate list filters over ${ROWS.toLocaleString('en')} certificates, page of 100, ${SAMPLES} ` +
        'samples, ms',
      '',
      `| filter | ${tables.map((t) => `${t.engine} p50 | ${t.engine} p99`).join(' | ')} | rows | samples |` +
        (BASE_TREE ? ` ${tables.map((t) => `base ${t.engine} p50 | base ${t.engine} p99`).join(' | ')} |` : ''),
      `|---|${tables.map(() => '---:|---:').join('|')}|---:|---:|` +
        (BASE_TREE ? tables.map(() => '---:|---:|').join('') : ''),
      ...tables[0]!.rows.map(({ name, head }, i) => {
        const ms = (l: Latency | undefined) => (l ? `${l.p50.toFixed(2)} | ${l.p99.toFixed(2)}` : ' | ');
        return (
          `| ${name} | ${tables.map((t) => ms(t.rows[i]!.head)).join(' | ')} | ${head.rows} | ` +
          `${tables.map((t) => t.rows[i]!.head.samples).join(' / ')} |` +
          (BASE_TREE ? ` ${tables.map((t) => ms(t.rows[i]!.base)).join(' | ')} |` : '')
        );
      }),
      '',
      `Seeding: ${tables.map((t) => `${t.engine} ${t.seedSeconds.toFixed(0)} s`).join(', ')}` +
        (kept ? ' (kept: BENCH_KEEP, seeded by an earlier run)' : '') +
        `. Filters: ${tables.map((t) => `${t.engine} ${t.querySeconds.toFixed(0)} s`).join(', ')}.`,
      '',
      ...stream,
      '',
      `Total bench time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
