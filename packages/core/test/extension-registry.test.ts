/**
 * The certificate extension registry: every registered extension encodes through the fast DER writer
 * and reads back with its own decoder and with @peculiar/asn1-x509; optional extensions are switched
 * on by profile data only; openssl shows what we encoded.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_PATH_LEN, PATH_LEN_MESSAGE } from '@pkim/shared';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  KeyIdentifier,
  Certificate,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  GeneralName,
} from '@peculiar/asn1-x509';
import {
  BUILT_IN_PROFILES,
  CERTIFICATE_EXTENSIONS,
  OPTIONAL_EXTENSION_NAMES,
  extensionByOid,
  issueCertificate,
  parseProfile,
  planCertificate,
  toPem,
  type CertificatePlan,
  type Profile,
} from '../src/index';
import { readCertificate } from '../src/certificate-parser';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { leafInput, makeIntermediate, makeRoot, makeTestKey, type IssuedCa } from './helpers';

const now = Date.now();
let root: IssuedCa;
let sub: IssuedCa;

beforeAll(async () => {
  root = await makeRoot(makeTestKey('ec-p256'), now);
  sub = await makeIntermediate(root, makeTestKey('ec-p256'), now, {
    nameConstraints: { permittedDns: ['.example.com'], excludedIp: ['10.0.0.0/8'] },
  });
});

async function issue(profile: Profile, over: Parameters<typeof leafInput>[3] = {}): Promise<Uint8Array> {
  return issueCertificate(
    planCertificate(
      leafInput(sub, makeTestKey('ec-p256').publicKey, now, {
        profile,
        crlDistributionPoints: ['http://crl.example.com/sub.crl'],
        ocspUrls: ['http://ocsp.example.com'],
        caIssuersUrls: ['http://ca.example.com/sub.cer'],
        ...over,
      }),
    ),
    sub.key.sign,
    { now },
  );
}

describe('certificate extension registry', () => {
  it('has one entry per OID, each with its own file-level encoder and decoder', () => {
    const oids = CERTIFICATE_EXTENSIONS.map((e) => e.oid);
    expect(new Set(oids).size).toBe(oids.length);
    for (const e of CERTIFICATE_EXTENSIONS) {
      expect(extensionByOid(e.oid)).toBe(e);
      expect(typeof e.encode).toBe('function');
      expect(typeof e.decode).toBe('function');
    }
    expect(OPTIONAL_EXTENSION_NAMES).toEqual(['ocspNoCheck', 'ctPoison']);
  });

  it('decodes what it encoded, for every extension a leaf and a constrained CA carry', async () => {
    const leaf = await issue(BUILT_IN_PROFILES['tls-server'], {
      sans: { dns: ['www.example.com'], ip: ['192.0.2.1', '2001:db8::1'] },
    });
    const seen = new Map<string, unknown>();
    for (const der of [leaf, sub.der]) {
      for (const x of readCertificate(der).extensions) {
        const ext = extensionByOid(x.oid);
        expect(ext, `extension ${x.oid} is registered`).toBeDefined();
        const critical = typeof ext!.critical === 'boolean' ? ext!.critical : undefined;
        if (critical !== undefined) expect(x.critical, ext!.name).toBe(critical);
        seen.set(`${der === leaf ? 'leaf' : 'ca'}:${ext!.name}`, ext!.decode(x.value));
      }
    }
    expect(seen.get('leaf:basicConstraints')).toEqual({ ca: false, pathLen: null });
    expect(seen.get('leaf:keyUsage')).toEqual(['digitalSignature']);
    expect(seen.get('leaf:extKeyUsage')).toEqual(['serverAuth']);
    expect(seen.get('leaf:subjectAltName')).toEqual({ dns: ['www.example.com'], ip: ['192.0.2.1', '2001:db8::1'] });
    expect(seen.get('leaf:cRLDistributionPoints')).toEqual(['http://crl.example.com/sub.crl']);
    expect(seen.get('leaf:authorityInfoAccess')).toEqual({
      ocsp: ['http://ocsp.example.com'],
      caIssuers: ['http://ca.example.com/sub.cer'],
    });
    expect(Buffer.from(seen.get('leaf:authorityKeyIdentifier') as Uint8Array)).toEqual(
      Buffer.from(seen.get('ca:subjectKeyIdentifier') as Uint8Array),
    );
    expect(seen.get('ca:basicConstraints')).toEqual({ ca: true, pathLen: 0 });
    expect(seen.get('ca:nameConstraints')).toEqual({ permittedDns: ['.example.com'], excludedIp: ['10.0.0.0/8'] });
    expect(seen.has('leaf:ocspNoCheck')).toBe(false);
    expect(seen.has('leaf:ctPoison')).toBe(false);
  });

  it('adds an optional extension only when the profile names it (CT poison: one file plus profile data)', async () => {
    const precert = await parseProfile({
      ...BUILT_IN_PROFILES['tls-server'],
      name: 'tls-server-precert',
      extensions: ['ctPoison'],
    });
    const der = await issue(precert);
    const exts = readCertificate(der).extensions;
    const poison = exts.find((e) => e.oid === '1.3.6.1.4.1.11129.2.4.3');
    expect(poison?.critical).toBe(true);
    expect(Buffer.from(poison!.value)).toEqual(Buffer.from([0x05, 0x00]));
    expect(new Uint8Array(AsnConvert.serialize(AsnConvert.parse(der, Certificate)))).toEqual(der);
    const pem = toPem(der, 'CERTIFICATE');
    expect(opensslText(pem)).toMatch(/CT Precertificate Poison: critical/);
    // a critical extension a verifier does not process makes the certificate unusable, as RFC 6962 wants
    const v = opensslVerify({ leafPem: pem, chainPems: [sub.pem], rootPem: root.pem, purpose: 'sslserver' });
    expect(v.ok).toBe(false);
    // the same profile without the extension verifies (positive control)
    const plain = toPem(await issue(BUILT_IN_PROFILES['tls-server']), 'CERTIFICATE');
    const ok = opensslVerify({ leafPem: plain, chainPems: [sub.pem], rootPem: root.pem, purpose: 'sslserver' });
    expect(ok.ok, ok.output).toBe(true);
  });

  it('keeps the ocspNoCheck: true spelling; the built-in ocsp-signing profile has id-pkix-ocsp-nocheck', async () => {
    const legacy = await parseProfile({
      ...BUILT_IN_PROFILES['ocsp-signing'],
      name: 'legacy-ocsp',
      extensions: undefined,
      ocspNoCheck: true,
    });
    for (const profile of [BUILT_IN_PROFILES['ocsp-signing'], legacy]) {
      const der = await issue(profile, { sans: {} });
      expect(opensslText(toPem(der, 'CERTIFICATE'))).toContain('OCSP No Check');
    }
  });

  it('refuses a profile that names an unknown or non-optional extension with profile.invalid', async () => {
    for (const extensions of [['noSuchExtension'], ['basicConstraints']]) {
      await expect(parseProfile({ ...BUILT_IN_PROFILES['tls-server'], name: 'bad-ext', extensions })).rejects.toThrow(
        expect.objectContaining({ code: 'profile.invalid' }),
      );
    }
  });

  // one path-length limit for custom profiles, the API and the CLI (MAX_PATH_LEN, @pkim/shared), one message
  it('takes a CA profile pathLen up to MAX_PATH_LEN, refuses one above it with profile.invalid', async () => {
    const ca = { ...BUILT_IN_PROFILES['intermediate-ca'], name: 'deep-ca' };
    expect((await parseProfile({ ...ca, pathLen: MAX_PATH_LEN })).pathLen).toBe(MAX_PATH_LEN);
    for (const pathLen of [MAX_PATH_LEN + 1, -1, 1.5]) {
      await expect(parseProfile({ ...ca, pathLen })).rejects.toThrow(
        expect.objectContaining({ code: 'profile.invalid', message: `invalid profile: pathLen: ${PATH_LEN_MESSAGE}` }),
      );
    }
  });

  it('encodes pathLen and criticality per certificate, not from a stale cache', async () => {
    const deep = await makeIntermediate(root, makeTestKey('ec-p256'), now, { pathLen: 3 });
    const unlimited = readCertificate(root.der).extensions.find((e) => e.oid === '2.5.29.19')!;
    const three = readCertificate(deep.der).extensions.find((e) => e.oid === '2.5.29.19')!;
    expect(extensionByOid('2.5.29.19')!.decode(unlimited.value)).toEqual({ ca: true, pathLen: null });
    expect(extensionByOid('2.5.29.19')!.decode(three.value)).toEqual({ ca: true, pathLen: 3 });
    // SAN is critical exactly when the subject is empty (SPIFFE SVID) and not otherwise
    const svid = await issue(BUILT_IN_PROFILES['spiffe-svid'], {
      subject: [],
      sans: { uri: ['spiffe://example.com/web'] },
      notAfter: now + 3_600_000 - 120_000,
    });
    const named = await issue(BUILT_IN_PROFILES['tls-server']);
    const san = (der: Uint8Array) => readCertificate(der).extensions.find((e) => e.oid === '2.5.29.17')!;
    expect(san(svid).critical).toBe(true);
    expect(san(named).critical).toBe(false);
  });

  it('encodes CRL and AIA URLs as @peculiar/asn1-x509 does, from its per-CA cache the same (fast-check)', () => {
    const cdp = extensionByOid('2.5.29.31')!;
    const aia = extensionByOid('1.3.6.1.5.5.7.1.1')!;
    const uri = (u: string) => new GeneralName({ uniformResourceIdentifier: u });
    const peculiarCdp = (urls: string[]) =>
      AsnConvert.serialize(
        new CRLDistributionPoints(
          urls.map(
            (u) => new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [uri(u)] }) }),
          ),
        ),
      );
    const peculiarAia = (ocsp: string[], caIssuers: string[]) =>
      AsnConvert.serialize(
        new AuthorityInfoAccessSyntax([
          ...ocsp.map((u) => new AccessDescription({ accessMethod: '1.3.6.1.5.5.7.48.1', accessLocation: uri(u) })),
          ...caIssuers.map(
            (u) => new AccessDescription({ accessMethod: '1.3.6.1.5.5.7.48.2', accessLocation: uri(u) }),
          ),
        ]),
      );
    const hex = (b: ArrayBuffer | Uint8Array | undefined) =>
      b ? Buffer.from(new Uint8Array(b)).toString('hex') : undefined;
    // the encoders read only the URL fields of a plan
    const plan = (crl: string[], ocsp: string[], caIssuers: string[]) =>
      ({ crlDistributionPoints: crl, ocspUrls: ocsp, caIssuersUrls: caIssuers }) as unknown as CertificatePlan;
    // few distinct URLs, so lists repeat (cache hits) and differ by one URL, order or split
    const url = fc.constantFrom(
      'http://a.example/x.crl',
      'http://a.example/y',
      'http://b/',
      'ldap://c/d?e',
      'http://a',
    );
    const urls = fc.array(url, { maxLength: 3 });
    fc.assert(
      fc.property(urls, urls, urls, (crl, ocsp, caIssuers) => {
        const [c1, a1] = [cdp.encode(plan(crl, ocsp, caIssuers)), aia.encode(plan(crl, ocsp, caIssuers))];
        expect(hex(c1)).toBe(crl.length ? hex(peculiarCdp(crl)) : undefined);
        expect(hex(a1)).toBe(ocsp.length || caIssuers.length ? hex(peculiarAia(ocsp, caIssuers)) : undefined);
        // again with equal lists in new arrays (as each worker job gets them): the same bytes
        const [c2, a2] = [
          cdp.encode(plan([...crl], [...ocsp], [...caIssuers])),
          aia.encode(plan([...crl], [...ocsp], [...caIssuers])),
        ];
        expect([hex(c2), hex(a2)]).toEqual([hex(c1), hex(a1)]);
        // OCSP and caIssuers URLs are not interchangeable in the cache key
        if (ocsp.join() !== caIssuers.join()) expect(hex(aia.encode(plan(crl, caIssuers, ocsp)))).not.toBe(hex(a1));
        // the same arrays changed in place after a call (the last lists are remembered as copies): the new URLs
        const [crl2, ocsp2]: [string[], string[]] = [[...crl], [...ocsp]];
        cdp.encode(plan(crl2, ocsp2, caIssuers));
        aia.encode(plan(crl2, ocsp2, caIssuers));
        crl2.push('http://changed.example/c.crl');
        ocsp2.splice(0, 1, 'http://changed.example/ocsp');
        expect(hex(cdp.encode(plan(crl2, ocsp2, caIssuers)))).toBe(hex(peculiarCdp(crl2)));
        expect(hex(aia.encode(plan(crl2, ocsp2, caIssuers)))).toBe(hex(peculiarAia(ocsp2, caIssuers)));
      }),
      { numRuns: Number(process.env.PKIM_FUZZ_RUNS ?? 300), seed: Number(process.env.PKIM_FUZZ_SEED ?? 20261203) },
    );
  });

  it('encodes the AKI as @peculiar/asn1-x509 does, from the last issuer value the same (fast-check)', () => {
    const aki = extensionByOid('2.5.29.35')!;
    const plan = (k: Uint8Array) => ({ authorityKeyIdentifier: k }) as unknown as CertificatePlan;
    const hex = (b: ArrayBuffer | Uint8Array | undefined) => (b ? Buffer.from(new Uint8Array(b)).toString('hex') : '');
    const peculiar = (k: Uint8Array) =>
      hex(AsnConvert.serialize(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(new Uint8Array(k)) })));
    // few distinct keys, so an issuer repeats (last value hit) or alternates with another (miss)
    const key = fc.constantFrom(...[1, 2, 3].map((n) => new Uint8Array(20).fill(n)), new Uint8Array(32).fill(1));
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 8 }), (keys) => {
        for (const k of keys) {
          expect(hex(aki.encode(plan(k)))).toBe(peculiar(k));
          // equal bytes in a new array: the same value
          expect(hex(aki.encode(plan(new Uint8Array(k))))).toBe(peculiar(k));
        }
        // the caller's array changed in place after a call (the last key is kept as a copy): the new bytes
        const mine = new Uint8Array(keys[0]!);
        aki.encode(plan(mine));
        mine[0] = 0xee;
        expect(hex(aki.encode(plan(mine)))).toBe(peculiar(mine));
      }),
      { numRuns: Number(process.env.PKIM_FUZZ_RUNS ?? 300), seed: Number(process.env.PKIM_FUZZ_SEED ?? 20261203) },
    );
  });
});
