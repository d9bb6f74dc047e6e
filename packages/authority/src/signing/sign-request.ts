import type { KeyType } from '@pkim/shared';
import type { DistinguishedName, UnverifiedCsr } from '@pkim/core';
import type { BackendName } from '@pkim/keys';
import type {
  NameConstraintsJson,
  SanJson,
  CertificateRequestRow,
  CertificateRow,
  NewAuditEvent,
  UnitOfWork,
} from '@pkim/store';
import type { Actor, CaUrlLists, CaView, IssuedCertificate, SubjectInput } from '../types';
import type { Provisioner } from './provisioner';

/** An extension added verbatim by a provisioner (e.g. a future SPIFFE/ACME/CT extension). */
export interface ExtraExtension {
  /** dotted OID; must not be one the profile already sets */
  oid: string;
  critical: boolean;
  /** DER of the extension value (the content of the extnValue OCTET STRING) */
  value: Uint8Array;
}

interface LeafCommon {
  /** CA id or name (resolved inside the authority) */
  ca: string;
  /** profile name; default: the provisioner's `defaultProfile` */
  profile?: string;
  /** default: the provisioner's default lifetime, else the profile's, clamped to the issuer */
  lifetimeMs?: number;
  sans?: SanJson;
  /** EKU override for this one request (must also be allowed by the provisioner if it fixes EKUs) */
  extKeyUsage?: string[];
  extraExtensions?: ExtraExtension[];
  /**
   * The channel's own rows, committed in the SAME transaction as the certificate row and its audit event
   * (e.g. SPIFFE: the SVID row and the supersession of the previous SVID of that identity). Called with
   * the certificate row once it is signed and verified.
   */
  commitWith?: (certificate: CertificateRow) => ChannelWrites;
  /** id of the certificate this one renews: stored as `renewedFrom` (the old one's `renewedBy` points back) */
  renewedFrom?: string;
  /** extra details of this request's `certificate.issue_failed` event (a bulk CSV row: batchId, row, line) */
  auditDetails?: Record<string, unknown>;
}

/** Writes a channel adds to the certificate's transaction (never another certificate). */
export type ChannelWrites = Omit<UnitOfWork, 'insertCertificates' | 'audit'> & { audit?: NewAuditEvent[] };

/** A leaf certificate for the public key in a CSR (proof of possession checked). */
export interface LeafFromCsrRequest extends LeafCommon {
  kind: 'leaf-csr';
  csrPem: string;
  /**
   * the CSR as the channel read it already (`readCsrUnverified(csrPem)`: not verified): the pipeline verifies its
   * signature instead of reading `csrPem` again; ignored unless read from this very `csrPem`
   */
  csrRead?: UnverifiedCsr;
  /** override the CSR subject (DN attributes: as `subjectOfDn` gives them, validated as a string's) */
  subject?: SubjectInput | string | DistinguishedName;
}

/** A leaf certificate for a key pair generated here (asynchronously); the private key is returned once. */
export interface LeafWithGeneratedKeyRequest extends LeafCommon {
  kind: 'leaf-generated-key';
  keyType: KeyType;
  subject: SubjectInput | string | DistinguishedName;
  /**
   * keep the private key, sealed under the key-encryption key, in the same transaction as the certificate, so
   * it can later be exported in a password-protected container (PKCS#12, JKS, encrypted PKCS#8)
   */
  keepKey?: boolean;
  /** reuse this key (PKCS#8 PEM) instead of generating one: renewals whose profile allows key reuse */
  reuseKeyPem?: string;
}

interface CaCommon {
  name: string;
  subject: SubjectInput | string;
  keyType: KeyType;
  backend?: BackendName;
  lifetimeMs?: number;
  pathLen?: number | null;
  nameConstraints?: NameConstraintsJson;
  /** ms notBefore is set before the signing time (default one minute); never before the parent's notBefore */
  backdateMs?: number;
  /** the exact notAfter asked (epoch ms), `lifetimeMs` being the lifetime up to it (plan-rules `lifetimeEnd`) */
  notAfter?: number;
  /** the new CA's URL setting, carried by a root's own certificate too (CreateCaInput.urls) */
  urls?: CaUrlLists;
  /** a key already in a key backend instead of a new one (CreateCaInput.keyUri; `backend` is the key's) */
  keyUri?: string;
  /** with `keyUri`: the CAs that may use the key already (CreateCaInput.shareKeyWith: the Vault paths only) */
  shareKeyWith?: readonly string[];
  /**
   * the new CA succeeds this one (`pkim ca rotate`: CA id; checked by the CA service): the row links to it, and a root
   * gets a cross certificate — its new key signed by the predecessor root's key — kept in its certificate history
   */
  successorOf?: { caId: string; disablePredecessor?: boolean };
}

