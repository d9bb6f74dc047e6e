import type { Command } from 'commander';
import { PkiError, formatDuration } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { table } from '../format';
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
      ctx.output({ items: rows.map(toProfileSummaryDto), nextCursor: null }, () =>
        table(
          ['NAME', 'CA', 'KEY USAGE', 'EXT KEY USAGE', 'SANS', 'DEFAULT', 'MAX'],
          rows.map((p) => [
            p.name,
            p.isCa ? 'yes' : 'no',
            p.keyUsage.join(','),
            p.extKeyUsage.join(',') || '-',
            `${p.allowedSanTypes.join(',') || '-'}${p.sanRequired ? ' (required)' : ''}`,
            formatDuration(p.defaultLifetimeMs),
            formatDuration(p.maxLifetimeMs),
          ]),
        ),
      );
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
