/**
 * The SQLite threads, main side. Two roles, each one thread per process serving every store of it (one connection
 * per store in it; sqlite-writer-thread.ts), started by the first store that asks for it and keeping the process
 * alive only while a request is in flight:
 * - the writer thread (OpenStoreOptions.sqliteWriterThread): the group commit's batches are written by it, so the
 *   main thread posts a batch and awaits its outcomes instead of spending the commit's CPU (its page writes to the
 *   WAL, most of it) on the event loop. What a batch writes, and how a failing unit is isolated, is the same code on
 *   both threads (sqlite-commit.ts);
 * - the checkpointer thread: the WAL checkpoints of a store (sqlite-checkpoint.ts decides when), off the commits.
 *
 * If a thread dies (an error in it, or it exits), what was in flight fails with `store.write_failed` (retryable: a
 * batch may or may not have been committed, a retry finds what was) — or, when nothing of it can have been written
 * (the thread was not up yet), resolves to `undefined` — and the handles on it are no longer `usable`: their store
 * does that work on its own connection from then on (a store opened later starts a new thread).
 */
import { Worker } from 'node:worker_threads';
import { PkiError, workerModule } from '@pkim/shared';
import type { CommitResult, UnitOfWork } from './types';
import { receiveError, type SentError, type UnitOutcome } from './sqlite-commit';
import type { CheckpointMode, CheckpointResult } from './sqlite-checkpoint';

declare const PKIM_BUNDLED: boolean | undefined;

export type WriterRequest =
  | { type: 'open'; db: number; path: string; failCommit: boolean; autoCheckpoint: number }
  | { type: 'write'; id: number; db: number; units: UnitOfWork[] }
  | { type: 'checkpoint'; id: number; db: number; mode: CheckpointMode }
  | { type: 'close'; id: number; db: number };
export type WriterReply =
  | { type: 'ready' }
  /** `outcomes` absent: the thread could not open that store's database, nothing was written */
  | { type: 'written'; id: number; outcomes?: ({ ok: true; result: CommitResult } | { ok: false; error: SentError })[] }
  /** `result` absent: not run (the database could not be opened: `error` absent) or failed (`error`) */
  | { type: 'checkpointed'; id: number; result?: CheckpointResult; error?: string }
  | { type: 'closed'; id: number };

export interface SqliteWriter {
  /** false once the thread failed or the store closed: the caller writes its batches itself */
  readonly usable: boolean;
  /**
   * Posts a batch (queued until the thread is up) and resolves to its outcomes; to `undefined` when nothing of it was
   * written (the thread could not open the database, or failed before it was up): the caller writes it itself.
   */
  write(units: UnitOfWork[]): Promise<UnitOutcome[] | undefined>;
  close(): Promise<void>;
}

export interface SqliteCheckpointer {
  /** false once the thread failed or the store closed: the caller runs its checkpoints itself */
  readonly usable: boolean;
  /** the thread is up (its start takes a while): until then the caller runs its checkpoints itself */
  readonly ready: boolean;
  /**
   * Runs `PRAGMA wal_checkpoint(mode)` on the thread's connection; `undefined` when it was not run there (the
   * database could not be opened, or the thread was not up); rejects when it failed or the thread died
   */
  checkpoint(mode: CheckpointMode): Promise<CheckpointResult | undefined>;
  close(): Promise<void>;
}

type Role = 'writer' | 'checkpointer';

function defaultUrl(): URL {
  return typeof PKIM_BUNDLED !== 'undefined' && PKIM_BUNDLED
    ? new URL('./sqlite-writer-thread.mjs', import.meta.url)
    : new URL('./sqlite-writer-thread.ts', import.meta.url);
}

function startWorker(url: URL, role: Role): Worker {
  const m = workerModule(url);
  return new Worker(m.script, { eval: m.eval, workerData: { role } });
}

interface Request {
  resolve: (r: WriterReply) => void;
  reject: (e: PkiError) => void;
}

