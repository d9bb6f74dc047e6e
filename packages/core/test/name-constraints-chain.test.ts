import { beforeAll, describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import {
  assembleCertificate,
  BUILT_IN_PROFILES,
  encodeTbsCertificate,
  issueCertificate,
  lintCertificate,
  parseCertificate,
  planCertificate,
  toPem,
  dnsMatches,
  emailMatches,
  ipMatches,
  uriMatches,
} from '../src/index';
import { certtoolVerify, goVerify, opensslVerify } from '../../../tests/support/verifiers';
import { cachedKey, DAY, leafInput, makeIntermediate, makeRoot, makeTestKey, type IssuedCa } from './helpers';

const now = Date.now();
let root: IssuedCa;
let inter: IssuedCa;

beforeAll(async () => {
  root = await makeRoot(cachedKey('ec-p384'), now);
  inter = await makeIntermediate(root, cachedKey('ec-p256'), now, {
    pathLen: 0,
    nameConstraints: {
      permittedDns: ['.example.com'],
      excludedDns: ['secret.example.com'],
      permittedIp: ['10.0.0.0/8'],
      permittedEmail: ['example.com'],
      permittedUri: ['.example.com'],
    },
  });
});

describe('root → name-constrained intermediate → leaf', () => {
  it('encodes critical name constraints with pathLen 0 on the intermediate', () => {
    const info = parseCertificate(inter.der);
    expect(info.pathLen).toBe(0);
    expect(info.nameConstraints).toEqual({
      permittedDns: ['.example.com'],
      excludedDns: ['secret.example.com'],
      permittedIp: ['10.0.0.0/8'],
      permittedEmail: ['example.com'],
      permittedUri: ['.example.com'],
    });
  });

  it('issues a tls-server leaf for www.example.com that openssl, certtool and Go verify', async () => {
    const leafKey = makeTestKey('ec-p256');
    const der = await issueCertificate(
      planCertificate(
        leafInput(inter, leafKey.publicKey, now, { sans: { dns: ['www.example.com'], ip: ['10.1.2.3'] } }),
      ),
      inter.key.sign,
      { now },
    );
    const pem = toPem(der, 'CERTIFICATE');
    const o = opensslVerify({
      leafPem: pem,
      chainPems: [inter.pem],
      rootPem: root.pem,
      purpose: 'sslserver',
      hostname: 'www.example.com',
    });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem: pem, chainPems: [inter.pem], rootPem: root.pem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({
      leafPem: pem,
      intermediatesPems: [inter.pem],
      rootPem: root.pem,
      dnsName: 'www.example.com',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
  });

  it('refuses a leaf for www.other.org before signing (the sign function is never called)', async () => {
    const leafKey = makeTestKey('ec-p256');
    // a signer that counts calls: the intermediate's real signer must not be reached
    let calls = 0;
    const sign = (d: Uint8Array): Uint8Array => {
      calls++;
      return inter.key.sign(d) as Uint8Array;
    };
    const plan = planCertificate(
      leafInput(inter, leafKey.publicKey, now, {
        subject: [{ type: 'CN', value: 'www.other.org' }],
        sans: { dns: ['www.other.org'] },
      }),
    );
    await expect(issueCertificate(plan, sign, { now })).rejects.toMatchObject({
      code: 'lint.name_constraints_violation',
    });
    expect(calls).toBe(0);
  });

  it('yields a certificate all three verifiers reject when the linter is bypassed (verifiers can fail)', async () => {
    const leafKey = makeTestKey('ec-p256');
    const plan = planCertificate(
      leafInput(inter, leafKey.publicKey, now, {
        subject: [{ type: 'CN', value: 'www.other.org' }],
        sans: { dns: ['www.other.org'] },
      }),
    );
    const tbs = encodeTbsCertificate(plan);
    const pem = toPem(assembleCertificate(tbs, 'ec-p256', await inter.key.sign(tbs)), 'CERTIFICATE');
    expect(opensslVerify({ leafPem: pem, chainPems: [inter.pem], rootPem: root.pem, purpose: 'sslserver' }).ok).toBe(
      false,
    );
    expect(certtoolVerify({ leafPem: pem, chainPems: [inter.pem], rootPem: root.pem }).ok).toBe(false);
    expect(
      goVerify({
        leafPem: pem,
        intermediatesPems: [inter.pem],
        rootPem: root.pem,
        dnsName: 'www.other.org',
        keyUsage: 'serverAuth',
      }).ok,
    ).toBe(false);
  });

  const violations: [string, Record<string, unknown>][] = [
    ['a DNS SAN outside the permitted subtree', { sans: { dns: ['www.example.net'] } }],
    [
      'the bare domain under a .example.com constraint',
      { subject: [{ type: 'CN', value: 'svc' }], sans: { dns: ['example.com'] } },
    ],
    ['a DNS SAN in the excluded subtree', { sans: { dns: ['secret.example.com'] } }],
    ['a subdomain of the excluded subtree', { sans: { dns: ['a.secret.example.com'] } }],
    [
      'a CN that looks like a DNS name outside the subtree',
      { subject: [{ type: 'CN', value: 'evil.example.org' }], sans: { dns: ['www.example.com'] } },
    ],
    ['an IP outside 10.0.0.0/8', { sans: { dns: ['www.example.com'], ip: ['192.168.1.1'] } }],
    ['an IPv6 address against an IPv4-only constraint', { sans: { dns: ['www.example.com'], ip: ['2001:db8::1'] } }],
  ];
  it.each(violations)('flags %s as lint.name_constraints_violation', (_l, over) => {
    const plan = planCertificate(leafInput(inter, makeTestKey('ec-p256').publicKey, now, over));
    expect(lintCertificate(plan, { now }).map((f) => f.code)).toContain('lint.name_constraints_violation');
  });

  it('refuses a CA certificate under an issuer with pathLen 0', async () => {
    const plan = planCertificate({
      ...leafInput(inter, makeTestKey('ec-p256').publicKey, now),
      profile: BUILT_IN_PROFILES['intermediate-ca'],
      sans: {},
      subject: [{ type: 'CN', value: 'Sub-sub CA' }],
      notAfter: now + 30 * DAY,
    });
    const codes = lintCertificate(plan, { now }).map((f) => f.code);
    expect(codes).toContain('lint.path_length_exceeded');
    await expect(issueCertificate(plan, inter.key.sign, { now })).rejects.toBeInstanceOf(PkiError);
  });
});

describe('RFC 5280 name matching', () => {
  it.each([
    ['www.example.com', '.example.com', true],
    ['example.com', '.example.com', false],
    ['example.com', 'example.com', true],
    ['a.b.example.com', 'example.com', true],
    ['badexample.com', 'example.com', false],
    ['WWW.Example.COM', 'example.com', true],
    ['x.org', '', true],
  ] as const)('dns %s vs %s → %s', (n, c, r) => expect(dnsMatches(n, c)).toBe(r));
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.0.0.1', '10.0.0.0/8', false],
    ['fd00::1', 'fd00::/8', true],
    ['10.0.0.1', 'fd00::/8', false],
    ['192.168.1.255', '192.168.1.0/24', true],
  ] as const)('ip %s vs %s → %s', (n, c, r) => expect(ipMatches(n, c)).toBe(r));
  it.each([
    ['https://api.example.com/x', '.example.com', true],
    ['https://example.com/x', '.example.com', false],
    ['https://example.com/x', 'example.com', true],
    ['spiffe://prod.example.com/web', 'prod.example.com', true],
    ['https://sub.host.example.com', 'host.example.com', false],
    ['https://10.0.0.1/', '.example.com', false],
  ] as const)('uri %s vs %s → %s', (n, c, r) => expect(uriMatches(n, c)).toBe(r));
  it.each([
    ['a@example.com', 'example.com', true],
    ['a@sub.example.com', 'example.com', false],
    ['a@sub.example.com', '.example.com', true],
    ['a@example.com', 'a@example.com', true],
    ['b@example.com', 'a@example.com', false],
  ] as const)('email %s vs %s → %s', (n, c, r) => expect(emailMatches(n, c)).toBe(r));
});
