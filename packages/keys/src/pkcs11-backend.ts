/**
 * PKCS#11 key backend (graphene-pk11 over pkcs11js), tested against SoftHSM2.
 *
 * - Keys are generated on the token: RSA 2048/3072/4096 (CKM_RSA_PKCS_KEY_PAIR_GEN) and EC P-256/P-384
 *   (CKM_EC_KEY_PAIR_GEN). Private keys are token objects, private, sensitive, non-extractable, sign-only.
 *   Ed25519 → `kms.unsupported`: SoftHSM 2.6.1 lists CKM_EC_EDWARDS_KEY_PAIR_GEN/CKM_EDDSA, but its
 *   EdDSA support varies with the OpenSSL it was built against and the CKA_EC_PARAMS/CKA_EC_POINT
 *   encodings differ between HSM vendors (OID vs. printable curve name, raw vs. wrapped point), so
 *   PKI Manager does not offer it through PKCS#11 yet.
 * - Keys are addressed by RFC 7512 URIs `pkcs11:token=<token>;id=%xx…;object=<label>`; the CKA_ID
 *   (16 random bytes) identifies the key, `object` is informative.
 * - RSA signs with CKM_SHA256_RSA_PKCS. ECDSA hashes in node (SHA-256 for P-256, SHA-384 for P-384;
 *   SoftHSM2 has no CKM_ECDSA_SHA256/384), signs with CKM_ECDSA, and converts the raw r‖s to a DER
 *   Ecdsa-Sig-Value.
 * - One module initialisation (CKF_OS_LOCKING_OK) per module path per process, shared by reference
 *   count; one login per token; a small pool of sessions (default 2) serves operations, each
 *   session used by one operation at a time. Long operations (key generation, signing) run on the
 *   libuv thread pool (pkcs11js async calls) so the event loop is not blocked.
 * - Errors: module missing/unloadable → `kms.config_invalid` (the factory rejects). Wrong PIN →
 *   `kms.auth_failed`: the factory makes exactly one C_Login attempt and resolves; every operation
 *   then fails with that error and health() reports it; C_Login is never called again. Token label
 *   or slot not found → `kms.unavailable` (retryable: an HSM partition or smart card may come back;
 *   the message lists the tokens present): the factory resolves, each operation tries to connect
 *   once. Token removed / session lost → `kms.unavailable`, the next operation reconnects.
 * - Login state is per (process, token) in PKCS#11: backends of one process that share a token share
 *   the login. A second backend whose PIN differs from the one that logged in gets kms.auth_failed
 *   without a C_Login call (the PIN is compared as a salted SHA-256 digest held in memory).
 */
import { createHash, createPublicKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as graphene from 'graphene-pk11';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ECDSASigValue, ECParameters, id_secp256r1, id_secp384r1 } from '@peculiar/asn1-ecc';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import type { BackendHealth, KeyBackend, KeyBackendEvents, KeyRef, KeySpec } from './key-backend';
import { isKeyGoneCkr, isUnavailableCkr, ckrName, toPkcs11PkiError } from './pkcs11-errors';
import { formatPkcs11Uri, isPkcs11Uri, parsePkcs11Uri } from './pkcs11-uri';

export * from './pkcs11-config';
export * from './pkcs11-uri';
export { toPkcs11PkiError } from './pkcs11-errors';

export interface Pkcs11BackendOptions {
  /** Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** Token label (preferred). */
  tokenLabel?: string;
  /** CK_SLOT_ID (decimal, as `softhsm2-util --show-slots` / `pkcs11-tool -L` print it); used when no tokenLabel. */
  slot?: number;
  /** User PIN. Never logged, never part of an error. */
  pin: string;
  events?: KeyBackendEvents;
  /** Sessions kept open for concurrent operations (default 2). */
  sessions?: number;
}

const CKF_OS_LOCKING_OK = 0x2;
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;
const CKK_RSA = 0x0;
const CKK_EC = 0x3;
const CKA_EC_PARAMS = 0x180;
const CKA_EC_POINT = 0x181;
const RSA_F4 = Buffer.from([0x01, 0x00, 0x01]);

