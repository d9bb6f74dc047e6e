// Finding 7 of issue #9: the database, its WAL and SHM files were created 0644 (password hashes, CSRF tokens,
// encrypted key blobs, the audit log readable by everyone) and the data dir kept whatever mode it had.
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthority } from '@pkim/authority';
import { tempDir } from '../support/openssl-tools';
import { runPkim } from '../support/cli-runner';
import { silentLogger } from '../support/test-kit';
import { createRootCa } from '../support/ca-kit';
import { ACTORS } from './security-support';

const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('finding 7: data files 0600, data dir 0700', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  it('a new data dir (even one that existed with 0755, under umask 022) ends 0700 with 0600 files', async () => {
    const t = tempDir('pkim-modes-');
    dirs.push(t);
    const dataDir = join(t.dir, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const old = process.umask(0o022);
    try {
      const a = await createAuthority({ dataDir, logger: silentLogger });
      // writes make SQLite create the -wal and -shm files
      await createRootCa(a, 'modes-root', { subject: { commonName: 'Modes Root' }, actor: ACTORS.admin });
      await a.auth.createUser({ username: 'modes', password: 'a long enough password', role: 'auditor' }, ACTORS.admin);
      expect(modeOf(dataDir)).toBe('700');
      for (const f of ['pkim.db', 'pkim.db-wal', 'pkim.db-shm', 'master.key']) {
        const p = join(dataDir, f);
        expect(existsSync(p), f).toBe(true);
        expect(modeOf(p), f).toBe('600');
      }
      await a.close();
    } finally {
      process.umask(old);
    }
  });

  it('narrows an existing 0644 database to 0600 on open; pkim backup writes a 0600 file', async () => {
    const t = tempDir('pkim-modes-');
    dirs.push(t);
    const a = await createAuthority({ dataDir: t.dir, logger: silentLogger });
    await a.close();
    chmodSync(join(t.dir, 'pkim.db'), 0o644);
    chmodSync(t.dir, 0o755);
    const b = await createAuthority({ dataDir: t.dir, logger: silentLogger });
    expect(modeOf(join(t.dir, 'pkim.db'))).toBe('600');
    expect(modeOf(t.dir)).toBe('700');
    await b.close();
    const out = join(t.dir, 'backup.db');
    const r = runPkim(['backup', '--out', out], { dataDir: t.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(modeOf(out)).toBe('600');
  });
});
