import { createDecipheriv, createPrivateKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEY_TYPES, PkiError, type KeyType } from '@pkim/shared';
import {
  createFileKeyBlobStorage,
  createKeyBackends,
  createMemoryKeyBlobStorage,
  createSoftwareBackend,
  loadKeyEncryptionKey,
  type KeyBackend,
  type KeyBackendEvents,
  type KeyBlobStorage,
} from '../src/index';
import {
  catchPkiError,
  defineBackendConformance,
  expectPkiError,
  nodeVerify,
  opensslVerify,
} from './support/backend-conformance';

const conformanceDir = mkdtempSync(join(tmpdir(), 'pkim-software-conformance-'));
afterAll(async () => {
  await rm(conformanceDir, { recursive: true, force: true });
});

const conformanceKek = randomBytes(32);
const conformanceStorage = createFileKeyBlobStorage(join(conformanceDir, 'keys'));

defineBackendConformance({
  name: 'software',
  keyTypes: [...KEY_TYPES],
  capabilities: ['destroy', 'importKey'],
  create: async () => createSoftwareBackend({ kek: conformanceKek, storage: conformanceStorage }),
  makeWrongCredentials: async () => createSoftwareBackend({ kek: randomBytes(32), storage: conformanceStorage }),
});

// ---------------------------------------------------------------------------------------------

let tmp: string;
beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pkim-software-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const idOf = (uri: string): string => uri.slice('software:'.length);

/** Decrypts a stored blob with an independent implementation of the documented format. */
function decryptIndependently(kek: Uint8Array, id: string, raw: string): { pkcs8: Buffer; key: KeyObject } {
  const b = JSON.parse(raw) as Record<string, string | number>;
  const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(b.iv as string, 'base64'), { authTagLength: 16 });
  d.setAAD(Buffer.from(JSON.stringify(['pkim-software-key', 1, id, b.keyType, b.spki, b.label ?? null]), 'utf8'));
  d.setAuthTag(Buffer.from(b.tag as string, 'base64'));
  const pkcs8 = Buffer.concat([d.update(Buffer.from(b.ct as string, 'base64')), d.final()]);
  return { pkcs8, key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) };
}

/** All byte renderings of a stored file under which key material could hide. */
async function storedRenderings(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const f of await readdir(dir)) {
    const raw = await readFile(join(dir, f));
    out.push(raw);
    try {
      const json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      for (const v of Object.values(json)) {
        if (typeof v !== 'string') continue;
        out.push(Buffer.from(v, 'base64'), Buffer.from(v, 'base64url'));
        if (/^[0-9a-f]+$/i.test(v)) out.push(Buffer.from(v, 'hex'));
      }
    } catch {
      // not JSON: raw bytes only
    }
  }
  return out;
}

describe('software backend: encryption at rest', () => {
  it.each(['ec-p256', 'ec-p384', 'rsa-2048', 'ed25519'] as KeyType[])(
    'stores a %s key only as AES-256-GCM ciphertext: neither PKCS#8 DER nor the private scalar is in the files',
    async (keyType) => {
      const kek = randomBytes(32);
      const dir = join(tmp, 'keys');
      const backend = createSoftwareBackend({ kek, storage: createFileKeyBlobStorage(dir) });
      const ref = await backend.generateKey({ keyType, label: 'at rest' });
      const id = idOf(ref.uri);
      const raw = await readFile(join(dir, `${id}.json`), 'utf8');
      const blob = JSON.parse(raw) as Record<string, unknown>;
      expect(blob).toMatchObject({ v: 1, alg: 'A256GCM', keyType, label: 'at rest' });
      expect(Buffer.from(blob.iv as string, 'base64')).toHaveLength(12);
      expect(Buffer.from(blob.tag as string, 'base64')).toHaveLength(16);
      expect(Buffer.from(blob.spki as string, 'base64').equals(Buffer.from(ref.publicKey))).toBe(true);

      // The blob decrypts (independent implementation) to the private half of ref.publicKey.
      const { pkcs8, key } = decryptIndependently(kek, id, raw);
      const data = Buffer.from('proof');
      const alg = keyType === 'ed25519' ? null : keyType === 'ec-p384' ? 'sha384' : 'sha256';
      expect(nodeVerify(keyType, ref.publicKey, data, cryptoSign(alg, data, key))).toBe(true);

      const jwk = key.export({ format: 'jwk' });
      const secrets: [string, Buffer][] = [['pkcs8', pkcs8]];
      for (const f of ['d', 'p', 'q'] as const) {
        if (jwk[f]) secrets.push([f, Buffer.from(jwk[f], 'base64url')]);
      }
      const renderings = await storedRenderings(dir);
      expect(renderings.length).toBeGreaterThan(2);
      for (const [what, secret] of secrets) {
        expect(secret.length).toBeGreaterThanOrEqual(32);
        for (const r of renderings) expect(r.includes(secret), `${what} found in a stored file`).toBe(false);
      }
      // and the search can find what is there: the SPKI is stored in the clear
      expect(renderings.some((r) => r.includes(Buffer.from(ref.publicKey)))).toBe(true);
      await backend.close();
    },
  );

  it('uses a fresh IV for every key', async () => {
    const storage = createMemoryKeyBlobStorage();
    const backend = createSoftwareBackend({ kek: randomBytes(32), storage });
    const refs = await Promise.all(Array.from({ length: 8 }, () => backend.generateKey({ keyType: 'ed25519' })));
    const ivs = new Set<string>();
    for (const r of refs) ivs.add((JSON.parse((await storage.get(idOf(r.uri)))!) as { iv: string }).iv);
    expect(ivs.size).toBe(8);
  });
});

