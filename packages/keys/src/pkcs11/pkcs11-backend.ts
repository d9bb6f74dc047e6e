/**
 * PKCS#11 key backend (graphene-pk11 over pkcs11js), tested against SoftHSM2. The parts:
 *
 * - pkcs11-module.ts       one module initialisation per module path per process, shared logins
 * - pkcs11-session-pool.ts the token connection: one C_Login ever, a pool of sessions, reconnects
 * - pkcs11-key-lookup.ts   RFC 7512 URI → key objects (by CKA_ID), cached handles
 * - pkcs11-mechanisms.ts   key types → templates and mechanisms, SPKI, ECDSA DER signatures
 *
 * Keys are generated on the token: RSA 2048/3072/4096 and EC P-256/P-384. Ed25519 → `kms.unsupported`:
 * SoftHSM 2.6.1 lists CKM_EC_EDWARDS_KEY_PAIR_GEN/CKM_EDDSA, but its EdDSA support varies with the
 * OpenSSL it was built against and the CKA_EC_PARAMS/CKA_EC_POINT encodings differ between HSM
 * vendors (OID vs. printable curve name, raw vs. wrapped point), so PKI Manager does not offer it
 * through PKCS#11 yet. Long operations (key generation, signing) run on the libuv thread pool
 * (pkcs11js async calls) so the event loop is not blocked.
 *
 * Errors: module missing/unloadable → `kms.config_invalid` (the factory rejects). Wrong PIN →
 * `kms.auth_failed` (the factory makes exactly one C_Login attempt and resolves; every operation
 * then fails with that error and health() reports it). Token label or slot not found →
 * `kms.unavailable` (retryable; the message lists the tokens present): the factory resolves, each
 * operation tries to connect once. Token removed / session lost → `kms.unavailable`, the next
 * operation reconnects.
 */
import { randomBytes } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import {
  signerOf,
  type BackendHealth,
  type KeyBackend,
  type KeyBackendEvents,
  type KeyDestroyer,
  type KeyImporter,
  type KeyImportSpec,
  type KeySpec,
  type Signer,
} from '../key-backend';
import { privateKeyToImport } from '../private-key-pem';
import { isKeyGoneCkr, ckrName, toPkcs11PkiError } from './pkcs11-errors';
import { createPkcs11KeyLookup, findObjects, keySelectorOf } from './pkcs11-key-lookup';
import {
  assertPkcs11KeyType,
  importedKeyTemplates,
  keyPairTemplates,
  publicKeyDer,
  runAsync,
  signWithMechanism,
} from './pkcs11-mechanisms';
import { createPkcs11SessionPool } from './pkcs11-session-pool';
import { formatPkcs11Uri, isPkcs11Uri } from './pkcs11-uri';

export interface Pkcs11BackendOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** Token label (preferred). */
  tokenLabel?: string;
  /** CK_SLOT_ID (decimal, as `softhsm2-util --show-slots` / `pkcs11-tool -L` print it); used when no tokenLabel. */
  slot?: number;
  /** User PIN. Never logged, never part of an error. */
  pin: string;
  /** Where the PIN came from (a setting's name, never the PIN), named by a wrong PIN's kms.auth_failed message. */
  pinSource?: string;
  events?: KeyBackendEvents;
  /** Sessions kept open for concurrent operations (default 2). */
  sessions?: number;
}

const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Creates a PKCS#11 backend. Async: it loads the module and logs in before resolving (see the
 * file comment for which failures reject and which leave a disconnected backend that reconnects).
 */
