// The DER writer's TLV (der-writer.ts `tlv`, under every certificate, CRL and OCSP response we encode) writes its
// header in place. Property-based (fast-check): for random contents split into random parts, at every length-form
// boundary (short form, 1–4 length octets), the bytes equal a reference encoding written out independently here
// (X.690 §8.1.3: minimal definite length) and read back whole by the DER reader. `derOf` (a tree of `DerNode`s — the
// TBSCertificate — written in one buffer) equals the nested `tlv`s it stands for, for random trees at every length
// form; `signedDer` (certificate, CRL, CSR assembly) equals `seq(tbs, alg, bitString(signature))`; `time`/
// `generalizedTime` (digits written straight into the TLV) equal @peculiar/asn1-x509's RFC 5280 Time for any instant
// of years 0-9999.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName, Time } from '@peculiar/asn1-x509';
import { bitString, DerNode, derOf, generalizedTime, seq, signedDer, time, tlv } from '../src/der-writer';
import { readWhole } from '../src/der-reader';
import { decodeNameDer, dnAttributeOid, dnNode, encodeDn } from '../src/dn-codec';
import type { DistinguishedName } from '../src/types';

const RUNS = Number(process.env.PKIM_FUZZ_RUNS ?? 400);
const CONFIG = { numRuns: RUNS, seed: Number(process.env.PKIM_FUZZ_SEED ?? 20261203) } as const;

/** X.690 definite length, minimal: short form below 128, else 0x80|n then n big-endian octets */
function referenceTlv(tag: number, content: Buffer): Buffer {
  if (content.length < 0x80) return Buffer.concat([Buffer.of(tag, content.length), content]);
  let hex = content.length.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const octets = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.of(tag, 0x80 | octets.length), octets, content]);
}

const BOUNDARIES = [0, 1, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x101, 0xffff, 0x10000, 0x10001, 0xffffff, 0x1000000];

describe('der-writer tlv', () => {
  it('writes the reference encoding at every length-form boundary', () => {
    for (const n of BOUNDARIES) {
      const content = Buffer.alloc(n, 0x5a);
      const out = tlv(0x04, content);
      expect(Buffer.compare(Buffer.from(out), referenceTlv(0x04, content)), `length ${n}`).toBe(0);
      const t = readWhole(out);
      expect([t.tag, t.end - t.contentStart]).toEqual([0x04, n]);
    }
  });

  it('writes the reference encoding for random contents split into random parts (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }).filter((t) => (t & 0x1f) !== 0x1f),
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 40 }),
            fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n)),
          ),
          { maxLength: 6 },
        ),
        (tag, parts) => {
          const out = tlv(tag, ...parts);
          const content = Buffer.concat(parts);
          expect(Buffer.compare(Buffer.from(out), referenceTlv(tag, content))).toBe(0);
          const t = readWhole(out);
          expect(Buffer.compare(Buffer.from(out.subarray(t.contentStart)), content)).toBe(0);
        },
      ),
      { ...CONFIG, numRuns: Math.max(50, Math.floor(RUNS / 2)) },
    );
  });
});

describe('der-writer DerNode trees', () => {
  /** a tree of parts and nodes, with leaves at every length-form boundary */
  const leaf = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom(0x7e, 0x7f, 0x80, 0xfd, 0xff, 0x100, 0xfffd, 0x10000).map((n) => new Uint8Array(n).fill(n & 0xff)),
  );
  const tag = fc.constantFrom(0x30, 0x31, 0xa3, 0x04, 0xa0);
  type Tree = Uint8Array | { tag: number; parts: Tree[] };
  const { tree } = fc.letrec<{ tree: Tree; node: Tree }>((t) => ({
    tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, t('node')),
    node: fc.record({ tag, parts: fc.array(t('tree'), { maxLength: 4 }) }),
  }));
  const asNode = (t: Tree): Uint8Array | DerNode =>
    t instanceof Uint8Array ? t : new DerNode(t.tag, t.parts.map(asNode));
  const asTlv = (t: Tree): Uint8Array => (t instanceof Uint8Array ? t : tlv(t.tag, ...t.parts.map(asTlv)));

  it('writes the same bytes as the nested tlv calls, for random trees at every length form (fast-check)', () => {
    fc.assert(
      fc.property(tag, fc.array(tree, { maxLength: 5 }), (outer, parts) => {
        const root = { tag: outer, parts };
        const out = derOf(asNode(root) as DerNode);
        expect(Buffer.compare(Buffer.from(out), Buffer.from(asTlv(root)))).toBe(0);
        expect(readWhole(out).end).toBe(out.length);
      }),
      { ...CONFIG, numRuns: Math.max(50, Math.floor(RUNS / 2)) },
    );
  });

  it('signedDer equals seq(tbs, algorithm, bitString(signature)) at every length form (fast-check)', () => {
    fc.assert(
      fc.property(leaf, fc.uint8Array({ maxLength: 20 }), leaf, (tbs, alg, signature) => {
        const expected = seq(tbs, alg, bitString(signature));
        expect(Buffer.compare(Buffer.from(signedDer(tbs, alg, signature)), Buffer.from(expected))).toBe(0);
      }),
      { ...CONFIG, numRuns: Math.max(50, Math.floor(RUNS / 2)) },
    );
  });
});