describe('software backend: key-encryption key and blob integrity', () => {
  it('refuses a wrong KEK with kms.auth_failed saying the KEK does not decrypt the key', async () => {
    const storage = createMemoryKeyBlobStorage();
    const good = createSoftwareBackend({ kek: randomBytes(32), storage });
    const ref = await good.generateKey({ keyType: 'ec-p256' });
    const wrong = createSoftwareBackend({ kek: randomBytes(32), storage });
    const err = await expectPkiError(wrong.sign(ref.uri, 'ec-p256', Buffer.from('x')), 'kms.auth_failed', false);
    expect(err.message).toContain(`does not decrypt key ${idOf(ref.uri)}`);
    expect((await wrong.health()).ok).toBe(false);
    expect((await good.health()).ok).toBe(true);
  });

  it('still reports a wrong KEK as kms.auth_failed when the KEK check record is missing', async () => {
    const storage = createMemoryKeyBlobStorage();
    const ref = await createSoftwareBackend({ kek: randomBytes(32), storage }).generateKey({ keyType: 'ed25519' });
    expect(await storage.delete('kek-check')).toBe(true);
    const wrong = createSoftwareBackend({ kek: randomBytes(32), storage });
    await expectPkiError(wrong.sign(ref.uri, 'ed25519', Buffer.from('x')), 'kms.auth_failed', false);
  });

  it('refuses a blob swapped in from another key id with an integrity error, not a signature', async () => {
    const kek = randomBytes(32);
    const storage = createMemoryKeyBlobStorage();
    const a = await createSoftwareBackend({ kek, storage }).generateKey({ keyType: 'ec-p256' });
    const b = await createSoftwareBackend({ kek, storage }).generateKey({ keyType: 'ec-p256' });
    await storage.put(idOf(b.uri), (await storage.get(idOf(a.uri)))!);
    const fresh = createSoftwareBackend({ kek, storage }); // empty cache
    const err = await expectPkiError(fresh.sign(b.uri, 'ec-p256', Buffer.from('x')), 'kms.operation_failed', false);
    expect(err.message).toMatch(/integrity check/);
    await expectPkiError(fresh.getPublicKey(b.uri), 'kms.operation_failed');
    // the untouched key still works
    const sig = await fresh.sign(a.uri, 'ec-p256', Buffer.from('x'));
    expect(nodeVerify('ec-p256', a.publicKey, Buffer.from('x'), sig)).toBe(true);
  });

  it.each([
    [
      'a flipped ciphertext byte',
      (b: Record<string, unknown>) => {
        const ct = Buffer.from(b.ct as string, 'base64');
        ct[5]! ^= 0x80;
        b.ct = ct.toString('base64');
      },
    ],
    [
      'a flipped tag byte',
      (b: Record<string, unknown>) => {
        const t = Buffer.from(b.tag as string, 'base64');
        t[0]! ^= 1;
        b.tag = t.toString('base64');
      },
    ],
    [
      'a relabelled key type',
      (b: Record<string, unknown>) => {
        b.keyType = 'ec-p384';
      },
    ],
    [
      'a substituted public key',
      (b: Record<string, unknown>, other: string) => {
        b.spki = other;
      },
    ],
    [
      'a changed label',
      (b: Record<string, unknown>) => {
        b.label = 'evil';
      },
    ],
  ] as const)('refuses a blob with %s (kms.operation_failed, integrity)', async (_what, mutate) => {
    const kek = randomBytes(32);
    const storage = createMemoryKeyBlobStorage();
    const creator = createSoftwareBackend({ kek, storage });
    const ref = await creator.generateKey({ keyType: 'ec-p256', label: 'ca' });
    const other = await creator.generateKey({ keyType: 'ec-p256' });
    const blob = JSON.parse((await storage.get(idOf(ref.uri)))!) as Record<string, unknown>;
    mutate(blob, Buffer.from(other.publicKey).toString('base64'));
    await storage.put(idOf(ref.uri), JSON.stringify(blob));
    const fresh = createSoftwareBackend({ kek, storage });
    const err = await expectPkiError(fresh.getPublicKey(ref.uri), 'kms.operation_failed');
    expect(err.message).toMatch(/integrity check/);
    await expectPkiError(fresh.sign(ref.uri, 'ec-p256', Buffer.from('x')), 'kms.operation_failed');
  });

  it('refuses malformed blobs with a message naming the key and the problem', async () => {
    const kek = randomBytes(32);
    const storage = createMemoryKeyBlobStorage();
    const ref = await createSoftwareBackend({ kek, storage }).generateKey({ keyType: 'ed25519' });
    const id = idOf(ref.uri);
    const original = JSON.parse((await storage.get(id))!) as Record<string, unknown>;
    const cases: [string, RegExp][] = [
      ['{not json', /malformed: not JSON/],
      [JSON.stringify({ ...original, v: 2 }), /unsupported version 2/],
      [JSON.stringify({ ...original, alg: 'A128CBC' }), /unsupported algorithm/],
      [JSON.stringify({ ...original, iv: Buffer.alloc(8).toString('base64') }), /IV is not 12 bytes/],
      [JSON.stringify({ ...original, keyType: 'dsa-1024' }), /unknown key type/],
    ];
    for (const [raw, message] of cases) {
      await storage.put(id, raw);
      const err = await expectPkiError(
        createSoftwareBackend({ kek, storage }).getPublicKey(ref.uri),
        'kms.operation_failed',
      );
      expect(err.message).toContain(id);
      expect(err.message).toMatch(message);
    }
  });

  it('rejects a KEK that is not 32 bytes with kms.config_invalid', () => {
    for (const n of [0, 16, 31, 33]) {
      expect(() => createSoftwareBackend({ kek: randomBytes(n), storage: createMemoryKeyBlobStorage() })).toThrow(
        expect.objectContaining({ code: 'kms.config_invalid' }),
      );
    }
  });
});

