import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { profilesTable } from '../format';
import { profileText } from '../command-outputs';

/** `pkim profile list|show`: built-in and custom certificate profiles. */
export function registerProfileCommand(program: Command, ctx: CliContext): void {
  const profile = program
    .command('profile')
    .description(
      'certificate profiles (built-in, plus custom ones from PKIM_PROFILES_FILE or <data dir>/profiles.json)',
    );

  profile
    .command('list')
    .description('list profiles')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = a.profiles();
      // --json: the contract's profile summaries, as GET /api/v1/profiles answers
      const { toProfileSummaryDto } = await ctx.contract();
      const items = rows.map(toProfileSummaryDto);
      ctx.output({ items, nextCursor: null }, () => profilesTable(items));
    });

  profile
    .command('show <name>')
    .description('show one profile')
    .action(async (name: string) => {
      const a = await ctx.openAuthority();
      const p = a.profiles().find((x) => x.name === name);
      if (!p) throw new PkiError('profile.not_found', `no profile '${name}' (see pkim profile list)`);
      const { toProfileSummaryDto } = await ctx.contract();
      const dto = toProfileSummaryDto(p);
      ctx.output(dto, () => profileText(dto));
    });
}
