import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { printCrl, type CrlOptions } from '../command-outputs';

export function registerCrlCommand(program: Command, ctx: CliContext): void {
  const crl = program.command('crl').description('certificate revocation lists');
  crl
    .command('generate')
    .description('sign a fresh CRL for a CA')
    .requiredOption('--ca <ca>', 'CA id or name')
    .option('--out <file>', 'write the CRL here (DER unless --pem)')
    .option('--pem', 'PEM instead of DER')
    .action(async (o: CrlOptions) => {
      const a = await ctx.openAuthority();
      const caId = (await a.cas.get(o.ca, ctx.actor)).ca.id;
      const { toCaCrlDto } = await ctx.contract();
      await printCrl(ctx, toCaCrlDto(caId, await a.crl.generate(caId, ctx.actor)), o);
    });
}