const CURVES: Record<string, { keyType: KeyType; crv: 'P-256' | 'P-384'; size: number }> = {
  [id_secp256r1]: { keyType: 'ec-p256', crv: 'P-256', size: 32 },
  [id_secp384r1]: { keyType: 'ec-p384', crv: 'P-384', size: 48 },
};

// ---------------------------------------------------------------------------------------------
// Process-wide module registry: a PKCS#11 library is initialised once per process, and login
// state is per (application, token), so backends sharing a module or token must share both.

interface LoginState {
  salt: Buffer;
  pinDigest: Buffer;
  holders: number;
}

interface SharedModule {
  module: graphene.Module;
  refs: number;
  logins: Map<string, LoginState>;
}

const loadedModules = new Map<string, graphene.Module>();
const initialisedModules = new Map<string, SharedModule>();

function acquireModule(modulePath: string): SharedModule {
  const shared = initialisedModules.get(modulePath);
  if (shared) {
    shared.refs++;
    return shared;
  }
  if (!existsSync(modulePath)) {
    throw new PkiError('kms.config_invalid', `PKCS#11 module not found at '${modulePath}' (check PKIM_PKCS11_MODULE)`, {
      details: { modulePath },
    });
  }
  let module = loadedModules.get(modulePath);
  if (!module) {
    try {
      module = graphene.Module.load(modulePath, 'pkim');
    } catch (e) {
      throw new PkiError(
        'kms.config_invalid',
        `PKCS#11 module '${modulePath}' could not be loaded: ${(e as Error).message}`,
        {
          details: { modulePath },
          cause: e,
        },
      );
    }
    // Never dlclose: some modules (SoftHSM2 with OpenSSL) do not survive being unloaded and reloaded.
    loadedModules.set(modulePath, module);
  }
  try {
    module.initialize({ flags: CKF_OS_LOCKING_OK });
  } catch (e) {
    throw new PkiError(
      'kms.unavailable',
      `PKCS#11 module '${modulePath}' failed to initialise (${ckrName(e) ?? (e as Error).message})`,
      {
        details: { modulePath },
        cause: e,
      },
    );
  }
  const fresh: SharedModule = { module, refs: 1, logins: new Map() };
  initialisedModules.set(modulePath, fresh);
  return fresh;
}

function releaseModule(modulePath: string, shared: SharedModule): void {
  shared.refs--;
  if (shared.refs > 0) return;
  if (initialisedModules.get(modulePath) === shared) initialisedModules.delete(modulePath);
  try {
    shared.module.finalize();
  } catch {
    // already finalised
  }
}

function pinDigest(salt: Buffer, pin: string): Buffer {
  return createHash('sha256').update(salt).update(pin, 'utf8').digest();
}

function slotId(slot: graphene.Slot): string {
  const h = slot.handle;
  return (h.length >= 8 ? h.readBigUInt64LE(0) : BigInt(h.readUInt32LE(0))).toString();
}

// ---------------------------------------------------------------------------------------------

interface Connection {
  shared: SharedModule;
  slot: graphene.Slot;
  slotId: string;
  tokenLabel: string;
  sessions: graphene.Session[];
  idle: graphene.Session[];
  broken: boolean;
  loggedIn: boolean;
}

interface CachedKey {
  handle: Buffer;
  keyType: KeyType;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** EC named-curve parameters (CKA_EC_PARAMS) as DER. */
function ecParamsDer(keyType: KeyType): Buffer {
  const oid = keyType === 'ec-p256' ? id_secp256r1 : id_secp384r1;
  return Buffer.from(AsnConvert.serialize(new ECParameters({ namedCurve: oid })));
}

/** CKA_EC_POINT is a DER OCTET STRING wrapping the uncompressed point; some tokens return the bare point. */
function ecPointFromAttribute(attr: Buffer, size: number): Buffer {
  if (attr.length === 2 * size + 1 && attr[0] === 0x04) return attr;
  const inner = Buffer.from(AsnConvert.parse(attr, OctetString).buffer);
  if (inner.length !== 2 * size + 1 || inner[0] !== 0x04) {
    throw new PkiError(
      'kms.operation_failed',
      'PKCS#11 CKA_EC_POINT is not an uncompressed point of the expected curve',
    );
  }
  return inner;
}

function spkiFromJwk(jwk: Record<string, string>): Uint8Array {
  return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

/** Minimal two's-complement big-endian INTEGER content for a non-negative number. */
function unsignedIntegerBytes(b: Buffer): ArrayBuffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  const out = trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.length) as ArrayBuffer;
}

