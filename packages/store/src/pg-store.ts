/**
 * PostgreSQL engine: pg Pool + drizzle-orm/node-postgres. Migrations run under a session
 * advisory lock. `commit` is a group commit: issuance-shaped units of a batch are written by one
 * statement that takes the audit-chain advisory lock and chains their events itself
 * (pg-batch-commit.ts); other units run `BEGIN`, `pg_advisory_xact_lock` on the audit-chain key
 * before any write when they append audit events (so concurrent instances append one linear chain
 * and never deadlock against it), their statements, `COMMIT`.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  and,
  asc,
  eq,
  getTableColumns,
  gte,
  inArray,
  lt,
  ne,
  sql,
  type Column,
  type SQL,
  type Table,
} from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { PkiError } from '@pkim/shared';
import * as schema from './pg-schema';
import type {
  ApiTokenRow,
  CaRow,
  CertificateRequestRow,
  CertificateRow,
  CommitResult,
  OpenStoreOptions,
  SessionRow,
  StoreLogger,
  Store,
  UnitOfWork,
} from './types';
import { rawRowReader } from './raw-rows';
import { certificateNameRows } from './certificate-search-terms';
import { createRepositories } from './repositories';
import { ocspLookupSql, ocspSubordinateCaSql, type OcspLookupRead } from './ocsp-repository';
import { affectedRows, asQueryDb, tableByName } from './query-db';
import {
  CountDeltas,
  applyCountDeltas,
  markExpiredSteps,
  rebuildCountsSteps,
  unitOfWork,
  type FastSteps,
  type SqlStep,
  type UnitOfWorkOptions,
  appendViaCommit,
  touchesCaRow,
} from './unit-of-work';
import { toWriteError } from './store-errors';
import { createGroupCommit, PG_GROUP_COMMIT } from './group-commit';
import { lateMigrations, pendingMigrations, reportUpgrade } from './migrations-journal';
import { findPgBinary, pgToolConnection } from './pg-binaries';
import {
  AUDIT_CHAIN_LOCK,
  CA_CHANGED,
  FLUSH_WAIT,
  FLUSH_WAIT_NAME,
  FLUSH_WAIT_NOTIFY,
  FLUSH_WAIT_NOTIFY_NAME,
  LOCK_CLASS,
  batchRuns,
  isBatchableUnit,
  planBatch,
  type BatchRow,
} from './pg-batch-commit';

const execFileAsync = promisify(execFile);

export const PG_MIGRATIONS_FOLDER = fileURLToPath(new URL('../migrations/pg', import.meta.url));

const MIGRATION_LOCK = 2;
/**
 * IN_USE: every open store holds this two-int advisory key SHARED on its leader session (its dedicated connection
 * outside the pool), for as long as it is open; `restorePg` takes it EXCLUSIVE with a try, so a restore under a
 * running `pkim serve` (or another command) is refused (`store.in_use`), and a store opened while a restore runs
 * waits for it to end.
 */
export const IN_USE_LOCK = 3;
/** the application_name of a store's leader session: who holds IN_USE, as `store.in_use` names it (≤ 63 bytes) */
const inUseName = (): string => `pkim ${hostname().slice(0, 40)} pid ${process.pid}`;

/**
 * the channel of Store.otherCommits: a commit that changed a CA row, an API token, a user, a certificate's status
 * (a revocation) or a SPIFFE CA (payload: its store)
 */
export const CHANGES_CHANNEL = 'pkim_changes';
/**
 * Store.otherCommits' listening connection, when lost or refused: opened again after `first` ms, the wait doubling up
 * to `max` while it keeps failing
 */
export const LISTEN_RETRY_MS = { first: 100, max: 5000 };
/** settings `profile.*`: the certificate profiles made through the API, kept by every instance (profile-service.ts) */
const changesProfiles = (unit: UnitOfWork): boolean =>
  [unit.setSettings, unit.insertSettings, unit.updateSettings].some(
    (s) => !!s && Object.keys(s).some((k) => k.startsWith('profile.')),
  ) || [unit.deleteSettings, unit.removeSettings].some((l) => !!l?.some((k) => k.startsWith('profile.')));

/**
 * the unit changes a row that instances remember: a CA row (touchesCaRow), an API token, a user, a certificate's
 * status (a revocation: the OCSP answers and CRLs other instances keep), a SPIFFE CA (registered or rotated: the
 * SVID route's CAs, spiffe-service.ts `signingState`), or a certificate profile made through the API (changesProfiles)
 */
const changesRememberedRows = (unit: UnitOfWork): boolean =>
  touchesCaRow(unit) ||
  !!(unit.insertSpiffeCas?.length || unit.updateSpiffeCas?.length) ||
  !!(unit.insertTokens?.length || unit.updateTokens?.length || unit.updateUsers?.length) ||
  !!unit.updateCertificates?.some((u) => u.patch.status !== undefined) ||
  changesProfiles(unit);

async function connectClient(
  connectionString: string,
  extra: Pick<pg.ClientConfig, 'keepAlive' | 'application_name'> = {},
): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, ...extra });
  client.on('error', () => {
    /* reported by the failing query */
  });
  try {
    await client.connect();
  } catch (e) {
    throw new PkiError('store.unavailable', `Cannot connect to PostgreSQL: ${(e as Error).message}`, { cause: e });
  }
  return client;
}

