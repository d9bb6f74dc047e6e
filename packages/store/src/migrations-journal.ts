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

/** Tags of the migrations drizzle's migrator applies when the last applied one has `lastCreatedAt`. */
export function pendingMigrations(migrationsFolder: string, lastCreatedAt: number | null): string[] {
  return readJournal(migrationsFolder)
    .filter((e) => lastCreatedAt === null || e.when > lastCreatedAt)
    .map((e) => e.tag);
}
