/**
 * The SQLite writer thread (sqlite-writer.ts starts it): for each store of the process that uses it, a better-sqlite3
 * connection of its own to the store's file with the same pragmas (WAL, synchronous=NORMAL), writing the group-commit
 * batches the main thread posts, one at a time, with the same committer as the main thread (sqlite-commit.ts).
 * Migrations were applied by the main thread before.
 */
import { parentPort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { createSqliteCommitter, sendError, type SqliteCommitter } from './sqlite-commit';
import { openSqliteDatabase } from './sqlite-database';
import type { WriterReply, WriterRequest } from './sqlite-writer';

const port = parentPort!;
/** the connection of each store; undefined: it could not be opened (the main thread writes that store's batches) */
const stores = new Map<number, { sqlite: Database.Database; committer: SqliteCommitter } | undefined>();

port.on('message', (m: WriterRequest) => {
  if (m.type === 'open') {
    try {
      const sqlite = openSqliteDatabase(m.path);
      stores.set(m.db, { sqlite, committer: createSqliteCommitter(sqlite, m.failCommit) });
    } catch {
      stores.set(m.db, undefined);
    }
    return;
  }
  const store = stores.get(m.db);
  if (m.type === 'close') {
    store?.sqlite.close();
    stores.delete(m.db);
    port.postMessage({ type: 'closed', id: m.id } satisfies WriterReply);
    return;
  }
  const reply: WriterReply = store
    ? {
        type: 'written',
        id: m.id,
        outcomes: store.committer.write(m.units).map((o) => (o.ok ? o : { ok: false, error: sendError(o.error) })),
      }
    : { type: 'written', id: m.id };
  port.postMessage(reply);
});
port.postMessage({ type: 'ready' } satisfies WriterReply);