/** Applies pending migrations with drizzle's migrator under an advisory lock; returns the tags applied. */
export async function migratePg(connectionString: string, logger?: StoreLogger): Promise<string[]> {
  const client = await connectClient(connectionString);
  try {
    await client.query('select pg_advisory_lock($1::int, $2::int)', [LOCK_CLASS, MIGRATION_LOCK]);
    const exists = await client.query("select to_regclass('drizzle.__drizzle_migrations') is not null as ok");
    let applied: number[] | null = null;
    if ((exists.rows[0] as { ok?: boolean } | undefined)?.ok) {
      const r = await client.query('select created_at from drizzle.__drizzle_migrations');
      applied = (r.rows as { created_at: unknown }[]).map((row) => Number(row.created_at));
    }
    const pending = pendingMigrations(PG_MIGRATIONS_FOLDER, applied);
    const late = lateMigrations(PG_MIGRATIONS_FOLDER, applied);
    const upgraded = reportUpgrade(logger, 'postgres', applied, pending);
    if (late.length) {
      // reserved numbers landed after higher ones: drizzle's migrator skips them (see lateMigrations)
      await client.query('begin');
      try {
        for (const m of late) {
          for (const statement of m.statements) await client.query(statement);
          await client.query('insert into drizzle.__drizzle_migrations ("hash", "created_at") values ($1, $2)', [
            m.hash,
            m.when,
          ]);
        }
        await client.query('commit');
      } catch (e) {
        await client.query('rollback').catch(() => undefined);
        throw e;
      }
    }
    if (pending.length) await migrate(drizzle({ client }), { migrationsFolder: PG_MIGRATIONS_FOLDER });
    upgraded();
    return pending;
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('store.migration_failed', `Applying PostgreSQL migrations failed: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    await client
      .query('select pg_advisory_unlock($1::int, $2::int)', [LOCK_CLASS, MIGRATION_LOCK])
      .catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function runStepAsync(step: SqlStep): Promise<unknown> {
  const out = await (step.q as PromiseLike<unknown>);
  if (step.mode === 'exec') return affectedRows(out);
  return Array.isArray(out) ? out : (out as { rows: unknown[] }).rows; // builders → rows; raw `execute` → QueryResult
}

/** Awaits each SQL step of a generator in turn (inside a transaction). */
async function runAsync<T>(gen: Generator<SqlStep, T, unknown>): Promise<T> {
  let r = gen.next();
  while (!r.done) r = gen.next(await runStepAsync(r.value));
  return r.value;
}

interface LookupWaiter<R> {
  resolve: (row: R | undefined) => void;
  reject: (e: unknown) => void;
}

/**
 * One prepared lookup by a unique key, with its calls grouped the way commits are: the first call is sent at once;
 * calls made while it is in flight wait for the next query, which asks for all their keys together
 * (`key = any($1)`). A query is sent only after each of its callers called, so every caller still sees everything
 * committed before its call — a CA revoked or disabled, a token deleted by another process is seen by the next
 * request exactly as with one query per call — while concurrent requests (32 issuances in flight all reading their
 * CA) cost one round trip instead of one each.
 */
export function groupedLookup<R>(
  query: (keys: string[]) => Promise<R[]>,
  keyOf: (row: R) => string,
): (key: string) => Promise<R | undefined> {
  let waiting = new Map<string, LookupWaiter<R>[]>();
  let inFlight = false;
  const run = async (): Promise<void> => {
    inFlight = true;
    try {
      while (waiting.size) {
        const group = waiting;
        waiting = new Map();
        try {
          const rows = await query([...group.keys()]);
          const byKey = new Map(rows.map((r) => [keyOf(r), r]));
          for (const [key, ws] of group) {
            const row = byKey.get(key);
            // callers of one key each get their own object (shallow copy), as with one query per call
            ws.forEach((w, i) => w.resolve(i === 0 || row === undefined ? row : { ...row }));
          }
        } catch (e) {
          for (const ws of group.values()) for (const w of ws) w.reject(e);
        }
      }
    } finally {
      inFlight = false;
    }
  };
  return (key) =>
    new Promise<R | undefined>((resolve, reject) => {
      const ws = waiting.get(key);
      if (ws) ws.push({ resolve, reject });
      else waiting.set(key, [{ resolve, reject }]);
      if (!inFlight) void run();
    });
}

/**
 * Hot-path lookups (issuance, authentication) as named prepared statements: built once (Drizzle's query
 * building costs ~100 µs a call) and parsed once per connection by PostgreSQL. Same answers as the repositories.
 * The lookups every request makes (its CA, its token or session) are grouped (groupedLookup) and read as raw rows
 * (arrays) mapped by rawRowReader, without Drizzle's row mapping.
 */
function preparedHotReads(
  pool: pg.Pool,
  pgDb: NodePgDatabase<typeof schema>,
  repos: ReturnType<typeof createRepositories>,
): void {
  const CA = schema.certificateAuthorities;
  const C = schema.certificates;
  /** rows whose `column` is one of the keys, one named statement (`= any($1::text[])`) */
  const byKeys = <R>(name: string, table: Table, column: Column, keyOf: (row: R) => string) => {
    const reader = rawRowReader<R>(table);
    const text = reader.selectWhereEquals(column, 'any($1::text[])');
    return groupedLookup(async (keys: string[]) => {
      const r = await pool.query<unknown[]>({ name, text, values: [keys], rowMode: 'array' });
      return r.rows.map((row) => reader.fromArray(row));
    }, keyOf);
  };
  const certById = pgDb
    .select()
    .from(C)
    .where(eq(C.id, sql.placeholder('id')))
    .prepare('pkim_cert_by_id');
  const serial = and(eq(C.caId, sql.placeholder('caId')), eq(C.serialHex, sql.placeholder('serialHex')));
  const certBySerial = pgDb.select().from(C).where(serial).prepare('pkim_cert_by_serial');
  repos.cas.findById = byKeys<CaRow>('pkim_cas_by_id', CA, CA.id, (r) => r.id);
  repos.cas.findByName = byKeys<CaRow>('pkim_cas_by_name', CA, CA.name, (r) => r.name);
  repos.certificates.findById = async (id) => (await certById.execute({ id }))[0];
  repos.certificates.findBySerial = async (caId, serialHex) =>
    (await certBySerial.execute({ caId, serialHex: serialHex.toLowerCase() }))[0];
  const T = schema.apiTokens;
  const S = schema.sessions;
  repos.tokens.findByHash = byKeys<ApiTokenRow>('pkim_tokens_by_hash', T, T.tokenHash, (r) => r.tokenHash);
  repos.sessions.findByHash = byKeys<SessionRow>('pkim_sessions_by_hash', S, S.tokenHash, (r) => r.tokenHash);
  // the request an approval signs (a Drizzle select built per call before; as sqlite-store.ts since 5a2512d)
  const R = schema.certificateRequests;
  repos.requests.findById = byKeys<CertificateRequestRow>('pkim_requests_by_id', R, R.id, (r) => r.id);
}

/**
 * What the Vault and SPIFFE signing routes read per request (mount list, role, SPIFFE CAs, deny list): named prepared
 * statements, built once (as sqlite-store.ts). Same answers as the repositories.
 */
function preparedChannelReads(pgDb: NodePgDatabase<typeof schema>, repos: ReturnType<typeof createRepositories>): void {
  const ST = schema.settings;
  const CA = schema.certificateAuthorities;
  const SC = schema.spiffeCas;
  const D = schema.spiffeDeniedIds;
  const setting = pgDb
    .select({ value: ST.value })
    .from(ST)
    .where(eq(ST.key, sql.placeholder('key')))
    .prepare('pkim_setting');
  const inRange = and(gte(ST.key, sql.placeholder('from')), lt(ST.key, sql.placeholder('to')));
  const settingsInRange = pgDb
    .select({ key: ST.key, value: ST.value })
    .from(ST)
    .where(inRange)
    .orderBy(asc(ST.key))
    .prepare('pkim_settings_in_range');
  const casInOrder = pgDb.select().from(CA).orderBy(asc(CA.createdAt), asc(CA.id)).prepare('pkim_cas_in_order');
  const spiffeCas = pgDb.select().from(SC).orderBy(asc(SC.createdAt), asc(SC.id)).prepare('pkim_spiffe_cas');
  const denied = pgDb
    .select()
    .from(D)
    .where(eq(D.id, sql.placeholder('id')))
    .prepare('pkim_spiffe_denied');
  repos.settings.get = async (key) => (await setting.execute({ key }))[0]?.value;
  // range scan on the primary key: [prefix, prefix + U+FFFF), as the repository's own query
  repos.settings.listByPrefix = async (prefix) => settingsInRange.execute({ from: prefix, to: `${prefix}\uffff` });
  repos.cas.list = async () => casInOrder.execute();
  repos.spiffe.listCas = async () => spiffeCas.execute();
  repos.spiffe.findDenied = async (id) => (await denied.execute({ id }))[0];
}

/**
 * The OCSP responder's reads, once per request (docs/ocsp.md): named prepared statements (parsed and planned once per
 * connection), raw rows (arrays), no Drizzle mapping.
 */
function ocspReads(pool: pg.Pool): OcspLookupRead {
  const statements = {
    certificate: { name: 'pkim_ocsp_lookup', text: ocspLookupSql('$1', '$2', '$3') },
    subordinateCa: { name: 'pkim_ocsp_subordinate_lookup', text: ocspSubordinateCaSql('$1', '$2', '$3') },
  };
  return async (statement, caId, serialHex, hashAlg) =>
    (
      await pool.query<unknown[]>({
        ...statements[statement],
        values: [caId, serialHex, hashAlg],
        rowMode: 'array',
      })
    ).rows[0];
}

/**
 * A request's update (an approval's, a rejection's), as Drizzle's `update(R).set(patch).where(…)` writes it (undefined
 * values left out, each value through its column's driver mapping): one named statement per set of columns and
 * condition, parsed once per connection, sent on the transaction's own connection (an approval built and sent a
 * Drizzle update per commit). The answer is what the general unit of work reads: the rows changed.
 */
function pgRequestUpdates(): (client: pg.ClientBase) => NonNullable<FastSteps['updateRequest']> {
  const columns = getTableColumns(schema.certificateRequests) as Record<
    string,
    { name: string; mapToDriverValue(v: unknown): unknown }
  >;
  const statements = new Map<string, { name: string; text: string }>();
  return (client) => (u) => {
    const patch = u.patch as Record<string, unknown>;
    const keys = Object.keys(patch).filter((k) => patch[k] !== undefined);
    const shape = `${keys.join(',')}|${u.onlyIfStatus === undefined ? '' : 's'}`;
    let statement = statements.get(shape);
    if (!statement) {
      const set = keys.map((k, i) => {
        const column = columns[k];
        if (!column) throw new PkiError('internal', `certificate_requests has no column '${k}'`);
        return `"${column.name}" = $${i + 1}`;
      });
      const n = keys.length;
      const where = `"id" = $${n + 1}${u.onlyIfStatus === undefined ? '' : ` and "status" = $${n + 2}`}`;
      const text = `update "certificate_requests" set ${set.join(', ')} where ${where}`;
      statement = { name: `pkim_request_update_${statements.size + 1}`, text };
      statements.set(shape, statement);
    }
    const values: unknown[] = keys.map((k) => (patch[k] === null ? null : columns[k]!.mapToDriverValue(patch[k])));
    values.push(u.id);
    if (u.onlyIfStatus !== undefined) values.push(u.onlyIfStatus);
    return { mode: 'exec', q: client.query({ ...statement, values }) };
  };
}

/** the connection a Drizzle node-postgres transaction runs on (its session's client) */
const txClient = (tx: unknown): pg.ClientBase => (tx as { session: { client: pg.ClientBase } }).session.client;

/** Connections in an instance's pool when the app does not size it (`OpenStoreOptions.poolSize`). */
export const DEFAULT_PG_POOL_SIZE = 4;

/** a store's leader session: connected, holding IN_USE shared (waits while a restore holds it exclusive) */
async function connectLeaderSession(connectionString: string): Promise<pg.Client> {
  const c = await connectClient(connectionString, { application_name: inUseName() });
  try {
    await c.query('select pg_advisory_lock_shared($1::int, $2::int)', [LOCK_CLASS, IN_USE_LOCK]);
  } catch (e) {
    await c.end().catch(() => undefined);
    throw new PkiError('store.unavailable', `Cannot open PostgreSQL: ${(e as Error).message}`, { cause: e });
  }
  return c;
}

export async function openPgStore(connectionString: string, options: OpenStoreOptions): Promise<Store> {
  // in use from here on (before migrating: a restore under way is waited for, then its schema migrated)
  const firstSession = await connectLeaderSession(connectionString);
  try {
    await migratePg(connectionString, options.logger);
  } catch (e) {
    await firstSession.end().catch(() => undefined);
    throw e;
  }
  const pool = new pg.Pool({ connectionString, max: options.poolSize ?? DEFAULT_PG_POOL_SIZE });
  // An idle client losing its connection (server restart, terminated backend) must not crash the process.
  pool.on('error', () => undefined);
  const pgDb = drizzle({ client: pool, schema });
  const { db, t } = asQueryDb(pgDb, schema);
  const repos = createRepositories(db, t, 'postgres', ocspReads(pool), options.denseWalk);
  preparedHotReads(pool, pgDb, repos);
  preparedChannelReads(pgDb, repos);
  const uowOptions: UnitOfWorkOptions = {
    dialect: 'postgres',
    failCommit: options.faultInjection?.failCommit === true,
  };
  const requestUpdate = pgRequestUpdates();
  const groupPolicy = options.groupCommit ?? PG_GROUP_COMMIT;
  /** the unit of work's options in a transaction: its fast steps run on the transaction's connection */
  const txOptions = (tx: unknown): UnitOfWorkOptions => ({
    ...uowOptions,
    fast: { updateRequest: requestUpdate(txClient(tx)) },
  });

  /**
   * The CAs of the certificates the units insert must still be active (read after the audit-chain lock, so with
   * everything committed before it): as the batch statement checks them, so an instance may sign with a CA row read
   * earlier (Store.checksIssuingCaAtCommit). A CA that does not exist is left to the foreign key of its counter
   * (certificate_counts.ca_id: `foreign_key_violation`; certificates has none since migration 0040).
   */
  type Tx = Parameters<Parameters<typeof pgDb.transaction>[0]>[0];
  const refuseInactiveCas = async (tx: Tx, units: UnitOfWork[]): Promise<void> => {
    const ids = [...new Set(units.flatMap((u) => (u.insertCertificates ?? []).map((c) => c.caId)))];
    if (!ids.length) return;
    const CA = schema.certificateAuthorities;
    const [bad] = await tx
      .select({ id: CA.id, status: CA.status })
      .from(CA)
      .where(and(inArray(CA.id, ids), ne(CA.status, 'active')))
      .limit(1);
    if (bad) throw new PkiError('ca.not_active', `CA ${bad.id} is ${bad.status} and cannot sign`);
  };

  /**
   * Store.otherCommits: a unit that changes a row other instances remember (a CA row, an API token, a user, a
   * certificate's status) sends CHANGES_CHANNEL a notification in its own transaction — PostgreSQL delivers it when,
   * and only if, it commits. A batch statement that revokes sends it from its flush wait (FLUSH_WAIT_NOTIFY); issuance
   * batches send none.
   */
  const instanceId = randomUUID();
  /**
   * WRITE_ORDER: this store's advisory key (class WRITE_ORDER_CLASS), taken by each batch statement after its inserts
   * and before it tries the audit-chain lock, when batches are written two at once: the second statement waits for
   * the first to commit there, not at the audit-chain lock, so `lockTaken` (below) still means another writer
   */
  const writeOrderKey = (groupPolicy.maxWrites ?? 1) > 1 ? randomBytes(4).readInt32BE(0) : null;
  const announceChanges = async (tx: Tx, units: UnitOfWork[]): Promise<void> => {
    if (units.some(changesRememberedRows)) await tx.execute(sql`select pg_notify(${CHANGES_CHANNEL}, ${instanceId})`);
  };

  /** the general unit of work (any unit shape), each unit in its own transaction */
  const commitOne = async (unit: UnitOfWork): Promise<CommitResult> => {
    try {
      return await pgDb.transaction(async (tx) => {
        if (unit.audit?.length)
          await tx.execute(sql.raw(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`));
        await refuseInactiveCas(tx, [unit]);
        await announceChanges(tx, [unit]);
        return runAsync(unitOfWork(asQueryDb(tx, schema).db, t, unit, txOptions(tx)));
      });
    } catch (e) {
      throw toWriteError(e);
    }
  };

  /** the general unit of work for several units in one transaction (all or nothing) */
  const commitGeneral = async (units: UnitOfWork[]): Promise<CommitResult[]> =>
    pgDb.transaction(async (tx) => {
      if (units.some((u) => u.audit?.length))
        await tx.execute(sql.raw(`select pg_advisory_xact_lock(${LOCK_CLASS}, ${AUDIT_CHAIN_LOCK})`));
      await refuseInactiveCas(tx, units);
      await announceChanges(tx, units);
      const out: CommitResult[] = [];
      const options = txOptions(tx);
      for (const u of units) out.push(await runAsync(unitOfWork(asQueryDb(tx, schema).db, t, u, options)));
      return out;
    });

  /**
   * a batch of issuance- and revocation-shaped units: one statement, one round trip, one transaction, one row back
   * (pg-batch-commit.ts)
   */
  /** prepared once per connection, like the batch statement: no parse and plan per batch */
  const flushWait = { name: FLUSH_WAIT_NAME, text: FLUSH_WAIT };
  /** a batch that revokes: its flush wait also announces it to the other instances (FLUSH_WAIT_NOTIFY) */
  const flushWaitNotify = {
    name: FLUSH_WAIT_NOTIFY_NAME,
    text: FLUSH_WAIT_NOTIFY,
    values: [CHANGES_CHANNEL, instanceId],
  };
  /**
   * The batch statements and their flush waits run on connections of their own, outside the pool: one per batch the
   * group commit writes at once (`maxWrites`: 1, or 2 with PG_GROUP_COMMIT_TWO_WRITES; a "lane" each), opened at its
   * first batch, again at its next batch after it was lost, or after a query on it failed for any reason but a
   * statement's own error. A write keeps its lane from its first statement to its last (the batch's runs, a failed
   * batch's units one by one), so nothing else waits for it, and each query skips the pool's checkout and release.
   */
  interface Lane {
    client: Promise<pg.Client> | undefined;
    /** a write holds the lane */
    busy: boolean;
    /** the SPIFFE IDs of the SVIDs the lane's write renews, and when it ends (SVID_ORDER) */
    svids: Set<string>;
    done: Promise<void>;
  }
  const lanes: Lane[] = Array.from({ length: Math.max(1, groupPolicy.maxWrites ?? 1) }, () => ({
    client: undefined,
    busy: false,
    svids: new Set<string>(),
    done: Promise.resolve(),
  }));
  const dropCommitter = (lane: Lane, lost: Promise<pg.Client>): void => {
    if (lane.client !== lost) return;
    lane.client = undefined;
    void lost.then((c) => c.end()).catch(() => undefined);
  };
  const commitClient = (lane: Lane): Promise<pg.Client> => {
    if (lane.client) return lane.client;
    const opening = connectClient(connectionString).then((c) => {
      c.on('error', () => dropCommitter(lane, opening));
      c.on('end', () => dropCommitter(lane, opening));
      return c;
    });
    lane.client = opening;
    opening.catch(() => dropCommitter(lane, opening));
    return opening;
  };
  /** a query on a lane's connection; a failure other than a statement's own error drops the connection */
  const commitQuery = async (lane: Lane, q: pg.QueryConfig & { rowMode?: 'array' }): Promise<{ rows: unknown[] }> => {
    const opening = commitClient(lane);
    const client = await opening;
    try {
      return await client.query(q);
    } catch (e) {
      if (!(e instanceof pg.DatabaseError) || /^(08|57|XX)/.test(e.code ?? '')) dropCommitter(lane, opening);
      throw e;
    }
  };
  /** the batch statements' and flush waits' round trips (ms summed); batches that found the lock taken (commitStats) */
  const batchTimes = { statementMs: 0, flushMs: 0, flushWaits: 0, lockWaits: 0 };
  /**
   * Whether this store's last batch statement found the audit-chain lock taken (it waited for another transaction's
   * commit: another instance's batch, a general unit of work). When it did not, the next batch commits waiting for its
   * own WAL flush (OWN_FLUSH: one round trip and one transaction, no FLUSH_WAIT) — the lock is then held through the
   * flush; when it did, the next batch commits without the flush and sends FLUSH_WAIT, so the lock is released at once
   * for whoever is waiting. Two instances at work find it taken in a few of their batches (docs/benchmarks-record.md,
   * session 24); more writers more often, and their batches go back to sharing PostgreSQL's flushes. A batch that
   * revokes always takes FLUSH_WAIT_NOTIFY (its NOTIFY is sent after the flush, not under the lock).
   */
  let lockTaken = false;
  const commitBatch = async (lane: Lane, units: UnitOfWork[]): Promise<(CommitResult | PkiError)[]> => {
    const revokes = units.some((u) => u.updateCertificates?.length);
    const ownFlush = !revokes && !lockTaken;
    const plan = planBatch(units, ownFlush, writeOrderKey);
    let at = performance.now();
    const r = await commitQuery(lane, {
      name: plan.name,
      text: plan.text,
      values: plan.values,
      rowMode: 'array',
    });
    batchTimes.statementMs += performance.now() - at;
    const row = r.rows[0] as BatchRow | undefined;
    const results = plan.results(row);
    lockTaken = row?.[7] === false;
    if (lockTaken) batchTimes.lockWaits++;
    // committed and flushed (ownFlush: the server's synchronous_commit, as FLUSH_WAIT's)
    if (ownFlush) return results;
    // committed without waiting for the disk (the audit-chain lock released at once): answered once it is on disk.
    // If that is not confirmed, each caller gets the error — never a second write of units already committed.
    try {
      at = performance.now();
      batchTimes.flushWaits++;
      await commitQuery(lane, revokes ? flushWaitNotify : flushWait);
      batchTimes.flushMs += performance.now() - at;
    } catch (e) {
      const error = new PkiError(
        'store.unavailable',
        `PostgreSQL did not confirm that the commit reached the disk: ${(e as Error).message}`,
        { cause: e },
      );
      return results.map(() => error);
    }
    return results;
  };
  /** a unit's answer from the batch statement: its result, or the error of a unit refused (its CA not active) */
  const answer = (r: CommitResult | PkiError | undefined): CommitResult => {
    if (r instanceof PkiError) throw r;
    return r!;
  };
  /**
   * one batchable unit on its own (alone, or again after its batch failed): the batch statement; a revocation or a
   * request update that it refused (its certificate or request changed) runs the general unit of work, which reports
   * why (already revoked, not pending, gone)
   */
  const commitBatchableAlone = async (lane: Lane, unit: UnitOfWork): Promise<CommitResult> => {
    if (!unit.updateCertificates?.length && !unit.updateRequests?.length) {
      try {
        return answer((await commitBatch(lane, [unit]))[0]);
      } catch (e) {
        // its CA changed while the statement waited for the lock: again, refused now at the statement's snapshot
        if (!(e instanceof Error) || !e.message.includes(CA_CHANGED)) throw e;
        return answer((await commitBatch(lane, [unit]))[0]);
      }
    }
    let r: CommitResult | PkiError | undefined;
    try {
      r = (await commitBatch(lane, [unit]))[0];
    } catch {
      return commitOne(unit);
    }
    return answer(r);
  };

  /**
   * Group commit (group-commit.ts decides when): units that arrive while a batch is being written are written
   * together in the next one, in arrival order. Issuance- and revocation-shaped units (isBatchableUnit) share one
   * statement; the others one general transaction. If a batch fails, each of its units is written again on its
   * own, so one failing unit never takes others down, nothing is half-written, and each caller gets its own answer.
   */
  interface Pending {
    unit: UnitOfWork;
    resolve: (r: CommitResult) => void;
    reject: (e: unknown) => void;
  }
  /**
   * Store.caRowWrites: moved once units that may have changed a CA row are written (or failed), before their callers
   * hear of it — a CA row read by this process before then is read again (ca-context.ts), as on SQLite
   */
  let caRowWrites = 0;
  const noteCaWrites = (units: UnitOfWork[]) => {
    if (units.some(touchesCaRow)) caRowWrites++;
  };
  const settle = async (
    items: Pending[],
    together: (units: UnitOfWork[]) => Promise<(CommitResult | PkiError)[]>,
    alone: (unit: UnitOfWork) => Promise<CommitResult>,
  ): Promise<void> => {
    if (!items.length) return;
    if (items.length > 1) {
      const units = items.map((it) => it.unit);
      let results: (CommitResult | PkiError)[] | undefined;
      try {
        results = await together(units);
      } catch {
        results = undefined; // isolate the failing unit below
      }
      if (results) {
        noteCaWrites(units);
        // a unit the batch statement refused (its CA not active) gets its own error; the others their result
        results.forEach((r, i) => (r instanceof PkiError ? items[i]!.reject(r) : items[i]!.resolve(r)));
        return;
      }
    }
    for (const it of items) {
      await alone(it.unit).then(
        (r) => {
          noteCaWrites([it.unit]);
          it.resolve(r);
        },
        (e: unknown) => {
          noteCaWrites([it.unit]);
          it.reject(toWriteError(e));
        },
      );
    }
  };
  const batchable = (unit: UnitOfWork) => !uowOptions.failCommit && isBatchableUnit(unit);
  /**
   * SVID_ORDER: two batches written at once are concurrent, as two instances' batches are — their events chain in the
   * order they commit (the audit-chain lock's), whichever was sent first. Only an SVID renewal depends on what was
   * committed before it (it supersedes its SPIFFE ID's current SVID): a batch renewing an ID that the other lane's
   * write renews too is written after that write, as a second renewal of an ID within one batch is (batchRuns).
   */
  const write = async (lane: Lane, items: Pending[]): Promise<void> => {
    // each unit's shape looked at once (the batch's units split in one pass, not filtered twice)
    const batched: Pending[] = [];
    const general: Pending[] = [];
    for (const it of items) (batchable(it.unit) ? batched : general).push(it);
    if (lanes.length > 1) {
      for (const it of batched) for (const v of it.unit.insertSpiffeSvids ?? []) lane.svids.add(v.spiffeId);
      for (const other of lanes)
        if (other !== lane && other.busy && [...lane.svids].some((id) => other.svids.has(id))) await other.done;
    }
    // one statement per run: a second SVID of one SPIFFE ID in a batch is written after the first (batchRuns)
    for (const run of batchRuns(batched, (it) => it.unit))
      await settle(
        run,
        (units) => commitBatch(lane, units),
        (unit) => commitBatchableAlone(lane, unit),
      );
    await settle(general, commitGeneral, commitOne);
  };
  const group = createGroupCommit<Pending>((items) => {
    // at most lanes.length writes at once (the policy's maxWrites): one lane is free
    const lane = lanes.find((l) => !l.busy)!;
    lane.busy = true;
    lane.done = write(lane, items).finally(() => {
      lane.busy = false;
      lane.svids.clear();
    });
    return lane.done;
  }, groupPolicy);
  const commit = (unit: UnitOfWork): Promise<CommitResult> =>
    new Promise<CommitResult>((resolve, reject) => group.add({ unit, resolve, reject }));

  /**
   * Leader locks: session advisory locks, all held by ONE dedicated connection outside the pool (a held lock
   * costs no pooled connection). Names held by this instance are tracked here: a second call for a held name
   * gets undefined (PostgreSQL session locks would be re-entrant). When that connection is lost, so are its
   * locks: a new one is opened for the next attempt. The same connection holds IN_USE shared from the store's
   * opening (connectLeaderSession), and again on each new one.
   */
  let leaderSession: pg.Client | undefined;
  let leaderSessionOpening: Promise<pg.Client> | undefined;
  const leaderNames = new Map<string, pg.Client | 'acquiring'>();
  /** one query at a time on the leader session (pg does not take overlapping queries on one client) */
  let leaderQueue: Promise<unknown> = Promise.resolve();
  const leaderQuery = (session: pg.Client, text: string, name: string): Promise<pg.QueryResult> => {
    const run = leaderQueue.then(() => session.query(text, [name]));
    leaderQueue = run.catch(() => undefined);
    return run;
  };
  const openLeaderSession = (): Promise<pg.Client> => {
    if (leaderSession) return Promise.resolve(leaderSession);
    leaderSessionOpening ??= connectLeaderSession(connectionString)
      .then(adoptLeaderSession)
      .finally(() => {
        leaderSessionOpening = undefined;
      });
    return leaderSessionOpening;
  };
  const adoptLeaderSession = (c: pg.Client): pg.Client => {
    c.on('end', () => {
      if (leaderSession === c) leaderSession = undefined;
    });
    leaderSession = c;
    return c;
  };
  adoptLeaderSession(firstSession);
  let closed = false;

  /**
   * Store.otherCommits on PostgreSQL: one connection outside the pool LISTENs on CHANGES_CHANNEL (a pooled connection
   * cannot: it is handed to other queries between them), opened at the first read. The count moves with every
   * notification of another instance's commit, once when the LISTEN is answered (a row remembered before, or during
   * an outage, is read again) and once when the connection is lost (a commit announced meanwhile may be missed).
   * While nothing listens the count stands still: the callers' own time bounds apply (token and CA rows 1 s, OCSP
   * answers 500 ms — as without a signal), instead of a miss at every read. A lost or refused connection is opened
   * again by a timer, after LISTEN_RETRY_MS.first, doubling up to LISTEN_RETRY_MS.max (reads never open one); an
   * outage is logged once when it starts and once when it ends. A commit announced reaches a listening instance a
   * moment after it committed (a message on an open connection): a request there in that moment may still use the
   * row it remembered.
   */
  let otherChanges = 0;
  let listener: pg.Client | undefined;
  let listenerOpening: Promise<void> | undefined;
  let listenRetry: NodeJS.Timeout | undefined;
  let listenDelay = LISTEN_RETRY_MS.first;
  /** when the current outage began (performance.now()), and the connection attempts it took */
  let outage: { since: number; attempts: number } | undefined;
  const listenerLost = (reason: string): void => {
    if (closed) return;
    if (!outage) {
      outage = { since: performance.now(), attempts: 0 };
      options.logger?.warn(
        { channel: CHANGES_CHANNEL, reason },
        "PostgreSQL: not listening for other instances' changes; remembered rows are bounded by time until it " +
          'listens again',
      );
    }
    if (listenRetry) return;
    listenRetry = setTimeout(() => {
      listenRetry = undefined;
      listen();
    }, listenDelay);
    listenRetry.unref(); // never what keeps a process alive
    listenDelay = Math.min(listenDelay * 2, LISTEN_RETRY_MS.max);
  };
  const listen = (): void => {
    if (closed || listener || listenerOpening || listenRetry) return;
    if (outage) outage.attempts++;
    listenerOpening = (async () => {
      const c = await connectClient(connectionString, { keepAlive: true });
      c.on('notification', (m) => {
        if (m.channel === CHANGES_CHANNEL && m.payload !== instanceId) otherChanges++;
      });
      c.on('end', () => {
        if (listener !== c) return;
        listener = undefined;
        otherChanges++; // a commit announced before the loss was noticed may be missed
        listenerLost('the listening connection ended');
      });
      try {
        await c.query(`listen ${CHANGES_CHANNEL}`);
      } catch (e) {
        await c.end().catch(() => undefined);
        throw e;
      }
      if (closed) {
        await c.end().catch(() => undefined);
        return;
      }
      listener = c;
      otherChanges++;
      listenDelay = LISTEN_RETRY_MS.first;
      if (outage) {
        const { since, attempts } = outage;
        outage = undefined;
        options.logger?.info(
          { channel: CHANGES_CHANNEL, downMs: Math.round(performance.now() - since), attempts },
          "PostgreSQL: listening for other instances' changes again",
        );
      }
    })()
      .catch((e: unknown) => listenerLost((e as Error).message))
      .finally(() => {
        listenerOpening = undefined;
      });
  };
  const otherCommits = (): number => {
    listen(); // the first read opens it; afterwards a no-op (listening, opening, or a retry scheduled)
    return otherChanges;
  };

  return {
    dialect: 'postgres',
    checksIssuingCaAtCommit: true,
    get caRowWrites() {
      return caRowWrites;
    },
    get otherCommits() {
      return otherCommits();
    },
    ...repos,
    certificates: {
      ...repos.certificates,
      async markExpired(now) {
        try {
          return await pgDb.transaction(async (tx) =>
            runAsync(markExpiredSteps(asQueryDb(tx, schema).db, t, now, uowOptions)),
          );
        } catch (e) {
          throw toWriteError(e, 'Marking expired certificates failed');
        }
      },
    },
    audit: {
      ...repos.audit,
      append: appendViaCommit(commit),
    },
    commit,
    expectCommit: group.expect,
    holdsCommits: group.holds,
    commitStats: () => ({ ...group.stats(), ...batchTimes }),
    async ping() {
      try {
        await pool.query('select 1');
        return true;
      } catch {
        return false;
      }
    },
    async withLeaderLock(name, fn) {
      if (closed || leaderNames.has(name)) return undefined;
      leaderNames.set(name, 'acquiring');
      let session: pg.Client;
      try {
        session = await openLeaderSession();
        const r = await leaderQuery(session, 'select pg_try_advisory_lock(hashtext($1)) as ok', name);
        if ((r.rows[0] as { ok?: boolean } | undefined)?.ok !== true) {
          leaderNames.delete(name);
          return undefined;
        }
      } catch (e) {
        leaderNames.delete(name);
        if (e instanceof PkiError) throw e;
        throw new PkiError('store.unavailable', `Cannot take a leader lock: ${(e as Error).message}`, { cause: e });
      }
      leaderNames.set(name, session);
      try {
        return await fn();
      } finally {
        leaderNames.delete(name);
        // a lost session released the lock already; close() ends the session, which releases them all
        if (session === leaderSession && !closed)
          await leaderQuery(session, 'select pg_advisory_unlock(hashtext($1))', name).catch(() => undefined);
      }
    },
    async backup(toPath) {
      try {
        const conn = pgToolConnection(connectionString, options.env);
        await execFileAsync(
          findPgBinary('pg_dump', options.env?.PATH),
          ['-Fc', '--no-owner', '-f', toPath, '-d', conn.dbArg],
          {
            maxBuffer: 16 * 1024 * 1024,
            env: conn.env,
          },
        );
      } catch (e) {
        if (e instanceof PkiError) throw e;
        const stderr = (e as { stderr?: string }).stderr?.trim();
        throw new PkiError('store.backup_failed', `pg_dump to '${toPath}' failed: ${stderr || (e as Error).message}`, {
          cause: e,
        });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // let commits already submitted finish before the pool goes away
      await group.drain();
      clearTimeout(listenRetry);
      listenRetry = undefined;
      await listenerOpening;
      await listener?.end().catch(() => undefined);
      listener = undefined;
      // ending the leader session releases every leader lock of this instance
      await (leaderSession ?? (await leaderSessionOpening?.catch(() => undefined)))?.end().catch(() => undefined);
      leaderSession = undefined;
      for (const lane of lanes) {
        const commitConnection = lane.client;
        lane.client = undefined;
        await (await commitConnection?.catch(() => undefined))?.end().catch(() => undefined);
      }
      await pool.end();
    },
    async rebuildCertificateCounts() {
      try {
        return await pgDb.transaction(async (tx) =>
          runAsync(rebuildCountsSteps(asQueryDb(tx, schema).db, t, 'postgres')),
        );
      } catch (e) {
        throw toWriteError(e, 'Rebuilding the certificate counters failed');
      }
    },
    exportRows: (table, afterKey, limit) => repos.exportRows(table, afterKey, limit),
    async importRows(table, rows) {
      if (rows.length === 0) return 0;
      try {
        await pgDb.transaction(async (tx) => {
          const { table: tbl } = tableByName(t, table);
          const cols = Object.keys(getTableColumns(tbl)).length;
          const perStatement = Math.max(1, Math.floor(30_000 / cols));
          const txDb = asQueryDb(tx, schema).db;
          if (table === 'certificates') await insertImportedCertificates(tx, rows);
          else
            for (let i = 0; i < rows.length; i += perStatement) {
              await txDb.insert(tbl).values(rows.slice(i, i + perStatement));
            }
          if (table === 'certificates') {
            const deltas = new CountDeltas();
            deltas.addRows(rows as unknown as CertificateRow[]);
            await runAsync(applyCountDeltas(txDb, t, deltas));
            await insertImportedCertificateNames(tx, rows as unknown as CertificateRow[]);
          }
        });
        return rows.length;
      } catch (e) {
        throw toWriteError(e, `Importing ${rows.length} row(s) into ${table} failed`);
      } finally {
        // after the transaction (a CA row read meanwhile is read again), as the commit's units
        if (table === 'certificate_authorities') caRowWrites++;
      }
    },
  };
}

