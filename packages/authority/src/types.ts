import type { BaseClaimSettings } from './crl-service';
import type { RenewalService } from './lifecycle/renewal-service';
import type { BulkService } from './lifecycle/bulk-service';
import type { BatchService } from './lifecycle/batch-service';
import type { BulkJobs } from './lifecycle/bulk-jobs';
import type { BulkSettings } from './bulk-settings';
import type { IdempotencyService, IdempotencySettings } from './idempotency-service';
import type { ExportService } from './exports/export-service';
import type { InventoryService } from './exports/inventory-report';
import type { Logger } from 'pino';
import type { Clock, KeyType, LeafNotAfterBehavior, RevocationReason } from '@pkim/shared';
import type { KeyBackend, BackendName } from '@pkim/keys';
import type {
  Store,
  CaRow,
  CertificateRow,
  CertificateRequestRow,
  AuditEventRow,
  CertificateQuery,
  Page,
  NameConstraintsJson,
  SanJson,
  UserRole,
  CertificateStatus,
  RequestStatus,
  CaStatus,
  NameCoverage,
  GroupCommitStats,
  GroupCommitPolicy,
} from '@pkim/store';
import type { CertificatePolicy, CrlEntryInput, CrlExtensionInput, Profile } from '@pkim/core';
import type { SignFunction } from './signing/sign-request';
import type { ResourceLimits } from './signing/provisioner';
import type { SpiffeConfig } from './spiffe/spiffe-config';
import type { SpiffeService } from './spiffe/spiffe-service';
import type { AcmeService } from './acme/acme-service';
import type { AcmeAdminService } from './acme/acme-admin-service';
import type { VaultService } from './vault';
import type { AuthServiceOptions } from './auth-service';
import type { ProfileCatalog } from './profile-service';
import type { SshService } from './ssh/ssh-types';
import type { OidcConfig } from './oidc/oidc-config';
import type { OidcService } from './oidc/oidc-service';
import type { NotificationService } from './notifications/notification-service';
import type { NotificationSettings } from './notifications/notification-config';

/** Who performs an action. The CLI acts as `{ id: 'cli:<os-user>', role: 'admin' }`. */
export interface Actor {
  /** stable id recorded in audit events: `usr_…`, `tok_…`, `cli:root`, `system` */
  id: string;
  /** display name (username) */
  name?: string;
  role: UserRole;
  /** API-token scopes; undefined = everything the role allows */
  scopes?: string[];
  /** CAs / profiles / name patterns / lifetime this token or user is limited to (enforced by the pipeline) */
  resources?: ResourceLimits;
  /**
   * a password session of a user who must change their password (the first-boot admin, a password an admin reset):
   * the transports' access check lets it call only user.me, its own password change and logout
   * (`auth.password_change_required`, docs/security.md). Never set for API tokens or OIDC sessions.
   */
  mustChangePassword?: true;
  /**
   * the claim (its owner) of the `Idempotency-Key` this request runs under (apps/server http/idempotency-plugin.ts):
   * `auditEvent` records it in the events the request commits, with its creation, in the same transaction — so a
   * retry after the server stopped before it kept the answer finds the creation (idempotency-service.ts)
   */
  idempotencyClaim?: string;
}

export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'admin' };

export interface AuthorityConfig {
  /** data directory (SQLite file, master.key, software key blobs). Default ./data */
  dataDir: string;
  /** `postgres://…` or a SQLite path; default `<dataDir>/pkim.db` */
  databaseUrl?: string;
  /** base64 of 32 bytes; default: `<dataDir>/master.key` created on first use */
  masterKey?: string;
  /** e.g. https://pki.example.com — issued certificates then carry CDP and AIA URLs */
  publicBaseUrl?: string;
  clock?: Clock;
  logger?: Logger;
  /** extra/override key backends (tests); by default software + pkcs11/kmip from env */
  keyBackends?: KeyBackend[];
  /**
   * settings as an environment-style map (PKIM_PKCS11_*, PKIM_KMIP_*, PKIM_SPIFFE_*, PKIM_ACME_*, PKIM_LOGIN_*,
   * PKIM_MASTER_KEY, PKIM_PROFILES_FILE; PATH for pg_dump): built by the app's config module. Default: none.
   */
  env?: Record<string, string | undefined>;
  /** CRL validity (nextUpdate - thisUpdate); default 24h */
  crlValidityMs?: number;
  /** CRLs with at least this many entries are re-signed in the background (crl-service.ts); default 10,000 */
  crlBackgroundEntries?: number;
  /**
   * the claim to sign a delta CRL base: its lifetime (default 15 s), its renewal while signing (default every 5 s) and
   * a request's wait for a new base (default 10 s) — crl-service.ts BaseClaimSettings, docs/crl.md
   */
  crlDeltaBaseClaim?: BaseClaimSettings;
  /** OCSP response validity (nextUpdate - thisUpdate); default PKIM_OCSP_VALIDITY or 24h */
  ocspValidityMs?: number;
  /** stored OCSP responses are signed again this long before nextUpdate; default PKIM_OCSP_REFRESH_BEFORE or 8h */
  ocspRefreshBeforeMs?: number;
  customProfiles?: Profile[];
  /** login throttling, session lifetime, password hashing cost (defaults in auth-service.ts) */
  auth?: AuthServiceOptions;
  /** test hook passed to the store */
  faultInjection?: { failCommit?: boolean };
  /**
   * when the store's group commit writes a batch (default: with worker threads the engine's — SQLite at the first
   * look, PostgreSQL held ≤ 2 ms / 32 units —; without them held ≤ 2 ms / 32 units on both); tests change it
   */
  groupCommit?: GroupCommitPolicy;
  /** OIDC sign-in over PKIM_OIDC_* (docs/oidc.md); false turns it off whatever the environment says */
  oidc?: Partial<OidcConfig> | false;
  /** SPIFFE settings over PKIM_SPIFFE_* (docs/spiffe.md) */
  spiffe?: Partial<SpiffeConfig>;
  /** notification settings over PKIM_SMTP_* / PKIM_NOTIFY_* (docs/notifications.md) */
  notifications?: Partial<NotificationSettings>;
  /** bulk CSV row limit and API job retention over PKIM_BULK_* (docs/everyday.md) */
  bulk?: Partial<BulkSettings>;
  /** how long an `Idempotency-Key`'s answer is replayed, over PKIM_IDEMPOTENCY_TTL (idempotency-service.ts) */
  idempotency?: Partial<IdempotencySettings>;
  /**
   * create the data directory and database when missing (default true: `pkim init`, `pkim serve`, tests); false
   * refuses a data dir that was never initialised with `data_dir.not_initialized` and creates nothing
   */
  create?: boolean;
  /** in-memory database and key-encryption key: nothing survives close (default PKIM_SPIFFE_EPHEMERAL) */
  ephemeral?: boolean;
  /**
   * worker threads for the CPU-bound signing steps (PKIM_WORKERS, set by `pkim serve`); 0 or 1 (the default) =
   * in-process. Software CA keys are lent to the workers; HSM/KMS keys keep signing through their backend.
   */
  workers?: number;
  /**
   * a directory where each worker thread writes its CPU profile (`.cpuprofile`, node:inspector, 200 µs sampling) when
   * the pool closes — `npm run bench` passes one (bench/issuance-bench.ts; `--cpu-prof` writes none for a terminated
   * worker)
   */
  workerCpuProfileDir?: string;
  /**
   * SQLite file: write the group commit's batches from a writer thread (OpenStoreOptions.sqliteWriterThread).
   * Default false: on the 2-core machine it cost more CPU per certificate than it took off the main thread
   * (docs/benchmarks-record.md); it may pay where cores are spare.
   */
  sqliteWriterThread?: boolean;
}

