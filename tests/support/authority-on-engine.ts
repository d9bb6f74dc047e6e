// One authority per suite on one database engine: what the read-time status, insights, inventory and
// certificate-reference suites each set up by hand (start the engine, a temp data dir, createAuthority with a clock).
import { afterAll, beforeAll } from 'vitest';
import { createAuthority, type Authority, type AuthorityConfig } from '@pkim/authority';
import type { Engine, EngineHandle } from './engines';
import { tempDir } from './openssl-tools';
import { silentLogger } from './test-kit';

export interface AuthorityOnEngine {
  /** the authority (read it inside hooks and tests: it is opened by beforeAll) */
  readonly authority: Authority;
  /** its data directory (keys, and the SQLite file on SQLite) */
  readonly dataDir: string;
}

/**
 * Registers a beforeAll that opens an authority on a fresh database of `engine` (SQLite in a temporary data directory,
 * or a new database of a PostgreSQL started for the suite), with a silent logger and `config` (a clock …), and an
 * afterAll that closes it, stops the engine and removes the directory. Call it first in the describe block: the
 * suite's own beforeAll (which seeds CAs and certificates) then runs after it.
 */
export function authorityOnEngine(engine: Engine, config: Partial<AuthorityConfig> = {}): AuthorityOnEngine {
  let handle: EngineHandle | undefined;
  let tmp: ReturnType<typeof tempDir> | undefined;
  let authority: Authority | undefined;
  beforeAll(async () => {
    handle = await engine.start();
    tmp = tempDir();
    authority = await createAuthority({
      dataDir: tmp.dir,
      databaseUrl: await handle.fresh(),
      logger: silentLogger,
      ...config,
    });
  });
  afterAll(async () => {
    await authority?.close();
    await handle?.stop();
    tmp?.cleanup();
  });
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('authorityOnEngine: read the authority inside hooks and tests');
    return value;
  };
  return {
    get authority() {
      return opened(authority);
    },
    get dataDir() {
      return opened(tmp).dir;
    },
  };
}
