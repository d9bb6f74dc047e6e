import { beforeAll, describe, expect, it, vi } from 'vitest';
import { PkiError } from '@pkim/shared';
import {
  assertLintClean,
  BUILT_IN_PROFILES,
  generateSerial,
  lintCaRequest,
  lintCertificate,
  planCertificate,
  resolveProfile,
  parseProfile,
  type CertificatePlan,
  type NameConstraints,
  type Profile,
} from '../src/index';
import { cachedKey, DAY, leafInput, makeIntermediate, makeRoot, type IssuedCa } from './helpers';

const now = Date.now();
let root: IssuedCa;
let inter: IssuedCa;
let leafCert: IssuedCa;

beforeAll(async () => {
  root = await makeRoot(cachedKey('ec-p256'), now);
  inter = await makeIntermediate(root, cachedKey('ec-p384'), now, { pathLen: 0, notAfter: now + 100 * DAY });
  // a non-CA certificate used as a would-be issuer
  const { issueCertificate } = await import('../src/index');
  const der = await issueCertificate(
    planCertificate(leafInput(root, cachedKey('ed25519').publicKey, now)),
    root.key.sign,
    { now },
  );
  leafCert = { key: cachedKey('ed25519'), der, pem: '' };
});

const custom = (over: Partial<Profile>): Profile => ({ ...BUILT_IN_PROFILES['tls-server'], name: 'custom', ...over });