export interface SubjectInput {
  /** RFC 4514 string, e.g. `CN=Example Root CA,O=Example,C=US` … */
  dn?: string;
  /** … or fields */
  commonName?: string;
  organization?: string;
  organizationalUnit?: string;
  country?: string;
  state?: string;
  locality?: string;
}

export interface CreateCaInput {
  name: string;
  subject: SubjectInput | string;
  keyType: KeyType;
  backend?: BackendName; // default software
  /** ms; default from the CA profile */
  validityMs?: number;
  /** parent CA id for an intermediate signed here */
  parentId?: string;
  pathLen?: number | null;
  nameConstraints?: NameConstraintsJson;
  /** Cosmian KMS option: let the KMS self-sign the root (kmip backend only) */
  kmsCertify?: boolean;
  /**
   * how far notBefore is set before the signing time, ms (Vault's `not_before_duration` of `root/generate`); never
   * before a parent's notBefore. Default: one minute. Not with `kmsCertify` (the KMS sets the dates).
   */
  backdateMs?: number;
  /**
   * the exact notAfter asked (epoch ms; Vault's `not_after`), with `validityMs` the lifetime up to it: the CA ends
   * there unless that lifetime was shortened (the profile's maximum); see `ProvisionerModifiers.notAfter`
   */
  notAfter?: number;
  /**
   * the new CA's URL setting (as `setUrls` lists it; default: PKIM_PUBLIC_URL's) — what the certificates it signs
   * carry, a root's own certificate included (OpenBao embeds its mount's `config/urls` in a generated root); an
   * intermediate's certificate carries its parent's. An empty list leaves that extension out.
   */
  urls?: CaUrlLists;
  /**
   * the URI of a key already in a key backend for the new CA (Vault's `key_ref`: a key made by `keys/generate`)
   * instead of a new key: it must exist, be of `keyType` and be used by no CA (checked before anything is signed);
   * `backend` is the key's. It is not destroyed when the creation fails. Not with `kmsCertify`.
   */
  keyUri?: string;
  /**
   * with `keyUri`: the key may be one these CAs use already (the Vault paths only — the issuers of the mount, one key
   * for several issuers as OpenBao's `key_ref`; never `pkim ca create`): no copy, no new blob, no `kms.key_created`.
   * A key used by any other CA is still refused. Deleting one of them destroys the key only with its last user.
   */
  shareKeyWith?: readonly string[];
}

/** `cas.renew` (`pkim ca renew`): a new certificate for the CA's own key */
export interface RenewCaInput {
  /** ms; default: the profile's default lifetime (an intermediate's cut at its parent's notAfter) */
  validityMs?: number;
}

/** `cas.rotate` (`pkim ca rotate`): a successor CA with a new key */
export interface RotateCaInput {
  /** the successor's name; default: the predecessor's with `-2` (`-3`, … when taken) */
  name?: string;
  /** the successor's subject; default: the predecessor's */
  subject?: SubjectInput | string;
  /** default: the predecessor's key type */
  keyType?: KeyType;
  /** default: the predecessor's key backend */
  backend?: BackendName;
  /** ms; default from the CA profile (an intermediate's cut at its parent's notAfter) */
  validityMs?: number;
  /** disable the predecessor in the same transaction (default: it stays active until disabled) */
  disableOld?: boolean;
  /** the successor's path length; null: none; default: the predecessor's */
  pathLen?: number | null;
  /** the successor's name constraints; null: none; default: the predecessor's */
  nameConstraints?: NameConstraintsJson | null;
  /** as `CreateCaInput.backdateMs` (Vault's `not_before_duration`) */
  backdateMs?: number;
  /** as `CreateCaInput.notAfter` (Vault's `not_after`) */
  notAfter?: number;
  /**
   * a successor root's URL setting, carried by its own certificate (Vault's mount URLs); default: its own URLs under
   * the predecessor's base, of the kinds the predecessor's certificate carries
   */
  urls?: CaUrlLists;
  /** a key already in a key backend instead of a new one (as `CreateCaInput.keyUri`: used by no CA) */
  keyUri?: string;
}

