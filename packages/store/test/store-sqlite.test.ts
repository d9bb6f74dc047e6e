import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { and, count, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CERTIFICATE_STATUSES, migrateStore, openStore, parseStoreUrl } from '../src/index';
import { afterKeyCursor, encodeCursor } from '../src/pagination-cursor';
import * as sqliteSchema from '../src/sqlite-schema';
import {
  countByStatusQuery,
  countsByCaAndProfileQuery,
  DENSE_MATCHES,
  DENSE_WALK,
  denseWalkEdgeQuery,
  denseWalkQuery,
  expiringBeforeCondition,
  expiryArms,
  expiryOrderQuery,
  caCondition,
  requesterCondition,
  requesterExpiryQuery,
  revokedOrderQuery,
  statusCondition,
  findAllBySerialQuery,
  findByFingerprintPrefixQuery,
  findByFingerprintQuery,
  findCertificateHoldersQuery,
  findRenewalsQuery,
  namedActorsArmQuery,
  revokedExpiringQuery,
  firstNotAfterQuery,
  searchCondition,
  searchMatchesQuery,
} from '../src/repositories';
import { ocspLookupSql, ocspSubordinateCaSql } from '../src/ocsp-repository';
import { SUPERSEDE_SVID_SQL } from '../src/sqlite-commit';
import { moveActiveCondition } from '../src/unit-of-work';
import { defineStoreSuite, pagesDenseSearchBelowTheWalk } from './store-suite';
import { sqlitePathOf, sqliteTestEngine } from './sqlite-engine';
import { journalTags } from './migration-journals';
import { T0, makeCa, makeCert, makeEvent, makeToken, makeUser } from './store-fixtures';
import { SQLITE_WITHOUT_ROWID } from './sqlite-without-rowid';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const engine = sqliteTestEngine();
const pathOf = sqlitePathOf;

