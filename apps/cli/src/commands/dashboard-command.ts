import type { Command } from 'commander';
import type { CliContext } from '../cli-context';
import { DASHBOARD_REVOCATIONS, dashboardText, firstName } from '../format';

/**
 * `pkim dashboard`: the console's dashboard (`insights.dashboard`) — `--json` is the API's object; the text adds what
 * the console's cards read beside it (the CAs by expiry, the last revocations)
 */
export function registerDashboardCommand(program: Command, ctx: CliContext): void {
  program
    .command('dashboard')
    .description(
      "what needs attention: counts, warnings with their codes and what to do (the console's dashboard; " +
        "--json: the API's insights.dashboard)",
    )
    .action(async () => {
      const a = await ctx.openAuthority();
      const d = await a.insights.dashboard();
      if (ctx.options().json) {
        ctx.output((await ctx.contract()).toDashboardDto(d), () => '');
        return;
      }
      const [cas, revoked] = await Promise.all([
        a.cas.list(),
        a.audit.list({ action: 'certificate.revoked', order: 'desc', limit: DASHBOARD_REVOCATIONS }),
      ]);
      const line = {
        ...d,
        expiringSoon: d.expiringSoon.map((c) => ({ serialHex: c.serialHex, name: firstName(c), notAfter: c.notAfter })),
      };
      ctx.output(null, () => dashboardText(line, { now: d.generatedAt, cas, revoked }));
    });
}