/** what a rotation made: the successor (and, for a root, the cross certificate) and the predecessor as it is now */
export interface RotatedCa extends CaView {
  predecessor: CaRow;
  /** a root's successor: its new key signed by the predecessor root (PEM); null for an intermediate */
  crossCertificatePem: string | null;
}

/** a CA's relying-party URLs: CRL distribution points, AIA OCSP, AIA CA issuers */
export interface CaUrlLists {
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
}

/** An existing CA brought with its key (`CaService.importExisting`) */
export interface ImportExistingCaInput {
  /** the CA certificate, one PEM CERTIFICATE */
  certificatePem: string;
  /** its private key: PEM PKCS#8 (optionally encrypted), PKCS#1 or SEC1 */
  keyPem: string;
  /** the password of an encrypted key */
  keyPassword?: string;
  /** the outside issuer's certificate (or its chain up to the outside root) when no CA here signed it */
  issuerCertificatePem?: string;
  /** default: the certificate's CN made a CA name */
  name?: string;
  /** where the key is kept; default software */
  backend?: BackendName;
  /**
   * accept a certificate without a keyUsage extension (RFC 5280 allows it; strict verifiers — OpenSSL -x509_strict,
   * Python 3.13's default TLS context — refuse leaves under it); default: refused with ca.certificate_mismatch
   */
  allowMissingKeyUsage?: boolean;
  /**
   * a key already in a key backend that IS the private key given (Vault's `issuers/import/bundle` with a key the mount
   * made by `keys/generate`): the CA uses that key instead of importing the PEM again (checked as CreateCaInput.keyUri)
   */
  keyUri?: string;
}

export interface CaView {
  ca: CaRow;
  certificatePem: string | null;
  /** PEM chain from this CA up to its root (this CA first) */
  chainPem: string;
}

export interface IssueFromCsrInput {
  caId: string;
  csrPem: string;
  profile: string;
  validityMs?: number;
  /** override/add SANs (default: the CSR's requested SANs) */
  sans?: SanJson;
  /** override the subject (default: the CSR subject) */
  subject?: SubjectInput | string;
  requestId?: string;
}

export interface IssueWithKeyInput {
  caId: string;
  profile: string;
  subject: SubjectInput | string;
  sans?: SanJson;
  keyType: KeyType;
  validityMs?: number;
  /** keep the key (sealed) so it can be exported later in a password-protected container */
  keepKey?: boolean;
}

export interface IssuedCertificate {
  certificate: CertificateRow;
  certificatePem: string;
  /** issuer chain (issuing CA first, root last) */
  chainPem: string;
  /** only for server-generated keys; returned once, never stored */
  privateKeyPem?: string;
  /** things the operator should fix, said once per process (e.g. a CA without CRL/OCSP URLs) */
  warnings?: string[];
}

/** a CA that uses a key (`cas.delete`'s `keyInUseBy`: the other users of a deleted CA's key) */
export interface CaKeyUser {
  id: string;
  name: string;
}

export interface CaUrlsInput {
  base?: string;
  crlDistributionPoints?: string[];
  ocspUrls?: string[];
  caIssuersUrls?: string[];
  clear?: boolean;
}

