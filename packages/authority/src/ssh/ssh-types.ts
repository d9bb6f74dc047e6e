import type { KeyType } from '@pkim/shared';
import type { BackendName } from '@pkim/keys';
import type {
  Page,
  SshBlockRow,
  SshCaRow,
  SshCertificateRow,
  SshCertificateStatus,
  SshCertType,
  SshEnvironmentRow,
  SshFleetOperation,
  SshFleetTokenRow,
  SshHostAccountRow,
  SshHostRow,
  SshPrincipalRow,
  SshUserRow,
} from '@pkim/store';
import type { Actor } from '../types';

export type {
  SshBlockRow,
  SshCaRow,
  SshCertificateRow,
  SshCertType,
  SshEnvironmentRow,
  SshFleetOperation,
  SshFleetTokenRow,
  SshHostAccountRow,
  SshHostRow,
  SshPrincipalRow,
  SshUserRow,
};

export { SSH_CA_KEY_TYPES } from '@pkim/shared';

export interface CreateSshCaInput {
  name: string;
  type: SshCertType;
  /** ed25519 (default), ec-p256, ec-p384, rsa-4096 */
  keyType?: KeyType;
  backend?: BackendName;
  /** environment name; `default` (created on first use) when absent */
  environment?: string;
  /** longest certificate this CA signs; default 30d (user) / 365d (host) */
  maxTtlMs?: number;
  /** default certificate lifetime; default 8h (user) / 30d (host) */
  defaultTtlMs?: number;
}

export interface SshCaView {
  ca: SshCaRow;
  environment: string;
  /** the CA public key line (`ssh-ed25519 AAAA… <name>`) */
  publicKey: string;
}

export interface SshSignInput {
  /** CA name or id */
  ca: string;
  /** the subject public key (`.pub` line) */
  publicKey: string;
  type: SshCertType;
  principals?: string[];
  ttlMs?: number;
  keyId?: string;
  /** a registered SSH user: principals must be granted to them; blocks apply */
  user?: string;
  /** a registered host (name in the CA's environment): host certificates carry its names; user blocks on it apply */
  host?: string;
  criticalOptions?: Record<string, string | true>;
  /** user certificates: default the OpenSSH set (permit-pty, permit-port-forwarding, …) */
  extensions?: Record<string, string | true>;
}

export interface IssuedSshCertificate {
  certificate: SshCertificateRow;
  /** the `-cert.pub` line */
  line: string;
  /** true when an idempotency key returned an earlier certificate */
  replayed?: boolean;
}

export interface SshKrl {
  scope: string;
  version: number;
  etag: string;
  generatedAt: number;
  krl: Uint8Array;
}

export interface SshHostBundle {
  host: SshHostRow;
  environment: string;
  /** file name → content, to install under `dir` on the host */
  files: Record<string, string>;
  krlUrl: string | null;
  dir: string;
}

export interface SshFleetSignInput {
  type: SshCertType;
  publicKey: string;
  /** host name (sign-host; registered on first use) */
  host?: string;
  /** SSH user name (sign-user) */
  user?: string;
  principals?: string[];
  ttlMs?: number;
  idempotencyKey?: string;
}

