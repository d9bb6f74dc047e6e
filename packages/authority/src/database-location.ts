import { resolve } from 'node:path';
import { parseStoreUrl } from '@pkim/store';

// Pure helpers over database URLs (no driver is loaded): the CLI imports them at start-up, the rest of the
// database-admin facade (database-admin.ts) loads on demand.

/** `{ dialect, path }` of a database URL (SQLite path or `postgres://…`), without opening it. */
export function databaseLocation(url: string): { dialect: 'sqlite' | 'postgres'; path: string | null } {
  const parsed = parseStoreUrl(url);
  return parsed.dialect === 'sqlite'
    ? { dialect: 'sqlite', path: parsed.path === ':memory:' ? ':memory:' : resolve(parsed.path) }
    : { dialect: 'postgres', path: null };
}

/** true when two URLs name the same database */
export function sameDatabase(a: string, b: string): boolean {
  const x = parseStoreUrl(a);
  const y = parseStoreUrl(b);
  if (x.dialect === 'sqlite' && y.dialect === 'sqlite') return resolve(x.path) === resolve(y.path);
  return x.dialect === 'postgres' && y.dialect === 'postgres' && x.connectionString === y.connectionString;
}