export interface CaService {
  create(input: CreateCaInput, actor: Actor): Promise<CaView>;
  /** external intermediate: key generated here, CSR returned for an outside CA to sign; status `pending` */
  createExternalIntermediate(
    input: Omit<CreateCaInput, 'parentId' | 'kmsCertify'>,
    actor: Actor,
  ): Promise<{ ca: CaRow; csrPem: string }>;
  /**
   * the certificate an outside CA signed for a pending CA: its key, the CSR's subject, CA:TRUE, not expired, and its
   * signature verified by a CA here (then its parent) or by `issuerCertificatePem` (`ca.issuer_unverified` else)
   */
  importCertificate(
    caId: string,
    certificatePem: string,
    actor: Actor,
    opts?: { issuerCertificatePem?: string },
  ): Promise<CaView>;
  /**
   * an existing CA (certificate + private key) made an active CA here: the key the certificate's, CA:TRUE,
   * keyCertSign, not expired; a self-signed root, a CA here as its parent, or the outside chain given
   */
  importExisting(input: ImportExistingCaInput, actor: Actor): Promise<CaView>;
  /**
   * every CA (as read now: `expired` once past its end, certificate-view.ts caStatusAt); with `expiringWithinMs`,
   * only the CAs whose certificate ends within that time from now — those already past it included (status
   * `expired`: the most urgent), pending (no certificate yet) and revoked ones left out — soonest end first
   */
  list(filter?: { expiringWithinMs?: number }): Promise<CaRow[]>;
  get(idOrName: string, actor?: Actor): Promise<CaView>;
  setStatus(caId: string, status: 'active' | 'disabled', actor: Actor): Promise<CaRow>;
  /**
   * The relying-party URLs of the certificates the CA issues from now on, stored with the CA (every process that
   * signs for it uses them): `base` derives all three (`<base>/crl/<id>.crl`, `<base>/ocsp`, `<base>/aia/<id>.crt`);
   * the lists replace one kind each; `clear` removes them all.
   */
  setUrls(caRef: string, input: CaUrlsInput, actor: Actor): Promise<CaRow>;
  /** a new name for a CA (`CA_NAME`, not taken: `ca.name_taken`); the same name changes nothing; `ca.renamed` */
  rename(caRef: string, name: string, actor: Actor): Promise<CaRow>;
  /**
   * what the signing pipeline does, for every channel, with a leaf asked past the CA's own notAfter (OpenBao's
   * `leaf_not_after_behavior`): `err` refuses it (the default), `truncate` ends it at the CA's notAfter, `permit` signs
   * it (relying parties reject such a chain once the CA expired). The same value changes nothing; audited
   * `ca.leaf_not_after_configured` with `from`/`to`.
   */
  setLeafNotAfterBehavior(caRef: string, behavior: LeafNotAfterBehavior, actor: Actor): Promise<CaRow>;
  /**
   * deletes a revoked/expired CA; optionally destroys its key in the backend after the delete commits —
   * `keyDestroyed` false when it was not asked, the backend refused (kms.key_destroy_failed audited, key left) or
   * other CAs use the key too (`keyInUseBy`: those CAs; the key kept for them, their ids in `ca.deleted`'s details:
   * not a failure, the CA is deleted and the last of them deleted with `destroyKey` destroys the key)
   */
  delete(
    caId: string,
    opts: { destroyKey?: boolean },
    actor: Actor,
  ): Promise<{ keyDestroyed: boolean; keyInUseBy?: CaKeyUser[] }>;
  /**
   * a new certificate for the CA's own key (same subject, key and SKI; new serial and validity) through the signing
   * pipeline: signed by its parent (active; the validity within the parent's) or, a root, by itself. The CA's
   * current certificate becomes the new one (chain, AIA, exports); the one replaced is kept in its history
   * (`certificateHistory`). `ca.renewed`. An expired CA too (the repair: active again, `wasExpired`); a disabled,
   * revoked or pending CA (`ca.not_active`), one signed outside (`ca.externally_signed`), a validity past the parent's
   * (`lint.lifetime_beyond_issuer`): refused, nothing changed.
   */
  renew(caRef: string, input: RenewCaInput, actor: Actor): Promise<CaView>;
  /**
   * a successor CA with a new key (of the type asked, else the predecessor's), the predecessor's subject (or the one
   * given) and a new name: an intermediate's signed by the same parent; a root's self-signed, with a cross
   * certificate (the new key signed by the predecessor root) in its history. The predecessor stays active (its CRL
   * and OCSP too) until disabled (`disableOld`: in the same transaction). `ca.rotated` on the predecessor. An expired
   * CA too (an expired root signs no cross certificate); a disabled, revoked or pending one: `ca.not_active`.
   */
  rotate(caRef: string, input: RotateCaInput, actor: Actor): Promise<RotatedCa>;
}

export interface IssuanceService {
  issueFromCsr(input: IssueFromCsrInput, actor: Actor): Promise<IssuedCertificate>;
  issueWithKey(input: IssueWithKeyInput, actor: Actor): Promise<IssuedCertificate>;
}

/**
 * Reads take the actor asking: a principal limited to some CAs (`resources.cas` of its token or user) sees only those
 * CAs' objects — a certificate of another CA is `certificate.not_found`, lists leave them out. Without an actor
 * (the local CLI operator, in-process callers) nothing is filtered.
 */
/** a certificate presented to be revoked that may have no row here (a Vault `no_store` role's): `revokePresented` */
export interface PresentedRevocation {
  /**
   * the CAs that may have signed it (a Vault mount's issuers): the first whose key verifies its signature; omitted
   * (REST, tRPC, `pkim cert revoke --pem`): the CA `ca` names (id or name), else the CAs whose subject is the
   * certificate's issuer name
   */
  caIds?: string[];
  ca?: string;
  /** a stored certificate already revoked is `certificate.already_revoked` (as by serial), not its row again */
  refuseRevoked?: boolean;
  certificatePem: string;
  reason: RevocationReason;
  /** revoke it also when expired (or ending within EXPIRED_WITHIN_MS, 2 s); else `expired` and nothing changes */
  allowExpired: boolean;
  /** called once the issuing CA is known, before anything changes (a proof of possession: throw to refuse) */
  verifyHolder?: (caId: string) => void;
}

export type PresentedRevocationResult = { certificate: CertificateRow } | { expired: true; serialHex: string };

export interface CertificateService {
  /**
   * with the ids of the certificates that renew it (newest first) and what it may be used for, read from the
   * certificate: extended key usages (known ones by name, others as dotted OIDs) and certificate policies
   */
  get(
    id: string,
    actor?: Actor,
  ): Promise<{
    certificate: CertificateRow;
    certificatePem: string;
    renewedBy: string[];
    extKeyUsage: string[];
    certificatePolicies: CertificatePolicy[];
  }>;
  /** accepts crt_ id, serial hex (colons allowed) or SHA-256 fingerprint */
  find(ref: string, actor?: Actor): Promise<CertificateRow>;
  list(query: CertificateQuery, actor?: Actor): Promise<Page<CertificateRow>>;
  expiringBefore(t: number, limit?: number, actor?: Actor): Promise<CertificateRow[]>;
  revoke(ref: string, reason: RevocationReason, actor: Actor): Promise<CertificateRow>;
  /**
   * revokes a presented certificate of one of `caIds` that may have no row here (a Vault `no_store` role's): its
   * signature verified under the CA's key, the row (status revoked) and its event in one commit
   * (certificate-service.ts)
   */
  revokePresented(input: PresentedRevocation, actor: Actor): Promise<PresentedRevocationResult>;
  /** deletes an expired certificate record (revoked ones stay until they expire): the record as it was */
  delete(ref: string, actor: Actor): Promise<CertificateRow>;
}

