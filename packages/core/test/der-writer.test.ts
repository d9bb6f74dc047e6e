// The DER writer's TLV (der-writer.ts `tlv`, under every certificate, CRL and OCSP response we encode) writes its
// header in place. Property-based (fast-check): for random contents split into random parts, at every length-form
// boundary (short form, 1–4 length octets), the bytes equal a reference encoding written out independently here
// (X.690 §8.1.3: minimal definite length) and read back whole by the DER reader.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tlv } from '../src/der-writer';
import { readWhole } from '../src/der-reader';

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
