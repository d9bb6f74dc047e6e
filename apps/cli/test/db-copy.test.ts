import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { startPostgres, type TestPostgres } from '../../../tests/support/postgres';
import { opensslVerify } from '../../../tests/support/verifiers';
import { auditVerify, listedCertificates, ok, populate, type Pkim, type Populated } from './db-test-data';

/** `postgres://postgres@host:port/db` → the same with a password (the test cluster trusts any password). */
function withPassword(url: string, password: string): string {
  return url.replace('postgres://postgres@', `postgres://postgres:${password}@`);
}

describe('pkim db copy: a populated SQLite database moves to PostgreSQL', () => {
  const tmp = tempDir('pkim-dbcopy-');
  const dataDir = join(tmp.dir, 'data');
  const sqlitePath = join(dataDir, 'pkim.db');
  const PASSWORD = 'Sup3r-Secret-pw';
  let cluster: TestPostgres;
  let pgUrl: string;
  let data: Populated;
  let certsBefore: Record<string, string>;
  let auditBefore: { count: number; lastHash: string };
  const onSqlite: Pkim = (...args) => runPkim(args, { dataDir });
  let onPg: Pkim;

  beforeAll(async () => {
    cluster = await startPostgres();
    pgUrl = withPassword(await cluster.createDatabase(), PASSWORD);
    onPg = (...args) => runPkim(args, { dataDir, env: { PKIM_DATABASE_URL: pgUrl } });
    data = populate(onSqlite, tmp.dir); // CA hierarchy, certificates, a revocation, requests — all via the CLI
    certsBefore = listedCertificates(onSqlite);
    auditBefore = auditVerify(onSqlite);
  });
  afterAll(async () => {
    await cluster?.stop();
    tmp.cleanup();
  });

  it('copies every table, prints per-table counts and a verification result, never the password', () => {
    const r = onSqlite('db', 'copy', '--from', `sqlite:${sqlitePath}`, '--to', pgUrl);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/certificate_authorities\s+2\n/);
    expect(r.stdout).toMatch(new RegExp(`certificates\\s+${data.certificateIds.length}\\n`));
    expect(r.stdout).toMatch(/certificate_requests\s+2\n/);
    expect(r.stdout).toMatch(new RegExp(`audit_events\\s+${auditBefore.count}\\n`));
    const db = new Database(sqlitePath, { readonly: true });
    const blobs = (db.prepare('select count(*) as n from key_blobs').get() as { n: number }).n;
    db.close();
    expect(blobs).toBeGreaterThanOrEqual(2); // at least the two software CA keys, still encrypted
    expect(r.stdout).toMatch(new RegExp(`key_blobs\\s+${blobs}\\n`));
    expect(r.stdout).toMatch(/verification: OK/);
    expect(r.stdout).toContain('postgres:***@127.0.0.1');
    expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
  });

  it('the CLI on PostgreSQL (same data dir → same master.key) lists the same certificates, verifies the chain', () => {
    expect(listedCertificates(onPg)).toEqual(certsBefore);
    expect(auditVerify(onPg)).toMatchObject({ ok: true, count: auditBefore.count, lastHash: auditBefore.lastHash });
    const requests = ok(onPg('request', 'list', '--json')).json().items as { id: string; status: string }[];
    expect(Object.fromEntries(requests.map((q) => [q.id, q.status]))).toEqual({
      [data.requestIds[0]!]: 'issued',
      [data.requestIds[1]!]: 'rejected',
    });
  });

  it('issues with the copied software CA key; openssl verifies the new certificate against the original root', () => {
    const out = join(tmp.dir, 'pg-leaf.pem');
    const r = ok(
      onPg(
        'cert',
        'issue',
        '--ca',
        'issuing',
        '--subject',
        'CN=on-pg.example.com',
        '--san',
        'on-pg.example.com',
        '--key-type',
        'ec-p256',
        '--out-key',
        join(tmp.dir, 'pg-leaf.key'),
        '--out-cert',
        out,
        '--json',
      ),
    );
    expect(r.json().caId).toBe(data.issuingId);
    const rootPem = ok(onSqlite('ca', 'export', data.rootId, '--json')).json().pem as string; // SQLite original
    const intPem = ok(onSqlite('ca', 'export', data.issuingId, '--json')).json().pem as string;
    const v = opensslVerify({ leafPem: readFileSync(out, 'utf8'), chainPems: [intPem], rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    expect(auditVerify(onPg).count).toBe(auditBefore.count + 1);
  });

  it('refuses to copy into a database that is not empty: exit 4, one line, nothing printed with the password', () => {
    const r = onSqlite('db', 'copy', '--from', sqlitePath, '--to', pgUrl);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: store\.target_not_empty: .*not empty/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
  });

  it('fails verification (exit ≠ 0, one-line reason) when a copied certificate mismatches its hash', async () => {
    const broken = join(tmp.dir, 'broken.db');
    copyFileSync(sqlitePath, broken);
    for (const suffix of ['-wal', '-shm'])
      if (existsSync(`${sqlitePath}${suffix}`)) copyFileSync(`${sqlitePath}${suffix}`, `${broken}${suffix}`);
    const db = new Database(broken);
    db.prepare('update certificates set fingerprint_sha256 = ? where id = ?').run(
      '00'.repeat(32),
      data.certificateIds[0],
    );
    db.close();
    const target = await cluster.createDatabase();
    const r = onSqlite('db', 'copy', '--from', broken, '--to', target);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(`^error: store\\.copy_verification_failed: .*certificate ${data.certificateIds[0]}: fingerprint`),
    );
  });

  it('db migrate is idempotent on PostgreSQL and SQLite and says what it applied', async () => {
    const fresh = await cluster.createDatabase();
    const env = { PKIM_DATABASE_URL: fresh };
    const first = runPkim(['db', 'migrate', '--json'], { dataDir, env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toMatchObject({ dialect: 'postgres', upToDate: false });
    expect(first.json().applied.length).toBeGreaterThan(0);
    const second = runPkim(['db', 'migrate'], { dataDir, env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/is up to date: no pending migrations/);
    const sqlite = onSqlite('db', 'migrate', '--json');
    expect(sqlite.code, sqlite.stderr).toBe(0);
    expect(sqlite.json()).toEqual({ dialect: 'sqlite', database: `sqlite ${sqlitePath}`, applied: [], upToDate: true });
  });

  it('bad database URLs give clear one-line errors and never echo a password', () => {
    const scheme = runPkim(['db', 'migrate'], { dataDir, env: { PKIM_DATABASE_URL: 'mysql://root:hunter22@db/pkim' } });
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/^error: store\.invalid_url: Unsupported database URL scheme in 'mysql:\/\/…'/);
    expect(scheme.stderr).not.toContain('hunter22');

    const port = Number(new URL(cluster.url).port);
    const down = runPkim(['db', 'migrate'], {
      dataDir,
      env: { PKIM_DATABASE_URL: `postgres://pkim:${PASSWORD}@127.0.0.1:${port + 1}/pkim` },
    });
    expect(down.code).toBe(7);
    expect(down.stderr).toMatch(/^error: store\.unavailable: Cannot connect to PostgreSQL: .*ECONNREFUSED/);

    const noDb = onSqlite(
      'db',
      'copy',
      '--from',
      sqlitePath,
      '--to',
      withPassword(cluster.url.replace(/\/postgres$/, '/no_such_db'), PASSWORD),
    );
    expect(noDb.code).toBe(7);
    expect(noDb.stderr).toMatch(/^error: store\.unavailable: .*no_such_db.* does not exist/);

    const noSource = onSqlite('db', 'copy', '--from', join(tmp.dir, 'missing.db'), '--to', pgUrl);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toMatch(/^error: input\.invalid: db copy --from: there is no SQLite database at/);
    expect(existsSync(join(tmp.dir, 'missing.db'))).toBe(false);

    for (const r of [down, noDb, noSource]) {
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
    }
  });
});
