import type { Command } from 'commander';
import { PkiError, toPkiError } from '@pkim/shared';
import { databaseLocation, resolveDatabaseUrl } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { table } from '../format';

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db` (also `?password=`); SQLite paths unchanged. */
export function redactDatabaseUrl(url: string): string {
  const trimmed = url.trim();
  if (!/^postgres(ql)?:\/\//i.test(trimmed)) return trimmed;
  try {
    const u = new URL(trimmed);
    if (u.password) u.password = 'xxxxx';
    for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, 'xxxxx');
    return u.toString().replace(/xxxxx/g, '***');
  } catch {
    return trimmed.replace(/(\/\/[^:@/]*):[^@/]*@/, '$1:***@').replace(/(pass[a-z]*=)[^&]*/gi, '$1***');
  }
}

/** Every secret in the given database URLs (raw and percent-decoded), to scrub from messages. */
function urlSecrets(urls: (string | undefined)[]): string[] {
  const out = new Set<string>();
  for (const url of urls) {
    if (!url || !/^postgres(ql)?:\/\//i.test(url.trim())) continue;
    const raw = /\/\/[^:@/]*:([^@/]*)@/.exec(url)?.[1];
    const params = [...url.matchAll(/pass[a-z]*=([^&]*)/gi)].map((m) => m[1]);
    for (const s of [raw, ...params]) {
      if (!s) continue;
      out.add(s);
      try {
        out.add(decodeURIComponent(s));
      } catch {
        /* not percent-encoded */
      }
    }
  }
  return [...out].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

/**
 * Runs a database command so that no password from the given URLs can leak into its error
 * message (pg / pg_dump messages, a URL echoed back): errors are rethrown scrubbed.
 */
export async function withScrubbedErrors<T>(urls: (string | undefined)[], fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const secrets = urlSecrets(urls);
    if (secrets.length === 0) throw e;
    const err = toPkiError(e);
    // whole URLs first (any password length), then bare secrets long enough not to hit ordinary words
    const fullUrls = urls.filter((u): u is string => !!u && /^postgres(ql)?:\/\//i.test(u.trim())).map((u) => u.trim());
    const scrub = (text: string) =>
      secrets
        .filter((x) => x.length >= 4)
        .reduce(
          (acc, secret) => acc.split(secret).join('***'),
          fullUrls.reduce((acc, u) => acc.split(u).join(redactDatabaseUrl(u)), text),
        );
    let details: Record<string, unknown> = {};
    try {
      details = JSON.parse(scrub(JSON.stringify(err.details ?? {}))) as Record<string, unknown>;
    } catch {
      details = {};
    }
    throw new PkiError(err.code, scrub(err.message), { kind: err.kind, retryable: err.retryable, details });
  }
}

/** The database the CLI is configured for: --database-url / PKIM_DATABASE_URL, else `<data-dir>/pkim.db`. */
export function configuredDatabaseUrl(ctx: CliContext): string {
  const o = ctx.options();
  return resolveDatabaseUrl({ dataDir: o.dataDir, databaseUrl: o.databaseUrl });
}

/** Human label of a database: `sqlite /abs/path` or the redacted `postgres://…`. */
export function describeDatabase(url: string): string {
  const where = databaseLocation(url);
  return where.dialect === 'sqlite' ? `sqlite ${where.path}` : redactDatabaseUrl(url);
}

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
