import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { intOption } from '../cli-parsers';
import { auditActorsTable, auditTable, date } from '../format';

export function registerAuditCommand(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('tamper-evident audit log');

  audit
    .command('list')
    .description('list audit events (newest first)')
    .option('--limit <n>', 'how many', intOption, 50)
    .option('--action <action>', 'only this action, e.g. certificate.issued')
    .option('--actor <name>', "only this actor's events: a username, an API token's name, or an actor id")
    .option('--target <id>', 'only events about this object')
    .option('--after-seq <n>', 'events after this sequence number (oldest first)', intOption)
    .option('--cursor <cursor>', 'the next page: nextCursor of the previous --json page')
    .action(
      async (o: {
        limit: number;
        action?: string;
        actor?: string;
        target?: string;
        afterSeq?: number;
        cursor?: string;
      }) => {
        const a = await ctx.openAuthority();
        const order = o.afterSeq !== undefined ? 'asc' : 'desc';
        if (o.cursor !== undefined && !/^\d{1,15}$/.test(o.cursor))
          throw new PkiError('input.invalid', `--cursor: not an audit cursor: '${o.cursor}'`);
        const rows = await a.audit.list({
          limit: o.limit,
          action: o.action,
          actor: o.actor,
          target: o.target,
          afterSeq: o.cursor !== undefined ? Number(o.cursor) : o.afterSeq,
          order,
        });
        const page = ctx.options().json ? (await ctx.contract()).toAuditEventPage(rows, o.limit) : null;
        ctx.output(page, () => auditTable(rows));
      },
    );

  audit
    .command('actors')
    .description(
      "who acted in the log: the users and API tokens by name (what audit list's --actor takes), by name, a page at " +
        'a time',
    )
    .option('--prefix <text>', 'only the names that begin with it (letter case aside)')
    .option('--limit <n>', 'how many (1–1000)', intOption, 100)
    .option('--cursor <cursor>', 'the next page: nextCursor of the previous --json page')
    .action(async (o: { prefix?: string; limit: number; cursor?: string }) => {
      if (o.limit < 1 || o.limit > 1000) throw new PkiError('input.invalid', `--limit: 1 to 1000, got ${o.limit}`);
      const a = await ctx.openAuthority();
      const page = await a.audit.actors({ q: o.prefix, limit: o.limit, cursor: o.cursor });
      const out = ctx.options().json ? (await ctx.contract()).toAuditActorPage(page) : null;
      // (local mode only — remote mode prints the server's answer: there this CLI acts as its token, listed by name)
      // this CLI's own events are by `cli:<OS user>`, an id with no user or token: not a name to list, but said here
      const self = ctx.actor.id;
      ctx.output(out, () =>
        [
          auditActorsTable(page.items),
          `(this CLI's own events, local mode, are by ${self}: an id with no name — pkim audit list --actor ${self})`,
        ].join('\n'),
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
      const cp = r.checkpoint;
      ctx.output(ctx.options().json ? (await ctx.contract()).toAuditVerifyDto(r) : r, () =>
        [
          `audit chain OK: ${r.count} events verified (head ${r.lastHash.slice(0, 16)}…)`,
          cp
            ? `signed checkpoint: event #${cp.seq} (${cp.source}, ${date(cp.time)}); ` +
              `${r.count - cp.seq} newer event(s) not yet checkpointed`
            : 'signed checkpoint: none yet (written when a command or the server stops, or by `pkim audit checkpoint`)',
        ].join('\n'),
      );
    });

  audit
    .command('checkpoint')
    .description(
      'sign the chain head with a key derived from the master key and keep it in the database and beside it; ' +
        'removing the newest events is then detected by `audit verify`',
    )
    .option(
      '--reanchor',
      'replace a checkpoint that is AHEAD of the chain (only after deliberately restoring an older backup)',
    )
    .action(async (o: { reanchor?: boolean }) => {
      const a = await ctx.openAuthority();
      const cp = await a.audit.checkpoint({ reanchor: o.reanchor === true });
      if (!cp) {
        const v = await a.audit.verify();
        if (!v.ok) {
          throw new PkiError(
            'audit.chain_broken',
            `not checkpointing: audit chain broken at event #${v.brokenAtSeq} (${v.brokenEventId}): ${v.reason}`,
            { details: v },
          );
        }
      }
      ctx.output(cp && ctx.options().json ? (await ctx.contract()).toAuditCheckpointDto(cp) : null, () =>
        cp
          ? `audit checkpoint: event #${cp.seq} (head ${cp.hash.slice(0, 16)}…)` +
            (cp.replaced ? `; replaced a checkpoint of event #${cp.replaced.seq} (${cp.replaced.source})` : '')
          : 'audit checkpoint: the audit log is empty',
      );
    });
}
