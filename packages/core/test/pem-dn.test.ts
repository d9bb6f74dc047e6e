import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import {
  BUILT_IN_PROFILES,
  formatDn,
  fromPem,
  generateSerial,
  issueCertificate,
  parseCertificate,
  parseDn,
  planCertificate,
  splitPemBundle,
  toPem,
  validateDn,
  type DistinguishedName,
} from '../src/index';
import { opensslRaw, withTempDir } from '../../../tests/support/verifiers';
import { cachedKey, DAY, codeOf } from './helpers';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

describe('PEM', () => {
  it('round-trips DER through PEM with 64-column lines and accepts DER unchanged', () => {
    const der = new Uint8Array(Array.from({ length: 200 }, (_, i) => i));
    const pem = toPem(der, 'CERTIFICATE');
    expect(pem.split('\n').every((l) => l.length <= 64)).toBe(true);
    expect(fromPem(pem, 'CERTIFICATE')).toEqual(der);
    expect(fromPem(der)).toBe(der);
    expect(fromPem(new TextEncoder().encode(pem))).toEqual(der);
  });
  it('rejects a PEM block with the wrong label and garbage base64', () => {
    const pem = toPem(Uint8Array.of(1, 2, 3), 'PRIVATE KEY');
    expect(codeOf(() => fromPem(pem, 'CERTIFICATE'))).toBe('input.invalid');
    expect(codeOf(() => fromPem('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----'))).toBe('input.invalid');
    expect(codeOf(() => fromPem('hello'))).toBe('input.invalid');
  });
  it('splits a bundle into its certificates in order, skipping other blocks', () => {
    const a = toPem(Uint8Array.of(1), 'CERTIFICATE');
    const k = toPem(Uint8Array.of(9), 'PRIVATE KEY');
    const b = toPem(Uint8Array.of(2, 3), 'CERTIFICATE');
    expect(splitPemBundle(`junk\n${a}${k}\n${b}`)).toEqual([Uint8Array.of(1), Uint8Array.of(2, 3)]);
  });
});

