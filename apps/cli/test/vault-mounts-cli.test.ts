// `pkim vault mounts` lists every mount with its CA: a mount made the Vault way (`vault secrets enable pki`, no CA
// until root/generate or intermediate/generate binds one) says so instead of an empty cell, a mount whose CA was
// deleted keeps showing the CA's id, and `--json` gives the contract's DTO (CA id '' and name null for the first).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createAuthority, type Actor } from '@pkim/authority';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';

const admin: Actor = { id: 'usr_vault_cli', name: 'alice', role: 'admin' };

describe('pkim vault mounts', { timeout: 120_000 }, () => {
  const tmp = tempDir('pkim-vault-mounts-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: tmp.dir });
  let goneId = '';

  beforeAll(async () => {
    expect(pkim('init', '--json').code).toBe(0);
    const a = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const live = await a.cas.create({ name: 'live-root', subject: 'CN=Live Root', keyType: 'ec-p256' }, admin);
      const gone = await a.cas.create({ name: 'gone-root', subject: 'CN=Gone Root', keyType: 'ec-p256' }, admin);
      goneId = gone.ca.id;
      await a.vault.mounts.mount({ path: 'bound', ca: live.ca.id }, admin);
      await a.vault.mounts.mount({ path: 'fresh' }, admin);
      await a.vault.mounts.mount({ path: 'orphan', ca: gone.ca.id }, admin);
      await a.cas.revokeCa(gone.ca.id, 'cessationOfOperation', admin);
      await a.cas.delete(gone.ca.id, {}, admin);
    } finally {
      await a.close();
    }
  });
  afterAll(() => tmp.cleanup());

  it('names the CA, says when a mount has none yet, shows a deleted CA by its id', () => {
    const r = pkim('vault', 'mounts');
    expect(r.code, r.stderr).toBe(0);
    const rows = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .slice(2)
        .map((line) => line.split(/\s{2,}/))
        .map((cells) => [cells[0], cells[1]]),
    );
    expect(rows).toEqual({ 'bound/': 'live-root', 'fresh/': '(no CA yet)', 'orphan/': goneId });
  });

  it('--json: the mount without a CA has CA id "" and name null', () => {
    const r = pkim('vault', 'mounts', '--json');
    expect(r.code, r.stderr).toBe(0);
    const items = r.json<{ items: { path: string; ca: { id: string; name: string | null } }[] }>().items;
    expect(items.map((m) => [m.path, m.ca])).toEqual([
      ['bound', { id: expect.stringMatching(/^ca_/), name: 'live-root' }],
      ['fresh', { id: '', name: null }],
      ['orphan', { id: goneId, name: null }],
    ]);
  });
});
