// Unit tests of the console's form-input parsers (no browser): validityDaysTtl (form-fields.tsx, the Renew dialogs'
// "Validity (days)") and parseSanList (lib/pki.ts, the Issue page and the Renew dialog's SANs). Type-checked with
// apps/web/tsconfig.json, as the modules they import are. The dialogs around them: renew-csr-console-e2e.test.ts and
// batch-renew-console-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { validityDaysTtl } from '../../src/components/form-fields';
import {
  isDottedOid,
  parseOidList,
  parseSanList,
  policyIdentifierOf,
  policyRowError,
  policyRowOf,
} from '../../src/lib/pki';
import { isDottedOid as coreIsDottedOid } from '../../../../packages/core/src/profile-oids';

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

  // URIs of every scheme are URIs, not DNS names (a `urn:` was sent as a DNS name and refused with 400)
  it.each([
    'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    'urn:example:animal:ferret:nose',
    'URN:ISBN:0451450523',
    'spiffe://example.org/ns/prod/sa/web',
    'https://svc.example.com/x?y=1',
    'mailto:ops@example.com',
    'ldap://ldap.example.com/cn=ca',
    'tag:example.com:2026:x',
    'cafe:babe',
    'a+b.c-d:x',
  ])('%j → one URI', (uri) => {
    expect(parseSanList(uri)).toEqual({ uri: [uri] });
  });

  it.each([
    ['::ffff:10.0.0.1', 'IPv4-mapped IPv6'],
    ['2001:db8::1', 'compressed IPv6'],
    ['2001:db8:0:0:0:0:0:1', 'eight groups'],
    ['64:ff9b:0:0:0:0:192.0.2.1', 'six groups and an IPv4 tail'],
    ['192.0.2.10', 'IPv4'],
  ])('%j (%s) → one IP address', (ip) => {
    expect(parseSanList(ip)).toEqual({ ip: [ip] });
  });

  it('reads a URN beside DNS names, an IP and an email, in one text', () => {
    expect(parseSanList('a.example.com\nurn:uuid:0000-1\n10.0.0.1, ops@example.com')).toEqual({
      dns: ['a.example.com'],
      ip: ['10.0.0.1'],
      email: ['ops@example.com'],
      uri: ['urn:uuid:0000-1'],
    });
  });

  it('leaves what is not an address to the DNS list, for the dialog and the server to refuse', () => {
    expect(parseSanList('999.1.1.1x bad_name!')).toEqual({ dns: ['999.1.1.1x', 'bad_name!'] });
  });
});

describe("the Vault role dialog's OIDs and policies (lib/pki.ts)", () => {
  const cases = [
    '1.3.6.1.4.1.32473.9.1',
    '2.999.18446744073709551616',
    '0.39',
    '1.39.1',
    '2.5.29.32.0',
    '1',
    '3.1.2',
    '1.40.2',
    '1.3.06.1',
    '1.3.6.x',
    ' 1.2.3',
    '1..2',
    '',
  ];
  it.each(cases)('%j is a dotted OID in the form exactly when the server says so (core isDottedOid)', (s) => {
    expect(isDottedOid(s)).toBe(coreIsDottedOid(s));
  });

  it('parseOidList names the first bad OID', () => {
    expect(parseOidList(' 1.2.3, 1.3.6.1.4.1.32473.9.1 ')).toEqual({
      oids: ['1.2.3', '1.3.6.1.4.1.32473.9.1'],
      error: null,
    });
    expect(parseOidList('1.2.3, 1.3.x, 4.1').error).toBe("'1.3.x' is not a dotted OID (e.g. 1.3.6.1.4.1.32473.1)");
  });

  it('writes policy_identifiers as OpenBao stores them and reads them back', () => {
    const plain = { oid: '1.2.3', cps: '', notice: '' };
    const full = { oid: '1.2.4', cps: 'https://pki.example.com/cps', notice: 'Für interne Dienste' };
    expect(policyIdentifierOf(plain)).toBe('1.2.3');
    expect(policyIdentifierOf(full)).toBe(
      '{"oid":"1.2.4","cps":"https://pki.example.com/cps","notice":"Für interne Dienste"}',
    );
    expect(policyRowOf(policyIdentifierOf(full))).toEqual(full);
    expect(policyRowOf('1.2.3')).toEqual(plain);
    expect(policyRowError(full)).toBeNull();
    expect(policyRowError({ ...full, cps: 'ftp://x.example' })).toMatch(/^CPS: an http\(s\) URI/);
    expect(policyRowError({ ...full, notice: 'x'.repeat(201) })).toMatch(/200 characters at most/);
    expect(policyRowError({ ...full, oid: '' })).toMatch(/^Policy OID: a dotted OID/);
    // a new row, nothing typed yet: no error shown (it is left out when sent)
    expect(policyRowError({ oid: '', cps: '', notice: '' })).toBeNull();
    expect(policyRowError({ oid: ' ', cps: '', notice: '' })).toBeNull();
  });
});
