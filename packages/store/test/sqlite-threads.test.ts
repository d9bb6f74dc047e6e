// The SQLite store's threads: WAL checkpoints run apart from the commits (sqlite-checkpoint.ts, the checkpointer
// thread) and what happens when a thread dies (sqlite-writer.ts). The WAL is watched through its index, the -shm file
// (https://www.sqlite.org/walformat.html: mxFrame, the frames in the WAL, at byte 16; nBackfill, those copied to the
// database by checkpoints, at byte 96; native byte order), read from outside the store.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { openStore, type CheckpointPolicy, type Store } from '../src/index';
import { terminateSqliteThreads } from '../src/sqlite-writer';
import { sqlitePathOf, sqliteTestEngine } from './sqlite-engine';
import { makeCa, makeCert, makeEvent } from './store-fixtures';

const engine = sqliteTestEngine();

function walIndex(path: string): { frames: number; copied: number } {
  const buf = Buffer.alloc(100);
  const fd = openSync(`${path}-shm`, 'r');
  try {
    readSync(fd, buf, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  return { frames: buf.readUInt32LE(16), copied: buf.readUInt32LE(96) };
}

/** rounds never due by themselves: nothing checkpoints unless a test says so */
const NEVER = 3_600_000;
const held: CheckpointPolicy = { roundUnits: 1e9, roundAfterMs: NEVER, restartFrames: 1e9, idleMs: NEVER };

async function openWith(policy: CheckpointPolicy, sqliteWriterThread = false) {
  const url = await engine.newDatabaseUrl();
  const store = await openStore({ url, sqliteCheckpoints: policy, sqliteWriterThread });
  const ca = makeCa();
  await store.commit({ insertCa: [ca], audit: [makeEvent()] });
  return { store, path: sqlitePathOf(url), caId: ca.id };
}

const issuance = (caId: string) => {
  const c = makeCert(caId);
  return { insertCertificates: [c], audit: [makeEvent({ target: c.id })] };
};

/**
 * Commits issuance units `inFlight` at a time until `until()` says stop (at most `max` units), calling `each` after
 * every commit; resolves to the units committed.
 */
async function sustain(store: Store, caId: string, until: () => boolean, each: () => void, max = 20_000) {
  let n = 0;
  // 32 clients: batches follow each other closely, as under load (a checkpoint rarely falls into a pause)
  const client = async () => {
    while (!until() && n < max) {
      n++;
      await store.commit(issuance(caId));
      each();
    }
  };
  await Promise.all(Array.from({ length: 32 }, client));
  return n;
}

/** until the checkpointer thread is up (its start takes 1–2 s under tsx) and has run a round: rounds ran inline */
const untilThreadRound = (store: Store) => () => {
  const c = store.commitStats().checkpoints!;
  return c.rounds > c.inlineRounds;
};

let open: Store | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

describe('SQLite WAL checkpoints, apart from the commits', () => {
  it('no commit runs a checkpoint: past SQLite’s threshold (10,000 frames) nothing of the WAL is copied', async () => {
    const { store, path, caId } = await openWith(held);
    open = store;
    await sustain(
      store,
      caId,
      () => walIndex(path).frames > 12_000 || walIndex(path).copied > 0,
      () => undefined,
    );
    const wal = walIndex(path);
    expect(wal.frames).toBeGreaterThan(12_000);
    expect(wal.copied).toBe(0);
    expect(store.commitStats().checkpoints).toMatchObject({ rounds: 0 });
  });

  it('keeps the WAL bounded under sustained writes: quiet rounds restart it, commits go on meanwhile', async () => {
    const restartFrames = 500;
    const { store, path, caId } = await openWith({ roundUnits: 32, roundAfterMs: 50, restartFrames, idleMs: NEVER });
    open = store;
    await sustain(store, caId, untilThreadRound(store), () => undefined);
    const quietBefore = store.commitStats().checkpoints!.quietRounds;
    let most = 0;
    let written = 0;
    let last = walIndex(path).frames;
    // frames written in all: what the WAL would hold if it never restarted
    await sustain(
      store,
      caId,
      () => written > 30 * restartFrames,
      () => {
        const { frames } = walIndex(path);
        written += Math.max(0, frames - last);
        if (frames < last) written += frames;
        last = frames;
        most = Math.max(most, frames);
      },
    );
    expect(most).toBeLessThan(4 * restartFrames);
    expect(store.commitStats().checkpoints!.quietRounds).toBeGreaterThan(quietBefore);
    expect(await store.audit.verify()).toMatchObject({ ok: true });
  });

  it('empties the WAL file when idle (TRUNCATE), and the data is all in the database file', async () => {
    const { store, path, caId } = await openWith({
      roundUnits: 1e9,
      roundAfterMs: NEVER,
      restartFrames: 1e9,
      idleMs: 100,
    });
    open = store;
    await Promise.all(Array.from({ length: 40 }, () => store.commit(issuance(caId))));
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    for (let i = 0; i < 100 && statSync(`${path}-wal`).size > 0; i++) await sleep(50);
    expect(statSync(`${path}-wal`).size).toBe(0);
    expect(store.commitStats().checkpoints).toMatchObject({ quietRounds: 1 });
    expect((await store.certificates.countByStatus()).active).toBe(40);
  });
});

describe('SQLite threads that die', () => {
  it('checkpointer thread: the rounds run on the store’s connection from then on, the WAL stays bounded', async () => {
    const restartFrames = 500;
    const { store, path, caId } = await openWith({ roundUnits: 32, roundAfterMs: 50, restartFrames, idleMs: NEVER });
    open = store;
    await sustain(store, caId, untilThreadRound(store), () => undefined);
    await terminateSqliteThreads();
    const inlineBefore = store.commitStats().checkpoints!.inlineRounds;
    let most = 0;
    await sustain(
      store,
      caId,
      () => store.commitStats().checkpoints!.inlineRounds > inlineBefore + 5 || most >= 4 * restartFrames,
      () => (most = Math.max(most, walIndex(path).frames)),
    );
    expect(most).toBeLessThan(4 * restartFrames);
    expect(await store.audit.verify()).toMatchObject({ ok: true });
  });

  it('writer thread: batches in flight fail with store.write_failed (retryable), later ones written here', async () => {
    const { store, path, caId } = await openWith(held, true);
    open = store;
    // the thread is up: a batch was written by it
    await store.commit(issuance(caId));
    expect(store.commitStats().writerThreadBatches).toBeGreaterThan(0);
    const units = Array.from({ length: 8 }, () => issuance(caId));
    const inFlight = units.map((u) => store.commit(u));
    const dying = terminateSqliteThreads();
    const outcomes = await Promise.allSettled(inFlight);
    await dying;
    // what the thread wrote before it died is answered; what it did not answer fails, clearly and retryably
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      expect(f.reason).toBeInstanceOf(PkiError);
      expect(f.reason).toMatchObject({ code: 'store.write_failed', retryable: true });
      expect((f.reason as Error).message).toMatch(/SQLite writer thread failed/);
    }
    // a retry finds what was: each failed unit was written entirely or not at all
    for (const [i, o] of outcomes.entries()) {
      if (o.status === 'fulfilled') continue;
      const retry = await store.commit(units[i]!).then(
        () => 'written now',
        (e: unknown) => {
          const { code, message } = e as PkiError;
          return code === 'certificate.serial_taken' || message.includes('duplicate key') ? 'there' : message;
        },
      );
      expect(['written now', 'there']).toContain(retry);
      expect(await store.certificates.findById(units[i]!.insertCertificates[0]!.id)).toBeDefined();
    }
    const before = store.commitStats().writerThreadBatches;
    await Promise.all(Array.from({ length: 5 }, () => store.commit(issuance(caId))));
    expect(store.commitStats().writerThreadBatches).toBe(before);
    expect((await store.certificates.countByStatus()).active).toBe(1 + units.length + 5);
    expect(await store.audit.verify()).toMatchObject({ ok: true });
    expect(existsSync(path)).toBe(true);
  });
});
