import { formatDuration } from '@pkim/shared';
import {
  isoTime,
  isoTimeOrNull,
  okSchema,
  pageSchema,
  sshAccountMapInputSchema,
  sshBlockInputSchema,
  sshBlockSchema,
  sshCaCreateInputSchema,
  sshCaListInputSchema,
  sshCaRetiredSchema,
  sshCaRotateInputSchema,
  sshCaRotatedSchema,
  sshCaSchema,
  sshCertificateListInputSchema,
  sshCertificatePageSchema,
  sshEnvironmentCreateInputSchema,
  sshEnvironmentSchema,
  sshFleetTokenCreateInputSchema,
  sshFleetTokenCreatedSchema,
  sshFleetTokenSchema,
  sshGrantInputSchema,
  sshHostAccountsSchema,
  sshHostAddInputSchema,
  sshHostBundleInputSchema,
  sshHostBundleSchema,
  sshHostListInputSchema,
  sshHostRefInputSchema,
  sshHostSchema,
  sshIdInputSchema,
  sshIssueInputSchema,
  sshIssuedSchema,
  sshKrlStatusInputSchema,
  sshKrlStatusSchema,
  sshPrincipalAddInputSchema,
  sshPrincipalSchema,
  sshRevokeInputSchema,
  sshRevokedSchema,
  sshTrustInputSchema,
  sshTrustSchema,
  sshUserAddInputSchema,
  sshUserDisableInputSchema,
  sshUserSchema,
} from '@pkim/contract';
import type {
  Authority,
  SshCaView,
  SshCertificateRow,
  SshEnvironmentRow,
  SshFleetTokenRow,
  SshHostRow,
} from '@pkim/authority';
import { procedure, router } from '../trpc-init';

/** a registry list is small and never paged: one page, `nextCursor` null (the contract's list shape) */
const onePage = <T>(items: T[]) => ({ items, nextCursor: null });

/**
 * The SSH CA for the console and API clients (docs/ssh.md): CAs (create, rotate, retire), certificates (issue,
 * revoke), KRL status, fleet tokens, and the registry (environments, hosts and account mappings, users, principals
 * and grants, access blocks). Inputs and outputs are the contract's (packages/contract/src/ssh-schemas.ts);
 * permissions (`ssh:read|issue|revoke|manage`) are declared in http/access-table.ts; CA limits of the caller
 * (token resources) are the authority's.
 */
type SshService = Authority['ssh'];