/** SQLite's plan of a Drizzle query on connection `raw` (EXPLAIN QUERY PLAN's details joined): what plan tests match */
const explainOn =
  (raw: Database.Database) =>
  (q: { toSQL(): { sql: string; params: unknown[] } }): string => {
    const { sql, params } = q.toSQL();
    return (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
      .map((r) => r.detail)
      .join('\n');
  };

describe('SQLite store', () => {
  defineStoreSuite(() => engine);

  it('pages a dense search below the default walk, DENSE_WALK (the suite pages it below a shorter one)', async () => {
    const store = await openStore({ url: await engine.newMigratedDatabaseUrl() });
    try {
      await pagesDenseSearchBelowTheWalk(store, DENSE_WALK);
    } finally {
      await store.close();
    }
    await expect(openStore({ url: ':memory:', denseWalk: 0 })).rejects.toMatchObject({ code: 'input.invalid' });
  });

  it('opens with WAL, busy_timeout 5000, synchronous NORMAL and foreign keys on', async () => {
    const url = await engine.newDatabaseUrl();
    const store = await openStore({ url });
    await store.close();
    // journal_mode is persistent; the others are per connection, so check them through a store connection
    const raw = new Database(pathOf(url));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const s2 = await openStore({ url });
    const e = await s2.commit({ insertCertificates: [makeCert('ca_missing')] }).catch((x: unknown) => x);
    expect((e as { code: string }).code).toBe('store.write_failed'); // the foreign key is enforced
    await s2.close();
  });

  it('accepts a plain path, sqlite: URLs and :memory:', async () => {
    expect(parseStoreUrl('/var/lib/pkim/pkim.db')).toEqual({ dialect: 'sqlite', path: '/var/lib/pkim/pkim.db' });
    expect(parseStoreUrl('sqlite:/var/lib/pkim/pkim.db')).toEqual({ dialect: 'sqlite', path: '/var/lib/pkim/pkim.db' });
    expect(parseStoreUrl('sqlite:///var/lib/pkim/pkim.db')).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/pkim/pkim.db',
    });
    expect(parseStoreUrl('postgresql://u@h/db')).toEqual({
      dialect: 'postgres',
      connectionString: 'postgresql://u@h/db',
    });
    expect(() => parseStoreUrl('mysql://u@h/db')).toThrow(/Unsupported database URL scheme/);
    const mem = await openStore({ url: ':memory:' });
    expect(mem.dialect).toBe('sqlite');
    expect(await mem.withLeaderLock('crl', async () => 'ran')).toBe('ran');
    await mem.close();
  });

  it('reports the migrations it applied, then nothing on a migrated database', async () => {
    const url = await engine.newDatabaseUrl();
    expect(await migrateStore(url)).toEqual({
      dialect: 'sqlite',
      applied: journalTags('sqlite'),
    });
    expect(await migrateStore(url)).toEqual({ dialect: 'sqlite', applied: [] });
    const [a, b] = await Promise.all([openStore({ url }), openStore({ url })]);
    await a.close();
    await b.close();
  });

  it('serialises commits from two processes on the same file (CLI and server) into one chain', async () => {
    const url = await engine.newMigratedDatabaseUrl();
    const store = await openStore({ url });
    const ca = makeCa();
    await store.commit({ insertCa: [ca] });
    const worker = fileURLToPath(new URL('./fixtures/commit-worker.ts', import.meta.url));
    const child = execFileAsync(process.execPath, ['--import', 'tsx', worker, url, ca.id, '150', 'cli'], {
      cwd: repoRoot,
    });
    // start writing once the other process is writing too
    for (let waited = 0; (await store.audit.count()) === 0; waited += 20) {
      if (waited > 30_000) throw new Error('the worker process did not start committing');
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 150; i++) {
      await store.commit({
        insertCertificates: [makeCert(ca.id)],
        audit: [makeEvent({ actor: 'server', details: { i } })],
      });
      // a real pause (not just a turn of the loop) so a slow, loaded worker still gets between our commits
      await new Promise((r) => setTimeout(r, 2));
    }
    await child;
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 300 });
    const actors = (await store.audit.list({ limit: 1000 })).map((e) => e.actor);
    expect(actors.filter((a) => a === 'cli')).toHaveLength(150);
    const switches = actors.filter((a, i) => i > 0 && a !== actors[i - 1]).length;
    expect(switches, 'the two processes interleaved their commits').toBeGreaterThan(2);
    expect((await store.certificates.countByStatus(ca.id)).active).toBe(300);
    await store.close();
  });

  it("plans a presented certificate's CA holders (0050) on the CA table's indexes: no scan", async () => {
    const url = await engine.newMigratedDatabaseUrl();
    const store = await openStore({ url });
    const cas = Array.from({ length: 3000 }, (_, i) =>
      makeCa({ fingerprintSha256: i.toString(16).padStart(64, '0'), parentId: i > 0 ? `ca_p${i % 500}` : null }),
    );
    await store.importRows('certificate_authorities', cas as unknown as Record<string, unknown>[]);
    await store.close();
    const raw = new Database(pathOf(url));
    try {
      const db = drizzle({ client: raw });
      for (const analyzed of [false, true]) {
        if (analyzed) raw.exec('analyze');
        const plan = explainOn(raw)(findCertificateHoldersQuery(db, sqliteSchema, 'ab'.repeat(32), cas[7]!.id));
        expect(plan).toMatch(/MULTI-INDEX OR/);
        for (const index of [
          'certificate_authorities_fingerprint_idx \\(fingerprint_sha256=\\?\\)',
          'sqlite_autoindex_certificate_authorities_1 \\(id=\\?\\)',
          'certificate_authorities_parent_idx \\(parent_id=\\?\\)',
          'certificate_authorities_predecessor_idx \\(predecessor_id=\\?\\)',
        ])
          expect(plan).toMatch(new RegExp(`SEARCH certificate_authorities USING INDEX ${index}`));
        expect(plan).not.toMatch(/SCAN/);
      }
    } finally {
      raw.close();
    }
  });

  it('plans fingerprint lookups, whole and by prefix, on certificates_fingerprint16_idx (0047): no scan', async () => {
    const url = await engine.newMigratedDatabaseUrl();
    const store = await openStore({ url });
    const ca = makeCa();
    await store.commit({ insertCa: [ca], insertCertificates: Array.from({ length: 200 }, () => makeCert(ca.id)) });
    await store.close();
    const raw = new Database(pathOf(url));
    try {
      const db = drizzle({ client: raw });
      const plan = explainOn(raw);
      const fp = 'ab'.repeat(32);
      for (const analyzed of [false, true]) {
        if (analyzed) raw.exec('analyze');
        const exact = plan(findByFingerprintQuery(db, sqliteSchema, fp));
        expect(exact).toMatch(/SEARCH certificates USING INDEX certificates_fingerprint16_idx \(<expr>=\?\)/);
        expect(exact).not.toMatch(/SCAN/);
        for (const p of ['a', 'ab', 'fff', fp.slice(0, 10), fp.slice(0, 16), fp.slice(0, 17), fp, 'f'.repeat(20)]) {
          const byPrefix = plan(findByFingerprintPrefixQuery(db, sqliteSchema, p, 11));
          expect(byPrefix, p).toMatch(/SEARCH certificates USING INDEX certificates_fingerprint16_idx \(<expr>[=>]/);
          expect(byPrefix, p).not.toMatch(/SCAN/);
        }
      }
    } finally {
      raw.close();
    }
  });

  it('plans serial lookups on the unique (ca_id, serial_hex) index; counts without reading certificates', async () => {
    const url = await engine.newMigratedDatabaseUrl();
    const store = await openStore({ url });
    const cas = [makeCa(), makeCa(), makeCa()];
    await store.commit({
      insertCa: cas,
      insertCertificates: cas.flatMap((ca) => Array.from({ length: 50 }, () => makeCert(ca.id))),
    });
    await store.close();
    const raw = new Database(pathOf(url));
    try {
      const db = drizzle({ client: raw });
      const plan = explainOn(raw);
      for (const analyzed of [false, true]) {
        if (analyzed) raw.exec('analyze');
        const bySerial = plan(
          findAllBySerialQuery(
            db,
            sqliteSchema,
            cas.map((c) => c.id),
            'ab'.repeat(20),
          ),
        );
        expect(bySerial).toMatch(
          /SEARCH certificates USING INDEX certificates_ca_serial_uq \(ca_id=\? AND serial_hex=\?\)/,
        );
        expect(bySerial).not.toMatch(/SCAN certificates/);
        // the OCSP responder's status lookup: the unique index, then the stored response by its primary key —
        // O(1) whatever the number of revoked certificates (issue #12 item 5)
        const rawPlan = (
          raw.prepare(`EXPLAIN QUERY PLAN ${ocspLookupSql('?', '?', '?')}`).all('sha1', 'x', 'y') as {
            detail: string;
          }[]
        )
          .map((r) => r.detail)
          .join('\n');
        expect(rawPlan).toMatch(/SEARCH c USING INDEX certificates_ca_serial_uq \(ca_id=\? AND serial_hex=\?\)/);
        expect(rawPlan).toMatch(
          /SEARCH o USING INDEX sqlite_autoindex_ocsp_responses_1 \(certificate_id=\? AND hash_alg=\?\)/,
        );
        expect(rawPlan).not.toMatch(/SCAN/);
        // a subordinate CA's certificate: the parent index, then the stored response by primary key
        const subPlan = (
          raw.prepare(`EXPLAIN QUERY PLAN ${ocspSubordinateCaSql('?', '?', '?')}`).all('sha1', 'x', 'y') as {
            detail: string;
          }[]
        )
          .map((r) => r.detail)
          .join('\n');
        expect(subPlan).toMatch(/SEARCH a USING INDEX certificate_authorities_parent_idx \(parent_id=\?\)/);
        expect(subPlan).toMatch(
          /SEARCH o USING INDEX sqlite_autoindex_ocsp_responses_1 \(certificate_id=\? AND hash_alg=\?\)/,
        );
        expect(subPlan).not.toMatch(/SCAN/);
        // a CRL partition (docs/crl.md): the index range of its notAfter window, not the CA's whole index
        const window = { from: T0, to: T0 + 7 * 86_400_000 };
        for (const after of [null, { notAfter: T0 + 1000, serialHex: 'ab'.repeat(16) }]) {
          const part = plan(revokedExpiringQuery(db, sqliteSchema, cas[0]!.id, window, { after, limit: 10_000 }));
          expect(part).toMatch(
            /SEARCH certificates USING INDEX certificates_status_not_after_idx \(status=\? AND not_after>\? AND not_after<\?\)/,
          );
          // (a sort only among rows of one notAfter — "LAST TERM OF ORDER BY" — is fine; never a sort of the window)
          expect(part).not.toMatch(/SCAN|TEMP B-TREE FOR ORDER BY/);
        }
        // the refresh job's step to the next partition window: the same index from `from`, in order (no sort)
        const next = plan(firstNotAfterQuery(db, sqliteSchema, cas[0]!.id, 'revoked', T0));
        expect(next).toMatch(
          /SEARCH certificates USING INDEX certificates_status_not_after_idx \(status=\? AND not_after>\?\)/,
        );
        expect(next).not.toMatch(/SCAN|TEMP B-TREE/);
        // a search is an index range over the search terms, not a scan of certificates or their SAN JSON
        const search = plan(
          db
            .select({ id: sqliteSchema.certificates.id })
            .from(sqliteSchema.certificates)
            .where(searchCondition(db, sqliteSchema, 'sqlite', 'crt_zz.example.com')),
        );
        // (certificate_names is WITHOUT ROWID: its primary key (name, created_at, certificate_id) is the name index)
        expect(search).toMatch(/SEARCH certificate_names USING PRIMARY KEY \(name>\? AND name<\?\)/);
        expect(search).not.toMatch(/SCAN/);
        // renewals of a certificate: the partial index (renewed_from = ? implies its `renewed_from is not null`)
        const renewals = plan(findRenewalsQuery(db, sqliteSchema, 'crt_x'));
        expect(renewals).toMatch(/SEARCH certificates USING INDEX certificates_renewed_from_idx \(renewed_from=\?\)/);
        expect(renewals).not.toMatch(/SCAN/);
        // a CA's revocation (revokeAllIssuedBy): that CA's rows by a CA index, each tested for active — not every
        // active row of every CA by (status, not_after); (ca_id, status) is gone since 0034
        const C = sqliteSchema.certificates;
        const revokeAll = moveActiveCondition(sqliteSchema, 'sqlite', inArray(C.caId, [cas[0]!.id]), true);
        for (const q of [
          db.select({ id: C.id }).from(C).where(revokeAll),
          db.update(C).set({ status: 'revoked' }).where(revokeAll),
        ])
          expect(plan(q)).toMatch(
            /^SEARCH certificates USING (COVERING )?INDEX certificates_ca_(serial_uq|created_idx) \(ca_id=\?\)$/,
          );
        // the expiry sort without a filter (expiryMergedPage): each status's range of (status, not_after, id) in the
        // page's order (0035) — no sort of a not_after's ties, the cursor a range of the index — instead of a scan and
        // sort of every certificate
        for (const direction of ['asc', 'desc'] as const) {
          const after = afterKeyCursor(C.notAfter, C.id, encodeCursor(T0, 'crt_x'), direction);
          for (const status of CERTIFICATE_STATUSES) {
            expect(plan(expiryOrderQuery(db, sqliteSchema, eq(C.status, status), direction, 101))).toBe(
              'SEARCH certificates USING INDEX certificates_status_not_after_idx (status=?)',
            );
            expect(plan(expiryOrderQuery(db, sqliteSchema, and(eq(C.status, status), after), direction, 101))).toBe(
              `SEARCH certificates USING INDEX certificates_status_not_after_idx (status=? AND (not_after,id)${
                direction === 'asc' ? '>' : '<'
              }(?,?))`,
            );
          }
        }
        // the expiry sort with other filters (expiryArms): each arm walks its status's range in the page's order, the
        // CA and profile tested on its rows — not the CA's index and a sort of every one of its certificates
        const now = T0 + 86_400_000;
        for (const direction of ['asc', 'desc'] as const) {
          for (const arm of [
            ...expiryArms(sqliteSchema, 'sqlite'),
            ...expiryArms(sqliteSchema, 'sqlite', 'expired', now),
          ])
            expect(
              plan(
                expiryOrderQuery(
                  db,
                  sqliteSchema,
                  and(arm.where, caCondition(sqliteSchema, { caId: cas[1]!.id }), eq(C.profile, 'tls-server')),
                  direction,
                  101,
                ),
              ),
            ).toMatch(
              /^SEARCH certificates USING INDEX certificates_status_not_after_idx \(status=\?( AND not_after<\?)?\)$/,
            );
        }
        // a CA (or a user's CAs) with a requester's few certificates, newest first or by expiry: the requests drive the
        // page, the CA and status are row tests (rowTests) — not a walk of the CA's index testing every row of the CA
        for (const order of [[desc(C.createdAt), desc(C.id)]])
          for (const ca of [{ caId: cas[1]!.id }, { caIds: [cas[0]!.id, cas[1]!.id] }]) {
            const driven = plan(
              db
                .select({ id: C.id })
                .from(C)
                .where(
                  and(
                    caCondition(sqliteSchema, ca, true),
                    statusCondition(sqliteSchema, 'sqlite', 'active', T0, true),
                    requesterCondition(db, sqliteSchema, 'usr_x'),
                  ),
                )
                .orderBy(...order)
                .limit(101),
            );
            expect(driven).toMatch(
              /^SEARCH certificates USING INDEX (sqlite_autoindex_certificates_1 \(|certificates_created_idx \(ANY\(created_at\) AND )id=\?\)\n/,
            );
            expect(driven).toMatch(
              /SEARCH certificate_requests USING INDEX certificate_requests_requester_created_idx/,
            );
          }
        // a requester's certificates by expiry (requesterExpiryQuery): their issued requests in
        // (requester, certificate_not_after, certificate_id) order (0038), each certificate by id, the other filters
        // row tests — the page's order from the index, no sort of every certificate of the requester
        for (const direction of ['asc', 'desc'] as const)
          for (const cursor of [undefined, encodeCursor(T0, 'crt_x')])
            for (const where of [
              undefined,
              and(
                caCondition(sqliteSchema, { caId: cas[1]!.id }, true),
                statusCondition(sqliteSchema, 'sqlite', 'active', T0, true),
              ),
            ]) {
              const byExpiry = plan(
                requesterExpiryQuery(db, sqliteSchema, 'usr_x', where, { direction, n: 101, cursor }),
              );
              expect(byExpiry).toBe(
                'SEARCH certificate_requests USING COVERING INDEX ' +
                  'certificate_requests_requester_expiry_idx (requester=?' +
                  (cursor
                    ? ` AND (certificate_not_after,certificate_id)${direction === 'asc' ? '>' : '<'}(?,?))`
                    : ')') +
                  '\nSEARCH certificates USING INDEX sqlite_autoindex_certificates_1 (id=?)',
              );
            }
        // a requester's own inventory: their requests by requester, each one's certificate by id, then the page's sort
        // — not every certificate newest first, each tested against the requests
        const mine = plan(
          db
            .select({ id: C.id })
            .from(C)
            .where(requesterCondition(db, sqliteSchema, 'usr_x'))
            .orderBy(desc(C.createdAt), desc(C.id))
            .limit(101),
        );
        // (analyzed, with every test row created at T0: a skip-scan of (created_at, id) — a probe by id all the same)
        expect(mine).toMatch(
          /^SEARCH certificates USING INDEX (sqlite_autoindex_certificates_1 \(|certificates_created_idx \(ANY\(created_at\) AND )id=\?\)\n/,
        );
        expect(mine).toMatch(
          /SEARCH certificate_requests USING INDEX certificate_requests_requester_created_idx \(requester=\?\)/,
        );
        expect(mine).not.toMatch(/SCAN certificates/);
        // (a requester with DENSE_MATCHES requests or more: the newest-first walk, each row tested — no sort)
        expect(
          plan(
            db
              .select({ id: C.id })
              .from(C)
              .where(requesterCondition(db, sqliteSchema, 'usr_x', true))
              .orderBy(desc(C.createdAt), desc(C.id))
              .limit(101),
          ),
        ).toMatch(/^SCAN certificates USING INDEX certificates_created_idx\n(?![^]*TEMP B-TREE)/);
        // the expiry job keeps its index range: (status, not_after)
        expect(
          plan(
            db
              .select({ id: C.id })
              .from(C)
              .where(moveActiveCondition(sqliteSchema, 'sqlite', sql`${C.notAfter} <= ${T0}`, false)),
          ),
        ).toMatch(
          /^SEARCH certificates USING (COVERING )?INDEX certificates_status_not_after_idx \(status=\? AND not_after<\?\)$/,
        );
      }
      // dense filters (a common search term, "expiring within 30 days" over many rows) walk the newest-first index
      // and test each row — never collect and sort every match
      const C = sqliteSchema.certificates;
      const newestFirst = (where: ReturnType<typeof expiringBeforeCondition>) =>
        plan(db.select({ id: C.id }).from(C).where(where).orderBy(desc(C.createdAt), desc(C.id)).limit(101));
      for (const dense of [
        newestFirst(searchCondition(db, sqliteSchema, 'sqlite', 'example.com', true)),
        newestFirst(expiringBeforeCondition(sqliteSchema, T0, undefined, true)),
        newestFirst(expiringBeforeCondition(sqliteSchema, T0, T0 - 86_400_000, true)),
      ]) {
        expect(dense).toMatch(/SCAN certificates USING (COVERING )?INDEX certificates_created_idx/);
        expect(dense).not.toMatch(/TEMP B-TREE/);
      }
      expect(newestFirst(searchCondition(db, sqliteSchema, 'sqlite', 'example.com', true))).toMatch(
        // (its entries end with the primary key: certificate_id then name, so the name range is in the index too)
        /SEARCH \w+ (EXISTS )?USING COVERING INDEX certificate_names_certificate_idx \(certificate_id=\? AND name>\? AND name<\?\)/,
      );
      // a dense search walks at most DENSE_WALK rows (down to the edge row, found on the order index alone), then
      // reads the older matches in order from the search terms — no walk of every newer row
      expect(plan(denseWalkEdgeQuery(db, sqliteSchema, undefined))).toBe(
        'SCAN certificates USING COVERING INDEX certificates_created_idx',
      );
      const edge = { createdAt: T0, id: 'crt_x' };
      const dense = { db, t: sqliteSchema, dialect: 'sqlite' as const, search: '019a3f2c', where: undefined, n: 101 };
      expect(plan(denseWalkQuery(dense, edge))).toMatch(
        /^SEARCH certificates USING INDEX certificates_created_idx \(\(created_at,id\)>\(\?,\?\)\)\n/,
      );
      // a search's page from its terms (searchMatchesQuery: a sparse search, a dense one's older matches): the name
      // range, each match's time and id from the primary key alone, sorted (one B-tree: distinct and in order), then
      // the page's certificates by id in that order — with other filters too (they must not drive the join and
      // leave a sort of every match's row behind it)
      const N = sqliteSchema.certificateNames;
      const bound = sql`(${N.createdAt}, ${N.certificateId}) < (${edge.createdAt}, ${edge.id})`;
      for (const [where, filtered, analyzed] of [false, true].flatMap((analyzed) =>
        [
          [undefined, false],
          [eq(C.status, 'revoked'), true],
          [and(eq(C.caId, cas[0]!.id), statusCondition(sqliteSchema, 'sqlite', 'active', T0)), true],
        ].map(([w, f]) => [w as SQL | undefined, f as boolean, analyzed] as const),
      )) {
        // without statistics (as pkim runs: it never analyzes) and with them
        raw.exec(analyzed ? 'analyze' : 'delete from sqlite_stat1; analyze sqlite_schema');
        const matches = plan(searchMatchesQuery({ ...dense, where }, bound, filtered));
        // (the certificate of each match by id, or — analyzed, a status no row has — by that status's index)
        expect(matches).toMatch(
          /^CO-ROUTINE m\nSEARCH certificate_names USING PRIMARY KEY \(name>\? AND name<\?\)\nUSE TEMP B-TREE FOR DISTINCT\nSCAN m\nSEARCH certificates USING INDEX \w+ \((id|status)=\?\)$/,
        );
      }
      // what 0025/0027 made of the schema: the search terms WITHOUT ROWID, the renewed_from index partial — an
      // issuance writes 2 B-tree entries per search term and none for renewed_from when it renews nothing
      for (const table of Object.keys(SQLITE_WITHOUT_ROWID)) {
        const { sql } = raw.prepare("select sql from sqlite_master where type = 'table' and name = ?").get(table) as {
          sql: string;
        };
        expect(sql).toMatch(/\) WITHOUT ROWID$/);
      }
      const names = raw.prepare(
        "select name from sqlite_master where type = 'index' and tbl_name = 'certificate_names'",
      );
      // (the primary key is the table itself: no separate index for it)
      expect((names.all() as { name: string }[]).map((r) => r.name)).toEqual(['certificate_names_certificate_idx']);
      const renewedFrom = raw
        .prepare("select sql from sqlite_master where type = 'index' and name = 'certificates_renewed_from_idx'")
        .get() as { sql: string };
      expect(renewedFrom.sql).toMatch(/WHERE "certificates"\."renewed_from" is not null$/);
      // the supersede of every new SVID reads the ID's current SVID by the partial index of 0028, not every
      // earlier SVID of the ID by spiffe_svids_spiffe_id_idx
      const supersede = raw.prepare(`EXPLAIN QUERY PLAN ${SUPERSEDE_SVID_SQL}`).all('b', 1, 'spiffe://x/y', 'b') as {
        detail: string;
      }[];
      expect(supersede.map((r) => r.detail)).toEqual([
        'SEARCH spiffe_svids USING INDEX spiffe_svids_current_idx (spiffe_id=?)',
      ]);
      // sparse: the index range of the filter itself
      expect(newestFirst(expiringBeforeCondition(sqliteSchema, T0))).toMatch(
        /SEARCH certificates USING (COVERING )?INDEX certificates_status_not_after_idx \(status=\? AND not_after<\?\)/,
      );
      // read at `now` (past its end is expired, not expiring): the same index, a range closed on both sides — for a
      // page and for the dashboard's counts (countExpiringBefore with `after`), which read the index alone
      const withNow = expiringBeforeCondition(sqliteSchema, T0, T0 - 7 * 86_400_000);
      const window =
        /SEARCH certificates USING (COVERING )?INDEX certificates_status_not_after_idx \(status=\? AND not_after>\? AND not_after<\?\)/;
      expect(newestFirst(withNow)).toMatch(window);
      const counted = plan(db.select({ n: count() }).from(C).where(withNow));
      expect(counted).toMatch(window);
      expect(counted).toMatch(/COVERING INDEX/);
      for (const q of [
        countByStatusQuery(db, sqliteSchema),
        countByStatusQuery(db, sqliteSchema, cas[0]!.id),
        countsByCaAndProfileQuery(db, sqliteSchema),
      ]) {
        const p = plan(q);
        expect(p).toMatch(/certificate_counts/);
        expect(p).not.toMatch(/\bcertificates\b/);
      }
      // the counters upsert and the hot inserts never need the dropped indexes
      const indexes = (
        raw.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'certificates'").all() as {
          name: string;
        }[]
      ).map((r) => r.name);
      expect(indexes).not.toContain('certificates_serial_idx');
      expect(indexes).not.toContain('certificates_ca_profile_status_idx');
      // what an issuance writes (docs/benchmarks-record.md "Session 27: store indexes"): every index below is read by
      // some query; 0034 dropped (ca_id, status) and the audit events' id index, which none read
      expect(indexes.sort()).toEqual([
        'certificates_ca_created_idx',
        'certificates_ca_serial_uq',
        'certificates_created_idx',
        'certificates_fingerprint16_idx',
        'certificates_provisioner_created_idx',
        'certificates_renewed_from_idx',
        // (0044) partial: only revoked rows, none written by an issuance
        'certificates_revoked_at_idx',
        'certificates_status_created_idx',
        'certificates_status_not_after_idx',
        'sqlite_autoindex_certificates_1',
      ]);
      // (0035) the expiry order's tie-break in the index
      const columns = raw.prepare("select name from pragma_index_info('certificates_status_not_after_idx')").all() as {
        name: string;
      }[];
      expect(columns.map((r) => r.name)).toEqual(['status', 'not_after', 'id']);
      const auditIndexes = raw
        .prepare("select name from sqlite_master where type = 'index' and tbl_name = 'audit_events' order by name")
        .all() as { name: string }[];
      expect(auditIndexes.map((r) => r.name)).toEqual([
        'audit_events_action_seq_idx',
        'audit_events_actor_seq_idx',
        'audit_events_target_seq_idx',
      ]);
    } finally {
      raw.close();
    }
  });

  // audit.namedActors: each kind's names walked in code point order (BINARY: users_username_uq, api_tokens_name_idx
  // of 0049) from the cursor, one probe of the actor index per candidate until the page is full — never a scan of
  // the log, nor every matching name sorted
  it('plans audit.namedActors as a walk of the name indexes (0049): no sort, no scan of the log', async () => {
    const url = await engine.newMigratedDatabaseUrl();
    const store = await openStore({ url });
    const users = Array.from({ length: 300 }, (_, i) => makeUser({ username: `user-${i}` }));
    const tokens = Array.from({ length: 300 }, (_, i) => makeToken({ name: `token-${i % 150}` }));
    await store.commit({ insertUsers: users, insertTokens: tokens });
    const acted = [...users, ...tokens].filter((_, i) => i % 3 === 0);
    await store.commit({
      audit: Array.from({ length: 2000 }, (_, j) => makeEvent({ actor: acted[j % acted.length]!.id })),
    });
    await store.close();
    const raw = new Database(pathOf(url));
    try {
      const db = drizzle({ client: raw });
      for (const analyzed of [false, true]) {
        if (analyzed) raw.exec('analyze');
        for (const kind of ['user', 'token'] as const) {
          const index =
            kind === 'user' ? 'users USING INDEX users_username_uq' : 'api_tokens USING INDEX api_tokens_name_idx';
          const after =
            kind === 'user'
              ? { name: 'user-15', kind: 0, id: users[15]!.id }
              : { name: 'token-7', kind: 1, id: 'tok_' };
          for (const q of [{}, { q: 'User-' }, { q: 'é' }, { after }, { q: 'tok', after }]) {
            const p = explainOn(raw)(namedActorsArmQuery(db, sqliteSchema, 'sqlite', kind, q, 101));
            const what = `${kind} ${JSON.stringify(q)}, analyzed: ${analyzed}\n${p}`;
            expect(p, what).toMatch(new RegExp(`^(SCAN|SEARCH) ${index}\\b`));
            expect(p, what).toMatch(
              /SEARCH audit_events (EXISTS )?USING COVERING INDEX audit_events_actor_seq_idx \(actor=\?\)/,
            );
            expect(p, what).not.toMatch(/TEMP B-TREE|SCAN audit_events/);
          }
        }
      }
    } finally {
      raw.close();
    }
  });

  // the listing by revocation time (migration 0044): the partial index of the revoked rows walked backwards, the
  // other filters row tests on them — no filter's own index with a sort of every match, no sort at all
  it('plans the revocation-time sort on certificates_revoked_at_idx, the filters tested on its rows', async () => {
    const url = await engine.newMigratedDatabaseUrl();
    const store = await openStore({ url });
    const ca = makeCa();
    await store.commit({
      insertCa: [ca],
      insertCertificates: Array.from({ length: 200 }, (_, i) =>
        makeCert(ca.id, {
          createdAt: T0 + i,
          ...(i % 10 === 0
            ? { status: 'revoked' as const, revokedAt: T0 + i, revocationReason: 'superseded' as const }
            : {}),
        }),
      ),
    });
    await store.close();
    const raw = new Database(pathOf(url));
    try {
      const db = drizzle({ client: raw });
      const plan = (q: Parameters<typeof revokedOrderQuery>[3]) =>
        explainOn(raw)(revokedOrderQuery(db, sqliteSchema, 'sqlite', q, 101));
      const cursor = encodeCursor(T0 + 100, 'crt_x');
      for (const analyzed of [false, true]) {
        if (analyzed) raw.exec('analyze');
        for (const q of [
          {},
          { cursor },
          { caId: ca.id },
          { caIds: [ca.id, 'ca_other'], status: 'revoked' as const, now: T0 },
          { profile: 'tls-server', provisioner: 'token:x', cursor },
          { search: 'crt_', caId: ca.id },
        ]) {
          const p = plan(q);
          expect(p, `${JSON.stringify(q)}, analyzed: ${analyzed}`).toMatch(
            /^(SCAN|SEARCH) certificates USING INDEX certificates_revoked_at_idx\b/,
          );
          expect(p, JSON.stringify(q)).not.toMatch(/TEMP B-TREE/);
        }
      }
    } finally {
      raw.close();
    }
  });

  // status = active read at `now` (b2b0df0) on a database as pkim leaves it (no ANALYZE): the end-date test is a row
  // test and the page comes from the status's own order index — never every active row through (status, not_after),
  // sorted (1,000,000 rows, bench:inventory "CA + status = active": 1.0–1.3 s instead of ≈ 1 ms)
  it('plans status filters at now on an order index, not the end-date range', async () => {
    const url = await engine.newMigratedDatabaseUrl();
    await (await openStore({ url })).close();
    const raw = new Database(pathOf(url));
    try {
      const db = drizzle({ client: raw });
      const C = sqliteSchema.certificates;
      const newestFirst = (where: SQL | undefined) => {
        const q = db.select({ id: C.id }).from(C).where(where).orderBy(desc(C.createdAt), desc(C.id)).limit(101);
        const { sql, params } = q.toSQL();
        return (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
          .map((r) => r.detail)
          .join('\n');
      };
      for (const caId of [undefined, 'ca_x']) {
        for (const status of ['active', 'revoked'] as const) {
          const plan = newestFirst(
            and(caId ? eq(C.caId, caId) : undefined, statusCondition(sqliteSchema, 'sqlite', status, T0)),
          );
          expect(plan).toMatch(/USING (COVERING )?INDEX certificates_status_created_idx \(status=\?\)/);
          expect(plan).not.toMatch(/TEMP B-TREE|status_not_after/);
        }
      }
      // a dense `expired` (stored, or active past its end) walks the newest-first index and tests each row
      expect(newestFirst(statusCondition(sqliteSchema, 'sqlite', 'expired', T0, true))).toBe(
        'SCAN certificates USING INDEX certificates_created_idx',
      );
    } finally {
      raw.close();
    }
  });

  it('lists the same pages whether a filter is dense (walk the index order) or sparse (sort matches)', async () => {
    const store = await openStore({ url: await engine.newMigratedDatabaseUrl() });
    const ca = makeCa();
    await store.commit({ insertCa: [ca] });
    const n = DENSE_MATCHES * 2; // example.com: 6 in 7 (dense), other.org: 1 in 7 (sparse)
    const certs = Array.from({ length: n }, (_, i) =>
      makeCert(ca.id, {
        createdAt: T0 + i,
        commonName: i % 7 === 0 ? `rare${i}.other.org` : `host${i}.example.com`,
        sans: { dns: [i % 7 === 0 ? `rare${i}.other.org` : `host${i}.example.com`] },
        notAfter: T0 + (i % 50) * 86_400_000,
      }),
    );
    await store.commit({ insertCertificates: certs });
    const all = async (q: Parameters<typeof store.certificates.list>[0]) => {
      const ids: string[] = [];
      let cursor: string | null | undefined;
      do {
        const page = await store.certificates.list({ ...q, limit: 700, cursor });
        ids.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      return ids;
    };
    const newestFirst = (keep: (c: (typeof certs)[number]) => boolean) =>
      certs
        .filter(keep)
        .sort((a, b) => b.createdAt - a.createdAt)
        .map((c) => c.id);
    // dense: more than DENSE_MATCHES matches; sparse: fewer
    expect(await all({ search: 'example.com' })).toEqual(newestFirst((c) => c.commonName!.endsWith('example.com')));
    expect(await all({ search: 'other.org' })).toEqual(newestFirst((c) => c.commonName!.endsWith('other.org')));
    const soon = T0 + 45 * 86_400_000;
    expect(await all({ expiringBefore: soon })).toEqual(newestFirst((c) => c.notAfter < soon));
    const sparse = T0 + 86_400_000;
    expect(await all({ expiringBefore: sparse })).toEqual(newestFirst((c) => c.notAfter < sparse));
    // read at `now`, expiring leaves out what is past its end (expired): dense and sparse alike
    const now = T0 + 10 * 86_400_000;
    expect(await all({ expiringBefore: soon, now })).toEqual(newestFirst((c) => c.notAfter < soon && c.notAfter > now));
    const nearNow = now + 86_400_000;
    expect(await all({ expiringBefore: nearNow, now })).toEqual(
      newestFirst((c) => c.notAfter < nearNow && c.notAfter > now),
    );
    // statuses read at `now` (every row is stored active): past its end is expired, dense and sparse
    for (const now of [soon, sparse]) {
      expect(await all({ status: 'expired', now })).toEqual(newestFirst((c) => c.notAfter <= now));
      expect(await all({ status: 'active', now })).toEqual(newestFirst((c) => c.notAfter > now));
    }
    await store.close();
  });
});