describe('distinguished names', () => {
  const cases: { input: string; dn: DistinguishedName; rfc4514: string }[] = [
    {
      input: 'CN=www.example.com,O=Example,C=US',
      dn: [
        { type: 'C', value: 'US' },
        { type: 'O', value: 'Example' },
        { type: 'CN', value: 'www.example.com' },
      ],
      rfc4514: 'CN=www.example.com,O=Example,C=US',
    },
    {
      input: '/C=US/O=Example/CN=www.example.com',
      dn: [
        { type: 'C', value: 'US' },
        { type: 'O', value: 'Example' },
        { type: 'CN', value: 'www.example.com' },
      ],
      rfc4514: 'CN=www.example.com,O=Example,C=US',
    },
    {
      input: 'cn = Smith\\, John , o=ACME\\+Co',
      dn: [
        { type: 'O', value: 'ACME+Co' },
        { type: 'CN', value: 'Smith, John' },
      ],
      rfc4514: 'CN=Smith\\, John,O=ACME\\+Co',
    },
    {
      input: 'CN=\\ lead and trail\\ ,OU=\\#hash',
      dn: [
        { type: 'OU', value: '#hash' },
        { type: 'CN', value: ' lead and trail ' },
      ],
      rfc4514: 'CN=\\ lead and trail\\ ,OU=\\#hash',
    },
    {
      input: 'CN=Caf\\C3\\A9,O=Zürich AG',
      dn: [
        { type: 'O', value: 'Zürich AG' },
        { type: 'CN', value: 'Café' },
      ],
      rfc4514: 'CN=Café,O=Zürich AG',
    },
    { input: 'CN=#0c0568656c6c6f', dn: [{ type: 'CN', value: 'hello' }], rfc4514: 'CN=hello' },
    {
      input: '2.5.4.3=x,emailAddress=a@example.com,DC=example,DC=com',
      dn: [
        { type: 'DC', value: 'com' },
        { type: 'DC', value: 'example' },
        { type: 'emailAddress', value: 'a@example.com' },
        { type: 'CN', value: 'x' },
      ],
      rfc4514: 'CN=x,emailAddress=a@example.com,DC=example,DC=com',
    },
    {
      input: 'CN=a\\<b\\>c\\;d\\"e\\\\f',
      dn: [{ type: 'CN', value: 'a<b>c;d"e\\f' }],
      rfc4514: 'CN=a\\<b\\>c\\;d\\"e\\\\f',
    },
  ];
  it.each(cases)('parses $input into DER order and prints RFC 4514', ({ input, dn, rfc4514 }) => {
    const parsed = parseDn(input);
    expect(parsed).toEqual(dn);
    expect(formatDn(parsed)).toBe(rfc4514);
    expect(parseDn(formatDn(parsed))).toEqual(dn);
  });

  it('reads characters outside the BMP whole (plain, escaped, quoted, slash form), not as two U+FFFD', () => {
    expect(parseDn('CN=key 🔐 vault,O=𠀋 Ltd')).toEqual([
      { type: 'O', value: '𠀋 Ltd' },
      { type: 'CN', value: 'key 🔐 vault' },
    ]);
    expect(parseDn('CN=a\\🔐b')).toEqual([{ type: 'CN', value: 'a🔐b' }]);
    expect(parseDn('CN="x 🔐"')).toEqual([{ type: 'CN', value: 'x 🔐' }]);
    expect(parseDn('/O=Ex/CN=🔐')).toEqual([
      { type: 'O', value: 'Ex' },
      { type: 'CN', value: '🔐' },
    ]);
    // a lone surrogate is not text: U+FFFD, as before
    expect(parseDn('CN=a\ud800b')).toEqual([{ type: 'CN', value: 'a\ufffdb' }]);
  });

  it('gives back any value formatDn printed, characters outside the BMP included (fast-check)', () => {
    const value = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
      // a control character anywhere: validateDn refuses it (not this property)
      .filter((v) => v.trim() === v && v !== '' && !Array.from(v).some((c) => c.charCodeAt(0) < 0x20));
    fc.assert(
      fc.property(value, (v) => {
        expect(parseDn(formatDn([{ type: 'CN', value: v }]))).toEqual([{ type: 'CN', value: v }]);
      }),
      { numRuns: 2000, seed: 20261205 },
    );
  });

  /** formatDn as it was before its fast path: each value escaped a character at a time, the DN reversed in a copy */
  function charByCharFormat(dn: DistinguishedName): string {
    const escape = (v: string) => {
      let out = '';
      for (let i = 0; i < v.length; i++) {
        const c = v.charAt(i);
        if (c === '\0') out += '\\00';
        else if ('"+,;<>\\'.includes(c)) out += `\\${c}`;
        else if ((c === '#' || c === ' ') && i === 0) out += `\\${c}`;
        else if (c === ' ' && i === v.length - 1) out += '\\ ';
        else out += c;
      }
      return out;
    };
    return [...dn]
      .reverse()
      .map((a) => `${a.type}=${escape(a.value)}`)
      .join(',');
  }

  it('prints every value as the character-by-character escaping did (values that need no escape as they are)', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc
        .array(fc.constantFrom('a', 'Z', ' ', '#', '\0', '"', '+', ',', ';', '<', '>', '\\', '=', 'ü', '\n'), {
          maxLength: 8,
        })
        .map((cs) => cs.join('')),
    );
    const dn = fc.array(fc.record({ type: fc.constantFrom('CN', 'O', 'OU', 'L', 'ST', 'C', 'DC'), value }), {
      maxLength: 4,
    });
    fc.assert(
      fc.property(dn, (d) => {
        expect(formatDn(d)).toBe(charByCharFormat(d));
      }),
      { numRuns: 2000, seed: 20261205 },
    );
    for (const v of ['#a', ' a', 'a ', 'a#', 'a b', '', ' ', '\0', 'host-1.svc.example.com'])
      expect(formatDn([{ type: 'CN', value: v }])).toBe(charByCharFormat([{ type: 'CN', value: v }]));
  });

  it('encodes names that openssl prints identically (RFC 2253 form)', async () => {
    const key = cachedKey('ec-p256');
    const now = Date.now();
    const subject = parseDn(
      'CN=Smith\\, John+\\2B,OU=R&D \\<lab\\>,O=Zürich AG,L=Z\\;rich,C=CH'.replace('+\\2B', '\\+x'),
    );
    validateDn(subject);
    const plan = planCertificate({
      profile: BUILT_IN_PROFILES['root-ca'],
      subject,
      publicKey: key.publicKey,
      serial: generateSerial(),
      notBefore: now,
      notAfter: now + DAY,
    });
    const der = await issueCertificate(plan, key.sign, { now });
    const printed = withTempDir((dir) => {
      writeFileSync(join(dir, 'c.der'), der);
      return opensslRaw([
        'x509',
        '-inform',
        'DER',
        '-in',
        join(dir, 'c.der'),
        '-noout',
        '-subject',
        '-nameopt',
        'RFC2253,-esc_msb',
      ]).stdout.trim();
    });
    expect(printed).toBe(`subject=${formatDn(subject)}`);
    expect(parseCertificate(der).subject).toEqual(subject);
  });

  const invalid: [string, DistinguishedName | string][] = [
    ['unknown attribute type', 'XYZ=1,CN=a'],
    ['missing =', 'CN'],
    ['multi-valued RDN', 'CN=a+OU=b'],
    ['trailing separator', 'CN=a,'],
    ['C not two uppercase letters', [{ type: 'C', value: 'usa' }]],
    ['C lowercase', [{ type: 'C', value: 'us' }]],
    ['empty value', [{ type: 'O', value: '' }]],
    ['blank value', [{ type: 'CN', value: '   ' }]],
    ['CN longer than 64', [{ type: 'CN', value: 'a'.repeat(65) }]],
    ['unknown type in object', [{ type: 'foo', value: 'x' }]],
    ['bad emailAddress', [{ type: 'emailAddress', value: 'not-an-email' }]],
    ['serialNumber outside PrintableString', [{ type: 'serialNumber', value: 'a_b' }]],
  ];
  it.each(invalid)('rejects a DN with %s (dn.invalid)', (_label, input) => {
    expect(codeOf(() => validateDn(typeof input === 'string' ? parseDn(input) : input))).toBe('dn.invalid');
  });

  it.each([
    ['a line feed', 'a\nb'],
    ['NUL', 'a\u0000b'],
    ['a C1 control (NEL)', 'a\u0085b'],
    ['RIGHT-TO-LEFT OVERRIDE', '\u202emoc.elpmaxe'],
    ['a bidi isolate', 'a\u2067b\u2069'],
    ['a zero-width space', 'pay\u200bpal'],
    ['a zero-width joiner', 'a\u200db'],
    ['a byte order mark', '\ufeffa'],
    ['a soft hyphen', 'ad\u00admin'],
    ['a line separator', 'a\u2028b'],
    ['a Hangul filler', 'a\u3164b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('refuses %s in a DN value (input.forbidden_character, naming the code point)', (_label, value) => {
    let err: unknown;
    try {
      validateDn([{ type: 'CN', value }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe('input.forbidden_character');
    expect((err as PkiError).details.codePoint).toMatch(/^U\+[0-9A-F]{4}$/);
  });

  it('accepts visible non-ASCII text in a DN value', () => {
    expect(() => validateDn([{ type: 'CN', value: 'Zürich Ørsted 東京 Ελλάδα' }])).not.toThrow();
  });

  it('accepts a CN of exactly 64 characters', () => {
    expect(() => validateDn([{ type: 'CN', value: 'a'.repeat(64) }])).not.toThrow();
  });
});
