// Unit tests of the console's form-input parsers (no browser): validityDaysTtl (form-fields.tsx, the Renew dialogs'
// "Validity (days)") and parseSanList (lib/pki.ts, the Issue page and the Renew dialog's SANs). Type-checked with
// apps/web/tsconfig.json, as the modules they import are. The dialogs around them: renew-csr-console-e2e.test.ts and
// batch-renew-console-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { validityDaysTtl } from '../../src/components/form-fields';
import { parseSanList } from '../../src/lib/pki';

const REFUSED = { error: 'Validity: a whole number of days, 1 or more' };

describe('validityDaysTtl', () => {
  it.each([
    ['', {}],
    ['   ', {}],
    ['1', { ttl: '1d' }],
    ['10', { ttl: '10d' }],
    [' 30 ', { ttl: '30d' }],
    ['\t7\n', { ttl: '7d' }],
    ['99999', { ttl: '99999d' }],
  ])('%j → no error, ttl %j', (days, want) => {
    expect(validityDaysTtl(days)).toEqual({ error: null, ...want });
  });

  it.each([
    ['0', 'zero'],
    ['00', 'zero with a leading zero'],
    ['-1', 'negative'],
    ['-0', 'negative zero'],
    ['1.5', 'fractional'],
    ['10.0', 'a decimal point'],
    ['0.5', 'less than a day'],
    ['100000', 'six digits (huge)'],
    ['1e3', 'an exponent'],
    ['Infinity', 'not a number'],
    ['010', 'a leading zero'],
    ['1 0', 'inner white space'],
    ['+5', 'a sign'],
    ['5d', 'a unit'],
  ])('%j (%s) → the error and no ttl', (days) => {
    expect(validityDaysTtl(days)).toEqual(REFUSED);
  });
});

describe('parseSanList', () => {
  it('sorts DNS names, IPv4 and IPv6 addresses, emails and URIs', () => {
    expect(
      parseSanList('a.example.com, 10.0.0.1, ::1, fe80::1, ops@example.com, https://svc.example.com/x, spiffe:x'),
    ).toEqual({
      dns: ['a.example.com'],
      ip: ['10.0.0.1', '::1', 'fe80::1'],
      email: ['ops@example.com'],
      uri: ['https://svc.example.com/x', 'spiffe:x'],
    });
  });

  it('splits on commas, spaces, tabs and newlines, skipping empty entries, keeping order and wildcards', () => {
    expect(
      parseSanList(' b.example.com,,\n\t*.a.example.com c.example.com\td.example.com ,  e.example.com\r\n'),
    ).toEqual({
      dns: ['b.example.com', '*.a.example.com', 'c.example.com', 'd.example.com', 'e.example.com'],
    });
  });

  it.each(['', '   ', ',', ' ,\n, '])('%j → no SANs at all (the dialog then keeps the names)', (text) => {
    expect(parseSanList(text)).toEqual({});
  });

  it('leaves what is not an address to the DNS list, for the dialog and the server to refuse', () => {
    expect(parseSanList('999.1.1.1x bad_name!')).toEqual({ dns: ['999.1.1.1x', 'bad_name!'] });
  });
});
