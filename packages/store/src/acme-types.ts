/** Rows of the ACME server tables (RFC 8555, docs/acme.md). Times are integer epoch ms. */

export type AcmeAccountStatus = 'valid' | 'deactivated' | 'revoked';
export type AcmeOrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AcmeAuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type AcmeChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';
export type AcmeIdentifierType = 'dns' | 'ip';

/** An RFC 7807 problem as stored in an order or a challenge. */
export interface AcmeProblemJson {
  type: string;
  detail: string;
  status?: number;
}

export interface AcmeIdentifierJson {
  type: AcmeIdentifierType;
  value: string;
}

export interface AcmeChallengeJson {
  type: 'http-01' | 'dns-01' | 'tls-alpn-01';
  status: AcmeChallengeStatus;
  token: string;
  validated: number | null;
  error: AcmeProblemJson | null;
}

export interface AcmeAccountRow {
  id: string; // acct_…
  /** the CA whose ACME directory the account belongs to */
  caId: string;
  /** RFC 7638 SHA-256 thumbprint of the account key (unique per directory) */
  thumbprint: string;
  /** the account public key as a JWK */
  jwk: Record<string, unknown>;
  status: AcmeAccountStatus;
  contact: string[];
  /** the external account binding key this account was created with */
  eabKeyId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface AcmeOrderRow {
  id: string; // ord_…
  accountId: string;
  caId: string;
  status: AcmeOrderStatus;
  identifiers: AcmeIdentifierJson[];
  notBefore: number | null;
  notAfter: number | null;
  expiresAt: number;
  error: AcmeProblemJson | null;
  certificateId: string | null;
  /** the ARI certID of the certificate this order replaces (RFC 9773 `replaces`) */
  replaces: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface AcmeAuthorizationRow {
  id: string; // authz_…
  orderId: string;
  accountId: string;
  identifierType: AcmeIdentifierType;
  /** without the `*.` of a wildcard */
  identifierValue: string;
  wildcard: boolean;
  status: AcmeAuthorizationStatus;
  expiresAt: number;
  challenges: AcmeChallengeJson[];
  createdAt: number;
  updatedAt: number;
}

/** External account binding key (RFC 8555 §7.3.4): a MAC key handed out in the console/CLI. */
export interface AcmeEabKeyRow {
  id: string; // eab_… (the EAB `kid`)
  caId: string;
  /** base64url HMAC key */
  hmacKey: string;
  /** the account bound with it (a key binds one account) */
  accountId: string | null;
  createdBy: string;
  createdAt: number;
  usedAt: number | null;
}

export interface AcmeNonceRow {
  id: string;
  expiresAt: number;
}

/** ACME writes of a unit of work (run in the same transaction as the rest and its audit events). */
export interface AcmeUnitOfWork {
  insertAccounts?: AcmeAccountRow[];
  updateAccounts?: { id: string; patch: Partial<Omit<AcmeAccountRow, 'id' | 'caId' | 'createdAt'>> }[];
  insertOrders?: AcmeOrderRow[];
  /** `onlyIfStatus` guards the state machine against concurrent requests (no-op → acme.order_not_ready) */
  updateOrders?: {
    id: string;
    patch: Partial<Omit<AcmeOrderRow, 'id' | 'accountId' | 'caId' | 'createdAt'>>;
    onlyIfStatus?: AcmeOrderStatus;
  }[];
  insertAuthorizations?: AcmeAuthorizationRow[];
  updateAuthorizations?: {
    id: string;
    patch: Partial<Omit<AcmeAuthorizationRow, 'id' | 'orderId' | 'accountId' | 'createdAt'>>;
  }[];
  insertEabKeys?: AcmeEabKeyRow[];
  /** binds an unused EAB key to an account (no-op when already used → acme.unauthorized) */
  useEabKeys?: { id: string; accountId: string; at: number }[];
  deleteEabKeys?: string[];
}

export interface AcmeRepository {
  accountById(id: string): Promise<AcmeAccountRow | undefined>;
  accountByThumbprint(caId: string, thumbprint: string): Promise<AcmeAccountRow | undefined>;
  listAccounts(caId?: string): Promise<AcmeAccountRow[]>;
  orderById(id: string): Promise<AcmeOrderRow | undefined>;
  orderByCertificateId(certificateId: string): Promise<AcmeOrderRow | undefined>;
  /** newest first; `before`: only orders older than that one (keyset: creation time, then id) */
  listOrders(accountId: string, limit?: number, before?: { createdAt: number; id: string }): Promise<AcmeOrderRow[]>;
  countOrdersSince(accountId: string, since: number): Promise<number>;
  authorizationById(id: string): Promise<AcmeAuthorizationRow | undefined>;
  authorizationsOfOrder(orderId: string): Promise<AcmeAuthorizationRow[]>;
  /** valid, unexpired authorizations of an account for an identifier */
  validAuthorizations(accountId: string, type: string, value: string, now: number): Promise<AcmeAuthorizationRow[]>;
  eabKeyById(id: string): Promise<AcmeEabKeyRow | undefined>;
  listEabKeys(caId?: string): Promise<AcmeEabKeyRow[]>;
  /** stores a fresh nonce (and drops expired ones now and then) */
  putNonce(nonce: AcmeNonceRow): Promise<void>;
  /** true when the nonce existed and was unexpired; it is gone afterwards either way (single use) */
  takeNonce(id: string, now: number): Promise<boolean>;
  deleteExpiredNonces(now: number): Promise<number>;
}
