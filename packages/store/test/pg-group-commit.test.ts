// PostgreSQL group commit (src/pg-batch-commit.ts) against a real cluster: two store instances (two pools, as
// two processes) issuing at once into one audit chain, a chain head moved by the other instance, one failing
// unit inside a batch, and leader locks that hold no pooled connection. The events' hashes are computed by the
// batch statement in SQL; `audit.verify()` recomputes them in JavaScript.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PG_GROUP_COMMIT_TWO_WRITES, openStore, type CommitResult, type Store } from '../src/index';
import type { GroupCommitPolicy } from '../src/types';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { migratedDatabases } from './pg-migrated-template';
import { canonicalJson } from '@pkim/shared';
import {
  AUDIT_CHAIN_LOCK,
  FULL_SHAPE,
  batchStatement,
  BATCH_STATEMENT_NAME,
  binaryTextArray,
  binaryTextColumns,
  columnBounds,
  FLUSH_WAIT,
  FLUSH_WAIT_NOTIFY_NAME,
  LOCK_CLASS,
  WRITE_ORDER_CLASS,
  canonicalAroundSeq,
  plainJsonCopy,
  textColumn,
} from '../src/pg-batch-commit';
import { groupedLookup } from '../src/pg-store';
import { certificateSearchTerms } from '../src/certificate-search-terms';
import { T0, makeCa, makeCert, makeEvent, makeRequest } from './store-fixtures';

let cluster: TestPostgres;
const open: Store[] = [];
/**
 * pg's DeprecationWarning for a query sent to a client that is still executing one (pg@9 will refuse it): the
 * store must never overlap queries on one connection (the leader session is shared by every leader lock). Node
 * prints a deprecation once per process, so the listener is on for the whole file.
 */
const overlappingQueries: string[] = [];
process.on('warning', (w) => {
  if (w.message.includes('already executing a query')) overlappingQueries.push(w.message);
});
const clients: pg.Client[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await Promise.all(clients.map((c) => c.end()));
  await cluster?.stop();
});

const migratedDatabase = migratedDatabases(() => cluster);

async function setup(
  poolSize?: number,
  groupCommit?: GroupCommitPolicy,
): Promise<{ a: Store; b: Store; caId: string; sql: pg.Client; url: string }> {
  const url = await migratedDatabase();
  const a = await openStore({ url, poolSize, groupCommit });
  const b = await openStore({ url, poolSize, groupCommit });
  open.push(a, b);
  const ca = makeCa();
  await a.commit({ insertCa: [ca] });
  const sql = new pg.Client({ connectionString: url });
  await sql.connect();
  clients.push(sql);
  return { a, b, caId: ca.id, sql, url };
}