export interface RequestService {
  submit(
    input: { caId: string; csrPem: string; profile: string; validityMs?: number },
    actor: Actor,
  ): Promise<CertificateRequestRow>;
  approve(id: string, actor: Actor): Promise<{ request: CertificateRequestRow; issued: IssuedCertificate }>;
  reject(id: string, reason: string, actor: Actor): Promise<CertificateRequestRow>;
  get(id: string, actor: Actor): Promise<CertificateRequestRow>;
  /** the certificate issued from the request (+ chain); requesters only for their own requests */
  certificate(
    id: string,
    actor: Actor,
  ): Promise<{ certificate: CertificateRow; certificatePem: string; chainPem: string }>;
  list(
    query: { status?: RequestStatus; caId?: string; limit?: number; cursor?: string | null },
    actor: Actor,
  ): Promise<Page<CertificateRequestRow>>;
}

export interface RevocationResult {
  ca: CaRow;
  /** how many certificates (and sub-CAs) issued below it were revoked too */
  revokedCertificates: number;
  revokedCas: number;
}

export interface CaRevocationService {
  /**
   * `cascade` (default true: `pkim ca revoke`, tRPC/REST) revokes everything below the CA too; `cascade: false`
   * (Vault `issuer/:ref/revoke`) only the CA's own certificate — what it issued stays valid (docs/vault-api.md)
   */
  revokeCa(
    caId: string,
    reason: RevocationReason,
    actor: Actor,
    opts?: { cascade?: boolean },
  ): Promise<RevocationResult>;
  /**
   * revokes a rotated root's cross certificate on its own (the successor `caRef` untouched): on the old root's CRL,
   * `revoked` in its OCSP answers; `certificate.not_found` without one, `certificate.already_revoked` once revoked
   */
  revokeCross(caRef: string, reason: RevocationReason, actor: Actor): Promise<CaView>;
}

export interface CrlService {
  /** builds and signs a fresh CRL (bumps the CRL number), audited as `crl.generated` */
  generate(
    caId: string,
    actor: Actor,
  ): Promise<{ der: Uint8Array; crlNumber: number; thisUpdate: number; nextUpdate: number }>;
  /**
   * current CRL: cached; regenerated when a revocation happened (any process) or nextUpdate is near. With a
   * partition: the partition CRL of the certificates expiring in [start, end) (docs/crl.md), `crl.not_found` when the
   * CA publishes no partitions (its CRL URLs are not PKI Manager's).
   */
  current(
    caId: string,
    partition?: { start: number; end: number },
  ): Promise<{ der: Uint8Array; crlNumber: number; thisUpdate: number; nextUpdate: number }>;
  /**
   * the delta CRL of the CA's current complete CRL (RFC 5280 §5.2.4: a critical Delta CRL Indicator naming the base's
   * CRL number; only what was revoked after the base) while delta CRLs are on for it (a Vault mount's `enable_delta`:
   * its complete CRL is then kept until its auto-rebuild grace period); undefined while they are off. Re-signed after a
   * revocation (any process) or a new base, audited `crl.generated` with `deltaCrlBase`
   */
  currentDelta(
    caId: string,
  ): Promise<
    { der: Uint8Array; crlNumber: number; thisUpdate: number; nextUpdate: number; baseCrlNumber: number } | undefined
  >;
  /**
   * `listener` is called when the delta CRLs may want the server's rebuild schedule (apps/server
   * delta-crl-schedule.ts): a delta CRL made in this process, a Vault mount's `config/crl` written in it. Synchronous
   * and cheap (the schedule only wakes); returns the function that removes the listener
   */
  onDeltaActivity(listener: () => void): () => void;
  /**
   * the refresh job's part for partitions (docs/crl.md): when the CA gives new certificates partitions, builds the
   * partition CRL of every window holding a certificate not yet expired that this process has not built, or whose
   * nextUpdate is less than `refreshBeforeMs` (or a quarter of its validity) away; returns those built
   */
  refreshPartitions(
    caId: string,
    opts: { refreshBeforeMs: number; shouldStop?: () => boolean },
  ): Promise<{ start: number; end: number; crlNumber: number }[]>;
  /**
   * a CRL of the caller's entries signed with CA `caId`'s key (the Vault API's `sign-revocation-list` and
   * `resign-crls`): its number, delta base and extensions as given, thisUpdate now, nextUpdate `validityMs` later.
   * Not the CA's own CRL: its number, cache and published CRL stay as they were. `ca:write`; audited `crl.signed`
   * (`crl.sign_failed`); `crl.issuer_key_unusable` when the CA's key is missing or not its certificate's key.
   */
  signEntries(caId: string, input: SignedCrlInput, actor: Actor): Promise<{ der: Uint8Array; nextUpdate: number }>;
}

/** what `CrlService.signEntries` signs */
export interface SignedCrlInput {
  crlNumber: number;
  /** a delta CRL of that base CRL number (a critical Delta CRL Indicator) */
  deltaCrlBase?: number;
  validityMs: number;
  entries: CrlEntryInput[];
  extensions?: CrlExtensionInput[];
  /** what asked for it, recorded in the audit event (`vault:<mount>/sign-revocation-list`) */
  via: string;
}

export interface OcspAnswer {
  der: Uint8Array;
  statuses: ('good' | 'revoked' | 'unknown')[];
  errorStatus?: string;
  /** thisUpdate/nextUpdate of the answer (ms), for caching headers (RFC 5019 §6.2); absent on error statuses */
  thisUpdate?: number;
  nextUpdate?: number;
}

