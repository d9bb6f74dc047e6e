import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { durationOption, intOption } from '../cli-parsers';
import { acmeAccountsTable, acmeDirectoriesTable, acmeEabKeysTable, acmeEnabledText } from '../format';

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

/** `pkim acme …`: the ACME server of a CA (docs/acme.md). */
export function registerAcmeCommand(program: Command, ctx: CliContext): void {
  const acme = program.command('acme').description('ACME server (RFC 8555): directories per CA, EAB keys, accounts');

  acme
    .command('enable')
    .description('serve an ACME directory for a CA at /acme/<caId>/directory (again: replaces its settings)')
    .requiredOption('--ca <ca>', 'CA id or name')
    .option('--profile <name>', 'profile of the issued certificates', 'tls-server')
    .option('--allow-dns <patterns>', "DNS names it issues for, comma-separated ('localhost,*.test'); default any")
    .option('--allow-ip <cidrs>', "IP identifiers it issues for ('127.0.0.1,10.0.0.0/8', '*'); default none")
    .option('--require-eab', 'new accounts need an external account binding (pkim acme eab create)')
    .option('--orders-per-hour <n>', 'rate limit of new orders per account', intOption)
    .option('--lifetime <duration>', "certificate lifetime, e.g. '90d' (default: the profile's)", durationOption)
    .action(
      async (o: {
        ca: string;
        profile: string;
        allowDns?: string;
        allowIp?: string;
        requireEab?: boolean;
        ordersPerHour?: number;
        lifetime?: number;
      }) => {
        const a = await ctx.openAuthority();
        const d = await a.acme.enable(
          {
            ca: o.ca,
            profile: o.profile,
            allowDns: list(o.allowDns),
            allowIps: list(o.allowIp),
            requireEab: o.requireEab,
            ordersPerHour: o.ordersPerHour,
            lifetimeMs: o.lifetime,
          },
          ctx.actor,
        );
        const { toAcmeDirectoryDto } = await ctx.contract();
        // the API's object: the directory's URL under publicUrl (null without one), as the server gives it
        const dto = toAcmeDirectoryDto(d, ctx.config().publicUrl);
        ctx.output(dto, () => acmeEnabledText(dto, undefined));
      },
    );

  acme
    .command('disable')
    .description('stop serving the ACME directory of a CA (accounts and orders are kept)')
    .requiredOption('--ca <ca>', 'CA id or name')
    .action(async (o: { ca: string }) => {
      const a = await ctx.openAuthority();
      const r = await a.acme.disable(o.ca, ctx.actor);
      ctx.output(r, () => (r.disabled ? `ACME disabled for ${r.caId}` : `ACME was not enabled for ${r.caId}`));
    });

  acme
    .command('list')
    .description('list the ACME directories')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.acme.listDirectories(ctx.actor);
      const { onePage, toAcmeDirectoryDto } = await ctx.contract();
      const items = rows.map((d) => toAcmeDirectoryDto(d, ctx.config().publicUrl));
      ctx.output(onePage(items), () => acmeDirectoriesTable(items, undefined));
    });

  acme
    .command('accounts')
    .description('list ACME accounts')
    .option('--ca <ca>', 'only the accounts of this CA')
    .action(async (o: { ca?: string }) => {
      const a = await ctx.openAuthority();
      const rows = await a.acme.listAccounts(o.ca, ctx.actor);
      ctx.output((await ctx.contract()).onePage(rows), () => acmeAccountsTable(rows));
    });

  const eab = acme.command('eab').description('external account binding keys');
  eab
    .command('create')
    .description('create an EAB key for a directory (the HMAC key is shown once)')
    .requiredOption('--ca <ca>', 'CA id or name')
    .action(async (o: { ca: string }) => {
      const a = await ctx.openAuthority();
      const r = await a.acme.createEabKey(o.ca, ctx.actor);
      ctx.output(r, () => `kid: ${r.kid}\nhmac key: ${r.hmacKey}`);
    });
  eab
    .command('list')
    .description('EAB keys (never the HMAC key): directory, creator, whether an account used it')
    .option('--ca <ca>', 'only this CA (id or name)')
    .action(async (o: { ca?: string }) => {
      const a = await ctx.openAuthority();
      const rows = await a.acme.listEabKeys(o.ca, ctx.actor);
      ctx.output((await ctx.contract()).onePage(rows), () => acmeEabKeysTable(rows));
    });
  eab
    .command('revoke <kid>')
    .description('delete an EAB key so it can no longer bind an account')
    .action(async (kid: string) => {
      const a = await ctx.openAuthority();
      const r = await a.acme.revokeEabKey(kid, ctx.actor);
      ctx.output(
        r,
        () =>
          `EAB key ${r.kid} revoked` +
          (r.deactivatedAccount ? `; the account it bound (${r.deactivatedAccount}) is deactivated` : ''),
      );
    });
}
