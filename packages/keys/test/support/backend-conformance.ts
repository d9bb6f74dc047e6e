/**
 * The key-backend conformance suite: one set of behavioural tests every KeyBackend
 * (software, pkcs11, kmip) must pass. Signatures are checked by two independent verifiers:
 * node:crypto against the SubjectPublicKeyInfo, and the `openssl` command line.
 *
 * Usage (inside a *.test.ts file):
 *
 *   defineBackendConformance({
 *     name: 'software',
 *     create: async () => createSoftwareBackend({ kek, storage }),
 *     keyTypes: [...KEY_TYPES],
 *     makeWrongCredentials: async () => createSoftwareBackend({ kek: otherKek, storage }),
 *   });
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import {
  hasCapability,
  type KeyBackend,
  type KeyBackendCapability,
  type KeyDestroyer,
  type KeyRef,
  type Signer,
} from '../../src/key-backend';
import { createKeyBackends } from '../../src/key-backends';

export interface BackendConformanceOptions {
  /** Shown in the describe title: `key backend conformance: ${name}`. */
  name: string;
  /** A working backend. Created once in beforeAll, closed in afterAll. Every built-in backend can destroy keys. */
  create: () => Promise<KeyBackend & KeyDestroyer>;
  /** The optional capabilities `hasCapability` must discover on it (and no others). */
  capabilities: KeyBackendCapability[];
  /** Key types this backend must generate and sign with. */
  keyTypes: KeyType[];
  /**
   * A backend of the same kind configured against a dead endpoint (must construct without
   * throwing; operations then fail with kms.unavailable or kms.timeout, retryable).
   */
  makeUnavailable?: () => Promise<KeyBackend>;
  /** A backend of the same kind, same store/endpoint, wrong credentials (PIN, API key, KEK). */
  makeWrongCredentials?: () => Promise<KeyBackend>;
  /**
   * Builds a syntactically valid URI of this backend's scheme that names no key, from an existing
   * key. Default: replaces the longest run of hex digits (≥ 8) in the URI with fresh random hex
   * (works for `software:key_…` and UUID-based `kmip:<uuid>@server`). Pass this when the default
   * does not fit (e.g. numeric KMIP ids, `pkcs11:` URIs).
   */
  unknownKeyUri?: (existing: KeyRef) => string;
}

/** A key pair of `keyType` made by node:crypto (a key made elsewhere, to import). */
function newNodeKeyPair(keyType: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'rsa') return generateKeyPairSync('rsa', { modulusLength: info.bits! });
  if (info.algorithm === 'ec') return generateKeyPairSync('ec', { namedCurve: info.curve! });
  return generateKeyPairSync('ed25519');
}

/** Upper bound for an unreachable backend to report failure (it must not hang). */
const UNAVAILABLE_DEADLINE_MS = 30_000;

