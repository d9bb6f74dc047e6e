import { describe, expect, it } from 'vitest';
import {
  isValidCidr,
  isValidDnsConstraint,
  isValidDnsName,
  isValidEmail,
  isValidEmailConstraint,
  isValidIp,
  isValidUri,
} from '@pkim/core';
import {
  caCreateInputSchema,
  caKeyTypeSchema,
  certificateIssueWithKeyInputSchema,
  cidrSchema,
  dnsConstraintSchema,
  dnsNameSchema,
  emailSchema,
  ipAddressSchema,
  keyTypeInputSchema,
  nameConstraintsSchema,
  sansSchema,
  uriSchema,
} from '@pkim/contract';

const DNS = [
  'example.com',
  'www.example.com',
  '*.example.com',
  '*.com', // a wildcard over a TLD: core refuses it, the old contract regex accepted it
  'host.123', // numeric last label reads like an IP: core refuses it
  'a..b',
  '-a.example.com',
  'exa_mple.com',
  'x'.repeat(64) + '.com',
  'www.*.example.com',
  '',
  'localhost',
];
const CONSTRAINTS = ['example.com', '.example.com', '*.example.com', '..example.com', '.com', 'a b.com'];
const IPS = ['10.0.0.1', '::1', '2001:db8::1', '256.0.0.1', '10.0.0', 'fe80::1%eth0', '1.2.3.4/8'];
const CIDRS = ['10.0.0.0/8', '2001:db8::/32', '10.0.0.0/33', '10.0.0.0', 'x/8', '10.0.0.1/24'];
const URIS = ['https://example.com/a', 'spiffe://example.org/ns/x', 'urn:uuid:1234', 'example.com', 'http://', ' a:b'];
const EMAILS = ['a@example.com', 'a@b', 'a@host.123', '@example.com', 'a b@example.com', 'x'.repeat(65) + '@a.com'];

describe('contract vocabulary: one syntax rule, core’s', () => {
  it('a DNS SAN is valid in the API exactly when core (and so the linter) says so', () => {
    const differ = DNS.filter((d) => dnsNameSchema.safeParse(d).success !== isValidDnsName(d));
    expect(differ).toEqual([]);
    // the cases the old hand-written regex got wrong are now refused before any signing step
    expect(sansSchema.safeParse({ dns: ['*.com'] }).success).toBe(false);
    expect(sansSchema.safeParse({ dns: ['host.123'] }).success).toBe(false);
    expect(sansSchema.safeParse({ dns: ['*.example.com', 'www.example.com'] }).success).toBe(true);
  });

  it('IP, URI, e-mail SANs and every name-constraint kind follow core too', () => {
    expect(IPS.filter((v) => ipAddressSchema.safeParse(v).success !== isValidIp(v))).toEqual([]);
    expect(URIS.filter((v) => uriSchema.safeParse(v).success !== isValidUri(v))).toEqual([]);
    expect(EMAILS.filter((v) => emailSchema.safeParse(v).success !== isValidEmail(v))).toEqual([]);
    expect(CIDRS.filter((v) => cidrSchema.safeParse(v).success !== isValidCidr(v))).toEqual([]);
    expect(CONSTRAINTS.filter((v) => dnsConstraintSchema.safeParse(v).success !== isValidDnsConstraint(v))).toEqual([]);
    for (const e of ['a@example.com', 'example.com', '.example.com', 'a b', '@x']) {
      expect(nameConstraintsSchema.safeParse({ permittedEmail: [e] }).success, e).toBe(isValidEmailConstraint(e));
    }
    // URI constraints are hosts or .domains (RFC 5280 §4.2.1.10), as the linter checks them
    expect(nameConstraintsSchema.safeParse({ permittedUri: ['.example.com'] }).success).toBe(true);
    expect(nameConstraintsSchema.safeParse({ permittedUri: ['https://example.com/'] }).success).toBe(false);
  });

  it('key types: one vocabulary out, legacy console spellings normalised in, anything else refused', () => {
    expect(keyTypeInputSchema.parse('ec-p256')).toBe('ec-p256');
    expect(keyTypeInputSchema.parse('ECDSA-P384')).toBe('ec-p384');
    expect(keyTypeInputSchema.parse('RSA-2048')).toBe('rsa-2048');
    expect(keyTypeInputSchema.parse('ed25519')).toBe('ed25519');
    expect(keyTypeInputSchema.safeParse('p256').success).toBe(false);
    expect(keyTypeInputSchema.safeParse('dsa-1024').success).toBe(false);
    expect(caKeyTypeSchema.parse('ECDSA-P256')).toBe('ec-p256');
    expect(caKeyTypeSchema.parse('ed25519')).toBe('ed25519'); // CAs: every key type, as the local CLI
    expect(caKeyTypeSchema.parse('rsa-3072')).toBe('rsa-3072');
    expect(caKeyTypeSchema.safeParse('dsa-1024').success).toBe(false);
    const ca = caCreateInputSchema.parse({ name: 'Root', subject: { commonName: 'Root' }, keyType: 'ECDSA-P256' });
    expect(ca.keyType).toBe('ec-p256');
    const leaf = certificateIssueWithKeyInputSchema.parse({
      ca: 'Root',
      profile: 'tls-server',
      subject: { commonName: 'www.example.com' },
      keyType: 'rsa-3072',
    });
    expect(leaf.keyType).toBe('rsa-3072');
  });
});