/** an issuance-shaped unit: the certificate row and its certificate.issued event */
function issue(store: Store, caId: string, i: number): Promise<CommitResult> {
  const cert = makeCert(caId, { createdAt: i });
  return store.commit({
    insertCertificates: [cert],
    audit: [makeEvent({ action: 'certificate.issued', target: cert.id, details: { serial: cert.serialHex, i } })],
  });
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

const count = async (sql: pg.Client, query: string) => Number((await sql.query(query)).rows[0].n);
/** polls `ok` every 25 ms, at most 10 s */
const until = async (what: string, ok: () => Promise<boolean> | boolean) => {
  for (let i = 0; !(await ok()); i++) {
    if (i > 400) throw new Error(`never: ${what}`);
    await new Promise((res) => setTimeout(res, 25));
  }
};
/** the backends that LISTEN for Store.otherCommits on this database */
const listeners = async (sql: pg.Client): Promise<number[]> =>
  (
    await sql.query(
      "select pid from pg_stat_activity where query = 'listen pkim_changes' and datname = current_database()",
    )
  ).rows.map((r: { pid: number }) => r.pid);

/** what a spy on pg.Client#query saw: the prepared statements' names, the other queries' text */
const queriesSent = (sent: { mock: { calls: unknown[][] } }): unknown[] =>
  sent.mock.calls.map(([q]) => (typeof q === 'string' ? q : (q as { name?: string }).name));
/**
 * one batch of issuances of a store whose batches found the audit-chain lock free: the issuance statement, which
 * commits with its own flush (no FLUSH_WAIT after it: pg-batch-commit.ts OWN_FLUSH)
 */
const ONE_BATCH = [BATCH_STATEMENT_NAME];

describe('PostgreSQL group commit', () => {
  it('sends texts as binary text[] that PostgreSQL reads back unchanged: ASCII or not, short, long, null', async () => {
    const url = await cluster.createDatabase();
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    clients.push(sql);
    const texts = [
      'crt_0123456789abcdef',
      '',
      null,
      'é',
      'caf\u00e9 \u65e5\u672c \u{1f510}', // 2-, 3- and 4-byte UTF-8 (a surrogate pair) in a short text
      'a'.repeat(63) + '\u00e9', // non-ASCII at the end of a short text
      'x'.repeat(64),
      'y'.repeat(65),
      `-----BEGIN CERTIFICATE-----\n${'QUJD'.repeat(200)}\n-----END CERTIFICATE-----\n`,
      '\u00fc'.repeat(300),
      '0',
    ];
    const r = await sql.query('select $1::text[] as a', [binaryTextArray(texts)]);
    expect(r.rows[0].a).toEqual(texts);
    expect((await sql.query('select $1::text[] as a', [binaryTextArray([])])).rows[0].a).toEqual([]);
  });

  it("sends a batch's text columns in one text[]: each column reads back its own texts, empty ones empty", async () => {
    const url = await cluster.createDatabase();
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    clients.push(sql);
    const columns = [
      ['0', '1', '1'],
      [],
      ['crt_a', null, ''],
      [null],
      [],
      ['caf\u00e9', 'x'.repeat(65), `-----BEGIN CERTIFICATE-----\n${'QUJD'.repeat(200)}\n`],
      [],
    ];
    const select = columns.map((_, i) => `${textColumn(i)} as c${i}`).join(', ');
    const values = [binaryTextColumns(columns), columnBounds(columns)];
    const r = await sql.query({ text: `select ${select}`, values, rowMode: 'array' });
    expect(r.rows[0]).toEqual(columns);
    // a batch without any text: every column empty
    const none = columns.map(() => []);
    const empty = await sql.query({
      text: `select ${select}`,
      values: [binaryTextColumns(none), columnBounds(none)],
      rowMode: 'array',
    });
    expect(empty.rows[0]).toEqual(none);
  });

  it("sends each event's canonical JSON as the text around seq, exactly as the hash covers it", () => {
    const events = [
      makeEvent(),
      makeEvent({ target: 'crt_x', details: { z: [1, { b: null, a: 'é\u0000"' }], a: {}, seq: 7 } }),
      makeEvent({ action: 'zzz', actor: 'a', outcome: 'failure', details: {}, time: 0 }),
    ];
    for (const e of events) {
      const full = { ...e, target: e.target ?? null };
      const [before, after] = canonicalAroundSeq(full);
      for (const seq of [1, 42, 9007199254740991])
        expect(`${before}${seq}${after}`).toBe(canonicalJson({ ...full, seq }));
    }
  });

  it('answers each event with what is read back: plain details copied, anything else through its JSON text', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const plain = [
      {},
      { a: 1, b: 'é\u0000"\ud800', c: null, d: true, e: [1, 'x', { f: [] }], g: undefined, 2: 'two', 1: 'one' },
      Object.assign(Object.create(null) as object, { a: [{ b: 1.5e300 }], c: -1 }),
    ];
    for (const v of plain) {
      const copy = plainJsonCopy(v);
      expect(copy).toStrictEqual(JSON.parse(JSON.stringify(v)));
      expect(Object.keys(copy as object)).toEqual(Object.keys(JSON.parse(JSON.stringify(v)) as object));
      expect(copy).not.toBe(v);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const notPlain: unknown[] = [
      { at: new Date(T0) },
      { n: -0 },
      { n: NaN },
      { n: Infinity },
      { a: [1, undefined] },
      { a: [1, , 3] }, // eslint-disable-line no-sparse-arrays
      { p: new Point(1) },
      { m: new Map() },
      { t: { toJSON: () => 'x' } },
      JSON.parse('{"__proto__": {"x": 1}}') as unknown,
      { f: () => 1 },
      { b: 1n },
      cyclic,
    ];
    for (const v of notPlain) expect(typeof plainJsonCopy(v)).toBe('symbol'); // NOT_PLAIN: parsed from its text
  });

  it("answers a batch's events with the details read back, never the caller's objects", async () => {
    const { a, caId, sql } = await setup();
    const details = [
      { serial: 'ab', sans: [{ type: 'dns', value: 'x.test' }], n: 1, gone: undefined },
      { at: new Date(T0) },
      { n: -0 },
      { nan: NaN },
      { list: [undefined, 1] },
    ];
    const results = await Promise.all(
      details.map((d) => {
        const cert = makeCert(caId, {});
        return a.commit({
          insertCertificates: [cert],
          audit: [makeEvent({ action: 'certificate.issued', target: cert.id, details: d })],
        });
      }),
    );
    const stored = await sql.query('select id, details from audit_events order by seq');
    for (const [i, r] of results.entries()) {
      const e = r.audit[0]!;
      const row = (stored.rows as { id: string; details: string }[]).find((x) => x.id === e.id)!;
      expect(e.details).toStrictEqual(JSON.parse(row.details));
      expect(e.details).not.toBe(details[i]);
    }
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: details.length });
  });

  it.each([
    ['one batch', undefined],
    ['two batches', PG_GROUP_COMMIT_TWO_WRITES],
  ])(
    'two instances issuing at once append one chain (%s at a time each): verify passes',
    async (_, policy) => {
      const { a, b, caId, sql } = await setup(undefined, policy);
      const PER_INSTANCE = 200;
      const LANES = 12; // commits in flight per instance: batches of several units meet the other instance's
      const lane = async (s: Store, lane: number) => {
        const out: CommitResult[] = [];
        for (let i = lane; i < PER_INSTANCE; i += LANES) out.push(await issue(s, caId, i));
        return out;
      };
      const settled = await Promise.allSettled(
        [a, b].flatMap((s) => Array.from({ length: LANES }, (_, l) => lane(s, l))),
      );
      const failed = settled.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
      expect(failed.slice(0, 3)).toEqual([]);
      const results = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      const issued = 2 * PER_INSTANCE;
      expect(results).toHaveLength(issued);
      const seqs = results.map((r) => r.audit[0]!.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: issued }, (_, i) => i + 1));
      expect(await b.audit.verify()).toMatchObject({ ok: true, count: issued });
      expect(await count(sql, 'select count(*) as n from certificates')).toBe(issued);
      expect(
        await count(
          sql,
          `select count(*) as n from certificates c where (select count(*) from audit_events e
         where e.action = 'certificate.issued' and e.target = c.id) = 1
         and exists (select 1 from certificate_names n where n.certificate_id = c.id)`,
        ),
      ).toBe(issued);
      expect(await a.certificates.countsByCaAndProfile()).toEqual([
        { caId, profile: 'tls-server', status: 'active', count: issued },
      ]);
    },
    60_000,
  );

  it("counts each batch's waits and round trips in commitStats: held, statement, flush wait, whole write", async () => {
    const { a, caId } = await setup();
    const before = a.commitStats();
    await Promise.all([issue(a, caId, 1), issue(a, caId, 2), issue(a, caId, 3)]); // submitted together: one batch
    await issue(a, caId, 4);
    // the callers are answered inside the write: its time is counted when it returns, a turn later
    await new Promise((r) => setImmediate(r));
    const after = a.commitStats();
    const d = (
      k: 'batches' | 'units' | 'heldMs' | 'writingMs' | 'statementMs' | 'flushMs' | 'flushWaits' | 'lockWaits',
    ) => (after[k] ?? NaN) - (before[k] ?? NaN);
    expect(d('units')).toBe(4);
    expect(d('batches')).toBeGreaterThanOrEqual(2); // the first unit may go alone (nothing announced holds it)
    expect(d('statementMs')).toBeGreaterThan(0);
    // no one else takes the audit-chain lock: every batch commits with its own flush, none sends FLUSH_WAIT
    expect([d('lockWaits'), d('flushWaits'), d('flushMs')]).toEqual([0, 0, 0]);
    expect(d('heldMs')).toBeGreaterThanOrEqual(0);
    // a write is its statement, its flush wait and the answers: never less than the two round trips
    expect(d('writingMs')).toBeGreaterThanOrEqual(d('statementMs') + d('flushMs'));
  });

  it('appends after the other instance moved the chain head (read under the lock, inside the statement)', async () => {
    const { a, b, caId } = await setup();
    expect((await issue(a, caId, 1)).audit[0]!.seq).toBe(1);
    expect((await issue(b, caId, 2)).audit[0]!.seq).toBe(2);
    const third = await issue(a, caId, 3);
    expect(third.audit[0]).toMatchObject({ seq: 3 });
    expect(third.audit[0]!.prevHash).toBe((await a.audit.list({ limit: 10 })).find((e) => e.seq === 2)!.hash);
    expect((await issue(b, caId, 4)).audit[0]!.seq).toBe(4);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 4 });
  }, 60_000);

  it('a failing unit in a batch fails alone: every other caller gets its certificate and its own event', async () => {
    const { a, caId, sql } = await setup();
    const taken = makeCert(caId);
    await a.commit({ insertCertificates: [taken], audit: [makeEvent({ target: taken.id })] });
    const good = Array.from({ length: 10 }, () => makeCert(caId));
    const sameSerial = makeCert(caId, { serialHex: taken.serialHex });
    const unknownCa = makeCert('ca_missing');
    const units = [...good.slice(0, 4), sameSerial, ...good.slice(4, 8), unknownCa, ...good.slice(8)].map((cert) => ({
      insertCertificates: [cert],
      audit: [makeEvent({ target: cert.id })],
    }));
    const settled = await Promise.allSettled(units.map((u) => a.commit(u))); // submitted together: one batch
    const byTarget = new Map(settled.map((r, i) => [units[i]!.insertCertificates[0]!.id, r] as const));
    expect(byTarget.get(sameSerial.id)).toMatchObject({
      status: 'rejected',
      reason: { code: 'certificate.serial_taken' },
    });
    expect(byTarget.get(unknownCa.id)).toMatchObject({ status: 'rejected', reason: { code: 'store.write_failed' } });
    for (const cert of good) {
      const r = byTarget.get(cert.id)!;
      expect(r.status).toBe('fulfilled');
      expect((r as PromiseFulfilledResult<CommitResult>).value.audit).toEqual([
        expect.objectContaining({ target: cert.id }),
      ]);
    }
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 11 });
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(11);
    expect(
      await count(
        sql,
        `select count(*) as n from certificate_names where certificate_id in ('${sameSerial.id}', '${unknownCa.id}')`,
      ),
    ).toBe(0);
    expect((await a.certificates.countByStatus()).active).toBe(11);
    expect(await a.certificates.findById(good[9]!.id)).toEqual(good[9]);
  }, 60_000);

  it("keeps each certificate's PEM with its row (sent beside the rows as a binary text[])", async () => {
    const { a, caId, sql } = await setup();
    // PEMs of different lengths, one with characters of 2-4 bytes in UTF-8 (lengths in bytes, not UTF-16 units)
    const pems = ['', 'x', 'é€😀\n'.repeat(40), `-----BEGIN CERTIFICATE-----\n${'A'.repeat(900)}\n`];
    const certs = [...pems, ...pems].map((p, i) => makeCert(caId, { certificatePem: `${p}#${i}` }));
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      await Promise.all(certs.map((c) => a.commit({ insertCertificates: [c], audit: [makeEvent({ target: c.id })] })));
      expect(queriesSent(sent)).toEqual(ONE_BATCH); // submitted together: one statement
    } finally {
      sent.mockRestore();
    }
    for (const c of certs) expect(await a.certificates.findById(c.id)).toEqual(c);
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(certs.length);
  }, 60_000);

  it('keeps every column of the rows sent column by column: NULLs, numbers, JSON, UTF-8; names and keys', async () => {
    const { a, caId, sql } = await setup();
    const certs = [
      makeCert(caId, { commonName: null, requestId: 'req_1', renewedFrom: 'crt_old', provisioner: 'token:ü' }),
      makeCert(caId, {
        subjectDn: 'CN=é€😀,O="q\\"u',
        sans: { dns: ['ünï.example'], uri: ['spiffe://x/y'], email: ['a@b.example'] },
        notAfter: Number.MAX_SAFE_INTEGER,
      }),
      makeCert(caId, { status: 'revoked', revokedAt: T0 + 5, revocationReason: 'keyCompromise', createdAt: -1 }),
    ];
    const units = certs.map((c, i) => ({
      insertCertificates: [c],
      ...(i === 1
        ? { insertCertificateKeys: [{ certificateId: c.id, sealedKey: 'sealed:€', createdAt: T0 + 7 }] }
        : {}),
      audit: [
        makeEvent({ target: i === 0 ? null : c.id, actor: `usr_ü${i}`, details: { line: 'a\n"b"', i, n: null } }),
      ],
    }));
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    let results: CommitResult[];
    try {
      results = await Promise.all(units.map((u) => a.commit(u)));
      expect(queriesSent(sent)).toEqual([`${BATCH_STATEMENT_NAME}_k`]); // together: one statement, with sealed keys
    } finally {
      sent.mockRestore();
    }
    for (const c of certs) {
      expect(await a.certificates.findById(c.id)).toEqual(c);
      // each search term with its certificate's creation time (the index's second column: the listing's order)
      const names = await sql.query('select name, created_at from certificate_names where certificate_id = $1', [c.id]);
      expect(names.rows.map((r: { name: string }) => r.name).sort()).toEqual(certificateSearchTerms(c).sort());
      expect(new Set(names.rows.map((r: { created_at: string }) => r.created_at))).toEqual(
        new Set([String(c.createdAt)]),
      );
    }
    const keys = await sql.query('select certificate_id, sealed_key, created_at from certificate_keys');
    expect(keys.rows).toEqual([{ certificate_id: certs[1]!.id, sealed_key: 'sealed:€', created_at: String(T0 + 7) }]);
    const events = await a.audit.list({ limit: 10 });
    expect([...events].sort((x, y) => x.seq - y.seq)).toEqual(results.map((r) => r.audit[0]));
    expect(results.map((r) => r.audit[0]!.target)).toEqual([null, certs[1]!.id, certs[2]!.id]);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 3 });
  }, 60_000);

  it('a CA disabled by the other instance: the next batch refuses its units alone, in the same statement', async () => {
    const { a, b, caId, sql } = await setup();
    const other = makeCa();
    await b.commit({ insertCa: [other] });
    await b.commit({ updateCa: [{ id: other.id, patch: { status: 'disabled' } }] });
    const certs = Array.from({ length: 9 }, (_, i) => makeCert(i % 3 === 1 ? other.id : caId));
    const units = certs.map((cert) => ({
      insertCertificates: [cert],
      audit: [makeEvent({ action: 'certificate.issued', target: cert.id })],
    }));
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    let settled: PromiseSettledResult<CommitResult>[];
    try {
      settled = await Promise.allSettled(units.map((u) => a.commit(u))); // submitted together: one batch
      expect(queriesSent(sent)).toEqual(ONE_BATCH); // refused per unit by the statement, not written one by one
    } finally {
      sent.mockRestore();
    }
    settled.forEach((r, i) => {
      if (certs[i]!.caId === other.id)
        expect(r).toMatchObject({ status: 'rejected', reason: { code: 'ca.not_active' } });
      else expect(r.status).toBe('fulfilled');
    });
    const seqs = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value.audit.map((e) => e.seq) : []));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 6 });
    expect(await count(sql, `select count(*) as n from certificates where ca_id = '${other.id}'`)).toBe(0);
    expect(
      await count(sql, `select count(*) as n from certificate_names n join certificates c on c.id = n.certificate_id`),
    ).toBe(await count(sql, 'select count(*) as n from certificate_names'));
    expect(await a.certificates.countsByCaAndProfile()).toEqual([
      { caId, profile: 'tls-server', status: 'active', count: 6 },
    ]);
  }, 60_000);

  it('the general unit of work refuses a certificate of a CA that is not active, after the lock', async () => {
    const { a, b, caId, sql } = await setup();
    await b.commit({ updateCa: [{ id: caId, patch: { status: 'revoked' } }] });
    const cert = makeCert(caId);
    // a setting beside the certificate: not batchable, the general unit of work writes it
    const unit = { insertCertificates: [cert], setSettings: { k: 'v' }, audit: [makeEvent({ target: cert.id })] };
    await expect(a.commit(unit)).rejects.toMatchObject({ code: 'ca.not_active' });
    await expect(Promise.all([a.commit(unit), a.commit(unit)])).rejects.toMatchObject({ code: 'ca.not_active' });
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(0);
    expect(await a.audit.count()).toBe(0);
  }, 60_000);

  it('a CA disabled while the batch waits for the audit-chain lock: its certificate is not written', async () => {
    const { a, caId, sql, url } = await setup();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    clients.push(holder);
    // another transaction holds the audit-chain lock (as a CA change of another instance does) …
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`);
    const cert = makeCert(caId);
    const pending = a.commit({ insertCertificates: [cert], audit: [makeEvent({ target: cert.id })] });
    // … while the batch statement, started with the CA active, waits for it — having written its certificate row
    // already (a backend that wrote has a transaction id): only the audit part runs under the lock
    for (let i = 0; ; i++) {
      const r = await sql.query<{ xid: string | null }>(
        'select backend_xid::text as xid from pg_stat_activity ' +
          "where wait_event_type = 'Lock' and wait_event = 'advisory'",
      );
      if (r.rows.length) {
        expect(r.rows[0]!.xid).not.toBeNull();
        break;
      }
      if (i > 400) throw new Error('the batch statement never waited for the audit-chain lock');
      await new Promise((res) => setTimeout(res, 25));
    }
    await holder.query(`update certificate_authorities set status = 'disabled' where id = '${caId}'`);
    await holder.query('commit');
    await expect(pending).rejects.toMatchObject({ code: 'ca.not_active' });
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(0);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 0 });
  }, 60_000);

  /** the backends of this database that wait for an advisory lock (the audit chain's, a store's WRITE_ORDER) */
  const advisoryWaiters = async (sql: pg.Client) =>
    count(
      sql,
      "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event = 'advisory'",
    );
  /** another transaction (as another instance's batch) holds the audit-chain lock until `release()` */
  const holdChainLock = async (url: string) => {
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    clients.push(holder);
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`);
    return { release: () => holder.query('commit') };
  };

  /** the advisory locks that backends of this database wait for: [class, key] (the key as the int it was taken as) */
  const advisoryWaits = async (sql: pg.Client): Promise<[number, number][]> =>
    (
      await sql.query<{ c: string; k: string }>(
        'select l.classid::bigint as c, l.objid::bigint as k from pg_locks l ' +
          'join pg_database d on d.oid = l.database ' +
          "where l.locktype = 'advisory' and l.objsubid = 2 and not l.granted and d.datname = current_database() " +
          'order by l.pid',
      )
    ).rows
      .map((r): [number, number] => [Number(r.c), Number(r.k) | 0])
      .sort((x, y) => x[0] - y[0]);

  it('writes a second batch while the first waits for the audit-chain lock: one chain, in commit order', async () => {
    const { a, caId, sql, url } = await setup(undefined, PG_GROUP_COMMIT_TWO_WRITES);
    const taken = makeCert(caId);
    await a.commit({ insertCertificates: [taken], audit: [makeEvent({ target: taken.id })] });
    const before = a.commitStats();
    const chain = await holdChainLock(url);
    const unit = (cert = makeCert(caId)) => ({ insertCertificates: [cert], audit: [makeEvent({ target: cert.id })] });
    const first = a.commit(unit());
    await until('the first batch waits for the audit-chain lock', async () => (await advisoryWaiters(sql)) === 1);
    // the store's WRITE_ORDER key, which the first batch statement holds while it waits
    const order = (
      await sql.query<{ k: string }>(
        `select objid::bigint as k from pg_locks where locktype = 'advisory' and classid = ${WRITE_ORDER_CLASS} ` +
          'and objsubid = 2 and granted',
      )
    ).rows.map((r) => Number(r.k) | 0);
    expect(order).toHaveLength(1);
    // A gate queued for WRITE_ORDER before the second batch: that batch's statement gets WRITE_ORDER only once the
    // first has committed and released every lock. (PostgreSQL releases a transaction's locks one at a time: a
    // statement woken by the release of WRITE_ORDER could try the audit-chain lock before the first's commit has
    // released it too, and count a lock wait — 2 instead of 1 once at load 6–7, session 29.)
    const gate = new pg.Client({ connectionString: url });
    await gate.connect();
    clients.push(gate);
    await gate.query('begin');
    const gateTaken = gate.query(`select pg_advisory_xact_lock(${WRITE_ORDER_CLASS}, ${order[0]})`);
    await until('the gate waits for WRITE_ORDER', async () => (await advisoryWaiters(sql)) === 2);
    // submitted while the first batch is written: a second batch, written beside it on the store's other commit
    // connection — its serial-taken unit fails it, and its other unit is written again alone, while the first waits
    const second = [unit(), unit(makeCert(caId, { serialHex: taken.serialHex }))];
    const settled = Promise.allSettled(second.map((u) => a.commit(u)));
    // the second statement waits for the first's commit at the store's own lock (WRITE_ORDER), not the chain's
    await until('both batch statements wait', async () => (await advisoryWaiters(sql)) === 3);
    expect(await advisoryWaits(sql)).toEqual([
      [LOCK_CLASS, AUDIT_CHAIN_LOCK],
      [WRITE_ORDER_CLASS, order[0]],
      [WRITE_ORDER_CLASS, order[0]],
    ]);
    await chain.release();
    expect((await first).audit[0]!.seq).toBe(2);
    await gateTaken;
    await gate.query('commit');
    const [ok, taken2] = await settled;
    expect(ok).toMatchObject({ status: 'fulfilled', value: { audit: [{ seq: 3 }] } });
    expect(taken2).toMatchObject({ status: 'rejected', reason: { code: 'certificate.serial_taken' } });
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 3 });
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(3);
    expect((await a.certificates.countByStatus()).active).toBe(3);
    // only the first found the audit-chain lock taken (by the other transaction): its sibling waited at WRITE_ORDER
    // and found it free, so the store's next batch commits with its own flush
    expect(a.commitStats().lockWaits! - before.lockWaits!).toBe(1);
  }, 60_000);

  /** an SVID as the SVID route commits it: certificate, SVID row superseding the ID's current one, its event */
  const svidUnit = (caId: string, spiffeId: string, at: number, notAfter?: number) => {
    const cert = makeCert(caId, notAfter === undefined ? { createdAt: at } : { createdAt: at, notAfter });
    const row = { id: cert.id, caId, spiffeId, serviceType: 'web', notAfter: cert.notAfter, createdAt: at };
    return {
      id: cert.id,
      unit: {
        insertCertificates: [cert],
        insertSpiffeSvids: [{ ...row, supersededBy: null, supersededAt: null }],
        supersedeSpiffeSvids: [{ spiffeId, by: cert.id, at }],
        audit: [makeEvent({ action: 'certificate.issued', target: cert.id, details: { spiffeId } })],
      },
    };
  };
  const svids = (sql: pg.Client) =>
    sql
      .query<{ id: string; by: string | null; at: string | null }>(
        'select id, superseded_by as by, superseded_at::text as at from spiffe_svids order by created_at',
      )
      .then((r) => r.rows.map((x) => [x.id, x.by, x.at === null ? null : Number(x.at)]));

  it('SVIDs submitted together are one statement; a second renewal of one ID in a batch is written after', async () => {
    const { a, b, caId, sql } = await setup();
    const x = 'spiffe://example.org/web/x';
    const s0 = svidUnit(caId, x, 10); // the other instance's current SVID of x
    await b.commit(s0.unit);
    const [s1, y1, s2] = [
      svidUnit(caId, x, 20),
      svidUnit(caId, 'spiffe://example.org/web/y', 30),
      svidUnit(caId, x, 40),
    ];
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      await Promise.all([a.commit(s1.unit), a.commit(y1.unit)]); // one batch, one statement (the SVIDs' shape)
      expect(queriesSent(sent)).toEqual([`${BATCH_STATEMENT_NAME}_s`]);
      sent.mockClear();
      const s3 = svidUnit(caId, x, 50);
      await Promise.all([a.commit(s2.unit), a.commit(s3.unit)]); // x twice: two statements, in order
      // after a batch of this store's own, no other writer since: each waits for its own flush (no flush wait)
      expect(queriesSent(sent)).toEqual([`${BATCH_STATEMENT_NAME}_s`, `${BATCH_STATEMENT_NAME}_s`]);
      expect(await svids(sql)).toEqual([
        [s0.id, s1.id, 20],
        [s1.id, s2.id, 40],
        [y1.id, null, null],
        [s2.id, s3.id, 50],
        [s3.id, null, null],
      ]);
    } finally {
      sent.mockRestore();
    }
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 5 });
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(5);
    expect(await a.certificates.countByStatus(caId)).toEqual({ active: 5, revoked: 0, expired: 0 });
  }, 60_000);

  it('an SVID whose SPIFFE CA is rotated while its batch waits for the audit-chain lock is not written', async () => {
    const { a, caId, sql, url } = await setup();
    const services = { trustDomain: 'example.org', role: 'services' as const, rotatedAt: null, createdAt: 0 };
    await a.commit({ insertSpiffeCas: [{ ...services, id: caId, status: 'active', keepUntil: null }] });
    // another transaction (as another instance's rotation: its commit takes the audit-chain lock first) …
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    clients.push(holder);
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`);
    const s1 = svidUnit(caId, 'spiffe://example.org/web/x', 10);
    const pending = a.commit(s1.unit);
    // … while the batch statement, started with the CA active, waits for it; the rotation keeps the old CA until a
    // millisecond before the SVID expires
    await until('the batch waits for the audit-chain lock', async () => (await advisoryWaiters(sql)) === 1);
    const keepUntil = s1.unit.insertSpiffeSvids[0]!.notAfter - 1;
    await holder.query(`update spiffe_cas set status = 'retiring', keep_until = ${keepUntil} where id = '${caId}'`);
    await holder.query('commit');
    await expect(pending).rejects.toMatchObject({ code: 'spiffe.ca_rotated', details: { caId, keepUntil } });
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(0);
    expect(await svids(sql)).toEqual([]);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 0 });
  }, 60_000);

  it('a batch with SVIDs of two SPIFFE CAs, one rotated while it waits for the lock: one SVID refused', async () => {
    const { a, caId: rotated, sql, url } = await setup();
    const other = makeCa();
    const services = { trustDomain: 'example.org', role: 'services' as const, rotatedAt: null, createdAt: 0 };
    await a.commit({
      insertCa: [other],
      insertSpiffeCas: [rotated, other.id].map((id) => ({
        ...services,
        id,
        status: 'active' as const,
        keepUntil: null,
      })),
    });
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    clients.push(holder);
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`);
    // the rotated CA keeps its SVIDs that end by keepUntil: `within` is kept, `beyond` is not; `y` is the other CA's
    const keepUntil = T0 + 3_600_000;
    const within = svidUnit(rotated, 'spiffe://example.org/web/within', 10, keepUntil);
    const y = svidUnit(other.id, 'spiffe://example.org/web/y', 20, keepUntil + 1);
    const beyond = svidUnit(rotated, 'spiffe://example.org/web/beyond', 30, keepUntil + 1);
    const pending = Promise.allSettled([within, y, beyond].map((s) => a.commit(s.unit))); // one turn: one batch
    await until('the batch waits for the audit-chain lock', async () => (await advisoryWaiters(sql)) === 1);
    await holder.query(`update spiffe_cas set status = 'retiring', keep_until = ${keepUntil} where id = '${rotated}'`);
    await holder.query('commit');
    const settled = await pending;
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({
      code: 'spiffe.ca_rotated',
      details: { caId: rotated, keepUntil },
    });
    expect(await svids(sql)).toEqual([
      [within.id, null, null],
      [y.id, null, null],
    ]);
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(2);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 2 });
  }, 60_000);

  it('the general unit of work refuses an SVID whose SPIFFE CA was rotated and does not keep it', async () => {
    const { a, b, caId, sql } = await setup();
    const services = { trustDomain: 'example.org', role: 'services' as const, createdAt: 0 };
    const s1 = svidUnit(caId, 'spiffe://example.org/web/x', 10);
    const keepUntil = s1.unit.insertSpiffeSvids[0]!.notAfter - 1;
    await b.commit({ insertSpiffeCas: [{ ...services, id: caId, status: 'retiring', rotatedAt: 5, keepUntil }] });
    // a setting beside the SVID: not batchable, the general unit of work writes it (spiffe-repository.ts's query)
    const unit = { ...s1.unit, setSettings: { k: 'v' } };
    await expect(a.commit(unit)).rejects.toMatchObject({ code: 'spiffe.ca_rotated', details: { caId, keepUntil } });
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(0);
    // kept until the SVID's notAfter: written
    await b.commit({ updateSpiffeCas: [{ id: caId, patch: { keepUntil: keepUntil + 1 } }] });
    await a.commit(unit);
    expect(await svids(sql)).toEqual([[s1.id, null, null]]);
  }, 60_000);

  it('a renewal of an SPIFFE ID that the batch being written renews too is written after it, not beside', async () => {
    const { a, caId, sql, url } = await setup(undefined, PG_GROUP_COMMIT_TWO_WRITES);
    const x = 'spiffe://example.org/web/x';
    const chain = await holdChainLock(url);
    const [s1, s2, y1] = [svidUnit(caId, x, 20), svidUnit(caId, x, 30), svidUnit(caId, 'spiffe://example.org/y', 40)];
    const first = a.commit(s1.unit);
    await until('the first batch waits for the audit-chain lock', async () => (await advisoryWaiters(sql)) === 1);
    const second = a.commit(s2.unit);
    // (held for 200 ms: a batch written beside the first would wait for its WRITE_ORDER lock by then)
    await new Promise((res) => setTimeout(res, 200));
    expect(await advisoryWaiters(sql)).toBe(1);
    await chain.release();
    await Promise.all([first, second]);
    // another ID's renewal is written beside a batch that renews x
    const chain2 = await holdChainLock(url);
    const third = a.commit(svidUnit(caId, x, 50).unit);
    await until('the third batch waits for the audit-chain lock', async () => (await advisoryWaiters(sql)) === 1);
    const other = a.commit(y1.unit);
    await until('both batch statements wait', async () => (await advisoryWaiters(sql)) === 2);
    await chain2.release();
    await Promise.all([third, other]);
    expect((await svids(sql)).slice(0, 2)).toEqual([
      [s1.id, s2.id, 30],
      [s2.id, expect.any(String), 50],
    ]);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 4 });
  }, 60_000);

  it('an SVID committed by another instance while the batch waits for the lock is superseded by it', async () => {
    const { a, b, caId, sql, url } = await setup();
    const x = 'spiffe://example.org/web/x';
    const other = makeCert(caId, { createdAt: 10 });
    await b.commit({ insertCertificates: [other] });
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    clients.push(holder);
    // another instance holds the audit-chain lock while it writes its SVID of x …
    await holder.query('begin');
    await holder.query(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`);
    const mine = svidUnit(caId, x, 20);
    const pending = a.commit(mine.unit);
    // … while the batch statement, whose snapshot cannot hold that SVID, waits for the lock
    for (let i = 0; ; i++) {
      const r = await sql.query(
        "select 1 from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory'",
      );
      if (r.rows.length) break;
      if (i > 400) throw new Error('the batch statement never waited for the audit-chain lock');
      await new Promise((res) => setTimeout(res, 25));
    }
    await holder.query(
      'insert into spiffe_svids (id, ca_id, spiffe_id, service_type, not_after, created_at) ' +
        'values ($1, $2, $3, $4, $5, 10)',
      [other.id, caId, x, 'web', other.notAfter],
    );
    await holder.query('commit');
    await pending;
    // the function's own snapshot (migration 0029) saw it: one current SVID of x, the batch's
    expect(await svids(sql)).toEqual([
      [other.id, mine.id, 20],
      [mine.id, null, null],
    ]);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 1 });
  }, 60_000);

  it('revocations submitted together are one statement, announced to the other instance; one chain', async () => {
    const { a, b, caId, sql } = await setup();
    const certs = Array.from({ length: 40 }, () => makeCert(caId));
    await a.commit({ insertCertificates: certs });
    expect(b.otherCommits).toBe(0); // b listens (its OCSP answers and CRLs are remembered by this count)
    await until('b listens', async () => b.otherCommits === 1);
    const revoke = (id: string) =>
      a.commit({
        updateCertificates: [
          { id, patch: { status: 'revoked', revokedAt: 7, revocationReason: 'superseded' }, onlyIfStatus: 'active' },
        ],
        audit: [makeEvent({ action: 'certificate.revoked', target: id })],
      });
    // what instance a sends to PostgreSQL for 20 revocations submitted together: one batch (pool clients are
    // pg.Client instances; the spy observes every query of this process)
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const first = await Promise.all(certs.slice(0, 20).map((c) => revoke(c.id)));
      // the flush wait of a batch that revokes sends the NOTIFY: b learns of the revocations without a time bound
      expect(queriesSent(sent)).toEqual([`${BATCH_STATEMENT_NAME}_r`, FLUSH_WAIT_NOTIFY_NAME]); // revocations' shape
      expect(first.map((r) => r.audit[0]!.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      sent.mockRestore();
    }
    await until("a's revocations announced", () => b.otherCommits === 2);
    // the rest while instance b issues: one linear chain, counters exact
    const issued = Array.from({ length: 20 }, (_, i) => issue(b, caId, i));
    const revoked = await Promise.all(certs.slice(20).map((c) => revoke(c.id)));
    await Promise.all(issued);
    expect(revoked.every((r) => r.audit[0]!.target !== null)).toBe(true);
    expect(await b.audit.verify()).toMatchObject({ ok: true, count: 60 });
    expect(await a.certificates.countByStatus(caId)).toEqual({ active: 20, revoked: 40, expired: 0 });
    expect(await a.rebuildCertificateCounts()).toEqual({ certificates: 60, corrected: 0 });
    expect(await count(sql, "select count(*) as n from certificates where status = 'revoked' and revoked_at = 7")).toBe(
      40,
    );
  }, 60_000);

  it("the revocations' generic plan probes certificates_pkey per revocation, never scans the table", async () => {
    // the batch statement is prepared once per connection: after five executions PostgreSQL keeps a generic plan
    // for its life. 800 certificates (≈ 170 pages): with json_to_recordset's estimate of 100 revocations the planner
    // chose a hash join over a scan of all of them (below ≈ 6,500 rows), and kept it as the table grew
    const { a, caId, sql } = await setup();
    await a.commit({ insertCertificates: Array.from({ length: 800 }, () => makeCert(caId)) });
    await sql.query('analyze certificates');
    const { text } = batchStatement({ revocations: true, requests: false, keys: false, svids: false });
    await sql.query(`prepare revocations_plan as ${text}`);
    try {
      await sql.query('set plan_cache_mode = force_generic_plan');
      const plan = (
        await sql.query<{ 'QUERY PLAN': string }>(
          "explain (costs off) execute revocations_plan('{}', '{0}', true, null, '[]')",
        )
      ).rows.map((r) => r['QUERY PLAN']);
      const update = plan.findIndex((l) => l.includes('Update on certificates'));
      const arm = plan.slice(update, update + 12).join('\n');
      expect(arm).toContain('Index Scan using certificates_pkey on certificates');
      expect(plan.join('\n')).not.toMatch(/Seq Scan on certificates\b/);
    } finally {
      await sql.query('reset plan_cache_mode');
      await sql.query('deallocate revocations_plan');
    }
  }, 60_000);

  it("the request updates' generic plan probes certificate_requests_pkey, never scans the table", async () => {
    // as the revocations' case above, for request rows (≈ 24 a page): 4,000 of them — with json_to_recordset's
    // estimate of 100 updates the planner hash-joined a scan of every request up to ≈ 20,000 rows (and a generic plan
    // made then stays as the table grows); with 10 it probes the primary key from ≈ 2,000
    const { a, caId, sql } = await setup();
    await a.commit({ insertRequests: Array.from({ length: 4000 }, () => makeRequest(caId)) });
    await sql.query('analyze certificate_requests');
    const { text } = batchStatement({ revocations: false, requests: true, keys: false, svids: false });
    await sql.query(`prepare requests_plan as ${text}`);
    try {
      await sql.query('set plan_cache_mode = force_generic_plan');
      const plan = (
        await sql.query<{ 'QUERY PLAN': string }>(
          "explain (costs off) execute requests_plan('{}', '{0}', true, null, '[]')",
        )
      ).rows.map((r) => r['QUERY PLAN']);
      const update = plan.findIndex((l) => l.includes('Update on certificate_requests'));
      expect(update, plan.join('\n')).toBeGreaterThanOrEqual(0);
      const arm = plan.slice(update, update + 12).join('\n');
      expect(arm).toContain('Index Scan using certificate_requests_pkey on certificate_requests');
      expect(plan.join('\n')).not.toMatch(/Seq Scan on certificate_requests\b/);
    } finally {
      await sql.query('reset plan_cache_mode');
      await sql.query('deallocate requests_plan');
    }
  }, 60_000);

  it('approvals and rejections submitted together: one statement; a request changed meanwhile fails', async () => {
    const { a, b, caId, sql } = await setup();
    const other = makeCa();
    await b.commit({ insertCa: [other] });
    const requests = Array.from({ length: 8 }, (_, i) =>
      makeRequest(i === 5 ? other.id : caId, { reason: i === 1 ? 'kept by an approval' : null }),
    );
    await a.commit({ insertRequests: requests });
    /** an approval as the signing pipeline commits it: the request, its certificate, two events */
    const approve = (r: (typeof requests)[number], at: number) => {
      const cert = makeCert(r.caId, { requestId: r.id });
      const patch = {
        status: 'issued' as const,
        reviewer: 'usr_b',
        reviewedAt: at,
        updatedAt: at,
        certificateId: cert.id,
      };
      return {
        insertCertificates: [cert],
        updateRequests: [{ id: r.id, onlyIfStatus: 'pending' as const, patch }],
        audit: [
          makeEvent({ action: 'certificate.issued', target: cert.id }),
          makeEvent({ action: 'request.approved', target: r.id, details: { certificateId: cert.id } }),
        ],
      };
    };
    const reject = (r: (typeof requests)[number], at: number) => ({
      updateRequests: [
        {
          id: r.id,
          onlyIfStatus: 'pending' as const,
          patch: { status: 'rejected' as const, reviewer: 'usr_b', reason: 'no', reviewedAt: at, updatedAt: at },
        },
      ],
      audit: [makeEvent({ action: 'request.rejected', target: r.id })],
    });
    // one batch: two approvals and a rejection
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const first = await Promise.all(
        [a.commit(approve(requests[0]!, 11)), a.commit(approve(requests[1]!, 12))].concat(
          a.commit(reject(requests[2]!, 13)),
        ),
      );
      expect(queriesSent(sent)).toEqual([`${BATCH_STATEMENT_NAME}_q`]); // the request updates' shape
      expect(first.flatMap((r) => r.audit.map((e) => e.seq))).toEqual([1, 2, 3, 4, 5]);
    } finally {
      sent.mockRestore();
    }
    const row = async (id: string) =>
      (
        await sql.query(
          'select status, reviewer, reason, reviewed_at, updated_at, certificate_id is not null as cert, created_at' +
            ' from certificate_requests where id = $1',
          [id],
        )
      ).rows[0];
    expect(await row(requests[0]!.id)).toEqual({
      status: 'issued',
      reviewer: 'usr_b',
      reason: null,
      reviewed_at: '11',
      updated_at: '11',
      cert: true,
      created_at: String(T0),
    });
    // a column the update does not name keeps its value
    expect(await row(requests[1]!.id)).toMatchObject({ status: 'issued', reason: 'kept by an approval', cert: true });
    expect(await row(requests[2]!.id)).toMatchObject({
      status: 'rejected',
      reason: 'no',
      reviewed_at: '13',
      cert: false,
    });
    // request 3 approved by the other instance; request 5's CA disabled there: in the next batch each fails alone
    await b.commit(approve(requests[3]!, 20));
    await b.commit({ updateCa: [{ id: other.id, patch: { status: 'disabled' } }] });
    const units = [4, 3, 5, 6, 2, 7].map((i) => (i === 6 ? reject(requests[i]!, 30) : approve(requests[i]!, 30)));
    const settled = await Promise.allSettled(units.map((u) => a.commit(u))); // submitted together: one batch
    expect(settled.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code))).toEqual([
      'ok',
      'request.not_pending',
      'ca.not_active',
      'ok',
      'request.not_pending',
      'ok',
    ]);
    expect(await row(requests[3]!.id)).toMatchObject({ status: 'issued', reviewed_at: '20' });
    expect(await row(requests[5]!.id)).toMatchObject({ status: 'pending', reviewer: null, cert: false });
    expect(await row(requests[6]!.id)).toMatchObject({ status: 'rejected', reviewed_at: '30' });
    expect(await row(requests[7]!.id)).toMatchObject({ status: 'issued', reviewed_at: '30', cert: true });
    // the certificates of the failed approvals are not written; every written one is its request's
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(5);
    expect(
      await count(
        sql,
        'select count(*) as n from certificates c join certificate_requests r on r.certificate_id = c.id' +
          " and r.id = c.request_id and r.status = 'issued'",
      ),
    ).toBe(5);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 5 + 2 + 5 });
    expect(await a.rebuildCertificateCounts()).toEqual({ certificates: 5, corrected: 0 });
  }, 60_000);

  it('a batch with issuance, sealed key, SVID, revocation and approval writes it all; then issuances', async () => {
    const { a, caId, sql } = await setup();
    const old = [makeCert(caId), makeCert(caId)];
    const request = makeRequest(caId);
    await a.commit({ insertCertificates: old, insertRequests: [request] });
    const issued = makeCert(caId);
    const keyed = makeCert(caId);
    const approved = makeCert(caId, { requestId: request.id });
    const svid = svidUnit(caId, 'spiffe://example.org/web/mixed', 40);
    const units = [
      { insertCertificates: [issued], audit: [makeEvent({ action: 'certificate.issued', target: issued.id })] },
      {
        insertCertificates: [keyed],
        insertCertificateKeys: [{ certificateId: keyed.id, sealedKey: 'sealed:k', createdAt: T0 }],
        audit: [makeEvent({ action: 'certificate.issued', target: keyed.id })],
      },
      svid.unit,
      {
        updateCertificates: [
          {
            id: old[0]!.id,
            patch: { status: 'revoked' as const, revokedAt: 9, revocationReason: 'keyCompromise' as const },
            onlyIfStatus: 'active' as const,
          },
        ],
        audit: [makeEvent({ action: 'certificate.revoked', target: old[0]!.id })],
      },
      {
        insertCertificates: [approved],
        updateRequests: [
          {
            id: request.id,
            onlyIfStatus: 'pending' as const,
            patch: {
              status: 'issued' as const,
              reviewer: 'usr_b',
              reviewedAt: 9,
              updatedAt: 9,
              certificateId: approved.id,
            },
          },
        ],
        audit: [
          makeEvent({ action: 'certificate.issued', target: approved.id }),
          makeEvent({ action: 'request.approved', target: request.id }),
        ],
      },
    ];
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const results = await Promise.all(units.map((u) => a.commit(u))); // submitted together: one statement
      expect(queriesSent(sent)).toEqual([`${BATCH_STATEMENT_NAME}_rqks`, FLUSH_WAIT_NOTIFY_NAME]);
      expect(results.flatMap((r) => r.audit.map((e) => e.seq))).toEqual([1, 2, 3, 4, 5, 6]);
      sent.mockClear();
      // issuances only, on the same connection: the issuance statement, prepared beside the other
      const next = await Promise.all([0, 1, 2].map((i) => issue(a, caId, i)));
      expect(queriesSent(sent)).toEqual(ONE_BATCH);
      expect(next.map((r) => r.audit[0]!.seq)).toEqual([7, 8, 9]);
    } finally {
      sent.mockRestore();
    }
    expect(await count(sql, 'select count(*) as n from certificates')).toBe(2 + 4 + 3);
    expect(
      (await sql.query('select status, revoked_at, revocation_reason from certificates where id = $1', [old[0]!.id]))
        .rows[0],
    ).toEqual({ status: 'revoked', revoked_at: '9', revocation_reason: 'keyCompromise' });
    expect(
      (await sql.query('select status, certificate_id from certificate_requests where id = $1', [request.id])).rows[0],
    ).toEqual({ status: 'issued', certificate_id: approved.id });
    expect(await count(sql, `select count(*) as n from certificate_keys where certificate_id = '${keyed.id}'`)).toBe(1);
    expect(await count(sql, `select count(*) as n from spiffe_svids where id = '${svid.id}'`)).toBe(1);
    expect(await a.certificates.countByStatus(caId)).toEqual({ active: 8, revoked: 1, expired: 0 });
    expect(await a.rebuildCertificateCounts()).toEqual({ certificates: 9, corrected: 0 });
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 9 });
  }, 60_000);

  it('batches are written on a connection outside the pool, opened again after it is lost', async () => {
    const { a, caId, sql, url } = await setup(1);
    await issue(a, caId, 0);
    /**
     * the backend of a's commit connection: the one whose last query was the flush wait, or the batch statement (a
     * batch whose previous batch found the audit-chain lock free waits for its own flush: no flush wait after it)
     */
    const committer = async () =>
      (
        await sql.query(
          `select pid from pg_stat_activity where datname = current_database()
           and (query = $1 or left(query, 200) = left($2, 200))`,
          [FLUSH_WAIT, batchStatement(FULL_SHAPE).text], // every shape's statement begins alike
        )
      ).rows.map((r: { pid: number }) => r.pid);
    const [first] = await committer();
    expect(first).toBeDefined();
    // the pool's only connection waits for a lock: batches are still written and answered
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    clients.push(locker);
    await locker.query('begin');
    await locker.query('lock table settings in access exclusive mode');
    const blocked = a.settings.get('pkim.blocked');
    await until(
      'the pooled read waits for the lock',
      async () =>
        (
          await sql.query(
            "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
          )
        ).rows.length === 1,
    );
    const during = await Promise.all([1, 2, 3].map((i) => issue(a, caId, i)));
    expect(during.map((r) => r.audit[0]!.seq)).toEqual([2, 3, 4]);
    await locker.query('commit');
    expect(await blocked).toBeUndefined();
    // its backend terminated: the next batches open another connection
    await sql.query('select pg_terminate_backend($1)', [first]);
    await until('the commit backend is gone', async () => !(await committer()).includes(first!));
    await new Promise((res) => setTimeout(res, 50));
    const after = await Promise.all([4, 5].map((i) => issue(a, caId, i)));
    expect(after.map((r) => r.audit[0]!.seq).sort()).toEqual([5, 6]);
    const [second] = await committer();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 6 });
  }, 60_000);

  it('leader locks hold no pooled connection: a pool of one still commits and reads while three are held', async () => {
    const { a, b, caId, sql } = await setup(1);
    const gate = deferred();
    const entered = ['j1', 'j2', 'j3'].map(() => deferred());
    const holders = ['j1', 'j2', 'j3'].map((name, i) =>
      a.withLeaderLock(name, async () => {
        entered[i]!.resolve();
        await gate.promise;
        return name;
      }),
    );
    await Promise.all(entered.map((e) => e.promise));
    expect(await b.withLeaderLock('j2', async () => 'b')).toBeUndefined();
    expect(await a.withLeaderLock('j2', async () => 'again')).toBeUndefined(); // not re-entrant
    expect((await issue(a, caId, 1)).audit[0]!.seq).toBe(1);
    expect((await a.certificates.countByStatus()).active).toBe(1);
    const database = (await sql.query('select current_database() as d')).rows[0].d as string;
    const backends = await count(
      sql,
      `select count(*) as n from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`,
    );
    expect(backends).toBeLessThanOrEqual(4); // per store: its pool of one and its leader session
    gate.resolve(); // the three unlocks go to the leader session at once
    expect(await Promise.all(holders)).toEqual(['j1', 'j2', 'j3']);
    expect(await b.withLeaderLock('j2', async () => 'b')).toBe('b');
    // taken at once, released at once: one query at a time on the leader session all the same
    expect(await Promise.all(['k1', 'k2', 'k3', 'k4'].map((n) => a.withLeaderLock(n, async () => n)))).toEqual([
      'k1',
      'k2',
      'k3',
      'k4',
    ]);
    expect(overlappingQueries).toEqual([]);
  }, 60_000);
});

describe('PostgreSQL grouped lookups (CA, token, session by key)', () => {
  it('sends the first call at once and never lets a call join a query sent before it', async () => {
    const sent: string[][] = [];
    const release: (() => void)[] = [];
    const lookup = groupedLookup(
      async (keys) => {
        const query = sent.push(keys);
        await new Promise<void>((r) => release.push(r));
        if (keys.includes('boom')) throw new Error('query failed');
        return keys.filter((k) => k !== 'missing').map((k) => ({ k, query }));
      },
      (r) => r.k,
    );
    const until = async (n: number) => {
      while (release.length < n) await new Promise((r) => setImmediate(r));
    };
    const first = lookup('a');
    expect(sent).toEqual([['a']]);
    const waiting = [lookup('b'), lookup('a'), lookup('missing')];
    expect(sent).toHaveLength(1); // they called after the first query was sent: they wait for the next one
    release[0]!();
    expect(await first).toEqual({ k: 'a', query: 1 });
    await until(2);
    expect(sent[1]).toEqual(['b', 'a', 'missing']);
    const late = lookup('a'); // called after the second query was sent
    const failing = lookup('boom');
    release[1]!();
    const [b, a, missing] = await Promise.all(waiting);
    expect([b, a, missing]).toEqual([{ k: 'b', query: 2 }, { k: 'a', query: 2 }, undefined]);
    await until(3);
    expect(sent[2]).toEqual(['a', 'boom']);
    release[2]!();
    await expect(late).rejects.toThrow('query failed'); // a failed query fails its own callers only
    await expect(failing).rejects.toThrow('query failed');
    const after = lookup('c');
    await until(4);
    release[3]!();
    expect(await after).toEqual({ k: 'c', query: 4 });
  });

  it("otherCommits moves with another instance's CA, token or user change: not its own, not issuance", async () => {
    const { a, b, caId, sql } = await setup();
    expect(b.otherCommits).toBe(0); // the first read opens the listening connection
    await until('b listens', async () => (await listeners(sql)).length === 1); // a never read it: it does not listen
    let seen = b.otherCommits!;
    expect(b.otherCommits).toBe(seen); // a read does not move it
    await b.commit({ updateCa: [{ id: caId, patch: { name: 'renamed-by-b' } }] }); // its own change
    await issue(a, caId, 1); // an issuance batch of the other instance
    await a.commit({ updateCa: [{ id: caId, patch: { name: 'renamed-by-a' } }] });
    await until("a's change announced", () => b.otherCommits !== seen);
    expect(b.otherCommits).toBe(seen + 1);
    seen = b.otherCommits!;
    await a.commit({ updateTokens: [{ id: 'tok_unknown', patch: { revokedAt: 1 } }] });
    await until("a's token change announced", () => b.otherCommits !== seen);
    expect(b.otherCommits).toBe(seen + 1);
  }, 60_000);

  it('a lost listening connection: reads stay correct, the count stands still, reopened with a backoff', async () => {
    const url = await migratedDatabase();
    const database = new URL(url).pathname.slice(1);
    const logged: [string, object, string][] = [];
    const logger = {
      warn: (fields: object, message: string) => logged.push(['warn', fields, message]),
      info: (fields: object, message: string) => logged.push(['info', fields, message]),
    };
    const a = await openStore({ url });
    const b = await openStore({ url, logger });
    open.push(a, b);
    const ca = makeCa();
    await a.commit({ insertCa: [ca] });
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    const admin = new pg.Client({ connectionString: cluster.url }); // a database cannot refuse its own connections
    await admin.connect();
    clients.push(sql, admin);
    expect(b.otherCommits).toBe(0);
    await until('b listens', async () => (await listeners(sql)).length === 1);
    const listening = b.otherCommits!;
    expect((await b.cas.findById(ca.id))?.name).toBe(ca.name); // b's pool holds a connection from here on
    // the listening backend terminated, and no new connection accepted for a while (the pool keeps its own)
    const connects = vi.spyOn(pg.Client.prototype, 'connect');
    try {
      await admin.query(`alter database "${database}" allow_connections false`);
      const [pid] = await listeners(sql);
      await sql.query('select pg_terminate_backend($1)', [pid]);
      await until('b notices the loss', () => b.otherCommits !== listening);
      const down = b.otherCommits!;
      expect(down).toBe(listening + 1); // once: a commit announced before it noticed may have been missed
      // another instance's change, not announced to b: its reads answer it; the count stands still for 1.5 s of reads
      await sql.query('update certificate_authorities set name = $1 where id = $2', ['renamed-in-outage', ca.id]);
      for (const end = performance.now() + 1500; performance.now() < end;) {
        expect(b.otherCommits).toBe(down);
        expect((await b.cas.findById(ca.id))?.name).toBe('renamed-in-outage');
        await new Promise((res) => setTimeout(res, 5));
      }
      // retried after 100, 200, 400, 800 ms (LISTEN_RETRY_MS), not at every read
      expect(connects.mock.calls.length).toBeGreaterThanOrEqual(2);
      expect(connects.mock.calls.length).toBeLessThanOrEqual(5);
      expect(logged.map(([level]) => level)).toEqual(['warn']); // once per outage
      await admin.query(`alter database "${database}" allow_connections true`);
      await until('b listens again', async () => (await listeners(sql)).length === 1);
      await until('the outage logged as ended', () => logged.length === 2);
    } finally {
      await admin.query(`alter database "${database}" allow_connections true`);
      connects.mockRestore();
    }
    expect(logged.map(([level]) => level)).toEqual(['warn', 'info']);
    expect(JSON.stringify(logged)).not.toContain(url);
    expect(b.otherCommits).toBe(listening + 2); // the LISTEN answered: what was remembered meanwhile is read again
    const seen = b.otherCommits!;
    await a.commit({ updateCa: [{ id: ca.id, patch: { name: 'renamed-by-a' } }] });
    await until("a's change announced after the reconnect", () => b.otherCommits !== seen);
    expect(b.otherCommits).toBe(seen + 1);
    expect((await b.cas.findById(ca.id))?.name).toBe('renamed-by-a');
  }, 60_000);

  it('answers concurrent callers their own rows; the next call sees what another instance committed', async () => {
    const { a, b } = await setup();
    const cas = [makeCa(), makeCa(), makeCa()];
    await b.commit({ insertCa: cas });
    const byId = await Promise.all([...cas, ...cas].map((ca) => a.cas.findById(ca.id)));
    expect(byId).toEqual([...cas, ...cas]);
    expect(new Set(byId).size).toBe(6); // one object per caller
    const byName = await Promise.all([a.cas.findByName(cas[1]!.name), a.cas.findByName('nope'), a.cas.findById('x')]);
    expect(byName).toEqual([cas[1], undefined, undefined]);
    const reads = Array.from({ length: 8 }, () => a.cas.findById(cas[0]!.id)); // in flight while b disables it
    await b.commit({ updateCa: [{ id: cas[0]!.id, patch: { status: 'disabled' } }] });
    expect((await a.cas.findById(cas[0]!.id))?.status).toBe('disabled');
    await Promise.all(reads);
  }, 60_000);
});
