// The compiled name-pattern matcher (namePatternMatcher: each pattern classified once per list) answers as the
// per-call nameMatches does, for every kind of pattern and name (fast-check over generated lists and names), and a
// list changed in place is compiled again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nameMatches, namePatternMatcher, type NameKind } from '../src/signing/provisioner';

const KINDS: NameKind[] = ['dns', 'ip', 'email', 'uri'];
const label = fc.constantFrom('a', 'B', 'ex', 'example', 'test', 'Pay', 'x-1', '_srv', '');
const domain = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.constantFrom('', '.'))
  .map(([ls, dot]) => ls.join('.') + dot);
const ipv4 = fc
  .tuple(fc.array(fc.constantFrom(0, 1, 10, 127, 192, 255, 256), { minLength: 3, maxLength: 5 }))
  .map(([n]) => n.join('.'));
const ipv6 = fc.constantFrom('::', '::1', 'fe80::1', '2001:db8::', '2001:DB8:0:0:0:0:0:1', '1:2:3:4:5:6:7:8', ':::');
const prefix = fc.constantFrom('', '/0', '/8', '/24', '/32', '/33', '/64', '/128', '/x', '/');
const local = fc.constantFrom('*', 'ops', 'Ops', '', 'a.b');
const space = fc.constantFrom('', ' ', '\t');
const uriBase = fc.constantFrom('spiffe://example.org/ns/', 'spiffe://Example.org/', 'https://a.test/x', 'urn:x');

const pattern = fc.oneof(
  fc.tuple(space, fc.constantFrom('', '*.'), domain, space).map(([a, w, d, b]) => a + w + d + b),
  fc.tuple(local, domain, fc.constantFrom('', '@x')).map(([l, d, more]) => `${l}@${d}${more}`),
  fc.tuple(fc.oneof(ipv4, ipv6), prefix).map(([ip, p]) => ip + p),
  fc.tuple(uriBase, fc.constantFrom('', '*', 'a', 'a*')).map(([u, s]) => u + s),
  fc.string({ maxLength: 12 }),
);
const name = fc.oneof(
  fc.tuple(fc.constantFrom('', '*.', 'www.'), domain).map(([w, d]) => w + d),
  fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`),
  fc.oneof(ipv4, ipv6),
  fc.tuple(uriBase, fc.constantFrom('', 'a', 'svc/1')).map(([u, s]) => u + s),
  fc.string({ maxLength: 12 }),
);

const reference = (patterns: readonly string[], kind: NameKind, n: string) =>
  patterns.some((p) => nameMatches(kind, n, p));

describe('namePatternMatcher', () => {
  it('answers as nameMatches over the list, for generated patterns and names of every kind (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 6 }), fc.array(name, { minLength: 1, maxLength: 6 }), (ps, ns) => {
        const match = namePatternMatcher(ps);
        for (const n of ns) for (const kind of KINDS) expect(match(kind, n)).toBe(reference(ps, kind, n));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers as nameMatches for the documented pattern forms', () => {
    const ps = ['payments.example.com', '*.Example.org.', ' 10.0.0.0/8 ', '::1', '*@example.com', 'ops@a.test'];
    const cases: [NameKind, string, boolean][] = [
      ['dns', 'PAYMENTS.example.com.', true],
      ['dns', 'www.example.org', true],
      ['dns', 'example.org', false],
      ['ip', '10.1.2.3', true],
      ['ip', '11.0.0.1', false],
      ['ip', '::1', true],
      ['email', 'Anyone@Example.com', true],
      ['email', 'ops@a.test', true],
      ['email', 'dev@a.test', false],
      ['uri', 'spiffe://example.org/x', false],
    ];
    const match = namePatternMatcher(ps);
    for (const [kind, n, want] of cases) {
      expect(reference(ps, kind, n)).toBe(want);
      expect(match(kind, n)).toBe(want);
    }
  });

  it('compiles a list changed in place again, and the same list once', () => {
    const ps = ['*.a.test'];
    const first = namePatternMatcher(ps);
    expect(namePatternMatcher(ps)).toBe(first);
    expect(first('dns', 'x.a.test')).toBe(true);
    ps[0] = '*.b.test';
    expect(namePatternMatcher(ps)('dns', 'x.a.test')).toBe(false);
    expect(namePatternMatcher(ps)('dns', 'x.b.test')).toBe(true);
    ps.push('10.0.0.0/8');
    expect(namePatternMatcher(ps)('ip', '10.0.0.1')).toBe(true);
  });
});
