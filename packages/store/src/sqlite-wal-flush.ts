/**
 * The WAL's pages written to disk in the background, so that SQLite's automatic checkpoint finds them there.
 *
 * With `synchronous = NORMAL` a commit writes its frames to the -wal file without an fsync; the automatic checkpoint
 * (`wal_autocheckpoint`, run inside the commit that passes it, on the thread that commits) first fsyncs the WAL, then
 * copies its pages into the database and fsyncs that. The machine's dirty-page writeback starts only past
 * `dirty_background_ratio` of memory (gigabytes), so that first fsync wrote the whole WAL — ≈ 40 MB at 10,000
 * frames — with the committing thread blocked for tens to hundreds of milliseconds (docs/benchmarks-record.md, "Session
 * 15: SQLite commit"). Here an `fdatasync` of the -wal file runs on libuv's thread pool every `everyUnits` committed
 * units, so the checkpoint's fsync has at most the last few MB left to write.
 *
 * It changes nothing SQLite guarantees (SQLite's own syncs stay where they are; this only writes earlier what a later
 * sync would write), and takes no lock: SQLite holds no POSIX lock on the -wal file (its locks are on the database
 * and -shm files), so opening and closing the file here cannot drop one. At most one flush is in flight; a failed
 * open (no WAL yet) or sync is ignored — the checkpoint's own fsync still runs.
 */
import { close, fdatasync, open } from 'node:fs';

/** about 1,000–1,300 WAL frames (4–5 MB) of issuance-shaped units at 16 per transaction */
export const WAL_FLUSH_EVERY_UNITS = 128;

export interface WalFlusher {
  /** `units` more were committed: starts a background flush when `everyUnits` have been since the last one */
  committed(units: number): void;
  /** flushes done: fdatasyncs of the -wal file that succeeded (`Store.commitStats().walFlushes`) */
  readonly flushes: number;
  /** resolves when no flush is in flight */
  idle(): Promise<void>;
}

export function walFlusher(databasePath: string, everyUnits = WAL_FLUSH_EVERY_UNITS): WalFlusher {
  const walPath = `${databasePath}-wal`;
  let since = 0;
  let flushes = 0;
  let inFlight: Promise<void> | undefined;
  const flush = () =>
    new Promise<void>((resolve) => {
      open(walPath, 'r', (openError, fd) => {
        if (openError) {
          resolve();
          return;
        }
        fdatasync(fd, (syncError) => {
          if (!syncError) flushes++;
          close(fd, () => {
            resolve();
          });
        });
      });
    });
  return {
    committed(units) {
      since += units;
      if (everyUnits <= 0 || since < everyUnits || inFlight) return;
      since = 0;
      inFlight = flush().finally(() => (inFlight = undefined));
    },
    get flushes() {
      return flushes;
    },
    idle: () => inFlight ?? Promise.resolve(),
  };
}
