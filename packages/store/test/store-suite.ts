// The repository suite, written once and run for every engine (store-sqlite.test.ts,
// store-postgres.test.ts). Each test gets its own fresh database.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { copyStore, openStore, restoreStore } from '../src/index';
import { DENSE_MATCHES, DENSE_WALK } from '../src/repositories';

import type {
  BulkJobRow,
  CaRow,
  IdempotencyRow,
  CertificateRequestRow,
  CertificateQuery,
  CertificateRow,
  CertificateStatus,
  CommitResult,
  GroupCommitPolicy,
  OcspResponseRow,
  OpenStoreOptions,
  Page,
  Store,
  StoreLogger,
  UnitOfWork,
} from '../src/types';
import { DAY, T0, makeCa, makeCert, makeEvent, makeRequest, makeToken, makeUser } from './store-fixtures';

/**
 * The dense walk of the suite's dense-search stores (OpenStoreOptions.denseWalk): the pages are the same for any
 * walk, and the rows below it cost a tenth of DENSE_WALK's (store-sqlite pages one search at the default).
 */
export const TEST_DENSE_WALK = DENSE_WALK / 10;

export interface StoreEngine {
  dialect: 'sqlite' | 'postgres';
  /** URL of a fresh, empty database */
  newDatabaseUrl(): Promise<string>;
  /** URL of a fresh database with every migration applied (a copy of one migrated once); without it, an empty one */
  newMigratedDatabaseUrl?(): Promise<string>;
  /** runs SQL on the database directly, bypassing the store (tamper tests) */
  rawSql(url: string, statement: string): Promise<void>;
  /** destroys the database's content and schema (restore tests) */
  wipe(url: string): Promise<void>;
  /** a fresh path to write a backup to */
  backupPath(): string;
  /** what the suite's stores are opened with besides the URL (the SQLite writer thread) */
  openOptions?: Pick<OpenStoreOptions, 'sqliteWriterThread'>;
}

