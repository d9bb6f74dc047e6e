import type { KeyType, LeafNotAfterBehavior, RevocationReason, AuditEventContent } from '@pkim/shared';
import type { SshRepository, SshUnitOfWork } from './ssh-types';
import type { AcmeRepository, AcmeUnitOfWork } from './acme-types';
import type { BulkJobRepository } from './bulk-job-types';
import type { CrlDeltaBaseRepository, CrlDeltaRepository } from './crl-delta-base-types';
import type { IdempotencyRepository } from './idempotency-types';

/**
 * Logical model shared by the SQLite and PostgreSQL dialects. All times are integer epoch ms.
 * Repositories expose intent-revealing methods; every write that must be atomic with its audit
 * event goes through `Store.commit(unitOfWork)`, which runs in ONE database transaction:
 * synchronous on better-sqlite3, `BEGIN … COMMIT` with an advisory lock on PostgreSQL.
 */

export type CaStatus = 'active' | 'pending' | 'disabled' | 'expired' | 'revoked';
/** every status a certificate row holds (the listing's expiry sort without a status reads one index range each) */
export const CERTIFICATE_STATUSES = ['active', 'revoked', 'expired'] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];
export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'issued';
export type UserRole = 'admin' | 'operator' | 'auditor' | 'requester';
export type NotificationTrigger = 'expiry' | 'events';
export type NotificationChannel = 'webhook' | 'email';
/** pending → delivered, or retrying (backoff) → … → failed after the last attempt */
export type NotificationStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

