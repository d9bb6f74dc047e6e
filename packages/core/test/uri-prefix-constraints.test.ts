import { beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PROFILES, lintCertificate, parseCertificate, planCertificate } from '../src/index';
import { cachedKey, leafInput, makeIntermediate, makeRoot, makeTestKey, type IssuedCa } from './helpers';

// permittedUriPrefixes: a PKI Manager policy constraint (RFC 5280 URI constraints cover only the host)
const now = Date.now();
let root: IssuedCa;
let transport: IssuedCa;
const prefixes = ['spiffe://example.org/envoy/app/', 'spiffe://example.org/envoy/transport/'];

beforeAll(async () => {
  root = await makeRoot(cachedKey('ec-p384'), now);
  transport = await makeIntermediate(root, cachedKey('ec-p256'), now, {
    pathLen: 0,
    nameConstraints: { permittedUri: ['example.org'], permittedUriPrefixes: prefixes },
  });
});

describe('policy-only URI prefix constraints', () => {
  it('encodes only the RFC 5280 host constraint into the CA certificate', () => {
    expect(parseCertificate(transport.der).nameConstraints).toEqual({ permittedUri: ['example.org'] });
  });

  it('lets the linter refuse a URI outside the prefixes and accept one inside', () => {
    const svid = (uri: string) =>
      lintCertificate(
        planCertificate(
          leafInput(transport, makeTestKey('ec-p256').publicKey, now, {
            profile: BUILT_IN_PROFILES['spiffe-svid'],
            subject: [],
            sans: { uri: [uri] },
            notAfter: now + 3_600_000,
            ancestorNameConstraints: [{ permittedUriPrefixes: prefixes }],
          }),
        ),
        { now },
      ).map((f) => f.code);
    expect(svid('spiffe://example.org/envoy/app/x')).toEqual([]);
    expect(svid('spiffe://example.org/orchestrator/x')).toEqual(['lint.name_constraints_violation']);
    // the host constraint in the certificate refuses another trust domain as well
    expect(svid('spiffe://evil.example/envoy/app/x')).toContain('lint.name_constraints_violation');
  });

  it('refuses a prefix that is not an absolute URI on a CA plan', () => {
    const plan = planCertificate({
      ...leafInput(root, makeTestKey('ec-p256').publicKey, now, { profile: BUILT_IN_PROFILES['intermediate-ca'] }),
      sans: undefined,
      subject: [{ type: 'CN', value: 'X' }],
      pathLen: 0,
      nameConstraints: { permittedUriPrefixes: ['not a uri'] },
    });
    expect(lintCertificate(plan, { now }).map((f) => f.code)).toContain('lint.invalid_san');
  });
});
