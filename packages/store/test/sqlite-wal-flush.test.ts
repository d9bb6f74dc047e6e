// The SQLite store's background WAL flush (sqlite-wal-flush.ts): every WAL_FLUSH_EVERY_UNITS committed units an
// fdatasync of the -wal file runs on libuv's thread pool, so the automatic checkpoint's own fsync, inside a commit on
// the main thread, finds the WAL already on disk. What it changes is only when pages reach the disk; these tests check
// that the flushes happen on the real -wal file, never for an in-memory database, and leave the data as written.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openStore } from '../src/index';
import { WAL_FLUSH_EVERY_UNITS, walFlusher } from '../src/sqlite-wal-flush';
import { sqliteTestEngine, sqlitePathOf } from './sqlite-engine';
import { makeCa, makeCert, makeEvent } from './store-fixtures';

const engine = sqliteTestEngine();

describe('SQLite background WAL flush', () => {
  it('fdatasyncs the -wal file every WAL_FLUSH_EVERY_UNITS committed units; the data stays as written', async () => {
    const url = await engine.newDatabaseUrl();
    const store = await openStore({ url });
    const units = 3 * WAL_FLUSH_EVERY_UNITS + 5;
    try {
      const ca = makeCa();
      await store.commit({ insertCa: [ca], audit: [makeEvent()] });
      expect(store.commitStats().walFlushes).toBe(0);
      for (let i = 0; i < units; i += 16) {
        const certs = Array.from({ length: Math.min(16, units - i) }, () => makeCert(ca.id));
        await Promise.all(
          certs.map((c) => store.commit({ insertCertificates: [c], audit: [makeEvent({ target: c.id })] })),
        );
        await new Promise((resolve) => setImmediate(resolve)); // lets a flush on the pool finish
      }
      expect(existsSync(`${sqlitePathOf(url)}-wal`)).toBe(true);
      // one flush at a time: a flush still running when the next WAL_FLUSH_EVERY_UNITS are in delays that one
      const { walFlushes } = store.commitStats();
      expect(walFlushes).toBeGreaterThanOrEqual(1);
      expect(walFlushes).toBeLessThanOrEqual(3);
      expect((await store.certificates.countByStatus()).active).toBe(units);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: units + 1 });
    } finally {
      await store.close();
    }
  });

  it('counts only flushes of an existing -wal file, one at a time', async () => {
    const path = sqlitePathOf(await engine.newDatabaseUrl()); // no database, so no -wal file
    const flusher = walFlusher(path, 10);
    flusher.committed(9);
    await flusher.idle();
    flusher.committed(1); // the tenth unit: a flush starts, finds no file and counts nothing
    await flusher.idle();
    expect(flusher.flushes).toBe(0);

    const store = await openStore({ url: `sqlite:${path}` });
    try {
      await store.commit({ insertCa: [makeCa()], audit: [makeEvent()] }); // the -wal file exists from here
      const onFile = walFlusher(path, 10);
      onFile.committed(10);
      onFile.committed(10); // while the first flush runs: no second one
      await onFile.idle();
      expect(onFile.flushes).toBe(1);
      onFile.committed(10); // the units counted while it ran are due now
      await onFile.idle();
      expect(onFile.flushes).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('is off for an in-memory database', async () => {
    const store = await openStore({ url: ':memory:' });
    try {
      await store.commit({ insertCa: [makeCa()], audit: [makeEvent()] });
      expect(store.commitStats().walFlushes).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