describe('der-writer time', () => {
  /**
   * RFC 5280 Time by @peculiar/asn1-x509: its `Time(date)` picks UTCTime for every year before 2050, also before 1950
   * (where RFC 5280 §4.1.2.5 wants GeneralizedTime: UTCTime `49` means 2049), so those years take its GeneralizedTime
   */
  const peculiarTime = (ms: number) => {
    const d = new Date(Math.floor(ms / 1000) * 1000);
    const t = d.getUTCFullYear() < 1950 ? new Time({ generalTime: d }) : new Time(d);
    return Buffer.from(AsnConvert.serialize(t));
  };
  const MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

  it('equals @peculiar/asn1-x509 at the UTCTime/GeneralizedTime boundaries', () => {
    const edges = [
      0,
      Date.UTC(1950, 0, 1),
      Date.UTC(1949, 11, 31, 23, 59, 59, 999),
      Date.UTC(2049, 11, 31, 23, 59, 59, 999),
      Date.UTC(2050, 0, 1),
      Date.UTC(2000, 1, 29, 12, 0, 0, 500),
      MAX,
      -62_167_219_200_000, // 0000-01-01
    ];
    for (const ms of edges)
      expect(Buffer.from(time(ms)).toString('hex'), String(ms)).toBe(peculiarTime(ms).toString('hex'));
    expect(Buffer.from(time(Date.UTC(2050, 0, 1))).toString('latin1')).toBe('\x18\x0f20500101000000Z');
    expect(Buffer.from(time(Date.UTC(2049, 0, 1))).toString('latin1')).toBe('\x17\x0d490101000000Z');
  });

  it('equals @peculiar/asn1-x509 for random instants of years 0-9999 (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_200_000, max: MAX }), (ms) => {
        expect(Buffer.from(time(ms)).toString('hex')).toBe(peculiarTime(ms).toString('hex'));
        const g = Buffer.from(generalizedTime(ms));
        expect(g.subarray(0, 2).toString('hex')).toBe('180f');
        expect(g.subarray(2).toString('latin1')).toBe(
          new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:T]|\.\d+/g, ''),
        );
      }),
      CONFIG,
    );
  });

  it('refuses what GeneralizedTime cannot hold (years past 9999, NaN)', () => {
    expect(() => time(MAX + 1000)).toThrow(RangeError);
    expect(() => generalizedTime(Number.NaN)).toThrow(RangeError);
  });
});

describe('dn-codec encodeDn / dnNode (the subject written in place in the TBSCertificate)', () => {
  /** @peculiar/asn1-x509's Name of a DN, each attribute in the string type RFC 5280 asks of it */
  const peculiarName = (dn: DistinguishedName): Buffer => {
    const string = (type: string, value: string): AttributeValue => {
      const oid = dnAttributeOid(type)!;
      if (oid === '2.5.4.6' || oid === '2.5.4.5') return new AttributeValue({ printableString: value });
      if (oid === '1.2.840.113549.1.9.1' || oid === '0.9.2342.19200300.100.1.25') {
        return new AttributeValue({ ia5String: value });
      }
      return new AttributeValue({ utf8String: value });
    };
    const rdns = dn.map(
      (a) =>
        new RelativeDistinguishedName([
          new AttributeTypeAndValue({ type: dnAttributeOid(a.type)!, value: string(a.type, a.value) }),
        ]),
    );
    return Buffer.from(AsnConvert.serialize(new Name(rdns)));
  };
  // every way a type is written: names, aliases, other cases, spaces around, dotted OIDs with and without `oid.`
  const TYPES = [
    'C',
    'countryName',
    'ST',
    's',
    'L',
    'STREET',
    'O',
    'OU',
    'CN',
    'cn',
    'commonName',
    ' CN ',
    'title',
    'SN',
    'GN',
    'postalCode',
    'serialNumber',
    'organizationIdentifier',
    'emailAddress',
    'E',
    'email',
    'DC',
    'UID',
    'userid',
    '2.5.4.3',
    'OID.2.5.4.10',
    'oid.0.9.2342.19200300.100.1.25',
  ];
  const PRINTABLE = Array.from("ABCXYZabcxyz0189 '()+,-./:=?"); // PrintableString's alphabet, a sample
  const attribute = fc.constantFrom(...TYPES).chain((type) => {
    const oid = dnAttributeOid(type);
    const printable = oid === '2.5.4.6' || oid === '2.5.4.5';
    const ascii = oid === '1.2.840.113549.1.9.1' || oid === '0.9.2342.19200300.100.1.25';
    const value = printable
      ? fc.string({ unit: fc.constantFrom(...PRINTABLE), minLength: 1, maxLength: 70 })
      : ascii
        ? fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 140 })
        : fc.oneof(
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
            fc.string({ minLength: 100, maxLength: 300 }),
          );
    return value.map((v) => ({ type, value: v }));
  });

  it('equals @peculiar/asn1-x509 Name for random DNs of every attribute type and length form (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(attribute, { maxLength: 8 }), (dn) => {
        const expected = peculiarName(dn).toString('hex');
        expect(Buffer.from(encodeDn(dn)).toString('hex')).toBe(expected);
        // inside a parent written in one buffer (the TBSCertificate's subject)
        const inTbs = derOf(new DerNode(0x30, [Uint8Array.of(0x05, 0x00), dnNode(dn)]));
        expect(Buffer.from(inTbs.subarray(4 + (inTbs[1]! & 0x80 ? inTbs[1]! & 0x7f : 0))).toString('hex')).toBe(
          expected,
        );
        expect(decodeNameDer(encodeDn(dn)).map((a) => a.value)).toEqual(dn.map((a) => a.value));
      }),
      CONFIG,
    );
  });

  it('refuses an unknown attribute type', () => {
    expect(() => encodeDn([{ type: 'nope', value: 'x' }])).toThrow(/unknown attribute type/);
  });
});
