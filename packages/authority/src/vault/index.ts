export { createVaultService, type VaultService } from './vault-service';
export type { VaultMount, VaultUrlsConfig, VaultCrlConfig, VaultClusterConfig } from './vault-mount-service';
export { crlConfigResponse, DEFAULT_LEASE_TTL } from './vault-mount-service';
export type { VaultResult, TidyStatus } from './vault-pki-service';
export { autoTidyResponse, type AutoTidyConfig, type AutoTidyRun } from './vault-auto-tidy';
export type { VaultAuthResponse } from './vault-auth-service';
export type { VaultRole } from './vault-role';
export {
  parseVaultBool,
  parseVaultDuration,
  parseVaultList,
  parseVaultString,
  formatGoDuration,
  toVaultSerial,
  fromVaultSerial,
} from './vault-params';
export type { VaultSealState } from './vault-seal-service';