export interface CaRow {
  id: string; // ca_…
  name: string; // unique
  parentId: string | null;
  subjectDn: string;
  issuerDn: string;
  serialHex: string | null; // null while pending (external CSR exported)
  notBefore: number | null;
  notAfter: number | null;
  keyUri: string;
  keyType: KeyType;
  keyBackend: string; // software | pkcs11 | kmip
  status: CaStatus;
  pathLen: number | null;
  nameConstraints: NameConstraintsJson | null;
  /** relying-party URLs put into the certificates this CA issues, by every process that signs for it */
  urls: CaUrlsJson | null;
  certificatePem: string | null;
  csrPem: string | null; // for pending external intermediates
  /**
   * an externally-signed CA's outside issuer chain (PEM, its issuer first, up to the outside root when given), checked
   * link by link at import; served after this CA in every chain. Null for every other CA.
   */
  issuerChainPem: string | null;
  /** a leaf asked past the CA's notAfter: refused (`err`, the default), cut there (`truncate`) or signed (`permit`) */
  leafNotAfterBehavior: LeafNotAfterBehavior;
  /** the CA this one succeeds (`pkim ca rotate`: a new key, the old CA kept until disabled); null for every other */
  predecessorId: string | null;
  /**
   * certificates of this CA that are not its current one, oldest first (null: none): the certificates a renewal
   * (`pkim ca renew`, same key) replaced, and a rotated root's cross certificate (its key signed by its predecessor)
   */
  certificateHistory: CaCertificateHistoryJson[] | null;
  skiHex: string | null;
  fingerprintSha256: string | null;
  crlNumber: number; // last CRL number issued
  revokedAt: number | null;
  revocationReason: RevocationReason | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * The relying-party URLs of a CA (like Vault's `config/urls`): CRL distribution points, OCSP responders and CA-issuer
 * (AIA) URLs of the certificates it issues. An empty list leaves that extension out.
 */
/** One certificate of a CA's history (CaRow.certificateHistory): times epoch ms, serial lowercase hex. */
export interface CaCertificateHistoryJson {
  /** `previous`: a certificate a renewal replaced; `cross`: the CA's key signed by its predecessor root */
  kind: 'previous' | 'cross';
  serialHex: string;
  issuerDn: string;
  /** the CA here that signed it (itself for a self-signed root); null when an outside CA did */
  issuerCaId: string | null;
  notBefore: number;
  notAfter: number;
  fingerprintSha256: string;
  certificatePem: string;
  /** when it was replaced (`previous`) or made (`cross`) */
  at: number;
  /**
   * set when this certificate was revoked on its own (`pkim ca revoke-cross`: relying parties stop reaching the CA
   * through its predecessor root), whatever the CA's status: listed on its issuer's CRL, `revoked` in its OCSP answers
   */
  revokedAt?: number;
  revocationReason?: RevocationReason;
}

export interface CaUrlsJson {
  /** the base URL they were derived from (`pkim ca set-urls --base`), when they were */
  base?: string;
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
  /**
   * where its delta CRLs are published (a Vault mount's `delta_crl_distribution_points`): the Freshest CRL extension of
   * its complete CRL while delta CRLs are on (`ca.crl_delta_grace_ms.<id>`); certificates do not carry them
   */
  deltaCrlDistributionPoints?: string[];
}

export interface NameConstraintsJson {
  permittedDns?: string[];
  excludedDns?: string[];
  permittedIp?: string[]; // CIDR
  excludedIp?: string[];
  permittedUri?: string[];
  excludedUri?: string[];
  permittedEmail?: string[];
  excludedEmail?: string[];
  /** not encoded: URI SANs below the CA must start with one of these (see core NameConstraints) */
  permittedUriPrefixes?: string[];
}

export interface SanJson {
  dns?: string[];
  ip?: string[];
  uri?: string[];
  email?: string[];
}

export interface CertificateRow {
  id: string; // crt_…
  caId: string;
  serialHex: string; // lowercase hex, unique per CA
  subjectDn: string;
  commonName: string | null;
  sans: SanJson;
  profile: string;
  keyType: KeyType;
  notBefore: number;
  notAfter: number;
  status: CertificateStatus;
  revokedAt: number | null;
  revocationReason: RevocationReason | null;
  fingerprintSha256: string; // lowercase hex
  certificatePem: string;
  requestId: string | null;
  issuedBy: string; // actor
  createdAt: number;
  /** id of the certificate this one renews (null/absent: not a renewal) */
  renewedFrom?: string | null;
  /** id of the provisioner it was issued through (`vault-role:pki/web`); null: issued before migration 0020 */
  provisioner?: string | null;
}

/** A server-generated private key kept for a certificate (sealed: see `certificate_keys` in the schema). */
export interface CertificateKeyRow {
  certificateId: string;
  sealedKey: string;
  createdAt: number;
}

export interface CertificateRequestRow {
  id: string; // req_…
  caId: string;
  csrPem: string;
  subjectDn: string;
  sans: SanJson;
  profile: string;
  validityMs: number | null;
  status: RequestStatus;
  requester: string;
  reviewer: string | null;
  reason: string | null;
  certificateId: string | null;
  /** the notAfter of the certificate issued from it, set with certificateId (a requester's listing by expiry) */
  certificateNotAfter: number | null;
  createdAt: number;
  reviewedAt: number | null;
  updatedAt: number;
}

/** SPIFFE: the role a CA plays in a trust domain (docs/spiffe.md). */
export type SpiffeCaRole = 'root' | 'services' | 'transport';
/** `retiring`: replaced by a rotation, kept in the bundle until `keepUntil` */
export type SpiffeCaStatus = 'active' | 'retiring';

export interface SpiffeCaRow {
  id: string; // the CA's id (ca_…)
  trustDomain: string;
  role: SpiffeCaRole;
  status: SpiffeCaStatus;
  rotatedAt: number | null;
  keepUntil: number | null;
  createdAt: number;
}

export interface SpiffeSvidRow {
  id: string; // the certificate's id (crt_…)
  caId: string;
  spiffeId: string;
  serviceType: string;
  notAfter: number;
  supersededBy: string | null;
  supersededAt: number | null;
  createdAt: number;
}

/** the current SVID of `spiffeId` (other than `by`) is superseded by `by` at `at` */
export interface SupersedeSvid {
  spiffeId: string;
  by: string;
  at: number;
}

/** An SVID with what its certificate row says (serial, fingerprint, revocation). */
export interface SpiffeSvidView extends SpiffeSvidRow {
  serialHex: string;
  fingerprintSha256: string;
  notBefore: number;
  status: CertificateStatus;
}

export interface SpiffeDeniedRow {
  id: string; // the SPIFFE ID
  reason: string;
  deniedBy: string;
  deniedAt: number;
}

export interface SpiffeRepository {
  /** every SPIFFE CA role row (few), oldest first */
  listCas(): Promise<SpiffeCaRow[]>;
  findDenied(spiffeId: string): Promise<SpiffeDeniedRow | undefined>;
  listDenied(): Promise<SpiffeDeniedRow[]>;
  findSvid(certificateId: string): Promise<SpiffeSvidView | undefined>;
  /** newest first; keyset cursor over (createdAt, id) */
  listSvids(query: {
    spiffeId?: string;
    serviceType?: string;
    /** only SVIDs whose notAfter is after this time and that were not superseded */
    currentAt?: number;
    limit?: number;
    cursor?: string | null;
  }): Promise<Page<SpiffeSvidView>>;
  /** SVID counts at `now`: current (unexpired, not superseded), superseded (unexpired), expired */
  countSvids(now: number): Promise<{ current: number; superseded: number; expired: number }>;
  /** unexpired SVIDs per issuing CA, with the last notAfter */
  svidsByCa(now: number): Promise<{ caId: string; count: number; lastNotAfter: number }[]>;
  /** certificate ids of SVIDs whose notAfter is before `before` (oldest first) */
  expiredSvidIds(before: number, limit: number): Promise<string[]>;
}

export interface AuditEventRow extends AuditEventContent {
  prevHash: string;
  hash: string;
}

/** An audit event before the store assigns seq/prevHash/hash inside the transaction. */
export interface NewAuditEvent {
  id: string; // evt_…
  time: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
}

export interface UserRow {
  id: string; // usr_…
  username: string;
  passwordHash: string;
  role: UserRole;
  disabled: boolean;
  failedLogins: number;
  lockedUntil: number | null;
  mustChangePassword: boolean;
  /** CAs / profiles / name patterns / max lifetime this user may issue (enforced by the signing pipeline) */
  resources?: TokenResourcesJson | null;
  createdAt: number;
  updatedAt: number;
}

/** An external identity (OIDC issuer + subject) linked to a user. */
export interface UserIdentityRow {
  id: string; // uid_…
  userId: string;
  issuer: string;
  subject: string;
  createdAt: number;
  lastLoginAt: number;
}

export interface NotificationRuleRow {
  id: string; // ntr_…
  name: string;
  trigger: NotificationTrigger;
  channel: NotificationChannel;
  target: string;
  secret: string | null;
  /** the secret before the last rotation (sealed), still signed with until `previousSecretUntil` */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  daysBefore: number[];
  events: string[];
  caId: string | null;
  profile: string | null;
  namePattern: string | null;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface NotificationDeliveryRow {
  id: string; // ntd_…
  ruleId: string;
  /** unique: rule + certificate + threshold, or rule + event (exactly once across instances) */
  dedupKey: string;
  event: string;
  /** the certificate / CA / event the notification is about */
  subject: string | null;
  payload: Record<string, unknown>;
  status: NotificationStatus;
  attempts: number;
  nextAttemptAt: number;
  leaseUntil: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** Resource limits stored with an API token (the authority's ResourceLimits). */
export interface TokenResourcesJson {
  cas?: string[];
  profiles?: string[];
  names?: string[];
  maxLifetimeMs?: number;
  /** SPIFFE identities the token may request: `<service type>/<instance id glob>` */
  spiffe?: string[];
}

export interface ApiTokenRow {
  id: string; // tok_…
  name: string;
  tokenHash: string; // sha256 hex of the secret
  userId: string | null;
  role: UserRole;
  scopes: string[];
  /** null = no resource limits */
  resources: TokenResourcesJson | null;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}

export interface SessionRow {
  id: string; // ses_… (the cookie value is a secret; only its hash is stored)
  tokenHash: string;
  userId: string;
  csrfToken: string;
  /** how the user signed in: null/absent = local password, `oidc` = OIDC provider */
  method?: string | null;
  expiresAt: number;
  createdAt: number;
}

/** A failed-login counter of the login throttle (see `login_failures` in the schema). */
export interface LoginFailureRow {
  id: string;
  failures: number;
  lastFailureAt: number;
  /** the user name (lowercase) of a (user, address) counter; null for an address counter */
  username?: string | null;
}

export interface Page<T> {
  items: T[];
  /** Opaque keyset cursor for the next page, null at the end. */
  nextCursor: string | null;
}

export interface CertificateQuery {
  caId?: string;
  /** only certificates of these CAs (a principal limited to some CAs); an empty list matches nothing */
  caIds?: string[];
  status?: CertificateStatus;
  /**
   * read `status` as of this time (epoch ms): an active certificate whose notAfter <= now counts as expired (what the
   * authority's views show before the background job marks it); without it, the stored status
   */
  now?: number;
  profile?: string;
  /** issued through this provisioner (its id, e.g. `vault-role:pki/web`) */
  provisioner?: string;
  /** notAfter < expiringBefore (and still active); with `now`, also notAfter > now (past its end is expired) */
  expiringBefore?: number;
  /** substring match on subject DN, common name or SANs */
  search?: string;
  /** only certificates issued from requests this user submitted (a requester's own inventory) */
  requester?: string;
  /** order of the listing (default `issued_desc`: newest first); the cursor belongs to one order */
  sort?: CertificateSort;
  limit?: number; // default 100, max 1000
  cursor?: string | null;
}

/** `revoked_desc`: the revoked certificates only (the others have no revocation time), the latest revocation first */
export type CertificateSort = 'issued_desc' | 'expiry_asc' | 'expiry_desc' | 'revoked_desc';

/** One DNS name found in the SANs of active certificates (the domains view). */
export interface NameCoverage {
  name: string;
  /** active certificates that carry the name */
  certificates: number;
  /** earliest and latest notAfter among them */
  firstNotAfter: number;
  lastNotAfter: number;
}

/** One atomic unit: all writes + audit events commit together or not at all. */
export interface UnitOfWork {
  insertCa?: CaRow[];
  /**
   * `unlessRevoked` guards against races: a CA already revoked is not changed and the unit fails with
   * `ca.already_revoked` (a CA revocation racing another one of the same CA)
   */
  updateCa?: { id: string; patch: Partial<Omit<CaRow, 'id' | 'createdAt'>>; unlessRevoked?: boolean }[];
  insertCertificates?: CertificateRow[];
  /** sealed private keys kept for certificates of this unit (written after `insertCertificates`) */
  insertCertificateKeys?: CertificateKeyRow[];
  /** status/revocation changes; `onlyIfStatus` guards against races (no-op rows → conflict error) */
  updateCertificates?: {
    id: string;
    patch: Partial<Pick<CertificateRow, 'status' | 'revokedAt' | 'revocationReason'>>;
    onlyIfStatus?: CertificateStatus;
  }[];
  /** revoke every active certificate issued by these CAs; the count is returned */
  revokeAllIssuedBy?: { caIds: string[]; revokedAt: number; reason: RevocationReason };
  deleteCertificates?: string[];
  deleteCas?: string[];
  insertRequests?: CertificateRequestRow[];
  updateRequests?: {
    id: string;
    patch: Partial<Omit<CertificateRequestRow, 'id' | 'createdAt'>>;
    onlyIfStatus?: RequestStatus;
  }[];
  /** increments and returns the CA's CRL number */
  bumpCrlNumber?: string;
  insertUsers?: UserRow[];
  updateUsers?: { id: string; patch: Partial<Omit<UserRow, 'id' | 'createdAt'>> }[];
  insertTokens?: ApiTokenRow[];
  updateTokens?: { id: string; patch: Partial<Omit<ApiTokenRow, 'id' | 'createdAt'>> }[];
  insertSessions?: SessionRow[];
  deleteSessions?: string[];
  /** ends every console session of these users (password change/reset, disable) */
  deleteSessionsOfUsers?: string[];
  setSettings?: Record<string, string>;
  /**
   * settings written only where absent (INSERT … ON CONFLICT DO NOTHING): a key that is there, even one another
   * instance's transaction wrote a moment ago, fails the unit with `store.setting_exists` and nothing of it is written
   */
  insertSettings?: Record<string, string>;
  /** settings changed only where present: a key that is not there fails the unit with `store.setting_not_found` */
  updateSettings?: Record<string, string>;
  /** settings removed only where present: a key that is not there fails the unit with `store.setting_not_found` */
  removeSettings?: string[];
  /**
   * Counts one failed login on each counter (inserted at 1; a counter whose last failure is before
   * `restartBefore` starts again at 1). One atomic upsert per counter, safe across instances.
   */
  recordLoginFailures?: {
    ids: string[];
    at: number;
    restartBefore: number;
    /** the user name (lowercase) recorded with a counter (the (user, address) ones) */
    usernameById?: Record<string, string>;
  };
  /** removes these login-failure counters (a successful login) */
  clearLoginFailures?: string[];
  /** removes every (user, address) counter of these user names (lowercase): an unlock, a password reset */
  clearLoginFailuresOfUsers?: string[];
  /** SPIFFE state (docs/spiffe.md) */
  insertSpiffeCas?: SpiffeCaRow[];
  updateSpiffeCas?: { id: string; patch: Partial<Omit<SpiffeCaRow, 'id' | 'createdAt'>> }[];
  /** written after `insertCertificates` (the SVID row references its certificate) */
  insertSpiffeSvids?: SpiffeSvidRow[];
  /** marks the other not yet superseded SVIDs of `spiffeId` as superseded by certificate `by` */
  supersedeSpiffeSvids?: SupersedeSvid[];
  /** adds (or replaces) deny-list entries */
  denySpiffeIds?: SpiffeDeniedRow[];
  /** removes deny-list entries */
  allowSpiffeIds?: string[];
  /** removes these settings keys (absent keys are ignored) */
  deleteSettings?: string[];
  /** OIDC identities (written after insertUsers) */
  insertUserIdentities?: UserIdentityRow[];
  touchUserIdentities?: { id: string; lastLoginAt: number }[];
  insertNotificationRules?: NotificationRuleRow[];
  updateNotificationRules?: { id: string; patch: Partial<Omit<NotificationRuleRow, 'id' | 'createdAt'>> }[];
  deleteNotificationRules?: string[];
  ssh?: SshUnitOfWork;
  /** ACME accounts, orders, authorizations, EAB keys (docs/acme.md) */
  acme?: AcmeUnitOfWork;
  /** appended last, in order, to the hash chain */
  audit?: NewAuditEvent[];
}

export interface CommitResult {
  revokedCount: number;
  crlNumber: number | null;
  /** new KRL versions by scope (from `ssh.bumpKrlVersions`) */
  krlVersions: Record<string, number>;
  audit: AuditEventRow[];
}

export interface CaRepository {
  findById(id: string): Promise<CaRow | undefined>;
  findByName(name: string): Promise<CaRow | undefined>;
  list(): Promise<CaRow[]>; // CAs are few; ordered by createdAt
  /** all descendants (children, grandchildren …) of a CA */
  listDescendants(id: string): Promise<CaRow[]>;
  /**
   * The CAs that may hold a certificate with SHA-256 fingerprint `sha256Hex` (lowercase hex) that CA `signerId`
   * signed, from indexes (0050): the CA whose current certificate it is, and those whose earlier certificates
   * (`certificateHistory`) that signer made — the signer itself (a root's renewals), its children (an intermediate's
   * renewals) and its successors (a rotated root's cross certificate). The caller compares the certificates.
   */
  findCertificateHolders(sha256Hex: string, signerId: string): Promise<CaRow[]>;
}

export interface CertificateRepository {
  findById(id: string): Promise<CertificateRow | undefined>;
  findBySerial(caId: string, serialHex: string): Promise<CertificateRow | undefined>;
  /** serial lookup across CAs (serials are random, collisions across CAs are possible but rare) */
  findAllBySerial(serialHex: string): Promise<CertificateRow[]>;
  findByFingerprint(sha256Hex: string): Promise<CertificateRow | undefined>;
  /**
   * Certificates whose serial (any CA) or SHA-256 fingerprint starts with `hexPrefix` (lowercase hex), at most
   * `limit` of each kind, from index ranges (`cert show 3fa2c0ff`): the authority refuses ambiguous prefixes.
   */
  findByHexPrefix(
    hexPrefix: string,
    limit: number,
  ): Promise<{ serial: CertificateRow[]; fingerprint: CertificateRow[] }>;
  list(query: CertificateQuery): Promise<Page<CertificateRow>>;
  /** active, notAfter < t (and > `after` when given: not yet past its end), soonest first */
  findExpiringBefore(t: number, limit?: number, after?: number): Promise<CertificateRow[]>;
  /** active certificates with from <= notAfter < to, counted per bucket of `bucketMs` (empty buckets omitted) */
  expiryHistogram(from: number, to: number, bucketMs: number): Promise<{ bucketStart: number; count: number }[]>;
  /** DNS names of active certificates, alphabetical, keyset-paged by name; `search` is a substring */
  listNames(query: {
    search?: string;
    limit?: number;
    cursor?: string | null;
    /** only names of certificates of these CAs; an empty list matches nothing */
    caIds?: string[];
  }): Promise<Page<NameCoverage>>;
  /**
   * Revoked entries for the CRL of a CA: serial, time, reason, ordered by serial. Large CRLs read it in keyset pages
   * (`page.after` = the last serial of the previous page, `page.limit` rows) so memory stays bounded.
   */
  listRevoked(
    caId: string,
    page?: { after?: string | null; limit?: number },
  ): Promise<Pick<CertificateRow, 'serialHex' | 'revokedAt' | 'revocationReason' | 'notAfter'>[]>;
  /**
   * The revoked certificates of a CA expiring in [from, to) — a CRL partition (docs/crl.md) — in (notAfter, serial)
   * order, in keyset pages: an index range over (status, not_after), never a walk over the CA's other certificates.
   */
  listRevokedExpiring(
    caId: string,
    window: { from: number; to: number },
    page: { after: { notAfter: number; serialHex: string } | null; limit: number },
  ): Promise<Pick<CertificateRow, 'serialHex' | 'revokedAt' | 'revocationReason' | 'notAfter'>[]>;
  /**
   * The smallest notAfter >= `from` among the CA's active and revoked certificates (undefined when none): the CRL
   * refresh job steps through a CA's partition windows with it (docs/crl.md). Two probes of the (status, not_after)
   * index in order, each stopping at the CA's first certificate.
   */
  firstNotAfter(caId: string, from: number): Promise<number | undefined>;
  /** served by the counters table: O(CAs × profiles), never reads the certificates */
  countByStatus(caId?: string): Promise<Record<CertificateStatus, number>>;
  /** count of active certificates with notAfter < t (and > `after` when given), grouped by nothing */
  countExpiringBefore(t: number, after?: number): Promise<number>;
  /** counts for metrics: issued per CA and profile (non-zero counters, from the counters table) */
  countsByCaAndProfile(): Promise<{ caId: string; profile: string; status: CertificateStatus; count: number }[]>;
  /** marks active certificates whose notAfter <= now as expired; returns how many */
  markExpired(now: number): Promise<number>;
  /** certificates that renew this one (newest first) */
  findRenewalsOf(id: string): Promise<CertificateRow[]>;
  /** the sealed private key kept for a certificate, if the server generated it and was asked to keep it */
  findSealedKey(certificateId: string): Promise<CertificateKeyRow | undefined>;
}

export interface RequestRepository {
  findById(id: string): Promise<CertificateRequestRow | undefined>;
  list(query: {
    status?: RequestStatus;
    requester?: string;
    caId?: string;
    /** only requests for these CAs; an empty list matches nothing */
    caIds?: string[];
    limit?: number;
    cursor?: string | null;
  }): Promise<Page<CertificateRequestRow>>;
  /** who submitted each of these requests (request id → requester); unknown ids are absent */
  requestersOf(ids: readonly string[]): Promise<Map<string, string>>;
  /** one grouped count over the (status, created_at) index */
  countByStatus(): Promise<Record<RequestStatus, number>>;
}

export interface AuditRepository {
  /** appends one event on its own (e.g. *.failed events); runs in its own transaction */
  append(event: NewAuditEvent): Promise<AuditEventRow>;
  /**
   * `afterSeq` is a keyset cursor in the listing order: seq > afterSeq for 'asc' (default), seq < afterSeq for
   * 'desc'; limit default 100, max 1000
   */
  list(query: {
    afterSeq?: number;
    action?: string;
    /** an actor's id, or several (the events of any of them; empty: no filter) */
    actor?: string | readonly string[];
    target?: string;
    limit?: number;
    order?: 'asc' | 'desc';
  }): Promise<AuditEventRow[]>;
  /** walks the whole chain in batches; reports the first broken link */
  verify(): Promise<
    | { ok: true; count: number; lastHash: string }
    | { ok: false; count: number; brokenAtSeq: number; brokenEventId: string; reason: string }
  >;
  count(): Promise<number>;
  /**
   * the users and API tokens that have acted (at least one event is theirs), by name — in code point order, a user
   * before a token of its name, then by id — a page at a time (`limit`, default 100, at most 1000; `cursor`: the
   * previous page's `nextCursor`); `q`: only names that begin with it, letter case aside (each character also
   * matches its one-character lower and upper case, JavaScript's: the same on both engines — namePrefixCondition).
   * Walks the users' and tokens' names in code point order (0049's indexes on PostgreSQL) and probes the actor index
   * once per candidate, never a scan of the log; a deleted user's or token's events have no name to offer.
   * `createdAt` tells two of one name apart.
   */
  namedActors(query?: {
    q?: string;
    limit?: number;
    cursor?: string | null;
  }): Promise<Page<{ id: string; kind: 'user' | 'token'; name: string; createdAt: number }>>;
}

export interface UserRepository {
  findById(id: string): Promise<UserRow | undefined>;
  findByUsername(username: string): Promise<UserRow | undefined>;
  list(): Promise<UserRow[]>;
  count(): Promise<number>;
  /** the usernames of those of `ids` that are users (one query per 500 ids; a deleted user's id is not listed) */
  namesOf(ids: readonly string[]): Promise<{ id: string; username: string }[]>;
}

export interface TokenRepository {
  findById(id: string): Promise<ApiTokenRow | undefined>;
  findByHash(tokenHash: string): Promise<ApiTokenRow | undefined>;
  list(): Promise<ApiTokenRow[]>;
  touch(id: string, t: number): Promise<void>;
  /** the names of those of `ids` that are API tokens (one query per 500 ids; a deleted token's id is not listed) */
  namesOf(ids: readonly string[]): Promise<{ id: string; name: string }[]>;
  /** the ids of the API tokens of that name (several users' tokens may share one; revoked ones too) */
  idsNamed(name: string): Promise<string[]>;
}

export interface SessionRepository {
  findByHash(tokenHash: string): Promise<SessionRow | undefined>;
  deleteExpired(now: number): Promise<number>;
}

export interface LoginFailureRepository {
  /** the counters among `ids` that exist */
  find(ids: string[]): Promise<LoginFailureRow[]>;
  /** the (user, address) counters of these user names (lowercase), any address */
  findByUsernames(usernames: string[]): Promise<LoginFailureRow[]>;
  /** deletes counters whose last failure is before `before`; returns how many */
  deleteStale(before: number): Promise<number>;
}

export interface UserIdentityRepository {
  find(issuer: string, subject: string): Promise<UserIdentityRow | undefined>;
  listByUser(userId: string): Promise<UserIdentityRow[]>;
}

export interface NotificationRepository {
  listRules(): Promise<NotificationRuleRow[]>;
  findRule(idOrName: string): Promise<NotificationRuleRow | undefined>;
  /**
   * Inserts the deliveries whose dedup key is new and returns those inserted; a key another instance (or an
   * earlier run) already inserted is skipped (INSERT … ON CONFLICT DO NOTHING): exactly once across instances.
   */
  enqueue(rows: NotificationDeliveryRow[]): Promise<NotificationDeliveryRow[]>;
  /**
   * Active certificates with `from < notAfter <= to`, ordered by (notAfter, id), keyset-paged after `after`
   * (the expiry scan walks every page, so no certificate is missed however many expire in the window).
   */
  expiringCertificates(
    from: number,
    to: number,
    after: { notAfter: number; id: string } | undefined,
    limit: number,
  ): Promise<CertificateRow[]>;
  /**
   * Takes up to `limit` due deliveries (pending or retrying, next attempt ≤ now, no live lease) for this sender
   * by setting their lease with a conditional update; returns only the rows this call leased.
   */
  lease(now: number, leaseUntil: number, limit: number): Promise<NotificationDeliveryRow[]>;
  /** records the outcome of an attempt (clears the lease) */
  settle(
    id: string,
    patch: Pick<NotificationDeliveryRow, 'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'deliveredAt'>,
  ): Promise<void>;
  /** newest first, keyset-paged by (createdAt, id) */
  listDeliveries(q: {
    ruleId?: string;
    status?: NotificationStatus;
    limit: number;
    before?: { createdAt: number; id: string };
  }): Promise<NotificationDeliveryRow[]>;
}

export interface SettingsRepository {
  get(key: string): Promise<string | undefined>;
  /** every setting whose key starts with `prefix`, in key order (small documents: mounts, roles, configs) */
  listByPrefix(prefix: string): Promise<{ key: string; value: string }[]>;
}

/** The hash algorithm of an OCSP CertID (RFC 6960 §4.1.1): what a stored response answers. */
export type OcspHashAlgorithm = 'sha1' | 'sha256';

/** A pre-signed OCSP response (docs/ocsp.md), one per certificate and CertID hash algorithm. */
export interface OcspResponseRow {
  /** the certificate's id, or a subordinate CA's id for that CA's own certificate */
  certificateId: string;
  hashAlg: OcspHashAlgorithm;
  /** the status it was signed for: `good`, or `revoked:<revokedAt ms>:<reason>` */
  statusKey: string;
  /** base64 of the CertID DER it answers (served only to a request with the same CertID bytes) */
  certId: string;
  /** base64 of the OCSPResponse DER */
  der: string;
  thisUpdate: number;
  nextUpdate: number;
  /** when the refresh job signs it again */
  refreshAt: number;
}

/**
 * What the OCSP responder reads of a certificate: a leaf (a `certificates` row) or the certificate of a subordinate
 * CA (a `certificate_authorities` row: `certificateId` is that CA's id, `caId` its parent, the issuer).
 */
export interface OcspCertificateState {
  certificateId: string;
  /** the issuing CA */
  caId: string;
  serialHex: string;
  status: CertificateStatus;
  revokedAt: number | null;
  revocationReason: RevocationReason | null;
  notAfter: number;
  createdAt: number;
}

export interface OcspResponseRepository {
  /**
   * a leaf's current status and its stored response for that CertID hash algorithm (default SHA-1), in one indexed
   * read (O(1) in the table size)
   */
  lookup(
    caId: string,
    serialHex: string,
    hashAlg?: OcspHashAlgorithm,
  ): Promise<(OcspCertificateState & { response?: OcspResponseRow }) | undefined>;
  /** the same for the certificate of a subordinate CA issued by `parentId` (its status is the CA's) */
  lookupSubordinateCa(
    parentId: string,
    serialHex: string,
    hashAlg?: OcspHashAlgorithm,
  ): Promise<(OcspCertificateState & { response?: OcspResponseRow }) | undefined>;
  /**
   * inserts or replaces the responses of these certificates (per hash algorithm), keeping the stored one where it is
   * newer (`thisUpdate`) or says revoked while the new one does not (of several rows for one certificate and hash
   * algorithm, the one that rule keeps); returns the row stored after the write for each certificate and hash
   * algorithm written — the given one, or the one kept over it (in no particular order); a write that loses writes
   * nothing (the kept row is read after it), and a row removed meanwhile is left out
   */
  put(rows: OcspResponseRow[]): Promise<OcspResponseRow[]>;
  /**
   * stored responses with `refreshAt <= now`, soonest first (the refresh job): the state of their certificate or
   * subordinate CA; a row whose certificate and CA are both gone comes with `notAfter` 0 (expired: deleted)
   */
  due(now: number, limit: number): Promise<(OcspCertificateState & { hashAlg: OcspHashAlgorithm })[]>;
  /**
   * One page of at most `limit` certificates in (createdAt, id) order after `after`: those among them not yet
   * expired at `now` that have no stored SHA-1 response, the key of the last one read (the next page's `after`;
   * null for an empty page) and whether more may follow (the page was full).
   */
  missing(
    after: { createdAt: number; id: string } | null,
    now: number,
    limit: number,
  ): Promise<{
    certificates: OcspCertificateState[];
    last: { createdAt: number; id: string } | null;
    more: boolean;
  }>;
  /** the certificates of subordinate CAs, not expired at `now`, that have no stored SHA-1 response (CAs are few) */
  missingSubordinateCas(now: number): Promise<OcspCertificateState[]>;
  /** deletes the responses (every hash algorithm) of these certificates; returns how many rows */
  remove(certificateIds: string[]): Promise<number>;
}

export type StoreDialect = 'sqlite' | 'postgres';

/** Encrypted PKCS#8 blobs of the software key backend, shared by every instance on the database. */
export interface KeyBlobRepository {
  get(id: string): Promise<string | undefined>;
  /** inserts or replaces */
  put(id: string, data: string): Promise<void>;
  /** true when a blob was deleted */
  delete(id: string): Promise<boolean>;
  /** true when the database holds at least one (software keys sealed under a master key) */
  any(): Promise<boolean>;
}

/** SQL names of every table of the store, in foreign-key-safe insertion order. */
export type StoreTableName =
  | 'certificate_authorities'
  | 'users'
  | 'certificates'
  | 'certificate_requests'
  | 'api_tokens'
  | 'sessions'
  | 'settings'
  | 'key_blobs'
  | 'certificate_keys'
  | 'spiffe_cas'
  | 'spiffe_svids'
  | 'spiffe_denied_ids'
  | 'ssh_environments'
  | 'ssh_cas'
  | 'ssh_users'
  | 'ssh_hosts'
  | 'ssh_principals'
  | 'ssh_principal_grants'
  | 'ssh_host_accounts'
  | 'ssh_blocks'
  | 'ssh_fleet_tokens'
  | 'ssh_certificates'
  | 'ssh_krl_versions'
  | 'acme_accounts'
  | 'acme_orders'
  | 'acme_authorizations'
  | 'acme_eab_keys'
  | 'acme_nonces'
  | 'user_identities'
  | 'notification_rules'
  | 'notification_deliveries'
  | 'audit_events';

/**
 * Keyset key of a raw row: `seq` for audit_events, `key` for settings, `scope` for ssh_krl_versions, `id` otherwise.
 */
export type RowKey = string | number;

export interface ExportedRows {
  /** rows with the same shape as the typed repository rows (JSON columns decoded, booleans as boolean) */
  rows: Record<string, unknown>[];
  /** key of the last row, to pass as `afterKey` for the next page; null when this was the last page */
  nextKey: RowKey | null;
}

/** The repositories of a store: its reads and the writes that are not a unit of work (Store.commit). */
export interface StoreRepositories {
  cas: CaRepository;
  certificates: CertificateRepository;
  requests: RequestRepository;
  audit: AuditRepository;
  users: UserRepository;
  tokens: TokenRepository;
  sessions: SessionRepository;
  loginFailures: LoginFailureRepository;
  userIdentities: UserIdentityRepository;
  notifications: NotificationRepository;
  settings: SettingsRepository;
  keyBlobs: KeyBlobRepository;
  /** pre-signed OCSP responses (derived data, not copied by copyStore) */
  ocspResponses: OcspResponseRepository;
  /** the bases of delta CRLs, one per CA (derived data, not copied by copyStore) */
  crlDeltaBases: CrlDeltaBaseRepository;
  /** the stored delta CRL of each CA (one per database) and the claims to sign the next */
  crlDeltas: CrlDeltaRepository;
  spiffe: SpiffeRepository;
  ssh: SshRepository;
  acme: AcmeRepository;
  /** bulk and batch API jobs (not audited, not copied by copyStore) */
  bulkJobs: BulkJobRepository;
  /** the first answers of REST calls made with an `Idempotency-Key` (not audited, not copied by copyStore) */
  idempotency: IdempotencyRepository;
}

export interface Store extends StoreRepositories {
  readonly dialect: StoreDialect;
  /**
   * true when `commit` refuses (`ca.not_active`) a unit inserting a certificate whose CA is no longer active, read in
   * the commit's own transaction (several processes may share the database; on PostgreSQL a CA read per request is a
   * round trip, on SQLite a read transaction of its own): issuance may then sign with a CA row read a moment earlier
   * (ca-context.ts)
   */
  readonly checksIssuingCaAtCommit?: boolean;
  /**
   * how many committed units of this store changed a CA row (created, updated, deleted, CRL number): a CA row read
   * by this process is read again once it or `otherCommits` moves (ca-context.ts: the two together say whether a CA
   * row may have changed); absent: the store does not count them
   */
  readonly caRowWrites?: number;
  /**
   * the changes this process may not have seen: moves, by the time it is read, once any other connection committed
   * since the last read (a CLI beside the server, a second authority on the data dir, SQLite's writer thread), so a
   * row remembered by this process is read again at the next request (auth-service.ts token rows, ca-context.ts CA
   * rows with caRowWrites; a token-authenticated request reads it once, other-commits-seen.ts). A synchronous check
   * (SQLite: `PRAGMA data_version`, ≈ 1–3 µs a read; PostgreSQL: the NOTIFYs of other stores' commits that changed a
   * CA row, an API token, a user, a certificate's status or a certificate profile, counted by a listening connection —
   * they arrive a moment after the commit — plus one move when that connection is lost and one when it listens again;
   * while none listens it stands still and callers' time bounds apply); absent: the store has no such signal, and
   * callers bound how long they remember a row by time
   */
  readonly otherCommits?: number;
  /**
   * runs all writes of the unit + audit appends in one transaction; throws PkiError('store.write_failed') and commits
   * nothing on any failure
   */
  commit(unit: UnitOfWork): Promise<CommitResult>;
  /**
   * Group commit hint: work that will `commit` a unit soon has started (a certificate being signed in a worker
   * thread). A batch waits for announced work, at most `GroupCommitPolicy.maxDelayMs`, so more units share its
   * transaction; with nothing announced it is written at once. Call the returned function (once) when the work has
   * submitted its unit or given up. Does nothing when `holdsCommits` is false.
   */
  expectCommit(): () => void;
  /**
   * true when the group commit holds a batch for announced work (`GroupCommitPolicy.maxDelayMs` > 0; PostgreSQL's
   * default): callers skip `expectCommit` otherwise (SQLite's default writes at the first look)
   */
  readonly holdsCommits: boolean;
  /** batches and units the group commit has written since the store was opened */
  commitStats(): GroupCommitStats;
  /** readiness: a trivial query */
  ping(): Promise<boolean>;
  /**
   * Runs fn only if this instance holds the named leader lock (PostgreSQL advisory lock; SQLite: always,
   * one writer). Returns undefined when another instance holds it.
   */
  withLeaderLock<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
  /**
   * Recomputes the certificate counters (`certificate_counts`, which serve `countByStatus` and
   * `countsByCaAndProfile`) from the certificates table in one grouped pass, in one transaction.
   * Commits and `importRows` keep them exact on their own: this is for data loaded around the store
   * (raw SQL) and as a consistency check. Returns the certificates counted and how many counter
   * rows were wrong (0 when the counters were right).
   */
  rebuildCertificateCounts(): Promise<{ certificates: number; corrected: number }>;
  /** online backup to a file (SQLite) / pg_dump custom format (PostgreSQL) */
  backup(toPath: string): Promise<void>;
  close(): Promise<void>;
  /**
   * INTERNAL (used by `copyStore`, not by services): one page of raw rows of a table in key order,
   * strictly after `afterKey` (null = from the start). Pages are read by primary key, never all at once.
   */
  exportRows(table: StoreTableName, afterKey: RowKey | null, limit: number): Promise<ExportedRows>;
  /**
   * INTERNAL (used by `copyStore`): inserts rows exactly as given (ids, audit seq and hashes
   * preserved, no audit event written) in one transaction; certificates update the certificate
   * counters in the same transaction. Throws PkiError('store.write_failed').
   */
  importRows(table: StoreTableName, rows: Record<string, unknown>[]): Promise<number>;
}

/** when a group commit writes its batch (group-commit.ts) */
export interface GroupCommitPolicy {
  /** a batch with this many units is written without waiting for more */
  maxBatch: number;
  /** the longest a unit waits for announced work (`Store.expectCommit`) to join its batch, in ms */
  maxDelayMs: number;
  /**
   * a held batch is also written as soon as a whole turn of the event loop runs nothing else (it took < 10 µs): the
   * thread would only wait for the announced work, so the write takes no time from anything. Only for writes that run
   * on this thread (SQLite without its writer thread): once a write returns a promise the policy holds as without it.
   */
  writeWhenIdle?: boolean;
  /**
   * batches written at once (default 1): with 2, a batch ready while another is being written is written beside it
   * instead of after it (asynchronous writes only: PostgreSQL, two commit connections)
   */
  maxWrites?: number;
}

/** what a group commit wrote so far: `units / batches` is the mean batch size */
export interface GroupCommitStats {
  /** batches written (one transaction each; a batch that fails is written again one unit at a time, not counted) */
  batches: number;
  /** units written, failed ones included */
  units: number;
  /**
   * ms the batches' first units waited before their batch was written, summed (a batch waits while the previous one
   * is written, and while it is held for announced work)
   */
  heldMs?: number;
  /**
   * ms spent writing batches, summed: until its promise settled (PostgreSQL, SQLite's writer thread), or the write's
   * time on this thread (SQLite: the transaction and the settling of its units' promises)
   */
  writingMs?: number;
  /**
   * batches written at the deadline — their first unit had waited `maxDelayMs` while announced work still ran — and
   * their units; the other batches were written with nothing announced running, or full (`maxBatch`), or drained
   */
  deadlineBatches?: number;
  deadlineUnits?: number;
  /** `maxWrites` 2: the batches written while another batch was being written, and their units */
  besideBatches?: number;
  besideUnits?: number;
  /** PostgreSQL: ms of the batch statements' round trips, summed (statement, its commit, the answer read) */
  statementMs?: number;
  /** PostgreSQL: ms of the batches' flush waits (FLUSH_WAIT), summed: the WAL flush and its round trip */
  flushMs?: number;
  /**
   * PostgreSQL: the batches that sent a flush wait; the others (the store the chain's only writer of late) committed
   * waiting for their own flush, inside the statement's round trip
   */
  flushWaits?: number;
  /**
   * PostgreSQL: the batches whose statement found the audit-chain lock taken (it waited for another transaction's
   * commit); the batch after each sends a flush wait
   */
  lockWaits?: number;
  /** SQLite with a writer thread (OpenStoreOptions.sqliteWriterThread): the batches that thread wrote */
  writerThreadBatches?: number;
  /** SQLite file: background fdatasyncs of the -wal file done so far (sqlite-wal-flush.ts) */
  walFlushes?: number;
}

export interface OpenStoreOptions {
  /** `sqlite:/path/to/pkim.db`, a plain path, `:memory:`, or `postgres://…` */
  url: string;
  /** test hook: throw inside the transaction after all writes (to test rollback) */
  faultInjection?: { failCommit?: boolean };
  /**
   * when the group commit writes a batch (default: SQLite at the first look, SQLITE_GROUP_COMMIT; PostgreSQL held
   * ≤ 2 ms / 64 units, PG_GROUP_COMMIT); tests and benches change it
   */
  groupCommit?: GroupCommitPolicy;
  /**
   * PostgreSQL: connections in this instance's pool (default 4). The app sizes it to its worker threads
   * (`pgPoolSize`); leader locks, the group commit's batches and the LISTEN use a connection of their own each,
   * never a pooled one.
   */
  poolSize?: number;
  /**
   * SQLite file: the group commit's batches are written by a writer thread on a connection of its own, so their CPU
   * (mostly the WAL page writes) leaves the main thread (sqlite-writer.ts). Default off (and off in
   * createAuthority unless AuthorityConfig.sqliteWriterThread): on 2 cores it cost more CPU per certificate than it
   * saved the main thread.
   */
  sqliteWriterThread?: boolean;
  /**
   * environment of the PostgreSQL client tools run by `backup` (pg_dump; its PATH is searched for them after
   * /usr/lib/postgresql/<version>/bin), passed down by the app's config module; default none
   */
  env?: Record<string, string | undefined>;
  /**
   * where the store reports what an operator should know and no caller hears of (PostgreSQL: the connection that
   * listens for other instances' changes lost, and back); pino's logger fits. Default: not reported
   */
  logger?: StoreLogger;
  /**
   * how many rows of the listing's order a dense search walks at most (default DENSE_WALK, 10,000: leave it). Tests
   * of the walk's edge set it lower, so that a few thousand rows, not over ten thousand, lie below it.
   */
  denseWalk?: number;
}

/** the two levels the store logs at (fields first, as pino takes them); never keys, tokens or database URLs */
export interface StoreLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export * from './ssh-types';
export * from './acme-types';
export * from './bulk-job-types';
export * from './idempotency-types';
export * from './crl-delta-base-types';
