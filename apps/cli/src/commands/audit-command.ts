import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { intOption } from '../cli-parsers';
import { date, table } from '../format';

export function registerAuditCommand(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('tamper-evident audit log');

  audit
    .command('list')
    .description('list audit events (newest first)')
    .option('--limit <n>', 'how many', intOption, 50)
    .option('--action <action>', 'only this action, e.g. certificate.issued')
    .option('--target <id>', 'only events about this object')
    .option('--after-seq <n>', 'events after this sequence number (oldest first)', intOption)
    .action(async (o: { limit: number; action?: string; target?: string; afterSeq?: number }) => {
      const a = await ctx.openAuthority();
      const rows = await a.audit.list({
        limit: o.limit,
        action: o.action,
        target: o.target,
        afterSeq: o.afterSeq,
        order: o.afterSeq !== undefined ? 'asc' : 'desc',
      });
      ctx.output(rows, () =>
        table(
          ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'OUTCOME', 'TARGET', 'DETAILS'],
          rows.map((e) => [e.seq, date(e.time), e.actor, e.action, e.outcome, e.target, summarize(e.details)]),
        ),
      );
    });

  audit
    .command('verify')
    .description('verify the hash chain; exit ≠ 0 and name the first broken event if it was tampered with')
    .action(async () => {
      const a = await ctx.openAuthority();
      const r = await a.audit.verify();
      if (!r.ok) {
        throw new PkiError(
          'audit.chain_broken',
          `audit chain broken at event #${r.brokenAtSeq} (${r.brokenEventId}): ${r.reason}; ${r.count} ` +
            `event(s) before it verify`,
          { details: r },
        );
      }
      ctx.output(r, () => `audit chain OK: ${r.count} events verified (head ${r.lastHash.slice(0, 16)}…)`);
    });
}

function summarize(d: Record<string, unknown>): string {
  const s = Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}
