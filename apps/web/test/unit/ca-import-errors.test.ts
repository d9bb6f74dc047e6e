// Unit tests of importErrorField (lib/ca-import.ts): which field of the console's "Import an existing CA" form a
// refusal of `ca.importExisting` is shown under, from the server's code and the `reason` in its details. The form
// around it, against the real server: console-ca-import-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { importErrorField } from '../../src/lib/ca-import';

const refusal = (code: string, reason?: string, message = 'refused', path?: string) => ({
  code,
  message,
  ...(reason ? { details: { reason } } : {}),
  ...(path ? { issues: [{ path, message }] } : {}),
});

describe('importErrorField', () => {
  it.each([
    [refusal('ca.certificate_mismatch', 'key_mismatch'), 'privateKey'],
    [refusal('ca.certificate_mismatch', 'not_ca'), 'certificate'],
    [refusal('ca.certificate_mismatch', 'no_key_cert_sign'), 'certificate'],
    [refusal('ca.certificate_mismatch', 'no_key_usage'), 'certificate'],
    [refusal('ca.certificate_mismatch', 'expired'), 'certificate'],
    [refusal('key.invalid', 'password_required'), 'keyPassword'],
    [refusal('key.invalid', 'password_wrong'), 'keyPassword'],
    [refusal('key.invalid'), 'privateKey'],
    [refusal('certificate.invalid'), 'certificate'],
    [refusal('ca.issuer_unverified'), 'issuerCertificate'],
    [refusal('ca.name_taken'), 'name'],
    [refusal('ca.name_taken', 'already_imported'), 'certificate'],
    [refusal('kms.unsupported'), 'backend'],
    [refusal('kms.config_invalid'), 'backend'],
    [refusal('input.invalid', undefined, 'Too big', 'privateKey'), 'privateKey'],
    [refusal('input.invalid', undefined, 'Invalid option', 'backend'), 'backend'],
    [refusal('input.invalid', undefined, "invalid CA name 'x/y': 1-64 characters"), 'name'],
    [
      refusal('input.invalid', undefined, 'a self-signed root has no issuer: give no issuer certificate'),
      'issuerCertificate',
    ],
  ])('%j → %s', (e, field) => {
    expect(importErrorField(e)).toBe(field);
  });

  it.each([refusal('auth.forbidden'), refusal('internal.error'), refusal('input.invalid', undefined, 'invalid input')])(
    '%j → no field: shown above the button',
    (e) => {
      expect(importErrorField(e)).toBeUndefined();
    },
  );
});
