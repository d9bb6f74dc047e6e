/**
 * A SQLite thread (sqlite-writer.ts starts them): for each store of the process that uses it, a better-sqlite3
 * connection of its own to the store's file with the same pragmas (WAL, synchronous=NORMAL). The same module runs
 * in two roles, each its own thread:
 * - the writer thread writes the group-commit batches the main thread posts, one at a time, with the same committer
 *   as the main thread (sqlite-commit.ts);
 * - the checkpointer thread runs the WAL checkpoints the main thread asks for (sqlite-checkpoint.ts), so that no
 *   commit runs one inline.
 * Migrations were applied by the main thread before.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { SqliteCommitter } from './sqlite-commit';
import { openSqliteDatabase } from './sqlite-database';
import type { WriterReply, WriterRequest } from './sqlite-writer';
import type { CheckpointResult } from './sqlite-checkpoint';

const port = parentPort!;
// the committer (Drizzle, the schema) is loaded by the writer thread only: the checkpointer thread starts sooner
const committing =
  (workerData as { role?: string } | undefined)?.role === 'writer' ? await import('./sqlite-commit') : undefined;
interface Connection {
  sqlite: Database.Database;
  failCommit: boolean;
  /** made on the first batch (a checkpointer's connection never writes one) */
  committer?: SqliteCommitter;
}
/** the connection of each store; undefined: it could not be opened (the main thread does that store's work) */
const stores = new Map<number, Connection | undefined>();

function reply(m: Exclude<WriterRequest, { type: 'open' }>, store: Connection | undefined): WriterReply {
  if (m.type === 'close') {
    store?.sqlite.close();
    stores.delete(m.db);
    return { type: 'closed', id: m.id };
  }
  if (m.type === 'checkpoint') {
    if (!store) return { type: 'checkpointed', id: m.id };
    try {
      const [result] = store.sqlite.pragma(`wal_checkpoint(${m.mode})`) as CheckpointResult[];
      return { type: 'checkpointed', id: m.id, result };
    } catch (e) {
      return { type: 'checkpointed', id: m.id, error: (e as Error).message };
    }
  }
  if (!store || !committing) return { type: 'written', id: m.id };
  store.committer ??= committing.createSqliteCommitter(store.sqlite, store.failCommit);
  const outcomes = store.committer
    .write(m.units)
    .map((o) => (o.ok ? o : { ok: false as const, error: committing.sendError(o.error) }));
  return { type: 'written', id: m.id, outcomes };
}

port.on('message', (m: WriterRequest) => {
  if (m.type === 'open') {
    try {
      const sqlite = openSqliteDatabase(m.path, { autoCheckpoint: m.autoCheckpoint });
      stores.set(m.db, { sqlite, failCommit: m.failCommit });
    } catch {
      stores.set(m.db, undefined);
    }
    return;
  }
  port.postMessage(reply(m, stores.get(m.db)));
});
port.postMessage({ type: 'ready' } satisfies WriterReply);
