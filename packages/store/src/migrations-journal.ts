import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

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