/** The SSH certificate authority: CAs, the signing pipeline, the registry, revocation/KRLs, fleet tokens. */
export interface SshService {
  createCa(input: CreateSshCaInput, actor: Actor): Promise<SshCaView>;
  /** a new active CA for (environment, type); the previous active ones become `rotating` (still trusted) */
  rotateCa(
    input: { environment?: string; type: SshCertType; name?: string; keyType?: KeyType; backend?: BackendName },
    actor: Actor,
  ): Promise<{ created: SshCaView; rotating: SshCaRow[] }>;
  /** rotating CAs whose last certificate has expired become `retired` (no longer trusted) */
  retireExpiredCas(actor: Actor): Promise<SshCaRow[]>;
  listCas(environment?: string): Promise<SshCaView[]>;
  getCa(ref: string): Promise<SshCaView>;
  sign(input: SshSignInput, actor: Actor): Promise<IssuedSshCertificate>;
  listCertificates(query: {
    ca?: string;
    status?: SshCertificateStatus;
    limit?: number;
    cursor?: string | null;
  }): Promise<Page<SshCertificateRow>>;
  getCertificate(ca: string, serial: string): Promise<SshCertificateRow>;
  /** revokes by serial; or every unexpired certificate of a key id / public key (`by`) */
  revoke(
    input: { ca: string; serial?: string; keyId?: string; publicKey?: string; reason?: string },
    actor: Actor,
  ): Promise<{ revoked: SshCertificateRow[]; krlVersion: number }>;
  /** the KRL of a CA (its revoked, unexpired certificates) */
  caKrl(ca: string): Promise<SshKrl>;
  /** the KRL for one host: every user CA of its environment, plus the certificates of users blocked on it */
  hostKrl(environment: string, host: string): Promise<SshKrl>;
  /** TrustedUserCAKeys / known_hosts lines of an environment (active and rotating CAs) */
  trust(environment?: string): Promise<{ userCaKeys: string; knownHosts: string; hostPatterns: string[] }>;

  // registry
  createEnvironment(input: { name: string; description?: string }, actor: Actor): Promise<SshEnvironmentRow>;
  listEnvironments(): Promise<SshEnvironmentRow[]>;
  addHost(input: { environment?: string; name: string; principals?: string[] }, actor: Actor): Promise<SshHostRow>;
  listHosts(environment?: string): Promise<SshHostRow[]>;
  addUser(input: { name: string }, actor: Actor): Promise<SshUserRow>;
  listUsers(): Promise<(SshUserRow & { principals: string[] })[]>;
  setUserDisabled(name: string, disabled: boolean, actor: Actor): Promise<SshUserRow>;
  addPrincipal(input: { name: string; description?: string }, actor: Actor): Promise<SshPrincipalRow>;
  listPrincipals(): Promise<SshPrincipalRow[]>;
  grant(input: { user: string; principal: string }, actor: Actor): Promise<void>;
  ungrant(input: { user: string; principal: string }, actor: Actor): Promise<void>;
  /** on `host`, `principal` may log in as local `account` */
  mapAccount(
    input: { environment?: string; host: string; account: string; principal: string },
    actor: Actor,
  ): Promise<SshHostAccountRow>;
  /** the principal → local account mappings of a host */
  listHostAccounts(environment: string | undefined, host: string): Promise<SshHostAccountRow[]>;
  unmapAccount(
    input: { environment?: string; host: string; account: string; principal: string },
    actor: Actor,
  ): Promise<void>;
  /** AuthorizedPrincipalsFile content per local account of a host */
  principalsFiles(environment: string | undefined, host: string): Promise<Record<string, string>>;
  block(
    input: { user: string; environment?: string; host?: string; reason?: string },
    actor: Actor,
  ): Promise<SshBlockRow>;
  unblock(id: string, actor: Actor): Promise<void>;
  listBlocks(): Promise<SshBlockRow[]>;
  /** everything a host needs: sshd drop-in, user CA keys, host CA known_hosts line, principals files, KRL URL */
  hostBundle(
    input: { environment?: string; host: string; dir?: string; publicBaseUrl?: string },
    actor: Actor,
  ): Promise<SshHostBundle>;

  // fleet tokens
  createFleetToken(
    input: {
      name: string;
      environment?: string;
      operations: SshFleetOperation[];
      ratePerMinute?: number;
      expiresInMs?: number;
    },
    actor: Actor,
  ): Promise<{ token: string; row: SshFleetTokenRow }>;
  listFleetTokens(): Promise<SshFleetTokenRow[]>;
  revokeFleetToken(id: string, actor: Actor): Promise<void>;
  /** signs through a fleet token (host bootstrap); rate-limited per token; idempotent with a key */
  fleetSign(token: string, input: SshFleetSignInput): Promise<IssuedSshCertificate>;
}
