// `pkim keystore …`'s client (its SQLite store through better-sqlite3 and Drizzle, the Vault HTTP client), loaded on
// first use so other commands and `pkim --help` never load it (see authority-runtime.ts).
export {
  createKeystoreCertManager,
  createKeystoreScheduler,
  createVaultClient,
  loadLocalKek,
  openKeystoreStore,
  roleForTemplate,
  roleName,
} from '@pkim/keystore-certs';