type Case = [code: string, label: string, make: () => CertificatePlan, lintNow?: number];
const cases: Case[] = [
  [
    'lint.lifetime_beyond_issuer',
    'a leaf outliving its issuer',
    () =>
      planCertificate(
        leafInput(inter, cachedKey('ec-p256').publicKey, now, {
          notAfter: now + 200 * DAY,
          profile: custom({ maxLifetimeMs: 400 * DAY }),
        }),
      ),
  ],
  [
    'lint.tls_without_san',
    'a TLS server certificate without SAN',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { sans: {} })),
  ],
  [
    'lint.ca_flag_on_leaf',
    'a CA flag on a profile without keyCertSign',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { profile: custom({ isCa: true }) })),
  ],
  [
    'lint.ca_flag_on_leaf',
    'keyCertSign on a leaf',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: custom({ keyUsage: ['digitalSignature', 'keyCertSign'] }),
        }),
      ),
  ],
  [
    'lint.key_usage_key_type_mismatch',
    'keyEncipherment on an EC key',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: custom({ keyUsage: ['digitalSignature', 'keyEncipherment'] }),
        }),
      ),
  ],
  [
    'lint.key_usage_key_type_mismatch',
    'keyEncipherment on an Ed25519 key',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ed25519').publicKey, now, {
          profile: custom({ keyUsage: ['digitalSignature', 'keyEncipherment'] }),
        }),
      ),
  ],
  [
    'lint.key_usage_key_type_mismatch',
    'keyAgreement on an RSA key',
    () =>
      planCertificate(
        leafInput(root, cachedKey('rsa-2048').publicKey, now, {
          profile: custom({ keyUsage: ['digitalSignature', 'keyAgreement'] }),
        }),
      ),
  ],
  [
    'lint.path_length_exceeded',
    'a CA under an issuer with pathLen 0',
    () =>
      planCertificate(
        leafInput(inter, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['intermediate-ca'],
          sans: {},
          subject: [{ type: 'CN', value: 'Sub' }],
          notAfter: now + 50 * DAY,
        }),
      ),
  ],
  [
    'lint.path_length_exceeded',
    'an unlimited-pathLen CA under a pathLen 1 issuer',
    () => {
      const p = planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['intermediate-ca'],
          sans: {},
          subject: [{ type: 'CN', value: 'Sub' }],
          pathLen: null,
        }),
      );
      return { ...p, issuerFacts: { ...p.issuerFacts!, pathLen: 1 } };
    },
  ],
  [
    'lint.name_constraints_violation',
    'a SAN outside the issuer permitted subtree',
    () => {
      const p = planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, { sans: { dns: ['www.other.org'] } }),
      );
      return { ...p, issuerFacts: { ...p.issuerFacts!, nameConstraints: { permittedDns: ['example.com'] } } };
    },
  ],
  [
    'lint.issuer_not_ca',
    'an issuer that is not a CA',
    () => planCertificate(leafInput(leafCert, cachedKey('ec-p256').publicKey, now, { notAfter: now + 30 * DAY })),
  ],
  [
    'lint.invalid_validity',
    'notBefore after notAfter',
    () =>
      planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { notBefore: now + DAY, notAfter: now })),
  ],
  [
    'lint.invalid_validity',
    'an issuer that has expired at lint time',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now)),
    now + 4000 * DAY,
  ],
  [
    'lint.invalid_validity',
    'an issuer that is not yet valid at lint time',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now)),
    now - 10 * DAY,
  ],
  [
    'lint.invalid_san',
    'a DNS SAN with a bad label',
    () =>
      planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { sans: { dns: ['-bad-.example.com'] } })),
  ],
  [
    'lint.invalid_san',
    'a bad IP SAN',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, { sans: { dns: ['a.example.com'], ip: ['300.1.1.1'] } }),
      ),
  ],
  [
    'lint.invalid_san',
    'a relative URI SAN',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['tls-server-client'],
          sans: { dns: ['a.example.com'], uri: ['/relative/path'] },
        }),
      ),
  ],
  [
    'lint.invalid_san',
    'a bad email SAN',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['email-protection'],
          sans: { email: ['bob@@example'] },
        }),
      ),
  ],
  [
    'lint.empty_subject',
    'no subject and no SAN',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['code-signing'],
          subject: [],
          sans: {},
        }),
      ),
  ],
  [
    'lint.serial_invalid',
    'a negative serial',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { serial: Uint8Array.of(0x80, 1) })),
  ],
  [
    'lint.serial_invalid',
    'a 21-byte serial',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { serial: new Uint8Array(21).fill(1) })),
  ],
  [
    'lint.serial_invalid',
    'a zero serial',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { serial: Uint8Array.of(0) })),
  ],
  [
    'policy.key_type_not_allowed',
    'an RSA key on an EC-only profile',
    () =>
      planCertificate(
        leafInput(root, cachedKey('rsa-2048').publicKey, now, {
          profile: custom({ allowedKeyTypes: ['ec-p256', 'ec-p384'] }),
        }),
      ),
  ],
  [
    'policy.san_not_allowed',
    'an email SAN on tls-server',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          sans: { dns: ['a.example.com'], email: ['a@example.com'] },
        }),
      ),
  ],
  [
    'policy.san_not_allowed',
    'an https URI on spiffe-svid',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['spiffe-svid'],
          sans: { uri: ['https://example.org/x'] },
          notAfter: now + 3_000_000,
        }),
      ),
  ],
  [
    'policy.san_not_allowed',
    'two URI SANs on spiffe-svid',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['spiffe-svid'],
          sans: { uri: ['spiffe://a.org/x', 'spiffe://a.org/y'] },
          notAfter: now + 3_000_000,
        }),
      ),
  ],
  [
    'policy.san_required',
    'spiffe-svid with only a DNS SAN',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['spiffe-svid'],
          sans: { dns: ['a.example.com'] },
          notAfter: now + 3_000_000,
        }),
      ),
  ],
  [
    'policy.san_required',
    'email-protection without an email SAN',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['email-protection'],
          sans: {},
        }),
      ),
  ],
  [
    'policy.lifetime_exceeded',
    'a 399-day tls-server certificate',
    () => planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now, { notAfter: now - 60_000 + 399 * DAY })),
  ],
  [
    'policy.lifetime_exceeded',
    'a 25-hour SPIFFE SVID',
    () =>
      planCertificate(
        leafInput(root, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['spiffe-svid'],
          sans: { uri: ['spiffe://a.org/x'] },
          notAfter: now - 60_000 + 25 * 3_600_000,
        }),
      ),
  ],
];

