import type { z } from 'zod';
import { formatDuration } from '@pkim/shared';
import { isoTime, isoTimeOrNull, onePage } from './common-mappers';
import type {
  sshBlockSchema,
  sshCaSchema,
  sshCaStatusSchema,
  sshCertificateSchema,
  sshCertificateStatusSchema,
  sshCertTypeSchema,
  sshEnvironmentSchema,
  sshFleetOperationSchema,
  sshFleetTokenSchema,
  sshHostAccountSchema,
  sshHostSchema,
  sshKrlStatusSchema,
  sshPrincipalSchema,
  sshTrustSchema,
  sshUserSchema,
} from './ssh-schemas';

/**
 * The SSH authority's rows (epoch ms, milliseconds of lifetime) → the contract's objects (RFC 3339, durations), and
 * the registry lists built from the SSH service's reads. One place for tRPC, REST and the CLI's `--json`, so
 * `pkim ssh … list --json` prints what `GET /api/v1/ssh/…` answers. The records are structural: the authority's rows
 * fit them without this package depending on it.
 */

type CertType = z.infer<typeof sshCertTypeSchema>;
export type SshCaDto = z.infer<typeof sshCaSchema>;
export type SshCertificateDto = z.infer<typeof sshCertificateSchema>;
export type SshFleetTokenDto = z.infer<typeof sshFleetTokenSchema>;
export type SshHostDto = z.infer<typeof sshHostSchema>;
export type SshEnvironmentDto = z.infer<typeof sshEnvironmentSchema>;
export type SshUserDto = z.infer<typeof sshUserSchema>;
export type SshPrincipalDto = z.infer<typeof sshPrincipalSchema>;
export type SshBlockDto = z.infer<typeof sshBlockSchema>;
export type SshKrlStatusDto = z.infer<typeof sshKrlStatusSchema>;
export type SshHostAccountDto = z.infer<typeof sshHostAccountSchema>;
export type SshTrustDto = z.infer<typeof sshTrustSchema>;
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface SshCaViewRecord {
  ca: {
    id: string;
    name: string;
    environmentId: string;
    certType: CertType;
    keyType: string;
    keyBackend: string;
    fingerprint: string;
    status: z.infer<typeof sshCaStatusSchema>;
    maxTtlMs: number;
    defaultTtlMs: number;
    retiredAt: number | null;
    createdAt: number;
  };
  environment: string;
  publicKey: string;
}
export interface SshCertificateRecord {
  id: string;
  caId: string;
  serial: string;
  keyId: string;
  certType: CertType;
  principals: string[];
  keyFingerprint: string;
  validAfter: number;
  validBefore: number;
  criticalOptions: Record<string, string | true>;
  extensions: Record<string, string | true>;
  status: z.infer<typeof sshCertificateStatusSchema>;
  revokedAt: number | null;
  revocationReason: string | null;
  provisioner: string;
  issuedBy: string;
  createdAt: number;
  certificate: string;
}
export interface SshFleetTokenRecord {
  id: string;
  name: string;
  environmentId: string;
  operations: z.infer<typeof sshFleetOperationSchema>[];
  ratePerMinute: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  createdBy: string;
  createdAt: number;
}
export interface SshEnvironmentRecord {
  id: string;
  name: string;
  description: string | null;
  createdAt: number;
}
export interface SshHostRecord {
  id: string;
  environmentId: string;
  name: string;
  principals: string[];
  createdAt: number;
  updatedAt: number;
}
export interface SshUserRecord {
  id: string;
  name: string;
  disabled: boolean;
  createdAt: number;
}
export interface SshPrincipalRecord {
  id: string;
  name: string;
  description: string | null;
  createdAt: number;
}
export interface SshBlockRecord {
  id: string;
  userId: string;
  hostId: string | null;
  reason: string | null;
  createdBy: string;
  createdAt: number;
}

/** the reads of the SSH service the lists are built from (the authority's `ssh` service fits it) */
export interface SshReads {
  listCas(environment?: string): Promise<SshCaViewRecord[]>;
  getCa(ref: string): Promise<SshCaViewRecord>;
  listCertificates(query: {
    ca?: string;
    status?: SshCertificateRecord['status'];
    limit?: number;
    cursor?: string | null;
  }): Promise<Page<SshCertificateRecord>>;
  caKrl(ca: string): Promise<{ version: number; etag: string; generatedAt: number; krl: Uint8Array }>;
  listFleetTokens(): Promise<SshFleetTokenRecord[]>;
  listEnvironments(): Promise<SshEnvironmentRecord[]>;
  listHosts(environment?: string): Promise<SshHostRecord[]>;
  listUsers(): Promise<(SshUserRecord & { principals: string[] })[]>;
  listPrincipals(): Promise<SshPrincipalRecord[]>;
  listBlocks(): Promise<SshBlockRecord[]>;
}