describe('software backend: behaviour', () => {
  function countingStorage(): KeyBlobStorage & { gets: number } {
    const inner = createMemoryKeyBlobStorage();
    const s = {
      gets: 0,
      get: (id: string) => {
        s.gets++;
        return inner.get(id);
      },
      put: (id: string, data: string) => inner.put(id, data),
      delete: (id: string) => inner.delete(id),
    };
    return s;
  }

  it('decrypts a key once and signs later requests from the cache, dropping it on destroy', async () => {
    const kek = randomBytes(32);
    const storage = countingStorage();
    const ref = await createSoftwareBackend({ kek, storage }).generateKey({ keyType: 'ec-p256' });
    const backend = createSoftwareBackend({ kek, storage });
    const before = storage.gets;
    const sigs = await Promise.all(
      Array.from({ length: 10 }, () => backend.sign(ref.uri, 'ec-p256', Buffer.from('d'))),
    );
    for (let i = 0; i < 10; i++) await backend.sign(ref.uri, 'ec-p256', Buffer.from('d'));
    // exactly one blob read: concurrent first uses share it, later signs hit the cache
    expect(storage.gets - before).toBe(1);
    sigs.forEach((s) => expect(nodeVerify('ec-p256', ref.publicKey, Buffer.from('d'), s)).toBe(true));
    await backend.destroy(ref.uri);
    await expectPkiError(backend.sign(ref.uri, 'ec-p256', Buffer.from('d')), 'kms.key_not_found');
  });

  it('refuses to sign with a key type other than the key has', async () => {
    const backend = createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    const ref = await backend.generateKey({ keyType: 'ec-p256' });
    const err = await expectPkiError(backend.sign(ref.uri, 'ec-p384', Buffer.from('x')), 'kms.operation_failed');
    expect(err.message).toMatch(/is ec-p256, not ec-p384/);
  });

  it('refuses an unsupported key type with kms.unsupported', async () => {
    const backend = createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    await expectPkiError(backend.generateKey({ keyType: 'dsa-1024' as KeyType }), 'kms.unsupported', false);
  });

  it('treats a malformed software URI as an unknown key and a foreign URI as unsupported', async () => {
    const backend = createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    await expectPkiError(backend.sign('software:../../etc/passwd', 'ec-p256', Buffer.from('x')), 'kms.key_not_found');
    await expectPkiError(backend.sign('pkcs11:token=a;object=b', 'ec-p256', Buffer.from('x')), 'kms.unsupported');
    expect(backend.handles('pkcs11:token=a')).toBe(false);
  });

  it('reports each operation to events.onOperation without key material', async () => {
    const seen: Parameters<NonNullable<KeyBackendEvents['onOperation']>>[0][] = [];
    const backend = createSoftwareBackend({
      kek: randomBytes(32),
      storage: createMemoryKeyBlobStorage(),
      events: { onOperation: (e) => seen.push(e) },
    });
    const ref = await backend.generateKey({ keyType: 'ed25519' });
    await backend.sign(ref.uri, 'ed25519', Buffer.from('x'));
    await backend.getPublicKey(ref.uri);
    await backend.destroy(ref.uri);
    await catchPkiError(backend.sign(ref.uri, 'ed25519', Buffer.from('x')));
    expect(seen.map((e) => `${e.operation}:${e.outcome}`)).toEqual([
      'create_key_pair:success',
      'sign:success',
      'get:success',
      'destroy:success',
      'sign:failure',
    ]);
    expect(seen.every((e) => e.backend === 'software' && e.durationMs >= 0)).toBe(true);
    expect(seen[1]!.uri).toBe(ref.uri);
    expect(seen[4]!.error?.code).toBe('kms.key_not_found');
    expect(Object.keys(seen[1]!).sort()).toEqual(['backend', 'durationMs', 'error', 'operation', 'outcome', 'uri']);
  });

  it("reports a loaded key's refused signature as a failed sign, rejected (never thrown)", async () => {
    const seen: Parameters<NonNullable<KeyBackendEvents['onOperation']>>[0][] = [];
    const backend = createSoftwareBackend({
      kek: randomBytes(32),
      storage: createMemoryKeyBlobStorage(),
      events: { onOperation: (e) => seen.push(e) },
    });
    const ref = await backend.generateKey({ keyType: 'ec-p256' }); // loaded: signed without reading its blob
    let refused: Promise<Uint8Array> | undefined;
    expect(() => (refused = backend.sign(ref.uri, 'ed25519', Buffer.from('x')))).not.toThrow();
    await expectPkiError(refused!, 'kms.operation_failed');
    const sig = await backend.sign(ref.uri, 'ec-p256', Buffer.from('x'));
    expect(nodeVerify('ec-p256', ref.publicKey, Buffer.from('x'), sig)).toBe(true);
    expect(seen.map((e) => `${e.operation}:${e.outcome}:${e.error?.code ?? ''}`)).toEqual([
      'create_key_pair:success:',
      'sign:failure:kms.operation_failed',
      'sign:success:',
    ]);
    expect(seen.every((e) => e.uri === undefined || e.uri === ref.uri)).toBe(true);
  });

  it('keeps working when an event observer throws', async () => {
    const backend = createSoftwareBackend({
      kek: randomBytes(32),
      storage: createMemoryKeyBlobStorage(),
      events: {
        onOperation: () => {
          throw new Error('observer bug');
        },
      },
    });
    const ref = await backend.generateKey({ keyType: 'ec-p256' });
    const sig = await backend.sign(ref.uri, 'ec-p256', Buffer.from('x'));
    expect(nodeVerify('ec-p256', ref.publicKey, Buffer.from('x'), sig)).toBe(true);
  });

  it('refuses operations after close', async () => {
    const backend = createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    const ref = await backend.generateKey({ keyType: 'ec-p256' });
    await backend.close();
    await expectPkiError(backend.sign(ref.uri, 'ec-p256', Buffer.from('x')), 'kms.operation_failed');
    expect((await backend.health()).ok).toBe(false);
  });

  it('keeps keys usable across backend instances sharing a file store (restart)', async () => {
    const kek = randomBytes(32);
    const dir = join(tmp, 'keys');
    const first = createSoftwareBackend({ kek, storage: createFileKeyBlobStorage(dir) });
    const ref = await first.generateKey({ keyType: 'rsa-2048' });
    await first.close();
    const second = createSoftwareBackend({ kek, storage: createFileKeyBlobStorage(dir) });
    const data = Buffer.from('after restart');
    const sig = await second.sign(ref.uri, 'rsa-2048', data);
    expect((await opensslVerify('rsa-2048', ref.publicKey, data, sig)).verified).toBe(true);
  });
});

