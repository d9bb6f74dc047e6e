// Shared by db-backup-restore-{sqlite,postgres}.test.ts (one file per engine, so each stays well under a minute on a
// loaded machine): the same scenario on both engines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { startPkimServer } from '../../../tests/support/remote-server';
import { opensslVerify } from '../../../tests/support/verifiers';
import { auditVerify, listedCertificates, ok, populateInProcess, type Pkim, type Populated } from './db-test-data';

/** The same scenario on both engines: populate → backup → lose the data → restore → everything is back. */
export function roundTrip(
  engine: 'sqlite' | 'postgres',
  setup: (dataDir: string) => Promise<{ env: Record<string, string>; wipe(): Promise<void> }>,
) {
  describe(`pkim backup / restore on ${engine}`, () => {
    const tmp = tempDir(`pkim-br-${engine}-`);
    const dataDir = join(tmp.dir, 'data');
    const backupFile = join(tmp.dir, 'pkim.backup');
    let env: Record<string, string> = {};
    let wipe: () => Promise<void>;
    const pkim: Pkim = (...args) => runPkim(args, { dataDir, env });
    let data: Populated;
    let certsBefore: Record<string, string>;
    let auditBefore: { count: number; lastHash: string };

    beforeAll(async () => {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- wipe is a closure, not a method
      ({ env, wipe } = await setup(dataDir));
      data = await populateInProcess(dataDir, env.PKIM_DATABASE_URL);
      certsBefore = listedCertificates(pkim);
      auditBefore = auditVerify(pkim);
    });
    afterAll(() => tmp.cleanup());

    it('writes a backup, says the master key is not in it, and reports what it holds', () => {
      const r = ok(pkim('backup', '--out', backupFile, '--json')).json();
      expect(r.file).toBe(backupFile);
      expect(r.format).toBe(engine === 'sqlite' ? 'sqlite-online-backup' : 'pg_dump-custom');
      expect(r.bytes).toBe(statSync(backupFile).size);
      expect(statSync(backupFile).mode & 0o077).toBe(0);
      expect(r.contents.certificates).toBe(data.certificateIds.length);
      expect(r.contents.cas).toBe(2);
      expect(r.contents.auditHead.hash).toBe(auditBefore.lastHash);
      expect(r.masterKey).toMatchObject({ includedInBackup: false, source: 'file', path: join(dataDir, 'master.key') });
      if (engine === 'sqlite') {
        const human = ok(pkim('backup', '--out', `${backupFile}.2`));
        expect(human.stdout).toMatch(/does NOT include the master key/);
        expect(human.stdout).toContain(join(dataDir, 'master.key'));
      }
    });

    it('refuses to overwrite an existing backup file unless --force (one line, exit 4, the file unchanged)', () => {
      const before = readFileSync(backupFile);
      const r = pkim('backup', '--out', backupFile);
      expect(r.code).toBe(4);
      expect(r.stderr).toBe(
        `error: store.backup_file_exists: '${backupFile}' already exists (--force overwrites it)\n`,
      );
      expect(readFileSync(backupFile).equals(before)).toBe(true);
      const forced = ok(pkim('backup', '--out', backupFile, '--force', '--json')).json();
      expect(forced.file).toBe(backupFile);
      expect(forced.bytes).toBe(statSync(backupFile).size);
    });

    it('refuses to restore over a database that holds data unless --force', () => {
      const r = pkim('restore', '--from', backupFile);
      expect(r.code).toBe(4);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: store\.target_not_empty: .*--force/);
      expect(listedCertificates(pkim)).toEqual(certsBefore);
    });

    it('restores into a wiped database: same certificates, audit chain verifies, CA keys still sign', async () => {
      await wipe();
      const r = ok(pkim('restore', '--from', backupFile, '--json')).json();
      expect(r.overwritten).toBe(false); // the wiped database held nothing
      expect(r.audit).toMatchObject({ ok: true, count: auditBefore.count, lastHash: auditBefore.lastHash });
      expect(r.contents.certificates).toBe(data.certificateIds.length);

      const certs = listedCertificates(pkim);
      expect(certs).toEqual(certsBefore);
      expect(certs[data.revokedId]).toBe('revoked');
      expect(auditVerify(pkim)).toMatchObject({ ok: true, count: auditBefore.count, lastHash: auditBefore.lastHash });
      // the software CA key came back from the database and decrypts with the data dir's master.key
      ok(
        pkim(
          'cert',
          'issue',
          '--ca',
          'issuing',
          '--subject',
          'CN=after-restore.example.com',
          '--san',
          'after-restore.example.com',
          '--key-type',
          'ec-p256',
          '--out-key',
          join(tmp.dir, 'after.key'),
          '--json',
        ),
      );
    });

    it('--force overwrites newer data with the backup', () => {
      const r = ok(pkim('restore', '--from', backupFile, '--force', '--json')).json();
      expect(r.overwritten).toBe(true);
      expect(listedCertificates(pkim)).toEqual(certsBefore);
      expect(auditVerify(pkim)).toMatchObject({ count: auditBefore.count, lastHash: auditBefore.lastHash });
    });

    if (engine === 'postgres') {
      it('refuses a restore under a running pkim serve (store.in_use names it, exit 4, nothing changed)', async () => {
        // pg_restore would replace the rows under a server that keeps serving what it remembers of them
        const server = await startPkimServer(dataDir, [], env);
        let during: Record<string, string>;
        try {
          // issued after the backup: a restore would take it away
          const leafFile = join(tmp.dir, 'serving.pem');
          ok(pkim('cert', 'issue', '--ca', 'issuing', '--cn', 'serving.example.com', '--out-cert', leafFile));
          const verified = opensslVerify({
            leafPem: readFileSync(leafFile, 'utf8'),
            chainPems: [ok(pkim('ca', 'export', 'issuing')).stdout],
            rootPem: ok(pkim('ca', 'export', 'root')).stdout,
            purpose: 'sslserver',
          });
          expect(verified.ok, verified.output).toBe(true);
          during = listedCertificates(pkim);
          expect(Object.keys(during)).toHaveLength(Object.keys(certsBefore).length + 1);
          const r = pkim('restore', '--from', backupFile, '--force');
          expect(r.code, r.stderr).toBe(4);
          expect(r.stderr.trim().split('\n')).toEqual([
            `error: store.in_use: the PostgreSQL database is open in another pkim process (pkim ` +
              `${hostname().slice(0, 40)} pid ${server.child.pid}): stop every server and command using it, then ` +
              'restore — a server left running would keep serving what it remembers of the replaced data',
          ]);
          expect(listedCertificates(pkim)).toEqual(during);
          expect(auditVerify(pkim).ok).toBe(true);
        } finally {
          await server.stop();
        }
        // stopped, the same command restores: the certificate issued since is gone
        expect(ok(pkim('restore', '--from', backupFile, '--force', '--json')).json().overwritten).toBe(true);
        expect(listedCertificates(pkim)).toEqual(certsBefore);
      }, 120_000);
    }

    if (engine === 'sqlite') {
      it('refuses to restore under a running pkim serve (store.in_use, exit 4); stopped, it restores', async () => {
        // the file is replaced by a rename: a server left running would keep serving (and writing) the old one
        const server = await startPkimServer(dataDir, [], env);
        try {
          const r = pkim('restore', '--from', backupFile, '--force');
          expect(r.code, r.stderr).toBe(4);
          expect(r.stderr).toMatch(
            /^error: store\.in_use: the SQLite database '.*pkim\.db' is open in another process/,
          );
          expect(r.stderr.trim().split('\n')).toHaveLength(1);
        } finally {
          await server.stop();
        }
        expect(listedCertificates(pkim)).toEqual(certsBefore);
        expect(ok(pkim('restore', '--from', backupFile, '--force', '--json')).json().overwritten).toBe(true);
      });

      it('rejects a missing backup file with a one-line reason', () => {
        const r = pkim('restore', '--from', join(tmp.dir, 'nope.backup'), '--force');
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^error: input\.invalid: backup file .*nope\.backup' does not exist\n$/);
      });

      it('reports a broken audit chain in a restored backup (exit ≠ 0, first broken event named)', () => {
        const tampered = join(tmp.dir, 'tampered.backup');
        copyFileSync(backupFile, tampered);
        const db = new Database(tampered);
        db.prepare("update audit_events set actor = 'mallory' where seq = 3").run();
        db.close();
        const r = pkim('restore', '--from', tampered, '--force');
        expect(r.code).toBe(4);
        expect(r.stderr).toMatch(/^error: audit\.chain_broken: restored .* audit chain is broken at event #3 /);
        expect(pkim('audit', 'verify').code).not.toBe(0);
        ok(pkim('restore', '--from', backupFile, '--force'));
        expect(auditVerify(pkim).lastHash).toBe(auditBefore.lastHash);
      });

      it('restored without its master key: commands refuse and make no new one; with the key back the CA signs', () => {
        const moved = join(tmp.dir, 'moved-data');
        const there: Pkim = (...args) => runPkim(args, { dataDir: moved, init: false });
        ok(there('restore', '--from', backupFile));
        // a new master.key would open none of the restored keys (and re-sign the audit checkpoint under it)
        for (const args of [['ca', 'list'], ['init']]) {
          const r = there(...args);
          expect(r.code, args.join(' ')).toBe(3);
          expect(r.stderr.trim().split('\n')).toEqual([
            `error: kms.master_key_missing: the database holds software keys sealed under a master key that is not ` +
              `here: put back the master.key they were made with as ${join(moved, 'master.key')} (mode 0600), or ` +
              'set PKIM_MASTER_KEY; a new one would open none of them',
          ]);
          expect(existsSync(join(moved, 'master.key'))).toBe(false);
        }
        copyFileSync(join(dataDir, 'master.key'), join(moved, 'master.key'));
        chmodSync(join(moved, 'master.key'), 0o600);
        const leaf = join(tmp.dir, 'moved-leaf.pem');
        ok(there('cert', 'issue', '--ca', 'issuing', '--cn', 'moved.example.com', '--out-cert', leaf));
        const verified = opensslVerify({
          leafPem: readFileSync(leaf, 'utf8'),
          chainPems: [ok(there('ca', 'export', 'issuing')).stdout],
          rootPem: ok(there('ca', 'export', 'root')).stdout,
          purpose: 'sslserver',
        });
        expect(verified.ok, verified.output).toBe(true);
        expect(auditVerify(there)).toMatchObject({ ok: true });
      });

      it('refuses to back up a database that does not exist instead of creating an empty one', () => {
        const empty = join(tmp.dir, 'empty-data');
        const r = runPkim(['backup', '--out', join(tmp.dir, 'x.backup')], { dataDir: empty });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^error: input\.invalid: backup: there is no SQLite database at/);
        expect(existsSync(join(empty, 'pkim.db'))).toBe(false);
      });
    }
  });
}