describe('lintCertificate', () => {
  it('finds nothing wrong with a well-formed tls-server plan', () => {
    const plan = planCertificate(
      leafInput(root, cachedKey('ec-p256').publicKey, now, { notAfter: now - 60_000 + 398 * DAY }),
    );
    expect(lintCertificate(plan, { now })).toEqual([]);
    expect(() => assertLintClean([])).not.toThrow();
  });

  it.each(cases)('reports %s for %s', (code, _label, make, lintNow) => {
    const findings = lintCertificate(make(), { now: lintNow ?? now });
    expect(findings.map((f) => f.code)).toContain(code);
  });

  it("lets a leaf outlive its issuer only when the plan permits it (a CA's permit), never a CA certificate", () => {
    const leaf = (permitBeyondIssuer?: boolean) =>
      planCertificate(
        leafInput(inter, cachedKey('ec-p256').publicKey, now, {
          notAfter: now + 200 * DAY,
          profile: custom({ maxLifetimeMs: 400 * DAY }),
          permitBeyondIssuer,
        }),
      );
    const codes = (plan: CertificatePlan) => lintCertificate(plan, { now }).map((f) => f.code);
    expect(codes(leaf())).toContain('lint.lifetime_beyond_issuer');
    expect(codes(leaf(false))).toContain('lint.lifetime_beyond_issuer');
    expect(codes(leaf(true))).toEqual([]);
    const subCa = planCertificate(
      leafInput(root, cachedKey('ec-p256').publicKey, now, {
        profile: BUILT_IN_PROFILES['intermediate-ca'],
        sans: {},
        subject: [{ type: 'CN', value: 'Sub' }],
        pathLen: 0,
        notAfter: now + 20 * 365 * DAY,
        permitBeyondIssuer: true,
      }),
    );
    expect(codes(subCa)).toContain('lint.lifetime_beyond_issuer');
  });

  it('assertLintClean throws the first finding with all findings in details', () => {
    const plan = planCertificate(
      leafInput(root, cachedKey('ec-p256').publicKey, now, { sans: {}, serial: Uint8Array.of(0x80) }),
    );
    const findings = lintCertificate(plan, { now });
    try {
      assertLintClean(findings);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PkiError);
      expect((e as PkiError).code).toBe(findings[0]!.code);
      expect((e as PkiError).kind).toBe('policy');
      expect((e as PkiError).details.findings).toEqual(findings);
    }
  });

  it('reports a name outside the constraints once when the CN repeats the DNS SAN', () => {
    const p = planCertificate(
      leafInput(root, cachedKey('ec-p256').publicKey, now, {
        subject: [{ type: 'CN', value: 'www.other.org' }],
        sans: { dns: ['www.other.org', 'api.other.org'] },
      }),
    );
    const findings = lintCertificate(
      { ...p, issuerFacts: { ...p.issuerFacts!, nameConstraints: { permittedDns: ['example.com'] } } },
      { now },
    );
    expect(findings.map((f) => f.message)).toEqual([
      'dns:www.other.org is not within the permitted subtrees (example.com)',
      'dns:api.other.org is not within the permitted subtrees (example.com)',
    ]);
  });

  it("lintCaRequest finds what the lint finds of a CA's path length and name-constraint syntax (one rule)", () => {
    const ca = (issuer: IssuedCa, over: { pathLen?: number | null; nameConstraints?: NameConstraints }) =>
      planCertificate(
        leafInput(issuer, cachedKey('ec-p256').publicKey, now, {
          profile: BUILT_IN_PROFILES['intermediate-ca'],
          sans: {},
          subject: [{ type: 'CN', value: 'Sub' }],
          notAfter: now + 50 * DAY,
          ...over,
        }),
      );
    const badNc: NameConstraints = {
      permittedDns: ['a..b', 'a..b'], // a finding once
      excludedIp: ['10.0.0.1'],
      permittedUri: ['https://x'],
      permittedUriPrefixes: ['no scheme'],
      excludedEmail: ['@@'],
    };
    const plans = [
      ca(inter, {}), // issuer pathLen 0
      ca(root, { pathLen: 0 }), // clean
      ca(root, { pathLen: 0, nameConstraints: badNc }),
      ca(inter, { nameConstraints: badNc }),
      (() => {
        const p = ca(root, { pathLen: null, nameConstraints: { permittedDns: ['.example.com'] } });
        return { ...p, issuerFacts: { ...p.issuerFacts!, pathLen: 1 } };
      })(),
    ];
    const seen = new Set<string>();
    for (const plan of plans) {
      const ours = (f: { code: string; message: string }) =>
        f.code === 'lint.path_length_exceeded' || (f.code === 'lint.invalid_san' && f.message.includes('constraint'));
      const expected = lintCertificate(plan, { now }).filter(ours);
      const found = lintCaRequest({
        issuerPathLen: plan.issuerFacts?.pathLen,
        pathLen: plan.pathLen ?? null,
        nameConstraints: plan.nameConstraints,
      });
      expect(found).toEqual(expected);
      for (const f of found) seen.add(f.message);
    }
    expect(seen.size).toBe(7); // 2 path length messages, 5 constraint messages: the cases reach every rule
    expect(lintCaRequest({ pathLen: null })).toEqual([]); // a root without constraints
  });

  it('adds keyEncipherment only for RSA subject keys on tls-server', () => {
    expect(planCertificate(leafInput(root, cachedKey('rsa-2048').publicKey, now)).keyUsage).toEqual([
      'digitalSignature',
      'keyEncipherment',
    ]);
    expect(planCertificate(leafInput(root, cachedKey('ec-p256').publicKey, now)).keyUsage).toEqual([
      'digitalSignature',
    ]);
  });
});

