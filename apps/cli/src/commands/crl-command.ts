import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { writeOutputFile } from '../cli-parsers';
import { date, keyValues } from '../format';

export function registerCrlCommand(program: Command, ctx: CliContext): void {
  const crl = program.command('crl').description('certificate revocation lists');
  crl
    .command('generate')
    .description('sign a fresh CRL for a CA')
    .requiredOption('--ca <ca>', 'CA id or name')
    .option('--out <file>', 'write the CRL here (DER unless --pem)')
    .option('--pem', 'PEM instead of DER')
    .action(async (o: { ca: string; out?: string; pem?: boolean }) => {
      const a = await ctx.openAuthority();
      const caId = (await a.cas.get(o.ca)).ca.id;
      const r = await a.crl.generate(caId, ctx.actor);
      const { toPem } = await import('../lazy/core-runtime');
      const pem = toPem(r.der, 'X509 CRL');
      if (o.out) writeOutputFile(o.out, o.pem ? pem : r.der);
      ctx.output(
        {
          caId,
          crlNumber: r.crlNumber,
          thisUpdate: r.thisUpdate,
          nextUpdate: r.nextUpdate,
          out: o.out ?? null,
          pem: o.out ? undefined : pem,
        },
        () =>
          `${keyValues([
            ['CA', caId],
            ['CRL number', r.crlNumber],
            ['this update', date(r.thisUpdate)],
            ['next update', date(r.nextUpdate)],
            ['written', o.out],
          ])}${o.out ? '' : `\n\n${pem}`}`,
      );
    });
}
