import type { Command } from 'commander';
import { resolveDatabaseUrl } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { keyValues } from '../format';

export function registerInitCommand(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('create the data directory, database (migrations applied) and key-encryption key')
    .action(async () => {
      const a = await ctx.openAuthority({ create: true }); // the one command that creates a data dir
      const o = ctx.options();
      const health = await a.health();
      const data = {
        dataDir: o.dataDir,
        database: o.databaseUrl ? redactUrl(o.databaseUrl) : resolveDatabaseUrl(o),
        keyBackends: a.describe().keyBackends,
        ready: health.ok,
        certificateAuthorities: (await a.cas.list()).length,
      };
      ctx.output(
        data,
        () =>
          `PKI Manager initialised\n${keyValues([
            ['data dir', data.dataDir],
            ['database', data.database],
            ['key backends', data.keyBackends.join(', ')],
            ['CAs', data.certificateAuthorities],
          ])}`,
      );
    });
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
