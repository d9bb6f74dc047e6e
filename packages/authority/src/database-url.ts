import { join, resolve } from 'node:path';
import type { AuthorityConfig } from './types';

/** The database of a configuration: `databaseUrl` when given, else `<dataDir>/pkim.db` (SQLite). */
export function resolveDatabaseUrl(config: Pick<AuthorityConfig, 'dataDir' | 'databaseUrl'>): string {
  if (config.databaseUrl) return config.databaseUrl;
  return join(resolve(config.dataDir), 'pkim.db');
}
