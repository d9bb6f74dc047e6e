import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTableConfig as pgConfig, type PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import { SQL, StringChunk } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import * as pgSchema from '../src/pg-schema';
import * as sqliteSchema from '../src/sqlite-schema';
import { STORE_TABLES } from '../src/index';
import { SQLITE_WITHOUT_ROWID } from './sqlite-without-rowid';

/** a WITHOUT ROWID table's primary key, described as the PostgreSQL index it stands for (sqlite-without-rowid.ts) */
function withoutRowidKey(c: ReturnType<typeof sqliteConfig>): IndexDescription[] {
  const standsFor = SQLITE_WITHOUT_ROWID[c.name]?.primaryKeyStandsFor;
  if (!standsFor) return [];
  expect(c.primaryKeys, `${c.name}: a WITHOUT ROWID table needs its primary key declared`).toHaveLength(1);
  return [{ name: standsFor, unique: false, on: c.primaryKeys[0]!.columns.map((x) => x.name) }];
}

/** What either dialect's getTableConfig gives that the parity check compares. */
interface TableShape {
  name: string;
  columns: { name: string; notNull: boolean; primary: boolean }[];
  indexes: { config: { name?: string; unique: boolean; columns: unknown[] } }[];
  foreignKeys: { reference(): { columns: { name: string }[] } }[];
}
interface IndexDescription {
  name: string;
  unique: boolean;
  on: string[];
}

/** an index's column by name, an expression index's as its text with the column's name ('substr(x, 1, 16)', 0047) */
function indexColumn(x: unknown): string {
  if (!(x instanceof SQL)) return (x as { name: string }).name;
  return x.queryChunks
    .map((ch) => (ch instanceof StringChunk ? ch.value.join('') : (ch as { name: string }).name))
    .join('');
}

