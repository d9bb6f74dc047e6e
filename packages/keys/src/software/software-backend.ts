import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPair,
  randomBytes,
  sign as cryptoSign,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { KEY_TYPE_INFO, PkiError, isKeyType, newId, type KeyType } from '@pkim/shared';
import {
  signerOf,
  type BackendHealth,
  type KeyBackend,
  type KeyBackendEvents,
  type KeyDestroyer,
  type KeyImporter,
  type KeyImportSpec,
  type KeyLender,
  type KeyLoanPort,
  type KeySpec,
  type Signer,
} from '../key-backend';
import type { KeyBlobStorage } from './software-key-blob-storage';
import { privateKeyToImport } from '../private-key-pem';

export interface SoftwareBackendOptions {
  /** The 32-byte key-encryption key (see loadKeyEncryptionKey). */
  kek: Uint8Array;
  storage: KeyBlobStorage;
  events?: KeyBackendEvents;
}

/** The versioned at-rest format of one software key (all binary fields base64). */
export interface SoftwareKeyBlob {
  v: 1;
  alg: 'A256GCM';
  keyType: KeyType;
  /** 12-byte GCM IV */
  iv: string;
  /** 16-byte GCM tag */
  tag: string;
  /** PKCS#8 DER private key, encrypted */
  ct: string;
  /** SubjectPublicKeyInfo DER (authenticated as AAD) */
  spki: string;
  label?: string;
}

export const SOFTWARE_URI_SCHEME = 'software:';
/** Storage id of the record that lets the backend tell a wrong KEK from a tampered blob. */
export const KEK_CHECK_ID = 'kek-check';

const KEY_ID_PATTERN = /^key_[0-9a-z]{1,64}$/;
const KEK_CHECK_LABEL = 'pkim:kek-check:v1';
const generateKeyPairAsync = promisify(generateKeyPair);

interface LoadedKey {
  keyType: KeyType;
  privateKey: KeyObject;
  spki: Uint8Array;
}

/** The node:crypto `sign` arguments of an X.509 signature with a key of this type (shared with worker threads). */
export function x509SignArguments(
  keyType: KeyType,
  key: KeyObject,
): [string | null, KeyObject | { key: KeyObject; dsaEncoding?: 'der'; padding?: number }] {
  const info = KEY_TYPE_INFO[keyType];
  return info.algorithm === 'ec'
    ? [info.hash, { key, dsaEncoding: 'der' }]
    : info.algorithm === 'rsa'
      ? [info.hash, { key, padding: constants.RSA_PKCS1_PADDING }]
      : [null, key];
}

/** Builds the `software:key_…` URI of a key id. */
export function softwareKeyUri(id: string): string {
  return `${SOFTWARE_URI_SCHEME}${id}`;
}

/** The additional authenticated data that binds a blob to its key id, type, public key and label. */
export function softwareBlobAad(id: string, blob: Pick<SoftwareKeyBlob, 'keyType' | 'spki' | 'label'>): Buffer {
  return Buffer.from(JSON.stringify(['pkim-software-key', 1, id, blob.keyType, blob.spki, blob.label ?? null]), 'utf8');
}

/**
 * Software key custody: node:crypto keys, PKCS#8 encrypted with AES-256-GCM under a KEK.
 * Decrypted keys are cached per key id (cleared on destroy/close) so `sign` is one
 * synchronous node:crypto call.
 */
