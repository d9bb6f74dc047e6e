// Test helper: a REAL throw-away PostgreSQL cluster from the Debian `postgresql` package.
//
// One cluster per test file (start it in beforeAll, stop it in afterAll), one database per suite
// (`createDatabase()`) for isolation. The cluster listens on 127.0.0.1 on a free port with a
// private socket directory, trusts local connections, and runs with fsync off (unless `durable`). initdb/postgres
// refuse to run as root: as root (CI) the cluster runs as the `postgres` system user created by
// the Debian package, with its temp directory chowned to it.
//
// Under vitest the cluster's files are on a tmpfs (/dev/shm) when there is one with room (`memory`): on this host's
// ext4 (mounted with `discard`) removing a cluster whose pages the kernel had begun writing back took 74–122 s
// (store-postgres, ≈ 70 databases, 0.9 GB); in memory ≈ 2 s. A database from a template is a file copy
// (`STRATEGY FILE_COPY`), not PostgreSQL 15's default of writing every page of the copy into the WAL as well: 70
// copies of a migrated database in 11 s instead of 32 s (an empty database, a copy of the small template1, is made
// faster the default way: 32–72 ms against 84–105 ms).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readFileSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { mkdtemp, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

const INSTALL_HINT = 'install the Debian package postgresql with scripts/install-test-peers.sh';

export interface TestPostgres {
  /** URL of the `postgres` maintenance database (superuser `postgres`, no password) */
  url: string;
  /**
   * creates a fresh database and returns its URL: empty, or a copy of `template` (CREATE DATABASE … TEMPLATE …
   * STRATEGY FILE_COPY, a file copy: what a database migrated once costs per test instead of every migration again)
   */
  createDatabase(name?: string, opts?: { template?: string }): Promise<string>;
  /** `pg_ctl stop -m immediate` and removes the cluster directory (with `keepDir`: a fast stop, kept); idempotent */
  stop(): Promise<void>;
}