describe('file key blob storage', () => {
  it('creates the directory 0700 and each blob file 0600, leaving no temp files', async () => {
    const dir = join(tmp, 'nested', 'keys');
    const storage = createFileKeyBlobStorage(dir);
    const backend = createSoftwareBackend({ kek: randomBytes(32), storage });
    const refs = await Promise.all([
      backend.generateKey({ keyType: 'ec-p256' }),
      backend.generateKey({ keyType: 'ed25519' }),
    ]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = await readdir(dir);
    expect(files.sort()).toEqual(['kek-check.json', ...refs.map((r) => `${idOf(r.uri)}.json`)].sort());
    for (const f of files) expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600);
  });

  it('reads back, overwrites atomically and deletes blobs', async () => {
    const storage = createFileKeyBlobStorage(join(tmp, 'k'));
    expect(await storage.get('key_missing')).toBeUndefined();
    await storage.put('key_a', 'one');
    await storage.put('key_a', 'two');
    expect(await storage.get('key_a')).toBe('two');
    expect(await storage.delete('key_a')).toBe(true);
    expect(await storage.delete('key_a')).toBe(false);
    expect(await storage.get('key_a')).toBeUndefined();
    expect(await readdir(join(tmp, 'k'))).toEqual([]);
  });

  it('refuses ids that could escape the directory', async () => {
    const storage = createFileKeyBlobStorage(join(tmp, 'k'));
    for (const id of ['../x', 'a/b', '', '.hidden']) {
      await expectPkiError(storage.put(id, 'x'), 'input.invalid');
    }
    await expect(readdir(tmp)).resolves.toEqual([]); // nothing written, not even outside the directory
  });
});

