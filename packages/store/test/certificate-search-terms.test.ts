import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certificateSearchTerms, prefixRange, searchPrefixes } from '../src/certificate-search-terms';

/** the rule as first written (session 21): every term, in the order they are first found */
function termsReference(row: Parameters<typeof certificateSearchTerms>[0]): string[] {
  const separators = new Set(['.', '-', '_', '@', '/', ':']);
  const out = new Set<string>();
  const tails = (value: string) => {
    const v = value.trim().toLowerCase();
    for (let i = 0; i < v.length; i++) {
      if (i > 0 && !separators.has(v[i - 1]!)) continue;
      const term = v.slice(i, i + 200);
      if (term) out.add(term);
    }
  };
  if (row.commonName) tails(row.commonName);
  const s = row.sans;
  for (const list of [s.dns, s.ip, s.email, s.uri]) for (const v of list ?? []) tails(v);
  out.add(row.serialHex.toLowerCase());
  return [...out];
}

describe('certificate search terms', () => {
  it('takes each value from its start and after every separator, lowercased, once', () => {
    const terms = certificateSearchTerms({
      commonName: 'API-Prod.Example.com',
      sans: { dns: ['api-prod.example.com', '*.example.com'], ip: ['10.0.0.1'], email: ['Ops@Example.com'] },
      serialHex: 'ABCDEF',
    });
    expect(terms.sort()).toEqual(
      [
        'api-prod.example.com',
        'prod.example.com',
        'example.com',
        'com',
        '*.example.com',
        '10.0.0.1',
        '0.0.1',
        '0.1',
        '1',
        'ops@example.com',
        'abcdef',
      ].sort(),
    );
  });

  it('gives the terms of the rule as first written, in the same order, for any values', () => {
    // values made of separators, letters of both cases, spaces and any character, some longer than a term
    const piece = fc.oneof(
      fc.constantFrom('.', '-', '_', '@', '/', ':', ' ', 'A', 'b', 'É', '\u{1F600}'),
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.string({ minLength: 150, maxLength: 260 }),
    );
    const value = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
    const list = fc.option(fc.array(value, { maxLength: 3 }), { nil: undefined });
    const row = fc.record({
      commonName: fc.option(value, { nil: null }),
      sans: fc.record({ dns: list, ip: list, email: list, uri: list }, { requiredKeys: [] }),
      serialHex: fc.string({
        unit: fc.integer({ min: 0, max: 21 }).map((i) => '0123456789ABCDEFabcdef'[i]!),
        maxLength: 40,
      }),
    });
    fc.assert(
      fc.property(row, (r) => {
        expect(certificateSearchTerms(r)).toEqual(termsReference(r));
      }),
      { numRuns: 2000 },
    );
  });

  it('searches a colon-separated serial also as bare hex; a blank search is nothing', () => {
    expect(searchPrefixes(' 3F:A2:01 ')).toEqual(['3f:a2:01', '3fa201']);
    expect(searchPrefixes('example.com')).toEqual(['example.com']);
    expect(searchPrefixes('  ')).toEqual([]);
  });

  it('bounds a prefix range by the next code point, never a lone surrogate', () => {
    expect(prefixRange('abc')).toEqual(['abc', 'abd']);
    expect(prefixRange('x\u{1F600}')).toEqual(['x\u{1F600}', 'x\u{1F601}']);
    expect(prefixRange('a\uD7FF')).toEqual(['a\uD7FF', 'a\uE000']);
    expect(prefixRange('a\u{10FFFF}')).toEqual(['a\u{10FFFF}', 'a\u{10FFFF}\u{10FFFF}']);
  });
});
