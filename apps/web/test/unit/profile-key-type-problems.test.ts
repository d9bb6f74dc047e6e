// Unit tests of what the Issue page says before submit (lib/pki.ts profileKeyTypeProblems) and which key types the
// Profiles list's badge names (warningKeyTypes), read from a profile's API `warnings` as toProfileSummaryDto writes
// them. The page against the real server: profile-warnings-console-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { toProfileSummaryDto } from '@pkim/contract';
import { profileKeyTypeProblems, warningKeyTypes } from '../../src/lib/pki';

const profile = (p: { keyUsage: string[]; rsaKeyUsage?: string[]; allowedKeyTypes: string[] }) =>
  toProfileSummaryDto(
    {
      name: 'p',
      isCa: false,
      extKeyUsage: ['serverAuth'],
      allowedSanTypes: ['dns'],
      sanRequired: false,
      defaultLifetimeMs: 86_400_000,
      maxLifetimeMs: 86_400_000,
      ...p,
    },
    'file',
  );

describe('profileKeyTypeProblems', () => {
  it("names the profile's warnings about the chosen key type, every EC type of one line, none for the others", () => {
    const p = profile({
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      allowedKeyTypes: ['ec-p256', 'ec-p384', 'rsa-2048'],
    });
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings.flatMap(warningKeyTypes)).toEqual(['ec-p256', 'ec-p384']);
    expect(profileKeyTypeProblems(p, 'ec-p256')).toEqual(p.warnings);
    expect(profileKeyTypeProblems(p, 'ec-p384')).toEqual(p.warnings);
    expect(profileKeyTypeProblems(p, 'rsa-2048')).toEqual([]);
  });

  it('an rsaKeyUsage clash is about every RSA key; a key type the profile does not allow is said too', () => {
    const p = profile({
      keyUsage: ['digitalSignature'],
      rsaKeyUsage: ['keyAgreement'],
      allowedKeyTypes: ['ec-p256', 'rsa-2048', 'rsa-4096'],
    });
    expect(profileKeyTypeProblems(p, 'rsa-4096')).toEqual(p.warnings);
    expect(profileKeyTypeProblems(p, 'ec-p256')).toEqual([]);
    expect(profileKeyTypeProblems(p, 'ed25519')).toEqual([
      'the profile allows only ec-p256, rsa-2048, rsa-4096 keys: policy.key_type_not_allowed',
    ]);
    expect(warningKeyTypes('something else')).toEqual([]);
  });
});
