import type { Command } from 'commander';
import type { CaCrlDto } from '@pkim/contract';
import type { CliContext } from '../cli-context';
import { writeOutputFile } from '../cli-parsers';
import { keyValues } from '../format';

export interface CrlOptions {
  ca: string;
  out?: string;
  pem?: boolean;
}

/** writes the CRL (--out: DER unless --pem) and prints it as the contract has it: local and remote mode alike */
export async function printCrl(ctx: CliContext, crl: CaCrlDto, o: CrlOptions): Promise<void> {
  if (o.out) {
    const { fromPem } = await import('../lazy/core-runtime');
    writeOutputFile(o.out, o.pem ? crl.pem : fromPem(crl.pem, 'X509 CRL'));
  }
  ctx.output(
    { ...crl, out: o.out ?? null, pem: o.out ? undefined : crl.pem },
    () =>
      `${keyValues([
        ['CA', crl.caId],
        ['CRL number', crl.crlNumber],
        ['this update', crl.thisUpdate],
        ['next update', crl.nextUpdate],
        ['written', o.out],
      ])}${o.out ? '' : `\n\n${crl.pem}`}`,
  );
}

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
      const caId = (await a.cas.get(o.ca)).ca.id;
      const { toCaCrlDto } = await ctx.contract();
      await printCrl(ctx, toCaCrlDto(caId, await a.crl.generate(caId, ctx.actor)), o);
    });
}
