/**
 * Read repositories (and the few single-statement writes that need no audit event), written once
 * over the dialect-neutral Drizzle view (see query-db.ts) and shared by both engines.
 */
import {
  and,
  asc,
  count,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  lt,
  lte,
  max,
  or,
  getTableColumns,
  sql,
  sum,
  type Column,
  type SQL,
} from 'drizzle-orm';
import { CERTIFICATE_STATUSES } from './types';
import type {
  RequestStatus,
  AuditRepository,
  StoreRepositories,
  CaRepository,
  CaRow,
  CertificateRepository,
  CertificateQuery,
  CertificateRequestRow,
  CertificateRow,
  CertificateStatus,
  ExportedRows,
  KeyBlobRepository,
  NameCoverage,
  RequestRepository,
  RowKey,
  LoginFailureRepository,
  SessionRepository,
  SettingsRepository,
  StoreDialect,
  StoreTableName,
  TokenRepository,
  UserRepository,
  UserIdentityRepository,
  NotificationRepository,
} from './types';
import { affectedRows, tableByName, type QueryDb, type Tables } from './query-db';
import { afterCursor, afterKeyCursor, pageSize, toPage } from './pagination-cursor';
import { verifyAuditChain } from './audit-verify';
import { createSpiffeRepository } from './spiffe-repository';
import { PkiError } from '@pkim/shared';
import { createSshRepository } from './ssh-repository';
import { createBulkJobRepository } from './bulk-job-repository';
import { createIdempotencyRepository } from './idempotency-repository';
import { createCrlDeltaBaseRepository, createCrlDeltaRepository } from './crl-delta-base-repository';
import { createAcmeRepository } from './acme-repository';
import { createOcspResponseRepository, type OcspLookupRead } from './ocsp-repository';
import { prefixRange, searchPrefixes } from './certificate-search-terms';

/** What createRepositories makes: a store's repositories, with the writes that go through its commit left out. */
export interface Repositories extends Omit<StoreRepositories, 'certificates' | 'audit'> {
  /** `markExpired` is a write that maintains the counters: each store runs it in a transaction */
  certificates: Omit<CertificateRepository, 'markExpired'>;
  /** every AuditRepository method except `append`, which goes through the store's commit */
  audit: Omit<AuditRepository, 'append'>;
  exportRows(table: StoreTableName, afterKey: RowKey | null, limit: number): Promise<ExportedRows>;
}

const STATUSES: CertificateStatus[] = ['active', 'revoked', 'expired'];

