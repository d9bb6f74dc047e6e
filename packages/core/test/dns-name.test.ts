// isValidDnsName (every DNS SAN of every CSR and leaf, the contract's dnsNameSchema): the one-pass check gives the
// verdict of the split + regex check it replaced (kept below) for any text, with and without wildcards
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidDnsName, looksLikeDnsName } from '../src/general-names';

const RUNS = Number(process.env.PKIM_FUZZ_RUNS ?? 400);
const CONFIG = { numRuns: RUNS, seed: Number(process.env.PKIM_FUZZ_SEED ?? 20261205) } as const;

/** the check as it was (session 24): labels by split, a regex per label, a regex for the numeric last label */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
function splitCheck(name: string, allowWildcard = true): boolean {
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  for (const [i, label] of labels.entries()) {
    if (i === 0 && allowWildcard && label === '*' && labels.length > 2) continue;
    if (!LABEL.test(label)) return false;
  }
  return !/^\d+$/.test(labels.at(-1) ?? '');
}

/** text made mostly of what a DNS name is made of, and of the characters next to each rule's edge */
const dnsChar = fc.constantFrom(
  ...'aZz09-.*_/:@ ~`{}[\u00e9\u0660\uff10\u0131'.split(''),
  'a',
  'b',
  '1',
  '-',
  '.',
  '.',
);
const dnsText = (maxLength: number) => fc.array(dnsChar, { maxLength }).map((cs) => cs.join(''));
/** the same after a wildcard's start, or part of one */
const wildcardText = fc.tuple(fc.constantFrom('*.', '*', '*.a.', '*.1.'), dnsText(16)).map(([w, t]) => w + t);
/** labels of chosen lengths (around 63) joined by dots: names around 253 characters */
const longName = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 65 }), fc.constantFrom('a', '1', '-', 'a-1')), {
    minLength: 1,
    maxLength: 6,
  })
  .map((ls) => ls.map(([n, c]) => c.repeat(Math.ceil(n / c.length)).slice(0, n)).join('.'));

const HAND = [
  '',
  'a',
  '1',
  '-',
  '*',
  '*.',
  '*.com',
  '*.a.b',
  '*..b',
  '*.a.',
  '**.a.b',
  '*a.b.c',
  'a.*.b',
  'example.com',
  'example.com.',
  '.example.com',
  'a..b',
  'host.123',
  'host.1-2',
  '123.example',
  '1.2.3.4',
  'a-.b',
  '-a.b',
  'a--b.c',
  `${'a'.repeat(63)}.com`,
  `${'a'.repeat(64)}.com`,
  `${'a.'.repeat(126)}b`, // 253
  `${'a.'.repeat(126)}bc`, // 254
  'xn--bcher-kva.example',
  'caf\u00e9.example',
  'a_b.example',
];

describe('isValidDnsName in one pass', () => {
  it('gives the verdict of the split + regex check for hand cases at every rule’s edge', () => {
    for (const allow of [true, false]) {
      const differ = HAND.filter((n) => isValidDnsName(n, allow) !== splitCheck(n, allow));
      expect(differ, `allowWildcard ${allow}`).toEqual([]);
    }
    expect(['*.a.b', 'example.com', 'host.1-2', 'a--b.c'].every((n) => isValidDnsName(n))).toBe(true);
    expect(['*.com', 'host.123', 'a..b', 'example.com.', '-a.b'].some((n) => isValidDnsName(n))).toBe(false);
    expect(isValidDnsName('*.a.b', false)).toBe(false);
  });

  it('gives the verdict of the split + regex check for any text (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.oneof(dnsText(24), wildcardText, dnsText(300), longName, fc.string()),
        fc.boolean(),
        (name, allow) => {
          expect(isValidDnsName(name, allow)).toBe(splitCheck(name, allow));
        },
      ),
      CONFIG,
    );
  });

  it('refuses what is not a string, as before', () => {
    for (const v of [undefined, null, 42, ['a.b'], { length: 3 }]) {
      expect(isValidDnsName(v as unknown as string)).toBe(false);
    }
    expect(looksLikeDnsName('svc.example.com')).toBe(true);
    expect(looksLikeDnsName('10.0.0.1')).toBe(false);
  });
});