describe('loadKeyEncryptionKey', () => {
  it('uses PKIM_MASTER_KEY when set and does not create master.key', async () => {
    const key = randomBytes(32);
    const dataDir = join(tmp, 'data');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'master.key'), randomBytes(32).toString('base64'), { mode: 0o600 });
    const r = await loadKeyEncryptionKey({ envValue: key.toString('base64'), dataDir });
    expect(r.source).toBe('env');
    expect(r.created).toBe(false);
    expect(Buffer.from(r.kek).equals(key)).toBe(true);

    const other = join(tmp, 'other');
    await loadKeyEncryptionKey({ envValue: key.toString('base64'), dataDir: other });
    await expect(stat(join(other, 'master.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64'), /decodes to 16 bytes.*exactly 32/],
    ['33 bytes', randomBytes(33).toString('base64'), /decodes to 33 bytes/],
    ['not base64', 'this is not base64!', /not valid base64/],
    ['hex instead of base64', randomBytes(32).toString('hex'), /decodes to 48 bytes/],
  ])('rejects a PKIM_MASTER_KEY of %s with kms.config_invalid', async (_what, envValue, message) => {
    const err = await expectPkiError(
      loadKeyEncryptionKey({ envValue, dataDir: join(tmp, 'd') }),
      'kms.config_invalid',
      false,
    );
    expect(err.message).toMatch(message);
    expect(err.message).toContain('PKIM_MASTER_KEY');
    expect(err.message).not.toContain(envValue);
  });

  it('refuses a PKIM_MASTER_KEY set but empty or blank (kms.master_key_empty), creating nothing', async () => {
    const dataDir = join(tmp, 'empty-env', 'data');
    for (const envValue of ['', '  \n']) {
      const err = await expectPkiError(loadKeyEncryptionKey({ envValue, dataDir }), 'kms.master_key_empty', false);
      expect(err.message).toContain(`or unset it to use ${join(dataDir, 'master.key')}`);
    }
    await expect(stat(join(tmp, 'empty-env'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates <dataDir>/master.key (mode 0600, dataDir 0700) on first use and reuses it', async () => {
    const dataDir = join(tmp, 'fresh', 'data');
    const first = await loadKeyEncryptionKey({ dataDir });
    expect(first).toMatchObject({ source: 'file', created: true });
    expect(first.kek).toHaveLength(32);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const file = join(dataDir, 'master.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').equals(Buffer.from(first.kek))).toBe(true);

    const second = await loadKeyEncryptionKey({ dataDir });
    expect(second).toMatchObject({ source: 'file', created: false });
    expect(Buffer.from(second.kek).equals(Buffer.from(first.kek))).toBe(true);
    expect(await readdir(dataDir)).toEqual(['master.key']);
  });

  it('gives concurrent first loads the same key', async () => {
    const dataDir = join(tmp, 'race');
    const results = await Promise.all(Array.from({ length: 6 }, () => loadKeyEncryptionKey({ dataDir })));
    const keys = new Set(results.map((r) => Buffer.from(r.kek).toString('hex')));
    expect(keys.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('refuses a master.key readable by group or others and says how to fix it', async () => {
    const dataDir = join(tmp, 'loose');
    await loadKeyEncryptionKey({ dataDir });
    const file = join(dataDir, 'master.key');
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(file, mode);
      const err = await expectPkiError(loadKeyEncryptionKey({ dataDir }), 'kms.config_invalid');
      expect(err.message).toContain(`chmod 600 ${file}`);
      expect(err.message).toContain(mode.toString(8));
    }
    await chmod(file, 0o600);
    await expect(loadKeyEncryptionKey({ dataDir })).resolves.toMatchObject({ source: 'file', created: false });
  });

  it('refuses a master.key that does not hold 32 base64 bytes', async () => {
    const dataDir = join(tmp, 'short');
    await mkdir(dataDir, { mode: 0o700 });
    await writeFile(join(dataDir, 'master.key'), `${randomBytes(20).toString('base64')}\n`, { mode: 0o600 });
    const err = await expectPkiError(loadKeyEncryptionKey({ dataDir }), 'kms.config_invalid');
    expect(err.message).toMatch(/master key file .* decodes to 20 bytes/);
  });

  it('produces a KEK the software backend accepts, and a changed KEK is detected', async () => {
    const dataDir = join(tmp, 'kek-roundtrip');
    const storage = createFileKeyBlobStorage(join(dataDir, 'keys'));
    const { kek } = await loadKeyEncryptionKey({ dataDir });
    const ref = await createSoftwareBackend({ kek, storage }).generateKey({ keyType: 'ec-p384' });
    const again = await loadKeyEncryptionKey({ dataDir });
    const sig = await createSoftwareBackend({ kek: again.kek, storage }).sign(ref.uri, 'ec-p384', Buffer.from('x'));
    expect(nodeVerify('ec-p384', ref.publicKey, Buffer.from('x'), sig)).toBe(true);
    const fromEnv = await loadKeyEncryptionKey({ dataDir, envValue: randomBytes(32).toString('base64') });
    await expectPkiError(
      createSoftwareBackend({ kek: fromEnv.kek, storage }).sign(ref.uri, 'ec-p384', Buffer.from('x')),
      'kms.auth_failed',
    );
  });
});

describe('createKeyBackends (router)', () => {
  /**
   * A second backend under another scheme for dispatch tests: a real software backend whose URIs
   * are presented as `kmip:` URIs (the real KMIP backend needs a server).
   */
  function renamedSoftwareBackend(name: 'kmip' | 'pkcs11', opts: { healthThrows?: boolean } = {}): KeyBackend {
    const inner = createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    const prefix = `${name}:`;
    const toInner = (uri: string): string => `software:${uri.slice(prefix.length)}`;
    return {
      name,
      handles: (uri) => uri.startsWith(prefix),
      generateKey: async (spec) => {
        const ref = await inner.generateKey(spec);
        return { ...ref, uri: `${prefix}${idOf(ref.uri)}` };
      },
      getPublicKey: (uri) => inner.getPublicKey(toInner(uri)),
      sign: (uri, keyType, data) => inner.sign(toInner(uri), keyType, data),
      destroy: (uri) => inner.destroy(toInner(uri)),
      health: async () => {
        if (opts.healthThrows) throw new Error('connection refused');
        return { ...(await inner.health()), backend: name };
      },
      close: () => inner.close(),
    };
  }

  it('dispatches sign, getPublicKey and destroy by URI scheme', async () => {
    const software = createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    const kmip = renamedSoftwareBackend('kmip');
    const router = createKeyBackends([software, kmip]);
    expect(router.names()).toEqual(['software', 'kmip']);
    const a = await router.get('software').generateKey({ keyType: 'ec-p256' });
    const b = await router.get('kmip').generateKey({ keyType: 'ed25519' });
    expect(router.forUri(a.uri)).toBe(software);
    expect(router.forUri(b.uri)).toBe(kmip);
    const data = Buffer.from('routed');
    const sign = async (uri: string, keyType: KeyType, d: Uint8Array) =>
      (await router.loadSigner(uri, keyType)).sign(d);
    expect(nodeVerify('ec-p256', a.publicKey, data, await router.signer(a).sign(data))).toBe(true);
    expect(nodeVerify('ed25519', b.publicKey, data, await router.signer(b).sign(data))).toBe(true);
    expect(Buffer.from(await router.getPublicKey(b.uri)).equals(Buffer.from(b.publicKey))).toBe(true);
    // the key of one backend is unknown to the other
    await expectPkiError(sign(`software:${b.uri.slice('kmip:'.length)}`, 'ed25519', data), 'kms.key_not_found');
    await router.destroy(b.uri);
    await expectPkiError(router.signer(b).sign(data), 'kms.key_not_found');
    await expect(sign(a.uri, 'ec-p256', data)).resolves.toBeInstanceOf(Uint8Array);
    await router.close();
  });

  it('names the missing configuration for a backend that is not configured', async () => {
    const router = createKeyBackends([
      createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() }),
    ]);
    const err = (() => {
      try {
        router.get('pkcs11');
      } catch (e) {
        return e as PkiError;
      }
      throw new Error('expected get(pkcs11) to throw');
    })();
    expect(err.code).toBe('kms.config_invalid');
    expect(err.message).toMatch(/backend pkcs11 is not configured: set PKIM_PKCS11_MODULE/);
    const viaUri = await expectPkiError(
      router.loadSigner('pkcs11:token=x;object=y;pin-value=1234', 'ec-p256'),
      'kms.config_invalid',
    );
    expect(viaUri.message).toMatch(/backend pkcs11 is not configured/);
    expect(viaUri.message).not.toContain('1234');
    await expectPkiError(router.getPublicKey('kmip:123@host'), 'kms.config_invalid');
  });

  it('refuses an unknown URI scheme with kms.unsupported', async () => {
    const router = createKeyBackends([
      createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() }),
    ]);
    const err = await expectPkiError(router.loadSigner('vault:transit/keys/ca', 'ec-p256'), 'kms.unsupported');
    expect(err.message).toMatch(/unknown key URI scheme vault:/);
    await expectPkiError(router.destroy('no-scheme-at-all'), 'kms.unsupported');
    expect(() => router.forUri('vault:x')).toThrow(PkiError);
  });

  it('refuses two backends of the same name', () => {
    const mk = () => createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    expect(() => createKeyBackends([mk(), mk()])).toThrow(expect.objectContaining({ code: 'kms.config_invalid' }));
  });

  it('reports health per backend, turning a throwing health() into not ok', async () => {
    const router = createKeyBackends([
      createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() }),
      renamedSoftwareBackend('pkcs11', { healthThrows: true }),
    ]);
    expect(await router.health()).toEqual([
      { ok: true, backend: 'software' },
      { ok: false, backend: 'pkcs11', detail: 'connection refused' },
    ]);
  });

  it('closes every backend', async () => {
    const software = createSoftwareBackend({ kek: randomBytes(32), storage: createMemoryKeyBlobStorage() });
    const router = createKeyBackends([software, renamedSoftwareBackend('kmip')]);
    await router.close();
    expect((await router.health()).map((h) => h.ok)).toEqual([false, false]);
  });
});