export function createSoftwareBackend(
  opts: SoftwareBackendOptions,
): KeyBackend & KeyDestroyer & KeyLender & KeyImporter {
  if (!(opts.kek instanceof Uint8Array) || opts.kek.length !== 32) {
    throw new PkiError('kms.config_invalid', 'the software key backend needs a 32-byte key-encryption key', {
      details: { length: opts.kek instanceof Uint8Array ? opts.kek.length : null },
    });
  }
  const kek = createSecretKey(Buffer.from(opts.kek));
  const { storage, events } = opts;
  const cache = new Map<string, LoadedKey>();
  const loading = new Map<string, Promise<LoadedKey>>();
  /** worker threads each key was lent to (told to drop it when it is destroyed) */
  const loans = new Map<string, Set<KeyLoanPort>>();
  let kekVerified = false;
  let closed = false;

  function emit(operation: string, t0: number, uri: string | undefined, err?: unknown): void {
    if (!events?.onOperation) return;
    try {
      events.onOperation({
        backend: 'software',
        operation,
        uri,
        outcome: err === undefined ? 'success' : 'failure',
        durationMs: performance.now() - t0,
        error:
          err === undefined
            ? undefined
            : err instanceof PkiError
              ? { code: err.code, message: err.message }
              : // eslint-disable-next-line @typescript-eslint/no-base-to-string -- log text of a non-Error
                { code: 'internal.error', message: err instanceof Error ? err.message : String(err) },
      });
    } catch {
      // an observer must never break a key operation
    }
  }

  async function observe<T>(operation: string, uri: string | undefined, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      if (closed) throw new PkiError('kms.operation_failed', 'the software key backend is closed');
      const result = await fn();
      emit(operation, t0, uri, undefined);
      return result;
    } catch (e) {
      emit(operation, t0, uri, e);
      throw e;
    }
  }

  function kekMac(): Buffer {
    return createHmac('sha256', kek).update(KEK_CHECK_LABEL).digest();
  }

  /** 'match' | 'mismatch' | 'absent' for the stored KEK check record. */
  async function checkKek(): Promise<'match' | 'mismatch' | 'absent'> {
    if (kekVerified) return 'match';
    const raw = await storage.get(KEK_CHECK_ID);
    if (raw === undefined) return 'absent';
    let mac: Buffer;
    try {
      const rec = JSON.parse(raw) as { v?: unknown; mac?: unknown };
      if (rec.v !== 1 || typeof rec.mac !== 'string') throw new Error('bad record');
      mac = Buffer.from(rec.mac, 'base64');
    } catch {
      throw new PkiError('kms.operation_failed', `the key store's ${KEK_CHECK_ID} record is malformed`);
    }
    const mine = kekMac();
    const ok = mac.length === mine.length && timingSafeEqual(mac, mine);
    if (ok) kekVerified = true;
    return ok ? 'match' : 'mismatch';
  }

  /** Verifies the KEK against the store, recording it on first use of an empty store. */
  async function ensureKek(): Promise<void> {
    const state = await checkKek();
    if (state === 'match') return;
    if (state === 'mismatch') {
      throw new PkiError(
        'kms.auth_failed',
        'the key-encryption key does not match the one the software key store was created with ' +
          '(PKIM_MASTER_KEY or <dataDir>/master.key changed?)',
        { retryable: false },
      );
    }
    await storage.put(KEK_CHECK_ID, JSON.stringify({ v: 1, alg: 'HS256', mac: kekMac().toString('base64') }));
    kekVerified = true;
  }

  function parseUri(uri: string): string {
    if (typeof uri !== 'string' || !uri.startsWith(SOFTWARE_URI_SCHEME)) {
      throw new PkiError('kms.unsupported', 'the software key backend only handles software: key URIs', {
        details: { scheme: typeof uri === 'string' ? uri.split(':')[0] : typeof uri },
      });
    }
    const id = uri.slice(SOFTWARE_URI_SCHEME.length);
    if (!KEY_ID_PATTERN.test(id)) {
      throw new PkiError('kms.key_not_found', `no software key ${uri.slice(0, 100)} (malformed key id)`, {
        retryable: false,
      });
    }
    return id;
  }

  function notFound(id: string): PkiError {
    return new PkiError('kms.key_not_found', `software key ${id} does not exist (unknown or destroyed)`, {
      retryable: false,
      details: { keyId: id },
    });
  }

  function parseBlob(id: string, raw: string): { blob: SoftwareKeyBlob; iv: Buffer; tag: Buffer; ct: Buffer } {
    const malformed = (why: string): PkiError =>
      new PkiError('kms.operation_failed', `the stored blob of software key ${id} is malformed: ${why}`, {
        details: { keyId: id },
      });
    let blob: SoftwareKeyBlob;
    try {
      blob = JSON.parse(raw) as SoftwareKeyBlob;
    } catch {
      throw malformed('not JSON');
    }
    if (!blob || typeof blob !== 'object') throw malformed('not an object');
    if (blob.v !== 1) throw malformed(`unsupported version ${String(blob.v)}`);
    if (blob.alg !== 'A256GCM') throw malformed(`unsupported algorithm ${String(blob.alg)}`);
    if (!isKeyType(blob.keyType)) throw malformed(`unknown key type ${String(blob.keyType)}`);
    for (const f of ['iv', 'tag', 'ct', 'spki'] as const) {
      if (typeof blob[f] !== 'string') throw malformed(`missing ${f}`);
    }
    if (blob.label !== undefined && typeof blob.label !== 'string') throw malformed('label is not a string');
    const iv = Buffer.from(blob.iv, 'base64');
    const tag = Buffer.from(blob.tag, 'base64');
    const ct = Buffer.from(blob.ct, 'base64');
    if (iv.length !== 12) throw malformed('IV is not 12 bytes');
    if (tag.length !== 16) throw malformed('tag is not 16 bytes');
    return { blob, iv, tag, ct };
  }

  async function decryptBlob(id: string, raw: string): Promise<LoadedKey> {
    const { blob, iv, tag, ct } = parseBlob(id, raw);
    let pkcs8: Buffer;
    try {
      const d = createDecipheriv('aes-256-gcm', kek, iv, { authTagLength: 16 });
      d.setAAD(softwareBlobAad(id, blob));
      d.setAuthTag(tag);
      pkcs8 = Buffer.concat([d.update(ct), d.final()]);
    } catch {
      // Tell a wrong KEK (credentials) from a blob altered or moved to another id (integrity).
      const state = await checkKek();
      if (state === 'match') {
        throw new PkiError(
          'kms.operation_failed',
          `the stored blob of software key ${id} failed its integrity check: it was altered or belongs to ` +
            `another key id`,
          { details: { keyId: id } },
        );
      }
      throw new PkiError(
        'kms.auth_failed',
        `the key-encryption key does not decrypt key ${id} (PKIM_MASTER_KEY or <dataDir>/master.key differs ` +
          `from the one the key was created with)`,
        { retryable: false, details: { keyId: id } },
      );
    }
    try {
      const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      const spki = new Uint8Array(Buffer.from(blob.spki, 'base64'));
      const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
      if (!derived.equals(spki)) throw new Error('public key does not match the private key');
      if (privateKey.asymmetricKeyType !== KEY_TYPE_INFO[blob.keyType].algorithm) throw new Error('key type mismatch');
      return { keyType: blob.keyType, privateKey, spki };
    } catch (e) {
      throw new PkiError('kms.operation_failed', `software key ${id} is inconsistent: ${(e as Error).message}`, {
        details: { keyId: id },
      });
    } finally {
      pkcs8.fill(0);
    }
  }

  async function load(id: string): Promise<LoadedKey> {
    const hit = cache.get(id);
    if (hit) return hit;
    let p = loading.get(id);
    if (!p) {
      p = (async () => {
        const raw = await storage.get(id);
        if (raw === undefined) throw notFound(id);
        const key = await decryptBlob(id, raw);
        if (loading.get(id) === p && !closed) cache.set(id, key);
        return key;
      })();
      loading.set(id, p);
      p.then(
        () => loading.get(id) === p && loading.delete(id),
        () => loading.get(id) === p && loading.delete(id),
      );
    }
    return p;
  }

  async function generate(spec: KeySpec): Promise<Signer> {
    if (!spec || !isKeyType(spec.keyType)) {
      throw new PkiError('kms.unsupported', `unsupported key type ${String(spec?.keyType)}`, {
        details: { keyType: spec?.keyType },
      });
    }
    await ensureKek();
    const keyType = spec.keyType;
    const info = KEY_TYPE_INFO[keyType];
    const { privateKey } =
      info.algorithm === 'rsa'
        ? await generateKeyPairAsync('rsa', { modulusLength: info.bits!, publicExponent: 0x10001 })
        : info.algorithm === 'ec'
          ? await generateKeyPairAsync('ec', { namedCurve: info.curve! })
          : await generateKeyPairAsync('ed25519');
    return keep(keyType, privateKey, spec.label);
  }

  /** wraps the key under the KEK (AES-256-GCM, the blob bound to its id), stores it and caches it: a new key id */
  async function keep(keyType: KeyType, privateKey: KeyObject, label: string | undefined): Promise<Signer> {
    const id = newId('key');
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const blobBase = { keyType, spki: spki.toString('base64'), ...(label ? { label } : {}) };
    const iv = randomBytes(12);
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
    let ct: Buffer;
    let tag: Buffer;
    try {
      const c = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: 16 });
      c.setAAD(softwareBlobAad(id, blobBase));
      ct = Buffer.concat([c.update(pkcs8), c.final()]);
      tag = c.getAuthTag();
    } finally {
      pkcs8.fill(0);
    }
    const blob: SoftwareKeyBlob = {
      v: 1,
      alg: 'A256GCM',
      keyType,
      iv: iv.toString('base64'),
      tag: tag.toString('base64'),
      ct: ct.toString('base64'),
      spki: blobBase.spki,
      ...(label ? { label } : {}),
    };
    await storage.put(id, JSON.stringify(blob));
    const pub = new Uint8Array(spki);
    cache.set(id, { keyType, privateKey, spki: pub });
    return signerOf(backend, { uri: softwareKeyUri(id), keyType, publicKey: pub.slice() });
  }

  /** a key made elsewhere (an existing CA's), kept as a generated one: its type must be the one it claims */
  async function importPkcs8(spec: KeyImportSpec): Promise<Signer> {
    if (!spec || !isKeyType(spec.keyType) || !(spec.pkcs8 instanceof Uint8Array)) {
      throw new PkiError('kms.unsupported', `unsupported key type ${String(spec?.keyType)}`, {
        details: { keyType: spec?.keyType },
      });
    }
    const privateKey = privateKeyToImport(spec.pkcs8, spec.keyType);
    await ensureKek();
    return keep(spec.keyType, privateKey, spec.label);
  }

  function checkKeyType(key: LoadedKey, id: string, keyType: KeyType): void {
    if (key.keyType !== keyType) {
      throw new PkiError('kms.operation_failed', `software key ${id} is ${key.keyType}, not ${keyType}`, {
        details: { keyId: id, keyType: key.keyType, requested: keyType },
      });
    }
  }

  /** signs on libuv's thread pool (node:crypto `sign` with a callback): an RSA-4096 signature never blocks the loop */
  function signWith(key: LoadedKey, id: string, keyType: KeyType, data: Uint8Array): Promise<Uint8Array> {
    checkKeyType(key, id, keyType);
    const [hash, options] = x509SignArguments(keyType, key.privateKey);
    return new Promise((resolve, reject) => {
      cryptoSign(hash, data, options, (err, sig) => {
        if (err) reject(err);
        else resolve(new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength));
      });
    });
  }

  const backend: KeyBackend & KeyDestroyer & KeyLender & KeyImporter = {
    name: 'software',

    handles(uri: string): boolean {
      return typeof uri === 'string' && uri.startsWith(SOFTWARE_URI_SCHEME);
    },

    generateKey(spec) {
      return observe('create_key_pair', undefined, () => generate(spec));
    },

    getPublicKey(uri) {
      return observe('get', uri, async () => {
        const key = await load(parseUri(uri));
        return key.spki.slice();
      });
    },

    sign(uri, keyType, data) {
      return observe('sign', uri, async () => {
        if (!(data instanceof Uint8Array)) throw new PkiError('input.invalid', 'data to sign must be bytes');
        const id = parseUri(uri);
        const key = cache.get(id) ?? (await load(id));
        return signWith(key, id, keyType, data);
      });
    },

    importKey(spec) {
      return observe('import_key', undefined, () => importPkcs8(spec));
    },

    lendKey(uri, keyType, to) {
      return observe('lend', uri, async () => {
        const id = parseUri(uri);
        const key = cache.get(id) ?? (await load(id));
        checkKeyType(key, id, keyType);
        let ports = loans.get(uri);
        if (!ports) loans.set(uri, (ports = new Set()));
        ports.add(to);
        to.postMessage({ type: 'key', uri, keyType, key: key.privateKey });
      });
    },

    destroy(uri) {
      return observe('destroy', uri, async () => {
        const id = parseUri(uri);
        cache.delete(id);
        loading.delete(id);
        for (const port of loans.get(uri) ?? []) port.postMessage({ type: 'drop', uri });
        loans.delete(uri);
        const deleted = await storage.delete(id);
        cache.delete(id);
        if (!deleted) throw notFound(id);
      });
    },

    async health(): Promise<BackendHealth> {
      const t0 = performance.now();
      try {
        if (closed) throw new PkiError('kms.operation_failed', 'the software key backend is closed');
        await ensureKek();
        emit('health', t0, undefined);
        return { ok: true, backend: 'software' };
      } catch (e) {
        emit('health', t0, undefined, e);
        return { ok: false, backend: 'software', detail: e instanceof Error ? e.message : String(e) };
      }
    },

    async close() {
      closed = true;
      cache.clear();
      loading.clear();
      for (const [uri, ports] of loans) for (const port of ports) port.postMessage({ type: 'drop', uri });
      loans.clear();
    },
  };
  return backend;
}