/** `/usr/lib/postgresql/<newest>/bin`; throws with install instructions when missing. */
export function findPostgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = join(root, v, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)))) return dir;
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under ${root}/<version>/bin: ${INSTALL_HINT}`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface RunAs {
  cmd(bin: string, args: string[]): [string, string[]];
  chown(path: string): void;
}

function runAsUnprivileged(): RunAs {
  if (process.getuid?.() !== 0) {
    return { cmd: (bin, args) => [bin, args], chown: () => undefined };
  }
  let uid: number;
  let gid: number;
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    if (!line) throw new Error('no postgres user');
    const f = line.split(':');
    uid = Number(f[2]);
    gid = Number(f[3]);
  } catch {
    throw new Error(
      `running as root but there is no 'postgres' system user to run the test cluster as: ${INSTALL_HINT}`,
    );
  }
  return {
    cmd: (bin, args) => ['runuser', ['-u', 'postgres', '--', bin, ...args]],
    chown: (path) => chownSync(path, uid, gid),
  };
}

export interface StartPostgresOptions {
  /**
   * PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes on), as a user runs it; benchmarks
   * use this. Default false: tests run with those three off (a throwaway cluster need not survive a crash).
   */
  durable?: boolean;
  /** more server settings, `name=value` each (passed as `-c name=value`), e.g. shared_preload_libraries */
  settings?: string[];
  /**
   * the cluster's directory, kept: started from the cluster already there (initdb only when there is none), and
   * `stop()` stops it (fast shutdown) without removing it — a benchmark's seeded data for a later run
   * (bench:inventory BENCH_KEEP). Default: a new temporary directory, removed by `stop()`.
   */
  keepDir?: string;
  /**
   * the cluster's files in memory: under /dev/shm when it is a directory with ≥ 4 GiB free, else the temp directory.
   * Default: true under vitest (VITEST is set) unless `durable`; false elsewhere (benchmarks measure a disk).
   */
  memory?: boolean;
}

/** where a cluster's directory goes: /dev/shm for `memory` when it has room, else the temp directory */
function clusterParent(memory: boolean): string {
  if (!memory) return tmpdir();
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= 4 * 1024 ** 3) return '/dev/shm';
  } catch {
    // no /dev/shm
  }
  return tmpdir();
}

/** the settings that make the test cluster fast and not crash-safe (left out with `durable`) */
export const THROWAWAY_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = findPostgresBinDir();
  const as = runAsUnprivileged();
  const keep = options.keepDir;
  if (keep) await mkdir(keep, { recursive: true });
  const memory = options.memory ?? (!options.durable && process.env.VITEST !== undefined);
  const base = keep ?? (await mkdtemp(join(clusterParent(memory), 'pkim-pg-')));
  const dataDir = join(base, 'data');
  const socketDir = join(base, 'sock');
  const logFile = join(base, 'postgres.log');
  let stopped = false;

  const run = async (name: string, args: string[]): Promise<void> => {
    const [cmd, argv] = as.cmd(join(bin, name), args);
    try {
      await execFileAsync(cmd, argv, { cwd: base, maxBuffer: 8 * 1024 * 1024 });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string; message: string };
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8').slice(-2000);
      } catch {
        // no log yet
      }
      throw new Error(
        `${name} ${args.join(' ')} failed: ${err.stderr || err.stdout || err.message}` +
          (log ? `\n--- postgres.log ---\n${log}` : ''),
      );
    }
  };

  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    try {
      const mode = keep ? 'fast' : 'immediate';
      const [cmd, argv] = as.cmd(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '120']);
      execFileSync(cmd, argv, { stdio: 'ignore', cwd: base });
    } catch {
      // not running
    }
    if (!keep) rmSync(base, { recursive: true, force: true });
  };
  // A crashed test worker must not leave a cluster behind.
  process.once('exit', stopSync);

  try {
    await mkdir(socketDir, { recursive: true });
    as.chown(base);
    as.chown(socketDir);
    if (!existsSync(join(dataDir, 'PG_VERSION')))
      await run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const opts = [
        '-c listen_addresses=127.0.0.1',
        `-p ${port}`,
        `-k ${socketDir}`,
        ...(options.durable ? [] : THROWAWAY_SETTINGS.map((x) => `-c ${x}`)),
        '-c max_connections=200',
        ...(options.settings ?? []).map((x) => `-c ${x}`),
      ].join(' ');
      try {
        await run('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', opts]);
        break;
      } catch (e) {
        if (attempt >= 3) throw e; // the port may have been taken between probe and bind: retry
      }
    }

    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    // pg_ctl -w waited for readiness; confirm over TCP the way the tests connect.
    const probe = new pg.Client({ connectionString: url });
    await probe.connect();
    // CREATE DATABASE … STRATEGY exists from PostgreSQL 15 (before it, a template was always copied as files)
    const version = Number(
      (await probe.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0]!.server_version_num,
    );
    await probe.end();
    const strategy = version >= 150000 ? ' STRATEGY FILE_COPY' : '';

    return {
      url,
      async createDatabase(name, opts = {}) {
        const db = name ?? `t_${randomBytes(6).toString('hex')}`;
        for (const n of [db, opts.template ?? db]) {
          if (!/^[a-z_][a-z0-9_]{0,62}$/.test(n)) throw new Error(`invalid database name '${n}'`);
        }
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(
            `CREATE DATABASE "${db}"${opts.template ? ` TEMPLATE "${opts.template}"${strategy}` : ''}`,
          );
        } finally {
          await client.end();
        }
        return `postgres://postgres@127.0.0.1:${port}/${db}`;
      },
      async stop() {
        process.removeListener('exit', stopSync);
        stopSync();
      },
    };
  } catch (e) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw e;
  }
}

/** for messages: who the cluster runs as */
export function postgresRunUser(): string {
  return process.getuid?.() === 0 ? 'postgres' : userInfo().username;
}
