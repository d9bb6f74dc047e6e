import { PkiError, type KeyType } from '@pkim/shared';
import type { BackendHealth, BackendName, KeyBackend } from './key-backend';

/** The configured key backends, addressed by name or by key URI scheme. */
export interface KeyBackends {
  /** The backend of that name; kms.config_invalid when it is not configured. */
  get(name: BackendName): KeyBackend;
  /** The backend owning the URI; kms.config_invalid / kms.unsupported when none does. */
  forUri(uri: string): KeyBackend;
  sign(uri: string, keyType: KeyType, data: Uint8Array): Promise<Uint8Array>;
  getPublicKey(uri: string): Promise<Uint8Array>;
  destroy(uri: string): Promise<void>;
  /** One entry per backend; a backend whose health() throws is reported not ok. */
  health(): Promise<BackendHealth[]>;
  /** Closes every backend (all are attempted; the first failure is rethrown). */
  close(): Promise<void>;
  names(): BackendName[];
}

const BACKEND_NAMES: readonly BackendName[] = ['software', 'pkcs11', 'kmip'];

const HOW_TO_CONFIGURE: Record<BackendName, string> = {
  software:
    'it is enabled unless the server was started without a key-encryption key (PKIM_MASTER_KEY or <dataDir>/master.key)',
  pkcs11: 'set PKIM_PKCS11_MODULE (path of the PKCS#11 library), the token and PKIM_PKCS11_PIN',
  kmip: 'set PKIM_KMIP_URL (and the client credentials of the KMIP server)',
};

function notConfigured(name: BackendName, uriScheme?: string): PkiError {
  const prefix = uriScheme ? `the key URI uses scheme ${uriScheme}: but ` : '';
  return new PkiError('kms.config_invalid', `${prefix}backend ${name} is not configured: ${HOW_TO_CONFIGURE[name]}`, {
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

  function forUri(uri: string): KeyBackend {
    if (typeof uri === 'string') {
      for (const b of list) if (b.handles(uri)) return b;
    }
    // Only the scheme goes into the message: a pkcs11 URI may carry a pin-value.
    const scheme = typeof uri === 'string' && uri.includes(':') ? uri.slice(0, uri.indexOf(':')) : '';
    if ((BACKEND_NAMES as readonly string[]).includes(scheme)) throw notConfigured(scheme as BackendName, scheme);
    throw new PkiError(
      'kms.unsupported',
      scheme
        ? `unknown key URI scheme ${scheme}: (expected ${BACKEND_NAMES.join(':, ')}:)`
        : 'not a key URI (missing scheme)',
      { details: { scheme } },
    );
  }

  return {
    get(name) {
      const b = byName.get(name);
      if (!b) throw notConfigured(name);
      return b;
    },
    forUri,
    sign: async (uri, keyType, data) => forUri(uri).sign(uri, keyType, data),
    getPublicKey: async (uri) => forUri(uri).getPublicKey(uri),
    destroy: async (uri) => forUri(uri).destroy(uri),
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