/**
 * Imported certificate rows (`importRows`: `pkim db copy`, a restore into PostgreSQL, the plan tests' seeds): one
 * statement per 10,000 rows with an array parameter per column (`unnest`), each value as its column sends it
 * (`mapToDriverValue`: the JSON-mode `sans` as its JSON text), cast to the column's type, instead of Drizzle's
 * multi-row insert of one parameter per value (1,500 rows of 20 parameters a statement). A value left out is NULL, as
 * in Drizzle's insert (no certificates column has a default). docs/testing.md "Session 38: suite time".
 */
async function insertImportedCertificates(
  tx: { execute(query: SQL): Promise<unknown> },
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  const columns = Object.entries(getTableColumns(schema.certificates));
  for (let i = 0; i < rows.length; i += 10_000) {
    const part = rows.slice(i, i + 10_000);
    const arrays = columns.map(([key, column]) => {
      const values = part.map((r) =>
        r[key] === null || r[key] === undefined ? null : column.mapToDriverValue(r[key]),
      );
      return sql`${sql.param(values)}::${sql.raw(column.getSQLType())}[]`;
    });
    const names = columns.map(([, column]) => sql.identifier(column.name));
    await tx.execute(
      sql`insert into ${schema.certificates} (${sql.join(names, sql`, `)})
        select * from unnest(${sql.join(arrays, sql`, `)})`,
    );
  }
}

