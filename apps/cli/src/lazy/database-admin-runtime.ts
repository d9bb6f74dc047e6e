// The authority's database-administration facade (and with it the store's drivers: better-sqlite3, Drizzle, pg),
// loaded on first use by `pkim db …`, `backup` and `restore` (see authority-runtime.ts for why this is a module of
// its own). The CLI never imports @pkim/store (tests/architecture.test.ts).
export { copyDatabase, backupDatabase, databaseLocation, migrateDatabase, restoreDatabase } from '@pkim/authority';
