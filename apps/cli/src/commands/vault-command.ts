import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { vaultMountedLine, vaultMountsTable } from '../format';

/** `pkim vault mount|unmount|mounts`: PKI mounts of the Vault/OpenBao-compatible API (served under /v1/). */
export function registerVaultCommand(program: Command, ctx: CliContext): void {
  const vault = program
    .command('vault')
    .description('Vault/OpenBao-compatible PKI API (served by `pkim serve` under /v1/): mounts bound to CAs');

  vault
    .command('mount <path>')
    .description('bind a Vault PKI mount path (e.g. pki, pki_int, pki/prod) to a CA')
    .requiredOption('--ca <ca>', 'CA id or name that signs everything issued through this mount')
    .option('--description <text>', 'shown in sys/mounts')
    .option('--default-ttl <duration>', 'TTL of roles without ttl (Vault duration, e.g. 768h, 30d; default 768h)')
    .option('--max-ttl <duration>', 'cap of roles without max_ttl (e.g. 87600h; default 768h)')
    .action(async (path: string, o: { ca: string; description?: string; defaultTtl?: string; maxTtl?: string }) => {
      const a = await ctx.openAuthority();
      const m = await a.vault.mounts.mount(
        { path, ca: o.ca, description: o.description, defaultLeaseTtl: o.defaultTtl, maxLeaseTtl: o.maxTtl },
        ctx.actor,
      );
      const summary = (await a.vault.mounts.listMountSummaries(ctx.actor)).find((x) => x.path === m.path);
      const dto = (await ctx.contract()).toVaultMountDto(summary ?? { ...m, caName: null, roles: 0 });
      ctx.output(dto, () => vaultMountedLine(dto));
    });

  vault
    .command('unmount <path>')
    .description('remove a mount and its roles (certificates stay with their CA)')
    .action(async (path: string) => {
      const a = await ctx.openAuthority();
      // an unknown mount is refused (vault.mount_not_found) as through the server (the Vault API's DELETE is not)
      await a.vault.mounts.requireMount(path);
      await a.vault.mounts.unmount(path, ctx.actor);
      ctx.output({ path, unmounted: true }, () => `unmounted ${path}/`);
    });

  vault
    .command('mounts')
    .description('list PKI mounts')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.vault.mounts.listMountSummaries(ctx.actor);
      const { onePage, toVaultMountDto } = await ctx.contract();
      const page = onePage(rows.map(toVaultMountDto));
      ctx.output(page, () => vaultMountsTable(page.items));
    });
}
