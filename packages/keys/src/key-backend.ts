import type { KeyType } from '@pkim/shared';
import type { BackendName } from './key-backend-registry';

export type { BackendName } from './key-backend-registry';

/**
 * The interface every key custody backend implements (software, pkcs11, kmip, … — see
 * key-backend-registry.ts). Keys are addressed by URI: `software:key_…`, `pkcs11:token=…;object=…;id=…`,
 * `kmip:<uid>@<server>`. Callers sign through a {@link Signer} handle; powers only some backends have
 * (destroying keys, having the KMS certify a root) are optional capabilities found with
 * {@link hasCapability}, never by casting to a backend's own type.
 *
 * Errors are PkiError with codes `kms.*`:
 *  - kms.key_not_found (final)  unknown or destroyed key
 *  - kms.auth_failed   (final)  wrong PIN / API key / client certificate; never retried
 *  - kms.unavailable   (retryable) backend down / connection refused
 *  - kms.timeout       (retryable) no answer within the configured timeout
 *  - kms.unsupported   (final)  key type or capability not supported by this backend
 *  - kms.operation_failed (final) the backend refused
 */

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

/**
 * A handle on one private key held by a backend: what a signing pipeline needs and nothing more.
 * The private key never leaves the backend; `sign` returns an X.509-ready signature (RSA PKCS#1 v1.5,
 * ECDSA as DER Ecdsa-Sig-Value, Ed25519 raw 64 bytes) over `data`, hashed as the key type prescribes
 * (KEY_TYPE_INFO[keyType].hash).
 */
export interface Signer extends KeyRef {
  /** Name of the backend holding the key. */
  readonly backend: BackendName;
  sign(data: Uint8Array): Promise<Uint8Array>;
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
  /** Creates a key pair in the backend and returns the signer handle of the new key. */
  generateKey(spec: KeySpec): Promise<Signer>;
  /** SubjectPublicKeyInfo DER of the key. */
  getPublicKey(uri: string): Promise<Uint8Array>;
  /**
   * Signs `data` (the bytes to be signed, e.g. a DER TBSCertificate) and returns an X.509-ready
   * signature. Prefer a {@link Signer} handle (`KeyBackends.signer`); this is what handles call.
   */
  sign(uri: string, keyType: KeyType, data: Uint8Array): Promise<Uint8Array>;
  health(): Promise<BackendHealth>;
  close(): Promise<void>;
  /** Optional capability {@link KeyDestroyer} (all built-in backends have it). */
  destroy?(uri: string): Promise<void>;
  /** Optional capability {@link RootCertifier} (the Cosmian KMS has it). */
  certifyRoot?(req: CertifyRootRequest): Promise<CertifiedRoot>;
  /** Optional capability {@link KeyLender} (the software backend has it). */
  lendKey?(uri: string, keyType: KeyType, to: KeyLoanPort): Promise<void>;
  /** Optional capability {@link KeyImporter} (the software backend has it). */
  importKey?(spec: KeyImportSpec): Promise<Signer>;
}

// ---------------------------------------------------------------------------------------------
// Optional capabilities

/** Capability: the backend can destroy a key (and its public half where it stores one). */
export interface KeyDestroyer {
  /** Idempotent errors: a second call fails with kms.key_not_found. */
  destroy(uri: string): Promise<void>;
}

/** What a backend that mints its own root certificates is asked for (backend-neutral). */
export interface CertifyRootRequest {
  keyType: KeyType;
  /** Label of the new key pair in the backend (e.g. the CA name). */
  label?: string;
  /** Subject attributes in DER order (most significant first), e.g. [{type:'O',…},{type:'CN',…}]. */
  subject: { type: string; value: string }[];
  validityDays: number;
  /** basicConstraints pathLen; null = unlimited. */
  pathLen: number | null;
  /** keyUsage names, e.g. ['keyCertSign', 'cRLSign']. */
  keyUsage: string[];
}

export interface CertifiedRoot {
  /** The key pair the certificate is for (created by certifyRoot). */
  signer: Signer;
  /** The self-signed certificate as the backend made it: the caller must check it before trusting it. */
  certificateDer: Uint8Array;
  /** The backend's identifier of the certificate object (for audit). */
  certificateId: string;
  /** Removes what certifyRoot created (certificate object and key pair), for a certificate that failed its checks. */
  discard(): Promise<void>;
}

