// The store suite on SQLite with the writer thread (OpenStoreOptions.sqliteWriterThread): every batch written by a
// worker thread on a connection of its own — per-unit errors, the audit chain, counters and the group commit as on
// the main thread's connection.
import { describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { openStore } from '../src/index';
import { defineStoreSuite } from './store-suite';
import { sqliteTestEngine } from './sqlite-engine';
import { makeCa, makeCert, makeEvent } from './store-fixtures';

const engine = sqliteTestEngine({ sqliteWriterThread: true });

describe('SQLite store, writer thread', () => {
  defineStoreSuite(() => engine);

  it('writes every batch in the writer thread; an error inside its transaction arrives as the PkiError', async () => {
    const url = await engine.newDatabaseUrl();
    const store = await openStore({ url, sqliteWriterThread: true });
    const ca = makeCa();
    const certs = Array.from({ length: 6 }, () => makeCert(ca.id));
    try {
      await store.commit({ insertCa: [ca], audit: [makeEvent()] });
      // one batch of six units, one of them a serial already taken: it fails alone, the others are written
      const taken = certs[2]!;
      await store.commit({ insertCertificates: [taken], audit: [makeEvent({ target: taken.id })] });
      const dup = makeCert(ca.id, { serialHex: taken.serialHex });
      const outcomes = await Promise.allSettled(
        [...certs.filter((c) => c !== taken), dup].map((c) =>
          store.commit({ insertCertificates: [c], audit: [makeEvent({ target: c.id })] }),
        ),
      );
      expect(outcomes.map((o) => o.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'rejected',
      ]);
      const e = (outcomes[5] as PromiseRejectedResult).reason as PkiError;
      expect(e).toBeInstanceOf(PkiError);
      expect(e.code).toBe('certificate.serial_taken');
      const stats = store.commitStats();
      expect(stats.writerThreadBatches).toBe(stats.batches);
      expect((await store.certificates.countByStatus()).active).toBe(6);
      expect(await store.audit.verify()).toMatchObject({ ok: true, count: 7 });
    } finally {
      await store.close();
    }
  });

  it('without the option, or in memory, the main thread writes', async () => {
    for (const url of [await engine.newDatabaseUrl(), ':memory:']) {
      const store = await openStore({ url, sqliteWriterThread: url === ':memory:' });
      try {
        await store.commit({ insertCa: [makeCa()], audit: [makeEvent()] });
        expect(store.commitStats().writerThreadBatches).toBeUndefined();
      } finally {
        await store.close();
      }
    }
  });
});
