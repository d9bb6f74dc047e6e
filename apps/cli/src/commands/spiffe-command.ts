import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { spiffeDeniedTable, spiffeStatusText, svidsTable } from '../format';

/** `pkim spiffe …`: SPIFFE workload identity (docs/spiffe.md). */
export function registerSpiffeCommand(program: Command, ctx: CliContext): void {
  const spiffe = program.command('spiffe').description('SPIFFE workload identity: CAs, SVIDs, deny list');

  spiffe
    .command('init')
    .description('create the root, services and transport CA of a trust domain (idempotent)')
    .requiredOption('--trust-domain <td>', 'e.g. example.org')
    .action(async (o: { trustDomain: string }) => {
      const a = await ctx.openAuthority();
      const r = await a.spiffe.init({ trustDomain: o.trustDomain }, ctx.actor);
      ctx.output(r, () =>
        r.created.length
          ? `SPIFFE trust domain ${r.trustDomain}: created ${r.created.join(', ')} CA(s)`
          : `SPIFFE trust domain ${r.trustDomain} is already initialised`,
      );
    });

  spiffe
    .command('status')
    .description('CA validity, SVID counts and warnings')
    .action(async () => {
      const a = await ctx.openAuthority();
      const s = await a.spiffe.status(ctx.actor);
      ctx.output(s, () => spiffeStatusText(s));
    });

  spiffe
    .command('bundle')
    .description('print the trust bundle (JSON)')
    .action(async () => {
      const a = await ctx.openAuthority();
      const b = await a.spiffe.bundle();
      ctx.output(b, () => JSON.stringify(b, null, 2));
    });

  spiffe
    .command('list')
    .description('list SVIDs (newest first)')
    .option('--spiffe-id <id>', 'only this identity')
    .option('--current', 'only unexpired, not superseded SVIDs')
    .action(async (o: { spiffeId?: string; current?: boolean }) => {
      const a = await ctx.openAuthority();
      const r = await a.spiffe.list({ spiffeId: o.spiffeId, current: o.current, limit: 1000 }, ctx.actor);
      ctx.output({ items: r.items, nextCursor: r.nextCursor }, () => svidsTable(r.items, r.nextCursor));
    });

  spiffe
    .command('deny <spiffeId>')
    .description('refuse every SVID for this identity (current SVIDs stay valid until they expire)')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (spiffeId: string, o: { reason: string }) => {
      const a = await ctx.openAuthority();
      const r = await a.spiffe.deny({ spiffeId, reason: o.reason }, ctx.actor);
      ctx.output(
        r,
        () =>
          `${r.spiffeId} denied` +
          (r.currentCertificates.length
            ? '; still valid until they expire: ' +
              r.currentCertificates.map((c) => `${c.serial} (${c.expiresAt})`).join(', ')
            : ''),
      );
    });

  spiffe
    .command('allow <spiffeId>')
    .description('remove an identity from the deny list')
    .action(async (spiffeId: string) => {
      const a = await ctx.openAuthority();
      const r = await a.spiffe.allow({ spiffeId }, ctx.actor);
      ctx.output(r, () => (r.wasDenied ? `${r.spiffeId} allowed again` : `${r.spiffeId} was not denied`));
    });

  spiffe
    .command('denied')
    .description('list the deny list')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.spiffe.listDenied(ctx.actor);
      ctx.output({ items: rows, nextCursor: null }, () => spiffeDeniedTable(rows));
    });

  spiffe
    .command('rotate <role>')
    .description('replace the services or transport CA; the old one stays in the bundle until its last SVID expires')
    .action(async (role: string) => {
      if (role !== 'services' && role !== 'transport')
        throw new PkiError('input.invalid', `rotate services or transport, not '${role}'`);
      const a = await ctx.openAuthority();
      const r = await a.spiffe.rotate({ role }, ctx.actor);
      ctx.output(
        r,
        () => `${role} CA rotated: ${r.oldCaId} → ${r.newCaId} (old one in the bundle until ${r.oldKeptUntil})`,
      );
    });

  spiffe
    .command('purge')
    .description('delete SVIDs expired for longer than PKIM_SPIFFE_PURGE_AFTER (default 24h)')
    .action(async () => {
      const a = await ctx.openAuthority();
      const r = await a.spiffe.purge(ctx.actor);
      ctx.output(r, () => `${r.purged} expired SVID(s) purged`);
    });
}
