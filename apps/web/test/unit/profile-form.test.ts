// Unit tests of the Profiles page's form helpers (lib/profile-form.ts, no browser): which field a refusal of
// profiles.create/update stands under (details.issues paths, a name clash), what the form refuses before sending, the
// payload it sends and lifetimes as `pkim profile list` prints them. The page against the real server:
// profiles-console-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import {
  EMPTY_PROFILE_FORM,
  lifetimeText,
  profileErrorFields,
  profileFormErrors,
  profileFormToInput,
  profileToForm,
  type ProfileDto,
} from '../../src/lib/profile-form';

const invalid = (issues: { path: string; message: string }[]) => ({
  code: 'profile.invalid',
  message: 'invalid profile',
  details: { issues },
});

describe('profileErrorFields', () => {
  it('puts each issue under its field; the schema’s …Ms paths under the lifetimes', () => {
    expect(
      profileErrorFields(
        invalid([
          { path: 'maxLifetime', message: 'exceeds the maximum' },
          { path: 'defaultLifetimeMs', message: 'must not exceed maxLifetimeMs' },
          { path: 'extKeyUsage.1', message: 'invalid option' },
          { path: 'keyUsage', message: 'a' },
          { path: 'keyUsage', message: 'b' },
        ]),
      ),
    ).toEqual({
      fields: {
        maxLifetime: 'exceeds the maximum',
        defaultLifetime: 'must not exceed maxLifetimeMs',
        extKeyUsage: 'invalid option',
        keyUsage: 'a; b',
      },
      unplaced: false,
    });
  });
  it('leaves a problem without a form field, or a refusal without issues, to the message with its code', () => {
    expect(profileErrorFields(invalid([{ path: '', message: 'policy' }])).unplaced).toBe(true);
    expect(profileErrorFields(invalid([{ path: 'maxSans', message: 'x' }]))).toEqual({ fields: {}, unplaced: true });
    expect(profileErrorFields({ code: 'profile.in_use', message: 'used' })).toEqual({ fields: {}, unplaced: true });
  });
  it('shows a name clash under the name', () => {
    expect(profileErrorFields({ code: 'profile.exists', message: 'exists already' })).toEqual({
      fields: { name: 'exists already' },
      unplaced: false,
    });
  });
});

describe('profileFormErrors', () => {
  it('accepts the defaults with a name', () => {
    expect(profileFormErrors({ ...EMPTY_PROFILE_FORM, name: 'lab-client' })).toEqual({});
  });
  it('refuses what it can tell before sending', () => {
    expect(
      profileFormErrors({
        ...EMPTY_PROFILE_FORM,
        name: 'Lab',
        keyUsage: ['keyCertSign'],
        extKeyUsageOids: '1.3.6.1 x.y',
        allowedKeyTypes: [],
        defaultLifetime: '90 days',
        maxLifetime: '',
      }),
    ).toEqual({
      name: expect.stringContaining('Lowercase') as string,
      keyUsage: 'keyCertSign is for CA profiles',
      extKeyUsageOids: expect.stringContaining("'x.y' is not a dotted OID") as string,
      allowedKeyTypes: 'At least one key type',
      defaultLifetime: 'A duration such as 90d, 1y or 8760h',
      maxLifetime: 'A duration such as 90d, 1y or 8760h',
    });
    expect(profileFormErrors({ ...EMPTY_PROFILE_FORM, name: 'ca', isCa: true }).keyUsage).toBe(
      'A CA profile needs keyCertSign',
    );
  });
  it('refuses a key usage a key type allowed cannot carry (the linter would refuse every such certificate)', () => {
    const form = { ...EMPTY_PROFILE_FORM, name: 'web', keyUsage: ['digitalSignature', 'keyEncipherment'] };
    expect(profileFormErrors({ ...form, allowedKeyTypes: ['ec-p256'] })).toEqual({
      keyUsage: 'keyEncipherment is not possible with ec-p256 keys',
    });
    expect(profileFormErrors({ ...form, allowedKeyTypes: ['rsa-2048', 'ec-p256', 'ed25519'] }).keyUsage).toBe(
      'keyEncipherment is not possible with ec-p256, ed25519 keys',
    );
    expect(profileFormErrors({ ...form, allowedKeyTypes: ['rsa-2048', 'rsa-4096'] })).toEqual({});
    expect(
      profileFormErrors({ ...form, keyUsage: ['keyAgreement'], allowedKeyTypes: ['rsa-2048', 'ec-p384'] }).keyUsage,
    ).toBe('keyAgreement is not possible with rsa-2048 keys');
  });
});

describe('profileFormToInput', () => {
  const dto: ProfileDto = {
    name: 'lab',
    source: 'api',
    description: null,
    isCa: false,
    allowedSanTypes: ['dns'],
    sanRequired: true,
    requiredSanTypes: ['dns'],
    allowedUriSchemes: null,
    maxUriSans: null,
    maxSans: 7,
    maxSanBytes: null,
    effectiveMaxSans: 7,
    effectiveMaxSanBytes: 16384,
    allowedKeyTypes: ['ec-p256'],
    defaultLifetime: '365d',
    maxLifetime: '730d',
    keyUsage: ['digitalSignature'],
    rsaKeyUsage: ['keyEncipherment'],
    extKeyUsage: ['clientAuth'],
    extKeyUsageOids: ['1.3.6.1.4.1.32473.9.3'],
    certificatePolicies: [{ oid: '2.23.140.1.2.1' }],
    pathLen: null,
    extensions: [],
    allowKeyReuse: true,
    warnings: [],
  };
  it('sends every field of the form and keeps, on an edit, the fields it does not show', () => {
    const form = profileToForm(dto);
    expect(form).toMatchObject({ defaultLifetime: '1y', maxLifetime: '2y', extKeyUsageOids: '1.3.6.1.4.1.32473.9.3' });
    expect(profileFormToInput(form, dto)).toEqual({
      name: 'lab',
      isCa: false,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
      extKeyUsageOids: ['1.3.6.1.4.1.32473.9.3'],
      allowedSanTypes: ['dns'],
      sanRequired: true,
      allowedKeyTypes: ['ec-p256'],
      defaultLifetime: '1y',
      maxLifetime: '2y',
      certificatePolicies: [{ oid: '2.23.140.1.2.1' }],
      rsaKeyUsage: ['keyEncipherment'],
      allowKeyReuse: true,
      requiredSanTypes: ['dns'],
      maxSans: 7,
    });
  });
});

describe('lifetimeText', () => {
  it.each([
    ['365d', '1y'],
    ['3650d', '10y'],
    ['398d', '398d'],
    ['36h', '36h'],
  ])('%s → %s', (api, shown) => expect(lifetimeText(api)).toBe(shown));
});
