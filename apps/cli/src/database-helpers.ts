// The database the CLI is configured for, described and with its password kept out of messages: `pkim db`, `backup`
// and `restore` (a module of its own so that those command modules do not import each other, see command-outputs.ts).
import { PkiError, toPkiError } from '@pkim/shared';
import { databaseLocation, resolveDatabaseUrl } from '@pkim/authority';
import type { CliContext } from './cli-context';

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