/** `%term%` for LIKE with the wildcards of the term escaped (ESCAPE '\'). */
function likeTerm(term: string): string {
  return `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `acme.*` matches every action of a noun (a prefix); anything else one action exactly. */
function actionFilter(column: Column, action: string): SQL {
  if (!action.endsWith('.*')) return eq(column, action);
  const prefix = action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql`${column} like ${`${prefix}%`} escape '\\'`;
}

/** Cursor of the domains view: base64url of the last name of the page. */
function decodeNameCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!name || name.length > 300) throw new PkiError('input.invalid', 'The page cursor is not valid');
  return name;
}

/** who acted, by kind: a user before a token of the same name (the cursor holds the index) */
const ACTOR_KINDS = ['user', 'token'] as const;
interface NamedActor {
  id: string;
  kind: (typeof ACTOR_KINDS)[number];
  name: string;
}
const utf8 = (s: string) => Buffer.from(s, 'utf8');
/** the order of `audit.namedActors`: name in code point order (UTF-8 bytes, as the databases compare), kind, id */
function compareActors(a: NamedActor, b: NamedActor): number {
  return (
    Buffer.compare(utf8(a.name), utf8(b.name)) ||
    ACTOR_KINDS.indexOf(a.kind) - ACTOR_KINDS.indexOf(b.kind) ||
    Buffer.compare(utf8(a.id), utf8(b.id))
  );
}
/** Cursor of `audit.namedActors`: base64url of the page's last `[name, kind index, id]`. */
function encodeActorCursor(a: NamedActor): string {
  return Buffer.from(JSON.stringify([a.name, ACTOR_KINDS.indexOf(a.kind), a.id]), 'utf8').toString('base64url');
}
function decodeActorCursor(cursor: string): { name: string; kind: number; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 3) {
      const [name, kind, id] = v as unknown[];
      if (typeof name === 'string' && (kind === 0 || kind === 1) && typeof id === 'string') return { name, kind, id };
    }
  } catch {
    // fall through
  }
  throw new PkiError('input.invalid', 'The page cursor is not valid (pass back the nextCursor of a previous page)');
}

/**
 * the name-prefix test of `audit.namedActors`, the same on both engines: each character of `q` matches itself and its
 * lower- and upper-case forms (JavaScript's, where one character: 'é' matches 'É', 'ß' only itself); the rest of the
 * name is anything. SQLite's lower() folds A–Z only and PostgreSQL's follows the database's locale, so neither is used.
 */
export function namePrefixCondition(dialect: StoreDialect, name: Column, q: string): SQL {
  // (by code point, as both engines match: Array.from, not UTF-16 units)
  const single = (f: string) => Array.from(f).length === 1;
  const chars = Array.from(q).map((ch) => Array.from(new Set([ch, ch.toLowerCase(), ch.toUpperCase()])).filter(single));
  if (dialect === 'sqlite') {
    // GLOB: a class of the forms; a lone `*`, `?` or `[` in a class of its own (nothing else is special outside one)
    const glob = chars.map((f) => (f.length > 1 || /^[*?[]$/.test(f[0]!) ? `[${f.join('')}]` : f[0]!)).join('');
    return sql`${name} glob ${`${glob}*`}`;
  }
  // an anchored regular expression: a class of the forms; an ASCII character neither letter nor digit escaped
  const re = chars.map((f) =>
    f.length > 1 ? `[${f.join('')}]` : f[0]! < '\u0080' && !/^\w$/.test(f[0]!) ? `\\${f[0]!}` : f[0]!,
  );
  return sql`${name} ~ ${`^${re.join('')}`}`;
}

/**
 * One kind's query of `audit.namedActors` (exported for the query-plan tests): the users' or the API tokens' names
 * in code point order from an index in that order — SQLite's BINARY users_username_uq and api_tokens_name_idx,
 * PostgreSQL's "C" users_username_c_idx and api_tokens_name_c_idx (0049) — from the cursor on, each candidate that
 * passes `q` probing audit_events_actor_seq_idx once, until `n` rows: never a scan of the log nor a sort.
 */
export function namedActorsArmQuery(
  db: QueryDb,
  t: Tables,
  dialect: StoreDialect,
  kind: 'user' | 'token',
  query: { q?: string; after?: { name: string; kind: number; id: string } },
  n: number,
) {
  const A = t.auditEvents;
  const [id, name, created] =
    kind === 'user'
      ? [t.users.id, t.users.username, t.users.createdAt]
      : [t.apiTokens.id, t.apiTokens.name, t.apiTokens.createdAt];
  // by name in code point order on both engines (SQLite's BINARY; PostgreSQL's "C"), a user before a token
  const bin = (c: Column) => (dialect === 'postgres' ? sql`${c} collate "C"` : sql`${c}`);
  const k = ACTOR_KINDS.indexOf(kind);
  const after = query.after;
  // the rows after the cursor's (name, kind, id) in this kind; the name's bound first, where the index starts
  const past =
    after === undefined
      ? undefined
      : k > after.kind
        ? sql`${bin(name)} >= ${after.name}`
        : k < after.kind
          ? sql`${bin(name)} > ${after.name}`
          : sql`${bin(name)} >= ${after.name} and (${bin(name)} > ${after.name} or ${bin(id)} > ${after.id})`;
  return db
    .select({ id: sql<string>`${id}`, name: sql<string>`${name}`, createdAt: sql<number>`${created}` })
    .from(kind === 'user' ? t.users : t.apiTokens)
    .where(
      and(
        query.q ? namePrefixCondition(dialect, name, query.q) : undefined,
        past,
        // one probe of the actor index (audit_events_actor_seq_idx) per candidate, until the page is full
        sql`exists (select 1 from ${A} where ${A.actor} = ${id})`,
      ),
    )
    .orderBy(bin(name), bin(id))
    .limit(n);
}

function safeInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new PkiError('input.invalid', `${what} must be an integer, got ${v}`);
  return v;
}

/** The query of `findAllBySerial` (exported for the query-plan test): one unique-index probe per CA. */
export function findAllBySerialQuery(db: QueryDb, t: Tables, caIds: string[], serialHex: string) {
  const C = t.certificates;
  return db
    .select()
    .from(C)
    .where(and(inArray(C.caId, caIds), eq(C.serialHex, serialHex.toLowerCase())))
    .orderBy(asc(C.createdAt), asc(C.id));
}

/**
 * `certificates.list({ search })`: the certificate has a search term (`certificate_names`, see
 * certificate-search-terms.ts) that starts with the search — one index range per prefix, on both engines.
 */
export function searchCondition(db: QueryDb, t: Tables, dialect: StoreDialect, search: string, dense = false): SQL {
  const N = t.certificateNames;
  const where = searchRanges(t, dialect, search);
  if (dense) {
    // many matches: walk the listing's own index and keep a row when one of its few terms matches (an EXISTS over
    // the certificate_id index; PostgreSQL's holds (created_at, certificate_id, name): index only, migration 0033)
    // — instead of collecting and sorting every matching certificate
    const C = t.certificates;
    const own =
      dialect === 'postgres'
        ? sql`${N.createdAt} = ${C.createdAt} and ${N.certificateId} = ${C.id}`
        : sql`${N.certificateId} = ${C.id}`;
    return sql`exists (select 1 from ${N} where ${own} and ${where})`;
  }
  return inArray(t.certificates.id, db.select({ id: N.certificateId }).from(N).where(where));
}

/**
 * A page of the listing in expiry order (`sort: 'expiry_asc' | 'expiry_desc'`), ties by id — exported for the
 * query-plan tests. With a status it is a range of (status, not_after, id) (migration 0035), in order, no sort.
 */
export function expiryOrderQuery(db: QueryDb, t: Tables, where: SQL | undefined, direction: 'asc' | 'desc', n: number) {
  const C = t.certificates;
  const order = direction === 'asc' ? [asc(C.notAfter), asc(C.id)] : [desc(C.notAfter), desc(C.id)];
  return db
    .select()
    .from(C)
    .where(where)
    .orderBy(...order)
    .limit(n);
}

/**
 * A page of the listing by revocation time (`sort: 'revoked_desc'`): the revoked certificates, the latest revocation
 * first, ties by id — certificates_revoked_at_idx (migration 0044: (revoked_at, id) of the rows that have a revocation
 * time, so an issuance writes no entry) walked backwards, stopping at the page. On SQLite the other filters are row
 * tests on its rows (`+ca_id`, `+status`…), so no filter's own index with a sort of its matches is chosen instead; a
 * search is a probe of the row's own terms (searchCondition's dense form). Exported for the query-plan tests.
 */
export function revokedOrderQuery(
  db: QueryDb,
  t: Tables,
  dialect: StoreDialect,
  q: Omit<CertificateQuery, 'limit' | 'sort'>,
  n: number,
) {
  const C = t.certificates;
  const rowTest = dialect === 'sqlite';
  const where = and(
    isNotNull(C.revokedAt),
    caCondition(t, q, rowTest),
    // only a revoked row has a revocation time (a revocation sets both; nothing else changes a revoked row's status):
    // `revoked` is implied — as a condition PostgreSQL intersected it with the status index and sorted the matches
    q.status && q.status !== 'revoked' ? statusCondition(t, dialect, q.status, q.now, rowTest) : undefined,
    q.profile ? (rowTest ? sql`+${C.profile} = ${q.profile}` : eq(C.profile, q.profile)) : undefined,
    q.provisioner
      ? rowTest
        ? sql`+${C.provisioner} = ${q.provisioner}`
        : eq(C.provisioner, q.provisioner)
      : undefined,
    q.expiringBefore !== undefined ? expiringBeforeCondition(t, q.expiringBefore, q.now, rowTest) : undefined,
    q.search?.trim() ? searchCondition(db, t, dialect, q.search, true) : undefined,
    q.requester !== undefined ? requesterCondition(db, t, q.requester) : undefined,
    afterKeyCursor(C.revokedAt, C.id, q.cursor, 'desc'),
  );
  return db.select().from(C).where(where).orderBy(desc(C.revokedAt), desc(C.id)).limit(n);
}

/**
 * The arms of a page in expiry order (`expiryMergedPage`): one per stored status the listing's status filter takes,
 * each an equality on `status` — a range of (status, not_after, id) in the page's order (migration 0035). Every row has
 * one of CERTIFICATE_STATUSES, so without a status the three arms are the whole inventory; `expired` read at `now`
 * (statusCondition) is the stored expired rows and the active rows up to `now`, the start of active's range.
 */
export function expiryArms(
  t: Tables,
  dialect: StoreDialect,
  status?: CertificateStatus,
  now?: number,
): { status: CertificateStatus; where: SQL }[] {
  const C = t.certificates;
  if (!status) return CERTIFICATE_STATUSES.map((s) => ({ status: s, where: eq(C.status, s) }));
  if (status === 'expired' && now !== undefined)
    return [
      { status: 'expired', where: eq(C.status, 'expired') },
      { status: 'active', where: and(eq(C.status, 'active'), lte(C.notAfter, now))! },
    ];
  return [{ status, where: statusCondition(t, dialect, status, now) }];
}

/**
 * The stored statuses a CA / profile filter has certificates of, from the counters (certificate_counts): an arm of
 * another status would walk that status's whole range and find nothing (a CA without a revoked certificate among
 * 50,000 revoked ones: 1.2 s a page at 1,000,000 certificates)
 */
async function statusesHeld(db: QueryDb, t: Tables, q: { caId?: string; caIds?: string[]; profile?: string }) {
  const CC = t.certificateCounts;
  const rows = await db
    .select({ status: CC.status })
    .from(CC)
    .where(
      and(
        gt(CC.count, 0),
        q.caId ? eq(CC.caId, q.caId) : undefined,
        q.caIds ? (q.caIds.length ? inArray(CC.caId, q.caIds) : sql`1 = 0`) : undefined,
        q.profile ? eq(CC.profile, q.profile) : undefined,
      ),
    )
    .groupBy(CC.status);
  return new Set(rows.map((r) => r.status));
}

/**
 * A page in expiry order from its arms (`expiryArms`, each with the page's other filters and cursor added): the first
 * `n` of each arm, merged — at most arms × n rows, no sort of a filter's every match. A filter a status range holds
 * densely (a CA, a profile: a quarter, a third of the rows) is a row test as its range is walked, which stops at the
 * page; the no-filter page reads ≤ 3 × n index entries instead of reading and sorting every row (1,000,000
 * certificates: docs/benchmarks-record.md "Session 28: inventory"). No index holds every row in expiry order — one on
 * (not_after, id) or (ca_id, not_after, id) would cost each issuance a B-tree more. PostgreSQL: one statement, the arms
 * as `UNION ALL` of ordered, limited selects (one round trip); SQLite (in-process): a statement per arm, merged here.
 * Ids are `prefix_` + [0-9a-z], which every collation orders as their bytes, so the merge's `<` on ids is the
 * database's order (the cursor's comparison too). Exported for the query-plan tests.
 */
export function expiryMergedQuery(
  db: QueryDb,
  t: Tables,
  arms: (SQL | undefined)[],
  direction: 'asc' | 'desc',
  n: number,
) {
  const C = t.certificates;
  const order = direction === 'asc' ? [asc(C.notAfter), asc(C.id)] : [desc(C.notAfter), desc(C.id)];
  const [first, ...rest] = arms.map((where) => expiryOrderQuery(db, t, where, direction, n));
  if (!first) throw new Error('expiryMergedQuery: no arm');
  if (rest.length === 0) return first;
  // (PostgreSQL's dialect puts each member in parentheses, so each keeps its ORDER BY and LIMIT)
  let union = first.unionAll(rest[0]!);
  for (const q of rest.slice(1)) union = union.unionAll(q);
  return union.orderBy(...order).limit(n);
}

/** the page of `expiryMergedQuery`: PostgreSQL runs that statement, SQLite each arm (in-process), merged */
export async function expiryMergedPage(
  db: QueryDb,
  t: Tables,
  dialect: StoreDialect,
  arms: (SQL | undefined)[],
  direction: 'asc' | 'desc',
  n: number,
): Promise<CertificateRow[]> {
  if (arms.length === 0) return [];
  if (dialect === 'postgres' || arms.length === 1) return await expiryMergedQuery(db, t, arms, direction, n);
  const pages = await Promise.all(
    arms.map(async (where) => (await expiryOrderQuery(db, t, where, direction, n)) as CertificateRow[]),
  );
  const sign = direction === 'asc' ? 1 : -1;
  return pages
    .flat()
    .sort((a, b) => sign * (a.notAfter - b.notAfter || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
    .slice(0, n);
}

/**
 * `certificates.list({ requester })`, a requester's own inventory: the certificates issued from the requests this user
 * submitted — found from the requests (by requester, certificate_requests_requester_created_idx) through each
 * request's certificate_id (the primary key of certificates) that names that request back (both written in the
 * approval's one unit of work). As `request_id IN (the user's requests)` there is no index from a
 * request to its certificate: PostgreSQL hashed the requests and read every certificate (a seq scan), SQLite walked
 * every certificate newest first until the page was full — all of them for a requester with few certificates.
 * `dense` (the user has at least DENSE_MATCHES requests): that walk, which finds a page sooner than reading and
 * sorting thousands of certificates (1,000,000 certificates, 9,900 of one requester: 27 ms a page walked, 400 ms
 * read by request). Exported for the query-plan tests.
 */
export function requesterCondition(db: QueryDb, t: Tables, requester: string, dense = false): SQL {
  const C = t.certificates;
  const R = t.certificateRequests;
  if (dense) return inArray(C.requestId, db.select({ id: R.id }).from(R).where(eq(R.requester, requester)));
  const theirs = db.select({ certificateId: R.certificateId, id: R.id }).from(R).where(eq(R.requester, requester));
  return sql`(${C.id}, ${C.requestId}) in (${theirs})`;
}

/**
 * `certificates.list({ requester, sort: 'expiry_asc' | 'expiry_desc' })`: a requester's certificates in expiry order
 * from their issued requests — (requester, certificate_not_after, certificate_id) over the requests that name their
 * certificate (certificate_requests_requester_expiry_idx, migration 0038; the approval writes certificate_not_after
 * with certificate_id), each certificate by its primary key, the other filters (`where`) tested on its row — walked in
 * the page's order, stopping at the page: 9,900 certificates of one requester were read and sorted whole
 * (docs/benchmarks-record.md "Session 30: inventory"). A cross join: SQLite keeps the requests as the outer loop (with
 * an inner join it may drive from a filter's index of certificates and sort). The request names its certificate; the
 * certificate's `request_id` naming it back (requesterCondition's test, the same approval's write) is left out: as a
 * second join condition PostgreSQL estimated 1 row of the 9,900 and read and sorted them all. The cursor is the
 * certificate's (not_after, id), which the request holds. Exported for the query-plan tests.
 */
export function requesterExpiryQuery(
  db: QueryDb,
  t: Tables,
  requester: string,
  where: SQL | undefined,
  page: { direction: 'asc' | 'desc'; n: number; cursor?: string | null },
) {
  const C = t.certificates;
  const R = t.certificateRequests;
  const { direction, n } = page;
  const order =
    direction === 'asc'
      ? [asc(R.certificateNotAfter), asc(R.certificateId)]
      : [desc(R.certificateNotAfter), desc(R.certificateId)];
  return db
    .select(getTableColumns(C))
    .from(R)
    .crossJoin(C)
    .where(
      and(
        eq(R.requester, requester),
        // the index's own condition (a partial index: the planners use it only when the query states it)
        isNotNull(R.certificateId),
        afterKeyCursor(R.certificateNotAfter, R.certificateId, page.cursor, direction),
        eq(C.id, R.certificateId),
        where,
      ),
    )
    .orderBy(...order)
    .limit(n);
}

/**
 * The listing's CA filter (`caId`, `caIds`: a user's scope); `rowTest` (SQLite, another filter drives the page: a
 * requester's few certificates from their requests) makes it a row test, `+ca_id` — or SQLite walks the CA's index and
 * tests every row of the CA against the requests. Exported for the query-plan tests.
 */
export function caCondition(t: Tables, q: { caId?: string; caIds?: string[] }, rowTest = false): SQL | undefined {
  const C = t.certificates;
  const conds: SQL[] = [];
  if (q.caId) conds.push(rowTest ? sql`+${C.caId} = ${q.caId}` : eq(C.caId, q.caId));
  if (q.caIds) {
    const ids = sql.join(
      q.caIds.map((id) => sql`${id}`),
      sql`, `,
    );
    conds.push(!q.caIds.length ? sql`1 = 0` : rowTest ? sql`+${C.caId} in (${ids})` : inArray(C.caId, q.caIds));
  }
  return and(...conds);
}

/** the name ranges of a search (one per prefix it stands for) */
function searchRanges(t: Tables, dialect: StoreDialect, search: string): SQL {
  const N = t.certificateNames;
  const prefixes = searchPrefixes(search);
  if (prefixes.length === 0) throw new PkiError('input.invalid', 'The search term is empty');
  const ranges = prefixes.map((p) => {
    const [low, high] = prefixRange(p);
    // PostgreSQL compares text in the database's collation; the index uses text_pattern_ops (byte order)
    return dialect === 'postgres'
      ? sql`(${N.name} ~>=~ ${low} and ${N.name} ~<~ ${high})`
      : and(gte(N.name, low), lt(N.name, high))!;
  });
  return ranges.length === 1 ? ranges[0]! : or(...ranges)!;
}

/**
 * `certificates.list({ expiringBefore })`: active and notAfter before the time — and, read at `now`
 * (CertificateQuery.now), after it: a certificate past its end is expired (statusCondition), not expiring, in the
 * listing as on the dashboard. Dense (SQLite, newest-first order): SQLite would otherwise read every expiring row
 * through (status, not_after) and sort them by creation time; the unary + keeps it on the creation-time index, which
 * finds a page after a few rows (PostgreSQL estimates this itself).
 */
export function expiringBeforeCondition(t: Tables, before: number, now?: number, dense = false): SQL {
  const C = t.certificates;
  if (dense) {
    return now === undefined
      ? sql`+${C.status} = 'active' and +${C.notAfter} < ${before}`
      : sql`+${C.status} = 'active' and +${C.notAfter} < ${before} and +${C.notAfter} > ${now}`;
  }
  return and(eq(C.status, 'active'), lt(C.notAfter, before), now === undefined ? undefined : gt(C.notAfter, now))!;
}

/**
 * The listing's status filter as a reader sees it at `now` (CertificateQuery.now): an active row whose notAfter has
 * passed is expired before the background job marks it, so `expired` takes it and `active` leaves it out — the same
 * `notAfter <= now` the job and the authority's view use. Without `now`, the stored status alone.
 * On SQLite `active`'s end-date test is a unary `+not_after`: a row test, never an index range — as a range SQLite
 * read every active row through (status, not_after) and sorted them (1,000,000 rows: "CA + status = active" 1.3 s
 * instead of ≈ 1 ms); the rows past their end are few, so the index the status (and CA) choose finds a page at once.
 * `dense` on SQLite: every status is a row test (`+status`) — `expired` for a dense walk, any status when another
 * filter drives the page (a requester's certificates by their requests: `rowTests` in `list`).
 */
export function statusCondition(
  t: Tables,
  dialect: StoreDialect,
  status: CertificateStatus,
  now: number | undefined,
  dense = false,
): SQL {
  const C = t.certificates;
  // `dense` on SQLite with another filter driving the page (a requester's few certificates): a row test too
  const rowTest = dense && dialect === 'sqlite';
  if (now === undefined || status === 'revoked') return rowTest ? sql`+${C.status} = ${status}` : eq(C.status, status);
  if (status === 'active')
    return dialect === 'sqlite'
      ? sql`${sql.raw(rowTest ? '+' : '')}${C.status} = 'active' and +${C.notAfter} > ${now}`
      : and(eq(C.status, 'active'), gt(C.notAfter, now))!;
  // dense `expired` (SQLite, newest first): as expiringBeforeCondition — a row test on the creation-time walk instead
  // of collecting both statuses' matches and sorting them (1,000,000 rows, 5 % expired: 225 ms → ≈ 1 ms)
  if (dense) return sql`(+${C.status} = 'expired' or (+${C.status} = 'active' and +${C.notAfter} <= ${now}))`;
  return or(eq(C.status, 'expired'), and(eq(C.status, 'active'), lte(C.notAfter, now)))!;
}

/**
 * Above this many matching index entries a filter counts as dense: a page is found sooner by walking the listing's
 * order and testing each row than by collecting every match and sorting it (which grows with the matches: a
 * search for `example.com` or "expiring within 30 days" at 1,000,000 certificates). Counted with LIMIT, so the
 * probe itself costs at most this many index entries.
 */
export const DENSE_MATCHES = 2000;

/**
 * How many rows of the listing's order (newest first) a dense search walks at most. Matches spread over the
 * inventory (`example.com`, a SAN label on every thousandth certificate) fill a page within them; matches clustered
 * away from the newest rows do not — the serials of one minute (serials start with the issuance time, so 8 hex
 * digits are a 65.5 s window: 65,536 certificates at 1,000/s), a batch of names issued months ago — and a walk of
 * the newer rows would read the whole inventory above them (issue #12 item 7). The rest of such a page is read
 * from the search terms of the matches older than the walked rows (`denseSearchPage`, `searchMatchesQuery`): a page
 * reads at most this many rows, the matches' terms (index only) and its own certificates, never every newer row.
 */
export const DENSE_WALK = 10_000;

/**
 * the last row a walk of `walk` rows of the listing's order reads, newest first, after `cursor` (a condition, see
 * afterCursor): index only
 */
export function denseWalkEdgeQuery(db: QueryDb, t: Tables, cursor: SQL | undefined, walk = DENSE_WALK) {
  const C = t.certificates;
  return db
    .select({ createdAt: C.createdAt, id: C.id })
    .from(C)
    .where(cursor)
    .orderBy(desc(C.createdAt), desc(C.id))
    .limit(1)
    .offset(walk - 1);
}

/** a dense search's page: the search, the page's other conditions (its cursor included) and its size */
export interface DenseSearch {
  db: QueryDb;
  t: Tables;
  dialect: StoreDialect;
  search: string;
  where: SQL | undefined;
  n: number;
  /** the walk's length (OpenStoreOptions.denseWalk; default DENSE_WALK) */
  walk?: number;
}

/** the last row a dense walk reads: the DENSE_WALK-th of the listing's order after the cursor */
interface WalkEdge {
  createdAt: number;
  id: string;
}

/**
 * The walk of a dense search (exported for the query-plan test): the listing's order index from the newest row
 * after the cursor down to `edge` (none when fewer than DENSE_WALK rows are left), the search tested on each.
 */
export function denseWalkQuery(s: DenseSearch, edge: WalkEdge | undefined) {
  const C = s.t.certificates;
  return denseSearchRows(s, edge ? sql`(${C.createdAt}, ${C.id}) >= (${edge.createdAt}, ${edge.id})` : undefined)
    .orderBy(desc(C.createdAt), desc(C.id))
    .limit(s.n);
}

/** the certificates of a dense walk: the listing's order within `bound`, the search tested on each row */
function denseSearchRows({ db, t, dialect, search, where }: DenseSearch, bound: SQL | undefined) {
  return db
    .select()
    .from(t.certificates)
    .where(and(where, searchCondition(db, t, dialect, search, true), bound));
}

/**
 * A search's matches in the listing's order (newest first), from the search terms alone (exported for the query-plan
 * test): each term carries its certificate's creation time (migration 0032), so the name range gives every match's
 * (created_at, id) without reading a row of `certificates`; they are sorted — distinct: two terms of a certificate
 * may both match — and only the certificates of the page are read, each tested on the page's other conditions in
 * that order until the page is full. `bound`: the terms' own (created_at, certificate_id) condition (the cursor, or
 * a dense walk's edge); `filtered`: the page has conditions besides the search and its bound — without any, the
 * newest `n` matches are the page and the sort keeps only those (a top-N).
 */
export function searchMatchesQuery(s: DenseSearch, bound: SQL | undefined, filtered: boolean, walk = false) {
  const { db, t } = s;
  const C = t.certificates;
  const N = t.certificateNames;
  // PostgreSQL but for a dense search's walk: the order by `created_at + 0`, which no index gives — by created_at the
  // planner would read certificate_names_created_idx (0033) backwards, testing the name of every newer term until
  // it had the page (a serial prefix under 630,000 newer certificates, with a status filter: 706 ms instead of ≈ 60);
  // so it sorts the name range (in parallel when large), as before 0033. A walk wants that index: its bound is the
  // newest DENSE_WALK certificates.
  const createdAt =
    s.dialect === 'postgres' && !walk ? sql<number>`${N.createdAt} + 0`.as('created_order') : N.createdAt;
  const matches = db
    .selectDistinct({ createdAt, certificateId: N.certificateId })
    .from(N)
    .where(and(searchRanges(t, s.dialect, s.search), bound))
    .orderBy(desc(createdAt), desc(N.certificateId));
  // (a LIMIT either way: SQLite drops the ORDER BY of a FROM subquery without one, and then sorts the whole join)
  const m = matches.limit(filtered ? Number.MAX_SAFE_INTEGER : s.n).as('m');
  // a cross join: SQLite keeps the sorted matches as the outer loop (an inner join let it drive from a filter's
  // index and sort afterwards), and the outer ORDER BY is the subquery's own order, so the first `n` rows end it
  return db
    .select(getTableColumns(C))
    .from(m)
    .crossJoin(C)
    .where(and(eq(C.id, m.certificateId), s.where))
    .orderBy(desc(m.createdAt), desc(m.certificateId))
    .limit(s.n);
}

/**
 * The (created_at, certificate_id) of a search's terms within `bound` on PostgreSQL behind a fence (a FROM subquery
 * with a LIMIT no query reaches), the name index read backwards: a query above it that orders them with a LIMIT
 * would otherwise read certificate_names_created_idx backwards instead (as searchMatchesQuery's `created_at + 0`).
 */
function fencedTerms(s: DenseSearch, bound: SQL | undefined) {
  const N = s.t.certificateNames;
  return s.db
    .select({ createdAt: N.createdAt, certificateId: N.certificateId })
    .from(N)
    .where(and(searchRanges(s.t, s.dialect, s.search), bound))
    .orderBy(sql`${N.name} using ~>~`)
    .limit(Number.MAX_SAFE_INTEGER)
    .as('f');
}

/**
 * A page of an unfiltered dense search's matches older than its walk (`bound`) on PostgreSQL: the newest 2 × n terms
 * of the name range in a top-N sort, instead of sorting every term distinct (a serial prefix's 65,536 terms: 20 ms
 * instead of 43), fed by the name index read backwards (a name's terms newest first, and time-first serials newest
 * first: most terms then miss the top-N at its first comparison); then those certificates by id, in that order. When
 * a certificate's several matching terms leave fewer than n of them, the page comes from searchMatchesQuery. (With
 * other filters: newestFilteredMatchesQuery.)
 */
async function newestMatches(s: DenseSearch, bound: SQL): Promise<CertificateRow[]> {
  const C = s.t.certificates;
  const terms = fencedTerms(s, bound);
  const top = 2 * s.n;
  const newest = await s.db
    .select({ createdAt: terms.createdAt, certificateId: terms.certificateId })
    .from(terms)
    .orderBy(desc(terms.createdAt), desc(terms.certificateId))
    .limit(top);
  // sorted by (created_at, id): a certificate's terms are adjacent
  const ids = newest.map((r) => r.certificateId).filter((id, i, all) => i === 0 || all[i - 1] !== id);
  const page = ids.slice(0, s.n);
  const rows = page.length ? ((await s.db.select().from(C).where(inArray(C.id, page))) as CertificateRow[]) : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out = page.flatMap((id) => byId.get(id) ?? []);
  if (out.length < s.n && newest.length === top) return await searchMatchesQuery(s, bound, false);
  return out;
}

/**
 * How many of the newest terms a filtered page of a dense search's older matches reads on PostgreSQL, per row of the
 * page (newestFilteredMatchesQuery): a filter that passes 1 in 20 of them (a status) fills the page from 32 × n
 * terms; a rarer one finds fewer and the page comes from the sort of every match (searchMatchesQuery).
 */
export const FILTERED_TOP_PER_ROW = 32;

/**
 * A search whose terms come newest first from the name index read backwards: a serial prefix in hex, with or without
 * colons (serials begin with their issue time) — the searches newestFilteredMatchesQuery serves. A name's terms
 * come in no such order: the top-N would read and test them all before the sort of every match anyway (a SAN
 * label + status = revoked, PostgreSQL, 1M rows: p99 57 ms that way against 5 ms, docs/benchmarks-record.md "Where
 * issue #12 stands — … session 30").
 */
const TIME_FIRST_SEARCH = /^[0-9a-f:]+$/i;

/**
 * A filtered page of a dense search's matches older than its walk (`bound`) on PostgreSQL (exported for the
 * query-plan test): the newest FILTERED_TOP_PER_ROW × n terms in a top-N sort fed by the name index read backwards
 * (fencedTerms, as newestMatches: time-first serials come newest first, so most terms miss the top-N at its first
 * comparison), distinct, then each certificate by primary key tested on the page's filters in that order until n
 * pass — instead of sorting every match (a serial prefix's 65,536 terms: a sort spilled to disk, run in parallel
 * workers; 74 ms a page on an idle machine, docs/benchmarks-record.md "Session 30: inventory"). Exact when it finds n:
 * the newest K terms hold every term of the certificates above the K-th (a certificate's terms carry its
 * (created_at, id)), so the first n of those that pass are the page's first n.
 */
export function newestFilteredMatchesQuery(s: DenseSearch, bound: SQL) {
  const C = s.t.certificates;
  const terms = fencedTerms(s, bound);
  const top = s.db
    .select({ createdAt: terms.createdAt, certificateId: terms.certificateId })
    .from(terms)
    .orderBy(desc(terms.createdAt), desc(terms.certificateId))
    .limit(FILTERED_TOP_PER_ROW * s.n)
    .as('t');
  const m = s.db
    .selectDistinct({ createdAt: top.createdAt, certificateId: top.certificateId })
    .from(top)
    .orderBy(desc(top.createdAt), desc(top.certificateId))
    .limit(Number.MAX_SAFE_INTEGER)
    .as('m');
  return s.db
    .select(getTableColumns(C))
    .from(m)
    .crossJoin(C)
    .where(and(eq(C.id, m.certificateId), s.where))
    .orderBy(desc(m.createdAt), desc(m.certificateId))
    .limit(s.n);
}

/** the terms' condition for the rows after a listing cursor ((created_at, id) order, as afterCursor) */
function namesAfterCursor(t: Tables, cursor: string | null | undefined): SQL | undefined {
  return afterCursor(t.certificateNames.createdAt, t.certificateNames.certificateId, cursor);
}

/**
 * A page (`n` rows, newest first) of a dense search: the search tested on each of the next DENSE_WALK rows of the
 * listing's order; when they hold fewer than `n` matches, the rest from the matches older than the walked rows,
 * read in order from the search terms (searchMatchesQuery; on PostgreSQL newestMatches). `cursor`: the cursor's
 * condition alone on the certificates (it is in `where` too) and on the terms; `filtered` as searchMatchesQuery.
 */
async function denseSearchPage(
  s: DenseSearch,
  cursor: { condition: SQL | undefined; names: SQL | undefined },
  filtered: boolean,
): Promise<CertificateRow[]> {
  const [edge] = await denseWalkEdgeQuery(s.db, s.t, cursor.condition, s.walk);
  const N = s.t.certificateNames;
  // PostgreSQL without other filters: the walked certificates' terms in certificate_names_created_idx (0033), not
  // an EXISTS probe per walked certificate (10,000 probes: ≈ 40 ms; the terms: ≈ 5 ms)
  const walked = (
    s.dialect === 'postgres' && !filtered
      ? await searchMatchesQuery(s, denseTermsWalkBound(s.t, cursor.names, edge), false, true)
      : await denseWalkQuery(s, edge)
  ) as CertificateRow[];
  if (walked.length === s.n || !edge) return walked;
  const older = sql`(${N.createdAt}, ${N.certificateId}) < (${edge.createdAt}, ${edge.id})`;
  const rest = { ...s, n: s.n - walked.length };
  if (s.dialect === 'postgres' && !filtered) return [...walked, ...(await newestMatches(rest, older))];
  if (s.dialect === 'postgres' && TIME_FIRST_SEARCH.test(s.search.trim())) {
    // the newest terms first; fewer than the page's rows passed among them: every match, sorted
    const newest = (await newestFilteredMatchesQuery(rest, older)) as CertificateRow[];
    if (newest.length === rest.n) return [...walked, ...newest];
  }
  return [...walked, ...((await searchMatchesQuery(rest, older, filtered)) as CertificateRow[])];
}

/** the terms of a dense walk (exported for the query-plan test): after the cursor, down to the walk's edge */
export function denseTermsWalkBound(t: Tables, afterCursor: SQL | undefined, edge: WalkEdge | undefined) {
  const N = t.certificateNames;
  return and(
    afterCursor,
    edge ? sql`(${N.createdAt}, ${N.certificateId}) >= (${edge.createdAt}, ${edge.id})` : undefined,
  );
}

async function atLeast(
  db: QueryDb,
  table: Tables['certificates'] | Tables['certificateNames'] | Tables['certificateRequests'],
  where: SQL | undefined,
  n: number,
): Promise<boolean> {
  const rows = await db
    .select({ one: sql<number>`1` })
    .from(table)
    .where(where)
    .limit(1)
    .offset(n - 1);
  return rows.length > 0;
}

/**
 * `column` starts with the lowercase hex `prefix`: a range over the column's index (bounds made of hex digits only,
 * so any collation orders them as bytes do) and a LIKE that keeps the answer exact whatever the collation.
 */
export function hexPrefixCondition(column: Column, prefix: string): SQL {
  const conds = [gte(column, prefix), sql`${column} like ${`${prefix}%`}`];
  const upper = hexSuccessor(prefix);
  if (upper) conds.push(lt(column, upper));
  return and(...conds)!;
}

/** hex characters of the fingerprint that certificates_fingerprint16_idx keys on (migration 0047) */
export const FINGERPRINT_INDEXED_HEX = 16;

/** the indexed expression, written as the index is (both engines match a query's expression to an index's by text) */
function fingerprintHead(column: Column): SQL {
  return sql`substr(${column}, 1, 16)`;
}

/** the fingerprint equals `sha256Hex` (lowercase): its first 16 characters on the index, the whole value re-checked */
export function fingerprintCondition(column: Column, sha256Hex: string): SQL {
  return and(eq(fingerprintHead(column), sha256Hex.slice(0, FINGERPRINT_INDEXED_HEX)), eq(column, sha256Hex))!;
}

/**
 * The fingerprint starts with the lowercase hex `prefix`: up to 16 characters a range over the index's expression
 * (as hexPrefixCondition), longer ones its equality on the first 16; the LIKE keeps the answer exact either way.
 */
export function fingerprintPrefixCondition(column: Column, prefix: string): SQL {
  const head = fingerprintHead(column);
  const exact = sql`${column} like ${`${prefix}%`}`;
  if (prefix.length >= FINGERPRINT_INDEXED_HEX) return and(eq(head, prefix.slice(0, FINGERPRINT_INDEXED_HEX)), exact)!;
  const conds = [gte(head, prefix), exact];
  const upper = hexSuccessor(prefix);
  if (upper) conds.push(lt(head, upper));
  return and(...conds)!;
}

/** the smallest hex string above every string that starts with `prefix` ("3af" → "3b"); undefined for "fff…" */
function hexSuccessor(prefix: string): string | undefined {
  const digits = '0123456789abcdef';
  let head = prefix;
  while (head.endsWith('f')) head = head.slice(0, -1);
  return head ? head.slice(0, -1) + digits[digits.indexOf(head.slice(-1)) + 1]! : undefined;
}

/** The query of `findByFingerprint` (exported for the query-plan tests). */
export function findByFingerprintQuery(db: QueryDb, t: Tables, sha256Hex: string) {
  const C = t.certificates;
  return db.select().from(C).where(fingerprintCondition(C.fingerprintSha256, sha256Hex.toLowerCase())).limit(1);
}

/** The query of `cas.findCertificateHolders` (exported for the query-plan tests): four index lookups, OR-ed. */
export function findCertificateHoldersQuery(db: QueryDb, t: Tables, sha256Hex: string, signerId: string) {
  const CA = t.certificateAuthorities;
  return db
    .select()
    .from(CA)
    .where(
      or(
        eq(CA.fingerprintSha256, sha256Hex.toLowerCase()),
        eq(CA.id, signerId),
        eq(CA.parentId, signerId),
        eq(CA.predecessorId, signerId),
      ),
    );
}

/** The fingerprint half of `findByHexPrefix` (exported for the query-plan tests); `prefix` lowercase hex. */
export function findByFingerprintPrefixQuery(db: QueryDb, t: Tables, prefix: string, limit: number) {
  const C = t.certificates;
  return db.select().from(C).where(fingerprintPrefixCondition(C.fingerprintSha256, prefix)).limit(limit);
}

/**
 * The query of `findRenewalsOf` (exported for the query-plan test): the partial renewed_from index (only renewals
 * are in it; `renewed_from = ?` implies the index's `renewed_from is not null`).
 */
export function findRenewalsQuery(db: QueryDb, t: Tables, id: string) {
  const C = t.certificates;
  return db.select().from(C).where(eq(C.renewedFrom, id)).orderBy(desc(C.createdAt), desc(C.id));
}

/** the columns of a CRL entry (`listRevoked`, `listRevokedExpiring`) */
function revokedEntryColumns(t: Tables) {
  const C = t.certificates;
  return { serialHex: C.serialHex, revokedAt: C.revokedAt, revocationReason: C.revocationReason, notAfter: C.notAfter };
}

/**
 * The query of `listRevokedExpiring` (exported for the query-plan test): the (status, not_after) index range of the
 * window, in (not_after, serial) order, continuing after the last row of the previous page.
 */
export function revokedExpiringQuery(
  db: QueryDb,
  t: Tables,
  caId: string,
  window: { from: number; to: number },
  page: { after: { notAfter: number; serialHex: string } | null; limit: number },
) {
  const C = t.certificates;
  const a = page.after;
  return db
    .select(revokedEntryColumns(t))
    .from(C)
    .where(
      and(
        eq(C.status, 'revoked'),
        a ? gte(C.notAfter, a.notAfter) : gte(C.notAfter, window.from),
        lt(C.notAfter, window.to),
        eq(C.caId, caId),
        ...(a ? [or(gt(C.notAfter, a.notAfter), gt(C.serialHex, a.serialHex))] : []),
      ),
    )
    .orderBy(asc(C.notAfter), asc(C.serialHex))
    .limit(page.limit);
}

/**
 * The query of `firstNotAfter` for one status (exported for the query-plan test): the (status, not_after) index from
 * `from` in order, the first row of the CA.
 */
export function firstNotAfterQuery(db: QueryDb, t: Tables, caId: string, status: CertificateStatus, from: number) {
  const C = t.certificates;
  return db
    .select({ notAfter: C.notAfter })
    .from(C)
    .where(and(eq(C.status, status), gte(C.notAfter, from), eq(C.caId, caId)))
    .orderBy(asc(C.notAfter))
    .limit(1);
}

/** The query of `countByStatus` (exported for the query-plan test): reads the counters only. */
export function countByStatusQuery(db: QueryDb, t: Tables, caId?: string) {
  const CC = t.certificateCounts;
  const q = db.select({ status: CC.status, n: sum(CC.count) }).from(CC);
  return (caId ? q.where(eq(CC.caId, caId)) : q).groupBy(CC.status);
}

/** The query of `countsByCaAndProfile` (exported for the query-plan test): reads the counters only. */
export function countsByCaAndProfileQuery(db: QueryDb, t: Tables) {
  const CC = t.certificateCounts;
  return db.select().from(CC).where(gt(CC.count, 0)).orderBy(asc(CC.caId), asc(CC.profile), asc(CC.status));
}

/**
 * `ocspRead`: the engine's prepared statements of the OCSP responder's per-request read (ocsp-repository.ts);
 * `denseWalk`: OpenStoreOptions.denseWalk
 */
export function createRepositories(
  db: QueryDb,
  t: Tables,
  dialect: StoreDialect,
  ocspRead: OcspLookupRead,
  denseWalk = DENSE_WALK,
): Repositories {
  const CA = t.certificateAuthorities;
  const C = t.certificates;
  const R = t.certificateRequests;
  const A = t.auditEvents;

  const cas: CaRepository = {
    async findById(id) {
      const [row] = await db.select().from(CA).where(eq(CA.id, id));
      return row;
    },
    async findByName(name) {
      const [row] = await db.select().from(CA).where(eq(CA.name, name));
      return row;
    },
    async list() {
      return await db.select().from(CA).orderBy(asc(CA.createdAt), asc(CA.id));
    },
    async listDescendants(id) {
      // CAs are few: walk the tree in memory (breadth first, cycle-safe).
      const all = (await db.select().from(CA).orderBy(asc(CA.createdAt), asc(CA.id))) as CaRow[];
      const out: CaRow[] = [];
      const seen = new Set([id]);
      let frontier = [id];
      while (frontier.length) {
        const children = all.filter((c) => c.parentId !== null && frontier.includes(c.parentId) && !seen.has(c.id));
        for (const c of children) seen.add(c.id);
        out.push(...children);
        frontier = children.map((c) => c.id);
      }
      return out;
    },
    async findCertificateHolders(sha256Hex, signerId) {
      return await findCertificateHoldersQuery(db, t, sha256Hex, signerId);
    },
  };

  const certificates: Repositories['certificates'] = {
    async findById(id) {
      const [row] = await db.select().from(C).where(eq(C.id, id));
      return row;
    },
    async findBySerial(caId, serialHex) {
      const [row] = await db
        .select()
        .from(C)
        .where(and(eq(C.caId, caId), eq(C.serialHex, serialHex.toLowerCase())));
      return row;
    },
    async findAllBySerial(serialHex) {
      // No index on serial_hex alone (one random-key index fewer per insert): CAs are few, so probe
      // the unique (ca_id, serial_hex) index once per CA.
      const caIds = (await db.select({ id: CA.id }).from(CA)).map((r) => r.id);
      if (caIds.length === 0) return [];
      return await findAllBySerialQuery(db, t, caIds, serialHex);
    },
    async findByFingerprint(sha256Hex) {
      const [row] = await findByFingerprintQuery(db, t, sha256Hex);
      return row;
    },
    async findByHexPrefix(hexPrefix, limit) {
      const p = hexPrefix.toLowerCase();
      if (!/^[0-9a-f]+$/.test(p)) throw new PkiError('input.invalid', `'${hexPrefix}' is not hexadecimal`);
      const n = Math.max(1, Math.min(limit, 100));
      const caIds = (await db.select({ id: CA.id }).from(CA)).map((r) => r.id);
      if (caIds.length === 0) return { serial: [], fingerprint: [] };
      const [serial, fingerprint] = await Promise.all([
        db
          .select()
          .from(C)
          .where(and(inArray(C.caId, caIds), hexPrefixCondition(C.serialHex, p)))
          .limit(n),
        findByFingerprintPrefixQuery(db, t, p, n),
      ]);
      return { serial, fingerprint };
    },
    async list(query) {
      const limit = pageSize(query.limit);
      const sort = query.sort ?? 'issued_desc';
      if (sort === 'revoked_desc') {
        const rows = (await revokedOrderQuery(db, t, dialect, query, limit + 1)) as CertificateRow[];
        return toPage(rows, limit, (row) => row.revokedAt ?? 0);
      }
      const newestFirst = sort === 'issued_desc';
      // a requester's certificates are found from their requests — in expiry order by the requests' own expiry index
      // (requesterExpiryQuery), newest first unless they are dense (requesterCondition) — and a sparse search from
      // its terms: such a filter drives the page, and on SQLite
      // the other filters are row tests (`+ca_id`, `+status`: rowTests), or SQLite walks their own index instead, every
      // row of a CA for a requester with a few certificates
      const requesterDense =
        query.requester !== undefined &&
        newestFirst &&
        (await atLeast(db, R, eq(R.requester, query.requester), DENSE_MATCHES));
      const searchRangesOf = query.search?.trim() ? searchRanges(t, dialect, query.search) : undefined;
      const searchDense =
        searchRangesOf !== undefined && (await atLeast(db, t.certificateNames, searchRangesOf, DENSE_MATCHES));
      const driven =
        (query.requester !== undefined && !requesterDense) || (!newestFirst && searchRangesOf && !searchDense);
      const rowTests = dialect === 'sqlite' && Boolean(driven);
      const conds: (SQL | undefined)[] = [];
      conds.push(caCondition(t, query, rowTests));
      let status: SQL | undefined;
      if (query.status) {
        const dense =
          rowTests ||
          (dialect === 'sqlite' &&
            newestFirst &&
            query.status === 'expired' &&
            query.now !== undefined &&
            (await atLeast(db, C, statusCondition(t, dialect, 'expired', query.now), DENSE_MATCHES)));
        status = statusCondition(t, dialect, query.status, query.now, dense);
      }
      if (query.profile) conds.push(eq(C.profile, query.profile));
      if (query.provisioner)
        conds.push(rowTests ? sql`+${C.provisioner} = ${query.provisioner}` : eq(C.provisioner, query.provisioner));
      if (query.expiringBefore !== undefined) {
        const dense =
          rowTests ||
          (dialect === 'sqlite' &&
            newestFirst &&
            (await atLeast(db, C, expiringBeforeCondition(t, query.expiringBefore, query.now), DENSE_MATCHES)));
        conds.push(expiringBeforeCondition(t, query.expiringBefore, query.now, dense));
      }
      // newest first, a search reads its page from the search terms (searchMatchesQuery), after a walk when dense
      let search: { term: string; dense: boolean } | undefined;
      if (query.search?.trim()) {
        if (newestFirst) search = { term: query.search, dense: searchDense };
        else conds.push(searchCondition(db, t, dialect, query.search, searchDense));
      }
      // (in expiry order a requester's certificates are walked from their requests: requesterExpiryQuery)
      if (query.requester !== undefined && newestFirst)
        conds.push(requesterCondition(db, t, query.requester, requesterDense));
      if (newestFirst) {
        conds.push(status);
        const filtered = conds.some((c) => c !== undefined);
        const cursor = afterCursor(C.createdAt, C.id, query.cursor);
        conds.push(cursor);
        if (search) {
          const s = { db, t, dialect, search: search.term, where: and(...conds), n: limit + 1, walk: denseWalk };
          const names = namesAfterCursor(t, query.cursor);
          const rows = search.dense
            ? await denseSearchPage(s, { condition: cursor, names }, filtered)
            : ((await searchMatchesQuery(s, names, filtered)) as CertificateRow[]);
          return toPage(rows, limit);
        }
        const items = (await db
          .select()
          .from(C)
          .where(and(...conds))
          .orderBy(desc(C.createdAt), desc(C.id))
          .limit(limit + 1)) as CertificateRow[];
        return toPage(items, limit);
      }
      // a CA or profile filter: only the arms of the statuses it holds (statusesHeld)
      const heldArms = async () => {
        const arms = expiryArms(t, dialect, query.status, query.now);
        if (!query.caId && !query.caIds && !query.profile) return arms;
        const held = await statusesHeld(db, t, query);
        return arms.filter((arm) => held.has(arm.status));
      };
      const direction = sort === 'expiry_asc' ? 'asc' : 'desc';
      const cursor = afterKeyCursor(C.notAfter, C.id, query.cursor, direction);
      // a requester: their requests' expiry index walked (requesterExpiryQuery); driven (a sparse search): its
      // matches, sorted; expiring: one range of (status, not_after, id) already; otherwise each status's expiry range
      // walked, the other filters tested on its rows (expiryMergedPage)
      const items =
        query.requester !== undefined
          ? ((await requesterExpiryQuery(db, t, query.requester, and(...conds, status), {
              direction,
              n: limit + 1,
              cursor: query.cursor,
            })) as CertificateRow[])
          : driven || query.expiringBefore !== undefined
            ? ((await expiryOrderQuery(db, t, and(...conds, status, cursor), direction, limit + 1)) as CertificateRow[])
            : await expiryMergedPage(
                db,
                t,
                dialect,
                (await heldArms()).map((arm) => and(arm.where, ...conds, cursor)),
                direction,
                limit + 1,
              );
      return toPage(items, limit, (row) => row.notAfter);
    },
    async findRenewalsOf(id) {
      return await findRenewalsQuery(db, t, id);
    },
    async findSealedKey(certificateId) {
      const K = t.certificateKeys;
      const [row] = await db.select().from(K).where(eq(K.certificateId, certificateId));
      return row;
    },
    async findExpiringBefore(t0, limit = 1000, after) {
      return await db
        .select()
        .from(C)
        .where(expiringBeforeCondition(t, t0, after))
        .orderBy(asc(C.notAfter), asc(C.id))
        .limit(Math.max(1, Math.min(limit, 10_000)));
    },
    async expiryHistogram(from, to, bucketMs) {
      safeInt(from, 'from');
      safeInt(to, 'to');
      if (safeInt(bucketMs, 'bucketMs') < 1) throw new PkiError('input.invalid', 'bucketMs must be positive');
      // integer division on both engines (not_after is an integer / bigint); literals are checked integers
      const bucket = sql<number>`(${C.notAfter} - ${sql.raw(String(from))}) / ${sql.raw(String(bucketMs))}`;
      const rows = await db
        .select({ b: bucket, n: count() })
        .from(C)
        .where(and(eq(C.status, 'active'), gte(C.notAfter, from), lt(C.notAfter, to)))
        .groupBy(sql`1`)
        .orderBy(sql`1`);
      return rows.map((r) => ({ bucketStart: from + Number(r.b) * bucketMs, count: Number(r.n) }));
    },
    async listNames(query) {
      const limit = pageSize(query.limit);
      const after = query.cursor ? decodeNameCursor(query.cursor) : undefined;
      const term = query.search ? likeTerm(query.search) : undefined;
      // one row per (certificate, DNS SAN): json_each on SQLite, json_array_elements_text on PostgreSQL
      const names =
        dialect === 'sqlite'
          ? sql`certificates c, json_each(c.sans, '$.dns') j`
          : sql`certificates c cross join lateral json_array_elements_text((c.sans)::json -> 'dns') as j(value)`;
      const q = sql`select j.value as name, count(*) as n, min(c.not_after) as first, max(c.not_after) as last
        from ${names}
        where c.status = 'active'
        ${
          query.caIds
            ? query.caIds.length
              ? sql`and c.ca_id in (${sql.join(
                  query.caIds.map((id) => sql`${id}`),
                  sql`, `,
                )})`
              : sql`and 1 = 0`
            : sql``
        }
        ${term ? sql`and lower(j.value) like ${term} escape '\\'` : sql``}
        ${after !== undefined ? sql`and j.value > ${after}` : sql``}
        group by j.value order by j.value limit ${limit + 1}`;
      const raw =
        dialect === 'sqlite'
          ? db.all<Record<string, unknown>>(q)
          : (await (db as unknown as { execute(q: SQL): Promise<{ rows: Record<string, unknown>[] }> }).execute(q))
              .rows;
      const items: NameCoverage[] = raw.map((r) => ({
        name: String(r.name),
        certificates: Number(r.n),
        firstNotAfter: Number(r.first),
        lastNotAfter: Number(r.last),
      }));
      const more = items.length > limit;
      const page = more ? items.slice(0, limit) : items;
      const last = page[page.length - 1];
      return { items: page, nextCursor: more && last ? Buffer.from(last.name, 'utf8').toString('base64url') : null };
    },
    async listRevoked(caId, page) {
      // walks the (ca_id, serial_hex) unique index: each page starts where the last one ended
      const q = db
        .select(revokedEntryColumns(t))
        .from(C)
        .where(
          and(
            eq(C.caId, caId),
            eq(C.status, 'revoked'),
            ...(page?.after !== undefined && page.after !== null ? [gt(C.serialHex, page.after)] : []),
          ),
        )
        .orderBy(asc(C.serialHex));
      return page?.limit !== undefined ? await q.limit(page.limit) : await q;
    },
    async firstNotAfter(caId, from) {
      const first = await Promise.all(
        (['active', 'revoked'] as const).map((status) => firstNotAfterQuery(db, t, caId, status, from)),
      );
      const found = first.flat().map((r) => Number(r.notAfter));
      return found.length ? Math.min(...found) : undefined;
    },
    async listRevokedExpiring(caId, window, page) {
      return revokedExpiringQuery(db, t, caId, window, page);
    },
    async countByStatus(caId) {
      const grouped = await countByStatusQuery(db, t, caId);
      const out = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<CertificateStatus, number>;
      for (const g of grouped) if (g.status in out) out[g.status] = Number(g.n ?? 0);
      return out;
    },
    async countExpiringBefore(t0, after) {
      const [row] = await db
        .select({ n: count() })
        .from(C)
        .where(expiringBeforeCondition(t, t0, after));
      return Number(row?.n ?? 0);
    },
    async countsByCaAndProfile() {
      const counters = await countsByCaAndProfileQuery(db, t);
      return counters.map((g) => ({ caId: g.caId, profile: g.profile, status: g.status, count: Number(g.count) }));
    },
  };

  const requests: RequestRepository = {
    async findById(id) {
      const [row] = await db.select().from(R).where(eq(R.id, id));
      return row;
    },
    async list(query) {
      const limit = pageSize(query.limit);
      const items = (await db
        .select()
        .from(R)
        .where(
          and(
            query.status ? eq(R.status, query.status) : undefined,
            query.requester ? eq(R.requester, query.requester) : undefined,
            query.caId ? eq(R.caId, query.caId) : undefined,
            query.caIds ? (query.caIds.length ? inArray(R.caId, query.caIds) : sql`1 = 0`) : undefined,
            afterCursor(R.createdAt, R.id, query.cursor),
          ),
        )
        .orderBy(desc(R.createdAt), desc(R.id))
        .limit(limit + 1)) as CertificateRequestRow[];
      return toPage(items, limit);
    },
    async requestersOf(ids) {
      const out = new Map<string, string>();
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await db
          .select({ id: R.id, requester: R.requester })
          .from(R)
          .where(inArray(R.id, ids.slice(i, i + 500)));
        for (const r of rows) out.set(r.id, r.requester);
      }
      return out;
    },
    async countByStatus() {
      const rows = await db.select({ status: R.status, n: count() }).from(R).groupBy(R.status);
      const out: Record<RequestStatus, number> = { pending: 0, approved: 0, rejected: 0, issued: 0 };
      for (const r of rows) out[r.status] = Number(r.n);
      return out;
    },
  };

  const audit: Repositories['audit'] = {
    async list(query) {
      const limit = pageSize(query.limit);
      const order = query.order ?? 'asc';
      return db
        .select()
        .from(A)
        .where(
          and(
            query.afterSeq !== undefined
              ? order === 'asc'
                ? gt(A.seq, query.afterSeq)
                : lt(A.seq, query.afterSeq)
              : undefined,
            query.action ? actionFilter(A.action, query.action) : undefined,
            typeof query.actor === 'string'
              ? eq(A.actor, query.actor)
              : query.actor?.length
                ? inArray(A.actor, [...query.actor])
                : undefined,
            query.target ? eq(A.target, query.target) : undefined,
          ),
        )
        .orderBy(order === 'asc' ? asc(A.seq) : desc(A.seq))
        .limit(limit);
    },
    verify() {
      return verifyAuditChain(async (afterSeq, limit) =>
        db.select().from(A).where(gt(A.seq, afterSeq)).orderBy(asc(A.seq)).limit(limit),
      );
    },
    async count() {
      // seq is contiguous from 1 (verify() checks it), so the head seq is the count: O(1) via the primary key.
      const [row] = await db.select({ n: max(A.seq) }).from(A);
      return Number(row?.n ?? 0);
    },
    async namedActors(query = {}) {
      const limit = pageSize(query.limit);
      const after = query.cursor ? decodeActorCursor(query.cursor) : undefined;
      const arm = async (kind: 'user' | 'token') => {
        const rows = await namedActorsArmQuery(db, t, dialect, kind, { q: query.q, after }, limit + 1);
        return rows.map((r) => ({ id: String(r.id), kind, name: String(r.name), createdAt: Number(r.createdAt) }));
      };
      const both = [...(await arm('user')), ...(await arm('token'))].sort(compareActors);
      const more = both.length > limit;
      const items = both.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: more && last ? encodeActorCursor(last) : null };
    },
  };

  const users: UserRepository = {
    async findById(id) {
      const [row] = await db.select().from(t.users).where(eq(t.users.id, id));
      return row;
    },
    async findByUsername(username) {
      const [row] = await db.select().from(t.users).where(eq(t.users.username, username));
      return row;
    },
    async list() {
      return db.select().from(t.users).orderBy(asc(t.users.createdAt), asc(t.users.id));
    },
    async count() {
      const [row] = await db.select({ n: count() }).from(t.users);
      return Number(row?.n ?? 0);
    },
    async namesOf(ids) {
      const out: { id: string; username: string }[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const q = db.select({ id: t.users.id, username: t.users.username }).from(t.users);
        out.push(...(await q.where(inArray(t.users.id, chunk))));
      }
      return out;
    },
  };

  const tokens: TokenRepository = {
    async findById(id) {
      const [row] = await db.select().from(t.apiTokens).where(eq(t.apiTokens.id, id));
      return row;
    },
    async findByHash(tokenHash) {
      const [row] = await db.select().from(t.apiTokens).where(eq(t.apiTokens.tokenHash, tokenHash));
      return row;
    },
    async list() {
      return await db.select().from(t.apiTokens).orderBy(asc(t.apiTokens.createdAt), asc(t.apiTokens.id));
    },
    async touch(id, at) {
      await db.update(t.apiTokens).set({ lastUsedAt: at }).where(eq(t.apiTokens.id, id));
    },
    async namesOf(ids) {
      const out: { id: string; name: string }[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const q = db.select({ id: t.apiTokens.id, name: t.apiTokens.name }).from(t.apiTokens);
        out.push(...(await q.where(inArray(t.apiTokens.id, chunk))));
      }
      return out;
    },
    async idsNamed(name) {
      const rows = await db.select({ id: t.apiTokens.id }).from(t.apiTokens).where(eq(t.apiTokens.name, name));
      return rows.map((r) => r.id);
    },
  };

  const sessions: SessionRepository = {
    async findByHash(tokenHash) {
      const [row] = await db.select().from(t.sessions).where(eq(t.sessions.tokenHash, tokenHash));
      return row;
    },
    async deleteExpired(now) {
      return affectedRows(await db.delete(t.sessions).where(lte(t.sessions.expiresAt, now)));
    },
  };

  const loginFailures: LoginFailureRepository = {
    async find(ids) {
      if (ids.length === 0) return [];
      return db.select().from(t.loginFailures).where(inArray(t.loginFailures.id, ids));
    },
    async findByUsernames(usernames) {
      if (usernames.length === 0) return [];
      return db.select().from(t.loginFailures).where(inArray(t.loginFailures.username, usernames));
    },
    async deleteStale(before) {
      return affectedRows(await db.delete(t.loginFailures).where(lt(t.loginFailures.lastFailureAt, before)));
    },
  };

  const userIdentities: UserIdentityRepository = {
    async find(issuer, subject) {
      const I = t.userIdentities;
      const [row] = await db
        .select()
        .from(I)
        .where(and(eq(I.issuer, issuer), eq(I.subject, subject)));
      return row;
    },
    async listByUser(userId) {
      return db.select().from(t.userIdentities).where(eq(t.userIdentities.userId, userId));
    },
  };

  const notifications: NotificationRepository = {
    async listRules() {
      return db.select().from(t.notificationRules).orderBy(asc(t.notificationRules.name));
    },
    async findRule(idOrName) {
      const R = t.notificationRules;
      const [row] = await db
        .select()
        .from(R)
        .where(or(eq(R.id, idOrName), eq(R.name, idOrName)));
      return row;
    },
    async enqueue(rowsIn) {
      if (rowsIn.length === 0) return [];
      const D = t.notificationDeliveries;
      const inserted = await db
        .insert(D)
        .values(rowsIn)
        .onConflictDoNothing({ target: D.dedupKey })
        .returning({ id: D.id });
      const ids = new Set(inserted.map((r) => r.id));
      return rowsIn.filter((r) => ids.has(r.id));
    },
    async expiringCertificates(from, to, after, limit) {
      const C = t.certificates;
      const where: SQL[] = [eq(C.status, 'active'), gt(C.notAfter, from), lte(C.notAfter, to)];
      if (after)
        where.push(or(gt(C.notAfter, after.notAfter), and(eq(C.notAfter, after.notAfter), gt(C.id, after.id)))!);
      return db
        .select()
        .from(C)
        .where(and(...where))
        .orderBy(asc(C.notAfter), asc(C.id))
        .limit(Math.max(1, Math.min(limit, 1000)));
    },
    async lease(now, leaseUntil, limit) {
      const D = t.notificationDeliveries;
      const isDue = and(
        inArray(D.status, ['pending', 'retrying']),
        lte(D.nextAttemptAt, now),
        or(sql`${D.leaseUntil} IS NULL`, lt(D.leaseUntil, now)),
      );
      const due = await db.select({ id: D.id }).from(D).where(isDue).orderBy(asc(D.nextAttemptAt)).limit(limit);
      const leased = [];
      for (const { id } of due) {
        // conditional update, the whole due condition checked again on the row as it is now: only one sender wins a
        // row whose lease is free, and a row another sender leased, attempted and settled (lease cleared, next
        // attempt later, or delivered) since the select above is not sent again (PostgreSQL re-evaluates the
        // condition on the row version it waited for)
        const [row] = await db
          .update(D)
          .set({ leaseUntil })
          .where(and(eq(D.id, id), isDue))
          .returning();
        if (row) leased.push(row);
      }
      return leased;
    },
    async settle(id, patch) {
      const D = t.notificationDeliveries;
      await db
        .update(D)
        .set({ ...patch, leaseUntil: null })
        .where(eq(D.id, id));
    },
    async listDeliveries(q) {
      const D = t.notificationDeliveries;
      const where: SQL[] = [];
      if (q.ruleId) where.push(eq(D.ruleId, q.ruleId));
      if (q.status) where.push(eq(D.status, q.status));
      if (q.before) {
        const b = q.before;
        where.push(or(lt(D.createdAt, b.createdAt), and(eq(D.createdAt, b.createdAt), lt(D.id, b.id)))!);
      }
      return db
        .select()
        .from(D)
        .where(where.length ? and(...where) : undefined)
        .orderBy(desc(D.createdAt), desc(D.id))
        .limit(Math.max(1, Math.min(q.limit, 500)));
    },
  };

  const settings: SettingsRepository = {
    async get(key) {
      const [row] = await db.select({ value: t.settings.value }).from(t.settings).where(eq(t.settings.key, key));
      return row?.value;
    },
    async listByPrefix(prefix) {
      // range scan on the primary key: [prefix, prefix + U+FFFF) — no LIKE escaping needed
      return db
        .select({ key: t.settings.key, value: t.settings.value })
        .from(t.settings)
        .where(and(gte(t.settings.key, prefix), lt(t.settings.key, `${prefix}\uffff`)))
        .orderBy(asc(t.settings.key));
    },
  };

  const keyBlobs: KeyBlobRepository = {
    async get(id) {
      const [row] = await db.select({ data: t.keyBlobs.data }).from(t.keyBlobs).where(eq(t.keyBlobs.id, id));
      return row?.data;
    },
    async put(id, data) {
      await db.insert(t.keyBlobs).values({ id, data }).onConflictDoUpdate({ target: t.keyBlobs.id, set: { data } });
    },
    async delete(id) {
      return affectedRows(await db.delete(t.keyBlobs).where(eq(t.keyBlobs.id, id))) > 0;
    },
    async any() {
      const [row] = await db.select({ id: t.keyBlobs.id }).from(t.keyBlobs).limit(1);
      return row !== undefined;
    },
  };

  async function exportRows(table: StoreTableName, afterKey: RowKey | null, limit: number): Promise<ExportedRows> {
    const { table: tbl, key } = tableByName(t, table);
    const n = Math.max(1, Math.min(limit, 10_000));
    const rowsOut = (await db
      .select()
      .from(tbl)
      .where(afterKey === null ? undefined : gt(key, afterKey as never))
      .orderBy(asc(key))
      .limit(n)) as Record<string, unknown>[];
    const last = rowsOut[rowsOut.length - 1];
    const keyName =
      table === 'audit_events' ? 'seq' : table === 'settings' ? 'key' : table === 'ssh_krl_versions' ? 'scope' : 'id';
    return { rows: rowsOut, nextKey: rowsOut.length === n && last ? (last[keyName] as RowKey) : null };
  }

  const spiffe = createSpiffeRepository(db, t);
  const ssh = createSshRepository(db, t);
  const acme = createAcmeRepository(db, t);
  const bulkJobs = createBulkJobRepository(db, t);
  return {
    cas,
    certificates,
    requests,
    audit,
    users,
    tokens,
    sessions,
    loginFailures,
    userIdentities,
    notifications,
    settings,
    keyBlobs,
    ocspResponses: createOcspResponseRepository(db, t, ocspRead),
    crlDeltaBases: createCrlDeltaBaseRepository(db, t, dialect),
    crlDeltas: createCrlDeltaRepository(db, t, dialect),
    spiffe,
    ssh,
    acme,
    bulkJobs,
    idempotency: createIdempotencyRepository(db, t),
    exportRows,
  };
}