export interface OcspService {
  /** answers a DER OCSP request with a DER OCSP response (never throws; errors become OCSP error statuses) */
  respond(requestDer: Uint8Array, options?: OcspRespondOptions): Promise<OcspAnswer>;
  /**
   * The answers kept in memory, seen through ONE read of Store.otherCommits made by this call: the returned function
   * gives, synchronously, the answer `respond(der)` would give from memory now, or undefined (then `respond`).
   * Use it only for requests received in full BEFORE this call, and drop it before anything else runs (no await
   * between this call and the last lookup): a read answers a request only if it started after the request's bytes
   * arrived, so another connection's commit seen by a client before it sent its request (`pkim cert revoke` beside
   * the server) is in the answer (docs/benchmarks-record.md session 23). What it saves is the read per request.
   */
  answersInMemory(): (requestDer: Uint8Array) => OcspAnswer | undefined;
  /**
   * One run of the leader-only `ocsp-refresh` job: signs again the stored responses that reached their refresh time
   * (drops those of expired certificates), then signs the missing ones of unexpired certificates, at most `budget`
   * signatures (default 20,000) per run.
   */
  refresh(opts?: {
    shouldStop?: () => boolean;
    budget?: number;
  }): Promise<{ signed: number; failed: number; removed: number }>;
}

export interface OcspRespondOptions {
  /**
   * answer as this CA only (a Vault mount's responder): certificates of other issuers are `unknown`, signed by this
   * CA (OpenBao answers a foreign issuer so); without a certificate of its own, or '' (a mount without a default
   * issuer), the answer is `unauthorized` unless the request names one of `mountCaIds`
   */
  responderCaId?: string;
  /** the CAs of that mount: a request naming one of them is answered by it (a mount's other issuers) */
  mountCaIds?: readonly string[];
}

/** A signed checkpoint of the audit chain head: where it was found, the event count and head hash it saw. */
export interface AuditCheckpointView {
  seq: number;
  hash: string;
  time: number;
  source: 'database' | 'file';
  /** set by a re-anchoring checkpoint: the newer checkpoint it replaced */
  replaced?: { seq: number; source: 'database' | 'file' };
}

export type AuditVerifyResult =
  | { ok: true; count: number; lastHash: string; checkpoint?: AuditCheckpointView | null }
  | { ok: false; count: number; brokenAtSeq: number; brokenEventId: string; reason: string };

/** an audit event as read: with its actor's display name (a user's username, an API token's name; else null) */
export type AuditEventView = AuditEventRow & { actorName: string | null };

/** one who acted in the audit log, by name: a user (its username) or an API token (its name) — never a secret */
export interface AuditActorView {
  id: string;
  kind: 'user' | 'token';
  name: string;
  /** when the user or token was made (epoch ms): what tells two tokens of one name apart, with the id */
  createdAt: number;
}

export interface AuditService {
  /**
   * The audit log spans every CA: a principal limited to some CAs (`resources.cas`) is refused (`auth.forbidden`)
   * when it passes itself as `reader`. `actor`: an actor's id, or a username or API token name (the events of that
   * user and of the tokens of that name, as well as of an actor whose id it is).
   */
  list(
    query: {
      afterSeq?: number;
      action?: string;
      actor?: string;
      target?: string;
      limit?: number;
      order?: 'asc' | 'desc';
    },
    reader?: Actor,
  ): Promise<AuditEventView[]>;
  /**
   * The users and API tokens that appear in the audit log as actors, by name (what the `actor` filter takes), sorted
   * by name: readable by whoever may read the log (the console's Actor picker for an auditor, who may not list users
   * or tokens). A page at a time (`limit`, default 100, at most 1000; `cursor`: the previous page's `nextCursor`),
   * sorted by name in code point order, a user before a token of its name; `q`: only the names that begin with it
   * (letter case aside). A principal limited to some CAs is refused as by `list`.
   */
  actors(
    query: { q?: string; limit?: number; cursor?: string | null },
    reader?: Actor,
  ): Promise<{ items: AuditActorView[]; nextCursor: string | null }>;
  /** the hash chain, then the signed checkpoints (tail truncation, rewrite before the checkpoint) */
  verify(): Promise<AuditVerifyResult>;
  /**
   * signs the current chain head and keeps it in the database and beside it (data dir); a no-op when the head
   * did not move. `reanchor` (after `pkim restore` of an older backup) replaces a newer checkpoint on purpose.
   */
  checkpoint(opts?: { reanchor?: boolean }): Promise<AuditCheckpointView | undefined>;
  /** records a standalone event (e.g. auth events) */
  record(event: {
    actor: Actor | string;
    action: string;
    target?: string | null;
    outcome?: 'success' | 'failure';
    details?: Record<string, unknown>;
  }): Promise<AuditEventRow>;
}

export interface DashboardWarning {
  level: 'info' | 'warning' | 'critical';
  code: string;
  message: string;
  target: string | null;
}

export interface DecodedSans {
  dns: string[];
  ip: string[];
  uri: string[];
  email: string[];
}

