// buildAuditRows hashes exactly what a row's details read back as from their stored JSON text: plain JSON data as it
// is given (no round trip), anything else through its JSON text — the same hash and the same details either way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, computeAuditHash } from '@pkim/shared';
import { auditDetailsJson, buildAuditRows } from '../src/unit-of-work';
import type { NewAuditEvent } from '../src/types';

const event = (details: Record<string, unknown>): NewAuditEvent => ({
  id: 'evt_1',
  time: 1_796_000_000_000,
  actor: 'usr_1',
  action: 'certificate.issued',
  target: 'crt_1',
  outcome: 'success',
  details,
});

/** what the row must be: the details read back from their JSON text, hashed */
function expected(prevHash: string, seq: number, details: Record<string, unknown>) {
  const json = JSON.stringify(details);
  const readBack = JSON.parse(json) as Record<string, unknown>;
  const e = event(details);
  const content = { ...e, seq, target: e.target ?? null, details: readBack };
  return { json, readBack, hash: computeAuditHash(prevHash, content) };
}

describe('buildAuditRows', () => {
  const details = fc.dictionary(
    fc.string(),
    fc.anything({
      withSparseArray: true,
      withNullPrototype: true,
      withDate: true,
      withMap: true,
      withTypedArray: true,
      withBoxedValues: true,
      stringUnit: 'binary',
    }),
  );

  it('hashes and keeps what the stored JSON text reads back as, for any details', () => {
    fc.assert(
      fc.property(details, (d) => {
        const texts: string[] = [];
        const [row] = buildAuditRows({ seq: 41, hash: 'a'.repeat(64) }, [event(d)], texts);
        const want = expected('a'.repeat(64), 42, d);
        expect(row!.hash).toBe(want.hash);
        // the text buildAuditRows gives the insert, and the one made again from the row: both what JSON.stringify wrote
        expect(texts).toEqual([want.json]);
        expect(auditDetailsJson(row!)).toBe(want.json);
        expect(row!.details).toEqual(want.readBack);
      }),
      { numRuns: 1000 },
    );
  });

  it('hashes a certificate.issued event and one with a date, NaN and undefined items as read back', () => {
    const issued = {
      caId: 'ca_1',
      serial: '0193a1b2',
      subject: 'CN=host1.example.com',
      sans: { dns: ['host1.example.com'], ip: [], email: [], uri: [] },
      profile: 'tls-server',
      notAfter: 1_800_000_000_000,
      requestId: null,
      provisioner: { kind: 'user', id: 'usr_1', name: 'admin' },
    };
    const odd = { at: new Date(0), n: Number.NaN, list: [undefined, 1], z: -0 };
    const rows = buildAuditRows(undefined, [event(issued), event(odd)]);
    const first = expected(GENESIS_HASH, 1, issued);
    expect(rows[0]!.hash).toBe(first.hash);
    expect(rows[1]!.hash).toBe(expected(first.hash, 2, odd).hash);
    expect(rows[1]!.details).toEqual({ at: '1970-01-01T00:00:00.000Z', n: null, list: [null, 1], z: 0 });
    expect(rows[1]!.prevHash).toBe(rows[0]!.hash);
  });
});
