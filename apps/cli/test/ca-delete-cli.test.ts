// `pkim ca delete --destroy-key` says what the key backend did: "and its key destroyed" only once the key is gone;
// a key the backend refuses to destroy after the delete committed is reported as left (exit 0: the CA is deleted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';

describe('pkim ca delete --destroy-key', () => {
  const tmp = tempDir('pkim-ca-delete-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir });
  const revokedRoot = (name: string) => {
    const c = pkim('ca', 'create', '--name', name, '--subject', `CN=${name}`, '--key-type', 'ec-p256', '--json');
    expect(c.code, c.stderr).toBe(0);
    const r = pkim('ca', 'revoke', name, '--reason', 'cessationOfOperation');
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(() => {
    const init = pkim('init', '--json');
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('reports a destroyed key, and a key the backend refused to destroy as left in it', () => {
    revokedRoot('gone');
    const ok = pkim('ca', 'delete', 'gone', '--destroy-key');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe('CA gone deleted and its key destroyed');

    revokedRoot('left');
    const db = new Database(join(dataDir, 'pkim.db'));
    try {
      // the software backend's keys are rows of key_blobs: the database refuses to delete one (after the CA's commit)
      db.exec(`CREATE TRIGGER refuse_key_delete BEFORE DELETE ON key_blobs BEGIN SELECT RAISE(ABORT, 'refused'); END`);
      const left = pkim('ca', 'delete', 'left', '--destroy-key', '--json');
      expect(left.code, left.stderr).toBe(0);
      expect(left.json()).toEqual({ deleted: 'left', keyDestroyed: false });
      revokedRoot('left-text');
      const text = pkim('ca', 'delete', 'left-text', '--destroy-key');
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('CA left-text deleted, but its key could not be destroyed');
      expect(text.stdout).toContain('kms.key_destroy_failed');
    } finally {
      db.close();
    }
    const audit = pkim('audit', 'list', '--json');
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toContain('kms.key_destroy_failed');
  }, 120_000);
});
