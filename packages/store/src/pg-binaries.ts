import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PkiError } from '@pkim/shared';

/**
 * Finds a PostgreSQL client/server binary: the newest `/usr/lib/postgresql/<ver>/bin` (Debian's
 * `postgresql` package), then PATH. Throws a clear error naming the package to install.
 */
export function findPgBinary(name: string): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new PkiError('store.unavailable', `PostgreSQL binary '${name}' not found in /usr/lib/postgresql/*/bin or PATH: install the Debian 'postgresql' (server) or 'postgresql-client' package, e.g. scripts/install-test-peers.sh`);
}
