import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { and, count, desc, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PkiError } from '@pkim/shared';
import {
  CERTIFICATE_STATUSES,
  STORE_TABLES,
  copyStore,
  migrateStore,
  openStore,
  restoreStore,
  type Store,
} from '../src/index';
import { IN_USE_LOCK } from '../src/pg-store';
import { LOCK_CLASS } from '../src/pg-batch-commit';
import * as pgSchema from '../src/pg-schema';
import { asQueryDb } from '../src/query-db';
import {
  countByStatusQuery,
  countsByCaAndProfileQuery,
  denseTermsWalkBound,
  denseWalkEdgeQuery,
  denseWalkQuery,
  expiringBeforeCondition,
  caCondition,
  expiryArms,
  expiryMergedQuery,
  expiryOrderQuery,
  findAllBySerialQuery,
  findByFingerprintPrefixQuery,
  findByFingerprintQuery,
  findCertificateHoldersQuery,
  findRenewalsQuery,
  namedActorsArmQuery,
  requesterCondition,
  requesterExpiryQuery,
  revokedOrderQuery,
  searchCondition,
  searchMatchesQuery,
  newestFilteredMatchesQuery,
  FILTERED_TOP_PER_ROW,
  statusCondition,
} from '../src/repositories';
import { afterKeyCursor, encodeCursor } from '../src/pagination-cursor';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { defineStoreSuite, type StoreEngine } from './store-suite';
import { journalTags } from './migration-journals';
import { migratedDatabases } from './pg-migrated-template';
import { T0, makeCa, makeCert, makeEvent, makeRequest, makeToken, makeUser } from './store-fixtures';

let cluster: TestPostgres;
let dir = '';
let n = 0;

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * a new database with every migration applied: a copy of the file's migrated template (pg-migrated-template.ts) for
 * every test whose subject is not migrating itself
 */
const migratedDatabaseUrl = migratedDatabases(() => cluster);

/** PostgreSQL's plan of a Drizzle query on client `c` (EXPLAIN's lines joined): what the plan tests match */
const explainOn =
  (c: pg.Client) =>
  async (q: { toSQL(): { sql: string; params: unknown[] } }): Promise<string> => {
    const { sql, params } = q.toSQL();
    return (await c.query(`explain ${sql}`, params)).rows
      .map((r: Record<string, string>) => r['QUERY PLAN'])
      .join('\n');
  };

