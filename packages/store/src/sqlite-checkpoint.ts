/**
 * When a SQLite store checkpoints its WAL (docs/architecture.md, "WAL checkpoints off the commit").
 *
 * With SQLite's automatic checkpoint (`wal_autocheckpoint`, 10,000 pages) the commit that takes the WAL past it runs
 * the checkpoint inline: it copies every page of the WAL into the database file and syncs both, 80–280 ms on this
 * machine under load, while the main thread is blocked and every request waits (measured in `npm run bench`, 16 in
 * flight: 7 such commits in a 3 s row, a quarter of all commit time). So the store's connections run with
 * `wal_autocheckpoint = 0` and the checkpoints run here, apart from the commits:
 *
 * - **concurrent rounds**: `PRAGMA wal_checkpoint(PASSIVE)` on another connection, in the checkpointer thread
 *   (sqlite-writer.ts), while commits go on. A round starts once `roundUnits` units were written since the last one,
 *   or `roundAfterMs` after the first write not yet checkpointed (a short-lived process never starts the thread);
 * - **quiet rounds**, which bound the WAL: a concurrent round cannot empty it while commits keep appending, and the
 *   WAL restarts from its beginning only at a commit that finds it wholly copied. So when a round reports
 *   `restartFrames` or more frames in the WAL, the next round is quiet: the store's next batch waits (asynchronously:
 *   the event loop and the workers go on, the batch grows) until a PASSIVE round has copied what the last one left,
 *   then that batch restarts the WAL. The WAL file stays ≈ `restartFrames` pages plus a round's writes;
 * - **idle**: `idleMs` after the last write a quiet `TRUNCATE` round empties the WAL file.
 *
 * While the checkpointer thread is not up yet (it starts once a quarter of `roundUnits` were written, which takes
 * 1–2 s under tsx in development) or not usable (it died), the rounds run on the store's own connection, between
 * commits (never inside one): the WAL stays bounded all the same.
 *
 * Durability is unchanged: WAL with synchronous=NORMAL on every connection, so a checkpoint syncs the WAL before
 * copying it and the database file after, whichever connection runs it.
 */

export type CheckpointMode = 'PASSIVE' | 'TRUNCATE';

/** what `PRAGMA wal_checkpoint` answers: `log` frames in the WAL, `checkpointed` of them copied to the database */
export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export interface CheckpointPolicy {
  /** a concurrent round once this many units were written since the last round started */
  roundUnits: number;
  /** … or this long after the first write not yet checkpointed */
  roundAfterMs: number;
  /** a quiet round (the next batch waits for it) when a round reports this many frames in the WAL */
  restartFrames: number;
  /** a quiet TRUNCATE round this long after the last write */
  idleMs: number;
}

/**
 * ≈ 6 WAL frames per certificate at 16 per batch: a round every 256 units copies ≈ 1,500 pages; 8,192 frames
 * (32 MiB of 4 KiB pages) bound the WAL below SQLite's own 10,000.
 */
export const SQLITE_CHECKPOINTS: CheckpointPolicy = {
  roundUnits: 256,
  roundAfterMs: 1000,
  restartFrames: 8192,
  idleMs: 2000,
};

export interface CheckpointStats {
  /** rounds run (quiet ones included) */
  rounds: number;
  /** quiet rounds: a batch waited for each of them */
  quietRounds: number;
  /** rounds run on the store's own connection (the thread was not usable) */
  inlineRounds: number;
  /** the most frames a round found in the WAL */
  maxWalFrames: number;
}

export interface Checkpoints {
  /** before a batch is written: while a quiet round runs, the promise the batch must wait for */
  beforeWrite(): Promise<void> | undefined;
  /** after a write (a batch, or any other write transaction) of `units` units */
  afterWrite(units: number): void;
  stats(): CheckpointStats;
  /** waits for a round in flight; no round starts after */
  close(): Promise<void>;
}