/** One table as both dialects are compared: columns, indexes (plus `extraIndexes`) and foreign keys, sorted. */
function describeTable(c: TableShape, extraIndexes: IndexDescription[] = []) {
  return {
    columns: c.columns
      .map((col) => ({ name: col.name, notNull: col.notNull, primary: col.primary }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    indexes: c.indexes
      .map((i) => ({
        name: i.config.name!,
        unique: i.config.unique,
        on: i.config.columns.map(indexColumn),
      }))
      .concat(extraIndexes)
      .sort((a, b) => a.name.localeCompare(b.name)),
    foreignKeys: c.foreignKeys
      .map((f) =>
        f
          .reference()
          .columns.map((x) => x.name)
          .join(','),
      )
      .sort(),
  };
}

function describeSqlite() {
  return Object.fromEntries(
    Object.values(sqliteSchema).map((t) => {
      const c = sqliteConfig(t as SQLiteTable);
      return [c.name, describeTable(c, withoutRowidKey(c))];
    }),
  );
}

function describePg() {
  return Object.fromEntries(
    Object.values(pgSchema).map((t) => {
      const c = pgConfig(t as PgTable);
      return [c.name, describeTable(c)];
    }),
  );
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Indexes one engine has instead of the other's, on purpose: PostgreSQL's search terms are a heap, SQLite's a WITHOUT
 * ROWID key (name, created_at, certificate_id) whose certificate_id index holds that key too. PostgreSQL reads a
 * certificate's terms — and a dense search's walk — from (created_at, certificate_id, name) instead (migration 0033).
 */
const ENGINE_INDEXES: { table: string; sqlite?: IndexDescription; pg?: IndexDescription }[] = [
  {
    table: 'certificate_names',
    sqlite: { name: 'certificate_names_certificate_idx', unique: false, on: ['certificate_id'] },
    pg: { name: 'certificate_names_created_idx', unique: false, on: ['created_at', 'certificate_id', 'name'] },
  },
  // (0049) audit.namedActors walks the names in code point order: SQLite's BINARY is users_username_uq's order,
  // PostgreSQL's default collation is not (the "C" indexes)
  {
    table: 'users',
    pg: { name: 'users_username_c_idx', unique: false, on: ['username collate "C"', 'id collate "C"'] },
  },
  {
    table: 'api_tokens',
    sqlite: { name: 'api_tokens_name_idx', unique: false, on: ['name', 'id'] },
    pg: { name: 'api_tokens_name_c_idx', unique: false, on: ['name collate "C"', 'id collate "C"'] },
  },
];

/**
 * Foreign keys only SQLite declares: on PostgreSQL a certificate's CA is checked by its counter's foreign key
 * (certificate_counts.ca_id, once per key and statement), a CA's deletion cascades by the trigger
 * `certificate_authorities_delete_certificates` (migration 0040: the foreign key's check was a query per row of the
 * batch statement); SQLite's check is an index probe in the same transaction.
 */
const SQLITE_ONLY_FOREIGN_KEYS = [{ table: 'certificates', columns: 'ca_id' }];

/** the tables without the indexes of ENGINE_INDEXES and the foreign keys of SQLITE_ONLY_FOREIGN_KEYS (checked there) */
function withoutEngineIndexes(tables: ReturnType<typeof describePg>, engine: 'sqlite' | 'pg') {
  for (const e of ENGINE_INDEXES) {
    const t = tables[e.table]!;
    const own = e[engine];
    if (!own) continue;
    expect(t.indexes).toContainEqual(own);
    t.indexes = t.indexes.filter((i) => i.name !== own.name);
  }
  for (const f of SQLITE_ONLY_FOREIGN_KEYS) {
    const t = tables[f.table]!;
    if (engine === 'sqlite') expect(t.foreignKeys).toContain(f.columns);
    else expect(t.foreignKeys).not.toContain(f.columns);
    t.foreignKeys = t.foreignKeys.filter((k) => k !== f.columns);
  }
  return tables;
}

describe('store schema', () => {
  it('describes the same tables, columns, indexes and foreign keys for SQLite and PostgreSQL', () => {
    const s = describeSqlite();
    const p = describePg();
    // every table is copied by copyStore, except the derived counters and search terms (written by the target
    // as it imports certificates), the ephemeral login-throttle counters, bulk API jobs and the pre-signed OCSP
    // responses, the delta CRL bases and deltas and the claims to sign them (the target signs its own)
    const notCopied = ['certificate_counts', 'certificate_names', 'login_failures', 'bulk_jobs', 'bulk_job_files'];
    notCopied.push('ocsp_responses', 'idempotency_keys', 'crl_delta_bases', 'crl_delta_base_claims');
    notCopied.push('crl_deltas', 'crl_delta_claims');
    expect(Object.keys(s).sort()).toEqual([...STORE_TABLES, ...notCopied].sort());
    expect(withoutEngineIndexes(p, 'pg')).toEqual(withoutEngineIndexes(s, 'sqlite'));
    expect(Object.keys(sqliteSchema).sort()).toEqual(Object.keys(pgSchema).sort());
  });

  it('creates the WITHOUT ROWID tables of SQLite by hand in the migration named for them', () => {
    const folder = fileURLToPath(new URL('../migrations/sqlite', import.meta.url));
    for (const [table, { migration }] of Object.entries(SQLITE_WITHOUT_ROWID)) {
      const text = readFileSync(join(folder, migration), 'utf8');
      expect(text).toMatch(new RegExp(`CREATE TABLE \`__new_${table}\` \\([^;]*\\) WITHOUT ROWID;`));
      expect(text).toMatch(new RegExp(`ALTER TABLE \`__new_${table}\` RENAME TO \`${table}\`;`));
    }
  });

  it('has the indexes the service queries need on certificates, requests and audit events', () => {
    const s = describeSqlite();
    const on = (table: string) => s[table]!.indexes.map((i) => `${i.unique ? 'unique ' : ''}${i.on.join(',')}`);
    expect(on('certificates')).toEqual(
      expect.arrayContaining([
        'unique ca_id,serial_hex',
        // (0047) the fingerprint's first 16 hex characters
        'substr(fingerprint_sha256, 1, 16)',
        // (0035: the id too — the expiry sort's pages per status, in order)
        'status,not_after,id',
        'status,created_at,id',
        'ca_id,created_at,id',
        'created_at,id',
      ]),
    );
    // each index costs a page write per insert: serial lookups across CAs probe (ca_id, serial_hex) once per CA,
    // counts come from certificate_counts, and no query read (ca_id, status) or an audit event by id (0034)
    expect(on('certificates')).not.toContain('serial_hex');
    expect(on('certificates')).not.toContain('ca_id,profile,status');
    expect(on('certificates')).not.toContain('ca_id,status');
    expect(on('audit_events')).toEqual(['action,seq', 'actor,seq', 'target,seq']);
    expect(s.certificate_counts!.columns.map((c) => c.name)).toEqual(['ca_id', 'count', 'profile', 'status']);
    // (a requester's own certificates: from their requests by requester, then each certificate by id — by expiry
    // from their issued requests' certificate_not_after, 0038)
    expect(on('certificate_requests').sort()).toEqual([
      'created_at,id',
      'requester,certificate_not_after,certificate_id',
      'requester,created_at,id',
      'status,created_at,id',
    ]);
    expect(s.audit_events!.columns.find((c) => c.name === 'seq')?.primary).toBe(true);
  });

  it.each([
    { dialect: 'sqlite', kitDialect: 'sqlite', schema: './src/sqlite-schema.ts' },
    { dialect: 'pg', kitDialect: 'postgresql', schema: './src/pg-schema.ts' },
  ])(
    'has committed $dialect migrations that match the schema file (drizzle-kit generate finds no changes)',
    ({ dialect, kitDialect, schema }) => {
      const folder = fileURLToPath(new URL(`../migrations/${dialect}`, import.meta.url));
      const sqlFiles = readdirSync(folder).filter((f) => f.endsWith('.sql'));
      const all = sqlFiles.map((f) => readFileSync(join(folder, f), 'utf8')).join('\n');
      for (const table of STORE_TABLES) expect(all).toMatch(new RegExp(`CREATE TABLE [\`"]${table}[\`"]`));

      // Generate into a scratch copy: any schema drift shows up as a new migration file there.
      const scratch = mkdtempSync(join(tmpdir(), 'pkim-drift-'));
      try {
        cpSync(folder, join(scratch, dialect), { recursive: true });
        const out = execFileSync(
          'npx',
          [
            'drizzle-kit',
            'generate',
            '--dialect',
            kitDialect,
            '--schema',
            schema,
            '--out',
            relative(packageDir, join(scratch, dialect)),
          ],
          {
            cwd: packageDir,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        expect(out).toMatch(/No schema changes/);
        expect(
          readdirSync(join(scratch, dialect))
            .filter((f) => f.endsWith('.sql'))
            .sort(),
        ).toEqual(sqlFiles.sort());
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  );
});
