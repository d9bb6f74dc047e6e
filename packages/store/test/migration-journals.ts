import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readJournal } from '../src/migrations-journal';

/**
 * The migrations a fresh database gets, in the order the store applies them: the tags of the engine's drizzle-kit
 * journal (so a new migration is not a line added to every test's list). Throws when the folder's SQL files and the
 * journal disagree, or when a tag is in the journal twice, so a migration file left out of the journal shows.
 */
export function journalTags(dialect: 'sqlite' | 'pg'): string[] {
  const folder = fileURLToPath(new URL(`../migrations/${dialect}`, import.meta.url));
  const tags = readJournal(folder).map((e) => e.tag);
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -'.sql'.length));
  if (new Set(tags).size !== tags.length) throw new Error(`${dialect} journal names a migration twice`);
  if ([...files].sort().join() !== [...tags].sort().join())
    throw new Error(`${dialect} migration files and journal differ: ${files.join()} vs ${tags.join()}`);
  return tags;
}