interface Thread {
  worker: Worker;
  /** its module is loaded and takes requests: before that, nothing was written */
  ready: boolean;
  failed?: PkiError;
  inFlight: Map<number, Request>;
}

const threads: Partial<Record<Role, Thread>> = {};
let nextId = 1;
let nextDb = 1;

function sharedThread(role: Role): Thread {
  const thread = threads[role];
  if (thread && !thread.failed) return thread;
  const t: Thread = { worker: startWorker(defaultUrl(), role), ready: false, inFlight: new Map() };
  // the thread keeps the process alive only while requests are in flight (request() refs it)
  t.worker.unref();
  const fail = (message: string) => {
    t.failed ??= new PkiError('store.write_failed', `the SQLite ${role} thread failed: ${message}`, {
      retryable: true,
    });
    // a batch in flight may or may not have been committed: its units fail (retryable: a retry finds what was)
    for (const r of t.inFlight.values()) {
      if (t.ready) r.reject(t.failed);
      else r.resolve({ type: 'written', id: 0 });
    }
    t.inFlight.clear();
  };
  t.worker.on('message', (m: WriterReply) => {
    if (m.type === 'ready') {
      t.ready = true;
      return;
    }
    const r = t.inFlight.get(m.id);
    t.inFlight.delete(m.id);
    if (t.inFlight.size === 0) t.worker.unref();
    r?.resolve(m);
  });
  t.worker.on('error', (e) => fail(e.message));
  t.worker.on('exit', (code) => fail(`exited with code ${code}`));
  threads[role] = t;
  return t;
}

/** Test hook: terminates the threads of the process as if they had died (what was in flight fails, see above). */
export async function terminateSqliteThreads(): Promise<void> {
  await Promise.all(Object.values(threads).map((t) => t?.worker.terminate()));
}

function request(t: Thread, m: Extract<WriterRequest, { id: number }>): Promise<WriterReply> {
  if (t.failed) return Promise.reject(t.failed);
  return new Promise<WriterReply>((resolve, reject) => {
    if (t.inFlight.size === 0) t.worker.ref();
    t.inFlight.set(m.id, { resolve, reject });
    t.worker.postMessage(m);
  });
}

/** opens the store's connection in the thread of that role */
function openIn(role: Role, path: string, failCommit: boolean, autoCheckpoint: number) {
  const t = sharedThread(role);
  const db = nextDb++;
  t.worker.postMessage({ type: 'open', db, path, failCommit, autoCheckpoint } satisfies WriterRequest);
  let closed = false;
  return {
    t,
    db,
    get ready() {
      return t.ready;
    },
    get usable() {
      return !closed && !t.failed;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await request(t, { type: 'close', id: nextId++, db }).catch(() => undefined);
    },
  };
}

/** `autoCheckpoint`: the connection's `wal_autocheckpoint` (0 when the store's checkpoints run apart) */
export function startSqliteWriter(path: string, failCommit: boolean, autoCheckpoint: number): SqliteWriter {
  const c = openIn('writer', path, failCommit, autoCheckpoint);
  return {
    get usable() {
      return c.usable;
    },
    async write(units) {
      const reply = await request(c.t, { type: 'write', id: nextId++, db: c.db, units });
      if (reply.type !== 'written' || !reply.outcomes) return undefined;
      return reply.outcomes.map((o) => (o.ok ? o : { ok: false, error: receiveError(o.error) }));
    },
    close: c.close,
  };
}

export function startSqliteCheckpointer(path: string): SqliteCheckpointer {
  const c = openIn('checkpointer', path, false, 0);
  return {
    get usable() {
      return c.usable;
    },
    get ready() {
      return c.ready;
    },
    async checkpoint(mode) {
      const reply = await request(c.t, { type: 'checkpoint', id: nextId++, db: c.db, mode });
      if (reply.type !== 'checkpointed') return undefined;
      if (reply.error !== undefined) {
        throw new PkiError('store.write_failed', `the WAL checkpoint failed: ${reply.error}`, { retryable: true });
      }
      return reply.result;
    },
    close: c.close,
  };
}