/** Read models of the web console (insights-service.ts). */
export interface InsightsService {
  /**
   * `recentAudit` / `expiringSoon` are left empty unless the caller may read them; for a CA-limited `actor`
   * `expiringSoon` holds only its CAs' certificates and `recentAudit` stays empty (the counters are totals)
   */
  dashboard(
    include?: { audit?: boolean; certificates?: boolean },
    actor?: Actor,
  ): Promise<{
    generatedAt: number;
    cas: { total: number; byStatus: Record<CaStatus, number> };
    certificates: Record<CertificateStatus, number>;
    expiring: { within7d: number; within30d: number; within90d: number };
    pendingRequests: number;
    expiringSoon: CertificateRow[];
    recentAudit: AuditEventView[];
    health: Awaited<ReturnType<Authority['health']>>;
    warnings: DashboardWarning[];
  }>;
  /** active certificates per day (or `bucketDays`) from the start of today for `days` days, zeros included */
  expiryTimeline(input?: { days?: number; bucketDays?: number }): Promise<{
    from: number;
    to: number;
    bucketMs: number;
    buckets: { start: number; count: number }[];
    total: number;
  }>;
  /** CAs and certificates by id, name, CN, SAN, serial or fingerprint */
  search(
    q: string,
    limit?: number,
    actor?: Actor,
  ): Promise<{
    cas: { id: string; name: string; subjectDn: string; status: CaStatus; match: string }[];
    certificates: (CertificateRow & { match: string })[];
  }>;
  /** which DNS names active certificates cover, and until when */
  domains(
    query: { search?: string; limit?: number; cursor?: string | null },
    actor?: Actor,
  ): Promise<Page<NameCoverage>>;
  decodeCsr(pem: string): { subjectDn: string; keyType: string; sans: DecodedSans; publicKeySha256: string };
  decodeCertificate(pem: string): {
    serialHex: string;
    subjectDn: string;
    issuerDn: string;
    notBefore: number;
    notAfter: number;
    keyType: string;
    sans: DecodedSans;
    isCa: boolean;
    pathLen: number | null;
    keyUsage: string[];
    extKeyUsage: string[];
    certificatePolicies: CertificatePolicy[];
    subjectKeyIdentifierHex: string | null;
    authorityKeyIdentifierHex: string | null;
    fingerprintSha256: string;
    signatureAlgorithmOid: string;
    nameConstraints: unknown;
    /** the relying-party URLs it carries (cRLDistributionPoints, authorityInfoAccess): empty when absent */
    crlDistributionPoints: string[];
    ocspUrls: string[];
    caIssuersUrls: string[];
  };
}

/** Housekeeping the server's leader-elected jobs (and the CLI) call; the decisions stay in the authority. */
export interface MaintenanceService {
  /** marks active certificates past notAfter as expired; returns how many */
  markExpired(): Promise<number>;
  /**
   * regenerates the CRL of every active CA whose current CRL's nextUpdate is less than `refreshBeforeMs` away, and
   * builds its partition CRLs ahead of need (CrlService.refreshPartitions)
   */
  refreshCrls(opts: { refreshBeforeMs: number; shouldStop?: () => boolean }): Promise<{
    /** CRLs signed by the run: complete ones, and partition CRLs (`partition`: their notAfter window, Unix ms) */
    refreshed: { caId: string; crlNumber: number; partition?: { start: number; end: number } }[];
    failed: { caId: string; message: string }[];
  }>;
  /** pre-signed OCSP responses: signs again those due, signs the missing ones (OcspService.refresh) */
  refreshOcsp(opts?: {
    shouldStop?: () => boolean;
    budget?: number;
  }): Promise<{ signed: number; failed: number; removed: number }>;
  /** deletes expired sessions; returns how many */
  cleanupSessions(): Promise<number>;
  /** signs the audit chain head (see AuditService.checkpoint) */
  checkpointAudit(): Promise<AuditCheckpointView | undefined>;
  /** runs `fn` only while this process holds the named cluster-wide leader lock (always on SQLite) */
  runAsLeader<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
}

/** Counters for the dashboard and /metrics (grouped counts, never row listings). */
export interface StatisticsService {
  dashboard(): Promise<{
    cas: { total: number; active: number };
    certificates: { active: number; revoked: number; expired: number };
    expiring: { within7d: number; within30d: number };
    pendingRequests: number;
  }>;
  certificateCounts(): Promise<
    { caId: string; caName: string; profile: string; status: CertificateStatus; count: number }[]
  >;
  expiring(): Promise<{ within7d: number; within30d: number }>;
  /**
   * every CA with a certificate (pending CAs have none): its status now (`expired` read from the dates) and the
   * validity of its current certificate, epoch ms — for monitoring (`pkim_ca_not_after_seconds`)
   */
  caValidity(): Promise<{ caId: string; caName: string; status: CaStatus; notBefore: number; notAfter: number }[]>;
}

export interface Authority {
  readonly config: AuthorityConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * THE signing pipeline: every certificate (root, intermediate, leaf from CSR or generated key, approved
   * request, and every later channel) is made here. `via` names the actor and, for channels such as Vault
   * roles, SPIFFE or ACME, the provisioner that authorises the request. See docs/architecture.md.
   */
  sign: SignFunction;
  cas: CaService & CaRevocationService;
  issuance: IssuanceService;
  certificates: CertificateService;
  requests: RequestService;
  crl: CrlService;
  ocsp: OcspService;
  audit: AuditService;
  auth: AuthService;
  /** OIDC sign-in for the console (Authorization Code + PKCE, JIT users, role mapping) */
  oidc: OidcService;
  /** notification rules (expiry, lifecycle events), the delivery queue and log (docs/notifications.md) */
  notifications: NotificationService;
  /** Vault/OpenBao-compatible PKI: mounts, roles, auth methods, issue/sign through the signing pipeline */
  vault: VaultService;
  /** console read models: dashboard, expiry timeline, search, domains, decoders */
  insights: InsightsService;
  /** certificate exports (PEM, DER, chains, PKCS#7, PKCS#12, JKS, encrypted PKCS#8, ZIP) and CA truststores */
  exports: ExportService;
  /** inventory reports: any filtered certificate list as CSV or JSON, streamed (exports/inventory-report.ts) */
  inventory: InventoryService;
  /** renewal: same subject, SANs, profile and CA, a new key by default; `renewedFrom`/`renewedBy` links */
  renewal: RenewalService;
  /** batches: certificates from a CSV (dry run, per-row or all-or-nothing) through the signing pipeline */
  bulk: BulkService;
  /** batch revoke, renew and download (ZIP) of certificates by a list of references or a filter */
  batch: BatchService;
  /** bulk and batch runs started over the API, polled for progress and results (in this instance's memory) */
  bulkJobs: BulkJobs;
  /** the first answers of REST calls made with an `Idempotency-Key`, for their retries (idempotency-service.ts) */
  idempotency: IdempotencyService;
  /** the SSH certificate authority (docs/ssh.md) */
  ssh: SshService;
  /** SPIFFE workload identity: CAs, SVIDs from CSRs, deny list, bundle (docs/spiffe.md) */
  spiffe: SpiffeService;
  /** the ACME server (RFC 8555) of CAs with ACME enabled: accounts, orders, challenges, finalize via the pipeline */
  acme: AcmeService;
  /** ACME administration beside the protocol: EAB keys (list, revoke), orders, operator deactivation */
  acmeAdmin: AcmeAdminService;
  maintenance: MaintenanceService;
  statistics: StatisticsService;
  /**
   * what this authority runs on (for system info): database dialect, configured key backends, worker threads, and
   * the jobs its workers were given so far, in all and per kind (a leaf is one job: docs/benchmarks-record.md)
   */
  describe(): {
    databaseDialect: Store['dialect'];
    keyBackends: string[];
    workers: number;
    workerJobs: number;
    workerJobsByKind: Readonly<Record<string, number>>;
    /** the messages between the pool and its workers so far: of jobs, of answers (jobs of one turn go together) */
    workerMessages: Readonly<{ jobs: number; answers: number }>;
    /** the store's group commit so far: batches (transactions) and units written; units / batches = mean batch */
    commits: GroupCommitStats;
  };
  /**
   * every profile certificates can be issued with: built-ins plus custom ones (<data dir>/profiles.json and those
   * made through the API, as this instance last read them — `profileCatalog.list` reads the store)
   */
  profiles(): Profile[];
  /** custom profiles made, changed and deleted through the API (settings `profile.*`, seen by every instance) */
  profileCatalog: ProfileCatalog;
  /** readiness: database + key backends */
  health(): Promise<{
    ok: boolean;
    database: boolean;
    keyBackends: { backend: string; ok: boolean; detail?: string }[];
  }>;
  close(): Promise<void>;
}

