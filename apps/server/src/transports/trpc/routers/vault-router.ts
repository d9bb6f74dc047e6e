import { PkiError } from '@pkim/shared';
import {
  certificatePageSchema,
  okSchema,
  onePage,
  pageOf,
  toCertificateDto,
  toVaultMountDto,
  toVaultRolePolicyDto,
  vaultMountBindInputSchema,
  vaultMountPageSchema,
  vaultMountRefInputSchema,
  vaultMountSchema,
  vaultRoleCertificatesInputSchema,
  vaultRolePageSchema,
  vaultRoleRefInputSchema,
  vaultRoleSchema,
  vaultRolesInputSchema,
  vaultRoleWriteInputSchema,
  toVaultKeystoreDto,
  vaultKeystorePageSchema,
  vaultKeystoresInputSchema,
} from '@pkim/contract';
import { procedure, router } from '../trpc-init';

/** Vault PKI mounts (bound to CAs) and their roles, over the authority's vault service (docs/vault-api.md). */
const mountsRouter = router({
  list: procedure()
    .output(vaultMountPageSchema)
    .query(async ({ ctx }) =>
      onePage((await ctx.authority.vault.mounts.listMountSummaries(ctx.actor)).map(toVaultMountDto)),
    ),

  bind: procedure()
    .input(vaultMountBindInputSchema)
    .output(vaultMountSchema)
    .mutation(async ({ ctx, input }) => {
      const m = await ctx.authority.vault.mounts.mount(input, ctx.actor);
      const summary = (await ctx.authority.vault.mounts.listMountSummaries(ctx.actor)).find((s) => s.path === m.path);
      return toVaultMountDto(summary ?? { ...m, caName: null, roles: 0 });
    }),

  /** the mount's roles go with it; the CA and the certificates stay */
  unbind: procedure()
    .input(vaultMountRefInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      await ctx.authority.vault.mounts.requireMount(input.path);
      await ctx.authority.vault.mounts.unmount(input.path, ctx.actor);
      return { ok: true as const };
    }),
});

const rolesRouter = router({
  list: procedure()
    .input(vaultRolesInputSchema)
    .output(vaultRolePageSchema)
    .query(async ({ ctx, input }) =>
      onePage(
        (await ctx.authority.vault.mounts.listRolesWithPolicy(input.mount, ctx.actor)).map((r) => ({
          mount: input.mount,
          name: r.name,
          policy: toVaultRolePolicyDto(r.role as unknown as Record<string, unknown>),
        })),
      ),
    ),

  /** a new role (refused when the name is taken); omitted fields take Vault's defaults */
  create: procedure()
    .input(vaultRoleWriteInputSchema)
    .output(vaultRoleSchema)
    .mutation(async ({ ctx, input }) => {
      const role = await ctx.authority.vault.mounts.createRole(input.mount, input.name, input.policy ?? {}, ctx.actor);
      return { mount: input.mount, name: input.name, policy: toVaultRolePolicyDto(role) };
    }),

  /** changes the given fields, keeps the others (Vault's PATCH) */
  update: procedure()
    .input(vaultRoleWriteInputSchema)
    .output(vaultRoleSchema)
    .mutation(async ({ ctx, input }) => {
      const role = await ctx.authority.vault.mounts.patchRole(input.mount, input.name, input.policy ?? {}, ctx.actor);
      return { mount: input.mount, name: input.name, policy: toVaultRolePolicyDto(role) };
    }),

  delete: procedure()
    .input(vaultRoleRefInputSchema)
    .output(okSchema)
    .mutation(async ({ ctx, input }) => {
      if (!(await ctx.authority.vault.mounts.readRole(input.mount, input.name, ctx.actor))) {
        throw new PkiError('vault.role_not_found', `no role ${input.name} on ${input.mount}`);
      }
      await ctx.authority.vault.mounts.deleteRole(input.mount, input.name, ctx.actor);
      return { ok: true as const };
    }),

  /** the certificates issued through the role (newest first; `no_store` roles keep none) */
  certificates: procedure()
    .input(vaultRoleCertificatesInputSchema)
    .output(certificatePageSchema)
    .query(async ({ ctx, input }) =>
      pageOf(await ctx.authority.vault.roleCertificates(input, ctx.actor), toCertificateDto),
    ),
});

export const vaultRouter = router({
  mounts: mountsRouter,
  roles: rolesRouter,
  /**
   * Tenant keystores as the CA sees them (certificates of the `keystore-*` roles, one row per name); the keystore
   * client keeps its own lifecycle state (docs/keystore.md)
   */
  keystores: procedure()
    .input(vaultKeystoresInputSchema.optional())
    .output(vaultKeystorePageSchema)
    .query(async ({ ctx, input }) =>
      onePage((await ctx.authority.vault.keystores(input ?? {}, ctx.actor)).map(toVaultKeystoreDto)),
    ),
});
