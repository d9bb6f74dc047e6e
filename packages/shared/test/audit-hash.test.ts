// The audit hash chain depends on the exact bytes of canonicalJson: every stored hash must still verify after any
// change to it. The reference below is the original definition, kept verbatim; the implementation must give the
// same string (or throw the same way) for any value, and computeAuditHash the same hash.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GENESIS_HASH,
  canonicalJson,
  canonicalJsonOfPlainData,
  computeAuditHash,
  plainJsonAndCanonical,
  type AuditEventContent,
} from '../src/audit-hash';

function canonicalJsonReference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJsonReference(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJsonReference(obj[k])}`).join(',')}}`;
}

function computeAuditHashReference(prevHash: string, event: AuditEventContent): string {
  const canonical = canonicalJsonReference({
    seq: event.seq,
    id: event.id,
    time: event.time,
    actor: event.actor,
    action: event.action,
    target: event.target,
    outcome: event.outcome,
    details: event.details,
  });
  return createHash('sha256').update(prevHash).update(canonical).digest('hex');
}

/** the string, or the error's class and message */
function outcome(f: () => string): string {
  try {
    return `ok ${String(f())}`;
  } catch (e) {
    return `throws ${(e as Error).constructor.name} ${(e as Error).message}`;
  }
}

const runs = { numRuns: 2000 };

describe('canonicalJson', () => {
  it('sorts keys at every level, leaves out undefined members, writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [3, undefined, { d: null, c: 'x' }], u: undefined, '10': 0, '9': 0 })).toBe(
      '{"10":0,"9":0,"a":[3,null,{"c":"x","d":null}],"b":1}',
    );
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('é"\n\ud800')).toBe('"é\\"\\n\\ud800"');
  });

  it('gives the same bytes as the reference definition for arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(canonicalJsonReference(v));
      }),
      runs,
    );
  });

  it('gives the same result as the reference for any value: undefined, holes, dates, -0, NaN, odd keys', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withSparseArray: true,
          withNullPrototype: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withBoxedValues: true,
          withObjectString: true,
          stringUnit: 'binary',
          withBigInt: true,
        }),
        (v) => {
          expect(outcome(() => canonicalJson(v))).toBe(outcome(() => canonicalJsonReference(v)));
        },
      ),
      runs,
    );
  });
});

describe('canonicalJsonOfPlainData', () => {
  const anything = fc.anything({
    withSparseArray: true,
    withNullPrototype: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withBoxedValues: true,
    withObjectString: true,
    stringUnit: 'binary',
  });

  it('is the canonical JSON of what the JSON text reads back as, or undefined, for any value', () => {
    fc.assert(
      fc.property(anything, (v) => {
        const plain = canonicalJsonOfPlainData(v);
        if (plain === undefined) return;
        // the value and its JSON round trip: the same canonical bytes (what buildAuditRows hashes without the trip)
        expect(plain).toBe(canonicalJsonReference(JSON.parse(JSON.stringify(v)) as unknown));
        expect(plain).toBe(canonicalJsonReference(v));
        expect(JSON.parse(JSON.stringify(v))).toEqual(v);
      }),
      runs,
    );
  });

  it('takes plain JSON data, lone surrogates and escapes included', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const hasMinusZero = JSON.stringify(v) !== JSON.stringify(v, (_k, x: unknown) => (Object.is(x, -0) ? 1 : x));
        if (!hasMinusZero) expect(canonicalJsonOfPlainData(v)).toBe(canonicalJsonReference(v));
      }),
      runs,
    );
    expect(
      canonicalJsonOfPlainData({ b: ['é"\n\ud800', 1.5e300, true, null], a: { d: {}, c: [] }, u: undefined }),
    ).toBe('{"a":{"c":[],"d":{}},"b":["é\\"\\n\\ud800",1.5e+300,true,null]}');
  });

  it('refuses what JSON text changes: dates, toJSON, undefined items, holes, NaN, -0, class instances, bigint', () => {
    class Point {
      x = 1;
    }
    const refused: unknown[] = [
      new Date(0),
      { toJSON: () => 1 },
      Object.defineProperty({}, 'toJSON', { value: () => 1, enumerable: false }),
      [undefined],
      // eslint-disable-next-line no-sparse-arrays -- a hole
      [1, , 2],
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      { n: -0 },
      new Point(),
      { p: new Map() },
      1n,
      () => 1,
      undefined,
      Symbol('s'),
      { a: { b: [new Uint8Array(1)] } },
    ];
    for (const v of refused) expect(canonicalJsonOfPlainData(v)).toBeUndefined();
    const deep: Record<string, unknown> = {};
    let at = deep;
    for (let i = 0; i < 100; i++) at = at.x = {};
    expect(canonicalJsonOfPlainData(deep)).toBeUndefined();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(canonicalJsonOfPlainData(cycle)).toBeUndefined();
  });
});