describe('profiles', () => {
  it('resolves built-in and custom profiles and throws profile.not_found', async () => {
    expect(resolveProfile('tls-server').maxLifetimeMs).toBe(398 * DAY);
    expect(resolveProfile('root-ca').defaultLifetimeMs).toBe(3650 * DAY);
    const c = await parseProfile({
      ...BUILT_IN_PROFILES['tls-client'],
      name: 'partner-client',
      maxLifetimeMs: 30 * DAY,
      defaultLifetimeMs: 7 * DAY,
    });
    expect(resolveProfile('partner-client', [c])).toBe(c);
    expect(() => resolveProfile('nope')).toThrow(expect.objectContaining({ code: 'profile.not_found' }));
  });
  it('rejects invalid custom profiles with profile.invalid', async () => {
    await expect(parseProfile({ ...BUILT_IN_PROFILES['tls-server'], defaultLifetimeMs: 500 * DAY })).rejects.toThrow(
      expect.objectContaining({ code: 'profile.invalid' }),
    );
    await expect(parseProfile({ ...BUILT_IN_PROFILES['tls-server'], keyUsage: ['keyCertSign'] })).rejects.toThrow(
      expect.objectContaining({ code: 'profile.invalid' }),
    );
    await expect(parseProfile({ ...BUILT_IN_PROFILES['tls-server'], extra: 1 })).rejects.toThrow(
      expect.objectContaining({ code: 'profile.invalid' }),
    );
  });
  it('accepts every built-in profile under profileSchema', async () => {
    for (const p of Object.values(BUILT_IN_PROFILES)) await expect(parseProfile(p)).resolves.toEqual(p);
    expect(Object.keys(BUILT_IN_PROFILES).sort()).toEqual([
      'code-signing',
      'email-protection',
      'intermediate-ca',
      'ocsp-signing',
      'root-ca',
      'spiffe-svid',
      'tls-client',
      'tls-server',
      'tls-server-client',
      'vault-role',
    ]);
  });
});

describe('generateSerial', () => {
  it('produces 20 positive, minimally encoded, distinct bytes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = generateSerial();
      expect(s.length).toBe(20);
      expect(s[0]! & 0x80).toBe(0);
      expect(s[0]).not.toBe(0);
      seen.add(Buffer.from(s).toString('hex'));
    }
    expect(seen.size).toBe(2000);
  });

  it('starts with the time in milliseconds: a later serial sorts after an earlier one', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      let previous = '';
      for (let i = 0; i < 200; i++) {
        const t = Date.UTC(2026, 11, 4) + i * 997;
        vi.setSystemTime(t);
        const hex = Buffer.from(generateSerial()).toString('hex');
        expect(parseInt(hex.slice(0, 12), 16)).toBe(t);
        expect(hex > previous).toBe(true);
        previous = hex;
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
