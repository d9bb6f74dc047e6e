import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreLogger } from './types';

export interface JournalEntry {
  idx: number;
  when: number; // folderMillis: drizzle's migrator compares it with the last applied created_at
  tag: string;
}

/** The drizzle-kit journal of a migrations folder (`meta/_journal.json`). */
export function readJournal(migrationsFolder: string): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: JournalEntry[];
  };
  return journal.entries;
}

/**
 * Tags of the migrations not applied yet, in journal order, given the `created_at` of every applied one (null: no
 * migrations table). A migration is applied when its `when` is among them — not when it is older than the newest:
 * a reserved number that lands after a higher one (0019 after 0022) has a smaller `when` than the newest applied.
 */
export function pendingMigrations(migrationsFolder: string, applied: readonly number[] | null): string[] {
  const done = new Set(applied ?? []);
  return readJournal(migrationsFolder)
    .filter((e) => !done.has(e.when))
    .map((e) => e.tag);
}

export interface LateMigration {
  tag: string;
  when: number;
  /** what drizzle's migrator records as `hash`: SHA-256 of the SQL file */
  hash: string;
  statements: string[];
}

/**
 * The pending migrations drizzle's migrator would skip: it applies only those newer than the newest applied one,
 * so a reserved, lower number landed after a higher one (journal `when` 0019 < 0022) must be applied by the store
 * first, then drizzle applies the rest. Empty on a fresh database (drizzle applies every entry).
 * drizzle-kit diffs against the snapshot file that sorts last, so a late migration's schema is also written into
 * the highest-numbered snapshot (0022_snapshot.json holds 0019's table): the next `drizzle-kit generate` then
 * starts from the real schema.
 */
export function lateMigrations(migrationsFolder: string, applied: readonly number[] | null): LateMigration[] {
  if (!applied?.length) return [];
  const newest = Math.max(...applied);
  const done = new Set(applied);
  return readJournal(migrationsFolder)
    .filter((e) => !done.has(e.when) && e.when < newest)
    .map((e) => {
      const text = readFileSync(join(migrationsFolder, `${e.tag}.sql`), 'utf8');
      return {
        tag: e.tag,
        when: e.when,
        hash: createHash('sha256').update(text).digest('hex'),
        statements: text
          .split('--> statement-breakpoint')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    });
}

/**
 * Tells the operator that an existing database is being upgraded before the migrations run, and when they are done:
 * some rebuild a big table (0032 rewrites every search term: about a minute per 1,000,000 certificates on SQLite),
 * and a server that says nothing for that long looks hung. Silent on a fresh database (`applied` null or empty).
 * Returns what to call once they are applied.
 */
export function reportUpgrade(
  logger: StoreLogger | undefined,
  dialect: 'sqlite' | 'postgres',
  applied: readonly number[] | null,
  pending: readonly string[],
): () => void {
  if (!logger || !applied?.length || pending.length === 0) return () => undefined;
  const started = Date.now();
  logger.info(
    { dialect, migrations: pending },
    `upgrading the database: ${pending.length} migration(s) to apply (${pending.join(', ')}); ` +
      'on a large database this can take minutes — do not stop the process',
  );
  return () =>
    logger.info({ dialect, migrations: pending, ms: Date.now() - started }, 'database upgraded: migrations applied');
}
