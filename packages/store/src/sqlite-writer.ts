/**
 * The SQLite writer thread, main side (OpenStoreOptions.sqliteWriterThread): the group commit's batches are written
 * by a worker thread on a connection of its own (sqlite-writer-thread.ts), so the main thread posts a batch and awaits
 * its outcomes instead of spending the commit's CPU (its page writes to the WAL, most of it) on the event loop. What
 * a batch writes, and how a failing unit is isolated, is the same code on both threads (sqlite-commit.ts).
 *
 * One thread serves every store of the process (one connection per store in it): it is started by the first store
 * that asks for it and keeps the process alive only while a batch is in flight.
 */
import { Worker } from 'node:worker_threads';
import { PkiError, workerModule } from '@pkim/shared';
import type { CommitResult, UnitOfWork } from './types';
import { receiveError, type SentError, type UnitOutcome } from './sqlite-commit';

declare const PKIM_BUNDLED: boolean | undefined;

export type WriterRequest =
  | { type: 'open'; db: number; path: string; failCommit: boolean }
  | { type: 'write'; id: number; db: number; units: UnitOfWork[] }
  | { type: 'close'; id: number; db: number };
export type WriterReply =
  | { type: 'ready' }
  /** `outcomes` absent: the thread could not open that store's database, nothing was written */
  | { type: 'written'; id: number; outcomes?: ({ ok: true; result: CommitResult } | { ok: false; error: SentError })[] }
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

function defaultUrl(): URL {
  return typeof PKIM_BUNDLED !== 'undefined' && PKIM_BUNDLED
    ? new URL('./sqlite-writer-thread.mjs', import.meta.url)
    : new URL('./sqlite-writer-thread.ts', import.meta.url);
}

function startWorker(url: URL): Worker {
  const m = workerModule(url);
  return new Worker(m.script, { eval: m.eval });
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

let thread: Thread | undefined;
let nextId = 1;
let nextDb = 1;

function sharedThread(): Thread {
  if (thread && !thread.failed) return thread;
  const t: Thread = { worker: startWorker(defaultUrl()), ready: false, inFlight: new Map() };
  // the thread keeps the process alive only while requests are in flight (request() refs it)
  t.worker.unref();
  const fail = (message: string) => {
    t.failed ??= new PkiError('store.write_failed', `the SQLite writer thread failed: ${message}`, { retryable: true });
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
  thread = t;
  return t;
}

function request(t: Thread, m: Extract<WriterRequest, { id: number }>): Promise<WriterReply> {
  if (t.failed) return Promise.reject(t.failed);
  return new Promise<WriterReply>((resolve, reject) => {
    if (t.inFlight.size === 0) t.worker.ref();
    t.inFlight.set(m.id, { resolve, reject });
    t.worker.postMessage(m);
  });
}

export function startSqliteWriter(path: string, failCommit: boolean): SqliteWriter {
  const t = sharedThread();
  const db = nextDb++;
  t.worker.postMessage({ type: 'open', db, path, failCommit } satisfies WriterRequest);
  let closed = false;
  return {
    get usable() {
      return !closed && !t.failed;
    },
    async write(units) {
      const reply = await request(t, { type: 'write', id: nextId++, db, units });
      if (reply.type !== 'written' || !reply.outcomes) return undefined;
      return reply.outcomes.map((o) => (o.ok ? o : { ok: false, error: receiveError(o.error) }));
    },
    async close() {
      if (closed) return;
      closed = true;
      await request(t, { type: 'close', id: nextId++, db }).catch(() => undefined);
    },
  };
}