export type { CertificateStatus, RequestStatus, CertificateRow, CaRow, CertificateRequestRow, AuditEventRow };

/** Users, passwords, sessions, API tokens. Implemented in auth-service.ts. */
export interface AuthService {
  /** first boot: creates the bootstrap admin if no user exists; returns the one-time password only then */
  ensureBootstrapAdmin(): Promise<{ created: true; username: string; password: string } | { created: false }>;
  createUser(
    input: { username: string; password: string; role: UserRole },
    actor: Actor,
  ): Promise<{ id: string; username: string; role: UserRole }>;
  listUsers(): Promise<
    {
      id: string;
      username: string;
      role: UserRole;
      disabled: boolean;
      /**
       * until when sign-in of this user is throttled from at least one client address (the latest such block),
       * null when it is not; `lockedAddresses` counts the addresses blocked now
       */
      lockedUntil: number | null;
      lockedAddresses: number;
      /** the user must change their password at the next sign-in (first-boot admin, a reset password) */
      mustChangePassword: boolean;
      resources?: ResourceLimits;
      createdAt: number;
    }[]
  >;
  /**
   * lifts every sign-in block of this user (all client addresses; blocks of an address as such stay); returns
   * how many (user, address) counters were cleared. A password reset does the same.
   */
  unlockUser(userId: string, actor: Actor): Promise<{ cleared: number }>;
  setUserRole(userId: string, role: UserRole, actor: Actor): Promise<void>;
  setUserDisabled(userId: string, disabled: boolean, actor: Actor): Promise<void>;
  /** limits a user to CAs / profiles / name patterns / a max lifetime (null = unlimited within the role) */
  setUserResources(userId: string, resources: ResourceLimits | null, actor: Actor): Promise<void>;
  /**
   * one's own password (the old one needed; clears `mustChangePassword`) or, with user:manage, another user's (a
   * reset: sets it). Either ends every session of that user. A session that must change its password may change only
   * its own (`auth.password_change_required`), to a new one.
   */
  changePassword(userId: string, oldPassword: string, newPassword: string, actor: Actor): Promise<void>;
  /**
   * password login with throttling per (user, address) and per address; returns a session secret
   * (cookie value) and CSRF token
   */
  login(
    username: string,
    password: string,
    meta: { ip?: string },
  ): Promise<{ sessionToken: string; csrfToken: string; actor: Actor; expiresAt: number }>;
  logout(sessionToken: string): Promise<void>;
  /** resolves a session cookie value to an actor (+ its CSRF token) */
  /** `method`: how the session was opened (`oidc`; absent for a local password) */
  authenticateSession(sessionToken: string): Promise<{ actor: Actor; csrfToken: string; method?: 'oidc' } | undefined>;
  /** API token: secret shown once; stored hashed */
  createToken(
    input: {
      name: string;
      role: UserRole;
      scopes?: string[];
      resources?: ResourceLimits;
      /** lifetime; omitted: the default (90 days, PKIM_TOKEN_TTL); null: never expires */
      expiresInMs?: number | null;
      /**
       * refuse a name already carried by a live token of the same owner (default true: names people give);
       * false for machine-minted login tokens (Vault AppRole/Kubernetes logins), named after the login
       */
      uniqueName?: boolean;
    },
    actor: Actor,
  ): Promise<{ id: string; token: string; expiresAt: number | null }>;
  listTokens(): Promise<
    {
      id: string;
      name: string;
      role: UserRole;
      scopes: string[];
      resources: ResourceLimits | null;
      expiresAt: number | null;
      lastUsedAt: number | null;
      revokedAt: number | null;
      createdAt: number;
    }[]
  >;
  revokeToken(id: string, actor: Actor): Promise<void>;
  /** resolves `Authorization: Bearer <token>` / `X-Vault-Token` to an actor */
  authenticateToken(token: string): Promise<Actor | undefined>;
}
