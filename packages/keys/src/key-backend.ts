import type { KeyType } from '@pkim/shared';

/**
 * The signer interface every key custody backend implements (software, pkcs11, kmip).
 * Keys are addressed by URI: `software:key_…`, `pkcs11:token=…;object=…;id=…`, `kmip:<uid>@<server>`.
 *
 * Errors are PkiError with codes `kms.*`:
 *  - kms.key_not_found (final)  unknown or destroyed key
 *  - kms.auth_failed   (final)  wrong PIN / API key / client certificate; never retried
 *  - kms.unavailable   (retryable) backend down / connection refused
 *  - kms.timeout       (retryable) no answer within the configured timeout
 *  - kms.unsupported   (final)  key type not supported by this backend
 *  - kms.operation_failed (final) the backend refused
 */
export type BackendName = 'software' | 'pkcs11' | 'kmip';

export interface KeySpec {
  keyType: KeyType;
  /** Human label stored with the key in the backend (e.g. the CA name). */
  label?: string;
}

export interface KeyRef {
  uri: string;
  keyType: KeyType;
  /** SubjectPublicKeyInfo, DER */
  publicKey: Uint8Array;
}

export interface BackendHealth {
  ok: boolean;
  backend: BackendName;
  detail?: string;
}

export interface KeyBackend {
  readonly name: BackendName;
  /** True when this backend owns the URI (by scheme). */
  handles(uri: string): boolean;
  generateKey(spec: KeySpec): Promise<KeyRef>;
  /** SubjectPublicKeyInfo DER of the key. */
  getPublicKey(uri: string): Promise<Uint8Array>;
  /**
   * Signs `data` (the bytes to be signed, e.g. a DER TBSCertificate) and returns an X.509-ready
   * signature: RSA PKCS#1 v1.5, ECDSA as DER Ecdsa-Sig-Value, Ed25519 raw 64 bytes.
   * The hash is implied by the key type (KEY_TYPE_INFO[keyType].hash): the backend hashes.
   */
  sign(uri: string, keyType: KeyType, data: Uint8Array): Promise<Uint8Array>;
  /** Destroys the key (and its public half where the backend stores one). Idempotent errors: kms.key_not_found. */
  destroy(uri: string): Promise<void>;
  health(): Promise<BackendHealth>;
  close(): Promise<void>;
}

/** Hooks a backend calls so the authority can log and audit KMS operations (no key material). */
export interface KeyBackendEvents {
  onOperation?(event: {
    backend: BackendName;
    operation: string; // create_key_pair, sign, get, destroy, query, ...
    uri?: string;
    outcome: 'success' | 'failure';
    attempt?: number;
    durationMs: number;
    error?: { code: string; message: string };
  }): void;
}
