// When the group commit writes a batch (group-commit.ts), with the event loop's real phases: work announced with
// expect() that ended on libuv's thread pool while this thread was busy joins the batch its deadline writes.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PG_GROUP_COMMIT, createGroupCommit } from '../src/group-commit';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** keeps this thread busy (no turn of the event loop) for `ms` */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: the thread pool's work ends meanwhile, its completion waits for the poll phase
  }
}

describe('the group commit', () => {
  it('with maxWrites 2 writes a batch beside the one being written, never a third; drain waits for both', async () => {
    const writes: { items: number[]; done: () => void }[] = [];
    const group = createGroupCommit<number>((items) => new Promise<void>((done) => writes.push({ items, done })), {
      maxBatch: 32,
      maxDelayMs: 100,
      maxWrites: 2,
    });
    group.add(1);
    await nextTurn(); // nothing announced: written at once
    group.add(2);
    await nextTurn(); // beside the first
    group.add(3);
    group.add(4);
    await nextTurn();
    expect(writes.map((w) => w.items)).toEqual([[1], [2]]); // two being written: 3 and 4 wait
    expect(group.stats()).toMatchObject({ batches: 2, besideBatches: 1, besideUnits: 1 });
    writes[1]!.done();
    for (let turns = 0; writes.length < 3 && turns < 100; turns++) await nextTurn();
    expect(writes.map((w) => w.items)).toEqual([[1], [2], [3, 4]]);
    let drained = false;
    const drain = group.drain().then(() => (drained = true));
    writes[2]!.done();
    for (let turns = 0; turns < 10; turns++) await nextTurn();
    expect(drained).toBe(false); // the first is still being written
    writes[0]!.done();
    await drain;
    expect(group.stats()).toMatchObject({ batches: 3, units: 4, besideBatches: 2, besideUnits: 3 });
  });

  it('writes a held batch at its deadline with the units of announced work that ended past it', async () => {
    const batches: number[][] = [];
    const group = createGroupCommit<number>((items) => void batches.push(items), { maxBatch: 32, maxDelayMs: 100 });
    const first = group.expect();
    const second = group.expect();
    first();
    group.add(1);
    await nextTurn(); // the first look: announced work runs, the batch is held (deadline in 100 ms)
    expect(batches).toEqual([]);
    // announced work on the thread pool: its unit follows in the turn its completion runs
    randomBytes(16, () => {
      group.add(2);
      second();
    });
    busy(150); // past the deadline, the work done: the timer and the completion are due in the same turn
    for (let turns = 0; batches.flat().length < 2 && turns < 100; turns++) await nextTurn();
    expect(batches).toEqual([[1, 2]]);
    expect(group.stats()).toMatchObject({ batches: 1, units: 2, deadlineBatches: 0, deadlineUnits: 0 });
  });

  it('counts the batches written at the deadline while announced work still ran, and their units', async () => {
    const batches: number[][] = [];
    const group = createGroupCommit<number>((items) => void batches.push(items), { maxBatch: 3, maxDelayMs: 100 });
    const running = group.expect(); // never ends in this test: every held batch waits for it
    group.add(1);
    group.add(2);
    await nextTurn(); // held: work announced (deadline in 100 ms: a loaded machine's slow turn stays under it)
    expect(batches).toEqual([]);
    busy(150);
    for (let turns = 0; !batches.length && turns < 100; turns++) await nextTurn();
    expect(batches).toEqual([[1, 2]]); // at the deadline
    group.add(3);
    group.add(4);
    group.add(5);
    await nextTurn(); // full: written at once, not at the deadline
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    running();
    group.add(6);
    await nextTurn(); // nothing announced: at once
    expect(batches).toEqual([[1, 2], [3, 4, 5], [6]]);
    expect(group.stats()).toMatchObject({ batches: 3, units: 6, deadlineBatches: 1, deadlineUnits: 2 });
  });

  it("PostgreSQL's policy holds a batch past 32 units while announced work runs and writes it at 64", async () => {
    const batches: number[][] = [];
    // PostgreSQL's maxBatch; the deadline out of reach, so only the batch's size can end the hold
    const policy = { ...PG_GROUP_COMMIT, maxDelayMs: 60_000 };
    const group = createGroupCommit<number>((items) => void batches.push(items), policy);
    const done = Array.from({ length: 100 }, () => group.expect());
    for (let i = 0; i < 40; i++) {
      group.add(i);
      done[i]!();
    }
    await nextTurn();
    expect(batches).toEqual([]); // 40 queued, 60 announced: held
    for (let i = 40; i < 64; i++) {
      group.add(i);
      done[i]!();
    }
    await nextTurn();
    expect(batches.map((b) => b.length)).toEqual([64]);
    done.forEach((d) => d());
  });

  it('writes a lone unit at once when no work is announced', async () => {
    const batches: number[][] = [];
    const group = createGroupCommit<number>((items) => void batches.push(items), { maxBatch: 32, maxDelayMs: 2 });
    group.add(1);
    await nextTurn();
    expect(batches).toEqual([[1]]);
  });
});
