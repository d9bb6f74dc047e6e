// A profile whose key usage a key type it allows cannot carry (keyEncipherment with an EC key) is in effect (the
// profiles file's, or one stored before the API refused them) but fails lint for that key type: said at start-up
// (profile-startup-warning.test.ts) and, where a user looks later, on the profile's API object (`warnings`), in
// `pkim profile show` / `profile list`, locally and through the REST API alike.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';

const BASE = {
  isCa: false,
  extKeyUsage: ['serverAuth'],
  allowedSanTypes: ['dns'],
  sanRequired: false,
  defaultLifetimeMs: 86_400_000,
  maxLifetimeMs: 7 * 86_400_000,
};
const MIXED = {
  ...BASE,
  name: 'file-mixed',
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  allowedKeyTypes: ['ec-p256', 'rsa-2048'],
};
const FINE = { ...BASE, name: 'fine', keyUsage: ['digitalSignature'], allowedKeyTypes: ['ec-p256', 'rsa-2048'] };

describe('a profile that cannot issue for a key type it allows says so on its object and in the CLI', () => {
  const tmp = tempDir('pkim-profile-warnings-');
  const opts = { dataDir: tmp.dir, env: { PKIM_LOG_LEVEL: 'silent' } };
  beforeAll(() => writeFileSync(join(tmp.dir, 'profiles.json'), JSON.stringify([MIXED, FINE])));
  afterAll(() => tmp.cleanup());

  it('lists the clash in warnings (--json), in profile show and under profile list', async () => {
    const json = await runPkimAsync(['--json', 'profile', 'show', 'file-mixed'], opts);
    expect(json.code, json.stderr).toBe(0);
    expect(json.json<{ warnings: string[] }>().warnings).toEqual([
      'keyUsage: keyEncipherment is not possible with ec-p256 keys (for RSA keys only: put it in rsaKeyUsage): ' +
        'every such issuance fails lint.key_usage_key_type_mismatch',
    ]);
    const fine = await runPkimAsync(['--json', 'profile', 'show', 'fine'], opts);
    expect(fine.json<{ warnings: string[] }>().warnings).toEqual([]);
    const shown = await runPkimAsync(['profile', 'show', 'file-mixed'], opts);
    expect(shown.stdout).toMatch(/^warning: +keyUsage: keyEncipherment is not possible with ec-p256 keys/m);
    expect((await runPkimAsync(['profile', 'show', 'fine'], opts)).stdout).not.toContain('warning');
    const list = await runPkimAsync(['profile', 'list'], opts);
    expect(list.stdout).toContain(
      'warning: profile file-mixed: keyUsage: keyEncipherment is not possible with ec-p256 keys',
    );
    expect(list.stdout).not.toContain('warning: profile fine');
    // the built-in profiles are sound
    const all = await runPkimAsync(['--json', 'profile', 'list'], opts);
    const items = all.json<{ items: { name: string; warnings: string[] }[] }>().items;
    expect(items.filter((p) => p.warnings.length > 0).map((p) => p.name)).toEqual(['file-mixed']);
  });

  it('says where each profile comes from (built-in, file, api) in profile list and profile show', async () => {
    const list = (await runPkimAsync(['profile', 'list'], opts)).stdout.split('\n');
    expect(list[0]).toMatch(/^NAME +SOURCE +CA /);
    const source = (name: string) => list.find((l) => l.startsWith(`${name} `))?.split(/ +/)[1];
    expect([source('tls-server'), source('file-mixed'), source('fine')]).toEqual(['built-in', 'file', 'file']);
    expect((await runPkimAsync(['profile', 'show', 'fine'], opts)).stdout).toMatch(/^source: +file$/m);
    expect((await runPkimAsync(['profile', 'show', 'root-ca'], opts)).stdout).toMatch(/^source: +built-in$/m);
  });
});