export function toSshCaDto(v: SshCaViewRecord): SshCaDto {
  const c = v.ca;
  return {
    id: c.id,
    name: c.name,
    environment: v.environment,
    type: c.certType,
    keyType: c.keyType,
    backend: c.keyBackend,
    status: c.status,
    publicKey: v.publicKey,
    fingerprint: c.fingerprint,
    maxTtl: formatDuration(c.maxTtlMs),
    defaultTtl: formatDuration(c.defaultTtlMs),
    createdAt: isoTime(c.createdAt),
    retiredAt: isoTimeOrNull(c.retiredAt),
  };
}

/** `caName`: the CA's name (its id when unknown) */
export function toSshCertificateDto(c: SshCertificateRecord, caName?: string): SshCertificateDto {
  return {
    id: c.id,
    caId: c.caId,
    ca: caName ?? c.caId,
    serial: c.serial,
    keyId: c.keyId,
    type: c.certType,
    principals: c.principals,
    keyFingerprint: c.keyFingerprint,
    validAfter: isoTime(c.validAfter),
    validBefore: isoTime(c.validBefore),
    criticalOptions: c.criticalOptions,
    extensions: c.extensions,
    status: c.status,
    revokedAt: isoTimeOrNull(c.revokedAt),
    revocationReason: c.revocationReason,
    provisioner: c.provisioner,
    issuedBy: c.issuedBy,
    createdAt: isoTime(c.createdAt),
    certificate: c.certificate,
  };
}

/** never the hash of the secret */
export function toSshFleetTokenDto(t: SshFleetTokenRecord, environment: string): SshFleetTokenDto {
  return {
    id: t.id,
    name: t.name,
    environment,
    operations: t.operations,
    ratePerMinute: t.ratePerMinute,
    expiresAt: isoTimeOrNull(t.expiresAt),
    revokedAt: isoTimeOrNull(t.revokedAt),
    lastUsedAt: isoTimeOrNull(t.lastUsedAt),
    createdBy: t.createdBy,
    createdAt: isoTime(t.createdAt),
  };
}

export function toSshHostDto(h: SshHostRecord, environment: string): SshHostDto {
  return {
    id: h.id,
    name: h.name,
    environment,
    principals: h.principals,
    createdAt: isoTime(h.createdAt),
    updatedAt: isoTime(h.updatedAt),
  };
}

/** a principal → local account mapping of `host` (its name) */
export function toSshHostAccountDto(
  r: { id: string; account: string; principal: string; createdAt: number },
  host: string,
): SshHostAccountDto {
  return { id: r.id, host, account: r.account, principal: r.principal, createdAt: isoTime(r.createdAt) };
}

/** an environment's trust lines (`environment`: the name asked for, `default` when none) */
export function toSshTrustDto(
  environment: string | undefined,
  t: { userCaKeys: string; knownHosts: string; hostPatterns: string[] },
): SshTrustDto {
  return {
    environment: environment ?? 'default',
    userCaKeys: t.userCaKeys,
    knownHosts: t.knownHosts,
    hostPatterns: t.hostPatterns,
  };
}

/** `counts`: the CAs still trusted by type and the hosts registered in it (0 for a new environment) */
export function toSshEnvironmentDto(
  e: SshEnvironmentRecord,
  counts: { userCas: number; hostCas: number; hosts: number } = { userCas: 0, hostCas: 0, hosts: 0 },
): SshEnvironmentDto {
  return { id: e.id, name: e.name, description: e.description, ...counts, createdAt: isoTime(e.createdAt) };
}

export function toSshUserDto(u: SshUserRecord, principals: string[] = [], blocks = 0): SshUserDto {
  return { id: u.id, name: u.name, disabled: u.disabled, principals, blocks, createdAt: isoTime(u.createdAt) };
}

export function toSshPrincipalDto(p: SshPrincipalRecord, users: string[] = []): SshPrincipalDto {
  return { id: p.id, name: p.name, description: p.description, users, createdAt: isoTime(p.createdAt) };
}

/** `user`, `host`, `environment`: names (host and environment null for a fleet-wide block) */
export function toSshBlockDto(
  b: SshBlockRecord,
  names: { user: string; host: string | null; environment: string | null },
): SshBlockDto {
  return { id: b.id, ...names, reason: b.reason, createdBy: b.createdBy, createdAt: isoTime(b.createdAt) };
}

async function environmentNames(ssh: SshReads): Promise<Map<string, string>> {
  return new Map((await ssh.listEnvironments()).map((e) => [e.id, e.name]));
}

