export * from './types';
export { createAuthority } from './create-authority';
export { parsePartitionFile, partitionOf, partitionUrls, type CrlPartition } from './url-plan';
export { createLogger } from './logger';
export { LOG_REDACT_PATHS } from './log-redact-paths';
export { resolveDatabaseUrl } from './database-url';
export {
  assertDatabaseExists,
  backupDatabase,
  copyDatabase,
  migrateDatabase,
  restoreDatabase,
  type AuditVerifyResult,
  type DatabaseContents,
} from './database-admin';
export { databaseLocation, sameDatabase } from './database-location';
export { subjectToDn } from './subject-input';
export * from './permissions';
export {
  createAuthService,
  sha256Hex,
  BOOTSTRAP_SETTING,
  BOOTSTRAP_USERNAME,
  TOKEN_PREFIX,
  TOKEN_ROW_MS,
  MIN_PASSWORD_LENGTH,
  LOGIN_THROTTLE_DEFAULTS,
  loginBackoffMs,
  resolveLoginThrottle,
  passwordChangeRequired,
  type AuthServiceDeps,
  type AuthServiceOptions,
  type LoginThrottleOptions,
} from './auth-service';
export {
  hashPassword,
  verifyPassword,
  needsRehash,
  generatePassword,
  DEFAULT_SCRYPT_PARAMS,
  type ScryptParams,
} from './password-hashing';
export { loadCustomProfiles, effectiveProfiles } from './profile-loader';
export {
  PROFILE_KEY,
  PROFILE_RECHECK_MS,
  type ProfileCatalog,
  type ProfileEntry,
  type ProfileSource,
} from './profile-service';
export * from './signing/sign-request';
export * from './signing/provisioner';
export {
  createProvisioner,
  actorProvisioner,
  provisionersFor,
  validateResourceLimits,
} from './signing/provisioner-registry';
export * from './vault';
export * from './ssh/ssh-types';
export {
  normalizeSerial as normalizeSshSerial,
  DEFAULT_ENVIRONMENT as SSH_DEFAULT_ENVIRONMENT,
  FLEET_TOKEN_PREFIX,
} from './ssh/ssh-service';
export * from './spiffe/spiffe-service';
export * from './spiffe/spiffe-id';
export * from './spiffe/spiffe-config';
export * from './acme/acme-service';
export * from './acme/acme-admin-service';
export { acmeValidationConfigFromEnv, type AcmeDirectoryConfig } from './acme/acme-config';
export * from './exports/export-service';
export * from './exports/inventory-report';
export * from './lifecycle/renewal-service';
export * from './lifecycle/bulk-service';
export * from './lifecycle/batch-service';
export * from './lifecycle/bulk-jobs';
export * from './bulk-settings';
export * from './idempotency-service';
export {
  BATCH_RESULT_COLUMNS,
  BULK_CSV_COLUMNS,
  BULK_RESULT_COLUMNS,
  MAX_BULK_ROWS,
  batchResultsCsv,
  bulkResultsCsv,
  parseBulkCsv,
  type BulkCsvRow,
} from './lifecycle/bulk-csv';
export { oidcConfigFromEnv, parseRoleMap, type OidcConfig } from './oidc/oidc-config';
export {
  verifyIdToken,
  mapRole,
  OIDC_TRANSACTION_TTL_MS,
  type OidcService,
  type OidcLoginResult,
  type OidcProviderMetadata,
} from './oidc/oidc-service';
export {
  DEFAULT_DAYS_BEFORE,
  DEFAULT_SECRET_OVERLAP_MS,
  webhookSignature,
  type NotificationService,
  type NotificationRuleInput,
  type NotificationRuleView,
  type NotificationSecretRotation,
  type NotificationDeliveryView,
  type NotificationDeliveryEvent,
  type NotificationRunResult,
} from './notifications/notification-service';
export { notificationSettingsFromEnv, type NotificationSettings } from './notifications/notification-config';
