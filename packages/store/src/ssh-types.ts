import type { KeyType } from '@pkim/shared';
import type { Page } from './types';

/** Rows of the SSH certificate authority tables (docs/ssh.md). Times are integer epoch ms. */
export type SshCertType = 'user' | 'host';
/**
 * `active` issues; `rotating` is the previous CA during a rotation (still trusted, issues nothing);
 * `retired`: gone from trust.
 */
export type SshCaStatus = 'active' | 'rotating' | 'retired';
export type SshCertificateStatus = 'active' | 'revoked' | 'expired';
export type SshFleetOperation = 'sign-host' | 'sign-user';

export interface SshEnvironmentRow {
  id: string; // env_…
  name: string;
  description: string | null;
  createdAt: number;
}

export interface SshCaRow {
  id: string; // sca_…
  name: string;
  environmentId: string;
  certType: SshCertType;
  keyUri: string;
  keyType: KeyType;
  keyBackend: string;
  /** the CA public key as an OpenSSH line (`ssh-ed25519 AAAA… name`) */
  publicKey: string;
  /** `SHA256:…` */
  fingerprint: string;
  status: SshCaStatus;
  maxTtlMs: number;
  defaultTtlMs: number;
  retiredAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface SshCertificateRow {
  id: string; // ssc_…
  caId: string;
  /** uint64 serial, decimal (as ssh-keygen -L prints it) */
  serial: string;
  keyId: string;
  certType: SshCertType;
  principals: string[];
  /** `SHA256:…` of the certified public key */
  keyFingerprint: string;
  validAfter: number;
  validBefore: number;
  criticalOptions: Record<string, string | true>;
  extensions: Record<string, string | true>;
  /** the `-cert.pub` line */
  certificate: string;
  status: SshCertificateStatus;
  revokedAt: number | null;
  revocationReason: string | null;
  sshUserId: string | null;
  hostId: string | null;
  /** the channel it came through: `user:alice`, `token:tok_…`, `fleet:ftk_…` */
  provisioner: string;
  issuedBy: string;
  fleetTokenId: string | null;
  idempotencyKey: string | null;
  createdAt: number;
}

export interface SshHostRow {
  id: string; // hst_…
  environmentId: string;
  name: string;
  /** host names / addresses the host certificate may carry */
  principals: string[];
  createdAt: number;
  updatedAt: number;
}

export interface SshUserRow {
  id: string; // sus_…
  name: string;
  disabled: boolean;
  createdAt: number;
}

export interface SshPrincipalRow {
  id: string; // spr_…
  name: string;
  description: string | null;
  createdAt: number;
}

export interface SshPrincipalGrantRow {
  id: string; // grt_…
  userId: string;
  principal: string;
  createdAt: number;
}

/** On host `hostId`, principal `principal` may log in as local `account` (AuthorizedPrincipalsFile). */
export interface SshHostAccountRow {
  id: string; // hac_…
  hostId: string;
  account: string;
  principal: string;
  createdAt: number;
}

/** `userId` may not get certificates for `hostId` (null: fleet-wide), and is in the host's KRL. */
export interface SshBlockRow {
  id: string; // blk_…
  userId: string;
  hostId: string | null;
  reason: string | null;
  createdBy: string;
  createdAt: number;
}

/** Monotonic KRL version per scope: `ca:<sca_…>` or `host:<hst_…>`. */
export interface SshKrlVersionRow {
  scope: string;
  version: number;
  updatedAt: number;
}

export interface SshFleetTokenRow {
  id: string; // ftk_…
  name: string;
  environmentId: string;
  operations: SshFleetOperation[];
  /** sha256 hex of the secret */
  tokenHash: string;
  ratePerMinute: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  createdBy: string;
  createdAt: number;
}

/** The SSH part of a unit of work (same transaction as the rest of the unit and its audit events). */
export interface SshUnitOfWork {
  insertEnvironments?: SshEnvironmentRow[];
  insertCas?: SshCaRow[];
  updateCas?: { id: string; patch: Partial<Pick<SshCaRow, 'status' | 'retiredAt' | 'updatedAt'>> }[];
  insertCertificates?: SshCertificateRow[];
  updateCertificates?: {
    id: string;
    patch: Partial<Pick<SshCertificateRow, 'status' | 'revokedAt' | 'revocationReason'>>;
    onlyIfStatus?: SshCertificateStatus;
  }[];
  insertHosts?: SshHostRow[];
  updateHosts?: { id: string; patch: Partial<Pick<SshHostRow, 'principals' | 'updatedAt'>> }[];
  insertUsers?: SshUserRow[];
  updateUsers?: { id: string; patch: Partial<Pick<SshUserRow, 'disabled'>> }[];
  insertPrincipals?: SshPrincipalRow[];
  insertGrants?: SshPrincipalGrantRow[];
  deleteGrants?: { userId: string; principal: string }[];
  insertHostAccounts?: SshHostAccountRow[];
  deleteHostAccounts?: { hostId: string; account: string; principal: string }[];
  insertBlocks?: SshBlockRow[];
  deleteBlocks?: string[];
  /** increments (or starts at 1) the KRL version of each scope; the new versions are in the commit result */
  bumpKrlVersions?: { scopes: string[]; at: number };
  insertFleetTokens?: SshFleetTokenRow[];
  updateFleetTokens?: { id: string; patch: Partial<Pick<SshFleetTokenRow, 'revokedAt' | 'lastUsedAt'>> }[];
}

export interface SshCertificateQuery {
  caId?: string;
  status?: SshCertificateStatus;
  limit?: number;
  cursor?: string | null;
}

export interface SshRepository {
  environmentById(id: string): Promise<SshEnvironmentRow | undefined>;
  environmentByName(name: string): Promise<SshEnvironmentRow | undefined>;
  listEnvironments(): Promise<SshEnvironmentRow[]>;
  caById(id: string): Promise<SshCaRow | undefined>;
  caByName(name: string): Promise<SshCaRow | undefined>;
  listCas(environmentId?: string): Promise<SshCaRow[]>;
  certificateById(id: string): Promise<SshCertificateRow | undefined>;
  certificateBySerial(caId: string, serial: string): Promise<SshCertificateRow | undefined>;
  certificateByIdempotencyKey(fleetTokenId: string, key: string): Promise<SshCertificateRow | undefined>;
  listCertificates(query: SshCertificateQuery): Promise<Page<SshCertificateRow>>;
  /** revoked certificates of a CA still within validity at `now` (what its KRL must list) */
  listRevokedCertificates(caId: string, now: number): Promise<SshCertificateRow[]>;
  /** active certificates of a CA that have not expired at `now` */
  countUnexpired(caId: string, now: number): Promise<number>;
  /** certificates a fleet token got issued after `since` (its rate limit across server processes) */
  countFleetIssuedSince(fleetTokenId: string, since: number): Promise<number>;
  hostById(id: string): Promise<SshHostRow | undefined>;
  hostByName(environmentId: string, name: string): Promise<SshHostRow | undefined>;
  listHosts(environmentId?: string): Promise<SshHostRow[]>;
  userById(id: string): Promise<SshUserRow | undefined>;
  userByName(name: string): Promise<SshUserRow | undefined>;
  listUsers(): Promise<SshUserRow[]>;
  principal(name: string): Promise<SshPrincipalRow | undefined>;
  listPrincipals(): Promise<SshPrincipalRow[]>;
  grantsOfUser(userId: string): Promise<string[]>;
  hostAccounts(hostId: string): Promise<SshHostAccountRow[]>;
  blocksOfUser(userId: string): Promise<SshBlockRow[]>;
  /** blocks that apply on this host: the host's own and fleet-wide ones */
  blocksForHost(hostId: string): Promise<SshBlockRow[]>;
  listBlocks(): Promise<SshBlockRow[]>;
  blockById(id: string): Promise<SshBlockRow | undefined>;
  krlVersion(scope: string): Promise<SshKrlVersionRow | undefined>;
  fleetTokenByHash(tokenHash: string): Promise<SshFleetTokenRow | undefined>;
  fleetTokenById(id: string): Promise<SshFleetTokenRow | undefined>;
  listFleetTokens(): Promise<SshFleetTokenRow[]>;
}