/** A self-signed root CA (key generated in `backend`); `kmsCertify` lets a Cosmian KMS self-sign it. */
export interface RootCaRequest extends CaCommon {
  kind: 'root-ca';
  kmsCertify?: boolean;
}

/** An intermediate CA signed by `parent` (CA id or name). */
export interface IntermediateCaRequest extends CaCommon {
  kind: 'intermediate-ca';
  parent: string;
}

/**
 * A subordinate CA certificate for the key of a CSR held elsewhere (Vault `sign-intermediate`), signed by `parent`
 * through the CA-certificate checks and recorded as a certificate of the parent (subordinate-ca-csr.ts).
 */
export interface SubordinateCaCsrRequest {
  kind: 'subordinate-ca-csr';
  /** CA id or name */
  parent: string;
  /** the CSR of the key to certify (its signature: the proof of possession) — or, instead, `selfSignedCaPem` */
  csrPem?: string;
  /**
   * instead of a CSR: a self-signed CA certificate (Vault's `sign-self-issued`, the cross-signing step of a root's
   * rotation) — CA:TRUE, issuer = subject, its signature verified with its own key as the proof of possession; its
   * key and subject are certified
   */
  selfSignedCaPem?: string;
  /** the certificate's subject; default: the CSR's (the self-signed certificate's) */
  subject?: SubjectInput | string;
  lifetimeMs?: number;
  /** undefined: the profile's default below the parent's (as `ca create --parent`); null: no path length */
  pathLen?: number | null;
  nameConstraints?: NameConstraintsJson;
  /** a renewal (renewal-service.ts, with a new CSR): the certificate it renews, stored as `renewedFrom` */
  renewedFrom?: string;
  /** the renewal's own rows and events, committed in the certificate's transaction (as LeafCommon's) */
  commitWith?: (certificate: CertificateRow) => ChannelWrites;
}

/**
 * A new certificate for a CA's own key (`pkim ca renew`): same subject, key and SKI, a new serial and validity; signed
 * by its parent (active) or, for a root, by itself. The CA's current certificate becomes the new one; the one it
 * replaces is kept in its certificate history (ca-renewal.ts).
 */
export interface CaRenewalRequest {
  kind: 'ca-renewal';
  /** CA id or name */
  ca: string;
  /** default: the profile's default lifetime (an intermediate's cut at its parent's notAfter) */
  lifetimeMs?: number;
}

/** Approval of a pending certificate request: the request's CSR is signed and the request marked issued. */
export interface ApprovedRequestRequest {
  kind: 'approved-request';
  requestId: string;
}

export type SignRequest =
  | LeafFromCsrRequest
  | LeafWithGeneratedKeyRequest
  | RootCaRequest
  | IntermediateCaRequest
  | ApprovedRequestRequest
  | SubordinateCaCsrRequest
  | CaRenewalRequest;

/** Who asks (`actor`, recorded in the audit chain) and through which channel (`provisioner`). */
export interface Via {
  actor: Actor;
  /**
   * the channel's provisioner (Vault role, SPIFFE entry, ACME account…); absent = the actor's own
   * (user role or API token, built by the provisioner registry). The actor's own limits apply in any case.
   */
  provisioner?: Provisioner;
}

export interface ApprovedRequestResult {
  request: CertificateRequestRow;
  issued: IssuedCertificate;
}

export type SignResult<R extends SignRequest> = R extends RootCaRequest | IntermediateCaRequest | CaRenewalRequest
  ? CaView
  : R extends ApprovedRequestRequest
    ? ApprovedRequestResult
    : IssuedCertificate;

/** The ONE door through which every certificate is made. */
export type SignFunction = <R extends SignRequest>(request: R, via: Via) => Promise<SignResult<R>>;
