import {
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
  sshHostAccountSchema,
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
  sshLists,
  toSshBlockDto,
  toSshCaDto,
  toSshCertificateDto,
  toSshEnvironmentDto,
  toSshFleetTokenDto,
  toSshHostAccountDto,
  toSshTrustDto,
  toSshHostDto,
  toSshPrincipalDto,
  toSshUserDto,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

/**
 * The SSH CA for the console and API clients (docs/ssh.md): CAs (create, rotate, retire), certificates (issue,
 * revoke), KRL status, fleet tokens, and the registry (environments, hosts and account mappings, users, principals
 * and grants, access blocks). Inputs and outputs are the contract's (packages/contract/src/ssh-schemas.ts);
 * permissions (`ssh:read|issue|revoke|manage`) are declared in http/access-table.ts; CA limits of the caller
 * (token resources) are the authority's.
 */
export const sshRouter = router({
  listCas: procedure()
    .input(sshCaListInputSchema)
    .output(pageSchema(sshCaSchema))
    .query(({ ctx, input }) => sshLists.cas(ctx.authority.ssh, input?.environment)),

  createCa: procedure()
    .input(sshCaCreateInputSchema)
    .output(sshCaSchema)
    .mutation(async ({ ctx, input }) =>
      toSshCaDto(
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
      return { created: toSshCaDto(r.created), rotating: r.rotating.map((c) => c.name) };
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
    .query(({ ctx, input }) => sshLists.certificates(ctx.authority.ssh, input ?? {})),

  /** signs a user or host certificate for a submitted public key (the SSH signing pipeline, audited) */
  issue: procedure()
    .input(sshIssueInputSchema)
    .output(sshIssuedSchema)
    .mutation(async ({ ctx, input }) => {
      const issued = await ctx.authority.ssh.sign({ ...input, ttlMs: input.ttl }, ctx.actor);
      return { ...toSshCertificateDto(issued.certificate, input.ca), line: issued.line };
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
    .query(({ ctx, input }) => sshLists.krlStatus(ctx.authority.ssh, ctx.authority.clock.now(), input?.ca)),

  fleetTokens: procedure()
    .output(pageSchema(sshFleetTokenSchema))
    .query(({ ctx }) => sshLists.fleetTokens(ctx.authority.ssh)),

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
      return { token: r.token, ...toSshFleetTokenDto(r.row, input.environment ?? 'default') };
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
    .query(({ ctx }) => sshLists.environments(ctx.authority.ssh)),

  createEnvironment: procedure()
    .input(sshEnvironmentCreateInputSchema)
    .output(sshEnvironmentSchema)
    .mutation(async ({ ctx, input }) =>
      toSshEnvironmentDto(await ctx.authority.ssh.createEnvironment(input, ctx.actor)),
    ),

  /** TrustedUserCAKeys content and `@cert-authority` known_hosts lines (active and rotating CAs) */
  trust: procedure()
    .input(sshTrustInputSchema)
    .output(sshTrustSchema)
    .query(async ({ ctx, input }) =>
      toSshTrustDto(input?.environment, await ctx.authority.ssh.trust(input?.environment)),
    ),

  // ---------------------------------------------------------------------------------------------- hosts
  listHosts: procedure()
    .input(sshHostListInputSchema)
    .output(pageSchema(sshHostSchema))
    .query(({ ctx, input }) => sshLists.hosts(ctx.authority.ssh, input?.environment)),

  addHost: procedure()
    .input(sshHostAddInputSchema)
    .output(sshHostSchema)
    .mutation(async ({ ctx, input }) =>
      toSshHostDto(await ctx.authority.ssh.addHost(input, ctx.actor), input.environment ?? 'default'),
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
        mappings: rows.map((r) => toSshHostAccountDto(r, input.host)),
        principalsFiles: files,
      };
    }),

  mapAccount: procedure()
    .input(sshAccountMapInputSchema)
    .output(sshHostAccountSchema)
    .mutation(async ({ ctx, input }) =>
      toSshHostAccountDto(await ctx.authority.ssh.mapAccount(input, ctx.actor), input.host),
    ),

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
    .query(({ ctx }) => sshLists.users(ctx.authority.ssh)),

  addUser: procedure()
    .input(sshUserAddInputSchema)
    .output(sshUserSchema)
    .mutation(async ({ ctx, input }) => toSshUserDto(await ctx.authority.ssh.addUser(input, ctx.actor))),

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
    .query(({ ctx }) => sshLists.principals(ctx.authority.ssh)),

  addPrincipal: procedure()
    .input(sshPrincipalAddInputSchema)
    .output(sshPrincipalSchema)
    .mutation(async ({ ctx, input }) => toSshPrincipalDto(await ctx.authority.ssh.addPrincipal(input, ctx.actor))),

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
    .query(({ ctx }) => sshLists.blocks(ctx.authority.ssh)),

  /** the user gets no certificate for that host (or any host) and their unexpired ones enter the host KRLs */
  block: procedure()
    .input(sshBlockInputSchema)
    .output(sshBlockSchema)
    .mutation(async ({ ctx, input }) =>
      toSshBlockDto(await ctx.authority.ssh.block(input, ctx.actor), {
        user: input.user,
        host: input.host ?? null,
        environment: input.host ? (input.environment ?? 'default') : null,
      }),
    ),

  unblock: procedure()
    .input(sshIdInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.ssh.unblock(input.id, ctx.actor);
      return { ok: true as const };
    }),
});