/**
 * The search terms of imported certificates (`importRows`: `pkim db copy`, a restore into PostgreSQL): one statement
 * per 50,000 terms with three array parameters (`unnest`) instead of a row of three parameters per term. Drizzle's
 * multi-row insert built and sent 30,000 parameters per 10,000 terms: 6,000 certificates' terms took 7.7 s against 2.8
 * s this way (store-postgres's plan tests, load 16; docs/testing.md "Session 37: suite time"). The same rows as
 * `insertCertificateNames` writes (certificateNameRows).
 */
async function insertImportedCertificateNames(
  tx: { execute(query: SQL): Promise<unknown> },
  certs: readonly CertificateRow[],
): Promise<void> {
  const names = certificateNameRows(certs);
  for (let i = 0; i < names.length; i += 50_000) {
    const part = names.slice(i, i + 50_000);
    const name = sql.param(part.map((n) => n.name));
    const certificateId = sql.param(part.map((n) => n.certificateId));
    const createdAt = sql.param(part.map((n) => n.createdAt));
    await tx.execute(
      sql`insert into certificate_names (name, certificate_id, created_at)
        select * from unnest(${name}::text[], ${certificateId}::text[], ${createdAt}::bigint[])`,
    );
  }
}

/**
 * Refuses (`store.in_use`) when a store has the database open — a running `pkim serve`, another command (each holds
 * IN_USE shared, connectLeaderSession); otherwise returns the connection that now holds it exclusive, so no store
 * opens until it ends. Such a server would keep serving and signing with the CA rows, tokens, CRL numbers and OCSP
 * answers it remembers from before the restore.
 */