const engine: StoreEngine = {
  dialect: 'postgres',
  newDatabaseUrl: () => cluster.createDatabase(),
  newMigratedDatabaseUrl: migratedDatabaseUrl,
  async rawSql(url, statement) {
    await withClient(url, (c) => c.query(statement));
  },
  async wipe(url) {
    await withClient(url, (c) =>
      c.query('drop schema public cascade; create schema public; drop schema if exists drizzle cascade'),
    );
  },
  backupPath() {
    return join(dir, `backup-${++n}.dump`);
  },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pkim-store-pg-'));
  cluster = await startPostgres();
});
// stopping the cluster and removing its files (≈ 70 databases) took 75–122 s after the last test at load 13–16 on
// disk (session 28; one hit the 120 s hook timeout), ≈ 2 s since the test cluster is in memory (tests/support/
// postgres.ts); the bound only stops a hang
afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 600_000);

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('PostgreSQL store', () => {
  defineStoreSuite(() => engine);

  it('migrates once when two instances open a fresh database together, and reports what it applied', async () => {
    const url = await cluster.createDatabase();
    const [a, b] = await Promise.all([openStore({ url }), openStore({ url })]);
    await Promise.all([a.close(), b.close()]);
    expect(await migrateStore(url)).toEqual({ dialect: 'postgres', applied: [] });
    const fresh = await cluster.createDatabase();
    const report = await migrateStore(fresh);
    expect(report).toEqual({
      dialect: 'postgres',
      applied: journalTags('pg'),
    });
    const rows = await withClient(url, (c) => c.query('select count(*)::int as n from drizzle.__drizzle_migrations'));
    expect(rows.rows[0].n).toBe(report.applied.length); // one row per applied migration, none twice
  });

  describe('leader lock', () => {
    let a: Store;
    let b: Store;
    beforeAll(async () => {
      const url = await migratedDatabaseUrl();
      a = await openStore({ url });
      b = await openStore({ url });
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    it('runs the job on one instance only while it holds the lock, and on the other once it is released', async () => {
      const gate = deferred();
      const entered = deferred();
      const holder = a.withLeaderLock('crl-publisher', async () => {
        entered.resolve();
        await gate.promise;
        return 'a';
      });
      await entered.promise;
      expect(await b.withLeaderLock('crl-publisher', async () => 'b')).toBeUndefined();
      // a session lock, not re-entrant across calls
      expect(await a.withLeaderLock('crl-publisher', async () => 'a-again')).toBeUndefined();
      expect(await b.withLeaderLock('other-job', async () => 'b-other')).toBe('b-other');
      gate.resolve();
      expect(await holder).toBe('a');
      expect(await b.withLeaderLock('crl-publisher', async () => 'b')).toBe('b');
    });

    it('releases the lock when the job throws', async () => {
      await expect(
        a.withLeaderLock('expiry-scan', async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await b.withLeaderLock('expiry-scan', async () => 'b')).toBe('b');
    });
  });

  it('lets another instance take the leader lock over when the holder closes', async () => {
    const url = await migratedDatabaseUrl();
    const a = await openStore({ url });
    const b = await openStore({ url });
    const gate = deferred();
    const entered = deferred();
    const holder = a.withLeaderLock('ocsp-refresh', async () => {
      entered.resolve();
      await gate.promise;
    });
    await entered.promise;
    expect(await b.withLeaderLock('ocsp-refresh', async () => 'b')).toBeUndefined();
    await a.close();
    let got: string | undefined;
    for (let i = 0; i < 50 && got === undefined; i++) {
      got = await b.withLeaderLock('ocsp-refresh', async () => 'b');
      if (got === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(got).toBe('b');
    gate.resolve();
    await holder;
    await b.close();
  });

  it('restores only with no store open (store.in_use, each named); a store opened meanwhile waits', async () => {
    const url = await migratedDatabaseUrl();
    const a = await openStore({ url });
    const ca = makeCa();
    await a.commit({ insertCa: [ca], audit: [makeEvent()] });
    const path = engine.backupPath();
    await a.backup(path);
    const b = await openStore({ url });
    const me = `pkim ${hostname().slice(0, 40)} pid ${process.pid}`; // each store's leader session
    const refused = async () => (await restoreStore({ url, fromPath: path }).catch((e: unknown) => e)) as PkiError;
    const two = await refused();
    expect(two).toMatchObject({ code: 'store.in_use', details: { processes: [me, me] } });
    expect(two.message).toMatch(/^the PostgreSQL database is open in 2 other pkim processes \(pkim .*\): stop every/);
    await a.close();
    expect(await refused()).toMatchObject({ code: 'store.in_use', details: { processes: [me] } });
    await b.commit({ audit: [makeEvent()] }); // refused twice: nothing restored under it
    expect((await b.audit.verify()).count).toBe(2);
    await b.close();
    // a restore under way (IN_USE held exclusive, as restorePg holds it): a store opened meanwhile waits for its end
    const restoring = new pg.Client({ connectionString: url });
    await restoring.connect();
    await restoring.query('select pg_advisory_lock($1::int, $2::int)', [LOCK_CLASS, IN_USE_LOCK]);
    let opened = false;
    const opening = openStore({ url }).then((s) => ((opened = true), s));
    const waiting = async () =>
      (
        await withClient(url, (c) =>
          c.query("select count(*)::int as n from pg_stat_activity where wait_event = 'advisory'"),
        )
      ).rows[0].n as number;
    for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await waiting()).toBe(1);
    expect(opened).toBe(false);
    await restoring.end();
    const c = await opening;
    expect((await c.audit.verify()).count).toBe(2);
    await c.close();
    // nothing open: it restores (the event after the backup is gone)
    await restoreStore({ url, fromPath: path });
    const d = await openStore({ url });
    expect(await d.audit.verify()).toMatchObject({ ok: true, count: 1 });
    expect((await d.cas.list()).map((x) => x.id)).toEqual([ca.id]);
    await d.close();
  });

  it('leases a delivery only while it is still due: one another sender settled is not sent again', async () => {
    // b selects the due delivery, then waits for its row lock while another sender (the raw session, holding the row)
    // records a failed attempt with a later retry; once that commits, b must not lease it: the conditional update
    // checks the due condition again, not only the lease (two instances sent one attempt twice before)
    const url = await migratedDatabaseUrl();
    const b = await openStore({ url });
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await b.commit({
        insertNotificationRules: [
          {
            id: 'ntr_1',
            name: 'revocations',
            trigger: 'events',
            channel: 'webhook',
            target: 'https://hooks.example.com/pki',
            secret: null,
            previousSecret: null,
            previousSecretUntil: null,
            daysBefore: [],
            events: ['certificate.revoked'],
            caId: null,
            profile: null,
            namePattern: null,
            enabled: true,
            createdAt: T0,
            updatedAt: T0,
          },
        ],
      });
      const [row] = await b.notifications.enqueue([
        {
          id: 'ntd_1',
          ruleId: 'ntr_1',
          dedupKey: 'ntr_1:event:1',
          event: 'certificate.revoked',
          subject: null,
          payload: { event: 'certificate.revoked' },
          status: 'retrying',
          attempts: 1,
          nextAttemptAt: T0,
          leaseUntil: null,
          lastError: 'HTTP 503',
          createdAt: T0,
          deliveredAt: null,
        },
      ]);
      expect(row?.id).toBe('ntd_1');
      await other.query('begin');
      await other.query("update notification_deliveries set attempts = attempts where id = 'ntd_1'");
      const leasing = b.notifications.lease(T0 + 1000, T0 + 61_000, 50);
      const waiting = async () =>
        (
          await withClient(url, (c) =>
            c.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock'"),
          )
        ).rows[0].n as number;
      for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await waiting()).toBe(1); // b's update waits for the row
      await other.query(
        "update notification_deliveries set attempts = 2, next_attempt_at = $1, lease_until = null where id = 'ntd_1'",
        [T0 + 61_000],
      );
      await other.query('commit');
      expect(await leasing).toEqual([]);
      // once due again it is leased, with the attempts the other sender recorded
      const later = await b.notifications.lease(T0 + 61_000, T0 + 120_000, 50);
      expect(later.map((d) => [d.id, d.attempts])).toEqual([['ntd_1', 2]]);
    } finally {
      await other.end();
      await b.close();
    }
  });

  it('plans serial lookups on the unique (ca_id, serial_hex) index; counts without reading certificates', async () => {
    const url = await migratedDatabaseUrl();
    const store = await openStore({ url });
    const cas = [makeCa(), makeCa(), makeCa()];
    await store.importRows('certificate_authorities', cas as unknown as Record<string, unknown>[]);
    await store.importRows(
      'certificates',
      cas.flatMap((ca) => Array.from({ length: 2000 }, () => makeCert(ca.id))) as unknown as Record<string, unknown>[],
    );
    await store.close();
    await withClient(url, async (c) => {
      await c.query('analyze');
      const { db, t } = asQueryDb(drizzle({ client: c }), pgSchema);
      const plan = explainOn(c);
      const bySerial = await plan(
        findAllBySerialQuery(
          db,
          t,
          cas.map((x) => x.id),
          'ab'.repeat(20),
        ),
      );
      expect(bySerial).toMatch(/Index Scan using certificates_ca_serial_uq on certificates/);
      expect(bySerial).not.toMatch(/Seq Scan on certificates/);
      // a search is an index range over the search terms (text_pattern_ops), not a scan of certificates
      for (const term of ['crt_zz.example.com', 'abcdef12']) {
        const search = await plan(
          db
            .select({ id: t.certificates.id })
            .from(t.certificates)
            .where(searchCondition(db, t, 'postgres', term)),
        );
        expect(search).toMatch(/Index (Only )?Scan using certificate_names_name_idx on certificate_names/);
        expect(search).not.toMatch(/Seq Scan/);
      }
      // a search's page from its terms (searchMatchesQuery: a sparse search, a dense one's older matches): each match's
      // (created_at, id) from the name index (0032), sorted, then the page's certificates by primary key in that
      // order — a nested loop the LIMIT stops, no sort of the matches' rows above it, with other filters too
      const N = t.certificateNames;
      const bound = sql`(${N.createdAt}, ${N.certificateId}) < (${T0 + 1}, ${'crt_x'})`;
      const term = (await c.query('select id from certificates limit 1')).rows[0].id as string;
      for (const [where, filtered] of [
        [undefined, false],
        [eq(t.certificates.status, 'revoked'), true],
      ] as const) {
        const s = { db, t, dialect: 'postgres' as const, search: term.slice(0, 8), where, n: 101 };
        const matches = await plan(searchMatchesQuery(s, bound, filtered));
        expect(matches).toMatch(/^Limit .*\n\s+-> {2}Nested Loop .*\n/);
        expect(matches).toMatch(/Index (Only )?Scan using certificate_names_name_idx on certificate_names/);
        // (the certificate by id — or, for a status no row has, by that status's index)
        expect(matches).toMatch(/Index Scan using (certificates_pkey|certificates_status_\w+) on certificates/);
        expect(matches).not.toMatch(/Seq Scan/);
        // (never certificate_names_created_idx read backwards, testing the name of every newer term: the matches
        // are ordered by created_at + 0)
        expect(matches).not.toMatch(/certificate_names_created_idx/);
      }
      // a range of every certificate (as a dense search's older matches): the name range, sorted — the planner would
      // rather read certificate_names_created_idx backwards until 101 terms match, which is every newer term when
      // the matches are old (seen failing ordering by created_at itself)
      const every = { db, t, dialect: 'postgres' as const, search: 'example.com', where: undefined, n: 101 };
      for (const filtered of [false, true]) {
        const matches = await plan(searchMatchesQuery(every, bound, filtered));
        expect(matches).toMatch(/(Index (Only )?Scan using|Bitmap Index Scan on) certificate_names_name_idx/);
        expect(matches).not.toMatch(/certificate_names_created_idx/);
      }
      // a filtered page of a dense search's older matches (newestFilteredMatchesQuery): the newest
      // FILTERED_TOP_PER_ROW × n terms in a top-N sort fed by the name index read backwards (the fence), then the
      // certificates by primary key in that order — not every match sorted (a serial prefix's 65,536 terms: a sort
      // spilled to disk, in parallel workers)
      const filteredQuery = newestFilteredMatchesQuery(
        { db, t, dialect: 'postgres', search: term.slice(0, 8), where: eq(t.certificates.status, 'revoked'), n: 101 },
        bound,
      );
      expect(filteredQuery.toSQL().params).toContain(FILTERED_TOP_PER_ROW * 101);
      const newestFiltered = await plan(filteredQuery);
      expect(newestFiltered).toMatch(/^Limit .*\n\s+-> {2}Nested Loop .*\n/);
      expect(newestFiltered).toMatch(/Index Only Scan Backward using certificate_names_name_idx on certificate_names/);
      expect(newestFiltered).toMatch(/Index Scan using (certificates_pkey|certificates_status_\w+) on certificates/);
      expect(newestFiltered).not.toMatch(/Seq Scan|Gather|certificate_names_created_idx/);
      // a dense search's walk (0033): without other filters the walked certificates' terms in the listing's order
      // (certificate_names_created_idx read backwards from the newest, no sort), with them an index-only probe of a
      // walked certificate's terms by (created_at, id)
      const [edge] = await denseWalkEdgeQuery(db, t, undefined);
      const walk = { db, t, dialect: 'postgres' as const, search: 'crt_', where: undefined, n: 101 };
      const terms = await plan(searchMatchesQuery(walk, denseTermsWalkBound(t, undefined, edge), false, true));
      expect(terms).toMatch(/Index Only Scan Backward using certificate_names_created_idx on certificate_names/);
      expect(terms).not.toMatch(/Sort|Seq Scan/);
      const probe = await plan(denseWalkQuery({ ...walk, where: eq(t.certificates.status, 'revoked') }, edge));
      expect(probe).toMatch(/Index Only Scan using certificate_names_created_idx on certificate_names/);
      // renewals of a certificate: the partial index of migration 0025 (only renewals are in it)
      const renewals = await plan(findRenewalsQuery(db, t, 'crt_x'));
      expect(renewals).toMatch(/Index Scan using certificates_renewed_from_idx on certificates/);
      expect(renewals).not.toMatch(/Seq Scan/);
      // expiring within a window read at `now` (dashboard counts, listing): the (status, not_after) index range
      const expiring = expiringBeforeCondition(t, T0 + 7 * 86_400_000, T0);
      for (const q of [
        db.select({ n: count() }).from(t.certificates).where(expiring),
        db.select({ id: t.certificates.id }).from(t.certificates).where(expiring),
      ]) {
        const p = await plan(q);
        expect(p).toMatch(/Index (Only )?Scan using certificates_status_not_after_idx on certificates/);
        expect(p).toMatch(/not_after > .*not_after < |not_after < .*not_after > /);
        expect(p).not.toMatch(/Seq Scan/);
      }
      for (const q of [
        countByStatusQuery(db, t),
        countByStatusQuery(db, t, cas[0]!.id),
        countsByCaAndProfileQuery(db, t),
      ]) {
        const p = await plan(q);
        expect(p).toMatch(/on certificate_counts/);
        expect(p).not.toMatch(/on certificates\b/);
      }
      // a CA's page with a status, newest first, without the (ca_id, status) index 0034 dropped: an order index the
      // LIMIT stops, no sort, no scan
      const C = t.certificates;
      for (const status of ['active', 'revoked'] as const) {
        const p = await plan(
          db
            .select({ id: C.id })
            .from(C)
            .where(and(eq(C.caId, cas[1]!.id), statusCondition(t, 'postgres', status, T0)))
            .orderBy(desc(C.createdAt), desc(C.id))
            .limit(101),
        );
        expect(p).toMatch(/Index Scan (Backward )?using certificates_(ca_created|status_created|created)_idx/);
        expect(p).not.toMatch(/Seq Scan|Sort/);
      }
      // what an issuance writes (docs/benchmarks-record.md "Session 27: store indexes"): every index is read by some
      // query
      const indexes = async (table: string) =>
        (
          await c.query<{ indexname: string }>('select indexname from pg_indexes where tablename = $1 order by 1', [
            table,
          ])
        ).rows.map((r) => r.indexname);
      expect(await indexes('certificates')).toEqual([
        'certificates_ca_created_idx',
        'certificates_ca_serial_uq',
        'certificates_created_idx',
        'certificates_fingerprint16_idx',
        'certificates_pkey',
        'certificates_provisioner_created_idx',
        'certificates_renewed_from_idx',
        // (0044) partial: only revoked rows, none written by an issuance
        'certificates_revoked_at_idx',
        'certificates_status_created_idx',
        'certificates_status_not_after_idx',
      ]);
      expect(await indexes('audit_events')).toEqual([
        'audit_events_action_seq_idx',
        'audit_events_actor_seq_idx',
        'audit_events_pkey',
        'audit_events_target_seq_idx',
      ]);
    });
  });

  it("plans a presented certificate's CA holders (0050) on the CA table's indexes: no scan", async () => {
    const url = await migratedDatabaseUrl();
    const store = await openStore({ url });
    const cas = Array.from({ length: 3000 }, (_, i) =>
      makeCa({ fingerprintSha256: i.toString(16).padStart(64, '0'), parentId: i > 0 ? `ca_p${i % 500}` : null }),
    );
    await store.importRows('certificate_authorities', cas as unknown as Record<string, unknown>[]);
    await store.close();
    await withClient(url, async (c) => {
      await c.query('analyze');
      const { db, t } = asQueryDb(drizzle({ client: c }), pgSchema);
      const plan = await explainOn(c)(findCertificateHoldersQuery(db, t, 'ab'.repeat(32), cas[7]!.id));
      for (const index of [
        'certificate_authorities_fingerprint_idx',
        'certificate_authorities_pkey',
        'certificate_authorities_parent_idx',
        'certificate_authorities_predecessor_idx',
      ])
        expect(plan).toMatch(new RegExp(`Bitmap Index Scan on ${index}\\b`));
      expect(plan).not.toMatch(/Seq Scan/);
    });
  });

  it('plans fingerprint lookups, whole and by prefix, on certificates_fingerprint16_idx (0047): no scan', async () => {
    const url = await migratedDatabaseUrl();
    const store = await openStore({ url });
    const ca = makeCa();
    await store.importRows('certificate_authorities', [ca] as unknown as Record<string, unknown>[]);
    await store.importRows(
      'certificates',
      Array.from({ length: 6000 }, () => makeCert(ca.id)) as unknown as Record<string, unknown>[],
    );
    await store.close();
    await withClient(url, async (c) => {
      await c.query('analyze');
      const { db, t } = asQueryDb(drizzle({ client: c }), pgSchema);
      const plan = explainOn(c);
      const fp = 'ab'.repeat(32);
      const exact = await plan(findByFingerprintQuery(db, t, fp));
      expect(exact).toMatch(/Index Scan using certificates_fingerprint16_idx on certificates/);
      expect(exact).not.toMatch(/Seq Scan/);
      // (the callers' shortest prefix is 8 hex, MIN_PREFIX: a 1-hex range is 1/16 of the rows, which a scan may read)
      for (const p of [
        fp.slice(0, 8),
        'f'.repeat(8),
        fp.slice(0, 10),
        fp.slice(0, 16),
        fp.slice(0, 17),
        fp,
        'f'.repeat(20),
      ]) {
        const byPrefix = await plan(findByFingerprintPrefixQuery(db, t, p, 11));
        expect(byPrefix, p).toMatch(/(Index|Bitmap Index) Scan using certificates_fingerprint16_idx/);
        expect(byPrefix, p).not.toMatch(/Seq Scan/);
      }
    });
  });

  // audit.namedActors (0049): each kind's names walked in code point order ("C") from the cursor, one probe of the
  // actor index per candidate until the page is full — never the log scanned, nor every matching name sorted
  it('plans audit.namedActors as a walk of the "C" name indexes (0049): no sort, no scan of the log', async () => {
    const url = await migratedDatabaseUrl();
    const store = await openStore({ url });
    const users = Array.from({ length: 3000 }, (_, i) => makeUser({ username: `user-${i}` }));
    const tokens = Array.from({ length: 3000 }, (_, i) => makeToken({ name: `token-${i % 1500}` }));
    await store.commit({ insertUsers: users, insertTokens: tokens });
    // one in three acted, 20,000 events
    const acted = [...users, ...tokens].filter((_, i) => i % 3 === 0);
    for (let i = 0; i < 20_000; i += 2000) {
      await store.commit({
        audit: Array.from({ length: 2000 }, (_, j) => makeEvent({ actor: acted[(i + j) % acted.length]!.id })),
      });
    }
    await store.close();
    await withClient(url, async (c) => {
      await c.query('analyze');
      const { db, t } = asQueryDb(drizzle({ client: c }), pgSchema);
      const plan = explainOn(c);
      const logProbed = (p: string, what: string) => {
        expect(p, what).toMatch(/Index Only Scan using audit_events_actor_seq_idx on audit_events/);
        expect(p, what).toMatch(/Index Cond: \(actor = (users|api_tokens)\.id\)/);
        expect(p, what).not.toMatch(/Seq Scan on audit_events|Hash/);
      };
      for (const kind of ['user', 'token'] as const) {
        const index = kind === 'user' ? 'users_username_c_idx on users' : 'api_tokens_name_c_idx on api_tokens';
        const after =
          kind === 'user' ? { name: 'user-15', kind: 0, id: users[15]!.id } : { name: 'token-7', kind: 1, id: 'tok_' };
        // most names match: the walk in order, stopped at the page's end (before 0049: a sort of every match)
        const many = kind === 'user' ? 'User-' : 'tok';
        for (const q of [{}, { q: many }, { after }, { q: many, after }]) {
          const p = await plan(namedActorsArmQuery(db, t, 'postgres', kind, q, 101));
          const what = `${kind} ${JSON.stringify(q)}\n${p}`;
          expect(p, what).toMatch(
            new RegExp(`^Limit .*\\n\\s+-> {2}Nested Loop Semi Join.*\\n\\s+-> {2}Index Scan using ${index}`),
          );
          expect(p, what).not.toMatch(/Sort|Seq Scan/);
          logProbed(p, what);
        }
        // few or none match (the planner may read the table and sort the few): still never the log
        for (const q of [{ q: 'é' }, { q: 'zz' }]) {
          const p = await plan(namedActorsArmQuery(db, t, 'postgres', kind, q, 101));
          logProbed(p, `${kind} ${JSON.stringify(q)}\n${p}`);
        }
      }
    });
  });

  it('plans the revocation-time sort (0044) as a backward walk of certificates_revoked_at_idx, no sort', async () => {
    const url = await migratedDatabaseUrl();
    const store = await openStore({ url });
    const cas = [makeCa(), makeCa()];
    await store.importRows('certificate_authorities', cas as unknown as Record<string, unknown>[]);
    // 5 % revoked (600 of 12,000), revoked over time
    const certs = cas.flatMap((ca) =>
      Array.from({ length: 6000 }, (_, i) =>
        makeCert(ca.id, {
          createdAt: T0 + i,
          ...(i % 20 === 5
            ? { status: 'revoked' as const, revokedAt: T0 + i * 1000, revocationReason: 'keyCompromise' as const }
            : {}),
        }),
      ),
    );
    await store.importRows('certificates', certs as unknown as Record<string, unknown>[]);
    await store.close();
    await withClient(url, async (c) => {
      await c.query('analyze');
      const { db, t } = asQueryDb(drizzle({ client: c }), pgSchema);
      const plan = (q: Parameters<typeof revokedOrderQuery>[3]) =>
        explainOn(c)(revokedOrderQuery(db, t, 'postgres', q, 101));
      const cursor = encodeCursor(T0 + 3_000_000, 'crt_x');
      for (const q of [{}, { cursor }, { status: 'revoked' as const, now: T0 }, { profile: 'tls-server', cursor }]) {
        const p = await plan(q);
        expect(p, JSON.stringify(q)).toMatch(/Index Scan Backward using certificates_revoked_at_idx on certificates/);
        expect(p, JSON.stringify(q)).not.toMatch(/Sort|Seq Scan/);
      }
    });
  });

  it("plans the expiry sort per status (0035) and a requester's inventory from their requests", async () => {
    const url = await migratedDatabaseUrl();
    const store = await openStore({ url });
    const cas = [makeCa(), makeCa(), makeCa()];
    await store.importRows('certificate_authorities', cas as unknown as Record<string, unknown>[]);
    // 5 % revoked, 5 % expired, end dates over 2 years; 1 in 50 from a request (50 requesters)
    const certs = cas.flatMap((ca) =>
      Array.from({ length: 2000 }, (_, i) => {
        const status = i % 20 === 5 ? 'revoked' : i % 20 === 6 ? 'expired' : 'active';
        return makeCert(ca.id, { status, notAfter: T0 + (i % 730) * 86_400_000, createdAt: T0 + i });
      }),
    );
    // (and 1 in 2 of one requester, usr_many: 3,000 certificates)
    const requests = certs.flatMap((c, i) =>
      i % 50 === 0 || i % 2 === 1
        ? [
            makeRequest(c.caId, {
              requester: i % 2 === 1 ? 'usr_many' : `usr_${i % 2500}`,
              status: 'issued',
              certificateId: c.id,
              certificateNotAfter: c.notAfter,
            }),
          ]
        : [],
    );
    for (const r of requests) certs.find((c) => c.id === r.certificateId)!.requestId = r.id;
    // and requests still pending (no certificate), 3,000 of 500 other requesters
    const pending = Array.from({ length: 3000 }, (_, i) => makeRequest(cas[0]!.id, { requester: `usr_p${i % 500}` }));
    await store.importRows('certificates', certs as unknown as Record<string, unknown>[]);
    await store.importRows('certificate_requests', [...requests, ...pending] as unknown as Record<string, unknown>[]);
    await store.close();
    await withClient(url, async (c) => {
      await c.query('analyze');
      const { db, t } = asQueryDb(drizzle({ client: c }), pgSchema);
      const plan = explainOn(c);
      const C = t.certificates;
      // the expiry sort without a filter: each status's range of (status, not_after, id) in order (0035), merged by
      // expiryMergedPage — never a scan and sort of every certificate (1,000,000 rows: 1.2–1.5 s a page)
      for (const direction of ['asc', 'desc'] as const) {
        for (const cursor of [undefined, afterKeyCursor(C.notAfter, C.id, encodeCursor(T0, 'crt_x'), direction)]) {
          for (const status of CERTIFICATE_STATUSES) {
            const p = await plan(expiryOrderQuery(db, t, and(eq(C.status, status), cursor), direction, 101));
            expect(p).toMatch(/^Limit .*\n\s+-> {2}Index Scan (Backward )?using certificates_status_not_after_idx/);
            expect(p).toMatch(cursor ? /Index Cond: .*ROW\(not_after, id\) [<>] ROW/ : /Index Cond: \(status = /);
            expect(p).not.toMatch(/Sort|Seq Scan/);
          }
        }
      }
      // the page merged in one statement (expiryMergedQuery: UNION ALL of the arms, each its status's range in order
      // and limited; one round trip, not three) — without a filter and with a CA's (a row test on each range's rows)
      for (const direction of ['asc', 'desc'] as const) {
        for (const filter of [undefined, caCondition(t, { caId: cas[1]!.id }), eq(C.profile, 'tls-server')]) {
          const q = expiryMergedQuery(
            db,
            t,
            expiryArms(t, 'postgres').map((arm) => and(arm.where, filter)),
            direction,
            101,
          );
          expect(q.toSQL().sql.match(/union all/g)).toHaveLength(2);
          const p = await plan(q);
          expect(p).toMatch(/^Limit .*\n\s+-> {2}(Merge Append|Sort|Append)/);
          expect(p.match(/Index Scan (Backward )?using certificates_status_not_after_idx/g)).toHaveLength(3);
          expect(p).not.toMatch(/Seq Scan|Bitmap/);
        }
      }
      // a requester's own inventory: the user's requests by requester, each one's certificate by primary key — not a
      // hash of the requests over a scan of every certificate
      const mine = await plan(
        db
          .select()
          .from(C)
          .where(requesterCondition(db, t, 'usr_0'))
          .orderBy(desc(C.createdAt), desc(C.id))
          .limit(101),
      );
      // (either index of a requester's requests: the issued ones' of 0038 is the smaller)
      expect(mine).toMatch(
        /(Index Scan using|Bitmap Index Scan on) certificate_requests_requester_(created|expiry)_idx/,
      );
      expect(mine).toMatch(/Index Scan using certificates_pkey on certificates/);
      expect(mine).not.toMatch(/Seq Scan|Hash/);
      // a requester's certificates by expiry (requesterExpiryQuery): their issued requests in
      // (requester, certificate_not_after, certificate_id) order (0038), each certificate by primary key, stopping at
      // the page — not all 3,000 read and sorted
      for (const direction of ['asc', 'desc'] as const) {
        // (no other filter: with a CA's, 6,000 rows here are read faster by a scan and sorted — at 1,000,000 the
        // planner walks the index: docs/benchmarks-record.md "Session 30: inventory")
        const p = await plan(requesterExpiryQuery(db, t, 'usr_many', undefined, { direction, n: 101 }));
        expect(p).toMatch(
          /^Limit .*\n\s+-> {2}Nested Loop .*\n\s+-> {2}Index (Only )?Scan (Backward )?using certificate_requests_requester_expiry_idx/,
        );
        expect(p).toMatch(/Index Scan using certificates_pkey on certificates/);
        expect(p).not.toMatch(/Sort|Seq Scan|Hash|Bitmap/);
        // a later page: a range of the same index after the cursor (the few rows left here may be sorted)
        const cursor = encodeCursor(T0 + 100 * 86_400_000, 'crt_x');
        const later = await plan(requesterExpiryQuery(db, t, 'usr_many', undefined, { direction, n: 101, cursor }));
        expect(later).toMatch(
          /certificate_requests_requester_expiry_idx.*\n\s+Index Cond: \(\(requester = 'usr_many'::text\) AND \(ROW\(certificate_not_after, certificate_id\) [<>] ROW/,
        );
        expect(later).not.toMatch(/Seq Scan/);
      }
      const requestIndexes = await c.query<{ indexdef: string }>(
        "select indexdef from pg_indexes where tablename = 'certificate_requests' order by indexname",
      );
      expect(
        requestIndexes.rows.map((r) => r.indexdef.replace(/ ON public\.certificate_requests USING btree/, '')),
      ).toEqual([
        'CREATE INDEX certificate_requests_created_idx (created_at, id)',
        'CREATE UNIQUE INDEX certificate_requests_pkey (id)',
        'CREATE INDEX certificate_requests_requester_created_idx (requester, created_at, id)',
        'CREATE INDEX certificate_requests_requester_expiry_idx (requester, certificate_not_after, certificate_id) ' +
          'WHERE (certificate_id IS NOT NULL)',
        'CREATE INDEX certificate_requests_status_created_idx (status, created_at, id)',
      ]);
      const def = await c.query<{ indexdef: string }>(
        "select indexdef from pg_indexes where indexname = 'certificates_status_not_after_idx'",
      );
      expect(def.rows.map((r) => r.indexdef)).toEqual([
        'CREATE INDEX certificates_status_not_after_idx ON public.certificates USING btree (status, not_after, id)',
      ]);
    });
  });

  it('backs up with pg_dump and fails clearly for an unwritable path', async () => {
    const store = await openStore({ url: await migratedDatabaseUrl() });
    const e = await store.backup('/nonexistent-dir/x.dump').catch((x: unknown) => x);
    expect((e as { code: string }).code).toBe('store.backup_failed');
    expect((e as Error).message).toMatch(/pg_dump/);
    await store.close();
  });

  describe('copyStore from SQLite to PostgreSQL', () => {
    it('copies every table preserving ids, audit seq and hashes, and verifies the target', async () => {
      const sqliteUrl = `sqlite:${join(dir, 'source.sqlite')}`;
      const from = await openStore({ url: sqliteUrl });
      const root = makeCa({ nameConstraints: { permittedDns: ['example.com'] } });
      const sub = makeCa({ parentId: root.id, createdAt: T0 + 1 });
      const user = makeUser({ disabled: true });
      const certs = Array.from({ length: 2300 }, (_, i) => makeCert(i % 2 ? root.id : sub.id, { createdAt: T0 + i }));
      await from.commit({
        insertCa: [root, sub],
        insertUsers: [user],
        insertCertificates: certs,
        insertRequests: [makeRequest(sub.id)],
        insertTokens: [
          {
            id: 'tok_1',
            name: 'ci',
            tokenHash: 'h',
            userId: user.id,
            role: 'operator',
            scopes: ['a'],
            resources: null,
            expiresAt: null,
            lastUsedAt: null,
            revokedAt: null,
            createdAt: T0,
          },
        ],
        insertSessions: [
          { id: 'ses_1', tokenHash: 's', userId: user.id, csrfToken: 'c', expiresAt: T0, createdAt: T0 },
        ],
        setSettings: { a: '1' },
        insertSpiffeCas: [
          {
            id: sub.id,
            trustDomain: 'example.org',
            role: 'services',
            status: 'active',
            rotatedAt: null,
            keepUntil: null,
            createdAt: T0,
          },
        ],
        insertSpiffeSvids: [
          {
            id: certs[0]!.id,
            caId: sub.id,
            spiffeId: 'spiffe://example.org/node/n1',
            serviceType: 'node',
            notAfter: certs[0]!.notAfter,
            supersededBy: null,
            supersededAt: null,
            createdAt: T0,
          },
        ],
        denySpiffeIds: [{ id: 'spiffe://example.org/node/n2', reason: 'gone', deniedBy: 'usr_x', deniedAt: T0 }],
        audit: Array.from({ length: 1500 }, () => makeEvent()),
      });
      await from.keyBlobs.put('key_1', 'blob');
      await from.commit({ bumpCrlNumber: root.id, audit: [makeEvent({ action: 'crl.generated' })] });

      const to = await openStore({ url: await migratedDatabaseUrl() });
      const result = await copyStore({ from, to });
      expect(result).toEqual({
        counts: {
          certificate_authorities: 2,
          users: 1,
          certificates: 2300,
          certificate_requests: 1,
          api_tokens: 1,
          sessions: 1,
          settings: 1,
          key_blobs: 1,
          certificate_keys: 0,
          spiffe_cas: 1,
          spiffe_svids: 1,
          spiffe_denied_ids: 1,
          audit_events: 1501,
          // the SSH, ACME, identity and notification tables are copied too (empty here; their suites cover their rows)
          ...Object.fromEntries(
            STORE_TABLES.filter((t) => /^(ssh|acme|notification)_|^user_identities$/.test(t)).map((t) => [t, 0]),
          ),
        },
        verified: true,
        problems: [],
      });
      expect(await to.audit.verify()).toEqual(await from.audit.verify());
      expect(await to.certificates.countsByCaAndProfile()).toEqual(await from.certificates.countsByCaAndProfile());
      expect(await to.certificates.countByStatus(root.id)).toEqual({ active: 1150, revoked: 0, expired: 0 });
      expect(await to.certificates.findById(certs[1234]!.id)).toEqual(certs[1234]);
      expect(await to.cas.findById(root.id)).toEqual(await from.cas.findById(root.id));
      expect(await to.users.findById(user.id)).toEqual(user);
      const next = await to.audit.append(makeEvent());
      expect(next.seq).toBe(1502);
      expect(await to.audit.verify()).toMatchObject({ ok: true, count: 1502 });

      // a second copy into the now non-empty target is refused
      const e = await copyStore({ from, to }).catch((x: unknown) => x);
      expect((e as { code: string }).code).toBe('store.target_not_empty');
      await from.close();
      await to.close();
    });

    it('reports a certificate whose stored fingerprint does not match its PEM', async () => {
      const from = await openStore({ url: `sqlite:${join(dir, 'bad-source.sqlite')}` });
      const ca = makeCa();
      const bad = makeCert(ca.id, { fingerprintSha256: 'ee'.repeat(32) });
      await from.commit({ insertCa: [ca], insertCertificates: [makeCert(ca.id), bad] });
      const to = await openStore({ url: await migratedDatabaseUrl() });
      const result = await copyStore({ from, to });
      expect(result.verified).toBe(false);
      expect(result.problems).toEqual([expect.stringContaining(`certificate ${bad.id}: fingerprint of its PEM is`)]);
      await from.close();
      await to.close();
    });
  });
});
