import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { integer, sqliteTable, text, uniqueIndex, index } from 'drizzle-orm/sqlite-core';
import { GENESIS_HASH, computeAuditHash, newId } from '@pkim/shared';

/** A tenant's connection to an external keystore (HSM/KMS) that authenticates with a client certificate. */
export const connections = sqliteTable(
  'keystore_connections',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    keystoreType: text('keystore_type').notNull(),
    /** JSON array of `host:port` */
    endpoints: text('endpoints').notNull(),
    /** PEM bundle the handshake trusts for the keystore's server certificate (null: system roots) */
    serverCaPem: text('server_ca_pem'),
    serverName: text('server_name'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('keystore_connections_tenant_type').on(t.tenantId, t.keystoreType)],
);

export type CertificateStatus = 'pending' | 'active' | 'rotating' | 'failed' | 'revoked';

/** Client certificates of a connection: at most one `active`, older ones `rotating` during their grace period. */
export const certificates = sqliteTable(
  'keystore_certificates',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    tenantId: text('tenant_id').notNull(),
    keystoreType: text('keystore_type').notNull(),
    status: text('status').$type<CertificateStatus>().notNull(),
    /** Vault form: lowercase colon hex */
    serialNumber: text('serial_number').notNull(),
    certificatePem: text('certificate_pem').notNull(),
    issuingCaPem: text('issuing_ca_pem').notNull(),
    /** JSON array of PEMs, issuing CA first */
    caChain: text('ca_chain').notNull(),
    privateKeyType: text('private_key_type').notNull(),
    /** AES-256-GCM under the tenant key (base64 v1‖iv‖tag‖ciphertext); null once wiped */
    encryptedPrivateKey: text('encrypted_private_key'),
    notBefore: integer('not_before').notNull(),
    notAfter: integer('not_after').notNull(),
    /** when the scheduler renews it (notAfter − renewBefore) */
    renewAt: integer('renew_at').notNull(),
    /** rotating: when it is revoked; failed: when the row goes; pending: when it counts as abandoned */
    dueAt: integer('due_at'),
    error: text('error'),
    createdAt: integer('created_at').notNull(),
    activatedAt: integer('activated_at'),
    revokedAt: integer('revoked_at'),
  },
  (t) => [
    index('keystore_certificates_connection').on(t.connectionId),
    index('keystore_certificates_due').on(t.status),
  ],
);