export function defineBackendConformance(opts: BackendConformanceOptions): void {
  const { name, keyTypes } = opts;
  if (keyTypes.length === 0) throw new Error('defineBackendConformance: keyTypes is empty');
  const primary: KeyType = keyTypes.includes('ec-p256') ? 'ec-p256' : keyTypes[0]!;

  describe(`key backend conformance: ${name}`, () => {
    let backend: KeyBackend & KeyDestroyer;
    const generated = new Map<string, Promise<Signer>>();
    const destroyed = new Set<string>();

    /** Generates (once) the key `slot` of `keyType`, so tests can run in any order or alone. */
    function keyFor(keyType: KeyType, slot = 'a'): Promise<Signer> {
      const k = `${keyType}/${slot}`;
      let p = generated.get(k);
      if (!p) {
        p = backend.generateKey({ keyType, label: `conformance ${name} ${keyType} ${slot}` });
        generated.set(k, p);
      }
      return p;
    }

    beforeAll(async () => {
      backend = await opts.create();
    });

    afterAll(async () => {
      if (!backend) return;
      // Best-effort cleanup of keys left in a real HSM / KMS; errors here are not the subject.
      for (const p of generated.values()) {
        const ref = await p.catch(() => undefined);
        if (ref && !destroyed.has(ref.uri)) await backend.destroy(ref.uri).catch(() => undefined);
      }
      await backend.close();
    });

    for (const keyType of keyTypes) {
      const info = KEY_TYPE_INFO[keyType];

      describe(keyType, () => {
        it(`generates a ${keyType} key with a URI the backend handles and its SubjectPublicKeyInfo`, async () => {
          const ref = await keyFor(keyType);
          expect(ref.keyType).toBe(keyType);
          expect(typeof ref.uri).toBe('string');
          expect(backend.handles(ref.uri)).toBe(true);
          expect(ref.publicKey).toBeInstanceOf(Uint8Array);
          assertSpkiMatchesKeyType(spkiKey(ref.publicKey), keyType);
        });

        it('hands out a signer handle whose signatures verify under its public key (new and re-opened)', async () => {
          const handle = await keyFor(keyType);
          expect(handle.backend).toBe(backend.name);
          const data = randomBytes(200);
          const sig = await handle.sign(data);
          expect(nodeVerify(keyType, handle.publicKey, data, sig)).toBe(true);
          expect(nodeVerify(keyType, handle.publicKey, randomBytes(200), sig)).toBe(false);
          // a handle opened later from the URI alone (as after a restart) signs with the same key
          const keys = createKeyBackends([backend]);
          const reopened = await keys.loadSigner(handle.uri, keyType);
          expect(Buffer.from(reopened.publicKey).equals(Buffer.from(handle.publicKey))).toBe(true);
          expect(nodeVerify(keyType, handle.publicKey, data, await reopened.sign(data))).toBe(true);
          const known = keys.signer({ uri: handle.uri, keyType, publicKey: handle.publicKey });
          expect(nodeVerify(keyType, handle.publicKey, data, await known.sign(data))).toBe(true);
        });

        it('returns from getPublicKey the same SubjectPublicKeyInfo as the KeyRef', async () => {
          const ref = await keyFor(keyType);
          const spki = await backend.getPublicKey(ref.uri);
          expect(Buffer.from(spki).toString('hex')).toBe(Buffer.from(ref.publicKey).toString('hex'));
        });

        it('signs data so that node:crypto verifies the X.509-ready signature against the public key', async () => {
          const ref = await keyFor(keyType);
          const data = randomBytes(300);
          const sig = await backend.sign(ref.uri, keyType, data);
          expect(sig).toBeInstanceOf(Uint8Array);
          assertSignatureShape(sig, keyType, spkiKey(ref.publicKey));
          expect(nodeVerify(keyType, ref.publicKey, data, sig)).toBe(true);
        });

        it('signs data so that openssl verifies the signature (and rejects it for other data)', async () => {
          const ref = await keyFor(keyType);
          const data = Buffer.from(`tbs bytes for ${keyType} ${randomBytes(8).toString('hex')}`);
          const sig = await backend.sign(ref.uri, keyType, data);
          const ok = await opensslVerify(keyType, ref.publicKey, data, sig);
          expect(ok.verified, `openssl said: ${ok.output}`).toBe(true);
          const other = Buffer.concat([data, Buffer.from([0])]);
          const bad = await opensslVerify(keyType, ref.publicKey, other, sig);
          expect(bad.verified, `openssl said: ${bad.output}`).toBe(false);
        });

        it('produces a signature that does not verify for other data or under another key', async () => {
          const ref = await keyFor(keyType);
          const other = await keyFor(keyType, 'b');
          expect(Buffer.from(other.publicKey).equals(Buffer.from(ref.publicKey))).toBe(false);
          const data = randomBytes(64);
          const sig = await backend.sign(ref.uri, keyType, data);
          expect(nodeVerify(keyType, ref.publicKey, data, sig)).toBe(true);
          const flipped = Buffer.from(data);
          flipped[0]! ^= 0x01;
          expect(nodeVerify(keyType, ref.publicKey, flipped, sig)).toBe(false);
          expect(nodeVerify(keyType, other.publicKey, data, sig)).toBe(false);
          // and the other key's own signature verifies only under the other key
          const sigB = await backend.sign(other.uri, keyType, data);
          expect(nodeVerify(keyType, other.publicKey, data, sigB)).toBe(true);
          expect(nodeVerify(keyType, ref.publicKey, data, sigB)).toBe(false);
        });

        it('serves 20 concurrent sign calls, each signature verifying for its own data', async () => {
          const ref = await keyFor(keyType);
          const inputs = Array.from({ length: 20 }, (_, i) => Buffer.concat([Buffer.from(`#${i}:`), randomBytes(32)]));
          const sigs = await Promise.all(inputs.map((d) => backend.sign(ref.uri, keyType, d)));
          expect(sigs).toHaveLength(20);
          sigs.forEach((sig, i) => {
            expect(nodeVerify(keyType, ref.publicKey, inputs[i]!, sig), `signature #${i}`).toBe(true);
          });
          // a signature is bound to its own input
          expect(nodeVerify(keyType, ref.publicKey, inputs[1]!, sigs[0]!)).toBe(false);
        });

        if (opts.capabilities.includes('importKey')) {
          it('imports a key made elsewhere: its public key, openssl verifies its signatures; destroyable', async () => {
            const made = newNodeKeyPair(keyType);
            const pkcs8 = new Uint8Array(made.privateKey.export({ type: 'pkcs8', format: 'der' }));
            const spki = Buffer.from(made.publicKey.export({ type: 'spki', format: 'der' }));
            // through KeyBackends: the backend's importKey and the probe signature that proves the key usable
            const imported = await createKeyBackends([backend]).importKey(backend.name, {
              keyType,
              label: `conformance ${name} ${keyType} imported`,
              pkcs8,
            });
            expect(Buffer.from(imported.publicKey).equals(spki)).toBe(true);
            expect(Buffer.from(await backend.getPublicKey(imported.uri)).equals(spki)).toBe(true);
            const data = randomBytes(80);
            const sig = await imported.sign(data);
            const ok = await opensslVerify(keyType, spki, data, sig);
            expect(ok.verified, `openssl said: ${ok.output}`).toBe(true);
            await backend.destroy(imported.uri);
            await expect(backend.sign(imported.uri, keyType, data)).rejects.toMatchObject({
              code: 'kms.key_not_found',
            });
          });
        }

        if (info.hash !== null) {
          it(`hashes with ${info.hash} as KEY_TYPE_INFO prescribes`, async () => {
            const ref = await keyFor(keyType);
            const data = randomBytes(100);
            const sig = await backend.sign(ref.uri, keyType, data);
            const wrongHash = info.hash === 'sha256' ? 'sha384' : 'sha256';
            expect(cryptoVerify(wrongHash, data, verifyKey(keyType, ref.publicKey), sig)).toBe(false);
            expect(cryptoVerify(info.hash, data, verifyKey(keyType, ref.publicKey), sig)).toBe(true);
          });
        }
      });
    }

    describe('key lifecycle and errors', () => {
      if (opts.capabilities.includes('importKey')) {
        it('refuses to import a key of another type than the one claimed, or bytes that are not PKCS#8', async () => {
          const other: KeyType = primary === 'ec-p256' ? 'ec-p384' : 'ec-p256';
          const pkcs8 = new Uint8Array(newNodeKeyPair(other).privateKey.export({ type: 'pkcs8', format: 'der' }));
          const keys = createKeyBackends([backend]);
          await expect(keys.importKey(backend.name, { keyType: primary, pkcs8 })).rejects.toMatchObject({
            code: 'input.invalid',
            message: `the key to import is not a ${primary} key`,
          });
          await expect(
            keys.importKey(backend.name, { keyType: primary, pkcs8: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]) }),
          ).rejects.toMatchObject({ code: 'input.invalid', message: 'the key to import is not a PKCS#8 private key' });
        });
      }

      it('exposes exactly its declared optional capabilities, discovered by interface', () => {
        const all: KeyBackendCapability[] = ['destroy', 'certifyRoot', 'importKey'];
        for (const c of all) expect(hasCapability(backend, c), c).toBe(opts.capabilities.includes(c));
        const keys = createKeyBackends([backend]);
        for (const c of all)
          expect(keys.capability(backend.name, c) !== undefined, c).toBe(opts.capabilities.includes(c));
      });

      it('handles URIs of its own scheme and refuses other schemes', async () => {
        const ref = await keyFor(primary);
        expect(backend.handles(ref.uri)).toBe(true);
        expect(backend.handles('nosuchscheme:key_0')).toBe(false);
        expect(backend.handles('')).toBe(false);
      });

      it('reports kms.key_not_found (not retryable) for an unknown key URI of its scheme', async () => {
        const ref = await keyFor(primary);
        const unknown = (opts.unknownKeyUri ?? defaultUnknownKeyUri)(ref);
        expect(unknown).not.toBe(ref.uri);
        expect(backend.handles(unknown)).toBe(true);
        await expectPkiError(backend.sign(unknown, primary, Buffer.from('x')), 'kms.key_not_found', false);
        await expectPkiError(backend.getPublicKey(unknown), 'kms.key_not_found', false);
      });

      it('reports kms.key_not_found for a destroyed key (sign, getPublicKey and a second destroy)', async () => {
        const ref = await backend.generateKey({ keyType: primary, label: `conformance ${name} destroy` });
        const sig = await backend.sign(ref.uri, primary, Buffer.from('before'));
        expect(nodeVerify(primary, ref.publicKey, Buffer.from('before'), sig)).toBe(true);
        await backend.destroy(ref.uri);
        destroyed.add(ref.uri);
        await expectPkiError(backend.sign(ref.uri, primary, Buffer.from('after')), 'kms.key_not_found', false);
        await expectPkiError(backend.getPublicKey(ref.uri), 'kms.key_not_found', false);
        await expectPkiError(backend.destroy(ref.uri), 'kms.key_not_found', false);
      });

      it('destroying one key leaves other keys usable', async () => {
        const keep = await keyFor(primary);
        const victim = await backend.generateKey({ keyType: primary, label: `conformance ${name} victim` });
        await backend.destroy(victim.uri);
        destroyed.add(victim.uri);
        const data = Buffer.from('still here');
        expect(nodeVerify(primary, keep.publicKey, data, await backend.sign(keep.uri, primary, data))).toBe(true);
      });

      it('reports health ok with its backend name', async () => {
        const h = await backend.health();
        expect(h.ok, `health detail: ${h.detail ?? ''}`).toBe(true);
        expect(h.backend).toBe(backend.name);
      });
    });

    if (opts.makeUnavailable) {
      const makeUnavailable = opts.makeUnavailable;
      describe('when the backend cannot be reached', () => {
        let down: KeyBackend;
        beforeAll(async () => {
          down = await makeUnavailable();
        });
        afterAll(async () => {
          await down?.close().catch(() => undefined);
        });

        it('fails sign with a retryable kms.unavailable or kms.timeout, promptly', async () => {
          const ref = await keyFor(primary);
          const t0 = Date.now();
          const err = await catchPkiError(down.sign(ref.uri, primary, Buffer.from('x')));
          expect(['kms.unavailable', 'kms.timeout']).toContain(err.code);
          expect(err.retryable).toBe(true);
          expect(err.message.length).toBeGreaterThan(10);
          expect(Date.now() - t0).toBeLessThan(UNAVAILABLE_DEADLINE_MS);
        });

        it('fails generateKey with a retryable kms.unavailable or kms.timeout', async () => {
          const err = await catchPkiError(down.generateKey({ keyType: primary, label: 'unreachable' }));
          expect(['kms.unavailable', 'kms.timeout']).toContain(err.code);
          expect(err.retryable).toBe(true);
        });

        it('reports health not ok (or throws a clear kms error)', async () => {
          let health;
          try {
            health = await down.health();
          } catch (e) {
            expect(e).toBeInstanceOf(PkiError);
            expect(['kms.unavailable', 'kms.timeout']).toContain((e as PkiError).code);
            return;
          }
          expect(health.ok).toBe(false);
          expect(health.backend).toBe(down.name);
          expect(health.detail ?? '').not.toBe('');
        });
      });
    }

    if (opts.makeWrongCredentials) {
      const makeWrongCredentials = opts.makeWrongCredentials;
      describe('with wrong credentials', () => {
        let wrong: KeyBackend;
        beforeAll(async () => {
          // make sure a key exists in the store before the wrong-credential backend is built
          await keyFor(primary);
          wrong = await makeWrongCredentials();
        });
        afterAll(async () => {
          await wrong?.close().catch(() => undefined);
        });

        it('fails sign of an existing key with kms.auth_failed, not retryable', async () => {
          const ref = await keyFor(primary);
          await expectPkiError(wrong.sign(ref.uri, primary, Buffer.from('x')), 'kms.auth_failed', false);
        });

        it('fails generateKey with kms.auth_failed, not retryable', async () => {
          await expectPkiError(
            wrong.generateKey({ keyType: primary, label: 'wrong credentials' }),
            'kms.auth_failed',
            false,
          );
        });

        it('does not report health ok', async () => {
          let health;
          try {
            health = await wrong.health();
          } catch (e) {
            expect(e).toBeInstanceOf(PkiError);
            expect((e as PkiError).code).toBe('kms.auth_failed');
            return;
          }
          expect(health.ok).toBe(false);
          expect(health.detail ?? '').not.toBe('');
        });
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// helpers (exported for backend-specific tests)

export function spkiKey(spki: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

function verifyKey(keyType: KeyType, spki: Uint8Array) {
  const key = spkiKey(spki);
  const alg = KEY_TYPE_INFO[keyType].algorithm;
  if (alg === 'ec') return { key, dsaEncoding: 'der' as const };
  if (alg === 'rsa') return { key, padding: 1 /* RSA_PKCS1_PADDING */ };
  return key;
}

/** node:crypto verification of an X.509-ready signature (ECDSA DER, RSA PKCS#1 v1.5, Ed25519). */
export function nodeVerify(keyType: KeyType, spki: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  try {
    return cryptoVerify(KEY_TYPE_INFO[keyType].hash, data, verifyKey(keyType, spki), sig);
  } catch {
    return false;
  }
}

export function assertSpkiMatchesKeyType(key: KeyObject, keyType: KeyType): void {
  const info = KEY_TYPE_INFO[keyType];
  expect(key.asymmetricKeyType).toBe(info.algorithm === 'rsa' ? 'rsa' : info.algorithm);
  if (info.algorithm === 'rsa') expect(key.asymmetricKeyDetails?.modulusLength).toBe(info.bits);
  if (info.algorithm === 'ec') expect(key.asymmetricKeyDetails?.namedCurve).toBe(info.curve);
}

function assertSignatureShape(sig: Uint8Array, keyType: KeyType, key: KeyObject): void {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'ed25519') expect(sig.length).toBe(64);
  if (info.algorithm === 'rsa') expect(sig.length).toBe((key.asymmetricKeyDetails!.modulusLength! + 7) >> 3);
  if (info.algorithm === 'ec') {
    // DER Ecdsa-Sig-Value: SEQUENCE { INTEGER r, INTEGER s }, not raw r‖s
    expect(sig[0], 'ECDSA signature must be a DER SEQUENCE').toBe(0x30);
    expect(sig[1]! + 2).toBe(sig.length);
    expect(sig[2]).toBe(0x02);
  }
}

function toPem(spki: Uint8Array): string {
  const b64 = Buffer.from(spki)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN PUBLIC KEY-----\n${b64}-----END PUBLIC KEY-----\n`;
}

/** Verifies with the openssl CLI (an independent implementation). Never throws on mismatch. */
export async function opensslVerify(
  keyType: KeyType,
  spki: Uint8Array,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<{ verified: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pkim-conformance-'));
  try {
    const pub = join(dir, 'pub.pem');
    const dataFile = join(dir, 'data.bin');
    const sigFile = join(dir, 'sig.bin');
    await writeFile(pub, toPem(spki));
    await writeFile(dataFile, data);
    await writeFile(sigFile, sig);
    const hash = KEY_TYPE_INFO[keyType].hash;
    const args =
      hash === null
        ? ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', dataFile, '-sigfile', sigFile]
        : ['dgst', `-${hash}`, '-verify', pub, '-signature', sigFile, dataFile];
    const { code, stdout, stderr } = await run('openssl', args);
    const output = `${stdout}${stderr}`.trim();
    const verified = code === 0 && /Verified OK|Signature Verified Successfully/.test(stdout);
    return { verified, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(err instanceof Error ? err : new Error('non-Error rejection'));
        return;
      } // ENOENT etc.
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export async function catchPkiError(p: Promise<unknown>): Promise<PkiError> {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    if (!(e instanceof PkiError)) {
      throw new Error(`expected a PkiError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
    return e;
  }
  throw new Error(`expected a PkiError, but the operation succeeded (${describeValue(value)})`);
}

export async function expectPkiError(p: Promise<unknown>, code: string, retryable?: boolean): Promise<PkiError> {
  const err = await catchPkiError(p);
  expect(err.code, err.message).toBe(code);
  if (retryable !== undefined) expect(err.retryable).toBe(retryable);
  expect(err.message).not.toBe('');
  return err;
}

function describeValue(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v && typeof v === 'object') return Object.keys(v).join(',');
  return String(v);
}

export function defaultUnknownKeyUri(existing: KeyRef): string {
  const runs = existing.uri.match(/[0-9a-f]{8,}/gi);
  if (!runs) {
    throw new Error(
      `cannot derive an unknown key URI from ${existing.uri}: pass unknownKeyUri to defineBackendConformance`,
    );
  }
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  let fresh = longest;
  while (fresh.toLowerCase() === longest.toLowerCase()) {
    fresh = randomBytes(longest.length).toString('hex').slice(0, longest.length);
  }
  const i = existing.uri.lastIndexOf(longest);
  return existing.uri.slice(0, i) + fresh + existing.uri.slice(i + longest.length);
}
