// The store's drivers (better-sqlite3, Drizzle, pg), loaded on first use by `pkim db …`, `backup` and `restore`
// (see authority-runtime.ts for why this is a module of its own).
export { copyStore, migrateStore, openStore, restoreStore } from '@pkim/store';