function caView(v: SshCaView) {
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

function certificateView(c: SshCertificateRow, caName?: string) {
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
function fleetTokenView(t: SshFleetTokenRow, environment: string) {
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

function hostView(h: SshHostRow, environment: string) {
  return {
    id: h.id,
    name: h.name,
    environment,
    principals: h.principals,
    createdAt: isoTime(h.createdAt),
    updatedAt: isoTime(h.updatedAt),
  };
}

async function environmentNames(ssh: SshService): Promise<Map<string, string>> {
  return new Map((await ssh.listEnvironments()).map((e: SshEnvironmentRow) => [e.id, e.name]));
}

export const sshRouter = router({
  listCas: procedure()
    .input(sshCaListInputSchema)
    .output(pageSchema(sshCaSchema))
    .query(async ({ ctx, input }) => onePage((await ctx.authority.ssh.listCas(input?.environment)).map(caView))),

  createCa: procedure()
    .input(sshCaCreateInputSchema)
    .output(sshCaSchema)
    .mutation(async ({ ctx, input }) =>
      caView(
        await ctx.authority.ssh.createCa(
          {
            name: input.name,
            type: input.type,
            keyType: input.keyType,
            environment: input.environment,
            maxTtlMs: input.maxTtl,
            defaultTtlMs: input.defaultTtl,
          },
          ctx.actor,
        ),
      ),
    ),

  /** a new active CA of that type in the environment; the previous active ones keep being trusted (`rotating`) */
  rotateCa: procedure()
    .input(sshCaRotateInputSchema)
    .output(sshCaRotatedSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.ssh.rotateCa(input, ctx.actor);
      return { created: caView(r.created), rotating: r.rotating.map((c) => c.name) };
    }),

  /** rotating CAs whose last certificate has expired leave the trust lines */
  retireExpiredCas: procedure()
    .output(sshCaRetiredSchema)
    .mutation(async ({ ctx }) => ({
      retired: (await ctx.authority.ssh.retireExpiredCas(ctx.actor)).map((c) => c.name),
    })),

  listCertificates: procedure()
    .input(sshCertificateListInputSchema)
    .output(sshCertificatePageSchema)
    .query(async ({ ctx, input }) => {
      const page = await ctx.authority.ssh.listCertificates({ ...input, limit: input?.limit ?? 100 });
      const names = new Map((await ctx.authority.ssh.listCas()).map((v) => [v.ca.id, v.ca.name]));
      return { items: page.items.map((c) => certificateView(c, names.get(c.caId))), nextCursor: page.nextCursor };
    }),

  /** signs a user or host certificate for a submitted public key (the SSH signing pipeline, audited) */
  issue: procedure()
    .input(sshIssueInputSchema)
    .output(sshIssuedSchema)
    .mutation(async ({ ctx, input }) => {
      const issued = await ctx.authority.ssh.sign({ ...input, ttlMs: input.ttl }, ctx.actor);
      return { ...certificateView(issued.certificate, input.ca), line: issued.line };
    }),

  /** by serial, or every unexpired certificate of a key id or public key; the CA's KRL version moves on */
  revoke: procedure()
    .input(sshRevokeInputSchema)
    .output(sshRevokedSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.ssh.revoke(input, ctx.actor);
      return { revoked: r.revoked.map((c) => c.serial), krlVersion: r.krlVersion };
    }),

  /** per CA: the KRL version, its ETag and generation time, how many unexpired revoked certificates it lists */
  krlStatus: procedure()
    .input(sshKrlStatusInputSchema)
    .output(pageSchema(sshKrlStatusSchema))
    .query(async ({ ctx, input }) => {
      const cas = input?.ca ? [await ctx.authority.ssh.getCa(input.ca)] : await ctx.authority.ssh.listCas();
      const now = ctx.authority.clock.now();
      return onePage(
        await Promise.all(
          cas.map(async (v) => {
            const krl = await ctx.authority.ssh.caKrl(v.ca.id);
            const revoked = await ctx.authority.ssh.listCertificates({ ca: v.ca.id, status: 'revoked', limit: 1000 });
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
    }),

  fleetTokens: procedure()
    .output(pageSchema(sshFleetTokenSchema))
    .query(async ({ ctx }) => {
      const envs = await environmentNames(ctx.authority.ssh);
      return onePage(
        (await ctx.authority.ssh.listFleetTokens()).map((t) =>
          fleetTokenView(t, envs.get(t.environmentId) ?? t.environmentId),
        ),
      );
    }),

  /** the secret (`pkimf_…`) is in this response only */
  createFleetToken: procedure()
    .input(sshFleetTokenCreateInputSchema)
    .output(sshFleetTokenCreatedSchema)
    .mutation(async ({ ctx, input }) => {
      const r = await ctx.authority.ssh.createFleetToken(
        {
          name: input.name,
          environment: input.environment,
          operations: input.operations,
          ratePerMinute: input.ratePerMinute,
          expiresInMs: input.expiresIn,
        },
        ctx.actor,
      );
      return { token: r.token, ...fleetTokenView(r.row, input.environment ?? 'default') };
    }),

  revokeFleetToken: procedure()
    .input(sshIdInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.revokeFleetToken(input.id, ctx.actor);
      return { ok: true as const };
    }),

  // ---------------------------------------------------------------------------------------------- environments
  listEnvironments: procedure()
    .output(pageSchema(sshEnvironmentSchema))
    .query(async ({ ctx }) => {
      const ssh = ctx.authority.ssh;
      const [envs, cas, hosts] = await Promise.all([ssh.listEnvironments(), ssh.listCas(), ssh.listHosts()]);
      const trusted = (envId: string, type: 'user' | 'host') =>
        cas.filter((v) => v.ca.environmentId === envId && v.ca.certType === type && v.ca.status !== 'retired').length;
      return onePage(
        envs.map((e) => ({
          id: e.id,
          name: e.name,
          description: e.description,
          userCas: trusted(e.id, 'user'),
          hostCas: trusted(e.id, 'host'),
          hosts: hosts.filter((h) => h.environmentId === e.id).length,
          createdAt: isoTime(e.createdAt),
        })),
      );
    }),

  createEnvironment: procedure()
    .input(sshEnvironmentCreateInputSchema)
    .output(sshEnvironmentSchema)
    .mutation(async ({ ctx, input }) => {
      const e = await ctx.authority.ssh.createEnvironment(input, ctx.actor);
      return {
        id: e.id,
        name: e.name,
        description: e.description,
        userCas: 0,
        hostCas: 0,
        hosts: 0,
        createdAt: isoTime(e.createdAt),
      };
    }),

  /** TrustedUserCAKeys content and `@cert-authority` known_hosts lines (active and rotating CAs) */
  trust: procedure()
    .input(sshTrustInputSchema)
    .output(sshTrustSchema)
    .query(async ({ ctx, input }) => ({
      environment: input?.environment ?? 'default',
      ...(await ctx.authority.ssh.trust(input?.environment)),
    })),

  // ---------------------------------------------------------------------------------------------- hosts
  listHosts: procedure()
    .input(sshHostListInputSchema)
    .output(pageSchema(sshHostSchema))
    .query(async ({ ctx, input }) => {
      const envs = await environmentNames(ctx.authority.ssh);
      return onePage(
        (await ctx.authority.ssh.listHosts(input?.environment)).map((h) =>
          hostView(h, envs.get(h.environmentId) ?? h.environmentId),
        ),
      );
    }),

  addHost: procedure()
    .input(sshHostAddInputSchema)
    .output(sshHostSchema)
    .mutation(async ({ ctx, input }) =>
      hostView(await ctx.authority.ssh.addHost(input, ctx.actor), input.environment ?? 'default'),
    ),

  /** which principals log in as which local account on a host, and the AuthorizedPrincipalsFile per account */
  hostAccounts: procedure()
    .input(sshHostRefInputSchema)
    .output(sshHostAccountsSchema)
    .query(async ({ ctx, input }) => {
      const [rows, files] = await Promise.all([
        ctx.authority.ssh.listHostAccounts(input.environment, input.host),
        ctx.authority.ssh.principalsFiles(input.environment, input.host),
      ]);
      return {
        host: input.host,
        environment: input.environment ?? 'default',
        mappings: rows.map((r) => ({
          id: r.id,
          host: input.host,
          account: r.account,
          principal: r.principal,
          createdAt: isoTime(r.createdAt),
        })),
        principalsFiles: files,
      };
    }),

  mapAccount: procedure()
    .input(sshAccountMapInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.mapAccount(input, ctx.actor);
      return { ok: true as const };
    }),

  unmapAccount: procedure()
    .input(sshAccountMapInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.unmapAccount(input, ctx.actor);
      return { ok: true as const };
    }),

  /** the files a host installs: sshd drop-in, user CA keys, known_hosts line, principals files, KRL refresh */
  hostBundle: procedure()
    .input(sshHostBundleInputSchema)
    .output(sshHostBundleSchema)
    .query(async ({ ctx, input }) => {
      const b = await ctx.authority.ssh.hostBundle(input, ctx.actor);
      return { host: b.host.name, environment: b.environment, dir: b.dir, krlUrl: b.krlUrl, files: b.files };
    }),

  // ---------------------------------------------------------------------------------------------- users, principals
  listUsers: procedure()
    .output(pageSchema(sshUserSchema))
    .query(async ({ ctx }) => {
      const [users, blocks] = await Promise.all([ctx.authority.ssh.listUsers(), ctx.authority.ssh.listBlocks()]);
      return onePage(
        users.map((u) => ({
          id: u.id,
          name: u.name,
          disabled: u.disabled,
          principals: u.principals,
          blocks: blocks.filter((b) => b.userId === u.id).length,
          createdAt: isoTime(u.createdAt),
        })),
      );
    }),

  addUser: procedure()
    .input(sshUserAddInputSchema)
    .output(sshUserSchema)
    .mutation(async ({ ctx, input }) => {
      const u = await ctx.authority.ssh.addUser(input, ctx.actor);
      return {
        id: u.id,
        name: u.name,
        disabled: u.disabled,
        principals: [],
        blocks: 0,
        createdAt: isoTime(u.createdAt),
      };
    }),

  /** a disabled user gets no certificate (existing ones stay valid until revoked or expired) */
  setUserDisabled: procedure()
    .input(sshUserDisableInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.setUserDisabled(input.name, input.disabled, ctx.actor);
      return { ok: true as const };
    }),

  listPrincipals: procedure()
    .output(pageSchema(sshPrincipalSchema))
    .query(async ({ ctx }) => {
      const [principals, users] = await Promise.all([
        ctx.authority.ssh.listPrincipals(),
        ctx.authority.ssh.listUsers(),
      ]);
      return onePage(
        principals.map((p) => ({
          id: p.id,
          name: p.name,
          description: p.description,
          users: users.filter((u) => u.principals.includes(p.name)).map((u) => u.name),
          createdAt: isoTime(p.createdAt),
        })),
      );
    }),

  addPrincipal: procedure()
    .input(sshPrincipalAddInputSchema)
    .output(sshPrincipalSchema)
    .mutation(async ({ ctx, input }) => {
      const p = await ctx.authority.ssh.addPrincipal(input, ctx.actor);
      return { id: p.id, name: p.name, description: p.description, users: [], createdAt: isoTime(p.createdAt) };
    }),

  grant: procedure()
    .input(sshGrantInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.grant(input, ctx.actor);
      return { ok: true as const };
    }),

  ungrant: procedure()
    .input(sshGrantInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.ungrant(input, ctx.actor);
      return { ok: true as const };
    }),

  // ---------------------------------------------------------------------------------------------- access blocks
  listBlocks: procedure()
    .output(pageSchema(sshBlockSchema))
    .query(async ({ ctx }) => {
      const ssh = ctx.authority.ssh;
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
          return {
            id: b.id,
            user: userNames.get(b.userId) ?? b.userId,
            host: host?.name ?? b.hostId,
            environment: host ? (envs.get(host.environmentId) ?? host.environmentId) : null,
            reason: b.reason,
            createdBy: b.createdBy,
            createdAt: isoTime(b.createdAt),
          };
        }),
      );
    }),

  /** the user gets no certificate for that host (or any host) and their unexpired ones enter the host KRLs */
  block: procedure()
    .input(sshBlockInputSchema)
    .output(sshBlockSchema)
    .mutation(async ({ ctx, input }) => {
      const b = await ctx.authority.ssh.block(input, ctx.actor);
      return {
        id: b.id,
        user: input.user,
        host: input.host ?? null,
        environment: input.host ? (input.environment ?? 'default') : null,
        reason: b.reason,
        createdBy: b.createdBy,
        createdAt: isoTime(b.createdAt),
      };
    }),

  unblock: procedure()
    .input(sshIdInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.unblock(input.id, ctx.actor);
      return { ok: true as const };
    }),
});