describe('plainJsonAndCanonical', () => {
  const anything = fc.anything({
    withSparseArray: true,
    withNullPrototype: true,
    withDate: true,
    withMap: true,
    withTypedArray: true,
    withBoxedValues: true,
    withObjectString: true,
    stringUnit: 'binary',
  });

  it("gives JSON.stringify's text and the canonical JSON of plain data in one walk, else undefined", () => {
    fc.assert(
      fc.property(fc.oneof(anything, fc.jsonValue()), (v) => {
        const both = plainJsonAndCanonical(v);
        expect(both?.canonical).toBe(canonicalJsonOfPlainData(v));
        if (both === undefined) return;
        expect(both.json).toBe(JSON.stringify(v));
        expect(both.canonical).toBe(canonicalJsonReference(v));
      }),
      runs,
    );
  });

  it('writes the keys in their own order for the JSON text and sorted for the canonical JSON, at every level', () => {
    const v = { b: { d: 1, c: [{ f: 1, e: 'é"' }, 'x'] }, 10: null, a: [], 2: { z: {}, y: true } };
    expect(plainJsonAndCanonical(v)).toEqual({
      json: '{"2":{"z":{},"y":true},"10":null,"b":{"d":1,"c":[{"f":1,"e":"é\\""},"x"]},"a":[]}',
      canonical: '{"10":null,"2":{"y":true,"z":{}},"a":[],"b":{"c":[{"e":"é\\"","f":1},"x"],"d":1}}',
    });
    expect(plainJsonAndCanonical({ a: 1, b: [2, { c: 3 }] })).toEqual({
      json: '{"a":1,"b":[2,{"c":3}]}',
      canonical: '{"a":1,"b":[2,{"c":3}]}',
    });
    expect(plainJsonAndCanonical({ a: new Date(0) })).toBeUndefined();
  });
});

describe('computeAuditHash', () => {
  const event = fc.record({
    seq: fc.integer({ min: 1 }),
    id: fc.string(),
    time: fc.integer(),
    actor: fc.string(),
    action: fc.string(),
    target: fc.option(fc.string(), { nil: null }),
    outcome: fc.constantFrom('success' as const, 'failure' as const),
    details: fc.dictionary(fc.string(), fc.jsonValue()),
  });

  it('gives the reference hash for arbitrary events and previous hashes', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(GENESIS_HASH), fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()),
        event,
        (p, e) => {
          expect(computeAuditHash(p, e)).toBe(computeAuditHashReference(p, e));
        },
      ),
      runs,
    );
  });

  it('leaves a field that is undefined out, as the reference does', () => {
    const e = { seq: 1, id: 'evt_1', time: 0, actor: 'a', action: 'x.y', outcome: 'success', details: {} };
    const withoutTarget = e as unknown as AuditEventContent;
    expect(computeAuditHash(GENESIS_HASH, withoutTarget)).toBe(computeAuditHashReference(GENESIS_HASH, withoutTarget));
    expect(computeAuditHash(GENESIS_HASH, withoutTarget)).not.toBe(
      computeAuditHash(GENESIS_HASH, { ...withoutTarget, target: null }),
    );
  });
});
