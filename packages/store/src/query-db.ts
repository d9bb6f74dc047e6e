/**
 * The dialect-neutral view of a Drizzle database used by the shared repository and
 * unit-of-work code. Drizzle's SQLite and PostgreSQL query builders expose the same surface for
 * everything used here (select/insert/update/delete, where/orderBy/limit, returning,
 * onConflictDoUpdate, awaiting a builder runs it), and both schema files have identical keys, so
 * the code is typed against the SQLite flavour and the PostgreSQL store passes its database and
 * schema through `asQueryDb`. The shared test suite runs every repository method on both engines.
 *
 * Differences handled explicitly: the result of a write (`RunResult.changes` on better-sqlite3,
 * `QueryResult.rowCount` on node-postgres) → `affectedRows`; synchronous execution inside a
 * better-sqlite3 transaction → `SqlStep` run by each dialect's executor.
 */
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type * as sqliteSchema from './sqlite-schema';
import type { StoreTableName } from './types';

export type Tables = typeof sqliteSchema;
export type QueryDb = BetterSQLite3Database;

export function asQueryDb(db: unknown, tables: unknown): { db: QueryDb; t: Tables } {
  return { db: db as QueryDb, t: tables as Tables };
}

/** Rows changed by an awaited write builder, on either driver. */
export function affectedRows(result: unknown): number {
  const r = result as { changes?: number; rowCount?: number | null };
  return Number(r.changes ?? r.rowCount ?? 0);
}

/** Table objects by SQL name, with the key column used for paging raw rows. */
export function tableByName(t: Tables, name: StoreTableName) {
  switch (name) {
    case 'certificate_authorities':
      return { table: t.certificateAuthorities, key: t.certificateAuthorities.id };
    case 'users':
      return { table: t.users, key: t.users.id };
    case 'certificates':
      return { table: t.certificates, key: t.certificates.id };
    case 'certificate_requests':
      return { table: t.certificateRequests, key: t.certificateRequests.id };
    case 'api_tokens':
      return { table: t.apiTokens, key: t.apiTokens.id };
    case 'sessions':
      return { table: t.sessions, key: t.sessions.id };
    case 'settings':
      return { table: t.settings, key: t.settings.key };
    case 'key_blobs':
      return { table: t.keyBlobs, key: t.keyBlobs.id };
    case 'certificate_keys':
      return { table: t.certificateKeys, key: t.certificateKeys.certificateId };
    case 'spiffe_cas':
      return { table: t.spiffeCas, key: t.spiffeCas.id };
    case 'spiffe_svids':
      return { table: t.spiffeSvids, key: t.spiffeSvids.id };
    case 'spiffe_denied_ids':
      return { table: t.spiffeDeniedIds, key: t.spiffeDeniedIds.id };
    case 'audit_events':
      return { table: t.auditEvents, key: t.auditEvents.seq };
    case 'ssh_environments':
      return { table: t.sshEnvironments, key: t.sshEnvironments.id };
    case 'ssh_cas':
      return { table: t.sshCas, key: t.sshCas.id };
    case 'ssh_users':
      return { table: t.sshUsers, key: t.sshUsers.id };
    case 'ssh_hosts':
      return { table: t.sshHosts, key: t.sshHosts.id };
    case 'ssh_principals':
      return { table: t.sshPrincipals, key: t.sshPrincipals.id };
    case 'ssh_principal_grants':
      return { table: t.sshPrincipalGrants, key: t.sshPrincipalGrants.id };
    case 'ssh_host_accounts':
      return { table: t.sshHostAccounts, key: t.sshHostAccounts.id };
    case 'ssh_blocks':
      return { table: t.sshBlocks, key: t.sshBlocks.id };
    case 'ssh_fleet_tokens':
      return { table: t.sshFleetTokens, key: t.sshFleetTokens.id };
    case 'ssh_certificates':
      return { table: t.sshCertificates, key: t.sshCertificates.id };
    case 'ssh_krl_versions':
      return { table: t.sshKrlVersions, key: t.sshKrlVersions.scope };
    case 'acme_accounts':
      return { table: t.acmeAccounts, key: t.acmeAccounts.id };
    case 'acme_orders':
      return { table: t.acmeOrders, key: t.acmeOrders.id };
    case 'acme_authorizations':
      return { table: t.acmeAuthorizations, key: t.acmeAuthorizations.id };
    case 'acme_eab_keys':
      return { table: t.acmeEabKeys, key: t.acmeEabKeys.id };
    case 'acme_nonces':
      return { table: t.acmeNonces, key: t.acmeNonces.id };
    case 'user_identities':
      return { table: t.userIdentities, key: t.userIdentities.id };
    case 'notification_rules':
      return { table: t.notificationRules, key: t.notificationRules.id };
    case 'notification_deliveries':
      return { table: t.notificationDeliveries, key: t.notificationDeliveries.id };
    default: {
      const never: never = name;
      throw new Error(`unknown table ${String(never)}`);
    }
  }
}

/** Every table, in foreign-key-safe insertion order (parents first, audit last). */
export const STORE_TABLES: readonly StoreTableName[] = [
  'certificate_authorities',
  'users',
  'certificates',
  'certificate_requests',
  'api_tokens',
  'sessions',
  'settings',
  'key_blobs',
  'certificate_keys',
  'spiffe_cas',
  'spiffe_svids',
  'spiffe_denied_ids',
  'ssh_environments',
  'ssh_cas',
  'ssh_users',
  'ssh_hosts',
  'ssh_principals',
  'ssh_principal_grants',
  'ssh_host_accounts',
  'ssh_blocks',
  'ssh_fleet_tokens',
  'ssh_certificates',
  'ssh_krl_versions',
  'acme_accounts',
  'acme_orders',
  'acme_authorizations',
  'acme_eab_keys',
  'acme_nonces',
  'user_identities',
  'notification_rules',
  'notification_deliveries',
  'audit_events',
];
