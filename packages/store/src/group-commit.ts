/**
 * When a group commit writes its batch (both engines; what a batch writes is the engine's: sqlite-store.ts,
 * pg-store.ts). A commit pays a fixed cost per transaction (SQLite: the WAL frames of the pages it touches and their
 * writes; PostgreSQL: a round trip and a flush of the WAL to disk), so a unit costs less the more units share it.
 *
 * Units are collected, and the batch is looked at once per turn of the event loop (setImmediate, after the turn that
 * submitted them). It is written at once when nothing else announced is on its way — so a lone request never waits —
 * and otherwise held while work announced with `expect()` (a certificate being signed in a worker or an HSM: its unit
 * follows in the same turn as its result) is still running, until the batch holds `maxBatch` units or its first unit
 * has waited `maxDelayMs` — or, with `writeWhenIdle`, until a turn of the event loop runs nothing else (the thread
 * would only wait for the announced work: the batch is written in that time; a write that returns a promise turns
 * it off). PostgreSQL writes asynchronously: units that arrive while a batch is being written join the next, which
 * is looked at as soon as the write ends — or, with `maxWrites` 2, written beside it by the same rules (at most
 * `maxWrites` batches being written at once).
 */
import type { GroupCommitPolicy, GroupCommitStats } from './types';

/**
 * PostgreSQL's default: a batch is held (≤ 2 ms, ≤ 64 units) while announced work runs. Measured with
 * `npm run bench:group-commit` on the idle machine it does better there (its writes are asynchronous, so the workers
 * keep signing while a held batch waits); on SQLite, whose write blocks the main thread, holding made the workers
 * wait for the commit in turn (2,184 → 1,962/s idle), so SQLite writes at the first look (SQLITE_GROUP_COMMIT).
 * 64, not 32: with more than 32 certificates in flight per instance the batches stopped at 30–32 units; at 64 they
 * hold 35–37 and the rate and PostgreSQL's CPU per certificate moved the right way (docs/benchmarks-record.md, session
 * 26). With ≤ 32 in flight nothing changes (a batch never holds more than what is in flight).
 */
export const PG_GROUP_COMMIT: GroupCommitPolicy = { maxBatch: 64, maxDelayMs: 2 };
/**
 * PostgreSQL with two batches written at once (`maxWrites` 2, two commit connections): a batch ready while another is
 * being written is sent beside it — its inserts run while the other holds the audit-chain lock and flushes. Opt-in
 * (bench:db `BENCH_PG_WRITES=2`): on the loaded machine of session 27 one instance was level with PG_GROUP_COMMIT
 * (docs/benchmarks-record.md, "Session 27: PostgreSQL"); the idle machine decides.
 */
export const PG_GROUP_COMMIT_TWO_WRITES: GroupCommitPolicy = { ...PG_GROUP_COMMIT, maxWrites: 2 };
/**
 * SQLite's default (a process whose certificates are signed in worker threads): written at the first look after the
 * turn that submitted it (maxDelayMs 0: no hold)
 */
export const SQLITE_GROUP_COMMIT: GroupCommitPolicy = { maxBatch: 32, maxDelayMs: 0 };
/**
 * Both engines when the certificates are signed on the main thread (no worker pool: the CLI, PKIM_WORKERS 0 or 1;
 * the authority passes it): held ≤ 2 ms / 32 units while announced signatures run. Nothing waits for the commit
 * there but the main thread's own work, so a held batch idles no worker; measured with
 * `PKIM_WORKERS=1 npm run bench:group-commit` (docs/benchmarks-record.md, session 13): 4.4 → 15.3 units per commit,
 * main thread 457 → 394 µs per certificate, 1,545 → 1,809/s. Not `writeWhenIdle` (docs/benchmarks-record.md, session
 * 17: it halves the main thread's idle share but splits the batches, 14 → 9 units per commit; in one tree, alternated,
 * it cost +80–150 µs of main thread per certificate under load; the idle machine decides: BENCH_WRITE_WHEN_IDLE=1).
 */
export const IN_PROCESS_GROUP_COMMIT: GroupCommitPolicy = { maxBatch: 32, maxDelayMs: 2 };

/**
 * the longest turn of the event loop that counts as empty (writeWhenIdle), ms: on the 2-core machine an empty turn
 * (a setImmediate chain: epoll_wait with no timeout, the check phase) takes 2.5 µs (median; p90 4, p99 17 under load
 * 10); a turn that runs a signature's continuation takes tens of µs
 */
const IDLE_TURN_MS = 0.01;

