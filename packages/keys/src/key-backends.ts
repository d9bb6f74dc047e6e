import { constants, createPublicKey, randomBytes, verify } from 'node:crypto';
import { KEY_TYPE_INFO, PkiError, toPkiError, type KeyType } from '@pkim/shared';
import {
  hasCapability,
  signerOf,
  type BackendHealth,
  type ConfiguredKeyBackend,
  type KeyBackend,
  type KeyBackendCapabilities,
  type KeyBackendCapability,
  type KeyBackendEvents,
  type KeyImportSpec,
  type KeyRef,
  type KeySpec,
  type Signer,
} from './key-backend';
import { KEY_BACKEND_REGISTRY, keyBackendRegistration, type BackendName } from './key-backend-registry';

/** The configured key backends, addressed by name or by key URI scheme. */
export interface KeyBackends {
  /** The backend of that name; kms.config_invalid when it is not configured. */
  get(name: BackendName): KeyBackend;
  /** The backend owning the URI; kms.config_invalid / kms.unsupported when none does. */
  forUri(uri: string): KeyBackend;
  /** Creates a key pair in the named backend; returns its signer handle. */
  generateKey(backend: BackendName, spec: KeySpec): Promise<Signer>;
  /**
   * The signer handle of a stored key whose public key the caller knows (e.g. from the CA
   * certificate): no backend round trip. Fails like `forUri` when no backend owns the URI.
   */
  signer(ref: KeyRef): Signer;
  /** The signer handle of a stored key, its public key read from the backend. */
  loadSigner(uri: string, keyType: KeyType): Promise<Signer>;
  /**
   * The named backend when it has the optional capability, else undefined (the backend exists but
   * cannot); kms.config_invalid when the backend is not configured.
   */
  capability<C extends KeyBackendCapability>(
    backend: BackendName,
    capability: C,
  ): (KeyBackend & KeyBackendCapabilities[C]) | undefined;
  getPublicKey(uri: string): Promise<Uint8Array>;
  /**
   * Keeps a private key made elsewhere in the named backend (its `importKey` capability); kms.unsupported, saying
   * why, when the backend cannot take one.
   */
  importKey(backend: BackendName, spec: KeyImportSpec): Promise<Signer>;
  /** Destroys the key through the owning backend's `destroy` capability (kms.unsupported without it). */
  destroy(uri: string): Promise<void>;
  /** One entry per backend; a backend whose health() throws is reported not ok. */
  health(): Promise<BackendHealth[]>;
  /** Closes every backend (all are attempted; the first failure is rethrown). */
  close(): Promise<void>;
  names(): BackendName[];
}

/** One signature over random bytes with a key just imported, verified with its public key: the backend can use it. */
async function proveSigning(signer: Signer): Promise<void> {
  const probe = randomBytes(32);
  const sig = await signer.sign(probe);
  const info = KEY_TYPE_INFO[signer.keyType];
  const key = createPublicKey({ key: Buffer.from(signer.publicKey), format: 'der', type: 'spki' });
  const opts =
    info.algorithm === 'ec'
      ? { key, dsaEncoding: 'der' as const }
      : info.algorithm === 'rsa'
        ? { key, padding: constants.RSA_PKCS1_PADDING }
        : key;
  if (!verify(info.algorithm === 'ed25519' ? null : info.hash, probe, opts, sig))
    throw new PkiError('kms.operation_failed', 'its signature does not verify with the public key');
}

function notConfigured(name: string, uriScheme?: string): PkiError {
  const prefix = uriScheme ? `the key URI uses scheme ${uriScheme}: but ` : '';
  const how = keyBackendRegistration(name)?.howToConfigure ?? 'it is not a registered key backend';
  return new PkiError('kms.config_invalid', `${prefix}backend ${name} is not configured: ${how}`, {
    retryable: false,
    details: { backend: name },
  });
}