/** The registry lists (one page each: small, never paged) and the keyset-paged certificates, as every door answers. */
export const sshLists = {
  async cas(ssh: SshReads, environment?: string): Promise<Page<SshCaDto>> {
    return onePage((await ssh.listCas(environment)).map(toSshCaDto));
  },

  async certificates(ssh: SshReads, query: Parameters<SshReads['listCertificates']>[0]) {
    const page = await ssh.listCertificates({ ...query, limit: query.limit ?? 100 });
    const names = new Map((await ssh.listCas()).map((v) => [v.ca.id, v.ca.name]));
    return {
      items: page.items.map((c) => toSshCertificateDto(c, names.get(c.caId))),
      nextCursor: page.nextCursor,
    };
  },

  /** per CA: KRL version, ETag and generation time, the unexpired revoked certificates it lists */
  async krlStatus(ssh: SshReads, now: number, ca?: string): Promise<Page<SshKrlStatusDto>> {
    const cas = ca ? [await ssh.getCa(ca)] : await ssh.listCas();
    return onePage(
      await Promise.all(
        cas.map(async (v) => {
          const krl = await ssh.caKrl(v.ca.id);
          const revoked = await ssh.listCertificates({ ca: v.ca.id, status: 'revoked', limit: 1000 });
          return {
            caId: v.ca.id,
            ca: v.ca.name,
            environment: v.environment,
            type: v.ca.certType,
            version: krl.version,
            etag: krl.etag,
            generatedAt: isoTime(krl.generatedAt),
            bytes: krl.krl.length,
            revokedCount: revoked.items.filter((c) => c.validBefore > now).length,
            url: `/ssh/krl/ca/${encodeURIComponent(v.ca.name)}`,
          };
        }),
      ),
    );
  },

  async fleetTokens(ssh: SshReads): Promise<Page<SshFleetTokenDto>> {
    const envs = await environmentNames(ssh);
    return onePage(
      (await ssh.listFleetTokens()).map((t) => toSshFleetTokenDto(t, envs.get(t.environmentId) ?? t.environmentId)),
    );
  },

  async environments(ssh: SshReads): Promise<Page<SshEnvironmentDto>> {
    const [envs, cas, hosts] = await Promise.all([ssh.listEnvironments(), ssh.listCas(), ssh.listHosts()]);
    const trusted = (envId: string, type: CertType) =>
      cas.filter((v) => v.ca.environmentId === envId && v.ca.certType === type && v.ca.status !== 'retired').length;
    return onePage(
      envs.map((e) =>
        toSshEnvironmentDto(e, {
          userCas: trusted(e.id, 'user'),
          hostCas: trusted(e.id, 'host'),
          hosts: hosts.filter((h) => h.environmentId === e.id).length,
        }),
      ),
    );
  },

  async hosts(ssh: SshReads, environment?: string): Promise<Page<SshHostDto>> {
    const envs = await environmentNames(ssh);
    return onePage(
      (await ssh.listHosts(environment)).map((h) => toSshHostDto(h, envs.get(h.environmentId) ?? h.environmentId)),
    );
  },

  async users(ssh: SshReads): Promise<Page<SshUserDto>> {
    const [users, blocks] = await Promise.all([ssh.listUsers(), ssh.listBlocks()]);
    return onePage(users.map((u) => toSshUserDto(u, u.principals, blocks.filter((b) => b.userId === u.id).length)));
  },

  async principals(ssh: SshReads): Promise<Page<SshPrincipalDto>> {
    const [principals, users] = await Promise.all([ssh.listPrincipals(), ssh.listUsers()]);
    return onePage(
      principals.map((p) =>
        toSshPrincipalDto(
          p,
          users.filter((u) => u.principals.includes(p.name)).map((u) => u.name),
        ),
      ),
    );
  },

  async blocks(ssh: SshReads): Promise<Page<SshBlockDto>> {
    const [blocks, users, hosts, envs] = await Promise.all([
      ssh.listBlocks(),
      ssh.listUsers(),
      ssh.listHosts(),
      environmentNames(ssh),
    ]);
    const userNames = new Map(users.map((u) => [u.id, u.name]));
    const hostsById = new Map(hosts.map((h) => [h.id, h]));
    return onePage(
      blocks.map((b) => {
        const host = b.hostId ? hostsById.get(b.hostId) : undefined;
        return toSshBlockDto(b, {
          user: userNames.get(b.userId) ?? b.userId,
          host: host?.name ?? b.hostId,
          environment: host ? (envs.get(host.environmentId) ?? host.environmentId) : null,
        });
      }),
    );
  },
};