async function expectPkiError(p: Promise<unknown>, code: string): Promise<PkiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected PkiError ${code}`).toBeInstanceOf(PkiError);
  expect((e as PkiError).code).toBe(code);
  return e as PkiError;
}

/** the table as migration 0019 made it (one response per certificate, a foreign key to certificates) */
const OCSP_RESPONSES_0019 =
  'create table ocsp_responses (certificate_id text not null, status_key text not null, cert_id text not null, ' +
  'der text not null, this_update bigint not null, next_update bigint not null, refresh_at bigint not null, ' +
  'constraint ocsp_responses_pkey primary key (certificate_id), constraint ' +
  'ocsp_responses_certificate_id_certificates_id_fk foreign key (certificate_id) references certificates(id) ' +
  'on delete cascade)';

/** undoes migration 0026 (`when` 1796196240000): ocsp_responses back to its 0019 shape (its rows are derived data) */
/** a search listed page by page (`limit` rows each, every page full but the last): the ids, in the order listed */
interface ListedSearch {
  search: string;
  status?: CertificateStatus;
  caId?: string;
}
async function allPages(store: Store, q: ListedSearch, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.certificates.list({ ...q, limit, cursor });
    expect(page.items.length === limit || page.nextCursor === null).toBe(true);
    ids.push(...page.items.map((c) => c.id));
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

function undo0026(migrations: string): string[] {
  return [
    'drop table ocsp_responses',
    OCSP_RESPONSES_0019,
    'create index ocsp_responses_refresh_idx on ocsp_responses (refresh_at)',
    `delete from ${migrations} where created_at = 1796196240000`,
  ];
}

/** undoes 0027: certificate_names gets its foreign key (ON DELETE CASCADE) back, the delete trigger goes */
function undo0027(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const fk = 'references certificates(id) on delete cascade';
  return [
    ...(dialect === 'postgres'
      ? [
          'drop trigger certificates_delete_names on certificates',
          'drop function pkim_certificates_delete_names()',
          'alter table certificate_names add constraint certificate_names_certificate_id_certificates_id_fk ' +
            `foreign key (certificate_id) ${fk}`,
        ]
      : [
          'drop trigger certificates_delete_names',
          'create table certificate_names_fk (name text not null, certificate_id text not null ' +
            `${fk}, primary key (name, certificate_id)) without rowid`,
          'insert into certificate_names_fk select name, certificate_id from certificate_names',
          'drop table certificate_names',
          'alter table certificate_names_fk rename to certificate_names',
          'create index certificate_names_certificate_idx on certificate_names (certificate_id)',
        ]),
    `delete from ${migrations} where created_at = 1796196250000`,
  ];
}

/** back to before 0040 (PostgreSQL only): certificates.ca_id's foreign key back, 0040's triggers gone */
/** back to before 0050: no index of CAs by their certificate's fingerprint nor by their predecessor */
function undo0050(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const when = dialect === 'sqlite' ? 1796676189589 : 1796676192587;
  return [
    'drop index certificate_authorities_fingerprint_idx',
    'drop index certificate_authorities_predecessor_idx',
    `delete from ${migrations} where created_at = ${when}`,
  ];
}

/** back to before 0049: no index of the users' and tokens' names in code point order (PostgreSQL's "C" ones) */
function undo0049(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const when = dialect === 'sqlite' ? 1796675473273 : 1796675475338;
  return [
    ...undo0050(dialect, migrations),
    ...(dialect === 'sqlite'
      ? ['drop index api_tokens_name_idx']
      : ['drop index users_username_c_idx', 'drop index api_tokens_name_c_idx']),
    `delete from ${migrations} where created_at = ${when}`,
  ];
}

/** back to before 0048 (and 0049): no stored delta CRLs nor claims to sign them (journal `when` of each engine) */
function undo0048(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const when = dialect === 'sqlite' ? 1796674578125 : 1796674579424;
  return [
    ...undo0049(dialect, migrations),
    'drop table crl_deltas',
    'drop table crl_delta_claims',
    `delete from ${migrations} where created_at = ${when}`,
  ];
}

/** back to before 0047 (and 0048): the full 64-hex fingerprint index instead of its first 16 characters */
function undo0047(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const when = dialect === 'sqlite' ? 1796665645814 : 1796665650607;
  return [
    ...undo0048(dialect, migrations),
    'drop index certificates_fingerprint16_idx',
    'create index certificates_fingerprint_idx on certificates (fingerprint_sha256)',
    `delete from ${migrations} where created_at = ${when}`,
  ];
}

/** back to before 0046 (and 0047): no claims to sign a delta CRL base (journal `when` of each engine) */
function undo0046(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const when = dialect === 'sqlite' ? 1796653075958 : 1796653082792;
  return [
    ...undo0047(dialect, migrations),
    'drop table crl_delta_base_claims',
    `delete from ${migrations} where created_at = ${when}`,
  ];
}

/** back to before 0045 (and 0046): no stored delta CRL bases (journal `when` of each engine) */
function undo0045(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const when = dialect === 'sqlite' ? 1796644327289 : 1796644332556;
  return [
    ...undo0046(dialect, migrations),
    'drop table crl_delta_bases',
    `delete from ${migrations} where created_at = ${when}`,
  ];
}

/** back to before 0044 (and 0045): no index of the revoked certificates by revocation time */
function undo0044(dialect: StoreEngine['dialect'], migrations: string): string[] {
  const when = dialect === 'sqlite' ? 1796633037916 : 1796633072249;
  return [
    ...undo0045(dialect, migrations),
    'drop index certificates_revoked_at_idx',
    `delete from ${migrations} where created_at = ${when}`,
  ];
}

/** back to before 0042: CAs without a predecessor or a certificate history (journal `when` of each engine) */
function undo0043(migrations: string, when: number): string[] {
  return ['drop table idempotency_keys', `delete from ${migrations} where created_at = ${when}`];
}

function undo0042(migrations: string): string[] {
  return [
    'alter table certificate_authorities drop column predecessor_id',
    'alter table certificate_authorities drop column certificate_history',
    `delete from ${migrations} where created_at in (1796556290548, 1796556292219)`,
  ];
}

function undo0040(dialect: StoreEngine['dialect'], migrations: string): string[] {
  if (dialect !== 'postgres') return [];
  return [
    'drop trigger certificates_check_ca on certificates',
    'drop function pkim_certificates_check_ca()',
    'drop trigger certificate_authorities_delete_certificates on certificate_authorities',
    'drop function pkim_certificate_authorities_delete_certificates()',
    'alter table certificates add constraint certificates_ca_id_certificate_authorities_id_fk foreign key (ca_id) ' +
      'references certificate_authorities(id) on delete cascade',
    `delete from ${migrations} where created_at = 1796521443490`,
  ];
}

/** back to before 0038: requests without their certificate's notAfter, nor the requester's expiry index */
function undo0038(migrations: string): string[] {
  return [
    'drop index if exists certificate_requests_requester_expiry_idx',
    'alter table certificate_requests drop column certificate_not_after',
    `delete from ${migrations} where created_at = 1796196380000`,
  ];
}

/** back to before 0037 (and 0038): no leaf_not_after_behavior on CAs */
function undo0037(migrations: string): string[] {
  return [
    ...undo0038(migrations),
    'alter table certificate_authorities drop column leaf_not_after_behavior',
    `delete from ${migrations} where created_at = 1796196370000`,
  ];
}

/** back to before 0035 (and 0037): (status, not_after) without the id */
function undo0035(migrations: string): string[] {
  return [
    ...undo0037(migrations),
    'drop index if exists certificates_status_not_after_idx',
    'create index certificates_status_not_after_idx on certificates (status, not_after)',
    `delete from ${migrations} where created_at = 1796196340000`,
  ];
}

/** back to before 0034 (and 0035): the (ca_id, status) index of certificates and the unique index of audit event ids */
function undo0034(migrations: string): string[] {
  return [
    ...undo0035(migrations),
    // (if not exists: a test may undo twice without migrating in between)
    'create index if not exists certificates_ca_status_idx on certificates (ca_id, status)',
    'create unique index if not exists audit_events_id_uq on audit_events (id)',
    `delete from ${migrations} where created_at = 1796196320000`,
  ];
}

/** undoes 0032: the search terms without their certificates' creation time, as 0027 left them */
/** back to before 0033 (PostgreSQL only): the terms' certificate_id index, the delete trigger by id alone */
function undo0033(dialect: StoreEngine['dialect'], migrations: string): string[] {
  if (dialect !== 'postgres') return [];
  return [
    'drop index certificate_names_created_idx',
    'create index certificate_names_certificate_idx on certificate_names (certificate_id)',
    'create or replace function pkim_certificates_delete_names() returns trigger language plpgsql as ' +
      '$$ begin delete from certificate_names where certificate_id = old.id; return null; end $$',
    `delete from ${migrations} where created_at = 1796196310000`,
  ];
}

function undo0032(dialect: StoreEngine['dialect'], migrations: string): string[] {
  return [
    ...undo0034(migrations),
    ...undo0033(dialect, migrations),
    ...(dialect === 'postgres'
      ? [
          'drop index certificate_names_name_idx',
          'alter table certificate_names drop column created_at',
          'create index certificate_names_name_idx on certificate_names (name text_pattern_ops, certificate_id)',
        ]
      : [
          'drop trigger certificates_delete_names',
          'create table certificate_names_0027 (name text not null, certificate_id text not null, ' +
            'primary key (name, certificate_id)) without rowid',
          'insert into certificate_names_0027 select name, certificate_id from certificate_names',
          'drop table certificate_names',
          'alter table certificate_names_0027 rename to certificate_names',
          'create index certificate_names_certificate_idx on certificate_names (certificate_id)',
          'create trigger certificates_delete_names after delete on certificates begin ' +
            'delete from certificate_names where certificate_id = old.id; end',
        ]),
    `delete from ${migrations} where created_at = 1796196300000`,
  ];
}

/** the statements of a migration file of this engine (split at drizzle's breakpoints) */
function migrationStatements(dialect: StoreEngine['dialect'], file: string): string[] {
  const folder = dialect === 'postgres' ? 'pg' : 'sqlite';
  return readFileSync(fileURLToPath(new URL(`../migrations/${folder}/${file}`, import.meta.url)), 'utf8')
    .split('--> statement-breakpoint')
    .map((x) => x.trim())
    .filter(Boolean);
}

interface Counter {
  caId: string;
  profile: string;
  status: CertificateStatus;
  count: number;
}

/** Ground truth for the counters: every certificate row, paged by id and grouped in memory. */
async function countFromRows(store: Store): Promise<Counter[]> {
  const m = new Map<string, Counter>();
  let after: string | number | null = null;
  for (;;) {
    const page = await store.exportRows('certificates', after, 1000);
    for (const r of page.rows as { caId: string; profile: string; status: CertificateStatus }[]) {
      const k = `${r.caId} ${r.profile} ${r.status}`;
      const cur = m.get(k);
      if (cur) cur.count++;
      else m.set(k, { caId: r.caId, profile: r.profile, status: r.status, count: 1 });
    }
    if (page.nextKey === null) break;
    after = page.nextKey;
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...m.values()].sort((a, b) => cmp(a.caId, b.caId) || cmp(a.profile, b.profile) || cmp(a.status, b.status));
}

/** The counters agree with the rows, per (CA, profile, status) and per CA / in total by status. */
async function expectExactCounters(store: Store, label = ''): Promise<Counter[]> {
  const truth = await countFromRows(store);
  const sorted = (rows: Counter[]) =>
    [...rows].sort((a, b) => `${a.caId} ${a.profile} ${a.status}`.localeCompare(`${b.caId} ${b.profile} ${b.status}`));
  expect(sorted(await store.certificates.countsByCaAndProfile()), `countsByCaAndProfile ${label}`).toEqual(
    sorted(truth),
  );
  const byStatus = (rows: Counter[]) => {
    const out = { active: 0, revoked: 0, expired: 0 };
    for (const r of rows) out[r.status] += r.count;
    return out;
  };
  expect(await store.certificates.countByStatus(), `countByStatus() ${label}`).toEqual(byStatus(truth));
  for (const caId of new Set(truth.map((r) => r.caId))) {
    expect(await store.certificates.countByStatus(caId), `countByStatus(${caId}) ${label}`).toEqual(
      byStatus(truth.filter((r) => r.caId === caId)),
    );
  }
  return truth;
}

/**
 * A dense search whose matches lie below `walk` + 500 newer rows (the serials of one minute), paged exactly on a
 * store whose dense walk is `walk` rows: the suite's at TEST_DENSE_WALK, store-sqlite's at the default, DENSE_WALK.
 */
export async function pagesDenseSearchBelowTheWalk(store: Store, walk: number): Promise<void> {
  const ca = makeCa();
  await store.commit({ insertCa: [ca] });
  // serials start with the issuance time: 8 hex digits are a 65.5 s window. DENSE_MATCHES + 50 certificates of
  // one window, then walk + 500 of the next, a few of which (every 400th) match too
  const hex = (i: number) => i.toString(16).padStart(32, '0');
  // (every 7th also has a DNS name that starts with the prefix: two of its terms match, it is listed once)
  const old = Array.from({ length: DENSE_MATCHES + 50 }, (_, i) =>
    makeCert(ca.id, {
      serialHex: `019a3f2c${hex(i)}`,
      createdAt: T0 + i,
      ...(i % 7 === 0 ? { sans: { dns: [`019a3f2c-${i}.svc.example`] } } : {}),
    }),
  );
  const newer = Array.from({ length: walk + 500 }, (_, i) =>
    makeCert(ca.id, {
      serialHex: `${i % 400 === 7 ? '019a3f2c' : '019a3f2d'}${hex(1_000_000 + i)}`,
      createdAt: T0 + 100_000 + i,
      status: i % 2 ? 'active' : 'revoked',
    }),
  );
  await store.commit({ insertCertificates: [...old, ...newer] });
  const matching = [...old, ...newer]
    .filter((c) => c.serialHex.startsWith('019a3f2c'))
    .sort((x, y) => y.createdAt - x.createdAt);
  const all = (q: ListedSearch, limit: number) => allPages(store, q, limit);
  // newest first across the walked rows and the older matches, no duplicates or gaps, for any page size
  for (const limit of [100, 700]) expect(await all({ search: '019a3f2c' }, limit)).toEqual(matching.map((c) => c.id));
  expect(await all({ search: '019a3f2c', status: 'revoked' }, 100)).toEqual(
    matching.filter((c) => c.status === 'revoked').map((c) => c.id),
  );
  // the first page: the matches among the newest rows, then the newest of the old window
  const first = await store.certificates.list({ search: '019A3F2C', limit: 100 });
  expect(first.items.map((c) => c.id)).toEqual(matching.slice(0, 100).map((c) => c.id));
  expect(first.nextCursor).not.toBeNull();
}

export function defineStoreSuite(getEngine: () => StoreEngine): void {
  const open: Store[] = [];
  let url = '';
  const newStore = async (
    opts: {
      failCommit?: boolean;
      sameDb?: boolean;
      /** an empty database the store migrates (default: a migrated one where the engine has it) */
      empty?: boolean;
      groupCommit?: GroupCommitPolicy;
      logger?: StoreLogger;
      denseWalk?: number;
    } = {},
  ) => {
    const engine = getEngine();
    if (!opts.sameDb) {
      url = await (opts.empty || !engine.newMigratedDatabaseUrl
        ? engine.newDatabaseUrl()
        : engine.newMigratedDatabaseUrl());
    }
    const s = await openStore({
      ...getEngine().openOptions,
      url,
      faultInjection: opts.failCommit ? { failCommit: true } : undefined,
      groupCommit: opts.groupCommit,
      logger: opts.logger,
      denseWalk: opts.denseWalk,
    });
    open.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  /** A closed store holding one CA and one certificate, and its migrations table: to undo migrations by hand */
  const closedStoreWithOneCertificate = async () => {
    const store = await newStore();
    const ca = makeCa();
    const cert = makeCert(ca.id);
    await store.commit({ insertCa: [ca], insertCertificates: [cert] });
    await store.close();
    const engine = getEngine();
    const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
    return { ca, cert, engine, migrations };
  };

  describe('lookups', () => {
    it('stores and finds CAs, certificates, users, tokens, sessions, settings, key blobs, types intact', async () => {
      const store = await newStore();
      const root = makeCa({
        nameConstraints: { permittedDns: ['example.com'], excludedIp: ['10.0.0.0/8'] },
        pathLen: 1,
      });
      const sub = makeCa({ parentId: root.id, createdAt: T0 + 1 });
      const leafOfSub = makeCa({ parentId: sub.id, createdAt: T0 + 2 });
      const other = makeCa({ createdAt: T0 + 3 });
      const cert = makeCert(sub.id);
      const sameSerialOtherCa = makeCert(other.id, { serialHex: cert.serialHex });
      const sameSerialRoot = makeCert(root.id, { serialHex: cert.serialHex, createdAt: T0 + 1 });
      const user = makeUser({ disabled: true, mustChangePassword: false, lockedUntil: T0 + 5 });
      await store.commit({
        insertCa: [root, sub, leafOfSub, other],
        insertCertificates: [cert, sameSerialOtherCa, sameSerialRoot],
        insertUsers: [user],
        insertTokens: [
          {
            id: 'tok_1',
            name: 'ci',
            tokenHash: 'h1',
            userId: user.id,
            role: 'operator',
            scopes: ['cert:issue', 'cert:read'],
            resources: { cas: ['ca_1', 'issuing'], names: ['*.payments.example.com'], maxLifetimeMs: 86_400_000 },
            expiresAt: null,
            lastUsedAt: null,
            revokedAt: null,
            createdAt: T0,
          },
        ],
        insertSessions: [
          { id: 'ses_1', tokenHash: 'sh1', userId: user.id, csrfToken: 'csrf', expiresAt: T0 + DAY, createdAt: T0 },
        ],
        setSettings: { 'crl.interval': '3600', theme: 'dark' },
      });

      expect(await store.cas.findById(root.id)).toEqual(root);
      expect(await store.cas.findByName(sub.name)).toEqual(sub);
      expect(await store.cas.findById('ca_missing')).toBeUndefined();
      expect((await store.cas.list()).map((c) => c.id)).toEqual([root.id, sub.id, leafOfSub.id, other.id]);
      expect((await store.cas.listDescendants(root.id)).map((c) => c.id)).toEqual([sub.id, leafOfSub.id]);

      expect(await store.certificates.findById(cert.id)).toEqual(cert);
      expect(await store.certificates.findBySerial(sub.id, cert.serialHex.toUpperCase())).toEqual(cert);
      expect(await store.certificates.findBySerial(leafOfSub.id, cert.serialHex)).toBeUndefined();
      expect((await store.certificates.findAllBySerial(cert.serialHex.toUpperCase())).map((c) => c.id).sort()).toEqual(
        [cert.id, sameSerialOtherCa.id, sameSerialRoot.id].sort(),
      );
      expect(await store.certificates.findAllBySerial('00ff')).toEqual([]);
      expect(await store.certificates.findByFingerprint(cert.fingerprintSha256)).toEqual(cert);

      expect(await store.users.findById(user.id)).toEqual(user);
      expect(await store.users.findByUsername(user.username)).toEqual(user);
      expect(await store.users.count()).toBe(1);
      const token = await store.tokens.findByHash('h1');
      expect(token?.scopes).toEqual(['cert:issue', 'cert:read']);
      expect(token?.resources).toEqual({
        cas: ['ca_1', 'issuing'],
        names: ['*.payments.example.com'],
        maxLifetimeMs: 86_400_000,
      });
      await store.tokens.touch('tok_1', T0 + 42);
      expect((await store.tokens.findById('tok_1'))?.lastUsedAt).toBe(T0 + 42);
      expect(await store.sessions.findByHash('sh1')).toMatchObject({ id: 'ses_1', userId: user.id });
      expect(await store.sessions.deleteExpired(T0 + DAY)).toBe(1);
      expect(await store.sessions.findByHash('sh1')).toBeUndefined();
      expect(await store.settings.get('crl.interval')).toBe('3600');
      await store.commit({ setSettings: { 'crl.interval': '60' } });
      expect(await store.settings.get('crl.interval')).toBe('60');
      await store.commit({ setSettings: { 'vault.role.pki/b': '2', 'vault.role.pki/a': '1', 'vault.rolex': 'x' } });
      expect(await store.settings.listByPrefix('vault.role.')).toEqual([
        { key: 'vault.role.pki/a', value: '1' },
        { key: 'vault.role.pki/b', value: '2' },
      ]);
      await store.commit({ deleteSettings: ['vault.role.pki/a', 'vault.absent'] });
      expect((await store.settings.listByPrefix('vault.role')).map((r) => r.key)).toEqual([
        'vault.role.pki/b',
        'vault.rolex',
      ]);
      // guarded writes (a profile made, changed, deleted through the API): a key there / not there fails the unit
      // whole, its other settings and audit events too
      const events = await store.audit.count();
      await store.commit({ insertSettings: { 'profile.g': '1' }, audit: [makeEvent()] });
      await expectPkiError(
        store.commit({ insertSettings: { 'profile.g': '2' }, setSettings: { 'g.other': 'x' }, audit: [makeEvent()] }),
        'store.setting_exists',
      );
      await expectPkiError(
        store.commit({
          updateSettings: { 'profile.none': '2' },
          setSettings: { 'g.other': 'x' },
          audit: [makeEvent()],
        }),
        'store.setting_not_found',
      );
      await expectPkiError(
        store.commit({ removeSettings: ['profile.g', 'profile.none'], audit: [makeEvent()] }),
        'store.setting_not_found',
      );
      expect(await store.settings.get('profile.g')).toBe('1');
      expect(await store.settings.get('g.other')).toBeUndefined();
      expect(await store.audit.count()).toBe(events + 1);
      await store.commit({ updateSettings: { 'profile.g': '3' } });
      expect(await store.settings.get('profile.g')).toBe('3');
      await store.commit({ removeSettings: ['profile.g'] });
      expect(await store.settings.get('profile.g')).toBeUndefined();

      expect(await store.keyBlobs.get('key_1')).toBeUndefined();
      await store.keyBlobs.put('key_1', 'blob-v1');
      await store.keyBlobs.put('key_1', 'blob-v2');
      expect(await store.keyBlobs.get('key_1')).toBe('blob-v2');
      expect(await store.keyBlobs.delete('key_1')).toBe(true);
      expect(await store.keyBlobs.delete('key_1')).toBe(false);
      expect(await store.ping()).toBe(true);
    });

    it('finds the CAs that may hold a certificate: by fingerprint, those its signer signed for (0050)', async () => {
      const store = await newStore();
      // many CAs: a root, its children, a successor (rotated), a grandchild, and unrelated roots with their children
      let n = 0;
      const ca = (patch: Partial<CaRow>) =>
        makeCa({ ...patch, createdAt: T0 + ++n, fingerprintSha256: n.toString(16).padStart(64, '0') });
      const root = ca({});
      const children = Array.from({ length: 5 }, () => ca({ parentId: root.id }));
      const successor = ca({ predecessorId: root.id });
      const grandchild = ca({ parentId: children[0]!.id });
      const others = Array.from({ length: 40 }, () => ca({}));
      const otherChildren = others.map((o) => ca({ parentId: o.id }));
      await store.commit({ insertCa: [root, ...children, successor, grandchild, ...others, ...otherChildren] });
      const ids = async (fp: string, signer: string) =>
        (await store.cas.findCertificateHolders(fp, signer)).map((c) => c.id).sort();
      const unknown = 'ab'.repeat(32);
      // the signer itself, its children and its successor; not its grandchild nor any other CA
      expect(await ids(unknown, root.id)).toEqual([root.id, ...children.map((c) => c.id), successor.id].sort());
      // a CA's current certificate by its fingerprint (any case), whoever the signer given
      const target = otherChildren[17]!;
      expect(await ids(target.fingerprintSha256!.toUpperCase(), grandchild.id)).toEqual(
        [target.id, grandchild.id].sort(),
      );
      expect(await ids(unknown, 'ca_missing')).toEqual([]);
    });

    it('finds a certificate by its whole fingerprint and by a fingerprint prefix of any length (0047)', async () => {
      const store = await newStore();
      const ca = makeCa();
      // the index keys on the first 16 hex characters: rows that share them (and more) must still be told apart
      const head = '0123456789abcdef';
      const fps = [
        `${head}${'0'.repeat(48)}`,
        `${head}${'0'.repeat(47)}1`,
        `${head}f${'0'.repeat(47)}`,
        `${head.slice(0, 15)}e${'0'.repeat(48)}`,
        'f'.repeat(64),
        `${'f'.repeat(16)}${'e'.repeat(48)}`,
        `fe${'a'.repeat(62)}`,
      ];
      const certs = [
        ...fps.map((fingerprintSha256, i) => makeCert(ca.id, { fingerprintSha256, createdAt: T0 + i })),
        ...Array.from({ length: 20 }, (_, i) => makeCert(ca.id, { createdAt: T0 + 100 + i })),
      ];
      await store.commit({ insertCa: [ca], insertCertificates: certs });
      for (const c of certs) {
        expect(await store.certificates.findByFingerprint(c.fingerprintSha256)).toEqual(c);
        expect((await store.certificates.findByFingerprint(c.fingerprintSha256.toUpperCase()))?.id).toBe(c.id);
      }
      // a fingerprint that only shares the indexed 16 characters is nobody's
      expect(await store.certificates.findByFingerprint(`${head}${'0'.repeat(47)}2`)).toBeUndefined();
      expect(await store.certificates.findByFingerprint(head)).toBeUndefined();
      const prefixes = ['0', 'f', 'ff', 'fff', 'f'.repeat(16), 'f'.repeat(17), 'fe', head.slice(0, 10), head];
      prefixes.push(`${head}0`, `${head}f`, `${head.slice(0, 15)}e`, fps[1]!, fps[1]!.slice(0, 63), 'a'.repeat(20));
      for (const c of certs.slice(7)) prefixes.push(c.fingerprintSha256.slice(0, 3), c.fingerprintSha256.slice(0, 40));
      for (const p of prefixes) {
        const want = certs.filter((c) => c.fingerprintSha256.startsWith(p)).map((c) => c.id);
        const got = (await store.certificates.findByHexPrefix(p.toUpperCase(), 100)).fingerprint.map((c) => c.id);
        expect(got.sort(), p).toEqual(want.sort());
      }
    });

    it('reads the per-request CA, token, session and request rows (raw statements) exactly as mapped', async () => {
      const store = await newStore();
      const user = makeUser();
      const parent = makeCa();
      // every column set (JSON, integers beyond 32 bits, nullable ones) so each value's mapping is seen
      const ca = makeCa({
        parentId: parent.id,
        pathLen: 0,
        nameConstraints: { permittedDns: ['example.com'], permittedUriPrefixes: ['spiffe://example.com/'] },
        urls: {
          base: 'http://pki.example.com',
          crlDistributionPoints: ['http://pki.example.com/crl/x.crl'],
          ocspUrls: ['http://pki.example.com/ocsp'],
          caIssuersUrls: [],
        },
        csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n',
        issuerChainPem: '-----BEGIN CERTIFICATE-----\nAQ==\n-----END CERTIFICATE-----\n',
        crlNumber: 2 ** 40 + 7,
        status: 'revoked',
        revokedAt: T0 + 5,
        revocationReason: 'keyCompromise',
        updatedAt: T0 + 9,
      });
      const token = {
        id: 'tok_all',
        name: 'all columns',
        tokenHash: 'hash-all',
        userId: user.id,
        role: 'operator' as const,
        scopes: ['cert:issue'],
        resources: { cas: [ca.id], maxLifetimeMs: 3_600_000 },
        expiresAt: T0 + DAY,
        lastUsedAt: T0 + 1,
        revokedAt: T0 + 2,
        createdAt: T0,
      };
      const session = {
        id: 'ses_all',
        tokenHash: 'shash-all',
        userId: user.id,
        csrfToken: 'csrf-all',
        method: 'oidc',
        expiresAt: T0 + DAY,
        createdAt: T0,
      };
      // the request an approval reads: every column set (JSON sans, integers beyond 32 bits)
      const request = makeRequest(parent.id, {
        sans: { dns: ['a.example', 'b.example'], ip: ['192.0.2.1'], email: ['ops@example.com'] },
        validityMs: 2 ** 40 + 3,
        status: 'rejected',
        reviewer: 'usr_reviewer',
        reason: 'not ours',
        certificateId: 'crt_none',
        reviewedAt: T0 + 3,
        updatedAt: T0 + 4,
      });
      await store.commit({
        insertUsers: [user],
        insertCa: [parent, ca],
        insertTokens: [token],
        insertSessions: [session],
        insertRequests: [request],
      });
      expect(await store.requests.findById(request.id)).toStrictEqual(request);
      expect((await store.requests.list({ caId: parent.id })).items).toStrictEqual([request]);
      expect(await store.requests.findById('req_missing')).toBeUndefined();
      // read at once (PostgreSQL groups them into one query): each caller its own row, or none
      const second = makeRequest(parent.id);
      await store.commit({ insertRequests: [second] });
      expect(
        await Promise.all([request.id, 'req_missing', second.id, request.id].map((id) => store.requests.findById(id))),
      ).toStrictEqual([request, undefined, second, request]);
      expect(await store.cas.findById(ca.id)).toStrictEqual(ca);
      expect(await store.cas.findByName(ca.name)).toStrictEqual(ca);
      expect(await store.cas.findById(parent.id)).toStrictEqual(parent);
      expect((await store.cas.list()).find((c) => c.id === ca.id)).toStrictEqual(await store.cas.findById(ca.id));
      expect(await store.tokens.findByHash(token.tokenHash)).toStrictEqual(token);
      expect(await store.tokens.findById(token.id)).toStrictEqual(await store.tokens.findByHash(token.tokenHash));
      expect(await store.sessions.findByHash(session.tokenHash)).toStrictEqual(session);
      expect(await store.tokens.findByHash('hash-missing')).toBeUndefined();
      expect(await store.sessions.findByHash('shash-missing')).toBeUndefined();
      expect(await store.cas.findByName('no such CA')).toBeUndefined();
    });

    it('rejects a second certificate with the same serial from the same CA with certificate.serial_taken', async () => {
      const store = await newStore();
      const ca = makeCa();
      const first = makeCert(ca.id);
      await store.commit({ insertCa: [ca], insertCertificates: [first] });
      const e = await expectPkiError(
        store.commit({ insertCertificates: [makeCert(ca.id, { serialHex: first.serialHex })], audit: [makeEvent()] }),
        'certificate.serial_taken',
      );
      expect(e.message).toMatch(/serial/);
      expect(await store.audit.count()).toBe(0);
    });

    it('refuses a certificate of a CA disabled by an earlier unit of its batch (status read per batch)', async () => {
      // SQLite writes a batch's units in one transaction in the order they were submitted; PostgreSQL writes the
      // batchable units (issuance) in one statement and a CA update apart, so units submitted together have no order
      if (getEngine().dialect !== 'sqlite') return;
      const store = await newStore();
      const ca = makeCa();
      const other = makeCa();
      await store.commit({ insertCa: [ca, other] });
      const issue = (caId: string) => {
        const cert = makeCert(caId);
        return { insertCertificates: [cert], audit: [makeEvent({ action: 'certificate.issued', target: cert.id })] };
      };
      // submitted in one turn: one batch (one transaction where the engine batches)
      const settled = await Promise.allSettled([
        store.commit(issue(ca.id)),
        store.commit(issue(other.id)),
        store.commit({ updateCa: [{ id: ca.id, patch: { status: 'disabled' } }] }),
        store.commit(issue(ca.id)),
        store.commit(issue(other.id)),
      ]);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect(settled[3]).toMatchObject({ reason: { code: 'ca.not_active' } });
      expect(await store.certificates.countsByCaAndProfile()).toEqual(
        expect.arrayContaining([
          { caId: ca.id, profile: expect.any(String) as string, status: 'active', count: 1 },
          { caId: other.id, profile: expect.any(String) as string, status: 'active', count: 2 },
        ]),
      );
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 3 });
    });

    it('writes 40 issuances in a batch with the same rows, search terms and audit chain as one at a time', async () => {
      // SQLite writes the units of one turn in one transaction, their certificates, search terms and audit events with
      // multi-row INSERTs of up to 64 rows (sqlite-commit.ts HeldInserts: here 39 units, 4 × 64 + 17 terms, 39 events)
      const oneByOne = await newStore();
      const batched = await newStore();
      const ca = makeCa();
      const created = makeEvent();
      for (const store of [oneByOne, batched]) await store.commit({ insertCa: [ca], audit: [created] });
      const units = Array.from({ length: 40 }, (_, i) => {
        const cert = makeCert(ca.id, {
          commonName: `host${i}.batch.example`,
          sans: { dns: [`host${i}.batch.example`, `alt${i}.example.org`] },
        });
        return { insertCertificates: [cert], audit: [makeEvent({ action: 'certificate.issued', target: cert.id })] };
      });
      for (const unit of units) await oneByOne.commit(unit);
      await batched.commit(units[0]!); // the group commit writes a first unit at once, the units after it together
      const stats0 = batched.commitStats();
      await Promise.all(units.slice(1).map((unit) => batched.commit(unit)));
      if (getEngine().dialect === 'sqlite') expect(batched.commitStats().batches - stats0.batches).toBe(1);
      for (const table of ['certificates', 'audit_events'] as const) {
        const rows = (store: Store) => store.exportRows(table, null, 1000).then((page) => page.rows);
        expect(await rows(batched)).toEqual(await rows(oneByOne));
      }
      const ids = async (search: string) =>
        (await batched.certificates.list({ search, limit: 100 })).items.map((c) => c.id);
      for (const [i, unit] of units.entries()) {
        const id = unit.insertCertificates[0]!.id;
        expect(await ids(`host${i}.`)).toEqual([id]);
        expect(await ids(`alt${i}.example.org`)).toEqual([id]);
        expect(await ids(unit.insertCertificates[0]!.serialHex)).toEqual([id]);
      }
      expect(await ids('batch.example')).toHaveLength(40);
      expect(await batched.audit.verify()).toMatchObject({ ok: true, count: 41 });
      await expectExactCounters(batched, 'after a batch of 40 issuances');
    });

    it('writes approvals in batches as one at a time; a request approved twice fails alone', async () => {
      // SQLite: each approval's request update runs among the batch's held search terms and events (sqlite-commit.ts
      // besideHeldRows, not written before it); the unit that finds its request no longer pending rolls the batch
      // back, which is then written unit by unit: the others' rows, terms, events and counters all there
      const oneByOne = await newStore();
      const batched = await newStore();
      const ca = makeCa();
      const requests = Array.from({ length: 12 }, () => makeRequest(ca.id));
      for (const store of [oneByOne, batched]) await store.commit({ insertCa: [ca], insertRequests: requests });
      const approval = (request: CertificateRequestRow, i: number): UnitOfWork => {
        const cert = makeCert(ca.id, {
          commonName: `approved${i}.batch.example`,
          sans: { dns: [`approved${i}.batch.example`] },
          requestId: request.id,
        });
        const patch = { status: 'issued' as const, reviewer: 'usr_admin', reviewedAt: T0 + i, updatedAt: T0 + i };
        return {
          insertCertificates: [cert],
          updateRequests: [{ id: request.id, onlyIfStatus: 'pending', patch: { ...patch, certificateId: cert.id } }],
          audit: [
            makeEvent({ action: 'request.approved', target: request.id, details: { certificateId: cert.id } }),
            makeEvent({ action: 'certificate.issued', target: cert.id }),
          ],
        };
      };
      const units = requests.map(approval);
      units.splice(10, 0, approval(requests[2]!, 99)); // the third request approved a second time, in the second batch
      const outcomes = async (all: Promise<CommitResult>[]) =>
        (await Promise.allSettled(all)).map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as PkiError).code));
      const sequential: string[] = [];
      for (const unit of units) sequential.push(...(await outcomes([oneByOne.commit(unit)])));
      await batched.commit(units[0]!); // the group commit writes a first unit at once, the units after it together
      const stats0 = batched.commitStats();
      const first = await outcomes(units.slice(1, 8).map((unit) => batched.commit(unit)));
      if (getEngine().dialect === 'sqlite') expect(batched.commitStats().batches - stats0.batches).toBe(1);
      const second = await outcomes(units.slice(8).map((unit) => batched.commit(unit)));
      expect(['ok', ...first, ...second]).toEqual(sequential);
      expect(sequential.filter((o) => o !== 'ok')).toEqual(['request.not_pending']);
      for (const table of ['certificates', 'certificate_requests', 'audit_events'] as const) {
        const rows = (store: Store) => store.exportRows(table, null, 1000).then((page) => page.rows);
        expect(await rows(batched)).toEqual(await rows(oneByOne));
      }
      const found = async (search: string) => (await batched.certificates.list({ search, limit: 100 })).items.length;
      expect(await found('batch.example')).toBe(12);
      expect(await found('approved99.')).toBe(0);
      expect(await batched.audit.verify()).toMatchObject({ ok: true, count: 24 });
      await expectExactCounters(batched, 'after a batch of approvals with a refused one');
    });

    it('a unit sees the search terms of earlier units of its batch: issued, deleted together, none left', async () => {
      // on SQLite a batch holds its search terms for multi-row INSERTs and writes them before any statement that may
      // read them runs: the deletion's trigger (0027) removes the terms of a certificate issued earlier in the batch.
      // PostgreSQL writes issuance in one statement apart, so units submitted together have no order there
      if (getEngine().dialect !== 'sqlite') return;
      const store = await newStore();
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      const issue = (cert: CertificateRow) =>
        store.commit({
          insertCertificates: [cert],
          audit: [makeEvent({ action: 'certificate.issued', target: cert.id })],
        });
      const gone = makeCert(ca.id, { commonName: 'gone.batch.example.org', sans: { dns: ['gone.batch.example.org'] } });
      const kept = makeCert(ca.id, { commonName: 'kept.batch.example.org', sans: { dns: ['kept.batch.example.org'] } });
      await issue(makeCert(ca.id)); // the group commit writes a first unit at once, the units after it together
      const stats0 = store.commitStats();
      await Promise.all([issue(gone), store.commit({ deleteCertificates: [gone.id] }), issue(kept)]);
      expect(store.commitStats().batches - stats0.batches).toBe(1);
      // terms left behind would find whatever certificate is stored under the same id later: reuse the id to see them
      await store.commit({ insertCertificates: [makeCert(ca.id, { id: gone.id, commonName: 'again.example.net' })] });
      const search = async (q: string) => (await store.certificates.list({ search: q })).items.map((c) => c.id);
      expect(await search('gone.batch')).toEqual([]);
      expect(await search(gone.serialHex)).toEqual([]);
      expect(await search('kept.batch')).toEqual([kept.id]);
      expect(await search('again.example')).toEqual([gone.id]);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 3 });
      await expectExactCounters(store, 'after an issuance and its deletion in one batch');
    });

    it('turns a database error into store.write_failed and commits none of the unit', async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      const good = makeCert(ca.id);
      const orphan = makeCert('ca_does_not_exist');
      const e = await expectPkiError(
        store.commit({
          insertCertificates: [good],
          insertRequests: [makeRequest('ca_does_not_exist')],
          audit: [makeEvent()],
        }),
        'store.write_failed',
      );
      expect(e.message).toMatch(/nothing was committed/);
      expect(e.cause).toBeDefined();
      expect(await store.certificates.findById(good.id)).toBeUndefined();
      expect(await store.audit.count()).toBe(0);
      await expectPkiError(store.commit({ insertCertificates: [orphan] }), 'store.write_failed');
    });

    it("refuses a certificate of an unknown CA (in a batch: that unit alone); a CA's deletion takes it", async () => {
      // PostgreSQL: no foreign key on certificates.ca_id since 0040 — the counters' foreign key checks the CA of a
      // certificate written, certificates_check_ca one moved, certificate_authorities_delete_certificates cascades;
      // SQLite keeps the foreign key
      const store = await newStore();
      const [ca, doomed] = [makeCa(), makeCa()];
      await store.commit({ insertCa: [ca, doomed] });
      const issue = (c: CertificateRow) =>
        store.commit({
          insertCertificates: [c],
          audit: [makeEvent({ action: 'certificate.issued', target: c.id })],
        });
      const [before, orphan, after] = [makeCert(ca.id), makeCert('ca_nowhere'), makeCert(ca.id)];
      // submitted together: one batch statement on PostgreSQL, which fails; each unit is then written on its own
      const results = await Promise.allSettled([before, orphan, after].map(issue));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(((results[1] as PromiseRejectedResult).reason as PkiError).code).toBe('store.write_failed');
      expect(await store.certificates.findById(orphan.id)).toBeUndefined();
      expect((await store.certificates.list({ search: orphan.commonName! })).items).toEqual([]);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 2 });
      // (on PostgreSQL at the counters' foreign key: certificate_counts.ca_id) and a row moved to an unknown CA by SQL
      const fk = getEngine().dialect === 'sqlite' ? 'pragma foreign_keys = on; ' : '';
      const move = `${fk}update certificates set ca_id = 'ca_nowhere' where id = '${before.id}'`;
      await expect(getEngine().rawSql(url, move)).rejects.toThrow(/foreign key|FOREIGN KEY/);
      expect((await store.certificates.findById(before.id))?.caId).toBe(ca.id);
      // the CA's deletion takes its certificates, their keys, search terms and counters; the other CA's stay
      const [gone, gone2] = [makeCert(doomed.id), makeCert(doomed.id)];
      await store.commit({
        insertCertificates: [gone, gone2],
        insertCertificateKeys: [{ certificateId: gone.id, sealedKey: 'sealed', createdAt: T0 }],
      });
      expect(await store.certificates.findSealedKey(gone.id)).toBeDefined();
      await store.commit({ deleteCas: [doomed.id] });
      for (const c of [gone, gone2]) expect(await store.certificates.findById(c.id)).toBeUndefined();
      expect(await store.certificates.findSealedKey(gone.id)).toBeUndefined();
      expect((await store.certificates.list({ search: gone.commonName! })).items).toEqual([]);
      expect((await store.certificates.list({ limit: 10 })).items.map((c) => c.id).sort()).toEqual(
        [before.id, after.id].sort(),
      );
      await expectExactCounters(store, 'after a CA deletion');
    });
  });

  describe('certificate listing', () => {
    it('pages through every certificate newest first, no duplicates or gaps, including equal timestamps', async () => {
      const store = await newStore();
      const a = makeCa();
      const b = makeCa({ createdAt: T0 + 1 });
      const certs = Array.from({ length: 245 }, (_, i) =>
        makeCert(i % 3 === 0 ? b.id : a.id, { createdAt: T0 + Math.floor(i / 4) }),
      );
      await store.commit({ insertCa: [a, b], insertCertificates: certs });

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await store.certificates.list({ limit: 100, cursor });
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(245);
      const expected = [...certs]
        .sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))
        .map((c) => c.id);
      expect(seen).toEqual(expected);

      const onlyB: string[] = [];
      cursor = null;
      do {
        const page = await store.certificates.list({ caId: b.id, limit: 30, cursor });
        onlyB.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(onlyB.sort()).toEqual(
        certs
          .filter((c) => c.caId === b.id)
          .map((c) => c.id)
          .sort(),
      );

      expect((await store.certificates.list({})).items).toHaveLength(100);
      expect((await store.certificates.list({ limit: 5000 })).items).toHaveLength(245); // capped at 1000
      await expectPkiError(store.certificates.list({ cursor: 'not-a-cursor' }), 'input.invalid');
    });

    // the expiry sort without a filter reads each status's range of (status, not_after, id) and merges them
    // (expiryMergedPage, migration 0035): the pages must be the one order over every status, ties across statuses
    // by id, whichever status holds the cursor's row
    it('pages every certificate in expiry order both ways: statuses merged, equal end dates by id', async () => {
      const store = await newStore();
      const a = makeCa();
      const b = makeCa({ createdAt: T0 + 1 });
      const statuses = ['active', 'revoked', 'expired'] as const;
      const certs = Array.from({ length: 157 }, (_, i) => {
        const status = statuses[i % 7 === 0 ? 2 : i % 5 === 0 ? 1 : 0];
        return makeCert(i % 3 === 0 ? b.id : a.id, {
          // 20 end dates for 157 rows: each end date held by several statuses
          notAfter: T0 + (i % 20) * DAY,
          status,
          revokedAt: status === 'revoked' ? T0 : null,
          revocationReason: status === 'revoked' ? 'keyCompromise' : null,
          profile: i % 4 === 0 ? 'tls-client' : 'tls-server',
          createdAt: T0 + i,
        });
      });
      // and a CA with active certificates only: its page skips the other statuses' arms (statusesHeld)
      const d = makeCa({ createdAt: T0 + 2 });
      certs.push(...[3, 1, 2].map((k) => makeCert(d.id, { notAfter: T0 + k * DAY, createdAt: T0 + 200 + k })));
      await store.commit({ insertCa: [a, b, d], insertCertificates: certs });
      const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
      const soonest = [...certs].sort((x, y) => x.notAfter - y.notAfter || cmp(x.id, y.id));
      const all = async (q: Parameters<typeof store.certificates.list>[0], limit: number) => {
        const ids: string[] = [];
        let cursor: string | null | undefined;
        do {
          const page = await store.certificates.list({ ...q, limit, cursor });
          ids.push(...page.items.map((c) => c.id));
          cursor = page.nextCursor;
        } while (cursor);
        return ids;
      };
      for (const limit of [1, 7, 100, 1000]) {
        expect(await all({ sort: 'expiry_asc' }, limit), `soonest first, pages of ${limit}`).toEqual(
          soonest.map((c) => c.id),
        );
        expect(await all({ sort: 'expiry_desc' }, limit), `latest first, pages of ${limit}`).toEqual(
          soonest.map((c) => c.id).reverse(),
        );
      }
      // with a filter: one query in that order (a status: its own range)
      expect(await all({ sort: 'expiry_asc', status: 'revoked' }, 4)).toEqual(
        soonest.filter((c) => c.status === 'revoked').map((c) => c.id),
      );
      expect(await all({ sort: 'expiry_desc', caId: b.id }, 9)).toEqual(
        soonest
          .filter((c) => c.caId === b.id)
          .map((c) => c.id)
          .reverse(),
      );
      // other filters (expiryArms): each status's range walked with the filters tested on its rows, merged; read at
      // `now` an active row past its end is expired (statusCondition), so `expired` is two arms and `active` one
      const now = T0 + 8 * DAY;
      const statusAt = (c: (typeof certs)[number]) =>
        c.status === 'active' && c.notAfter <= now ? 'expired' : c.status;
      const filtered: [Parameters<typeof store.certificates.list>[0], (c: (typeof certs)[number]) => boolean][] = [
        [{ caId: a.id }, (c) => c.caId === a.id],
        [{ profile: 'tls-client' }, (c) => c.profile === 'tls-client'],
        [{ caIds: [a.id, b.id], profile: 'tls-server' }, (c) => c.caId !== d.id && c.profile === 'tls-server'],
        [{ caId: b.id, status: 'active', now }, (c) => c.caId === b.id && statusAt(c) === 'active'],
        [{ status: 'expired', now }, (c) => statusAt(c) === 'expired'],
        [{ status: 'active', now }, (c) => statusAt(c) === 'active'],
        [{ caId: a.id, status: 'expired', now }, (c) => c.caId === a.id && statusAt(c) === 'expired'],
        [{ profile: 'tls-client', status: 'revoked' }, (c) => c.profile === 'tls-client' && c.status === 'revoked'],
        [{ caIds: [] }, () => false],
        [{ caId: d.id }, (c) => c.caId === d.id],
        [{ caIds: [b.id, d.id], status: 'revoked' }, (c) => c.caId === b.id && c.status === 'revoked'],
        [{ caId: d.id, status: 'revoked' }, () => false],
      ];
      for (const [q, keep] of filtered) {
        const expected = soonest.filter(keep).map((c) => c.id);
        for (const limit of [4, 1000]) {
          expect(await all({ ...q, sort: 'expiry_asc' }, limit), `${JSON.stringify(q)} soonest first`).toEqual(
            expected,
          );
          expect(await all({ ...q, sort: 'expiry_desc' }, limit), `${JSON.stringify(q)} latest first`).toEqual(
            [...expected].reverse(),
          );
        }
      }
      // a database as a release before 0035 left it: 0035 rebuilds the index on its rows, the pages are the same
      await store.close();
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      for (const statement of undo0035(migrations)) await engine.rawSql(url, statement);
      const upgraded = await newStore({ sameDb: true });
      expect(await upgraded.certificates.list({ sort: 'expiry_asc', limit: 1000 })).toMatchObject({
        items: soonest.map((c) => ({ id: c.id })),
        nextCursor: null,
      });
      expect((await upgraded.certificates.list({ sort: 'expiry_desc', limit: 10 })).items.map((c) => c.id)).toEqual(
        soonest
          .slice(-10)
          .map((c) => c.id)
          .reverse(),
      );
    });

    it('pages the revoked certificates by revocation time, the latest first, ties by id (0044)', async () => {
      const store = await newStore();
      const a = makeCa();
      const b = makeCa({ createdAt: T0 + 1 });
      const certs = Array.from({ length: 90 }, (_, i) => {
        const revoked = i % 3 !== 0;
        return makeCert(i % 2 === 0 ? a.id : b.id, {
          status: revoked ? 'revoked' : i % 9 === 0 ? 'expired' : 'active',
          // 11 revocation times for 60 revoked rows: several rows each, ordered by id among them
          revokedAt: revoked ? T0 + (i % 11) * 1000 : null,
          revocationReason: revoked ? 'keyCompromise' : null,
          profile: i % 4 === 0 ? 'tls-client' : 'tls-server',
          notAfter: T0 + (i % 13) * DAY,
          createdAt: T0 + i,
        });
      });
      await store.commit({ insertCa: [a, b], insertCertificates: certs });
      const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
      const latest = certs
        .filter((c) => c.revokedAt !== null)
        .sort((x, y) => y.revokedAt! - x.revokedAt! || cmp(y.id, x.id));
      const all = async (q: Parameters<typeof store.certificates.list>[0], limit: number) => {
        const ids: string[] = [];
        let cursor: string | null | undefined;
        do {
          const page = await store.certificates.list({ ...q, limit, cursor });
          ids.push(...page.items.map((c) => c.id));
          cursor = page.nextCursor;
        } while (cursor);
        return ids;
      };
      for (const limit of [1, 7, 1000])
        expect(await all({ sort: 'revoked_desc' }, limit), `pages of ${limit}`).toEqual(latest.map((c) => c.id));
      const now = T0 + 6 * DAY;
      const filtered: [Parameters<typeof store.certificates.list>[0], (c: (typeof certs)[number]) => boolean][] = [
        [{ caId: a.id }, (c) => c.caId === a.id],
        [{ caIds: [b.id] }, (c) => c.caId === b.id],
        [{ caIds: [] }, () => false],
        [{ profile: 'tls-client' }, (c) => c.profile === 'tls-client'],
        [{ status: 'revoked', now }, () => true],
        [
          { caId: b.id, status: 'revoked', profile: 'tls-server' },
          (c) => c.caId === b.id && c.profile === 'tls-server',
        ],
        // a revocation time only revoked rows have: another status lists none
        [{ status: 'active', now }, () => false],
        [{ status: 'expired', now }, () => false],
        [{ search: certs[4]!.commonName! }, (c) => c.id === certs[4]!.id],
      ];
      for (const [q, keep] of filtered) {
        for (const limit of [4, 1000]) {
          expect(await all({ ...q, sort: 'revoked_desc' }, limit), JSON.stringify(q)).toEqual(
            latest.filter(keep).map((c) => c.id),
          );
        }
      }
      // a database as a release before 0044 left it: 0044 builds the index on its rows, the pages are the same
      await store.close();
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      for (const statement of undo0044(engine.dialect, migrations)) await engine.rawSql(url, statement);
      const upgraded = await newStore({ sameDb: true });
      expect((await upgraded.certificates.list({ sort: 'revoked_desc', limit: 10 })).items.map((c) => c.id)).toEqual(
        latest.slice(0, 10).map((c) => c.id),
      );
      // the migration built the index (the drop fails without it)
      await engine.rawSql(url, 'drop index certificates_revoked_at_idx');
    });

    // a requester's own inventory: from the requests by requester to each one's certificate (requesterCondition; by
    // expiry requesterExpiryQuery)
    it("lists a requester's certificates: those issued from the requests they submitted, in either order", async () => {
      const store = await newStore();
      const ca = makeCa();
      const certs = Array.from({ length: 30 }, (_, i) =>
        makeCert(ca.id, { createdAt: T0 + i, notAfter: T0 + ((i * 7) % 30) * DAY }),
      );
      // certificate i from request i for i % 3 = 0 (requester usr_a for i % 2 = 0, else usr_b); the rest none
      const requests = certs.flatMap((c, i) =>
        i % 3 === 0
          ? [
              makeRequest(ca.id, {
                requester: i % 2 === 0 ? 'usr_a' : 'usr_b',
                status: 'issued',
                certificateId: c.id,
                certificateNotAfter: c.notAfter,
                createdAt: c.createdAt - 1,
              }),
            ]
          : [],
      );
      for (const r of requests) certs.find((c) => c.id === r.certificateId)!.requestId = r.id;
      // still pending, no certificate: lists nothing
      const pending = makeRequest(ca.id, { requester: 'usr_c' });
      await store.commit({ insertCa: [ca], insertRequests: [...requests, pending], insertCertificates: certs });
      const theirs = (who: string) => {
        const ids = new Set(requests.filter((r) => r.requester === who).map((r) => r.certificateId));
        return certs.filter((c) => ids.has(c.id));
      };
      const list = async (q: Parameters<typeof store.certificates.list>[0]) =>
        (await store.certificates.list(q)).items.map((c) => c.id);
      for (const who of ['usr_a', 'usr_b']) {
        expect(theirs(who)).toHaveLength(5);
        expect(await list({ requester: who })).toEqual(
          theirs(who)
            .sort((x, y) => y.createdAt - x.createdAt)
            .map((c) => c.id),
        );
        expect(await list({ requester: who, sort: 'expiry_asc' })).toEqual(
          theirs(who)
            .sort((x, y) => x.notAfter - y.notAfter || (x.id < y.id ? -1 : 1))
            .map((c) => c.id),
        );
        const first = await store.certificates.list({ requester: who, limit: 2 });
        const rest = await store.certificates.list({ requester: who, limit: 10, cursor: first.nextCursor });
        expect([...first.items, ...rest.items].map((c) => c.id)).toEqual(await list({ requester: who }));
      }
      // by expiry: their requests' (requester, certificate_not_after, certificate_id) walked (requesterExpiryQuery) —
      // both directions, page by page, with the other filters tested on each certificate
      await store.commit({
        updateCertificates: ['usr_a', 'usr_b'].map((who) => ({
          id: theirs(who)[2]!.id,
          patch: { status: 'revoked' as const, revokedAt: T0, revocationReason: 'keyCompromise' as const },
        })),
      });
      for (const who of ['usr_a', 'usr_b']) theirs(who)[2]!.status = 'revoked';
      const byExpiry = async (from: Store, who: string) => {
        const soonest = theirs(who).sort((x, y) => x.notAfter - y.notAfter || (x.id < y.id ? -1 : 1));
        for (const sort of ['expiry_asc', 'expiry_desc'] as const) {
          const expected = (sort === 'expiry_asc' ? soonest : [...soonest].reverse()).map((c) => c.id);
          for (const limit of [2, 100]) {
            const ids: string[] = [];
            let cursor: string | null = null;
            do {
              const page: Page<CertificateRow> = await from.certificates.list({ requester: who, sort, limit, cursor });
              ids.push(...page.items.map((c) => c.id));
              cursor = page.nextCursor;
            } while (cursor);
            expect(ids, `${who} ${sort} ${limit}`).toEqual(expected);
          }
        }
        const filters: [Parameters<typeof store.certificates.list>[0], (c: CertificateRow) => boolean][] = [
          [{ status: 'revoked' }, (c) => c.status === 'revoked'],
          [{ status: 'active', now: T0 }, (c) => c.status === 'active' && c.notAfter > T0],
          [{ status: 'expired', now: T0 }, (c) => c.status === 'active' && c.notAfter <= T0],
          [{ caId: ca.id }, () => true],
          [{ caId: 'ca_other' }, () => false],
          [{ caIds: [] }, () => false],
        ];
        for (const [q, keep] of filters) {
          const listed = await from.certificates.list({ ...q, requester: who, sort: 'expiry_asc' });
          expect(
            listed.items.map((c) => c.id),
            `${who} ${JSON.stringify(q)}`,
          ).toEqual(soonest.filter(keep).map((c) => c.id));
        }
      };
      for (const who of ['usr_a', 'usr_b']) await byExpiry(store, who);
      expect(await list({ requester: 'usr_c', sort: 'expiry_asc' })).toEqual([]);
      expect(await list({ requester: 'usr_c' })).toEqual([]);
      expect(await list({ requester: 'usr_nobody' })).toEqual([]);
      // a requester with DENSE_MATCHES requests or more: the newest-first walk of every certificate instead
      const many = Array.from({ length: DENSE_MATCHES }, (_, i) =>
        makeCert(ca.id, { createdAt: T0 + 100 + 2 * i, requestId: `req_many${i}` }),
      );
      const others = Array.from({ length: 300 }, (_, i) => makeCert(ca.id, { createdAt: T0 + 101 + 2 * i }));
      await store.commit({
        insertRequests: many.map((c) =>
          makeRequest(ca.id, { id: c.requestId!, requester: 'usr_d', status: 'issued', certificateId: c.id }),
        ),
        insertCertificates: [...many, ...others],
      });
      const newest = [...many].reverse().map((c) => c.id);
      const first = await store.certificates.list({ requester: 'usr_d', limit: 150 });
      const second = await store.certificates.list({ requester: 'usr_d', limit: 150, cursor: first.nextCursor });
      expect([...first.items, ...second.items].map((c) => c.id)).toEqual(newest.slice(0, 300));
      expect(await list({ requester: 'usr_a' })).toHaveLength(5);
      // a database as a release before 0038 left it (no certificate_not_after): 0038 fills it from the certificates
      await store.close();
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      for (const statement of undo0038(migrations)) await engine.rawSql(url, statement);
      const upgraded = await newStore({ sameDb: true });
      for (const who of ['usr_a', 'usr_b']) await byExpiry(upgraded, who);
      expect((await upgraded.requests.findById(pending.id))?.certificateNotAfter).toBeNull();
    });

    it('pages a dense search whose matches lie below the walk of newer rows (the serials of one minute)', async () => {
      await pagesDenseSearchBelowTheWalk(await newStore({ denseWalk: TEST_DENSE_WALK }), TEST_DENSE_WALK);
    });

    it('pages a dense search below the walk of newer rows: selective filters, several terms per match', async () => {
      const store = await newStore({ denseWalk: TEST_DENSE_WALK });
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      // one window of time-first serials below the walk + 300 newer certificates that do not match; 3 matches in 4
      // have two more matching terms (their SANs), every 10th is revoked, every 50th a revoked tls-client one — on
      // PostgreSQL an unfiltered page of the older matches comes from their newest 2 × n terms, which these crowd
      // out (seen failing without the fallback to the sort of every match, newestMatches); with the filters (1 in
      // 10, 1 in 50) from that sort: the pages are still exact
      const hex = (i: number) => i.toString(16).padStart(32, '0');
      const old = Array.from({ length: DENSE_MATCHES + 400 }, (_, i) =>
        makeCert(ca.id, {
          serialHex: `019a3f2c${hex(i)}`,
          createdAt: T0 + i,
          sans: { dns: i % 4 === 1 ? [`x${i}.example`] : [`019a3f2c-${i}.a.example`, `019a3f2c-${i}.b.example`] },
          ...(i % 10 === 3
            ? { status: 'revoked' as const, revokedAt: T0, revocationReason: 'superseded' as const }
            : {}),
          ...(i % 50 === 3 ? { profile: 'tls-client' } : {}),
        }),
      );
      const newer = Array.from({ length: TEST_DENSE_WALK + 300 }, (_, i) =>
        makeCert(ca.id, { serialHex: `019a3f2d${hex(i)}`, createdAt: T0 + 100_000 + i, sans: {} }),
      );
      await store.commit({ insertCertificates: [...old, ...newer] });
      const newestFirst = (list: CertificateRow[]) => [...list].reverse().map((c) => c.id);
      for (const limit of [100, 700]) {
        expect(await allPages(store, { search: '019a3f2c' }, limit)).toEqual(newestFirst(old));
        expect(await allPages(store, { search: '019a3f2c', status: 'revoked' }, limit)).toEqual(
          newestFirst(old.filter((c) => c.status === 'revoked')),
        );
      }
      const clients = async (cursor: string | null) =>
        await store.certificates.list({
          search: '019a3f2c',
          status: 'revoked',
          profile: 'tls-client',
          limit: 30,
          cursor,
        });
      const first = await clients(null);
      const second = await clients(first.nextCursor);
      expect([...first.items, ...second.items].map((c) => c.id)).toEqual(
        newestFirst(old.filter((c) => c.profile === 'tls-client')),
      );
      expect([first.items.length, second.items.length, second.nextCursor]).toEqual([30, 18, null]);
    });

    it('pages a search newest first from its terms: once per certificate, equal times, other filters', async () => {
      const store = await newStore();
      const [ca, other] = [makeCa(), makeCa()];
      await store.commit({ insertCa: [ca, other] });
      // three certificates per millisecond, ids not in creation order; every third has two terms that match
      // "prod.example" (.org and .net), every fourth is another CA's, every fifth revoked; db… ones do not match "web"
      const certs = Array.from({ length: 60 }, (_, i) =>
        makeCert(i % 4 === 0 ? other.id : ca.id, {
          commonName: `${i % 6 === 5 ? 'db' : 'web'}${i}.prod.example.org`,
          sans: {
            dns: [
              `${i % 6 === 5 ? 'db' : 'web'}${i}.prod.example.org`,
              ...(i % 3 === 0 ? [`web${i}.prod.example.net`] : []),
            ],
          },
          createdAt: T0 + Math.floor((59 - i) / 3) * 7,
          ...(i % 5 === 0
            ? { status: 'revoked' as const, revokedAt: T0, revocationReason: 'superseded' as const }
            : {}),
        }),
      );
      await store.commit({ insertCertificates: certs });
      const newestFirst = (list: CertificateRow[]) =>
        [...list]
          .sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))
          .map((c) => c.id);
      const pages = (q: ListedSearch, limit: number) => allPages(store, q, limit);
      const hasTerm = (c: CertificateRow, prefix: string) =>
        [c.commonName!, ...(c.sans.dns ?? [])].some((v) => v.startsWith(prefix) || v.includes(`.${prefix}`));
      for (const limit of [1, 4, 7, 100]) {
        expect(await pages({ search: 'prod.example' }, limit)).toEqual(newestFirst(certs));
        expect(await pages({ search: 'web' }, limit)).toEqual(newestFirst(certs.filter((c) => hasTerm(c, 'web'))));
        expect(await pages({ search: 'prod.example', status: 'revoked' }, limit)).toEqual(
          newestFirst(certs.filter((c) => c.status === 'revoked')),
        );
        expect(await pages({ search: 'example.net', caId: other.id }, limit)).toEqual(
          newestFirst(certs.filter((c) => c.caId === other.id && hasTerm(c, 'example.net'))),
        );
      }
    });

    it('filters by status, profile and a search over common name, SANs and serial', async () => {
      const store = await newStore();
      const ca = makeCa();
      const other = makeCa();
      const web = makeCert(ca.id, {
        subjectDn: 'CN=Web.Example.org,O=Acme',
        commonName: 'Web.Example.org',
        sans: { dns: ['web.example.org', 'api-prod.payments.example.net'], ip: ['10.20.30.40', '2001:db8::7'] },
        serialHex: '3fa2c0ffee'.padEnd(40, '0'),
      });
      const mail = makeCert(ca.id, {
        subjectDn: 'CN=mail,O=Acme',
        commonName: 'mail',
        sans: { email: ['Alice@Mail.Example.com'] },
        profile: 'email',
      });
      const svc = makeCert(other.id, {
        commonName: null,
        subjectDn: 'O=Acme',
        sans: { uri: ['spiffe://prod.example.org/ns/billing/sa/api'] },
      });
      const pct = makeCert(ca.id, {
        subjectDn: 'CN=100%_done',
        commonName: '100%_done',
        sans: {},
        status: 'revoked',
        revokedAt: T0,
        revocationReason: 'superseded',
      });
      await store.commit({ insertCa: [ca, other], insertCertificates: [web, mail, svc, pct] });
      const search = async (q: string, more: { profile?: string; caIds?: string[] } = {}) =>
        (await store.certificates.list({ search: q, ...more })).items.map((c) => c.id).sort();
      expect(await search('web.EXAMPLE')).toEqual([web.id]); // common name / DNS, case-insensitive
      expect(await search('example.org')).toEqual([svc.id, web.id].sort()); // from a label boundary on
      expect(await search('payments')).toEqual([web.id]);
      expect(await search('prod')).toEqual([svc.id, web.id].sort()); // after '-' and after '//'
      expect(await search('10.20.30')).toEqual([web.id]); // IP
      expect(await search('2001:db8')).toEqual([web.id]);
      expect(await search('alice@mail')).toEqual([mail.id]); // email, case-insensitive
      expect(await search('mail.example.com')).toEqual([mail.id]); // the email's domain
      expect(await search('spiffe://prod.example.org/ns/billing')).toEqual([svc.id]); // URI
      expect(await search('billing/sa')).toEqual([svc.id]);
      expect(await search('3FA2C0')).toEqual([web.id]); // serial prefix
      expect(await search('3f:a2:c0')).toEqual([web.id]); // with colons
      expect(await search('100%')).toEqual([pct.id]); // no LIKE wildcards
      expect(await search('%')).toEqual([]);
      expect(await search('_done')).toEqual([]); // '_' is not a wildcard; 'done' follows a separator though
      expect(await search('done')).toEqual([pct.id]);
      expect(await search('ample.org')).toEqual([]); // terms start at a separator, not mid-label
      expect(await search('acme')).toEqual([]); // the organisation is not a search term
      expect(await search('mail', { profile: 'email' })).toEqual([mail.id]);
      expect(await search('example', { caIds: [other.id] })).toEqual([svc.id]);
      expect(await search('   ')).toEqual([web.id, mail.id, svc.id, pct.id].sort()); // blank: no filter
      expect((await store.certificates.list({ status: 'revoked' })).items.map((c) => c.id)).toEqual([pct.id]);
      expect(await store.certificates.listRevoked(ca.id)).toEqual([
        { serialHex: pct.serialHex, revokedAt: T0, revocationReason: 'superseded', notAfter: pct.notAfter },
      ]);
      expect(await store.certificates.countsByCaAndProfile()).toEqual(
        [
          { caId: ca.id, profile: 'email', status: 'active', count: 1 },
          { caId: ca.id, profile: 'tls-server', status: 'active', count: 1 },
          { caId: ca.id, profile: 'tls-server', status: 'revoked', count: 1 },
          { caId: other.id, profile: 'tls-server', status: 'active', count: 1 },
        ].sort((a, b) => (a.caId < b.caId ? -1 : a.caId > b.caId ? 1 : 0)),
      );
      // deleting a certificate removes its terms with it (trigger of 0027), so a search cannot return a dangling id
      await store.commit({ deleteCertificates: [svc.id] });
      expect(await search('prod')).toEqual([web.id]);
      // a search pages like any listing
      const many = Array.from({ length: 7 }, (_, i) =>
        makeCert(ca.id, { commonName: `node-${i}.cluster.example`, createdAt: T0 + 10 + i }),
      );
      await store.commit({ insertCertificates: many });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.certificates.list({ search: 'cluster.example', limit: 3, cursor });
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(many.map((c) => c.id).reverse());
    });

    it('deletes the search terms with their certificates (0027 trigger): deleted, purged, CA deleted', async () => {
      // terms left behind would find whatever certificate is stored under the same id later: reuse the ids to see them
      const control = getEngine().dialect === 'postgres' ? ' on certificates' : '';
      for (const trigger of [true, false]) {
        const store = await newStore();
        // positive control: without the trigger (no foreign key cascades any more) the terms stay
        if (!trigger) await getEngine().rawSql(url, `drop trigger certificates_delete_names${control}`);
        const [ca, doomed, other] = [makeCa(), makeCa(), makeCa()];
        const one = makeCert(ca.id, { commonName: 'one.old.example.org', sans: { dns: ['one.old.example.org'] } });
        const two = makeCert(ca.id, { commonName: 'two.old.example.org', sans: { dns: ['two.old.example.org'] } });
        const kept = makeCert(ca.id, { commonName: 'kept.example.org', sans: { dns: ['kept.example.org'] } });
        const under = makeCert(doomed.id, { commonName: 'under.old.example.org', sans: { ip: ['198.51.100.7'] } });
        await store.commit({ insertCa: [ca, doomed, other], insertCertificates: [one, two, kept, under] });
        await store.commit({ deleteCertificates: [one.id, two.id] }); // `cert delete`, the SPIFFE purge
        await store.commit({ deleteCas: [doomed.id] }); // its certificates go by the CA's cascade
        const again = [one, two, under].map((c) =>
          makeCert(other.id, { id: c.id, commonName: `${c.id}.new.example.net`, sans: {} }),
        );
        await store.commit({ insertCertificates: again });
        const search = async (q: string) =>
          (await store.certificates.list({ search: q })).items.map((c) => c.id).sort();
        const stale = trigger ? [] : [one.id, two.id, under.id].sort();
        expect(await search('old.example.org')).toEqual(stale);
        expect(await search('198.51.100')).toEqual(trigger ? [] : [under.id]);
        expect(await search(one.serialHex.slice(0, 16))).toEqual(trigger ? [] : [one.id]);
        expect(await search('new.example.net')).toEqual(again.map((c) => c.id).sort());
        expect(await search('kept.example')).toEqual([kept.id]);
      }
    });

    it('fills the search terms of certificates that existed before migration 0017 with the same rule', async () => {
      const store = await newStore();
      const ca = makeCa();
      const old = makeCert(ca.id, {
        commonName: 'Legacy.Example.org',
        sans: { dns: ['legacy.example.org', 'api-old.example.net'], ip: ['192.0.2.77'], email: ['ops@example.org'] },
        serialHex: 'beef'.repeat(10),
      });
      await store.commit({ insertCa: [ca], insertCertificates: [old] });
      const all = async (terms: string[]) => {
        const out: string[][] = [];
        for (const q of terms) out.push((await store.certificates.list({ search: q })).items.map((c) => c.id));
        return out;
      };
      const probes = ['legacy', 'example.org', 'old.example', 'example.net', '192.0.2', 'ops@', 'beefbeef', 'net'];
      expect(await all(probes)).toEqual(probes.map(() => [old.id]));
      // as before the migration: no terms (in the table as 0027 left it); then the migration's backfill statement, and
      // 0032's rebuild with each term's creation time
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      const backfill = migrationStatements(engine.dialect, '0017_certificate_names.sql').find((x) =>
        x.includes('INSERT INTO'),
      );
      for (const with0017 of [false, true]) {
        for (const statement of undo0032(engine.dialect, migrations)) await engine.rawSql(url, statement);
        await engine.rawSql(url, 'DELETE FROM certificate_names');
        if (with0017) await engine.rawSql(url, backfill!);
        for (const statement of migrationStatements(engine.dialect, '0032_certificate_names_created_at.sql'))
          await engine.rawSql(url, statement);
        if (engine.dialect === 'postgres')
          for (const statement of migrationStatements(engine.dialect, '0033_certificate_names_created_idx.sql'))
            await engine.rawSql(url, statement);
        // 0037's and 0038's columns back (undo0032 drops them again on the next turn; nothing to do with the terms)
        for (const file of ['0037_ca_leaf_not_after_behavior.sql', '0038_requester_expiry.sql'])
          for (const statement of migrationStatements(engine.dialect, file)) await engine.rawSql(url, statement);
        // (positive control first: nothing found without the terms)
        expect(await all(probes)).toEqual(probes.map(() => (with0017 ? [old.id] : [])));
      }
      expect(await all(['ample', 'xample.org'])).toEqual([[], []]);
    });

    it('migration 0032 (then 0033) gives the search terms of existing certificates their creation time', async () => {
      const store = await newStore();
      const ca = makeCa();
      // created in the opposite order of their ids, two terms each
      const certs = Array.from({ length: 12 }, (_, i) =>
        makeCert(ca.id, {
          commonName: `node${i}.mig.example`,
          sans: { dns: [`node${i}.mig.example`, `alt${i}.mig.example`] },
          createdAt: T0 + 1000 - i * 10,
        }),
      );
      await store.commit({ insertCa: [ca], insertCertificates: certs });
      await store.close();
      // as 0027 left the table: no creation time; then the store opened on it upgrades
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      for (const statement of undo0032(engine.dialect, migrations)) await engine.rawSql(url, statement);
      const upgraded = await newStore({ sameDb: true });
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await upgraded.certificates.list({ search: 'mig.example', limit: 5, cursor });
        ids.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(ids).toEqual(certs.map((c) => c.id)); // newest first: each term got its certificate's time
      // new certificates' terms are written with their time, and the delete trigger still removes them
      const later = makeCert(ca.id, { commonName: 'late.mig.example', sans: {}, createdAt: T0 + 5000 });
      await upgraded.commit({ insertCertificates: [later] });
      expect((await upgraded.certificates.list({ search: 'mig.example', limit: 2 })).items.map((c) => c.id)).toEqual([
        later.id,
        certs[0]!.id,
      ]);
      await upgraded.commit({ deleteCertificates: [certs[0]!.id] });
      expect((await upgraded.certificates.list({ search: 'node0.' })).items).toEqual([]);
    });

    it("migration 0037: a CA stored before it gets 'err' (a leaf past it refused); a setting is kept", async () => {
      const store = await newStore();
      // 'permit' now, then the database taken back to before 0037: the upgrade gives every CA the default again
      const [ca, other] = [makeCa({ leafNotAfterBehavior: 'permit' }), makeCa()];
      await store.commit({ insertCa: [ca, other] });
      await store.close();
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      for (const statement of undo0037(migrations)) await engine.rawSql(url, statement);
      const upgraded = await newStore({ sameDb: true });
      expect((await upgraded.cas.findById(ca.id))?.leafNotAfterBehavior).toBe('err');
      await upgraded.commit({ updateCa: [{ id: ca.id, patch: { leafNotAfterBehavior: 'truncate' } }] });
      await upgraded.commit({ updateCa: [{ id: other.id, patch: { leafNotAfterBehavior: 'permit' } }] });
      const rows = new Map((await upgraded.cas.list()).map((c) => [c.id, c.leafNotAfterBehavior]));
      expect([rows.get(ca.id), rows.get(other.id)]).toEqual(['truncate', 'permit']);
      expect((await upgraded.cas.findByName(ca.name))?.leafNotAfterBehavior).toBe('truncate');
    });

    it('migration 0034 drops two indexes no query reads; a database written before it still answers', async () => {
      const store = await newStore();
      const [ca, other] = [makeCa(), makeCa()];
      const certs = Array.from({ length: 40 }, (_, i) =>
        makeCert(i % 2 ? ca.id : other.id, {
          commonName: `n${i}.idx34.example`,
          sans: { dns: [`n${i}.idx34.example`] },
          createdAt: T0 + i,
          ...(i % 5 === 0
            ? { status: 'revoked' as const, revokedAt: T0 + 100, revocationReason: 'keyCompromise' as const }
            : {}),
          ...(i % 7 === 3 ? { status: 'expired' as const, notAfter: T0 - DAY } : {}),
        }),
      );
      await store.commit({
        insertCa: [ca, other],
        insertCertificates: certs,
        audit: certs.map((c) => makeEvent({ action: 'certificate.issued', target: c.id })),
      });
      await store.close();
      // the database as a release before 0034 left it: both indexes there, 0034 not in the journal
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      for (const statement of undo0034(migrations)) await engine.rawSql(url, statement);
      const upgraded = await newStore({ sameDb: true });
      // gone (a drop of either fails), and nothing else the inventory reads went with them
      for (const index of ['certificates_ca_status_idx', 'audit_events_id_uq'])
        await expect(engine.rawSql(url, `drop index ${index}`), index).rejects.toThrow();
      const newestFirst = (pick: (c: CertificateRow) => boolean) =>
        certs
          .filter(pick)
          .map((c) => c.id)
          .reverse();
      const ids = async (q: Omit<CertificateQuery, 'limit'>) =>
        (await upgraded.certificates.list({ ...q, limit: 100 })).items.map((c) => c.id);
      expect(await ids({ caId: ca.id, status: 'revoked' })).toEqual(
        newestFirst((c) => c.caId === ca.id && c.status === 'revoked'),
      );
      expect(await ids({ caId: other.id, status: 'active' })).toEqual(
        newestFirst((c) => c.caId === other.id && c.status === 'active'),
      );
      expect(await ids({ search: 'idx34.example', status: 'expired' })).toEqual(
        newestFirst((c) => c.status === 'expired'),
      );
      expect((await upgraded.certificates.listRevoked(ca.id)).map((r) => r.serialHex)).toEqual(
        certs
          .filter((c) => c.caId === ca.id && c.status === 'revoked')
          .map((c) => c.serialHex)
          .sort(),
      );
      expect((await upgraded.audit.list({ target: certs[3]!.id })).map((e) => e.target)).toEqual([certs[3]!.id]);
      // a CA's revocation (it planned on the dropped (ca_id, status) index) revokes that CA's active certificates only
      const { revokedCount } = await upgraded.commit({
        revokeAllIssuedBy: { caIds: [ca.id], revokedAt: T0 + 200, reason: 'cACompromise' },
      });
      expect(revokedCount).toBe(certs.filter((c) => c.caId === ca.id && c.status === 'active').length);
      expect(await ids({ caId: ca.id, status: 'active' })).toEqual([]);
      expect(await ids({ caId: other.id, status: 'active' })).toEqual(
        newestFirst((c) => c.caId === other.id && c.status === 'active'),
      );
      await expectExactCounters(upgraded, 'after 0034 and a CA revocation');
      // new events without the unique index: the chain still verifies
      await upgraded.commit({ audit: [makeEvent({ action: 'ca.revoked', target: ca.id })] });
      expect(await upgraded.audit.verify()).toMatchObject({ ok: true, count: certs.length + 1 });
    });

    it('lists the certificates of one provisioner; migration 0020 fills it from the audit trail', async () => {
      const store = await newStore();
      const ca = makeCa();
      const viaRole = [1, 2, 3].map((i) => makeCert(ca.id, { provisioner: 'vault-role:pki/web', createdAt: T0 + i }));
      const other = makeCert(ca.id, { provisioner: 'vault-role:pki/api', createdAt: T0 + 9 });
      const unknown = makeCert(ca.id, { createdAt: T0 + 10 });
      await store.commit({
        insertCa: [ca],
        insertCertificates: [...viaRole, other, unknown],
        audit: [...viaRole, other].map((c) =>
          makeEvent({ target: c.id, details: { provisioner: { kind: 'vault-role', id: c.provisioner, name: 'x' } } }),
        ),
      });
      const ids = async (provisioner: string) =>
        (await store.certificates.list({ provisioner, limit: 2 })).items.map((c) => c.id);
      const expected = viaRole
        .map((c) => c.id)
        .reverse()
        .slice(0, 2);
      expect(await ids('vault-role:pki/web')).toEqual(expected);
      expect(await ids('vault-role:pki/api')).toEqual([other.id]);
      expect((await store.certificates.findById(unknown.id))?.provisioner).toBeNull();
      // as before the migration: no provisioner recorded; then the migration's backfill statement
      await getEngine().rawSql(url, 'UPDATE certificates SET provisioner = NULL');
      expect(await ids('vault-role:pki/web')).toEqual([]); // positive control
      const dialect = getEngine().dialect === 'postgres' ? 'pg' : 'sqlite';
      const migration = readFileSync(
        fileURLToPath(new URL(`../migrations/${dialect}/0020_certificate_provisioner.sql`, import.meta.url)),
        'utf8',
      );
      const backfill = migration.split('--> statement-breakpoint').find((s) => s.includes('UPDATE'));
      await getEngine().rawSql(url, backfill!);
      expect(await ids('vault-role:pki/web')).toEqual(expected);
      expect(await ids('vault-role:pki/api')).toEqual([other.id]);
      expect((await store.certificates.findById(unknown.id))?.provisioner).toBeNull();
    });

    it('lists the revoked certificates of a CA in keyset pages ordered by serial (large CRLs)', async () => {
      const store = await newStore();
      const ca = makeCa();
      const other = makeCa();
      const revoked = Array.from({ length: 7 }, (_, i) =>
        makeCert(ca.id, { serialHex: `0${i + 1}a0`, status: 'revoked', revokedAt: T0 + i, revocationReason: null }),
      );
      const active = makeCert(ca.id, { serialHex: '03b0' });
      const elsewhere = makeCert(other.id, { serialHex: '02b0', status: 'revoked', revokedAt: T0 });
      await store.commit({ insertCa: [ca, other], insertCertificates: [...revoked.reverse(), active, elsewhere] });
      const pages: string[][] = [];
      let after: string | null = null;
      for (;;) {
        const page = await store.certificates.listRevoked(ca.id, { after, limit: 3 });
        if (page.length === 0) break;
        pages.push(page.map((r) => r.serialHex));
        after = page[page.length - 1]!.serialHex;
      }
      expect(pages).toEqual([['01a0', '02a0', '03a0'], ['04a0', '05a0', '06a0'], ['07a0']]);
      expect((await store.certificates.listRevoked(ca.id)).map((r) => r.serialHex)).toEqual(pages.flat());
    });

    it('lists the revoked certificates of a CA expiring in a window in keyset pages (CRL partitions)', async () => {
      const store = await newStore();
      const ca = makeCa();
      const other = makeCa();
      const H = 3_600_000;
      // notAfter: two share an hour (the keyset continues by serial within it), one before and one after the window
      const at = (serialHex: string, notAfter: number, extra = {}) =>
        makeCert(ca.id, { serialHex, notAfter, status: 'revoked', revokedAt: T0, revocationReason: null, ...extra });
      await store.commit({
        insertCa: [ca, other],
        insertCertificates: [
          at('01', T0 + 5 * H),
          at('02', T0 + 2 * H),
          at('03', T0 + 2 * H),
          at('04', T0 + 1 * H),
          at('05', T0 - 1),
          at('06', T0 + 10 * H),
          at('07', T0 + 3 * H, { status: 'active', revokedAt: null }),
          at('09', T0 + H / 2, { status: 'expired', revokedAt: null }),
          makeCert(other.id, { serialHex: '08', notAfter: T0 + H, status: 'revoked', revokedAt: T0 }),
        ],
      });
      const window = { from: T0, to: T0 + 10 * H };
      const pages: string[][] = [];
      let after: { notAfter: number; serialHex: string } | null = null;
      for (;;) {
        const page = await store.certificates.listRevokedExpiring(ca.id, window, { after, limit: 2 });
        if (page.length === 0) break;
        pages.push(page.map((r) => r.serialHex));
        const last = page[page.length - 1]!;
        after = { notAfter: last.notAfter, serialHex: last.serialHex };
      }
      expect(pages).toEqual([
        ['04', '02'],
        ['03', '01'],
      ]);
      // the next notAfter of the CA's active or revoked certificates (the CRL refresh job's step through windows)
      expect(await store.certificates.firstNotAfter(ca.id, T0)).toBe(T0 + H); // not the expired one, not the other CA's
      expect(await store.certificates.firstNotAfter(ca.id, T0 + 2 * H + 1)).toBe(T0 + 3 * H); // the active one
      expect(await store.certificates.firstNotAfter(ca.id, T0 + 3 * H + 1)).toBe(T0 + 5 * H);
      expect(await store.certificates.firstNotAfter(ca.id, T0 + 10 * H + 1)).toBeUndefined();
      expect(await store.certificates.firstNotAfter(other.id, T0 - H)).toBe(T0 + H);
    });

    it('finds, counts and expires the active certificates that expire before a time', async () => {
      const store = await newStore();
      const ca = makeCa();
      const soon = makeCert(ca.id, { notAfter: T0 + 1 * DAY });
      const later = makeCert(ca.id, { notAfter: T0 + 10 * DAY });
      const soonButRevoked = makeCert(ca.id, {
        notAfter: T0 + 1 * DAY,
        status: 'revoked',
        revokedAt: T0,
        revocationReason: 'keyCompromise',
      });
      const soonest = makeCert(ca.id, { notAfter: T0 + DAY / 2 });
      await store.commit({ insertCa: [ca], insertCertificates: [soon, later, soonButRevoked, soonest] });

      expect((await store.certificates.findExpiringBefore(T0 + 2 * DAY)).map((c) => c.id)).toEqual([
        soonest.id,
        soon.id,
      ]);
      expect((await store.certificates.findExpiringBefore(T0 + 2 * DAY, 1)).map((c) => c.id)).toEqual([soonest.id]);
      expect(await store.certificates.countExpiringBefore(T0 + 2 * DAY)).toBe(2);
      expect((await store.certificates.list({ expiringBefore: T0 + 2 * DAY })).items.map((c) => c.id).sort()).toEqual(
        [soon.id, soonest.id].sort(),
      );

      expect(await store.certificates.markExpired(T0 + DAY)).toBe(2);
      expect((await store.certificates.findById(soon.id))?.status).toBe('expired');
      expect(await store.certificates.countByStatus(ca.id)).toEqual({ active: 1, revoked: 1, expired: 2 });
      expect(await store.certificates.countByStatus('ca_other')).toEqual({ active: 0, revoked: 0, expired: 0 });
    });
  });

  describe('commit guards and bulk updates', () => {
    it('revokes once; a second revocation is certificate.already_revoked and appends no audit event', async () => {
      const store = await newStore();
      const ca = makeCa();
      const cert = makeCert(ca.id);
      await store.commit({ insertCa: [ca], insertCertificates: [cert] });
      const revoke = () =>
        store.commit({
          updateCertificates: [
            {
              id: cert.id,
              patch: { status: 'revoked', revokedAt: T0 + 5, revocationReason: 'keyCompromise' },
              onlyIfStatus: 'active',
            },
          ],
          audit: [makeEvent({ action: 'certificate.revoked', target: cert.id })],
        });
      await revoke();
      const e = await expectPkiError(revoke(), 'certificate.already_revoked');
      expect(e.details).toMatchObject({ id: cert.id, status: 'revoked' });
      expect(await store.audit.count()).toBe(1);
      expect(await store.certificates.findById(cert.id)).toMatchObject({
        status: 'revoked',
        revokedAt: T0 + 5,
        revocationReason: 'keyCompromise',
      });
      await expectPkiError(
        store.commit({
          updateCertificates: [{ id: 'crt_missing', patch: { status: 'revoked' }, onlyIfStatus: 'active' }],
        }),
        'certificate.not_found',
      );
    });

    it('revokes many certificates committed together: a failing revocation fails alone, counters exact', async () => {
      const store = await newStore();
      const ca = makeCa();
      const certs = Array.from({ length: 12 }, (_, i) =>
        makeCert(ca.id, { profile: i % 2 ? 'tls-server' : 'tls-client' }),
      );
      await store.commit({ insertCa: [ca], insertCertificates: certs });
      const revoke = (id: string, at = T0 + 1) =>
        store.commit({
          updateCertificates: [
            {
              id,
              patch: { status: 'revoked', revokedAt: at, revocationReason: 'keyCompromise' },
              onlyIfStatus: 'active',
            },
          ],
          audit: [makeEvent({ action: 'certificate.revoked', target: id, details: { id, at } })],
        });
      await revoke(certs[3]!.id, T0);
      const fresh = makeCert(ca.id);
      // submitted together: one batch of revocations, an issuance, a revocation of a certificate already revoked,
      // one of a certificate that does not exist and two of the same certificate
      const units = [
        ...certs.map((c) => () => revoke(c.id)),
        () => revoke('crt_missing'),
        () => store.commit({ insertCertificates: [fresh], audit: [makeEvent({ target: fresh.id })] }),
        () => revoke(certs[5]!.id, T0 + 2),
      ];
      const settled = await Promise.allSettled(units.map((u) => u()));
      const codeOf = (r: PromiseSettledResult<unknown>) =>
        r.status === 'rejected' ? (r.reason as PkiError).code : 'ok';
      expect(settled.map(codeOf)).toEqual([
        ...certs.map((_, i) => (i === 3 ? 'certificate.already_revoked' : 'ok')),
        'certificate.not_found',
        'ok',
        'certificate.already_revoked',
      ]);
      // every success got its own event; the failures appended none
      const targets = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.audit[0]!.target] : []));
      expect(targets).toEqual([...certs.filter((_, i) => i !== 3).map((c) => c.id), fresh.id]);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 1 + 11 + 1 });
      for (const [i, c] of certs.entries())
        expect(await store.certificates.findById(c.id)).toMatchObject({
          status: 'revoked',
          revokedAt: i === 3 ? T0 : T0 + 1,
          revocationReason: 'keyCompromise',
        });
      expect(await store.certificates.countByStatus(ca.id)).toEqual({ active: 1, revoked: 12, expired: 0 });
      await expectExactCounters(store, 'after a batch of revocations');
    });

    it('approves a pending request once and refuses the second decision with request.not_pending', async () => {
      const store = await newStore();
      const ca = makeCa();
      const req = makeRequest(ca.id);
      const older = makeRequest(ca.id, { createdAt: T0 - 1, requester: 'usr_other' });
      await store.commit({ insertCa: [ca], insertRequests: [req, older] });
      const approve = () =>
        store.commit({
          updateRequests: [
            {
              id: req.id,
              patch: { status: 'approved', reviewer: 'usr_admin', reviewedAt: T0 + 1, updatedAt: T0 + 1 },
              onlyIfStatus: 'pending',
            },
          ],
        });
      await approve();
      await expectPkiError(approve(), 'request.not_pending');
      expect(await store.requests.findById(req.id)).toMatchObject({
        status: 'approved',
        reviewer: 'usr_admin',
        sans: { dns: ['req.example.com'] },
      });
      expect((await store.requests.list({ status: 'pending' })).items.map((r) => r.id)).toEqual([older.id]);
      expect((await store.requests.list({ caId: ca.id })).items.map((r) => r.id)).toEqual([req.id, older.id]);
      const first = await store.requests.list({ limit: 1 });
      expect(first.items.map((r) => r.id)).toEqual([req.id]);
      expect((await store.requests.list({ limit: 1, cursor: first.nextCursor })).items.map((r) => r.id)).toEqual([
        older.id,
      ]);
      expect((await store.requests.list({ requester: 'usr_other' })).items.map((r) => r.id)).toEqual([older.id]);
    });

    // both engines write these with a statement prepared once per set of columns (sqlite-commit.ts updateRequest,
    // pg-store.ts pgRequestUpdates)
    it("updates a request's columns as given: JSON, null, undefined left alone, the status condition", async () => {
      const store = await newStore();
      const ca = makeCa();
      const req = makeRequest(ca.id, { reviewer: 'usr_before', reason: 'asked twice' });
      const other = makeRequest(ca.id);
      await store.commit({ insertCa: [ca], insertRequests: [req, other] });
      const sans = { dns: ['new.example'], uri: ['spiffe://example.com/x'] };
      const patch = { status: 'issued' as const, sans, reason: null, reviewer: undefined, updatedAt: 2 ** 40 + 1 };
      await store.commit({ updateRequests: [{ id: req.id, patch }] });
      expect(await store.requests.findById(req.id)).toStrictEqual({
        ...req,
        status: 'issued',
        sans,
        reason: null,
        updatedAt: 2 ** 40 + 1,
      });
      // another set of columns, with the condition: another statement; a request not in that status is refused
      const approve = { status: 'approved' as const, reviewedAt: T0 + 7, updatedAt: T0 + 7 };
      await store.commit({ updateRequests: [{ id: other.id, patch: approve, onlyIfStatus: 'pending' }] });
      await expectPkiError(
        store.commit({ updateRequests: [{ id: req.id, patch: approve, onlyIfStatus: 'pending' }] }),
        'request.not_pending',
      );
      await expectPkiError(
        store.commit({ updateRequests: [{ id: 'req_missing', patch: approve, onlyIfStatus: 'pending' }] }),
        'request.not_found',
      );
      expect(await store.requests.findById(other.id)).toStrictEqual({ ...other, ...approve });
      expect((await store.requests.findById(req.id))?.status).toBe('issued');
      // several at once (one transaction, one statement each time): each its own row
      const more = [makeRequest(ca.id), makeRequest(ca.id), makeRequest(ca.id)];
      await store.commit({ insertRequests: more });
      await Promise.all(
        more.map((m, i) =>
          store.commit({
            updateRequests: [{ id: m.id, patch: { ...approve, reviewedAt: i }, onlyIfStatus: 'pending' }],
          }),
        ),
      );
      for (const [i, m] of more.entries())
        expect(await store.requests.findById(m.id)).toStrictEqual({ ...m, ...approve, reviewedAt: i });
    });

    it('revokes every active certificate of the given CAs and returns how many', async () => {
      const store = await newStore();
      const a = makeCa();
      const b = makeCa();
      const c = makeCa();
      await store.commit({
        insertCa: [a, b, c],
        insertCertificates: [
          makeCert(a.id),
          makeCert(a.id),
          makeCert(a.id, { status: 'revoked', revokedAt: T0, revocationReason: 'superseded' }),
          makeCert(a.id, { status: 'expired' }),
          makeCert(b.id),
          makeCert(c.id),
        ],
      });
      const r = await store.commit({
        revokeAllIssuedBy: { caIds: [a.id, b.id], revokedAt: T0 + 9, reason: 'cACompromise' },
        updateCa: [
          {
            id: a.id,
            patch: { status: 'revoked', revokedAt: T0 + 9, revocationReason: 'cACompromise', updatedAt: T0 + 9 },
          },
        ],
        audit: [makeEvent({ action: 'ca.revoked', target: a.id })],
      });
      expect(r.revokedCount).toBe(3);
      expect(await store.certificates.countByStatus(a.id)).toEqual({ active: 0, revoked: 3, expired: 1 });
      expect(await store.certificates.countByStatus(c.id)).toEqual({ active: 1, revoked: 0, expired: 0 });
      expect((await store.cas.findById(a.id))?.status).toBe('revoked');
      expect(
        (await store.certificates.listRevoked(a.id)).filter((x) => x.revocationReason === 'cACompromise'),
      ).toHaveLength(2);
    });

    it('increments the CRL number by one per commit and fails for an unknown CA', async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      expect((await store.commit({ bumpCrlNumber: ca.id })).crlNumber).toBe(1);
      expect((await store.commit({ bumpCrlNumber: ca.id })).crlNumber).toBe(2);
      expect((await store.cas.findById(ca.id))?.crlNumber).toBe(2);
      await expectPkiError(store.commit({ bumpCrlNumber: 'ca_missing' }), 'ca.not_found');
    });

    it('deletes certificates, and CAs together with their certificates', async () => {
      const store = await newStore();
      const a = makeCa();
      const b = makeCa();
      const ca1 = makeCert(a.id);
      const cb1 = makeCert(b.id);
      const cb2 = makeCert(b.id);
      await store.commit({ insertCa: [a, b], insertCertificates: [ca1, cb1, cb2] });
      await store.commit({ deleteCertificates: [cb1.id], deleteCas: [a.id] });
      expect(await store.cas.findById(a.id)).toBeUndefined();
      expect(await store.certificates.findById(ca1.id)).toBeUndefined();
      expect(await store.certificates.findById(cb1.id)).toBeUndefined();
      expect(await store.certificates.findById(cb2.id)).toBeDefined();
    });

    it('rolls back every write and every audit event when the commit fails inside the transaction', async () => {
      await newStore();
      const faulty = await newStore({ sameDb: true, failCommit: true });
      const healthy = await newStore({ sameDb: true });
      const ca = makeCa();
      const e = await expectPkiError(
        faulty.commit({
          insertCa: [ca],
          insertCertificates: [makeCert(ca.id)],
          bumpCrlNumber: ca.id,
          audit: [makeEvent(), makeEvent()],
        }),
        'store.write_failed',
      );
      expect(e.message).toMatch(/fault injection/);
      expect(await healthy.cas.list()).toEqual([]);
      expect(await healthy.certificates.countByStatus()).toEqual({ active: 0, revoked: 0, expired: 0 });
      expect(await healthy.audit.count()).toBe(0);
      expect(await healthy.audit.list({})).toEqual([]);
    });
  });

  describe('certificate counters', () => {
    it('keeps exact counts through inserts, revocations, revoke-all, markExpired, deletes, CA deletion', async () => {
      const store = await newStore();
      const a = makeCa();
      const b = makeCa();
      const c = makeCa();
      const aCerts = [
        ...Array.from({ length: 6 }, () => makeCert(a.id)),
        ...Array.from({ length: 3 }, () => makeCert(a.id, { profile: 'tls-client', notAfter: T0 + DAY })),
        makeCert(a.id, { status: 'revoked', revokedAt: T0, revocationReason: 'superseded' }),
      ];
      const bCerts = [
        ...Array.from({ length: 4 }, () => makeCert(b.id, { notAfter: T0 + DAY })),
        makeCert(b.id, { profile: 'email' }),
      ];
      const cCerts = Array.from({ length: 3 }, () => makeCert(c.id));
      await store.commit({ insertCa: [a, b, c], insertCertificates: [...aCerts, ...bCerts] });
      await store.commit({ insertCertificates: cCerts, audit: [makeEvent()] });
      await expectExactCounters(store, 'after inserts');
      expect(await store.certificates.countByStatus(a.id)).toEqual({ active: 9, revoked: 1, expired: 0 });

      // single revocations: guarded (onlyIfStatus), unguarded (the store reads the old status),
      // a refused one, a no-op status
      await store.commit({
        updateCertificates: [
          {
            id: aCerts[0]!.id,
            patch: { status: 'revoked', revokedAt: T0 + 1, revocationReason: 'keyCompromise' },
            onlyIfStatus: 'active',
          },
        ],
      });
      await store.commit({
        updateCertificates: [
          { id: aCerts[6]!.id, patch: { status: 'revoked', revokedAt: T0 + 1, revocationReason: 'keyCompromise' } },
        ],
      });
      await store.commit({
        updateCertificates: [
          { id: aCerts[1]!.id, patch: { status: 'active' } },
          { id: aCerts[1]!.id, patch: { revokedAt: null } },
        ],
      });
      await expectPkiError(
        store.commit({
          insertCertificates: [makeCert(a.id)],
          updateCertificates: [{ id: aCerts[0]!.id, patch: { status: 'revoked' }, onlyIfStatus: 'active' }],
        }),
        'certificate.already_revoked',
      );
      await expectExactCounters(store, 'after single revocations');
      expect(await store.certificates.countByStatus(a.id)).toEqual({ active: 7, revoked: 3, expired: 0 });

      // markExpired: only active certificates with notAfter <= now, across CAs and profiles
      expect(await store.certificates.markExpired(T0 + DAY)).toBe(6);
      expect(await store.certificates.markExpired(T0 + DAY)).toBe(0);
      await expectExactCounters(store, 'after markExpired');
      expect(await store.certificates.countByStatus(b.id)).toEqual({ active: 1, revoked: 0, expired: 4 });

      // revoke-all for two CAs together with an insert into one of them in the same unit
      const late = makeCert(a.id, { profile: 'tls-client' });
      const r = await store.commit({
        insertCertificates: [late],
        revokeAllIssuedBy: { caIds: [a.id, b.id], revokedAt: T0 + 9, reason: 'cACompromise' },
        audit: [makeEvent({ action: 'ca.revoked', target: a.id })],
      });
      expect(r.revokedCount).toBe(5 + 1 + 1);
      await expectExactCounters(store, 'after revokeAllIssuedBy');
      expect(await store.certificates.countByStatus(a.id)).toEqual({ active: 0, revoked: 9, expired: 2 });

      // deletes, then a CA deletion (its certificates cascade, its counters go)
      await store.commit({ deleteCertificates: [aCerts[2]!.id, bCerts[0]!.id, 'crt_missing'] });
      await expectExactCounters(store, 'after deleteCertificates');
      await store.commit({
        insertCertificates: [makeCert(b.id)],
        deleteCertificates: [bCerts[1]!.id],
        deleteCas: [b.id],
      });
      const truth = await expectExactCounters(store, 'after deleteCas');
      expect(truth.some((x) => x.caId === b.id)).toBe(false);
      expect(await store.certificates.countByStatus(b.id)).toEqual({ active: 0, revoked: 0, expired: 0 });
      expect(await store.rebuildCertificateCounts()).toEqual({
        certificates: truth.reduce((n, x) => n + x.count, 0),
        corrected: 0,
      });
    });

    it('answers counts from counters, not by reading certificates; rebuilds them from the rows on demand', async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({
        insertCa: [ca],
        insertCertificates: [makeCert(ca.id), makeCert(ca.id, { profile: 'email', status: 'expired' })],
      });
      // remove the rows behind the store's back: counts that read certificates would drop to zero
      await getEngine().rawSql(url, 'delete from certificates');
      expect(await store.certificates.countByStatus(ca.id)).toEqual({ active: 1, revoked: 0, expired: 1 });
      expect(await store.certificates.countsByCaAndProfile()).toHaveLength(2);
      expect(await store.rebuildCertificateCounts()).toEqual({ certificates: 0, corrected: 2 });
      expect(await store.certificates.countByStatus()).toEqual({ active: 0, revoked: 0, expired: 0 });
      expect(await store.certificates.countsByCaAndProfile()).toEqual([]);
    });

    it('counts bulk-imported certificates, and a copy to another store has the same counts', async () => {
      const store = await newStore();
      const a = makeCa();
      const b = makeCa();
      await store.commit({ insertCa: [a, b] });
      const rows = Array.from({ length: 1500 }, (_, i) =>
        makeCert(i % 3 ? a.id : b.id, {
          profile: i % 5 ? 'tls-server' : 'tls-client',
          ...(i % 7 === 0
            ? { status: 'revoked' as const, revokedAt: T0, revocationReason: 'superseded' as const }
            : {}),
        }),
      );
      await store.importRows('certificates', rows.slice(0, 700) as unknown as Record<string, unknown>[]);
      await store.importRows('certificates', rows.slice(700) as unknown as Record<string, unknown>[]);
      const truth = await expectExactCounters(store, 'after importRows');
      expect(truth.reduce((n, x) => n + x.count, 0)).toBe(1500);
      expect(await store.rebuildCertificateCounts()).toEqual({ certificates: 1500, corrected: 0 });

      const target = await newStore();
      const copied = await copyStore({ from: store, to: target });
      expect(copied).toMatchObject({ verified: true, problems: [] });
      expect(await target.certificates.countsByCaAndProfile()).toEqual(await store.certificates.countsByCaAndProfile());
      await expectExactCounters(target, 'after copyStore');
      // the target wrote the search terms of what it imported
      const probe = rows[1234]!;
      for (const q of [probe.commonName!, probe.serialHex.slice(0, 12)]) {
        expect((await target.certificates.list({ search: q })).items.map((c) => c.id)).toEqual([probe.id]);
      }
    });

    it('seeds the counters from existing certificates when their migration runs on an older database', async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({
        insertCa: [ca],
        insertCertificates: [
          makeCert(ca.id),
          makeCert(ca.id),
          makeCert(ca.id, { status: 'revoked', revokedAt: T0, revocationReason: 'superseded' }),
        ],
      });
      await store.close();
      // back to the 0000 schema: no counters table, the two dropped indexes, 0001 to 0033 not applied (0019 landed
      // after 0022: its journal `when` sits between 0017's and 0020's, so it is undone after 0020)
      const engine = getEngine();
      const migrations = engine.dialect === 'sqlite' ? '__drizzle_migrations' : 'drizzle.__drizzle_migrations';
      const sshTables = ['ssh_blocks', 'ssh_host_accounts', 'ssh_principal_grants', 'ssh_certificates'];
      sshTables.push('ssh_fleet_tokens', 'ssh_hosts', 'ssh_cas', 'ssh_users', 'ssh_principals', 'ssh_krl_versions');
      sshTables.push('ssh_environments');
      const acmeTables = ['acme_authorizations', 'acme_orders', 'acme_accounts', 'acme_eab_keys', 'acme_nonces'];
      for (const statement of [
        ...undo0044(engine.dialect, migrations),
        ...undo0043(migrations, engine.dialect === 'sqlite' ? 1796601406760 : 1796601410439),
        ...undo0042(migrations),
        ...undo0040(engine.dialect, migrations),
        ...undo0032(engine.dialect, migrations),
        // 0031: the outside issuer chain of an externally-signed CA
        'alter table certificate_authorities drop column issuer_chain_pem',
        `delete from ${migrations} where created_at = 1796196290000`,
        ...(engine.dialect === 'postgres'
          ? [
              'drop function pkim_supersede_svids(text[], text[], bigint[], text[])', // 0029, PostgreSQL only
              `delete from ${migrations} where created_at = 1796196270000`,
            ]
          : []),
        // 0028: the current-SVID partial index
        'drop index spiffe_svids_current_idx',
        `delete from ${migrations} where created_at = 1796196260000`,
        ...undo0027(engine.dialect, migrations),
        ...undo0026(migrations),
        // 0025: the full renewed_from index; on SQLite certificate_names back to a rowid table with its name index
        'drop index certificates_renewed_from_idx',
        'create index certificates_renewed_from_idx on certificates (renewed_from)',
        ...(engine.dialect === 'sqlite'
          ? [
              'create table certificate_names_rowid (name text not null, certificate_id text not null ' +
                'references certificates(id) on delete cascade)',
              'insert into certificate_names_rowid select name, certificate_id from certificate_names',
              'drop table certificate_names',
              'alter table certificate_names_rowid rename to certificate_names',
              'create index certificate_names_name_idx on certificate_names (name, certificate_id)',
              'create index certificate_names_certificate_idx on certificate_names (certificate_id)',
            ]
          : []),
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        ...(engine.dialect === 'postgres'
          ? [
              'drop function pkim_audit_chain_head()', // 0024, PostgreSQL only
              `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
            ]
          : []),
        'drop table bulk_job_files',
        'drop table bulk_jobs',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'alter table notification_rules drop column previous_secret_until',
        'alter table notification_rules drop column previous_secret',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop index certificates_provisioner_created_idx',
        'alter table certificates drop column provisioner',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop table ocsp_responses',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop table certificate_names',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop table notification_deliveries',
        'drop table notification_rules',
        'drop table user_identities',
        'alter table sessions drop column method',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        // 0011 (login_failures.username): its column goes with the login_failures table below
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'alter table certificate_authorities drop column urls',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop table certificate_keys',
        'drop index certificates_renewed_from_idx',
        'alter table certificates drop column renewed_from',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        ...acmeTables.map((table) => `drop table ${table}`),
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop table login_failures',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'alter table users drop column resources',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'alter table api_tokens drop column resources',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        ...sshTables.map((table) => `drop table ${table}`),
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop table spiffe_svids',
        'drop table spiffe_cas',
        'drop table spiffe_denied_ids',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'drop table certificate_counts',
        'drop index certificates_status_created_idx',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
        'create index certificates_serial_idx on certificates (serial_hex)',
        'create index certificates_ca_profile_status_idx on certificates (ca_id, profile, status)',
        `delete from ${migrations} where created_at = (select max(created_at) from ${migrations})`,
      ])
        await engine.rawSql(url, statement);
      const upgraded = await newStore({ sameDb: true });
      expect(await upgraded.certificates.countByStatus(ca.id)).toEqual({ active: 2, revoked: 1, expired: 0 });
      await expectExactCounters(upgraded);
      // 0017 filled the search terms of the certificates that were already there
      expect((await upgraded.certificates.list({ search: 'example.com' })).items).toHaveLength(3);
    });
  });

  describe('pre-signed OCSP responses', () => {
    const response = (
      certificateId: string,
      nextUpdate: number,
      statusKey = 'good',
      hashAlg: 'sha1' | 'sha256' = 'sha1',
    ) => ({
      certificateId,
      hashAlg,
      statusKey,
      certId: 'Y2VydGlk',
      der: Buffer.from(`der of ${certificateId} ${statusKey}`).toString('base64'),
      thisUpdate: T0,
      nextUpdate,
      refreshAt: nextUpdate - 50,
    });
    /** a store with a CA and two certificates; `signedAt`: a response of one of them signed at `thisUpdate` */
    const twoCertificates = async () => {
      const store = await newStore();
      const ca = makeCa();
      const [cert, other] = [makeCert(ca.id), makeCert(ca.id)];
      await store.commit({ insertCa: [ca], insertCertificates: [cert, other] });
      const signedAt = (thisUpdate: number, statusKey = 'good', certificateId = cert.id) => ({
        ...response(certificateId, thisUpdate + 1000, statusKey),
        der: Buffer.from(`der of ${statusKey} at ${thisUpdate}`).toString('base64'),
        thisUpdate,
      });
      return { store, ca, cert, other, signedAt };
    };

    it("reads a certificate's status with its stored response, replaces it, pages what is due or missing", async () => {
      const store = await newStore();
      const ca = makeCa();
      const certs = [0, 1, 2, 3].map((i) => makeCert(ca.id, { createdAt: T0 + i }));
      const expired = makeCert(ca.id, { createdAt: T0 + 4, notAfter: T0 + 10 });
      await store.commit({ insertCa: [ca], insertCertificates: [...certs, expired] });
      const [a, b, c, d] = certs as [CertificateRow, CertificateRow, CertificateRow, CertificateRow];
      expect(await store.ocspResponses.lookup(ca.id, 'ff00')).toBeUndefined();
      const bare = await store.ocspResponses.lookup(ca.id, a.serialHex.toUpperCase());
      expect(bare).toEqual({
        certificateId: a.id,
        caId: ca.id,
        serialHex: a.serialHex,
        status: 'active',
        revokedAt: null,
        revocationReason: null,
        notAfter: a.notAfter,
        createdAt: a.createdAt,
      });

      await store.ocspResponses.put([response(a.id, T0 + 100), response(b.id, T0 + 300), response(c.id, T0 + 200)]);
      expect((await store.ocspResponses.lookup(ca.id, a.serialHex))?.response).toEqual(response(a.id, T0 + 100));
      // a revocation committed elsewhere: the lookup shows the new status beside the stale response
      await store.commit({
        updateCertificates: [
          { id: a.id, patch: { status: 'revoked', revokedAt: T0 + 5, revocationReason: 'keyCompromise' } },
        ],
      });
      const after = await store.ocspResponses.lookup(ca.id, a.serialHex);
      expect(after).toMatchObject({ status: 'revoked', revokedAt: T0 + 5, revocationReason: 'keyCompromise' });
      expect(after?.response?.statusKey).toBe('good');
      await store.ocspResponses.put([response(a.id, T0 + 400, `revoked:${T0 + 5}:1`)]);
      expect((await store.ocspResponses.lookup(ca.id, a.serialHex))?.response).toEqual(
        response(a.id, T0 + 400, `revoked:${T0 + 5}:1`),
      );

      // due: refreshAt (nextUpdate - 50 here) reached, soonest first
      expect((await store.ocspResponses.due(T0 + 250, 10)).map((r) => r.certificateId)).toEqual([c.id, b.id]);
      expect((await store.ocspResponses.due(T0 + 250, 1)).map((r) => r.certificateId)).toEqual([c.id]);
      expect((await store.ocspResponses.due(T0 + 249, 10)).map((r) => r.certificateId)).toEqual([c.id]);

      // missing: pages of 2 over (createdAt, id); d has no response, `expired` is past notAfter
      const seen: string[] = [];
      let cursor: { createdAt: number; id: string } | null = null;
      let pages = 0;
      do {
        const page = await store.ocspResponses.missing(cursor, T0 + 20, 2);
        seen.push(...page.certificates.map((x) => x.certificateId));
        cursor = page.last;
        pages++;
        if (!page.more) break;
      } while (pages < 10);
      expect(seen).toEqual([d.id]);
      expect(pages).toBe(3);
      expect(cursor).toEqual({ createdAt: expired.createdAt, id: expired.id });
      // from the end of the walk: nothing new
      expect(await store.ocspResponses.missing(cursor, T0 + 20, 2)).toEqual({
        certificates: [],
        last: null,
        more: false,
      });

      expect(await store.ocspResponses.remove([b.id, d.id])).toBe(1);
      expect((await store.ocspResponses.lookup(ca.id, b.serialHex))?.response).toBeUndefined();
      // its certificate deleted: the row is due with notAfter 0 (the refresh job deletes it), never looked up
      await store.commit({ deleteCertificates: [c.id] });
      expect(await store.ocspResponses.due(T0 + 1000, 10)).toEqual([
        expect.objectContaining({ certificateId: c.id, notAfter: 0, hashAlg: 'sha1' }),
        expect.objectContaining({ certificateId: a.id, status: 'revoked', notAfter: a.notAfter }),
      ]);
    });

    it('keeps the newer response: not replaced by an older one, nor a revoked one by a good one', async () => {
      const store = await newStore();
      const ca = makeCa();
      const cert = makeCert(ca.id);
      await store.commit({ insertCa: [ca], insertCertificates: [cert] });
      const signedAt = (thisUpdate: number, statusKey = 'good', hashAlg: 'sha1' | 'sha256' = 'sha1') => ({
        ...response(cert.id, thisUpdate + 1000, statusKey, hashAlg),
        der: Buffer.from(`der of ${statusKey} at ${thisUpdate}`).toString('base64'),
        thisUpdate,
      });
      const stored = async (hashAlg: 'sha1' | 'sha256' = 'sha1') =>
        (await store.ocspResponses.lookup(ca.id, cert.serialHex, hashAlg))?.response;
      const revoked = `revoked:${T0 + 5}:1`;

      await store.ocspResponses.put([signedAt(T0 + 30)]);
      // the slower write of a response signed before it (the refresh job, another request): the newer one stays
      await store.ocspResponses.put([signedAt(T0 + 20)]);
      expect(await stored()).toEqual(signedAt(T0 + 30));
      // the same instant (signed again within the millisecond) and a newer one replace it
      await store.ocspResponses.put([{ ...signedAt(T0 + 30), der: 'YWdhaW4=' }]);
      expect((await stored())?.der).toBe('YWdhaW4=');
      await store.ocspResponses.put([signedAt(T0 + 40)]);
      expect(await stored()).toEqual(signedAt(T0 + 40));

      // a revocation's response, even signed before a good one signed from the status read before the revocation
      await store.ocspResponses.put([signedAt(T0 + 35, revoked)]);
      expect(await stored()).toEqual(signedAt(T0 + 35, revoked));
      // ... is never replaced by a good one, older or newer
      await store.ocspResponses.put([signedAt(T0 + 30)]);
      await store.ocspResponses.put([signedAt(T0 + 50)]);
      expect(await stored()).toEqual(signedAt(T0 + 35, revoked));
      // a revoked one re-signed later replaces it (the refresh job), an older one does not
      await store.ocspResponses.put([signedAt(T0 + 60, revoked)]);
      await store.ocspResponses.put([signedAt(T0 + 45, revoked)]);
      expect(await stored()).toEqual(signedAt(T0 + 60, revoked));

      // per hash algorithm; one statement for several rows keeps each row's newer response
      await store.ocspResponses.put([signedAt(T0 + 70, 'good', 'sha256')]);
      const other = makeCert(ca.id);
      await store.commit({ insertCertificates: [other] });
      const otherAt = (thisUpdate: number) => ({ ...signedAt(thisUpdate), certificateId: other.id });
      await store.ocspResponses.put([otherAt(T0 + 10)]);
      await store.ocspResponses.put([signedAt(T0 + 65, 'good', 'sha256'), otherAt(T0 + 20)]);
      expect(await stored('sha256')).toEqual(signedAt(T0 + 70, 'good', 'sha256'));
      expect(await stored()).toEqual(signedAt(T0 + 60, revoked));
      expect((await store.ocspResponses.lookup(ca.id, other.serialHex))?.response).toEqual(otherAt(T0 + 20));
    });

    it('returns the response it kept: its own, or the stored one that won over it', async () => {
      const { store, ca, cert, other, signedAt } = await twoCertificates();
      const revoked = `revoked:${T0 + 5}:1`;
      const byId = (rows: OcspResponseRow[]) =>
        [...rows].sort((a, b) => a.certificateId.localeCompare(b.certificateId));

      expect(await store.ocspResponses.put([])).toEqual([]);
      expect(await store.ocspResponses.put([signedAt(T0 + 30)])).toEqual([signedAt(T0 + 30)]); // inserted
      // two writers, the one that signed earlier writing second: told what the first stored
      expect(await store.ocspResponses.put([signedAt(T0 + 20)])).toEqual([signedAt(T0 + 30)]);
      expect(await store.ocspResponses.put([signedAt(T0 + 40)])).toEqual([signedAt(T0 + 40)]); // replaced
      expect(await store.ocspResponses.put([signedAt(T0 + 35, revoked)])).toEqual([signedAt(T0 + 35, revoked)]);
      // a "good" signed from a read before the revocation, however new: the revoked one
      expect(await store.ocspResponses.put([signedAt(T0 + 50)])).toEqual([signedAt(T0 + 35, revoked)]);
      // several rows: one kept row each, whichever won
      const kept = await store.ocspResponses.put([signedAt(T0 + 60), signedAt(T0 + 10, 'good', other.id)]);
      expect(byId(kept)).toEqual(byId([signedAt(T0 + 35, revoked), signedAt(T0 + 10, 'good', other.id)]));
      expect((await store.ocspResponses.lookup(ca.id, cert.serialHex))?.response).toEqual(signedAt(T0 + 35, revoked));
    });

    it('a write that loses writes nothing: the stored row is not updated, what it kept is returned', async () => {
      const { store, ca, cert, other, signedAt } = await twoCertificates();
      const revoked = `revoked:${T0 + 5}:1`;
      await store.ocspResponses.put([signedAt(T0 + 30), signedAt(T0 + 35, revoked, other.id)]);
      // from here every UPDATE of a stored response fails (a trigger): a losing write must not make one (before, it
      // "updated" the row to its own values — on PostgreSQL a new row version, a dead one left behind)
      const sqlite = getEngine().dialect === 'sqlite';
      await getEngine().rawSql(
        url,
        sqlite
          ? 'create trigger pkim_test_refuse_update before update on ocsp_responses ' +
              "begin select raise(abort, 'refused by the test'); end"
          : 'create function pkim_test_refuse_update() returns trigger language plpgsql as ' +
              "$$ begin raise exception 'refused by the test'; end $$; create trigger pkim_test_refuse_update " +
              'before update on ocsp_responses for each row execute function pkim_test_refuse_update()',
      );
      expect(await store.ocspResponses.put([signedAt(T0 + 20)])).toEqual([signedAt(T0 + 30)]); // older
      expect(await store.ocspResponses.put([signedAt(T0 + 50, 'good', other.id)])).toEqual([
        signedAt(T0 + 35, revoked, other.id), // a good one over a revoked one
      ]);
      const both = await store.ocspResponses.put([signedAt(T0 + 10, 'good', other.id), signedAt(T0 + 25)]);
      expect(both).toEqual([signedAt(T0 + 35, revoked, other.id), signedAt(T0 + 30)]); // in the batch's order
      // a write that wins updates the row (the trigger refuses it: the update was tried)
      const refused = await store.ocspResponses.put([signedAt(T0 + 40)]).then(
        () => undefined,
        (e: unknown) => e as Error & { cause?: Error },
      );
      expect(`${refused?.message} ${refused?.cause?.message}`).toMatch(/refused by the test/); // PostgreSQL: the cause
      await getEngine().rawSql(
        url,
        sqlite
          ? 'drop trigger pkim_test_refuse_update'
          : 'drop trigger pkim_test_refuse_update on ocsp_responses; drop function pkim_test_refuse_update()',
      );
      expect(await store.ocspResponses.put([signedAt(T0 + 40)])).toEqual([signedAt(T0 + 40)]);
      expect((await store.ocspResponses.lookup(ca.id, cert.serialHex))?.response).toEqual(signedAt(T0 + 40));
      expect((await store.ocspResponses.lookup(ca.id, other.serialHex))?.response).toEqual(
        signedAt(T0 + 35, revoked, other.id),
      );
    });

    it('stores one batch naming a certificate + hash algorithm twice: the newer one, as two writes would', async () => {
      const { store, ca, cert, other, signedAt } = await twoCertificates();
      const stored = async (c = cert) => (await store.ocspResponses.lookup(ca.id, c.serialHex))?.response;
      const revoked = `revoked:${T0 + 5}:1`;

      // nothing stored yet (an insert), the newer one second or first
      await store.ocspResponses.put([signedAt(T0 + 10), signedAt(T0 + 20)]);
      expect(await stored()).toEqual(signedAt(T0 + 20));
      const kept = await store.ocspResponses.put([
        signedAt(T0 + 40, 'good', other.id),
        signedAt(T0 + 30),
        signedAt(T0 + 25, 'good', other.id),
      ]);
      expect(kept).toHaveLength(2);
      expect(await stored()).toEqual(signedAt(T0 + 30));
      expect(await stored(other)).toEqual(signedAt(T0 + 40, 'good', other.id));
      // a revoked one and a newer good one in one batch: the revoked one, in either order
      await store.ocspResponses.put([signedAt(T0 + 35, revoked), signedAt(T0 + 45)]);
      expect(await stored()).toEqual(signedAt(T0 + 35, revoked));
      await store.ocspResponses.put([signedAt(T0 + 55), signedAt(T0 + 36, revoked), signedAt(T0 + 50, revoked)]);
      expect(await stored()).toEqual(signedAt(T0 + 50, revoked));
      // the same response twice (one certificate asked for twice)
      expect(await store.ocspResponses.put([signedAt(T0 + 60, revoked), signedAt(T0 + 60, revoked)])).toEqual([
        signedAt(T0 + 60, revoked),
      ]);
    });

    it('keeps one response per CertID hash algorithm, and the responses of subordinate CA certificates', async () => {
      const store = await newStore();
      const root = makeCa();
      const sub = makeCa({ parentId: root.id, serialHex: 'c0ffee01', notAfter: T0 + 500 });
      const pending = makeCa({ parentId: root.id, serialHex: null, certificatePem: null, status: 'pending' });
      const cert = makeCert(root.id);
      await store.commit({ insertCa: [root, sub, pending], insertCertificates: [cert] });
      // SHA-1 and SHA-256 side by side, each read by its own algorithm
      await store.ocspResponses.put([response(cert.id, T0 + 100), response(cert.id, T0 + 200, 'good', 'sha256')]);
      expect((await store.ocspResponses.lookup(root.id, cert.serialHex))?.response).toEqual(
        response(cert.id, T0 + 100),
      );
      expect((await store.ocspResponses.lookup(root.id, cert.serialHex, 'sha256'))?.response).toEqual(
        response(cert.id, T0 + 200, 'good', 'sha256'),
      );
      await store.ocspResponses.put([response(cert.id, T0 + 300, 'good', 'sha256')]);
      expect((await store.ocspResponses.lookup(root.id, cert.serialHex))?.response?.nextUpdate).toBe(T0 + 100);
      expect((await store.ocspResponses.lookup(root.id, cert.serialHex, 'sha256'))?.response?.nextUpdate).toBe(
        T0 + 300,
      );

      // the subordinate CA's certificate: its parent is the issuer, its status the CA's
      expect(await store.ocspResponses.lookupSubordinateCa(root.id, 'ff00')).toBeUndefined();
      expect(await store.ocspResponses.lookupSubordinateCa(sub.id, 'c0ffee01')).toBeUndefined();
      const state = {
        certificateId: sub.id,
        caId: root.id,
        serialHex: 'c0ffee01',
        status: 'active',
        revokedAt: null,
        revocationReason: null,
        notAfter: T0 + 500,
        createdAt: sub.createdAt,
      };
      expect(await store.ocspResponses.lookupSubordinateCa(root.id, 'C0FFEE01')).toEqual(state);
      expect(await store.ocspResponses.missingSubordinateCas(T0)).toEqual([state]);
      expect(await store.ocspResponses.missingSubordinateCas(T0 + 500)).toEqual([]); // expired
      await store.ocspResponses.put([response(sub.id, T0 + 150)]);
      expect(await store.ocspResponses.missingSubordinateCas(T0)).toEqual([]);
      expect(await store.ocspResponses.lookupSubordinateCa(root.id, 'c0ffee01')).toEqual({
        ...state,
        response: response(sub.id, T0 + 150),
      });
      expect((await store.ocspResponses.lookupSubordinateCa(root.id, 'c0ffee01', 'sha256'))?.response).toBeUndefined();
      await store.commit({
        updateCa: [{ id: sub.id, patch: { status: 'revoked', revokedAt: T0 + 7, revocationReason: 'superseded' } }],
      });
      const revoked = { ...state, status: 'revoked', revokedAt: T0 + 7, revocationReason: 'superseded' };
      expect(await store.ocspResponses.lookupSubordinateCa(root.id, 'c0ffee01')).toEqual({
        ...revoked,
        response: response(sub.id, T0 + 150),
      });
      // due: certificates and subordinate CAs alike, per hash algorithm
      expect(await store.ocspResponses.due(T0 + 400, 10)).toEqual([
        {
          ...state,
          certificateId: cert.id,
          caId: root.id,
          serialHex: cert.serialHex,
          notAfter: cert.notAfter,
          createdAt: cert.createdAt,
          hashAlg: 'sha1',
        },
        { ...revoked, hashAlg: 'sha1' },
        {
          ...state,
          certificateId: cert.id,
          caId: root.id,
          serialHex: cert.serialHex,
          notAfter: cert.notAfter,
          createdAt: cert.createdAt,
          hashAlg: 'sha256',
        },
      ]);
      expect(await store.ocspResponses.remove([cert.id])).toBe(2); // both algorithms
    });

    it('migration 0026 keeps the responses stored before it, as SHA-1 responses', async () => {
      const { ca, cert, engine, migrations } = await closedStoreWithOneCertificate();
      for (const statement of undo0026(migrations)) await engine.rawSql(url, statement);
      await engine.rawSql(
        url,
        'insert into ocsp_responses (certificate_id, status_key, cert_id, der, this_update, next_update, refresh_at) ' +
          `values ('${cert.id}', 'good', 'Y2VydGlk', 'ZGVy', ${T0}, ${T0 + 100}, ${T0 + 50})`,
      );
      const upgraded = await newStore({ sameDb: true });
      expect((await upgraded.ocspResponses.lookup(ca.id, cert.serialHex))?.response).toEqual({
        certificateId: cert.id,
        hashAlg: 'sha1',
        statusKey: 'good',
        certId: 'Y2VydGlk',
        der: 'ZGVy',
        thisUpdate: T0,
        nextUpdate: T0 + 100,
        refreshAt: T0 + 50,
      });
      expect((await upgraded.ocspResponses.lookup(ca.id, cert.serialHex, 'sha256'))?.response).toBeUndefined();
    });

    it('applies migration 0019 to a database at 0022 (a reserved number landed after a higher one)', async () => {
      const { ca, cert, engine, migrations } = await closedStoreWithOneCertificate();
      // a database migrated by the previous release: 0000 … 0017, 0020 … 0022 (0019 has `when` 1796196170000; 0026,
      // which changes the table 0019 makes, goes with it)
      await engine.rawSql(url, 'drop table ocsp_responses');
      await engine.rawSql(url, `delete from ${migrations} where created_at in (1796196170000, 1796196240000)`);
      // the operator hears that an existing database is being upgraded, before and after (a migration may take minutes)
      const said: string[] = [];
      const logger = { info: (_: object, m: string) => said.push(m), warn: (_: object, m: string) => said.push(m) };
      const upgraded = await newStore({ sameDb: true, logger });
      expect(said.filter((m) => m.includes('database'))).toEqual([
        expect.stringMatching(/^upgrading the database: 2 migration\(s\) to apply \(0019_\w+, 0026_\w+\)/),
        'database upgraded: migrations applied',
      ]);
      await upgraded.ocspResponses.put([response(cert.id, T0 + 100)]);
      expect((await upgraded.ocspResponses.lookup(ca.id, cert.serialHex))?.response?.nextUpdate).toBe(T0 + 100);
      await upgraded.close();
      // applied once: opening again changes nothing and says nothing
      said.length = 0;
      const again = await newStore({ sameDb: true, logger });
      expect(said.filter((m) => m.includes('database'))).toEqual([]);
      expect((await again.ocspResponses.lookup(ca.id, cert.serialHex))?.response?.nextUpdate).toBe(T0 + 100);
      // a fresh database is created, not upgraded: nothing said
      await newStore({ logger, empty: true });
      expect(said.filter((m) => m.includes('database'))).toEqual([]);
    });
  });

  describe('audit chain', () => {
    it('appends events in one linear hash chain that verifies, and lists them by filter and order', async () => {
      const store = await newStore();
      const ca = makeCa();
      const r1 = await store.commit({
        insertCa: [ca],
        audit: [
          makeEvent({ action: 'ca.created', target: ca.id }),
          makeEvent({ action: 'kms.key_created', details: { when: new Date(T0) as unknown as string } }),
        ],
      });
      expect(r1.audit.map((e) => e.seq)).toEqual([1, 2]);
      expect(r1.audit[0]!.prevHash).toBe('0'.repeat(64));
      expect(r1.audit[1]!.prevHash).toBe(r1.audit[0]!.hash);
      const failed = await store.audit.append(
        makeEvent({ action: 'certificate.issue_failed', outcome: 'failure', actor: 'usr_bob' }),
      );
      expect(failed.seq).toBe(3);
      expect(failed.prevHash).toBe(r1.audit[1]!.hash);

      const v = await store.audit.verify();
      expect(v).toEqual({ ok: true, count: 3, lastHash: failed.hash });
      expect(await store.audit.count()).toBe(3);
      const all = await store.audit.list({});
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(all[1]!.details).toEqual({ when: new Date(T0).toISOString() });
      expect((await store.audit.list({ order: 'desc', limit: 2 })).map((e) => e.seq)).toEqual([3, 2]);
      expect((await store.audit.list({ afterSeq: 1 })).map((e) => e.seq)).toEqual([2, 3]);
      expect((await store.audit.list({ actor: 'usr_bob' })).map((e) => e.seq)).toEqual([3]);
      expect((await store.audit.list({ target: ca.id, action: 'ca.created' })).map((e) => e.seq)).toEqual([1]);
    });

    it('verifies a chain longer than one batch; names the first modified event after raw SQL tampering', async () => {
      const store = await newStore();
      for (let i = 0; i < 5; i++) await store.commit({ audit: Array.from({ length: 250 }, () => makeEvent()) });
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 1250 });
      const [victim] = await store.audit.list({ afterSeq: 1106, limit: 1 });
      await getEngine().rawSql(url, `update audit_events set details = '{"note":"forged"}' where seq = 1107`);
      await getEngine().rawSql(url, `update audit_events set actor = 'mallory' where seq = 1200`);
      const v = await store.audit.verify();
      expect(v).toEqual({
        ok: false,
        count: 1106,
        brokenAtSeq: 1107,
        brokenEventId: victim!.id,
        reason: expect.stringMatching(/modified/),
      });
    });

    it('namedActors: who acted (users, API tokens), by name, paged, by prefix; not those deleted since', async () => {
      const store = await newStore();
      const ada = makeUser({ username: 'ada' });
      const adam = makeUser({ username: 'Adam' });
      const underscore = makeUser({ username: 'a_b' });
      const quiet = makeUser({ username: 'quiet' });
      const gone = makeUser({ username: 'gone' });
      const bot = makeToken({ name: 'deploy-bot' });
      const idle = makeToken({ name: 'idle' });
      // two tokens that share a user's name: listed beside it, after it (the `actor` filter takes the name: all three)
      const namesakes = [
        makeToken({ name: 'ada', createdAt: T0 + DAY }),
        makeToken({ name: 'ada', createdAt: T0 + 2 * DAY }),
      ];
      const acted = [ada, adam, underscore, gone, bot, ...namesakes];
      await store.commit({
        insertUsers: [ada, adam, underscore, quiet, gone],
        insertTokens: [bot, idle, ...namesakes],
        audit: acted.map((a) => makeEvent({ actor: a.id })).concat(makeEvent({ actor: 'system' })),
      });
      // a user deleted since (the product disables users; a restore or an operator's SQL may remove one): its events
      // stay in the log, with no name to offer
      await getEngine().rawSql(url, `delete from users where id = '${gone.id}'`);
      const [t1, t2] = namesakes.sort((a, b) => (a.id < b.id ? -1 : 1));
      // code point order (upper case first), a user before a token of its name, tokens of one name by id
      const all = [
        { id: adam.id, kind: 'user', name: 'Adam', createdAt: T0 },
        { id: underscore.id, kind: 'user', name: 'a_b', createdAt: T0 },
        { id: ada.id, kind: 'user', name: 'ada', createdAt: T0 },
        // two tokens of one name told apart by their ids and when they were made
        { id: t1!.id, kind: 'token', name: 'ada', createdAt: t1!.createdAt },
        { id: t2!.id, kind: 'token', name: 'ada', createdAt: t2!.createdAt },
        { id: bot.id, kind: 'token', name: 'deploy-bot', createdAt: T0 },
      ];
      expect(await store.audit.namedActors()).toEqual({ items: all, nextCursor: null });
      // page after page (across the user and the tokens of one name too), each page full but the last
      const pages = async (q: string | undefined, limit: number) => {
        const seen: unknown[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<Store['audit']['namedActors']>> = await store.audit.namedActors({
            q,
            limit,
            cursor,
          });
          if (page.nextCursor) expect(page.items).toHaveLength(limit);
          seen.push(...page.items);
          cursor = page.nextCursor;
          // a cursor that does not move on would page for ever
          expect(seen.length, 'more rows than there are').toBeLessThanOrEqual(all.length);
        } while (cursor);
        return seen;
      };
      for (const limit of [1, 2, 4]) expect(await pages(undefined, limit), `limit ${limit}`).toEqual(all);
      // a name prefix, letter case aside; `_` and `%` are themselves
      const ad = all.filter((a) => a.name.toLowerCase().startsWith('ad'));
      expect(ad.map((a) => a.name)).toEqual(['Adam', 'ada', 'ada', 'ada']);
      expect(await pages('ad', 100)).toEqual(ad);
      expect(await pages('AD', 3)).toEqual(ad);
      expect(await pages('a_', 100)).toEqual([all[1]]);
      expect(await pages('%', 100)).toEqual([]);
      expect(await store.audit.namedActors({ q: 'zz' })).toEqual({ items: [], nextCursor: null });
      await expectPkiError(store.audit.namedActors({ cursor: 'not-a-cursor' }), 'input.invalid');
    });

    // the same answer on both engines (neither SQLite's lower(), A–Z only, nor PostgreSQL's, the database's locale):
    // each character of q matches itself and its one-character lower and upper case
    it('namedActors: q beyond A–Z, and GLOB or regex characters, find the same names on both engines', async () => {
      const store = await newStore();
      const names = [
        'Édith',
        'édouard',
        'ÉMILE',
        'Straße',
        'STRASSE',
        'a*b',
        'a?c',
        'a[d',
        'a.e',
        'a\\f',
        'a^g',
        'a$h',
      ];
      const people = names.map((username) => makeUser({ username }));
      await store.commit({ insertUsers: people, audit: people.map((u) => makeEvent({ actor: u.id })) });
      const found = async (q: string) => (await store.audit.namedActors({ q })).items.map((a) => a.name);
      expect(await found('é')).toEqual(['ÉMILE', 'Édith', 'édouard']);
      expect(await found('É')).toEqual(['ÉMILE', 'Édith', 'édouard']);
      expect(await found('éD')).toEqual(['Édith', 'édouard']);
      expect(await found('émile')).toEqual(['ÉMILE']);
      // 'ß' has no one-character upper case: itself only
      expect(await found('straß')).toEqual(['Straße']);
      expect(await found('strass')).toEqual(['STRASSE']);
      for (const n of ['a*b', 'a?c', 'a[d', 'a.e', 'a\\f', 'a^g', 'a$h']) {
        expect(await found(n.slice(0, 2)), n).toEqual([n]);
        expect(await found(n.toUpperCase()), n).toEqual([n]);
      }
      expect(await found('a')).toHaveLength(7);
    });

    it('detects a deleted event as a gap in the sequence', async () => {
      const store = await newStore();
      await store.commit({ audit: Array.from({ length: 5 }, () => makeEvent()) });
      const [fourth] = await store.audit.list({ afterSeq: 3, limit: 1 });
      await getEngine().rawSql(url, 'delete from audit_events where seq = 3');
      expect(await store.audit.verify()).toMatchObject({
        ok: false,
        brokenAtSeq: 4,
        brokenEventId: fourth!.id,
        reason: expect.stringMatching(/missing/),
      });
    });

    it('serialises 50 concurrent commits from two store instances on one database into one valid chain', async () => {
      const a = await newStore();
      const b = await newStore({ sameDb: true });
      const ca = makeCa();
      await a.commit({ insertCa: [ca] });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 ? a : b).commit({
            insertCertificates: [makeCert(ca.id)],
            audit: [makeEvent({ action: 'certificate.issued', details: { i } })],
          }),
        ),
      );
      expect(results.map((r) => r.audit[0]!.seq).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      expect(await a.audit.verify()).toMatchObject({ ok: true, count: 50 });
      expect((await b.certificates.countByStatus()).active).toBe(50);
      expect(await a.certificates.countsByCaAndProfile()).toEqual([
        { caId: ca.id, profile: 'tls-server', status: 'active', count: 50 },
      ]);
    });

    it('commits units submitted together in order; a failing unit fails alone; counters exact', async () => {
      const store = await newStore();
      const cas = [makeCa(), makeCa()];
      const taken = makeCert(cas[0]!.id);
      await store.commit({ insertCa: cas, insertCertificates: [taken], audit: [makeEvent()] });
      const certs = Array.from({ length: 12 }, (_, i) =>
        i === 6
          ? makeCert(cas[0]!.id, { serialHex: taken.serialHex })
          : makeCert(cas[i % 2]!.id, { profile: i % 3 ? 'tls-server' : 'tls-client' }),
      );
      const settled = await Promise.allSettled(
        certs.map((c, i) =>
          store.commit({
            insertCertificates: [c],
            audit: [makeEvent({ action: 'certificate.issued', target: c.id, details: { i } })],
          }),
        ),
      );
      expect(settled[6]).toMatchObject({ status: 'rejected', reason: { code: 'certificate.serial_taken' } });
      const seqs = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value.audit[0]!.seq] : []));
      expect(seqs).toEqual(Array.from({ length: 11 }, (_, i) => i + 2));
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 12 });
      expect((await store.certificates.countByStatus()).active).toBe(12);
      await expectExactCounters(store, 'after a batch with a failing unit');
    });

    it('keeps counters exact under concurrent issuance, revocation, revoke-all from two store instances', async () => {
      const a = await newStore();
      const b = await newStore({ sameDb: true });
      const cas = [makeCa(), makeCa(), makeCa()];
      const seed = cas.flatMap((ca) =>
        Array.from({ length: 20 }, (_, i) => makeCert(ca.id, { profile: i % 2 ? 'tls-server' : 'tls-client' })),
      );
      await a.commit({ insertCa: cas, insertCertificates: seed });
      const jobs: Promise<unknown>[] = [];
      for (let i = 0; i < 60; i++) {
        const s = i % 2 ? a : b;
        const ca = cas[i % 3]!;
        // no audit events in half of them: on PostgreSQL those are not serialised by the audit-chain lock
        const audit = i % 4 < 2 ? [makeEvent()] : undefined;
        jobs.push(
          s.commit({ insertCertificates: [makeCert(ca.id, { profile: i % 3 ? 'tls-server' : 'tls-client' })], audit }),
        );
        const victim = seed[i]!;
        jobs.push(
          s
            .commit({
              updateCertificates: [
                {
                  id: victim.id,
                  patch: { status: 'revoked', revokedAt: T0, revocationReason: 'superseded' },
                  ...(i % 2 ? { onlyIfStatus: 'active' as const } : {}),
                },
              ],
            })
            .catch((e: unknown) => e),
        ); // may lose to the revoke-all
        if (i === 30)
          jobs.push(s.commit({ revokeAllIssuedBy: { caIds: [cas[2]!.id], revokedAt: T0, reason: 'cACompromise' } }));
      }
      const settled = await Promise.all(jobs);
      for (const x of settled)
        if (x instanceof Error) expect(x instanceof PkiError && x.code).toBe('certificate.already_revoked');
      await expectExactCounters(a, 'after concurrent commits');
      expect((await b.certificates.countByStatus()).active + (await b.certificates.countByStatus()).revoked).toBe(120);
      expect(await b.rebuildCertificateCounts()).toEqual({ certificates: 120, corrected: 0 });
    });
  });

  describe('group commit: when a batch is written', () => {
    /** the delay never runs out in these tests: only announced work, the batch size or nothing decides */
    const NEVER: GroupCommitPolicy = { maxBatch: 32, maxDelayMs: 3_600_000 };
    /** `n` turns of the event loop (setImmediate: after the turn that schedules the group commit's own look) */
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
    };
    const issue = (store: Store, caId: string, cert: CertificateRow = makeCert(caId)) =>
      store.commit({
        insertCertificates: [cert],
        audit: [makeEvent({ action: 'certificate.issued', target: cert.id })],
      });
    /** a store with one CA, and its batches and units written so far */
    const withCa = async (groupCommit: GroupCommitPolicy) => {
      const store = await newStore({ groupCommit });
      const ca = makeCa();
      await store.commit({ insertCa: [ca], audit: [makeEvent()] });
      return { store, caId: ca.id, stats0: store.commitStats() };
    };
    const written = (store: Store, stats0: { batches: number; units: number }) => {
      const s = store.commitStats();
      return { batches: s.batches - stats0.batches, units: s.units - stats0.units };
    };

    it('holds a batch while announced work runs: units of 8 turns share one transaction', async () => {
      const { store, caId, stats0 } = await withCa(NEVER);
      const work = Array.from({ length: 8 }, () => store.expectCommit());
      const done: Promise<CommitResult>[] = [];
      for (const finished of work) {
        await turns(3);
        finished(); // its unit follows in the same turn, as a worker's result is followed by its commit
        done.push(issue(store, caId));
        if (done.length === 7) {
          await turns(3);
          // one piece of announced work still runs: nothing written yet
          expect(written(store, stats0)).toEqual({ batches: 0, units: 0 });
          expect((await store.certificates.countByStatus()).active).toBe(0);
        }
      }
      const results = await Promise.all(done);
      expect(written(store, stats0)).toEqual({ batches: 1, units: 8 });
      expect(results.map((r) => r.audit[0]!.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await store.certificates.countByStatus()).active).toBe(8);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 9 });
    });

    it('writes a lone unit at once: nothing announced, or the announced work gave up', async () => {
      const { store, caId, stats0 } = await withCa(NEVER);
      // a wait for the delay would never end (the test would time out)
      await issue(store, caId);
      const gaveUp = store.expectCommit();
      const waiting = issue(store, caId);
      await turns(3);
      expect(written(store, stats0)).toEqual({ batches: 1, units: 1 });
      gaveUp();
      gaveUp(); // a second call changes nothing
      await waiting;
      expect(written(store, stats0)).toEqual({ batches: 2, units: 2 });
      // the count of announced work is back to none: the next unit is written at once again
      await issue(store, caId);
      expect(written(store, stats0)).toEqual({ batches: 3, units: 3 });
    });

    it('writes a full batch without waiting for the rest of the announced work', async () => {
      const { store, caId, stats0 } = await withCa({ ...NEVER, maxBatch: 4 });
      const work = Array.from({ length: 6 }, () => store.expectCommit());
      const first = Array.from({ length: 4 }, () => issue(store, caId));
      await Promise.all(first);
      expect(written(store, stats0)).toEqual({ batches: 1, units: 4 });
      const rest = [issue(store, caId), issue(store, caId)];
      await turns(3);
      expect(written(store, stats0)).toEqual({ batches: 1, units: 4 });
      for (const finished of work) finished();
      await Promise.all(rest);
      expect(written(store, stats0)).toEqual({ batches: 2, units: 6 });
    });

    it('writes a held batch when its first unit has waited the longest delay', async () => {
      const { store, caId, stats0 } = await withCa({ maxBatch: 32, maxDelayMs: 5 });
      const never = store.expectCommit(); // work that does not report back
      await Promise.all([issue(store, caId), issue(store, caId)]);
      expect(written(store, stats0)).toEqual({ batches: 1, units: 2 });
      never();
    });

    it('a failing unit of a held batch fails alone; the others are written, chain and counters exact', async () => {
      const { store, caId, stats0 } = await withCa(NEVER);
      const taken = makeCert(caId);
      await issue(store, caId, taken);
      const work = Array.from({ length: 6 }, () => store.expectCommit());
      const done: Promise<CommitResult>[] = [];
      for (const [i, finished] of work.entries()) {
        await turns(2);
        finished();
        done.push(issue(store, caId, i === 3 ? makeCert(caId, { serialHex: taken.serialHex }) : makeCert(caId)));
      }
      const settled = await Promise.allSettled(done);
      expect(settled.map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      expect(settled[3]).toMatchObject({ reason: { code: 'certificate.serial_taken' } });
      // tried as one batch (then each unit on its own)
      expect(written(store, stats0)).toEqual({ batches: 2, units: 7 });
      expect((await store.certificates.countByStatus()).active).toBe(6);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 7 });
      await expectExactCounters(store, 'after a held batch with a failing unit');
    });

    it('writeWhenIdle: a write on this thread goes in an idle turn; an asynchronous one waits as before', async () => {
      const { store, caId, stats0 } = await withCa({ ...NEVER, writeWhenIdle: true });
      const engine = getEngine();
      const onThisThread = engine.dialect === 'sqlite' && !engine.openOptions?.sqliteWriterThread;
      const running = store.expectCommit(); // announced work that has not ended
      const first = issue(store, caId);
      // the loop with nothing else to run (a timer pending, no await chain turning it): SQLite's write, on this
      // thread, goes in one of its turns, not after the work; the waits only bound the test on a loaded machine
      for (let i = 0; i < (onThisThread ? 100 : 5) && !written(store, stats0).batches; i++) await sleep(20);
      expect(written(store, stats0)).toEqual(onThisThread ? { batches: 1, units: 1 } : { batches: 0, units: 0 });
      // PostgreSQL's write and SQLite's writer thread take none of this thread's time: the batch waits for the work
      running();
      const [result] = await Promise.all([first, issue(store, caId)]);
      expect(result.audit[0]!.seq).toBe(2);
      expect((await store.certificates.countByStatus()).active).toBe(2);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 3 });
    });

    it("each engine's own default: SQLite announces nothing, writes at the first look; PostgreSQL holds", async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({ insertCa: [ca], audit: [makeEvent()] });
      const stats0 = store.commitStats();
      const sqlite = getEngine().dialect === 'sqlite';
      expect(store.holdsCommits).toBe(!sqlite);
      const never = store.expectCommit(); // work that does not report back
      const first = issue(store, ca.id);
      await turns(3);
      // SQLite: written at the first look although announced work runs; PostgreSQL: held (≤ 2 ms, then written)
      if (sqlite) expect(written(store, stats0)).toEqual({ batches: 1, units: 1 });
      await first;
      never();
      await issue(store, ca.id);
      expect(written(store, stats0).units).toBe(2);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 3 });
    });
  });

  describe('bulk jobs', () => {
    it('keeps jobs for every instance: updates while running only, interrupts stale or stopped ones', async () => {
      const store = await newStore();
      const base: BulkJobRow = {
        id: 'job_a',
        actorId: 'usr_a',
        kind: 'issue-csv',
        state: 'running',
        phase: 'check',
        done: 0,
        total: 3,
        dryRun: true,
        batchId: null,
        succeeded: 0,
        failed: 0,
        errorCode: null,
        errorMessage: null,
        results: { rows: [], items: [] },
        files: [],
        instanceId: 'ins_1',
        heartbeatAt: T0,
        startedAt: T0,
        finishedAt: null,
      };
      await store.bulkJobs.insert(base);
      await store.bulkJobs.insert({ ...base, id: 'job_b', instanceId: 'ins_2', heartbeatAt: T0 + 60_000 });
      await store.bulkJobs.insert({ ...base, id: 'job_c', actorId: 'usr_c', instanceId: 'ins_2' });
      expect(await store.bulkJobs.countRunning('usr_a', T0)).toBe(2);
      expect(await store.bulkJobs.countRunning('usr_a', T0 + 1)).toBe(1);

      expect(await store.bulkJobs.updateRunning('job_a', { done: 2, phase: 'issue', heartbeatAt: T0 + 5 })).toBe(true);
      const rows = [{ row: 1, status: 'issued', certificateId: 'crt_1' }];
      const files = [{ name: 'keys.zip', mediaType: 'application/zip', size: 3, containsPrivateKey: true }];
      await store.bulkJobs.putFile({
        jobId: 'job_a',
        name: 'keys.zip',
        fileName: 'bulk-keys.zip',
        mediaType: 'application/zip',
        containsPrivateKey: true,
        body: 'c2VhbGVk',
      });
      const ended: Partial<BulkJobRow> = {
        state: 'succeeded',
        done: 3,
        results: { rows, items: [] },
        files,
        finishedAt: T0 + 10,
      };
      expect(await store.bulkJobs.updateRunning('job_a', ended)).toBe(true);
      // an ended job is not changed any more (an instance declared gone cannot revive it)
      expect(await store.bulkJobs.updateRunning('job_a', { state: 'running', done: 1 })).toBe(false);
      expect(await store.bulkJobs.find('job_a')).toEqual({ ...base, ...ended, phase: 'issue', heartbeatAt: T0 + 5 });
      expect(await store.bulkJobs.findFile('job_a', 'keys.zip')).toMatchObject({
        containsPrivateKey: true,
        body: 'c2VhbGVk',
      });
      expect(await store.bulkJobs.findFile('job_a', 'results.csv')).toBeUndefined();

      const error = { code: 'bulk.interrupted', message: 'gone' };
      expect(await store.bulkJobs.interrupt({ staleBefore: T0 + 1 }, error, T0 + 100)).toBe(1); // job_c only
      expect(await store.bulkJobs.find('job_c')).toMatchObject({ state: 'failed', errorCode: 'bulk.interrupted' });
      expect(await store.bulkJobs.interrupt({ instanceId: 'ins_2' }, error, T0 + 100)).toBe(1); // job_b
      expect(await store.bulkJobs.find('job_b')).toMatchObject({ state: 'failed', finishedAt: T0 + 100 });
      expect(await store.bulkJobs.countRunning('usr_a', 0)).toBe(0);

      expect(await store.bulkJobs.deleteEndedBefore(T0 + 50)).toBe(1);
      expect(await store.bulkJobs.find('job_a')).toBeUndefined();
      expect(await store.bulkJobs.findFile('job_a', 'keys.zip')).toBeUndefined();
      await store.bulkJobs.delete('job_b');
      expect(await store.bulkJobs.find('job_b')).toBeUndefined();
      expect(await store.bulkJobs.find('job_c')).toMatchObject({ id: 'job_c' });
    });
  });

  describe('delta CRL bases (0045)', () => {
    it('stores a base per CA, replaced by a greater CRL number only; gone with its CA', async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      const B = store.crlDeltaBases;
      expect(await B.find(ca.id)).toBeUndefined();
      expect(await B.crlNumber(ca.id)).toBeUndefined();
      const base = {
        caId: ca.id,
        crlNumber: 7,
        thisUpdate: T0,
        nextUpdate: T0 + DAY,
        der: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x07]),
        serials: ['0a1b', '0c2d'],
      };
      expect(await B.put(base)).toBe(true);
      expect(await B.find(ca.id)).toEqual(base);
      expect(await B.crlNumber(ca.id)).toBe(7);
      // another process's older or same base does not replace it
      expect(await B.put({ ...base, crlNumber: 6, serials: [] })).toBe(false);
      expect(await B.put({ ...base, serials: [] })).toBe(false);
      expect(await B.find(ca.id)).toEqual(base);
      const newer = { ...base, crlNumber: 9, thisUpdate: T0 + 1, serials: [] };
      expect(await B.put(newer)).toBe(true);
      expect(await B.find(ca.id)).toEqual(newer);
      await store.commit({ deleteCas: [ca.id] });
      expect(await B.find(ca.id)).toBeUndefined();
    });
  });

  describe('delta CRL base claims (0046)', () => {
    it('one owner at a time per CA: held until released or expired, then taken over; gone with its CA', async () => {
      const store = await newStore();
      const [ca, other] = [makeCa(), makeCa()];
      await store.commit({ insertCa: [ca, other] });
      const B = store.crlDeltaBases;
      const a = { caId: ca.id, owner: 'process-a', expiresAt: T0 + 60_000 };
      const b = { caId: ca.id, owner: 'process-b', expiresAt: T0 + 61_000 };
      expect(await B.claim(a, T0)).toBeUndefined();
      expect(await B.claim(a, T0)).toBeUndefined(); // its own, again
      expect(await B.claim(b, T0 + 1)).toEqual(a);
      expect(await B.claim({ ...b, caId: other.id }, T0)).toBeUndefined(); // per CA
      // released by another owner: nothing; by its owner: free
      await B.release(ca.id, 'process-b');
      expect(await B.claim(b, T0 + 1)).toEqual(a);
      await B.release(ca.id, 'process-a');
      expect(await B.claim(b, T0 + 1)).toBeUndefined();
      // b died: held until its expiry, then taken over
      expect(await B.claim(a, b.expiresAt - 1)).toEqual(b);
      const later = { ...a, expiresAt: b.expiresAt + 60_000 };
      expect(await B.claim(later, b.expiresAt)).toBeUndefined();
      expect(await B.claim(b, b.expiresAt)).toEqual(later);
      // the CA deleted while claimed: the claim with it (the foreign key cascades)
      await store.commit({ deleteCas: [ca.id] });
      expect(await store.cas.findById(ca.id)).toBeUndefined();
    });

    it('the holder renews its claim; a base is stored by the holder only (renew and putClaimed)', async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      const B = store.crlDeltaBases;
      const base = {
        caId: ca.id,
        crlNumber: 4,
        thisUpdate: T0,
        nextUpdate: T0 + DAY,
        der: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x04]),
        serials: ['0a'],
      };
      // no claim: nothing renewed, nothing stored
      expect(await B.renew(ca.id, 'process-a', T0 + 15_000)).toBe(false);
      expect(await B.putClaimed(base, 'process-a')).toBe('unclaimed');
      expect(await B.find(ca.id)).toBeUndefined();
      const a = { caId: ca.id, owner: 'process-a', expiresAt: T0 + 15_000 };
      expect(await B.claim(a, T0)).toBeUndefined();
      // renewed by its holder: not taken over at its first expiry; another owner renews nothing
      expect(await B.renew(ca.id, 'process-a', T0 + 30_000)).toBe(true);
      expect(await B.renew(ca.id, 'process-b', T0 + 60_000)).toBe(false);
      const b = { caId: ca.id, owner: 'process-b', expiresAt: T0 + 45_000 };
      expect(await B.claim(b, T0 + 20_000)).toEqual({ ...a, expiresAt: T0 + 30_000 });
      // the holder stores; another owner does not
      expect(await B.putClaimed({ ...base, crlNumber: 5 }, 'process-b')).toBe('unclaimed');
      expect(await B.putClaimed(base, 'process-a')).toBe('stored');
      expect(await B.putClaimed({ ...base, serials: [] }, 'process-a')).toBe('older');
      expect(await B.find(ca.id)).toEqual(base);
      // a not renewed past its expiry: b takes it over; a renews nothing and stores nothing any more
      expect(await B.claim(b, T0 + 30_000)).toBeUndefined();
      expect(await B.renew(ca.id, 'process-a', T0 + 60_000)).toBe(false);
      expect(await B.putClaimed({ ...base, crlNumber: 6 }, 'process-a')).toBe('unclaimed');
      expect(await B.putClaimed({ ...base, crlNumber: 7 }, 'process-b')).toBe('stored');
      expect(await B.crlNumber(ca.id)).toBe(7);
    });

    it("a takeover keeps a claim renewed between the taker's read and its delete (removeExpired)", async () => {
      const store = await newStore();
      const ca = makeCa();
      await store.commit({ insertCa: [ca] });
      const B = store.crlDeltaBases;
      const a = { caId: ca.id, owner: 'process-a', expiresAt: T0 + 15_000 };
      const b = { caId: ca.id, owner: 'process-b', expiresAt: T0 + 45_000 };
      expect(await B.findClaim(ca.id)).toBeUndefined();
      expect(await B.claim(a, T0)).toBeUndefined();
      // claim()'s steps in the racing order: b's read at T0 + 20 s finds a's claim expired (T0 + 15 s); a renews
      // before b's delete; b deletes
      expect(await B.renew(ca.id, 'process-a', T0 + 35_000)).toBe(true);
      expect(await B.removeExpired(ca.id, 'process-a', T0 + 20_000)).toBe(false);
      // the renewed claim survives: a still holds it, stores, and b is told so
      expect(await B.claim(b, T0 + 20_000)).toEqual({ ...a, expiresAt: T0 + 35_000 });
      expect(await B.findClaim(ca.id)).toEqual({ ...a, expiresAt: T0 + 35_000 }); // as stored (findClaim)
      const base = { caId: ca.id, crlNumber: 1, thisUpdate: T0, nextUpdate: T0 + DAY, der: new Uint8Array([5]) };
      expect(await B.putClaimed({ ...base, serials: [] }, 'process-a')).toBe('stored');
      // not renewed: removed once (a second taker's delete finds nothing), then b claims it
      expect(await B.removeExpired(ca.id, 'process-a', T0 + 35_000)).toBe(true);
      expect(await B.removeExpired(ca.id, 'process-a', T0 + 35_000)).toBe(false);
      expect(await B.claim(b, T0 + 35_000)).toBeUndefined();
      expect(await B.renew(ca.id, 'process-a', T0 + 50_000)).toBe(false);
      expect(await B.findClaim(ca.id)).toEqual(b);
    });
  });

  describe('delta CRLs (0048)', () => {
    it('one stored delta per CA, written by the holder of its delta claim only, newer number only', async () => {
      const store = await newStore();
      const [ca, other] = [makeCa(), makeCa()];
      await store.commit({ insertCa: [ca, other] });
      const D = store.crlDeltas;
      const delta = {
        caId: ca.id,
        crlNumber: 8,
        baseCrlNumber: 7,
        thisUpdate: T0,
        nextUpdate: T0 + DAY,
        stamp: '3/0',
        der: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x08]),
      };
      expect(await D.find(ca.id)).toBeUndefined();
      // no claim: nothing stored
      expect(await D.putClaimed(delta, 'process-a')).toBe('unclaimed');
      expect(await D.find(ca.id)).toBeUndefined();
      const a = { caId: ca.id, owner: 'process-a', expiresAt: T0 + 15_000 };
      const b = { caId: ca.id, owner: 'process-b', expiresAt: T0 + 45_000 };
      expect(await D.claim(a, T0)).toBeUndefined();
      expect(await D.claim(b, T0 + 1)).toEqual(a);
      // the delta claim is not the base's: a base claim on the same CA is free
      expect(await store.crlDeltaBases.claim(b, T0 + 1)).toBeUndefined();
      expect(await D.claim({ ...b, caId: other.id }, T0)).toBeUndefined(); // per CA
      expect(await D.putClaimed(delta, 'process-b')).toBe('unclaimed');
      expect(await D.putClaimed(delta, 'process-a')).toBe('stored');
      expect(await D.find(ca.id)).toEqual(delta);
      // the same or an older number does not replace it
      expect(await D.putClaimed({ ...delta, stamp: '4/0' }, 'process-a')).toBe('older');
      expect(await D.putClaimed({ ...delta, crlNumber: 6 }, 'process-a')).toBe('older');
      expect(await D.find(ca.id)).toEqual(delta);
      // renewed by its holder only; released, then b's
      expect(await D.renew(ca.id, 'process-a', T0 + 30_000)).toBe(true);
      expect(await D.renew(ca.id, 'process-b', T0 + 60_000)).toBe(false);
      expect(await D.findClaim(ca.id)).toEqual({ ...a, expiresAt: T0 + 30_000 });
      await D.release(ca.id, 'process-a');
      expect(await D.claim(b, T0 + 2)).toBeUndefined();
      // b died: taken over once expired (removeExpired), and b stores nothing then
      expect(await D.removeExpired(ca.id, 'process-b', T0 + 45_000 - 1)).toBe(false);
      expect(await D.claim(a, T0 + 45_000)).toBeUndefined();
      const newer = { ...delta, crlNumber: 10, baseCrlNumber: 9, thisUpdate: T0 + 1, stamp: '5/1' };
      expect(await D.putClaimed(newer, 'process-b')).toBe('unclaimed');
      expect(await D.putClaimed(newer, 'process-a')).toBe('stored');
      expect(await D.find(ca.id)).toEqual(newer);
      // gone with its CA (the foreign keys cascade)
      await store.commit({ deleteCas: [ca.id] });
      expect(await D.find(ca.id)).toBeUndefined();
      expect(await D.findClaim(ca.id)).toBeUndefined();
    });
  });

  describe('idempotency keys', () => {
    it('claims a key once per caller, keeps the first answer, takes over expired or stale claims', async () => {
      const store = await newStore();
      const row: IdempotencyRow = {
        scope: 'tok_a',
        key: 'k1',
        fingerprint: 'f1',
        state: 'running',
        owner: 'own_1',
        status: null,
        contentType: null,
        body: null,
        bodyBase64: false,
        createdAt: T0,
        expiresAt: T0 + 1000,
      };
      const I = store.idempotency;
      expect(await I.claim(row, T0, T0 - 100)).toBeUndefined();
      // the same key of another caller is another row
      expect(await I.claim({ ...row, scope: 'tok_b', owner: 'own_b' }, T0, T0 - 100)).toBeUndefined();
      // a second claim sees the running one
      expect(await I.claim({ ...row, owner: 'own_2' }, T0 + 1, T0 - 100)).toMatchObject({ owner: 'own_1' });
      const answer = { status: 201, contentType: 'application/json', body: '{"id":"ca_1"}', bodyBase64: false };
      expect(await I.complete('tok_a', 'k1', 'own_2', answer)).toBe(false); // not its claim
      expect(await I.complete('tok_a', 'k1', 'own_1', answer)).toBe(true);
      expect(await I.claim({ ...row, owner: 'own_3' }, T0 + 2, T0 + 2)).toEqual({ ...row, ...answer, state: 'done' });
      await I.release('tok_a', 'k1', 'own_1'); // done: not released
      expect(await I.claim({ ...row, owner: 'own_3' }, T0 + 2, T0 - 100)).toMatchObject({ state: 'done' });
      // expired: claimed anew
      expect(await I.claim({ ...row, owner: 'own_4', createdAt: T0 + 1000 }, T0 + 1000, T0)).toBeUndefined();
      // running and older than staleBefore (its server died): taken over
      expect(await I.claim({ ...row, owner: 'own_5' }, T0 + 1001, T0 + 1001)).toBeUndefined();
      expect(await I.complete('tok_a', 'k1', 'own_4', answer)).toBe(false);
      await I.release('tok_a', 'k1', 'own_5');
      expect(await I.claim({ ...row, owner: 'own_6' }, T0 + 1002, T0)).toBeUndefined();
      expect(await I.deleteExpired(T0 + 1000)).toBe(2); // own_6's and tok_b's rows expire at T0 + 1000
      expect(await I.claim({ ...row, owner: 'own_7', expiresAt: T0 + 5000 }, T0 + 1003, T0)).toBeUndefined();
    });
  });

  describe('backup and restore', () => {
    it('restores a backup into a wiped database with the data and the audit chain intact', async () => {
      const engine = getEngine();
      const store = await newStore();
      const ca = makeCa();
      const certs = Array.from({ length: 20 }, () => makeCert(ca.id));
      await store.commit({ insertCa: [ca], insertCertificates: certs, audit: [makeEvent(), makeEvent()] });
      await store.keyBlobs.put('key_x', 'encrypted-pkcs8');
      const before = await store.audit.verify();
      const path = engine.backupPath();
      await store.backup(path);
      await store.commit({ audit: [makeEvent()] }); // after the backup: must not come back
      await store.close();

      await engine.wipe(url);
      const empty = await openStore({ url });
      expect(await empty.cas.list()).toEqual([]);
      await empty.close();

      await restoreStore({ url, fromPath: path });
      const restored = await openStore({ url });
      open.push(restored);
      expect(await restored.audit.verify()).toEqual(before);
      expect(await restored.certificates.findById(certs[7]!.id)).toEqual(certs[7]);
      expect((await restored.certificates.countByStatus()).active).toBe(20);
      expect(await restored.keyBlobs.get('key_x')).toBe('encrypted-pkcs8');
      const next = await restored.audit.append(makeEvent());
      expect(next.seq).toBe(3);
      // the search terms' delete trigger (0027) came back with the schema: a deleted certificate's terms go with it,
      // so a certificate stored later under the same id is not found by them
      const gone = certs[3]!;
      await restored.commit({ deleteCertificates: [gone.id] });
      const reused = makeCert(ca.id, { id: gone.id, commonName: 'reused.example.net', sans: {} });
      await restored.commit({ insertCertificates: [reused] });
      expect((await restored.certificates.list({ search: gone.serialHex.slice(0, 16) })).items).toEqual([]);
      expect((await restored.certificates.list({ search: 'reused' })).items.map((c) => c.id)).toEqual([gone.id]);
    });
  });
  describe('SPIFFE state', () => {
    it('records SVIDs with their certificate, supersedes renewals, keeps a deny list, counts, purges', async () => {
      const store = await newStore();
      const root = makeCa();
      const svc = makeCa({ parentId: root.id });
      await store.commit({
        insertCa: [root, svc],
        insertSpiffeCas: [
          {
            id: root.id,
            trustDomain: 'example.org',
            role: 'root',
            status: 'active',
            rotatedAt: null,
            keepUntil: null,
            createdAt: T0,
          },
          {
            id: svc.id,
            trustDomain: 'example.org',
            role: 'services',
            status: 'active',
            rotatedAt: null,
            keepUntil: null,
            createdAt: T0 + 1,
          },
        ],
      });
      expect((await store.spiffe.listCas()).map((c) => [c.id, c.role])).toEqual([
        [root.id, 'root'],
        [svc.id, 'services'],
      ]);
      const id = 'spiffe://example.org/orchestrator/node-a';
      const first = makeCert(svc.id, { notAfter: T0 + 3_600_000, createdAt: T0 });
      const svidRow = (c: typeof first) => ({
        id: c.id,
        caId: svc.id,
        spiffeId: id,
        serviceType: 'orchestrator',
        notAfter: c.notAfter,
        supersededBy: null,
        supersededAt: null,
        createdAt: c.createdAt,
      });
      await store.commit({ insertCertificates: [first], insertSpiffeSvids: [svidRow(first)] });
      const second = makeCert(svc.id, { notAfter: T0 + 7_200_000, createdAt: T0 + 1000 });
      await store.commit({
        insertCertificates: [second],
        insertSpiffeSvids: [svidRow(second)],
        supersedeSpiffeSvids: [{ spiffeId: id, by: second.id, at: T0 + 1000 }],
      });
      const old = await store.spiffe.findSvid(first.id);
      expect(old).toMatchObject({ supersededBy: second.id, supersededAt: T0 + 1000, serialHex: first.serialHex });
      expect((await store.spiffe.findSvid(second.id))?.supersededBy).toBeNull();
      const current = await store.spiffe.listSvids({ currentAt: T0 + 10 });
      expect(current.items.map((s) => s.id)).toEqual([second.id]);
      expect((await store.spiffe.listSvids({ spiffeId: id })).items.map((s) => s.id)).toEqual([second.id, first.id]);
      expect(await store.spiffe.countSvids(T0 + 10)).toEqual({ current: 1, superseded: 1, expired: 0 });
      expect(await store.spiffe.countSvids(T0 + 3_600_000)).toEqual({ current: 1, superseded: 0, expired: 1 });
      expect(await store.spiffe.svidsByCa(T0 + 10)).toEqual([{ caId: svc.id, count: 2, lastNotAfter: T0 + 7_200_000 }]);

      await store.commit({ denySpiffeIds: [{ id, reason: 'compromised', deniedBy: 'usr_x', deniedAt: T0 }] });
      await store.commit({ denySpiffeIds: [{ id, reason: 'still compromised', deniedBy: 'usr_y', deniedAt: T0 + 5 }] });
      expect(await store.spiffe.findDenied(id)).toEqual({
        id,
        reason: 'still compromised',
        deniedBy: 'usr_y',
        deniedAt: T0 + 5,
      });
      expect(await store.spiffe.listDenied()).toHaveLength(1);
      await store.commit({ allowSpiffeIds: [id] });
      expect(await store.spiffe.findDenied(id)).toBeUndefined();

      // purge: deleting the certificate removes its SVID row in the same transaction
      expect(await store.spiffe.expiredSvidIds(T0 + 3_600_000, 10)).toEqual([first.id]);
      await store.commit({ deleteCertificates: [first.id] });
      expect(await store.spiffe.findSvid(first.id)).toBeUndefined();
      expect(await store.spiffe.countSvids(T0 + 10)).toEqual({ current: 1, superseded: 0, expired: 0 });
      expect((await store.certificates.countByStatus()).active).toBe(1);
      // the SPIFFE tables are part of exports (backup/copy)
      expect((await store.exportRows('spiffe_svids', null, 10)).rows).toHaveLength(1);
      expect((await store.exportRows('spiffe_cas', null, 10)).rows).toHaveLength(2);

      // each renewal supersedes only the ID's current SVID: an earlier one keeps what superseded it, another ID's
      // current SVID is untouched (the supersede reads the partial index of 0028)
      const otherId = 'spiffe://example.org/orchestrator/node-b';
      const other = makeCert(svc.id, { notAfter: T0 + 7_200_000, createdAt: T0 + 1500 });
      await store.commit({
        insertCertificates: [other],
        insertSpiffeSvids: [{ ...svidRow(other), spiffeId: otherId }],
      });
      const renewals = [2000, 3000].map((at) => makeCert(svc.id, { notAfter: T0 + 7_200_000, createdAt: T0 + at }));
      for (const r of renewals) {
        await store.commit({
          insertCertificates: [r],
          insertSpiffeSvids: [svidRow(r)],
          supersedeSpiffeSvids: [{ spiffeId: id, by: r.id, at: r.createdAt }],
        });
      }
      const after = await Promise.all([second, ...renewals, other].map((c) => store.spiffe.findSvid(c.id)));
      expect(after.map((v) => [v?.supersededBy, v?.supersededAt])).toEqual([
        [renewals[0]!.id, T0 + 2000],
        [renewals[1]!.id, T0 + 3000],
        [null, null],
        [null, null],
      ]);
      expect((await store.spiffe.listSvids({ currentAt: T0 + 10 })).items.map((v) => v.id).sort()).toEqual(
        [renewals[1]!.id, other.id].sort(),
      );
    });

    it('refuses an SVID whose SPIFFE CA a rotation superseded and does not keep it, alone in its batch', async () => {
      // the SVID's commit reads its SPIFFE CA in its own transaction (spiffe-repository.ts refuseRotatedSvidCas;
      // PostgreSQL's batch statement: `refused`): active, or retiring and kept until the SVID's notAfter
      const store = await newStore();
      const [root, old, fresh] = [makeCa(), makeCa(), makeCa()];
      const spiffeCa = (id: string, status: 'active' | 'retiring', keepUntil: number | null, at: number) => ({
        id,
        trustDomain: 'example.org',
        role: id === root.id ? ('root' as const) : ('services' as const),
        status,
        rotatedAt: status === 'retiring' ? T0 : null,
        keepUntil,
        createdAt: T0 + at,
      });
      await store.commit({
        insertCa: [root, old, fresh],
        insertSpiffeCas: [
          spiffeCa(root.id, 'active', null, 0),
          spiffeCa(old.id, 'retiring', T0 + 3_600_000, 1),
          spiffeCa(fresh.id, 'active', null, 2),
        ],
      });
      const svidFields = (id: string, caId: string, spiffeId: string, notAfter: number) =>
        ({ id, caId, spiffeId, serviceType: 'node', notAfter, supersededBy: null, supersededAt: null }) as const;
      const svid = (caId: string, name: string, notAfter: number) => {
        const cert = makeCert(caId, { notAfter, createdAt: T0 });
        const spiffeId = `spiffe://example.org/node/${name}`;
        return {
          cert,
          unit: {
            insertCertificates: [cert],
            insertSpiffeSvids: [{ ...svidFields(cert.id, caId, spiffeId, notAfter), createdAt: T0 }],
            supersedeSpiffeSvids: [{ spiffeId, by: cert.id, at: T0 }],
            audit: [makeEvent({ action: 'certificate.issued', target: cert.id })],
          },
        };
      };
      const leaf = makeCert(fresh.id);
      const units = [
        svid(old.id, 'beyond', T0 + 7_200_000), // the old CA leaves the bundle before it expires: refused
        svid(old.id, 'within', T0 + 3_600_000), // kept exactly until it expires
        svid(fresh.id, 'current', T0 + 7_200_000),
        { cert: leaf, unit: { insertCertificates: [leaf], audit: [makeEvent({ target: leaf.id })] } },
      ];
      // submitted in one turn: one batch (one transaction or statement where the engine batches)
      const settled = await Promise.allSettled(units.map((u) => store.commit(u.unit)));
      expect(settled.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      const e = (settled[0] as PromiseRejectedResult).reason as PkiError;
      expect(e).toMatchObject({ code: 'spiffe.ca_rotated', kind: 'unavailable', retryable: true });
      expect(e.details).toEqual({ caId: old.id, keepUntil: T0 + 3_600_000 });
      expect(e.message).toMatch(/rotated while this SVID was issued \(retiring, it leaves the trust bundle at /);
      expect(await store.certificates.findById(units[0]!.cert.id)).toBeUndefined();
      expect(await store.spiffe.findSvid(units[0]!.cert.id)).toBeUndefined();
      for (const u of units.slice(1)) expect(await store.certificates.findById(u.cert.id)).toBeDefined();
      expect((await store.spiffe.svidsByCa(T0)).map((r) => [r.caId, r.count]).sort()).toEqual(
        [
          [old.id, 1],
          [fresh.id, 1],
        ].sort(),
      );
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 3 });
    });
  });

  describe('ACME tables', () => {
    it('accounts, orders, authorizations, EAB keys and nonces: round trips, guards, lookups, cascade', async () => {
      const store = await newStore();
      const ca = makeCa();
      const other = makeCa({ createdAt: T0 + 1 });
      const cert = makeCert(ca.id);
      const account = {
        id: 'acct_1',
        caId: ca.id,
        thumbprint: 'tp-1',
        jwk: { kty: 'EC', crv: 'P-256', x: 'x1', y: 'y1' },
        status: 'valid' as const,
        contact: ['mailto:ops@example.com'],
        eabKeyId: 'eab_1',
        createdAt: T0,
        updatedAt: T0,
      };
      const order = (id: string, createdAt: number, status: 'pending' | 'ready' = 'pending') => ({
        id,
        accountId: account.id,
        caId: ca.id,
        status,
        identifiers: [
          { type: 'dns' as const, value: 'a.example.com' },
          { type: 'ip' as const, value: '192.0.2.1' },
        ],
        notBefore: null,
        notAfter: null,
        expiresAt: T0 + 7 * DAY,
        error: null,
        certificateId: null,
        replaces: null,
        createdAt,
        updatedAt: createdAt,
      });
      const challenge = {
        type: 'http-01' as const,
        status: 'valid' as const,
        token: 'tok',
        validated: T0 + 5,
        error: null,
      };
      const authz = (id: string, orderId: string, over: Record<string, unknown> = {}) => ({
        id,
        orderId,
        accountId: account.id,
        identifierType: 'dns' as const,
        identifierValue: 'a.example.com',
        wildcard: false,
        status: 'valid' as const,
        expiresAt: T0 + DAY,
        challenges: [challenge],
        createdAt: T0,
        updatedAt: T0,
        ...over,
      });
      await store.commit({
        insertCa: [ca, other],
        insertCertificates: [cert],
        acme: {
          insertEabKeys: [
            {
              id: 'eab_1',
              caId: ca.id,
              hmacKey: 'v1.sealed',
              accountId: null,
              createdBy: 'usr_admin',
              createdAt: T0,
              usedAt: null,
            },
            {
              id: 'eab_2',
              caId: other.id,
              hmacKey: 'v1.other',
              accountId: null,
              createdBy: 'usr_admin',
              createdAt: T0 + 1,
              usedAt: null,
            },
          ],
          insertAccounts: [account],
          useEabKeys: [{ id: 'eab_1', accountId: account.id, at: T0 + 2 }],
          insertOrders: [order('ord_1', T0), order('ord_2', T0 + 10)],
          insertAuthorizations: [
            authz('authz_1', 'ord_1'),
            authz('authz_2', 'ord_1', { identifierType: 'ip', identifierValue: '192.0.2.1', status: 'pending' }),
            authz('authz_3', 'ord_2', { expiresAt: T0 - 1 }),
            authz('authz_4', 'ord_2', { wildcard: true }),
          ],
        },
        audit: [makeEvent({ action: 'acme.order_created' })],
      });
      // round trips: JSON columns, numbers, booleans, nulls
      expect(await store.acme.accountById('acct_1')).toEqual(account);
      expect(await store.acme.accountByThumbprint(ca.id, 'tp-1')).toEqual(account);
      expect(await store.acme.accountByThumbprint(other.id, 'tp-1')).toBeUndefined();
      expect(await store.acme.orderById('ord_1')).toEqual(order('ord_1', T0));
      expect(await store.acme.authorizationById('authz_1')).toEqual(authz('authz_1', 'ord_1'));
      expect((await store.acme.authorizationsOfOrder('ord_1')).map((z) => z.id)).toEqual(['authz_1', 'authz_2']);
      expect((await store.acme.listOrders(account.id)).map((o) => o.id)).toEqual(['ord_2', 'ord_1']);
      // keyset: older than ord_2 (creation time), then same time with a smaller id
      const before = (t: number, id: string) => store.acme.listOrders(account.id, 10, { createdAt: t, id });
      expect((await before(T0 + 10, 'ord_2')).map((o) => o.id)).toEqual(['ord_1']);
      expect((await before(T0, 'ord_2')).map((o) => o.id)).toEqual(['ord_1']);
      expect(await before(T0, 'ord_1')).toEqual([]);
      expect(await store.acme.countOrdersSince(account.id, T0 + 1)).toBe(1);
      expect(await store.acme.countOrdersSince(account.id, T0)).toBe(2);
      expect((await store.acme.listAccounts(ca.id)).map((a) => a.id)).toEqual(['acct_1']);
      expect(await store.acme.listAccounts(other.id)).toEqual([]);
      // valid, unexpired authorizations of the account for the identifier (any wildcard flag: the caller filters)
      const valid = await store.acme.validAuthorizations(account.id, 'dns', 'a.example.com', T0);
      expect(valid.map((z) => z.id).sort()).toEqual(['authz_1', 'authz_4']);
      expect(await store.acme.validAuthorizations(account.id, 'ip', '192.0.2.1', T0)).toEqual([]);
      expect(await store.acme.validAuthorizations('acct_x', 'dns', 'a.example.com', T0)).toEqual([]);

      // EAB keys: bound once; listed per CA; deleted
      expect(await store.acme.eabKeyById('eab_1')).toMatchObject({ accountId: account.id, usedAt: T0 + 2 });
      await expectPkiError(
        store.commit({ acme: { useEabKeys: [{ id: 'eab_1', accountId: 'acct_2', at: T0 + 3 }] } }),
        'acme.unauthorized',
      );
      expect((await store.acme.listEabKeys()).map((k) => k.id)).toEqual(['eab_1', 'eab_2']);
      expect((await store.acme.listEabKeys(other.id)).map((k) => k.id)).toEqual(['eab_2']);
      await store.commit({ acme: { deleteEabKeys: ['eab_2'] } });
      expect(await store.acme.eabKeyById('eab_2')).toBeUndefined();

      // the order state machine guard: a transition from a status the order no longer has changes nothing
      await store.commit({
        acme: {
          updateOrders: [{ id: 'ord_1', patch: { status: 'ready', updatedAt: T0 + 20 }, onlyIfStatus: 'pending' }],
        },
      });
      await expectPkiError(
        store.commit({
          acme: {
            updateOrders: [
              { id: 'ord_1', patch: { status: 'processing', updatedAt: T0 + 21 }, onlyIfStatus: 'pending' },
            ],
          },
          audit: [makeEvent({ action: 'acme.order_finalized' })],
        }),
        'acme.order_not_ready',
      );
      expect((await store.acme.orderById('ord_1'))?.status).toBe('ready');
      expect((await store.audit.list({ action: 'acme.order_finalized' })).length).toBe(0);
      await store.commit({
        acme: {
          updateOrders: [{ id: 'ord_1', patch: { status: 'valid', certificateId: cert.id, updatedAt: T0 + 22 } }],
          updateAuthorizations: [
            {
              id: 'authz_2',
              patch: {
                status: 'invalid',
                challenges: [{ ...challenge, status: 'invalid', error: { type: 'urn:x', detail: 'no', status: 403 } }],
              },
            },
          ],
          updateAccounts: [{ id: 'acct_1', patch: { status: 'deactivated', contact: [], updatedAt: T0 + 23 } }],
        },
      });
      expect((await store.acme.orderByCertificateId(cert.id))?.id).toBe('ord_1');
      expect((await store.acme.authorizationById('authz_2'))?.challenges[0]?.error).toEqual({
        type: 'urn:x',
        detail: 'no',
        status: 403,
      });
      expect(await store.acme.accountById('acct_1')).toMatchObject({ status: 'deactivated', contact: [] });

      // nonces: single use, expiry
      await store.acme.putNonce({ id: 'n1', expiresAt: T0 + 1000 });
      await store.acme.putNonce({ id: 'n2', expiresAt: T0 - 1 });
      await store.acme.putNonce({ id: 'n3', expiresAt: T0 + 1 });
      expect(await store.acme.takeNonce('n1', T0)).toBe(true);
      expect(await store.acme.takeNonce('n1', T0)).toBe(false);
      expect(await store.acme.takeNonce('n2', T0)).toBe(false);
      expect(await store.acme.deleteExpiredNonces(T0 + 5)).toBe(1);
      expect(await store.acme.takeNonce('n3', T0)).toBe(false);

      // deleting the CA removes its ACME state (cascade)
      await store.commit({ deleteCas: [other.id] });
      expect(await store.acme.listEabKeys(other.id)).toEqual([]);
    });
  });

  describe('SSH tables', () => {
    it('writes SSH rows with their audit event in one unit, KRL versions only grow, guards revocation', async () => {
      const store = await newStore();
      const env = { id: 'env_1', name: 'prod', description: null, createdAt: T0 };
      const ca = {
        id: 'sca_1',
        name: 'prod-user',
        environmentId: env.id,
        certType: 'user' as const,
        keyUri: 'software:key_1',
        keyType: 'ed25519' as const,
        keyBackend: 'software',
        publicKey: 'ssh-ed25519 AAAA prod-user',
        fingerprint: 'SHA256:x',
        status: 'active' as const,
        maxTtlMs: DAY,
        defaultTtlMs: 3_600_000,
        retiredAt: null,
        createdAt: T0,
        updatedAt: T0,
      };
      const user = { id: 'sus_1', name: 'alice', disabled: false, createdAt: T0 };
      const host = {
        id: 'hst_1',
        environmentId: env.id,
        name: 'web1',
        principals: ['web1.example.com'],
        createdAt: T0,
        updatedAt: T0,
      };
      const cert = {
        id: 'ssc_1',
        caId: ca.id,
        serial: '18446744073709551615',
        keyId: 'alice',
        certType: 'user' as const,
        principals: ['alice'],
        keyFingerprint: 'SHA256:y',
        validAfter: T0,
        validBefore: T0 + DAY,
        criticalOptions: { 'force-command': '/bin/true' },
        extensions: { 'permit-pty': true as const },
        certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA',
        status: 'active' as const,
        revokedAt: null,
        revocationReason: null,
        sshUserId: user.id,
        hostId: null,
        provisioner: 'user:admin',
        issuedBy: 'admin',
        fleetTokenId: 'ftk_1',
        idempotencyKey: 'boot-1',
        createdAt: T0,
      };
      const r1 = await store.commit({
        ssh: {
          insertEnvironments: [env],
          insertCas: [ca],
          insertUsers: [user],
          insertHosts: [host],
          insertPrincipals: [{ id: 'spr_1', name: 'alice', description: null, createdAt: T0 }],
          insertGrants: [{ id: 'grt_1', userId: user.id, principal: 'alice', createdAt: T0 }],
          insertHostAccounts: [{ id: 'hac_1', hostId: host.id, account: 'deploy', principal: 'alice', createdAt: T0 }],
          insertBlocks: [
            { id: 'blk_1', userId: user.id, hostId: null, reason: 'left', createdBy: 'admin', createdAt: T0 },
          ],
          insertCertificates: [cert],
          bumpKrlVersions: { scopes: ['ca:sca_1'], at: T0 },
        },
        audit: [makeEvent()],
      });
      expect(r1.krlVersions).toEqual({ 'ca:sca_1': 1 });
      expect(await store.ssh.caByName('prod-user')).toEqual(ca);
      expect(await store.ssh.certificateBySerial(ca.id, cert.serial)).toEqual(cert);
      expect(await store.ssh.certificateByIdempotencyKey('ftk_1', 'boot-1')).toEqual(cert);
      expect(await store.ssh.grantsOfUser(user.id)).toEqual(['alice']);
      expect((await store.ssh.blocksForHost(host.id)).map((b) => b.id)).toEqual(['blk_1']);
      expect(await store.ssh.countUnexpired(ca.id, T0)).toBe(1);
      const revoke = {
        id: cert.id,
        patch: { status: 'revoked' as const, revokedAt: T0 + 1 },
        onlyIfStatus: 'active' as const,
      };
      const r2 = await store.commit({
        ssh: { updateCertificates: [revoke], bumpKrlVersions: { scopes: ['ca:sca_1', 'host:hst_1'], at: T0 + 1 } },
      });
      expect(r2.krlVersions).toEqual({ 'ca:sca_1': 2, 'host:hst_1': 1 });
      expect((await store.ssh.listRevokedCertificates(ca.id, T0)).map((c) => c.id)).toEqual([cert.id]);
      expect((await store.ssh.krlVersion('ca:sca_1'))?.version).toBe(2);
      // a second revocation changes nothing, not even the KRL version
      await expectPkiError(
        store.commit({ ssh: { updateCertificates: [revoke], bumpKrlVersions: { scopes: ['ca:sca_1'], at: T0 + 2 } } }),
        'ssh.certificate_already_revoked',
      );
      expect((await store.ssh.krlVersion('ca:sca_1'))?.version).toBe(2);
      // the same idempotency key under the same fleet token is refused by the database
      await expect(
        store.commit({ ssh: { insertCertificates: [{ ...cert, id: 'ssc_2', serial: '2' }] } }),
      ).rejects.toBeInstanceOf(PkiError);
    });
  });
}
