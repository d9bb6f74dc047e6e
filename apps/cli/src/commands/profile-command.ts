import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { profilesTable } from '../format';
import { profileText } from '../command-outputs';
import { readProfileFile } from '../cli-parsers';

/** `pkim profile list|show`: built-in and custom certificate profiles. */
export function registerProfileCommand(program: Command, ctx: CliContext): void {
  const profile = program
    .command('profile')
    .description(
      'certificate profiles (built-in, custom ones from PKIM_PROFILES_FILE or <data dir>/profiles.json, and ones ' +
        'made with profile create, kept in the database)',
    );

  profile
    .command('list')
    .description('list profiles')
    .action(async () => {
      const a = await ctx.openAuthority();
      const rows = await a.profileCatalog.list(ctx.actor);
      // --json: the contract's profile summaries, as GET /api/v1/profiles answers
      const { toProfileEntryDto } = await ctx.contract();
      const items = rows.map(toProfileEntryDto);
      ctx.output({ items, nextCursor: null }, () => profilesTable(items));
    });

  profile
    .command('show <name>')
    .description('show one profile')
    .action(async (name: string) => {
      const a = await ctx.openAuthority();
      const p = (await a.profileCatalog.list(ctx.actor)).find((x) => x.profile.name === name);
      if (!p) throw new PkiError('profile.not_found', `no profile '${name}' (see pkim profile list)`);
      const { toProfileEntryDto } = await ctx.contract();
      const dto = toProfileEntryDto(p);
      ctx.output(dto, () => profileText(dto));
    });

  profile
    .command('create')
    .description('create a custom profile from a JSON file of its fields (docs/profiles.md), kept in the database')
    .requiredOption('--file <file>', "the profile's fields as one JSON object ('-': stdin)")
    .action(async (o: { file: string }) => {
      const input = readProfileFile(o.file);
      const a = await ctx.openAuthority();
      const { toProfileEntryDto } = await ctx.contract();
      const dto = toProfileEntryDto(await a.profileCatalog.create(input, ctx.actor));
      ctx.output(dto, () => `profile ${dto.name} created`);
    });

  profile
    .command('update <name>')
    .description('replace a profile made with profile create by the fields of a JSON file')
    .requiredOption('--file <file>', "the profile's fields as one JSON object ('-': stdin)")
    .action(async (name: string, o: { file: string }) => {
      const input = readProfileFile(o.file);
      const a = await ctx.openAuthority();
      const { toProfileEntryDto } = await ctx.contract();
      const dto = toProfileEntryDto(await a.profileCatalog.update(name, input, ctx.actor));
      ctx.output(dto, () => `profile ${dto.name} updated`);
    });

  profile
    .command('delete <name>')
    .description('delete a profile made with profile create (refused while something uses it)')
    .action(async (name: string) => {
      const a = await ctx.openAuthority();
      await a.profileCatalog.delete(name, ctx.actor);
      ctx.output({ name, deleted: true }, () => `profile ${name} deleted`);
    });
}