/** Raw r‖s (PKCS#11 CKM_ECDSA output) → DER Ecdsa-Sig-Value (X.509 signatureValue contents). */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0)
    throw new PkiError('kms.operation_failed', `ECDSA signature has odd length ${raw.length}`);
  const half = raw.length / 2;
  const buf = Buffer.from(raw);
  const value = new ECDSASigValue({
    r: unsignedIntegerBytes(buf.subarray(0, half)),
    s: unsignedIntegerBytes(buf.subarray(half)),
  });
  return new Uint8Array(AsnConvert.serialize(value));
}

function closedError(): PkiError {
  return new PkiError('kms.unavailable', 'the PKCS#11 backend is closed', { retryable: false });
}

/**
 * Creates a PKCS#11 backend. Async: it loads the module and logs in before resolving (see the
 * file comment for which failures reject and which leave a disconnected backend that reconnects).
 */
export async function createPkcs11Backend(opts: Pkcs11BackendOptions): Promise<KeyBackend> {
  if (!opts.modulePath) throw new PkiError('kms.config_invalid', 'PKCS#11 backend: modulePath is required');
  if (opts.tokenLabel === undefined && opts.slot === undefined) {
    throw new PkiError('kms.config_invalid', 'PKCS#11 backend: set tokenLabel (preferred) or slot');
  }
  if (typeof opts.pin !== 'string' || opts.pin === '')
    throw new PkiError('kms.config_invalid', 'PKCS#11 backend: the PIN is empty');
  const poolSize = Math.max(1, Math.floor(opts.sessions ?? 2));
  const tokenWanted = opts.tokenLabel !== undefined ? `token '${opts.tokenLabel}'` : `slot ${opts.slot}`;

  let conn: Connection | undefined;
  let connecting: Promise<Connection> | undefined;
  /** A final failure (wrong PIN): every later call fails with it, C_Login is not called again. */
  let fatal: PkiError | undefined;
  let closed = false;
  let loginAttempts = 0;
  const waiters: Array<(handed: { c: Connection; session: graphene.Session } | null) => void> = [];
  const drainListeners: Array<() => void> = [];
  const keyCache = new Map<string, CachedKey>();

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

  function findSlot(module: graphene.Module): graphene.Slot {
    const slots = module.getSlots(true);
    const seen: string[] = [];
    for (let i = 0; i < slots.length; i++) {
      const slot = slots.items(i);
      const id = slotId(slot);
      let label: string;
      try {
        label = slot.getToken().label.trim();
      } catch {
        continue; // token vanished while listing
      }
      seen.push(`'${label}' (slot ${id})`);
      if (opts.tokenLabel !== undefined ? label === opts.tokenLabel : id === String(opts.slot)) return slot;
    }
    throw new PkiError(
      'kms.unavailable',
      `PKCS#11 ${tokenWanted} not found in module '${opts.modulePath}'; tokens present: ${seen.length ? seen.join(', ') : 'none'}`,
      { details: { modulePath: opts.modulePath, tokenLabel: opts.tokenLabel, slot: opts.slot } },
    );
  }

  /** Closes the connection's sessions, drops its login hold (logging out when it was the last) and the module reference. */
  function teardown(c: Connection, logout: boolean): void {
    c.broken = true;
    const login = c.loggedIn ? c.shared.logins.get(c.slotId) : undefined;
    c.loggedIn = false;
    if (login) {
      login.holders--;
      if (login.holders <= 0) {
        c.shared.logins.delete(c.slotId);
        if (logout && c.sessions.length > 0) {
          try {
            c.sessions[0].logout();
          } catch {
            // session already gone
          }
        }
      }
    }
    for (const s of c.sessions) {
      try {
        s.close();
      } catch {
        // session already gone
      }
    }
    c.sessions = [];
    c.idle = [];
    releaseModule(opts.modulePath, c.shared);
  }

  function connectNow(): Connection {
    const shared = acquireModule(opts.modulePath);
    const c: Connection = {
      shared,
      slot: undefined as unknown as graphene.Slot,
      slotId: '',
      tokenLabel: '',
      sessions: [],
      idle: [],
      broken: false,
      loggedIn: false,
    };
    try {
      c.slot = findSlot(shared.module);
      c.slotId = slotId(c.slot);
      c.tokenLabel = c.slot.getToken().label.trim();
      for (let i = 0; i < poolSize; i++) {
        c.sessions.push(c.slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION));
      }
    } catch (e) {
      teardown(c, false);
      throw toPkcs11PkiError(e, `opening ${tokenWanted}`, { modulePath: opts.modulePath });
    }
    // Login: once per token per process (PKCS#11 login state is per application and token).
    // A token already logged in by another backend of this process is shared only when our PIN
    // is the one that logged in; otherwise we fail without calling C_Login.
    const existing = shared.logins.get(c.slotId);
    const started = performance.now();
    const attempt = ++loginAttempts;
    let failure: PkiError | undefined;
    if (existing) {
      if (timingSafeEqual(pinDigest(existing.salt, opts.pin), existing.pinDigest)) existing.holders++;
      else
        failure = new PkiError('kms.auth_failed', `PKCS#11 login refused for ${tokenWanted}: wrong PIN; not retried`);
    } else {
      try {
        c.sessions[0].login(opts.pin, graphene.UserType.USER);
        const salt = randomBytes(16);
        shared.logins.set(c.slotId, { salt, pinDigest: pinDigest(salt, opts.pin), holders: 1 });
      } catch (e) {
        failure =
          ckrName(e) === 'CKR_USER_ALREADY_LOGGED_IN'
            ? new PkiError(
                'kms.auth_failed',
                `PKCS#11 ${tokenWanted} is already logged in by another component of this process; cannot verify the PIN`,
              )
            : toPkcs11PkiError(e, `login to ${tokenWanted}`);
      }
    }
    if (failure) {
      emit('login', started, 'failure', { error: failure, attempt });
      teardown(c, false);
      throw failure;
    }
    c.loggedIn = true;
    emit('login', started, 'success', { attempt });
    c.idle = [...c.sessions];
    return c;
  }

  async function ensureConnected(): Promise<Connection> {
    if (closed) throw closedError();
    if (fatal) throw fatal;
    if (conn && !conn.broken) return conn;
    if (!connecting) {
      connecting = (async () => {
        try {
          conn = connectNow();
          return conn;
        } catch (e) {
          const err = toPkcs11PkiError(e, `connecting to ${tokenWanted}`);
          if (err.code === 'kms.auth_failed' || err.code === 'kms.config_invalid') fatal = err;
          throw err;
        } finally {
          connecting = undefined;
        }
      })();
    }
    return connecting;
  }

  /** Wakes every operation waiting for a session: they re-acquire (reconnect, or fail when closed). */
  function wakeAllWaiters(): void {
    for (const w of waiters.splice(0)) w(null);
  }

  function markBroken(c: Connection): void {
    if (c.broken) return;
    c.broken = true;
    keyCache.clear();
    if (c.idle.length === c.sessions.length) teardown(c, false);
    wakeAllWaiters();
  }

  async function acquire(): Promise<{ c: Connection; session: graphene.Session }> {
    for (;;) {
      const c = await ensureConnected();
      const idle = c.idle.pop();
      if (idle) return { c, session: idle };
      const handed = await new Promise<{ c: Connection; session: graphene.Session } | null>((resolve) =>
        waiters.push(resolve),
      );
      if (handed) return handed;
    }
  }

  function release(c: Connection, session: graphene.Session): void {
    if (c.broken || closed) {
      c.idle.push(session);
      if (c.broken && c.idle.length === c.sessions.length && c.sessions.length > 0) teardown(c, false);
      wakeAllWaiters();
      for (const l of drainListeners.splice(0)) l();
      return;
    }
    const next = waiters.shift();
    if (next) next({ c, session });
    else c.idle.push(session);
  }

  async function withSession<T>(what: string, fn: (s: graphene.Session, c: Connection) => Promise<T> | T): Promise<T> {
    const { c, session } = await acquire();
    try {
      return await fn(session, c);
    } catch (e) {
      const err = toPkcs11PkiError(e, what);
      if (err.code === 'kms.unavailable' && isUnavailableCkr(ckrName(e))) markBroken(c);
      throw err;
    } finally {
      release(c, session);
    }
  }

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

  // ----- key lookup -------------------------------------------------------------------------

  function keyIdFromUri(uri: string, c: Connection): { id?: Buffer; label?: string } {
    if (!isPkcs11Uri(uri))
      throw new PkiError('kms.key_not_found', `not a PKCS#11 key URI: ${uri}`, { details: { uri } });
    let u;
    try {
      u = parsePkcs11Uri(uri);
    } catch (e) {
      throw new PkiError('kms.key_not_found', `malformed PKCS#11 key URI: ${(e as Error).message}`, {
        details: { uri },
      });
    }
    if (u.token !== undefined && u.token !== c.tokenLabel) {
      throw new PkiError(
        'kms.key_not_found',
        `key ${uri} lives on token '${u.token}', this backend serves token '${c.tokenLabel}'`,
        {
          details: { uri },
        },
      );
    }
    if (u.id === undefined && u.object === undefined) {
      throw new PkiError('kms.key_not_found', `PKCS#11 key URI ${uri} has neither id nor object`, { details: { uri } });
    }
    return {
      ...(u.id !== undefined ? { id: Buffer.from(u.id) } : {}),
      ...(u.object !== undefined ? { label: u.object } : {}),
    };
  }

  function findObjects(
    session: graphene.Session,
    cls: graphene.ObjectClass,
    sel: { id?: Buffer; label?: string },
  ): graphene.SessionObject[] {
    const tmpl: graphene.ITemplate = { class: cls, token: true };
    if (sel.id) tmpl.id = sel.id;
    else if (sel.label !== undefined) tmpl.label = sel.label;
    const found = session.find(tmpl);
    const out: graphene.SessionObject[] = [];
    for (let i = 0; i < found.length; i++) out.push(found.items(i));
    return out;
  }

  function keyTypeOf(obj: graphene.SessionObject, uri: string): KeyType {
    const kt = obj.getAttribute('keyType') as number;
    if (kt === CKK_RSA) {
      const modulus = obj.getAttribute('modulus') as Buffer;
      const bits = modulus.length * 8;
      const t = (['rsa-2048', 'rsa-3072', 'rsa-4096'] as const).find((k) => KEY_TYPE_INFO[k].bits === bits);
      if (t) return t;
      throw new PkiError('kms.unsupported', `PKCS#11 key ${uri} is RSA-${bits}, which PKI Manager does not use`, {
        details: { uri },
      });
    }
    if (kt === CKK_EC) {
      // numeric CKA_EC_PARAMS: graphene maps 0x180 back to the legacy name 'paramsECDSA'
      const params = obj.getAttribute(CKA_EC_PARAMS) as Buffer;
      const curve = CURVES[AsnConvert.parse(params, ECParameters).namedCurve ?? ''];
      if (curve) return curve.keyType;
      throw new PkiError('kms.unsupported', `PKCS#11 key ${uri} is on an EC curve PKI Manager does not use`, {
        details: { uri },
      });
    }
    throw new PkiError(
      'kms.unsupported',
      `PKCS#11 key ${uri} has key type 0x${kt.toString(16)}, which PKI Manager does not use`,
      {
        details: { uri },
      },
    );
  }

  function lookupPrivateKey(session: graphene.Session, c: Connection, uri: string): CachedKey {
    const cached = keyCache.get(uri);
    if (cached) return cached;
    const sel = keyIdFromUri(uri, c);
    const found = findObjects(session, graphene.ObjectClass.PRIVATE_KEY, sel);
    if (found.length === 0)
      throw new PkiError('kms.key_not_found', `no PKCS#11 private key for ${uri}`, { details: { uri } });
    if (found.length > 1) {
      throw new PkiError(
        'kms.operation_failed',
        `PKCS#11 key URI ${uri} matches ${found.length} private keys; make it unique (id=)`,
        {
          details: { uri },
        },
      );
    }
    const entry: CachedKey = { handle: found[0].handle, keyType: keyTypeOf(found[0], uri) };
    keyCache.set(uri, entry);
    return entry;
  }

  function publicKeyDer(obj: graphene.SessionObject, keyType: KeyType, uri: string): Uint8Array {
    const info = KEY_TYPE_INFO[keyType];
    if (info.algorithm === 'rsa') {
      const a = obj.getAttribute({ modulus: null, publicExponent: null });
      return spkiFromJwk({
        kty: 'RSA',
        n: (a.modulus as Buffer).toString('base64url'),
        e: (a.publicExponent as Buffer).toString('base64url'),
      });
    }
    const curve = CURVES[keyType === 'ec-p256' ? id_secp256r1 : id_secp384r1];
    const point = ecPointFromAttribute(obj.getAttribute(CKA_EC_POINT) as Buffer, curve.size);
    if (!point) throw new PkiError('kms.operation_failed', `PKCS#11 key ${uri} has no EC point`);
    return spkiFromJwk({
      kty: 'EC',
      crv: curve.crv,
      x: point.subarray(1, 1 + curve.size).toString('base64url'),
      y: point.subarray(1 + curve.size).toString('base64url'),
    });
  }

  function readPublicKey(session: graphene.Session, c: Connection, uri: string): Uint8Array {
    const key = lookupPrivateKey(session, c, uri);
    const sel = keyIdFromUri(uri, c);
    const pubs = findObjects(session, graphene.ObjectClass.PUBLIC_KEY, sel);
    if (pubs.length >= 1) return publicKeyDer(pubs[0], key.keyType, uri);
    if (KEY_TYPE_INFO[key.keyType].algorithm === 'rsa') {
      // the private key of RSA carries modulus and public exponent
      return publicKeyDer(new graphene.PrivateKey(key.handle, session, session.lib), key.keyType, uri);
    }
    throw new PkiError(
      'kms.operation_failed',
      `PKCS#11 public key object for ${uri} is missing; cannot build the SPKI`,
      { details: { uri } },
    );
  }

  /** Runs a pkcs11js call on the libuv thread pool (callback form) as a promise. */
  function runAsync<T>(start: (cb: (err: Error | null, out: T | null) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      start((err, out) => {
        if (err) reject(err);
        else if (out === null || out === undefined)
          reject(new PkiError('kms.operation_failed', 'PKCS#11 call returned no result'));
        else resolve(out);
      });
    });
  }

  // ----- the interface ----------------------------------------------------------------------

  const backend: KeyBackend = {
    name: 'pkcs11',

    handles(uri: string): boolean {
      return isPkcs11Uri(uri);
    },

    generateKey(spec: KeySpec): Promise<KeyRef> {
      return track('create_key_pair', undefined, async () => {
        const info = KEY_TYPE_INFO[spec.keyType];
        if (!info) throw new PkiError('input.invalid', `unknown key type '${String(spec.keyType)}'`);
        if (info.algorithm === 'ed25519') {
          throw new PkiError(
            'kms.unsupported',
            'the PKCS#11 backend does not support Ed25519 keys (SoftHSM2 EdDSA is unreliable); use rsa-* or ec-*',
            {
              details: { keyType: spec.keyType },
            },
          );
        }
        return withSession('key generation', async (session, c) => {
          const id = randomBytes(16);
          const label = spec.label ?? `pkim-${spec.keyType}-${hex(id).slice(0, 8)}`;
          const pub: graphene.ITemplate = {
            token: true,
            private: false,
            label,
            id,
            verify: true,
            encrypt: false,
            wrap: false,
          };
          const priv: graphene.ITemplate = {
            token: true,
            private: true,
            sensitive: true,
            extractable: false,
            sign: true,
            decrypt: false,
            unwrap: false,
            derive: false,
            label,
            id,
          };
          let mech: string;
          if (info.algorithm === 'rsa') {
            mech = 'RSA_PKCS_KEY_PAIR_GEN';
            pub.modulusBits = info.bits;
            pub.publicExponent = RSA_F4;
          } else {
            mech = 'EC_KEY_PAIR_GEN';
            pub.paramsEC = ecParamsDer(spec.keyType);
          }
          const pair = await runAsync<graphene.IKeyPair>((cb) => session.generateKeyPair(mech, pub, priv, cb));
          const uri = formatPkcs11Uri({ token: c.tokenLabel, id, object: label });
          try {
            const publicKey = publicKeyDer(pair.publicKey, spec.keyType, uri);
            keyCache.set(uri, { handle: pair.privateKey.handle, keyType: spec.keyType });
            return { uri, keyType: spec.keyType, publicKey };
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

    getPublicKey(uri: string): Promise<Uint8Array> {
      return track('get', uri, () => withSession('get public key', (session, c) => readPublicKey(session, c, uri)));
    },

    sign(uri: string, keyType: KeyType, data: Uint8Array): Promise<Uint8Array> {
      return track('sign', uri, () =>
        withSession(`sign with ${uri}`, async (session, c) => {
          const info = KEY_TYPE_INFO[keyType];
          if (!info) throw new PkiError('input.invalid', `unknown key type '${String(keyType)}'`);
          for (let round = 0; ; round++) {
            const key = lookupPrivateKey(session, c, uri);
            if (key.keyType !== keyType) {
              throw new PkiError('kms.operation_failed', `PKCS#11 key ${uri} is ${key.keyType}, not ${keyType}`, {
                details: { uri },
              });
            }
            const handle = new graphene.PrivateKey(key.handle, session, session.lib);
            try {
              if (info.algorithm === 'rsa') {
                const signer = session.createSign('SHA256_RSA_PKCS', handle);
                const sig = await runAsync<Buffer>((cb) => signer.once(Buffer.from(data), cb));
                return new Uint8Array(sig);
              }
              const digest = createHash(info.hash!).update(data).digest();
              const signer = session.createSign('ECDSA', handle);
              const raw = await runAsync<Buffer>((cb) => signer.once(digest, cb));
              return ecdsaRawToDer(raw);
            } catch (e) {
              // a cached handle can go stale (key destroyed by another process): look it up once more
              if (round === 0 && isKeyGoneCkr(ckrName(e))) {
                keyCache.delete(uri);
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
        withSession(`destroy ${uri}`, (session, c) => {
          const sel = keyIdFromUri(uri, c);
          keyCache.delete(uri);
          const privs = findObjects(session, graphene.ObjectClass.PRIVATE_KEY, sel);
          if (privs.length === 0)
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
          privs[0].destroy();
          for (const p of pubs) p.destroy();
        }),
      );
    },

    async health(): Promise<BackendHealth> {
      const started = performance.now();
      try {
        const detail = await withSession('health check', (session, c) => {
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

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const c = conn ?? (connecting ? await connecting.catch(() => undefined) : undefined);
      conn = undefined;
      keyCache.clear();
      wakeAllWaiters();
      if (!c || c.broken || c.sessions.length === 0) return;
      // wait for in-flight operations to hand their sessions back
      while (c.idle.length < c.sessions.length) await new Promise<void>((resolve) => drainListeners.push(resolve));
      teardown(c, true);
    },
  };

  // Connect (and log in) now, once. A module that cannot be loaded rejects the factory (a
  // deployment error that never heals). A wrong PIN does not: the one C_Login attempt is made here,
  // its kms.auth_failed is kept and returned by every later call and by health(), C_Login is never
  // called again. A missing token leaves the backend disconnected: operations fail with the
  // retryable kms.unavailable and try to connect again.
  try {
    await ensureConnected();
  } catch (e) {
    const err = toPkcs11PkiError(e, 'connect');
    if (err.code === 'kms.config_invalid') throw err;
  }
  return backend;
}