/** A tenant's data-encryption key, wrapped by the key-encryption key (envelope encryption). */
export const tenantKeys = sqliteTable('keystore_tenant_keys', {
  tenantId: text('tenant_id').primaryKey(),
  kekId: text('kek_id').notNull(),
  wrappedKey: text('wrapped_key').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Custom certificate templates (built-in ones are in code; a row overrides one of the same type). */
export const templates = sqliteTable('keystore_templates', {
  keystoreType: text('keystore_type').primaryKey(),
  template: text('template').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

/** Hash-chained audit trail of the lifecycle (hash = SHA-256(prev ‖ canonical event), as PKI Manager's own). */
export const events = sqliteTable('keystore_events', {
  seq: integer('seq').primaryKey(),
  id: text('id').notNull(),
  time: integer('time').notNull(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  target: text('target'),
  outcome: text('outcome').$type<'success' | 'failure'>().notNull(),
  details: text('details').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});

const schema = { connections, certificates, tenantKeys, templates, events };

export type ConnectionRow = typeof connections.$inferSelect;
export type CertificateRow = typeof certificates.$inferSelect;
export type TenantKeyRow = typeof tenantKeys.$inferSelect;
export type EventRow = typeof events.$inferSelect;

export interface NewEvent {
  time: number;
  actor: string;
  action: string;
  target: string | null;
  outcome?: 'success' | 'failure';
  details?: Record<string, unknown>;
}

/** Version 1 of the schema, applied on open (idempotent). */
const MIGRATION_1 = `
CREATE TABLE IF NOT EXISTS keystore_connections (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, keystore_type TEXT NOT NULL, endpoints TEXT NOT NULL,
  server_ca_pem TEXT, server_name TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS keystore_connections_tenant_type ON keystore_connections (tenant_id, keystore_type);
CREATE TABLE IF NOT EXISTS keystore_certificates (
  id TEXT PRIMARY KEY, connection_id TEXT NOT NULL, tenant_id TEXT NOT NULL, keystore_type TEXT NOT NULL,
  status TEXT NOT NULL, serial_number TEXT NOT NULL, certificate_pem TEXT NOT NULL, issuing_ca_pem TEXT NOT NULL,
  ca_chain TEXT NOT NULL, private_key_type TEXT NOT NULL, encrypted_private_key TEXT, not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL, renew_at INTEGER NOT NULL, due_at INTEGER, error TEXT, created_at INTEGER NOT NULL,
  activated_at INTEGER, revoked_at INTEGER);
CREATE INDEX IF NOT EXISTS keystore_certificates_connection ON keystore_certificates (connection_id);
CREATE INDEX IF NOT EXISTS keystore_certificates_due ON keystore_certificates (status);
CREATE TABLE IF NOT EXISTS keystore_tenant_keys (
  tenant_id TEXT PRIMARY KEY, kek_id TEXT NOT NULL, wrapped_key TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS keystore_templates (
  keystore_type TEXT PRIMARY KEY, template TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS keystore_events (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL, time INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT, outcome TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
`;

/** Writes of one lifecycle step, committed with their audit events in ONE synchronous transaction. */
export interface KeystoreUnit {
  insertConnection?: typeof connections.$inferInsert;
  deleteConnection?: string;
  insertCertificate?: typeof certificates.$inferInsert;
  updateCertificates?: { id: string; onlyIfStatus?: CertificateStatus; patch: Partial<CertificateRow> }[];
  deleteCertificates?: string[];
  putTenantKey?: TenantKeyRow;
  deleteTenantKey?: string;
  putTemplate?: { keystoreType: string; template: string; updatedAt: number };
  deleteTemplate?: string;
  events?: NewEvent[];
}

/**
 * The lifecycle's own state (SQLite via Drizzle): connections, certificates with encrypted private keys, wrapped
 * tenant keys, custom templates and a hash-chained event log. Kept apart from PKI Manager's database on purpose:
 * the lifecycle is a client of a Vault-compatible API (PKI Manager or OpenBao) and runs where the keystores are used.
 */
export function openKeystoreStore(path: string) {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  // deleted rows (wiped keys, wrapped tenant keys) are overwritten with zeros in the database file
  sqlite.pragma('secure_delete = ON');
  sqlite.exec(MIGRATION_1);
  const db: BetterSQLite3Database<typeof schema> = drizzle(sqlite, { schema });

  function commit(unit: KeystoreUnit): void {
    db.transaction((tx) => {
      if (unit.insertConnection) tx.insert(connections).values(unit.insertConnection).run();
      if (unit.insertCertificate) tx.insert(certificates).values(unit.insertCertificate).run();
      for (const u of unit.updateCertificates ?? []) {
        const where = u.onlyIfStatus
          ? and(eq(certificates.id, u.id), eq(certificates.status, u.onlyIfStatus))
          : eq(certificates.id, u.id);
        const r = tx.update(certificates).set(u.patch).where(where).run();
        if (r.changes !== 1) throw new Error(`keystore certificate ${u.id} changed concurrently`);
      }
      if (unit.deleteCertificates?.length) {
        // overwrite the ciphertext before the row goes (no stale copy left in freed pages with secure_delete)
        tx.update(certificates)
          .set({ encryptedPrivateKey: null })
          .where(inArray(certificates.id, unit.deleteCertificates))
          .run();
        tx.delete(certificates).where(inArray(certificates.id, unit.deleteCertificates)).run();
      }
      if (unit.deleteConnection) tx.delete(connections).where(eq(connections.id, unit.deleteConnection)).run();
      if (unit.putTenantKey) {
        tx.insert(tenantKeys)
          .values(unit.putTenantKey)
          .onConflictDoUpdate({
            target: tenantKeys.tenantId,
            set: { kekId: unit.putTenantKey.kekId, wrappedKey: unit.putTenantKey.wrappedKey },
          })
          .run();
      }
      if (unit.deleteTenantKey) {
        tx.update(tenantKeys).set({ wrappedKey: '' }).where(eq(tenantKeys.tenantId, unit.deleteTenantKey)).run();
        tx.delete(tenantKeys).where(eq(tenantKeys.tenantId, unit.deleteTenantKey)).run();
      }
      if (unit.putTemplate) {
        tx.insert(templates)
          .values(unit.putTemplate)
          .onConflictDoUpdate({
            target: templates.keystoreType,
            set: { template: unit.putTemplate.template, updatedAt: unit.putTemplate.updatedAt },
          })
          .run();
      }
      if (unit.deleteTemplate) tx.delete(templates).where(eq(templates.keystoreType, unit.deleteTemplate)).run();
      if (unit.events?.length) {
        const last = tx
          .select()
          .from(events)
          .orderBy(sql`${events.seq} desc`)
          .limit(1)
          .get();
        let seq = last?.seq ?? 0;
        let prev = last?.hash ?? GENESIS_HASH;
        for (const e of unit.events) {
          seq += 1;
          const content = {
            seq,
            id: newId('evt'),
            time: e.time,
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome ?? ('success' as const),
            details: e.details ?? {},
          };
          const hash = computeAuditHash(prev, content);
          tx.insert(events)
            .values({ ...content, details: JSON.stringify(content.details), prevHash: prev, hash })
            .run();
          prev = hash;
        }
      }
    });
  }

  return {
    path,
    commit,
    connection(tenantId: string, keystoreType: string): ConnectionRow | undefined {
      return db
        .select()
        .from(connections)
        .where(and(eq(connections.tenantId, tenantId), eq(connections.keystoreType, keystoreType)))
        .get();
    },
    connectionsOf(tenantId: string): ConnectionRow[] {
      return db.select().from(connections).where(eq(connections.tenantId, tenantId)).all();
    },
    listConnections(): ConnectionRow[] {
      return db.select().from(connections).orderBy(asc(connections.tenantId), asc(connections.keystoreType)).all();
    },
    certificate(id: string): CertificateRow | undefined {
      return db.select().from(certificates).where(eq(certificates.id, id)).get();
    },
    certificatesOf(connectionId: string): CertificateRow[] {
      return db
        .select()
        .from(certificates)
        .where(eq(certificates.connectionId, connectionId))
        .orderBy(asc(certificates.createdAt))
        .all();
    },
    /** active certificates whose renewal time has come */
    dueForRenewal(now: number): CertificateRow[] {
      return db
        .select()
        .from(certificates)
        .where(and(eq(certificates.status, 'active'), lte(certificates.renewAt, now)))
        .all();
    },
    /** certificates in a timed state (rotating: grace over; failed: row removal; pending: abandoned) */
    due(status: 'rotating' | 'failed' | 'pending', now: number): CertificateRow[] {
      return db
        .select()
        .from(certificates)
        .where(and(eq(certificates.status, status), lte(certificates.dueAt, now)))
        .all();
    },
    tenantKey(tenantId: string): TenantKeyRow | undefined {
      return db.select().from(tenantKeys).where(eq(tenantKeys.tenantId, tenantId)).get();
    },
    template(keystoreType: string): string | undefined {
      return db.select().from(templates).where(eq(templates.keystoreType, keystoreType)).get()?.template;
    },
    listTemplates(): { keystoreType: string; template: string }[] {
      return db.select().from(templates).orderBy(asc(templates.keystoreType)).all();
    },
    events(limit = 100): EventRow[] {
      return db
        .select()
        .from(events)
        .orderBy(sql`${events.seq} desc`)
        .limit(limit)
        .all()
        .reverse();
    },
    /** walks the event chain; the first broken link, if any */
    verifyEvents(): { ok: boolean; count: number; brokenAt?: number } {
      let prev = GENESIS_HASH;
      let count = 0;
      for (const e of db.select().from(events).orderBy(asc(events.seq)).all()) {
        const details = JSON.parse(e.details) as Record<string, unknown>;
        const hash = computeAuditHash(prev, { ...e, details });
        if (e.prevHash !== prev || e.hash !== hash) return { ok: false, count, brokenAt: e.seq };
        prev = e.hash;
        count += 1;
      }
      return { ok: true, count };
    },
    /** after key material was wiped: move the WAL into the database and truncate it, so no old frame keeps it */
    purgeWal(): void {
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
    },
    close(): void {
      sqlite.close();
    },
  };
}

export type KeystoreStore = ReturnType<typeof openKeystoreStore>;