export async function createPkcs11Backend(
  opts: Pkcs11BackendOptions,
): Promise<KeyBackend & KeyDestroyer & KeyImporter> {
  if (!opts.modulePath) throw new PkiError('kms.config_invalid', 'PKCS#11 backend: modulePath is required');
  if (opts.tokenLabel === undefined && opts.slot === undefined) {
    throw new PkiError('kms.config_invalid', 'PKCS#11 backend: set tokenLabel (preferred) or slot');
  }
  if (typeof opts.pin !== 'string' || opts.pin === '')
    throw new PkiError('kms.config_invalid', 'PKCS#11 backend: the PIN is empty');

  const emit = (
    operation: string,
    started: number,
    outcome: 'success' | 'failure',
    extra: { uri?: string; error?: PkiError; attempt?: number } = {},
  ): void => {
    try {
      opts.events?.onOperation?.({
        backend: 'pkcs11',
        operation,
        ...(extra.uri !== undefined ? { uri: extra.uri } : {}),
        outcome,
        ...(extra.attempt !== undefined ? { attempt: extra.attempt } : {}),
        durationMs: performance.now() - started,
        ...(extra.error ? { error: { code: extra.error.code, message: extra.error.message } } : {}),
      });
    } catch {
      // observers must not break key operations
    }
  };

  const keys = createPkcs11KeyLookup();
  const pool = createPkcs11SessionPool({
    modulePath: opts.modulePath,
    ...(opts.tokenLabel !== undefined ? { tokenLabel: opts.tokenLabel } : {}),
    ...(opts.slot !== undefined ? { slot: opts.slot } : {}),
    pin: opts.pin,
    ...(opts.pinSource !== undefined ? { pinSource: opts.pinSource } : {}),
    sessions: Math.max(1, Math.floor(opts.sessions ?? 2)),
    onLogin: (outcome, started, attempt, error) => emit('login', started, outcome, { attempt, error }),
    onReset: () => keys.clear(),
  });

  async function track<T>(operation: string, uri: string | undefined, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const out = await fn();
      emit(operation, started, 'success', { uri });
      return out;
    } catch (e) {
      const err = toPkcs11PkiError(e, operation);
      emit(operation, started, 'failure', { uri, error: err });
      throw err;
    }
  }

  const backend: KeyBackend & KeyDestroyer & KeyImporter = {
    name: 'pkcs11',

    handles(uri: string): boolean {
      return isPkcs11Uri(uri);
    },

    generateKey(spec: KeySpec): Promise<Signer> {
      return track('create_key_pair', undefined, async () => {
        assertPkcs11KeyType(spec.keyType);
        return pool.withSession('key generation', async (session, c) => {
          const id = randomBytes(16);
          const label = spec.label ?? `pkim-${spec.keyType}-${hex(id).slice(0, 8)}`;
          const { mechanism, publicTemplate, privateTemplate } = keyPairTemplates(spec.keyType, id, label);
          const pair = await runAsync<graphene.IKeyPair>((cb) =>
            session.generateKeyPair(mechanism, publicTemplate, privateTemplate, cb),
          );
          const uri = formatPkcs11Uri({ token: c.tokenLabel, id, object: label });
          try {
            const publicKey = publicKeyDer(pair.publicKey, spec.keyType, uri);
            keys.remember(uri, { handle: pair.privateKey.handle, keyType: spec.keyType });
            return signerOf(backend, { uri, keyType: spec.keyType, publicKey });
          } catch (e) {
            for (const o of [pair.privateKey, pair.publicKey]) {
              try {
                o.destroy();
              } catch {
                // best effort
              }
            }
            throw e;
          }
        });
      });
    },

    /**
     * C_CreateObject of the private key (token, private, sensitive, non-extractable, sign-only; CKA_ID and label as a
     * generated key's) and of its public key beside it; the public key the token then answers must be the one given.
     * Objects created before a failure are destroyed again.
     */
    importKey(spec: KeyImportSpec): Promise<Signer> {
      return track('import_key', undefined, async () => {
        assertPkcs11KeyType(spec.keyType);
        const key = privateKeyToImport(spec.pkcs8, spec.keyType);
        return pool.withSession('key import', (session, c) => {
          const id = randomBytes(16);
          const label = spec.label ?? `pkim-${spec.keyType}-${hex(id).slice(0, 8)}`;
          const t = importedKeyTemplates(spec.keyType, key, id, label);
          const created: graphene.SessionObject[] = [];
          try {
            const priv = session.create(t.privateTemplate);
            created.push(priv);
            const pub = session.create(t.publicTemplate);
            created.push(pub);
            const uri = formatPkcs11Uri({ token: c.tokenLabel, id, object: label });
            const publicKey = publicKeyDer(pub, spec.keyType, uri);
            if (!Buffer.from(publicKey).equals(Buffer.from(t.spki)))
              throw new PkiError('kms.operation_failed', `the token holds another public key than the one imported`);
            keys.remember(uri, { handle: priv.handle, keyType: spec.keyType });
            return signerOf(backend, { uri, keyType: spec.keyType, publicKey });
          } catch (e) {
            for (const o of created) {
              try {
                o.destroy();
              } catch {
                // best effort
              }
            }
            throw e;
          } finally {
            t.wipe();
          }
        });
      });
    },

    getPublicKey(uri: string): Promise<Uint8Array> {
      return track('get', uri, () =>
        pool.withSession('get public key', (session, c) => keys.publicKey(session, c, uri)),
      );
    },

    sign(uri: string, keyType: KeyType, data: Uint8Array): Promise<Uint8Array> {
      return track('sign', uri, () =>
        pool.withSession(`sign with ${uri}`, async (session, c) => {
          if (!KEY_TYPE_INFO[keyType]) throw new PkiError('input.invalid', `unknown key type '${String(keyType)}'`);
          for (let round = 0; ; round++) {
            const key = keys.privateKey(session, c, uri);
            if (key.keyType !== keyType) {
              throw new PkiError('kms.operation_failed', `PKCS#11 key ${uri} is ${key.keyType}, not ${keyType}`, {
                details: { uri },
              });
            }
            const handle = new graphene.PrivateKey(key.handle, session, session.lib);
            try {
              return await signWithMechanism(session, handle, keyType, data);
            } catch (e) {
              // a cached handle can go stale (key destroyed by another process): look it up once more
              if (round === 0 && isKeyGoneCkr(ckrName(e))) {
                keys.forget(uri);
                continue;
              }
              throw e;
            }
          }
        }),
      );
    },

    destroy(uri: string): Promise<void> {
      return track('destroy', uri, () =>
        pool.withSession(`destroy ${uri}`, (session, c) => {
          const sel = keySelectorOf(uri, c);
          keys.forget(uri);
          const privs = findObjects(session, graphene.ObjectClass.PRIVATE_KEY, sel);
          const priv = privs[0];
          if (priv === undefined)
            throw new PkiError('kms.key_not_found', `no PKCS#11 private key for ${uri}`, { details: { uri } });
          if (privs.length > 1) {
            throw new PkiError(
              'kms.operation_failed',
              `PKCS#11 key URI ${uri} matches ${privs.length} private keys; refusing to destroy`,
              {
                details: { uri },
              },
            );
          }
          const pubs = findObjects(session, graphene.ObjectClass.PUBLIC_KEY, sel);
          priv.destroy();
          for (const p of pubs) p.destroy();
        }),
      );
    },

    async health(): Promise<BackendHealth> {
      const started = performance.now();
      try {
        const detail = await pool.withSession('health check', (session, c) => {
          const token = c.slot.getToken();
          const state = session.lib.C_GetSessionInfo(session.handle).state;
          if (state !== CKS_RW_USER_FUNCTIONS && state !== CKS_RO_USER_FUNCTIONS) {
            throw new PkiError(
              'kms.unavailable',
              `PKCS#11 session on token '${c.tokenLabel}' is not logged in (state ${state})`,
            );
          }
          return `token '${token.label.trim()}' (slot ${c.slotId}) present, logged in`;
        });
        emit('health', started, 'success');
        return { ok: true, backend: 'pkcs11', detail };
      } catch (e) {
        const err = toPkcs11PkiError(e, 'health check');
        emit('health', started, 'failure', { error: err });
        return { ok: false, backend: 'pkcs11', detail: `${err.code}: ${err.message}` };
      }
    },

    close: () => pool.close(),
  };

  // Connect (and log in) now, once. A module that cannot be loaded rejects the factory (a
  // deployment error that never heals). A wrong PIN does not: the one C_Login attempt is made here,
  // its kms.auth_failed is kept and returned by every later call and by health(), C_Login is never
  // called again. A missing token leaves the backend disconnected: operations fail with the
  // retryable kms.unavailable and try to connect again.
  try {
    await pool.ensureConnected();
  } catch (e) {
    const err = toPkcs11PkiError(e, 'connect');
    if (err.code === 'kms.config_invalid') throw err;
  }
  return backend;
}
