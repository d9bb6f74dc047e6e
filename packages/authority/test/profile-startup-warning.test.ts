// A profile whose key usage a key type it allows cannot carry (keyEncipherment with an EC key) can never issue for
// that key type: the API refuses to write one (profile-service.ts), but the profiles file's and those stored before
// are not refused at start-up (they still issue for their other key types) — each is named in one warning then,
// with its source and every clash (profile-service.ts warnImpossibleProfiles).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuthority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { parseProfile } from '@pkim/core';

const BASE = {
  isCa: false,
  extKeyUsage: ['serverAuth'],
  allowedSanTypes: ['dns'],
  sanRequired: false,
  defaultLifetimeMs: 86_400_000,
  maxLifetimeMs: 7 * 86_400_000,
};
const FROM_FILE = {
  ...BASE,
  name: 'file-mixed',
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  allowedKeyTypes: ['ec-p256', 'rsa-2048'],
};
const STORED = { ...BASE, name: 'stored-rsa', keyUsage: ['keyAgreement'], allowedKeyTypes: ['rsa-2048'] };
const FINE = { ...BASE, name: 'fine', keyUsage: ['digitalSignature'], allowedKeyTypes: ['ec-p256', 'rsa-2048'] };

async function openWithLog(dataDir: string) {
  const lines: { level: number; msg: string; profile?: string; source?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as (typeof lines)[0]);
      done();
    },
  });
  const authority = await createAuthority({
    dataDir,
    logger: pino({ level: 'warn' }, sink),
    masterKey: Buffer.alloc(32, 7).toString('base64'),
  });
  return { authority, warnings: () => lines.filter((l) => l.level === 40 && l.msg.startsWith("profile '")) };
}

describe('profiles that cannot issue for a key type they allow: a warning at start-up', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pkim-profile-warn-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("names the file's and the stored ones, each clash, and starts (they issue for other key types)", async () => {
    writeFileSync(join(dataDir, 'profiles.json'), JSON.stringify([FROM_FILE, FINE]));
    const first = await openWithLog(dataDir);
    try {
      expect(first.warnings().map((w) => [w.profile, w.source])).toEqual([['file-mixed', 'file']]);
      expect(first.warnings()[0]!.msg).toContain('keyUsage: keyEncipherment is not possible with ec-p256 keys');
      // a profile stored before the API refused such ones (written as the profile service stores it)
      const stored = await parseProfile(STORED);
      await internalsOf(first.authority).store.commit({
        setSettings: { [`profile.${STORED.name}`]: JSON.stringify(stored) },
      });
    } finally {
      await first.authority.close();
    }
    const second = await openWithLog(dataDir);
    try {
      expect(second.warnings().map((w) => [w.profile, w.source])).toEqual([
        ['file-mixed', 'file'],
        ['stored-rsa', 'api'],
      ]);
      expect(second.warnings()[1]!.msg).toContain('keyUsage: keyAgreement is not possible with rsa-2048 keys');
      expect(second.warnings()[1]!.msg).toContain('pkim profile update stored-rsa');
      const admin = { id: 'usr_admin0', name: 'alice', role: 'admin' } as const;
      expect((await second.authority.profileCatalog.list(admin)).map((e) => e.profile.name)).toEqual(
        expect.arrayContaining(['file-mixed', 'stored-rsa', 'fine']),
      );
    } finally {
      await second.authority.close();
    }
  });
});
