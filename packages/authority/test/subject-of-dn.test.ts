import { describe, expect, it } from 'vitest';
import { formatDn, type DistinguishedName } from '@pkim/core';
import { subjectOfDn, subjectToDn } from '../src/subject-input';

// Issue #12 (session 26): the Vault channel hands the signing pipeline the DN it built (`subjectOfDn`) instead of its
// RFC 4514 string, which the pipeline parsed back. subjectToDn of what it hands over must be what subjectToDn of the
// string gives — the same attributes, or the same refusal — for every DN, plain or not.
const outcome = (subject: DistinguishedName | string) => {
  try {
    return { dn: subjectToDn(subject) };
  } catch (e) {
    const { code, message } = e as { code: string; message: string };
    return { code, message };
  }
};

const one = (type: string, value: string): DistinguishedName => [{ type, value }];
const vaultTypes = ['C', 'ST', 'L', 'STREET', 'postalCode', 'O', 'OU', 'CN', 'serialNumber'];
const values = [
  'www.example.test',
  'Example Org',
  'x',
  ' leading blank',
  'trailing blank ',
  '  two leading',
  'tab\tinside',
  'ends in a tab\t',
  'new\nline',
  'ends in a newline\n',
  '\u00a0nbsp first',
  'nbsp last\u00a0',
  'inner\u00a0nbsp',
  '#hash first',
  'hash # inside',
  'plus+sign',
  'comma, inside',
  'semi;colon',
  'back\\slash',
  '"quoted"',
  'less<more>',
  'equals=inside',
  '/slash first',
  'nul\0inside',
  'del\x7finside',
  'émigré Zürich',
  'emoji 🔐 inside',
  'lone \ud800 surrogate',
  'lone \udc00 low',
  '',
  ' ',
  'a'.repeat(64),
  'a'.repeat(65),
  'US',
  'us',
  '12345',
  'serial 1',
  'serial_1',
];

describe('subjectOfDn: the attributes as the pipeline takes them, or the string', () => {
  it('gives what subjectToDn of formatDn gives, for every type Vault writes and many values', () => {
    let cases = 0;
    for (const type of vaultTypes) {
      for (const value of values) {
        const dn = one(type, value);
        expect(outcome(subjectOfDn(dn)), `${type}=${JSON.stringify(value)}`).toEqual(outcome(formatDn(dn)));
        cases++;
      }
    }
    expect(cases).toBe(vaultTypes.length * values.length);
  });

  it('the same for types given otherwise (aliases, OIDs, lower case, unknown) and several attributes', () => {
    const dns: DistinguishedName[] = [
      one('cn', 'a.example.test'),
      one('commonName', 'a.example.test'),
      one('2.5.4.3', 'a.example.test'),
      one('oid.2.5.4.3', 'a.example.test'),
      one('1.2.3.4', 'a.example.test'),
      one('foo', 'a.example.test'),
      one('emailAddress', 'me@example.test'),
      one('E', 'me@example.test'),
      one('DC', 'example'),
      one('UID', 'u1'),
      one('title', 'Dr'),
      [
        { type: 'C', value: 'US' },
        { type: 'O', value: 'Example' },
        { type: 'OU', value: 'Web' },
        { type: 'CN', value: 'a.example.test' },
        { type: 'serialNumber', value: '1234' },
      ],
      [
        { type: 'O', value: 'Trailing ' },
        { type: 'CN', value: 'a.example.test' },
      ],
      [
        { type: 'CN', value: 'first' },
        { type: 'CN', value: 'second' },
      ],
    ];
    for (const dn of dns) expect(outcome(subjectOfDn(dn)), JSON.stringify(dn)).toEqual(outcome(formatDn(dn)));
  });

  it('hands plain DNs over as attributes (the pipeline parses no string), others as the string', () => {
    const plain: DistinguishedName = [
      { type: 'C', value: 'US' },
      { type: 'STREET', value: '1 Main St' },
      { type: 'postalCode', value: '12345' },
      { type: 'O', value: 'Example Org' },
      { type: 'CN', value: 'www.example.test' },
      { type: 'serialNumber', value: '42' },
    ];
    expect(subjectOfDn(plain)).toEqual(plain);
    expect(subjectOfDn(one('commonName', 'x'))).toEqual(one('CN', 'x'));
    expect(subjectOfDn(one('CN', ' x'))).toBe('CN=\\ x');
    expect(subjectOfDn(one('foo', 'x'))).toBe('foo=x');
  });
});