/** Routes key operations to the backend that owns each URI (by scheme). */
export function createKeyBackends(backends: KeyBackend[]): KeyBackends {
  const byName = new Map<BackendName, KeyBackend>();
  for (const b of backends) {
    if (byName.has(b.name)) {
      throw new PkiError('kms.config_invalid', `key backend ${b.name} is configured twice`, {
        details: { backend: b.name },
      });
    }
    byName.set(b.name, b);
  }
  const list = [...byName.values()];

  function get(name: BackendName): KeyBackend {
    const b = byName.get(name);
    if (!b) throw notConfigured(name);
    return b;
  }

  function forUri(uri: string): KeyBackend {
    if (typeof uri === 'string') {
      for (const b of list) if (b.handles(uri)) return b;
    }
    // Only the scheme goes into the message: a pkcs11 URI may carry a pin-value.
    const scheme = typeof uri === 'string' && uri.includes(':') ? uri.slice(0, uri.indexOf(':')) : '';
    const registered = scheme ? KEY_BACKEND_REGISTRY.find((r) => r.uriScheme === scheme) : undefined;
    if (registered) throw notConfigured(registered.name, scheme);
    throw new PkiError(
      'kms.unsupported',
      scheme
        ? `unknown key URI scheme ${scheme}: (expected ${KEY_BACKEND_REGISTRY.map((r) => r.uriScheme).join(':, ')}:)`
        : 'not a key URI (missing scheme)',
      { details: { scheme } },
    );
  }

  return {
    get,
    forUri,
    generateKey: (name, spec) => get(name).generateKey(spec),
    signer: (ref) => signerOf(forUri(ref.uri), ref),
    async loadSigner(uri, keyType) {
      const backend = forUri(uri);
      return signerOf(backend, { uri, keyType, publicKey: await backend.getPublicKey(uri) });
    },
    capability(name, capability) {
      const b = get(name);
      return hasCapability(b, capability) ? b : undefined;
    },
    getPublicKey: async (uri) => forUri(uri).getPublicKey(uri),
    async importKey(name, spec) {
      const b = get(name);
      if (!hasCapability(b, 'importKey')) {
        throw new PkiError(
          'kms.unsupported',
          `key backend ${name} cannot import private keys here: bring the existing CA's key into the software ` +
            'backend (the default backend)',
          { details: { backend: name } },
        );
      }
      const signer = await b.importKey(spec);
      try {
        await proveSigning(signer);
      } catch (e) {
        // the backend took the key but cannot use it (a KMS that stores EC keys without signing with them): undone
        if (hasCapability(b, 'destroy')) await b.destroy(signer.uri).catch(() => undefined);
        const err = toPkiError(e);
        throw new PkiError(
          'kms.unsupported',
          `key backend ${name} took the ${spec.keyType} key but cannot sign with it (${err.message}); ` +
            'nothing was kept',
          { cause: err, details: { backend: name, keyType: spec.keyType } },
        );
      }
      return signer;
    },
    async destroy(uri) {
      const b = forUri(uri);
      if (!hasCapability(b, 'destroy')) {
        throw new PkiError('kms.unsupported', `key backend ${b.name} cannot destroy keys`, {
          details: { backend: b.name },
        });
      }
      await b.destroy(uri);
    },
    async health() {
      return Promise.all(
        list.map(async (b): Promise<BackendHealth> => {
          try {
            return await b.health();
          } catch (e) {
            return { ok: false, backend: b.name, detail: e instanceof Error ? e.message : String(e) };
          }
        }),
      );
    },
    async close() {
      const results = await Promise.allSettled(list.map((b) => b.close()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    names: () => list.map((b) => b.name),
  };
}

/**
 * Every registered backend whose configuration is present in `env` (PKCS#11 and KMIP today), in
 * registry order. A backend whose variables are absent is not offered; inconsistent variables fail
 * with kms.config_invalid. Backends already built are closed when a later one fails.
 */
export async function configureKeyBackends(
  env: Record<string, string | undefined>,
  ctx: { events?: KeyBackendEvents; skip?: readonly string[] } = {},
): Promise<ConfiguredKeyBackend[]> {
  const out: ConfiguredKeyBackend[] = [];
  try {
    for (const registration of KEY_BACKEND_REGISTRY) {
      if (!('fromEnvironment' in registration) || !registration.fromEnvironment) continue;
      if (ctx.skip?.includes(registration.name)) continue;
      const configured = await registration.fromEnvironment(env, { ...(ctx.events ? { events: ctx.events } : {}) });
      if (configured) out.push(configured);
    }
  } catch (e) {
    await Promise.allSettled(out.map((c) => c.backend.close()));
    throw e;
  }
  return out;
}
