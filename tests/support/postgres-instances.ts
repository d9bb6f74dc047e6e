// Several pkim instances on one PostgreSQL database, in one test process: each an authority with its own data directory
// (as separate hosts have) and the suite's master key, on a database of a real cluster started for the suite. What the
// two-instance suites (Vault mounts, the issuing CA, revocations, notifications, bulk jobs, background jobs, OCSP) each
// set up by hand before.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createAuthority, type Authority, type AuthorityConfig } from '@pkim/authority';
import { tempDir } from './openssl-tools';
import { startPostgres, type TestPostgres } from './postgres';
import { silentLogger } from './test-kit';

export interface PostgresInstances {
  /** the suite's cluster (read it inside hooks and tests: it is started by beforeAll) */
  readonly cluster: TestPostgres;
  /** the master key every instance of the suite is opened with (PKIM_MASTER_KEY of a `pkim serve` on the same data) */
  readonly masterKey: string;
  /** a fresh, empty database of the cluster: its URL */
  database(name?: string): Promise<string>;
  /** a new, empty data directory (removed by afterAll), e.g. for a `pkim serve` child on the same database */
  dataDir(): string;
  /** an authority on `databaseUrl` with a data directory of its own; closed by afterAll unless closed by `close` */
  open(databaseUrl: string, config?: Partial<AuthorityConfig>): Promise<Authority>;
  /**
   * a fresh database and two authorities on it, opened at once (as two hosts start); `config` is applied to both, or
   * called with 0 and 1 for each its own (a clock each …)
   */
  two(config?: Partial<AuthorityConfig> | ((i: 0 | 1) => Partial<AuthorityConfig>)): Promise<[Authority, Authority]>;
  /** closes an instance before the suite ends (a stopped host); afterAll closes the others */
  close(authority: Authority): Promise<void>;
}

/**
 * Registers a beforeAll that starts a throw-away PostgreSQL cluster for the suite and an afterAll that closes every
 * instance still open, stops the cluster and removes the data directories. Call it at the top of the file or first in
 * the describe block: the suite's own afterAll hooks (closing servers …) then run before it.
 */
export function postgresInstances(): PostgresInstances {
  let cluster: TestPostgres | undefined;
  const tmp = tempDir('pkim-pg-instances-');
  const masterKey = randomBytes(32).toString('base64');
  const open = new Set<Authority>();
  let dirs = 0;
  const dataDir = () => {
    const dir = join(tmp.dir, `instance-${++dirs}`);
    mkdirSync(dir);
    return dir;
  };
  const started = (): TestPostgres => {
    if (!cluster) throw new Error('postgresInstances: use it inside hooks and tests');
    return cluster;
  };

  beforeAll(async () => {
    cluster = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...open].map((a) => a.close()));
    open.clear();
    await cluster?.stop();
    tmp.cleanup();
  });

  const instances: PostgresInstances = {
    get cluster() {
      return started();
    },
    masterKey,
    database: (name) => started().createDatabase(name),
    dataDir,
    async open(databaseUrl, config = {}) {
      const a = await createAuthority({ dataDir: dataDir(), databaseUrl, masterKey, logger: silentLogger, ...config });
      open.add(a);
      return a;
    },
    async two(config = {}) {
      const url = await instances.database();
      const of = (i: 0 | 1) => (typeof config === 'function' ? config(i) : config);
      const [a, b] = await Promise.all([instances.open(url, of(0)), instances.open(url, of(1))]);
      return [a, b];
    },
    async close(authority) {
      if (!open.delete(authority)) throw new Error('postgresInstances: not an open instance of this suite');
      await authority.close();
    },
  };
  return instances;
}
