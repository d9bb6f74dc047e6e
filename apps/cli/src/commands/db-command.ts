import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { table } from '../format';
import { configuredDatabaseUrl, describeDatabase, withScrubbedErrors } from '../database-helpers';

/** `pkim db migrate|copy`: schema migrations and moving a database (e.g. SQLite → PostgreSQL). */
export function registerDbCommand(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('database operations: migrations, copy SQLite → PostgreSQL');

  db.command('migrate')
    .description(
      'apply pending schema migrations to the configured database (idempotent; servers also do this on start)',
    )
    .action(async () => {
      const url = configuredDatabaseUrl(ctx);
      await withScrubbedErrors([url], async () => {
        // the drivers load only for the commands that need them
        const { migrateDatabase } = await import('../lazy/database-admin-runtime');
        const r = await migrateDatabase(url);
        const database = describeDatabase(url);
        ctx.output({ dialect: r.dialect, database, applied: r.applied, upToDate: r.applied.length === 0 }, () =>
          r.applied.length
            ? `applied ${r.applied.length} migration(s) to ${database}:\n${r.applied.map((t) => `  ${t}`).join('\n')}`
            : `${database} is up to date: no pending migrations`,
        );
      });
    });

  db.command('copy')
    .description(
      'copy every row (ids, serials, audit chain, encrypted CA keys) into a fresh, empty database and verify it',
    )
    .requiredOption('--from <url>', 'source database: SQLite path or sqlite:/path (or postgres://…)')
    .option('--to <url>', 'target database: postgres://… (default: --database-url / PKIM_DATABASE_URL)')
    .action(async (o: { from: string; to?: string }) => {
      const to = o.to ?? ctx.options().databaseUrl;
      await withScrubbedErrors([o.from, to], async () => {
        if (!to)
          throw new PkiError(
            'input.invalid',
            'give the target database with --to postgres://… (or --database-url / PKIM_DATABASE_URL)',
          );
        const { copyDatabase } = await import('../lazy/database-admin-runtime');
        const r = await copyDatabase({ from: o.from, to, env: ctx.config().env });
        const fromLabel = describeDatabase(o.from);
        const toLabel = describeDatabase(to);
        const audit = r.audit;
        ctx.output(
          { from: fromLabel, to: toLabel, counts: r.counts, verified: r.verified, problems: r.problems, audit },
          () =>
            [
              `copied ${fromLabel} → ${toLabel}`,
              table(
                ['TABLE', 'ROWS'],
                Object.entries(r.counts).map(([t, n]) => [t, n]),
              ),
              `verification: OK (row counts match, every certificate fingerprint matches its PEM, audit ` +
                `chain verifies${audit.ok ? `: ${audit.count} events, head ${audit.lastHash.slice(0, 16)}…` : ''})`,
              'CA keys of the software backend were copied encrypted: use the SAME master key ' +
                '(PKIM_MASTER_KEY or <data-dir>/master.key) with the new database.',
            ].join('\n'),
        );
      });
    });
}
