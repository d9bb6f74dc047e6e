import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PkiError } from '@pkim/shared';

/**
 * Finds a PostgreSQL client/server binary: the newest `/usr/lib/postgresql/<ver>/bin` (Debian's
 * `postgresql` package), then PATH. Throws a clear error naming the package to install.
 */
export function findPgBinary(name: string, path = ''): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new PkiError(
    'store.unavailable',
    `PostgreSQL binary '${name}' not found in /usr/lib/postgresql/*/bin or PATH: install the Debian ` +
      `'postgresql' (server) or 'postgresql-client' package, e.g. scripts/install-test-peers.sh`,
  );
}

/**
 * Connection for pg_dump/pg_restore without the password on the command line (where `ps` shows
 * it): the URL without password plus PGPASSWORD in the child's environment (`env`: the environment the app's
 * config module passed down, default none).
 */
export function pgToolConnection(
  connectionString: string,
  env: Record<string, string | undefined> = {},
): { dbArg: string; env: Record<string, string | undefined> } {
  const url = new URL(connectionString);
  const password = decodeURIComponent(url.password);
  url.password = '';
  return { dbArg: url.toString(), env: password ? { ...env, PGPASSWORD: password } : { ...env } };
}