async function takeInUseExclusive(connectionString: string): Promise<pg.Client> {
  const c = await connectClient(connectionString);
  try {
    const r = await c.query('select pg_try_advisory_lock($1::int, $2::int) as ok', [LOCK_CLASS, IN_USE_LOCK]);
    if ((r.rows[0] as { ok?: boolean } | undefined)?.ok === true) return c;
    const holders = await c.query(
      `select coalesce(nullif(a.application_name, ''), 'pid ' || l.pid) as name from pg_locks l
         join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 2 and l.classid::bigint = $1
          and l.objid::bigint = $2 and l.database = (select oid from pg_database where datname = current_database())
        order by 1`,
      [LOCK_CLASS, IN_USE_LOCK],
    );
    const names = (holders.rows as { name: string }[]).map((h) => h.name);
    const who = names.length > 1 ? `${names.length} other pkim processes` : 'another pkim process';
    throw new PkiError(
      'store.in_use',
      `the PostgreSQL database is open in ${who}${names.length ? ` (${names.join(', ')})` : ''}: stop every ` +
        'server and command using it, then restore — a server left running would keep serving what it remembers ' +
        'of the replaced data',
      { details: { processes: names } },
    );
  } catch (e) {
    await c.end().catch(() => undefined);
    if (e instanceof PkiError) throw e;
    throw new PkiError('store.unavailable', `Cannot check who uses PostgreSQL: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * pg_restore --clean --if-exists --no-owner in one transaction, while no store has the database open (refused with
 * `store.in_use` otherwise); a store opened meanwhile waits for the restore to end.
 */
export async function restorePg(
  connectionString: string,
  fromPath: string,
  env: Record<string, string | undefined> = {},
): Promise<void> {
  const guard = await takeInUseExclusive(connectionString);
  try {
    const conn = pgToolConnection(connectionString, env);
    await execFileAsync(
      findPgBinary('pg_restore', env.PATH),
      ['--clean', '--if-exists', '--no-owner', '--single-transaction', '-d', conn.dbArg, fromPath],
      { maxBuffer: 16 * 1024 * 1024, env: conn.env },
    );
  } catch (e) {
    if (e instanceof PkiError) throw e;
    const stderr = (e as { stderr?: string }).stderr?.trim();
    throw new PkiError(
      'store.restore_failed',
      `pg_restore of '${fromPath}' failed: ${stderr || (e as Error).message}`,
      { cause: e },
    );
  } finally {
    await guard.end().catch(() => undefined); // releases IN_USE
  }
}