export interface GroupCommit<T> {
  add(item: T): void;
  /** true when a batch is held for announced work (`maxDelayMs` > 0): only then is announcing work worth its cost */
  readonly holds: boolean;
  /**
   * Announces work that will commit a unit soon; call the returned function (once; more calls do nothing) when it
   * has submitted its unit or given up. Batches wait for announced work, never longer than `maxDelayMs`; with a
   * policy that never holds (`holds` false) it does nothing.
   */
  expect: () => () => void;
  stats: () => GroupCommitStats;
  /** writes what is queued now, without waiting for more, and resolves when nothing is queued or being written */
  drain(): Promise<void>;
}

/** what `expect()` returns when the policy never holds a batch: nothing was counted, nothing to undo */
const nothingExpected = (): void => undefined;

export function createGroupCommit<T>(
  write: (items: T[]) => void | Promise<void>,
  policy: GroupCommitPolicy,
): GroupCommit<T> {
  const holds = policy.maxDelayMs > 0;
  let queue: T[] = [];
  /** announced work still running */
  let expected = 0;
  /** a look at the batch is scheduled (setImmediate) */
  let looking = false;
  /** PostgreSQL: the batches being written (at most `maxWrites`) */
  const writing = new Set<Promise<void>>();
  const maxWrites = Math.max(1, policy.maxWrites ?? 1);
  /** when the first unit of the batch arrived, and the timer that writes it when it has waited maxDelayMs */
  let since = 0;
  let timer: NodeJS.Timeout | undefined;
  /** writeWhenIdle: a turn of the event loop is being timed (setImmediate) */
  let probing = false;
  /** a write returned a promise (PostgreSQL, SQLite's writer thread): it does not take this thread's time */
  let asyncWrites = false;
  const stats = {
    batches: 0,
    units: 0,
    heldMs: 0,
    writingMs: 0,
    deadlineBatches: 0,
    deadlineUnits: 0,
    besideBatches: 0,
    besideUnits: 0,
  } satisfies GroupCommitStats;

  const writeNow = (atDeadline = false): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const items = queue;
    queue = [];
    stats.batches++;
    stats.units += items.length;
    if (atDeadline) {
      stats.deadlineBatches++;
      stats.deadlineUnits += items.length;
    }
    if (writing.size) {
      stats.besideBatches++;
      stats.besideUnits += items.length;
    }
    const at = performance.now();
    stats.heldMs += at - since;
    const done = write(items);
    if (!done) {
      // a write on this thread (SQLite): the batch's transaction and its units' settling (not their continuations)
      stats.writingMs += performance.now() - at;
      return;
    }
    asyncWrites = true;
    const written: Promise<void> = done.finally(() => {
      writing.delete(written);
      stats.writingMs += performance.now() - at;
      look();
    });
    writing.add(written);
  };
  const look = (): void => {
    if (writing.size >= maxWrites || !queue.length) return;
    const waited = performance.now() - since;
    if (expected <= 0 || queue.length >= policy.maxBatch || waited >= policy.maxDelayMs) {
      writeNow(expected > 0 && queue.length < policy.maxBatch);
      return;
    }
    // the deadline's look waits for this turn's check phase, not the timers phase: libuv runs due timers before it
    // polls, so work announced and already finished (a signature whose completion is queued: it ended while this
    // thread was busy) would not have submitted its unit yet, and the batch would be split from it
    timer ??= setTimeout(
      () => {
        timer = undefined;
        lookSoon();
      },
      Math.max(0, policy.maxDelayMs - waited),
    );
    if (policy.writeWhenIdle && !asyncWrites) probeIdle();
  };
  /**
   * Times one whole turn of the event loop (from this check phase to the next): a turn that ran nothing but this
   * callback took a few µs, so the thread would now wait for the announced work; the batch is written in that time.
   * A busier turn (a completion's continuation, a new request) looks again.
   */
  const probeIdle = (): void => {
    if (probing) return;
    probing = true;
    const at = performance.now();
    setImmediate(() => {
      probing = false;
      if (writing.size >= maxWrites || !queue.length) return;
      if (performance.now() - at < IDLE_TURN_MS) writeNow();
      else look();
    });
  };
  const lookSoon = (): void => {
    if (looking) return;
    looking = true;
    setImmediate(() => {
      looking = false;
      look();
    });
  };
  return {
    add(item) {
      if (!queue.length) since = performance.now();
      queue.push(item);
      lookSoon();
    },
    holds,
    expect() {
      if (!holds) return nothingExpected;
      expected++;
      let open = true;
      return () => {
        if (!open) return;
        open = false;
        expected--;
        if (queue.length) lookSoon();
      };
    },
    stats: () => ({ ...stats }),
    async drain() {
      while (writing.size || queue.length) {
        if (queue.length && writing.size < maxWrites) writeNow();
        else await Promise.race(writing);
      }
    },
  };
}
