// docs/postgresql.md's "Moving from SQLite to PostgreSQL" walked verbatim (tests/support/doc-script.ts) against a
// real PostgreSQL (tests/support/postgres.ts), the reader's variables being the data directory and libpq's PGHOST,
// PGPORT, PGUSER: a SQLite data directory as a reader has it after a while (a root, an issuing CA, a certificate),
// then the block: a backup, `createdb`, `pkim db copy`, `audit verify`, and a certificate issued on PostgreSQL with
// the data directory's master key — verified by openssl and certtool up to the root the SQLite database made. Before
// it, "Backup and restore"'s block: a backup, a restore on a new host (with the master key) that issues, a restore
// over data refused, then forced. "Running on PostgreSQL" walked too: the master key made once in a file, `db migrate`,
// `pkim serve` in the foreground until Ctrl-C; beside it, an instance without the master key refused with
// `kms.master_key_missing` (exit 3, naming where the key belongs); and a restore under a running SQLite server refused
// with `store.in_use` (exit 4, nothing changed) — each refusal's exit code as docs/errors.md says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { REPO_ROOT, runPkim } from './support/cli-runner';
import { sqliteDigest } from './support/db-digest';
import { markedBashBlock, runDocScript, startDocScript, type RunningDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { startPostgres, type TestPostgres } from './support/postgres';
import { certtoolVerify, opensslVerify, requireBinary } from './support/verifiers';

const DOC = 'docs/postgresql.md';

let cluster: TestPostgres;
beforeAll(async () => {
  cluster = await startPostgres();
}, 120_000);
afterAll(async () => cluster?.stop());

describe('docs/postgresql.md walk-through', () => {
  it('moves a SQLite data directory to PostgreSQL as written; the copied CA key signs there', async () => {
    for (const bin of ['bash', 'createdb']) requireBinary(bin);
    const pgUrl = new URL(cluster.url);
    const env = { PGHOST: pgUrl.hostname, PGPORT: pgUrl.port, PGUSER: decodeURIComponent(pgUrl.username) };
    const tmp = tempDir('pkim-postgresql-walk-');
    try {
      // the reader's SQLite data directory before the move (not the document's block)
      const before = await runDocScript(
        tmp.dir,
        [
          'set -euo pipefail',
          'pkim init',
          'pkim ca create --subject "CN=Root" --key-type ec-p256',
          'pkim ca create --subject "CN=Issuing" --key-type ec-p256 --parent Root',
          'pkim cert issue --ca Issuing --cn before.example.com --out-cert before.pem --out-key before.key',
        ].join('\n'),
      );
      expect(before.code, before.out).toBe(0);
      const md = readFileSync(join(REPO_ROOT, DOC), 'utf8');

      // "Backup and restore": a backup, a restore on a new host with the master key, one refused, one forced
      const backup = await runDocScript(tmp.dir, markedBashBlock(md, 'postgresql-backup', DOC));
      expect(backup.code, backup.out).toBe(0);
      expect(backup.out).toMatch(/^error: store\.target_not_empty: .* already holds data/m);
      expect(backup.out.split('\n')).toContain('refused: the database holds data');
      expect(backup.out.match(/^audit chain: +OK: 5 events verified/gm), backup.out).toHaveLength(2);

      const block = markedBashBlock(md, 'postgresql-move', DOC);
      const run = await runDocScript(tmp.dir, block, 240_000, env);
      expect(run.code, run.out).toBe(0);
      expect(existsSync(join(run.work, 'pkim-before-move.db')), run.out).toBe(true);
      expect(run.out).toMatch(/Root/);
      expect(run.out).toMatch(/Issuing/);

      // on PostgreSQL (no data directory: the URL and the master key only), the chain of the SQLite database's CAs
      const moved = `postgres://${env.PGUSER}@${env.PGHOST}:${env.PGPORT}/pkim`;
      const chain = runPkim(['ca', 'export', 'Issuing', '--chain', '--database-url', moved], {
        dataDir: join(tmp.dir, 'data'),
      });
      expect(chain.code, chain.stderr).toBe(0);
      const [issuing, root] = chain.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;
      for (const leaf of ['before.pem', 'restored.pem', 'moved.pem']) {
        const leafPem = readFileSync(join(run.work, leaf), 'utf8');
        for (const v of [
          opensslVerify({ leafPem, rootPem: root!, chainPems: [issuing], purpose: 'sslserver' }),
          certtoolVerify({ leafPem, rootPem: root!, chainPems: [issuing], purpose: 'serverAuth' }),
        ])
          expect(v.ok, `${leaf}: ${v.output}`).toBe(true);
      }
      // "With plain PostgreSQL tools": pg_dump and pg_restore of the moved database, then its chain verified
      const pgTools = `set -euo pipefail\n${markedBashBlock(md, 'postgresql-pg-tools', DOC)}`;
      const tools = await runDocScript(tmp.dir, pgTools, 240_000, { ...env, PKIM_DATABASE_URL: moved });
      expect(tools.code, tools.out).toBe(0);
      expect(tools.out).toMatch(/^audit chain OK: \d+ events verified/m);

      const certs = runPkim(['cert', 'list', '--json', '--database-url', moved], { dataDir: join(tmp.dir, 'data') });
      expect(
        certs
          .json<{ items: { commonName: string }[] }>()
          .items.map((c) => c.commonName)
          .sort(),
      ).toEqual(['before.example.com', 'moved.example.com']);
    } finally {
      tmp.cleanup();
    }
  }, 400_000);

  it('runs on PostgreSQL as written: master key made once, serve until Ctrl-C; without the key refused', async () => {
    const md = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    const url = await cluster.createDatabase('pkim_running');
    const tmp = tempDir('pkim-postgresql-running-');
    let server: RunningDocScript | undefined;
    try {
      const keyFile = join(tmp.dir, 'work', 'pkim-master.key');
      server = await startDocScript(tmp.dir, markedBashBlock(md, 'postgresql-running', DOC), {
        PKIM_DATABASE_URL: url,
        KEY_FILE: keyFile,
      });
      await expect
        .poll(async () => (await fetch(`${server!.base}/readyz`).catch(() => undefined))?.status, {
          timeout: 120_000,
          interval: 250,
        })
        .toBe(200);
      expect(server.out()).toMatch(
        /^applied \d+ migration\(s\) to postgres:\/\/postgres@127\.0\.0\.1:\d+\/pkim_running:$/m,
      );
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const masterKey = readFileSync(keyFile, 'utf8').trim();
      expect(Buffer.from(masterKey, 'base64')).toHaveLength(32);

      // "another shell with the variables above": a CA, then an instance without the master key
      const shell = join(tmp.dir, 'shell-2');
      const refused = await runDocScript(shell, markedBashBlock(md, 'postgresql-master-key', DOC), 240_000, {
        PKIM_DATABASE_URL: url,
        PKIM_MASTER_KEY: masterKey,
      });
      expect(refused.code, refused.out).toBe(0);
      const instance2 = join(refused.work, 'instance-2');
      expect(refused.out.split('\n'), refused.out).toContain(
        'error: kms.master_key_missing: the database holds software keys sealed under a master key that is not ' +
          `here: put back the master.key they were made with as ${instance2}/master.key (mode 0600), or set ` +
          'PKIM_MASTER_KEY; a new one would open none of them',
      );
      expect(refused.out.split('\n')).toContain(`refused: exit ${errorsMdExit('kms.master_key_missing')}`);
      expect(existsSync(join(instance2, 'master.key'))).toBe(false);
      // another master key: the Root's key does not open (docs/errors.md's exit), no file written, nothing issued
      expect(refused.out).toMatch(
        /^error: kms\.auth_failed: the key-encryption key does not decrypt key key_\w+ \(PKIM_MASTER_KEY or <dataDir>\/master\.key differs from the one the key was created with\)$/m,
      );
      expect(refused.out.split('\n')).toContain(`refused: exit ${errorsMdExit('kms.auth_failed')}`);
      expect(existsSync(join(refused.work, 'other.pem')) || existsSync(join(refused.work, 'other.key'))).toBe(false);
      // the CA the walk made, its certificate checked by openssl (self-signed, a CA)
      const root = runPkim(['ca', 'export', 'Root', '--database-url', url], {
        dataDir: join(shell, 'data'),
        env: { PKIM_MASTER_KEY: masterKey },
      });
      expect(root.code, root.stderr).toBe(0);
      const v = opensslVerify({ leafPem: root.stdout, rootPem: root.stdout });
      expect(v.ok, v.output).toBe(true);
      const certs = runPkim(['cert', 'list', '--json', '--database-url', url], {
        dataDir: join(shell, 'data'),
        env: { PKIM_MASTER_KEY: masterKey },
      });
      expect(certs.json<{ items: unknown[] }>().items).toEqual([]);

      // the reader's Ctrl-C: the server stops, the walk ends, nothing is left running
      const ended = await server.interrupt();
      expect(ended, server.out()).toEqual({ code: 0, signal: null });
      await expect.poll(() => server!.groupProcesses(), { timeout: 20_000 }).toEqual([]);
    } finally {
      await server?.stop();
      tmp.cleanup();
    }
  }, 400_000);

  it('a restore under a running SQLite server is refused with store.in_use, nothing changed', async () => {
    const tmp = tempDir('pkim-postgresql-in-use-');
    let server: RunningDocScript | undefined;
    try {
      const made = await runDocScript(
        tmp.dir,
        [
          'set -euo pipefail',
          'pkim init',
          'pkim ca create --subject "CN=Root" --key-type ec-p256',
          'pkim backup --out before.dump',
          'pkim ca create --subject "CN=Issuing" --key-type ec-p256 --parent Root',
        ].join('\n'),
      );
      expect(made.code, made.out).toBe(0);
      const dataDir = join(tmp.dir, 'data');
      // the reader's server on the data directory (another directory for its script: the first one's files stay)
      server = await startDocScript(join(tmp.dir, 'server'), 'exec pkim serve', { PKIM_DATA_DIR: dataDir });
      await expect
        .poll(async () => (await fetch(`${server!.base}/readyz`).catch(() => undefined))?.status, {
          timeout: 120_000,
          interval: 250,
        })
        .toBe(200);
      // the server's first jobs done (a CRL for each CA: it writes the CA's CRL number), so only the restore could
      // change the database from here on (the next run of the jobs is a minute away)
      const crls = () =>
        runPkim(['audit', 'list', '--action', 'crl.generated', '--json'], { dataDir }).json<{ items: unknown[] }>()
          .items.length;
      await expect.poll(crls, { timeout: 60_000, interval: 500 }).toBe(2);
      const digest = () => {
        const db = new Database(join(dataDir, 'pkim.db'), { readonly: true });
        try {
          return sqliteDigest(db);
        } finally {
          db.close();
        }
      };
      const before = digest();
      // "Backup and restore"'s last line, the server left running
      const restore = runPkim(['restore', '--from', join(made.work, 'before.dump'), '--force'], { dataDir });
      expect(restore.code, restore.stderr).toBe(errorsMdExit('store.in_use'));
      expect(restore.stderr.trim().split('\n')).toEqual([
        `error: store.in_use: the SQLite database '${join(dataDir, 'pkim.db')}' is open in another process (a ` +
          'running pkim serve?): stop every server and command using it, then restore — a server left running ' +
          'would keep serving the replaced file',
      ]);
      expect(digest()).toEqual(before);
      // stopped, the same command restores: the Issuing CA made after the backup is gone
      await server.stop();
      const again = runPkim(['restore', '--from', join(made.work, 'before.dump'), '--force'], { dataDir });
      expect(again.code, again.stderr).toBe(0);
      const cas = runPkim(['ca', 'list', '--json'], { dataDir }).json<{ items: { name: string }[] }>();
      expect(cas.items.map((c) => c.name)).toEqual(['Root']);
    } finally {
      await server?.stop();
      tmp.cleanup();
    }
  }, 300_000);
});

/** the CLI exit code docs/errors.md gives `code` */
function errorsMdExit(code: string): number {
  const row = readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`| \`${code}\` |`));
  if (!row) throw new Error(`docs/errors.md has no row for ${code}`);
  return Number(row.split('|')[4]!.trim());
}
