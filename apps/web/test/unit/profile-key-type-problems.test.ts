// Unit tests of what the Issue page says before submit (lib/pki.ts profileKeyTypeProblems) and which key types the
// Profiles list's badge names (warningKeyTypes), read from a profile's API `warnings` as toProfileSummaryDto writes
// them. The page against the real server: profile-warnings-console-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { toProfileSummaryDto } from '@pkim/contract';
import { keyTypeNotAllowedMessage } from '@pkim/core';
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
    expect(p.warnings.flatMap((w) => warningKeyTypes(w, p.allowedKeyTypes))).toEqual(['ec-p256', 'ec-p384']);
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
    // the server's words for it (checkProfileKeyType's refusal), then the code
    expect(profileKeyTypeProblems(p, 'ed25519')).toEqual([
      'profile p does not allow ed25519 keys (allowed: ec-p256, rsa-2048, rsa-4096): policy.key_type_not_allowed',
    ]);
    expect(keyTypeNotAllowedMessage(p, 'ed25519')).toBe(
      'profile p does not allow ed25519 keys (allowed: ec-p256, rsa-2048, rsa-4096)',
    );
    expect(warningKeyTypes('something else', p.allowedKeyTypes)).toEqual([]);
  });

  it("an rsaKeyUsage clash names the RSA sizes the profile allows, not every RSA size (the list's badge)", () => {
    const only2048 = profile({
      keyUsage: ['digitalSignature'],
      rsaKeyUsage: ['keyAgreement'],
      allowedKeyTypes: ['ec-p256', 'rsa-2048'],
    });
    expect(only2048.warnings).toHaveLength(1);
    expect(only2048.warnings[0]).toContain('is not possible with RSA keys');
    expect(warningKeyTypes(only2048.warnings[0], only2048.allowedKeyTypes)).toEqual(['rsa-2048']);
    const two = profile({
      keyUsage: ['digitalSignature'],
      rsaKeyUsage: ['keyAgreement'],
      allowedKeyTypes: ['rsa-4096', 'ec-p256', 'rsa-2048'],
    });
    expect(warningKeyTypes(two.warnings[0], two.allowedKeyTypes)).toEqual(['rsa-2048', 'rsa-4096']);
    // an EC line names only the EC types the profile allows too
    const ec = profile({ keyUsage: ['keyEncipherment'], allowedKeyTypes: ['ec-p384', 'rsa-3072'] });
    expect(ec.warnings.flatMap((w) => warningKeyTypes(w, ec.allowedKeyTypes))).toEqual(['ec-p384']);
  });
});
