// docs/postgresql.md's "Moving from SQLite to PostgreSQL" walked verbatim (tests/support/doc-script.ts) against a
// real PostgreSQL (tests/support/postgres.ts), the reader's variables being the data directory and libpq's PGHOST,
// PGPORT, PGUSER: a SQLite data directory as a reader has it after a while (a root, an issuing CA, a certificate),
// then the block: a backup, `createdb`, `pkim db copy`, `audit verify`, and a certificate issued on PostgreSQL with
// the data directory's master key — verified by openssl and certtool up to the root the SQLite database made. Before
// it, "Backup and restore"'s block: a backup, a restore on a new host (with the master key) that issues, a restore
// over data refused, then forced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runPkim } from './support/cli-runner';
import { markedBashBlock, runDocScript } from './support/doc-script';
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
});