export interface CheckpointRunner {
  /**
   * runs one checkpoint on another connection, or resolves to `undefined` when it could not (then `inline` runs it
   * on the store's own connection, synchronously, between commits)
   */
  run(mode: CheckpointMode): Promise<CheckpointResult | undefined>;
  inline(mode: CheckpointMode): CheckpointResult;
  /**
   * called once, when a quarter of `roundUnits` were written: the checkpointer thread starts then, so that it is up
   * by the first round (its start takes a while) while a process that writes a few units never starts it
   */
  prepare(): void;
}

export function createCheckpoints(runner: CheckpointRunner, policy: CheckpointPolicy): Checkpoints {
  const stats: CheckpointStats = { rounds: 0, quietRounds: 0, inlineRounds: 0, maxWalFrames: 0 };
  /** a round in flight */
  let round: Promise<void> | undefined;
  /** the quiet round in flight: batches wait for it */
  let quiet: Promise<void> | undefined;
  /** the last round found the WAL past restartFrames: the next round is quiet */
  let quietWanted = false;
  /** a batch is being written (between beforeWrite and afterWrite) */
  let writing = false;
  /** units written since the last round started; whether the WAL may hold frames not copied yet */
  let units = 0;
  let dirty = false;
  /** units written before `prepare` was called, then -1 */
  let beforePrepare = 0;
  /** the WAL may hold frames since the last TRUNCATE */
  let untruncated = false;
  let timer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const once = async (mode: CheckpointMode): Promise<CheckpointResult> => {
    stats.rounds++;
    let result: CheckpointResult | undefined;
    try {
      result = await runner.run(mode);
    } catch {
      // the thread failed (its handle is no longer usable) or the checkpoint did: run it here
    }
    if (!result) {
      stats.inlineRounds++;
      result = runner.inline(mode);
    }
    stats.maxWalFrames = Math.max(stats.maxWalFrames, result.log);
    return result;
  };
  const start = (mode: CheckpointMode, isQuiet: boolean): void => {
    if (round || closed) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    units = 0;
    dirty = false;
    if (isQuiet) {
      quietWanted = false;
      stats.quietRounds++;
    }
    const r = once(mode).then(
      (result) => {
        if (mode === 'TRUNCATE' && result.busy === 0) untruncated = dirty;
        // the WAL did not restart since (a round copies what it found, commits append meanwhile); not after a quiet
        // round: another process writing meanwhile must not hold this one's batches again and again
        if (!isQuiet && result.log >= policy.restartFrames) quietWanted = true;
      },
      () => undefined,
    );
    round = r.finally(() => {
      round = undefined;
      if (isQuiet) quiet = undefined;
      next();
    });
    if (isQuiet) quiet = round;
  };
  /** what to do when nothing runs: a quiet round wanted, a concurrent one due, or timers for the next */
  const next = (): void => {
    if (round || closed) return;
    if (quietWanted && !writing) {
      start('PASSIVE', true);
      return;
    }
    if (dirty && units >= policy.roundUnits) {
      start('PASSIVE', false);
      return;
    }
    if (dirty && !timer) {
      timer = setTimeout(() => {
        timer = undefined;
        if (dirty) start('PASSIVE', false);
      }, policy.roundAfterMs);
      timer.unref();
    }
  };
  const armIdle = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      if (writing || round) armIdle();
      else if (untruncated) start('TRUNCATE', true);
    }, policy.idleMs);
    idleTimer.unref();
  };
  return {
    beforeWrite() {
      if (quiet) return quiet;
      writing = true;
      return undefined;
    },
    afterWrite(n) {
      writing = false;
      units += n;
      if (beforePrepare >= 0) {
        beforePrepare += n;
        if (beforePrepare * 4 >= policy.roundUnits) {
          beforePrepare = -1;
          runner.prepare();
        }
      }
      dirty = true;
      untruncated = true;
      armIdle();
      next();
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (idleTimer) clearTimeout(idleTimer);
      await round;
    },
  };
}