/**
 * Capability: the backend creates a key pair and self-signs a root CA certificate for it itself
 * (Cosmian KMS `Certify`). A request the backend cannot express (subject attributes, …) is refused
 * with input.invalid before any key is created; on a failure after key creation the backend removes
 * what it created.
 */
export interface RootCertifier {
  certifyRoot(req: CertifyRootRequest): Promise<CertifiedRoot>;
}

/** Where a lent key is posted: one end of a `MessageChannel` whose other end a worker thread of this process holds. */
export interface KeyLoanPort {
  postMessage(message: KeyLoanMessage): void;
}

/**
 * What a lender posts on a {@link KeyLoanPort}: the key as a node:crypto `KeyObject` (structured clone shares the
 * same OpenSSL key with the receiving thread; it is never exported to bytes), or `drop` when the key was destroyed.
 */
export type KeyLoanMessage =
  { type: 'key'; uri: string; keyType: KeyType; key: import('node:crypto').KeyObject } | { type: 'drop'; uri: string };

/**
 * Capability: the backend can lend a key to a worker thread of this process (the software backend, whose keys are
 * node:crypto objects in this process anyway). HSM and KMS keys never leave their device: those backends do not
 * have it, and their signatures keep going through `sign` with the backend's own concurrency.
 */
export interface KeyLender {
  /** Posts `{ type: 'key', … }` for the key on `to` (kms.key_not_found etc. like `sign`); `drop` on destroy. */
  lendKey(uri: string, keyType: KeyType, to: KeyLoanPort): Promise<void>;
}

/** A private key brought from outside (an existing CA's), already read and checked (`readPrivateKeyPem`). */
export interface KeyImportSpec extends KeySpec {
  /** the private key, PKCS#8 DER (unencrypted: the backend wraps it as it wraps the keys it generates) */
  pkcs8: Uint8Array;
}

/**
 * Capability: the backend takes a private key made elsewhere (an existing CA's, `pkim ca import-existing`) and keeps it
 * as it keeps the keys it generates: the software backend encrypts it under the KEK. The caller wipes `pkcs8` after.
 */
export interface KeyImporter {
  importKey(spec: KeyImportSpec): Promise<Signer>;
}

export interface KeyBackendCapabilities {
  destroy: KeyDestroyer;
  certifyRoot: RootCertifier;
  lendKey: KeyLender;
  importKey: KeyImporter;
}
export type KeyBackendCapability = keyof KeyBackendCapabilities;

/** Discovers an optional capability by its interface (the method is there), like a Go interface assertion. */
export function hasCapability<C extends KeyBackendCapability>(
  backend: KeyBackend,
  capability: C,
): backend is KeyBackend & KeyBackendCapabilities[C] {
  return typeof (backend as unknown as Record<string, unknown>)[capability] === 'function';
}

/** The generic signer handle of a key: each signature goes to `backend.sign`. */
export function signerOf(backend: KeyBackend, ref: KeyRef): Signer {
  const { uri, keyType, publicKey } = ref;
  return { uri, keyType, publicKey, backend: backend.name, sign: (data) => backend.sign(uri, keyType, data) };
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

// ---------------------------------------------------------------------------------------------
// Registration: a backend is one folder (src/<name>/) whose registration is listed in key-backend-registry.ts

/** A backend built from configuration, with what may be logged about it (never secrets). */
export interface ConfiguredKeyBackend {
  backend: KeyBackend;
  summary: Record<string, unknown>;
}

export interface KeyBackendRegistration<N extends string = string> {
  readonly name: N;
  /** The URI scheme of its keys, without the colon (`pkcs11`). */
  readonly uriScheme: string;
  /** One sentence: how an operator enables it (shown in kms.config_invalid errors). */
  readonly howToConfigure: string;
  /**
   * Optional capabilities only some configurations of this backend offer, each with what it takes
   * (shown when a configured instance lacks it). Capabilities every instance has need no entry.
   */
  readonly offersWhen?: Partial<Record<KeyBackendCapability, string>>;
  /**
   * Builds the backend from an environment map (PKIM_* variables, passed in, never read here).
   * Undefined when its variables are absent (the backend is then not offered); kms.config_invalid
   * when they are inconsistent. Absent for backends the authority builds itself (software: its key
   * blobs live in the database).
   */
  fromEnvironment?(
    env: Record<string, string | undefined>,
    ctx: { events?: KeyBackendEvents },
  ): Promise<ConfiguredKeyBackend | undefined>;
}
