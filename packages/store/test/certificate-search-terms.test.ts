import { describe, expect, it } from 'vitest';
import { certificateSearchTerms, prefixRange, searchPrefixes } from '../src/certificate-search-terms';

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
