import type { ApiErrorInfo } from './trpc';

/** the fields of the console's import of an existing CA (`ca.importExisting`'s input) */
const FIELDS = ['certificate', 'privateKey', 'keyPassword', 'issuerCertificate', 'name', 'backend'] as const;
export type ImportField = (typeof FIELDS)[number];

/** the short title of a refusal, by the `reason` the server puts in its details */
export const REASON_TITLES: Record<string, string> = {
  key_mismatch: 'Not this certificate’s key',
  not_ca: 'Not a CA certificate',
  no_key_cert_sign: 'Not allowed to sign certificates',
  no_key_usage: 'No keyUsage extension',
  expired: 'Expired',
  already_imported: 'Already here',
  password_required: 'Encrypted key',
  password_wrong: 'Wrong passphrase',
};

/**
 * The field a refusal of `ca.importExisting` is about, from its code and the `reason` in its details (the service's
 * checks: key ↔ certificate, CA:TRUE, keyCertSign, dates, the key's encryption), or undefined: shown above the button.
 */
export function importErrorField(e: ApiErrorInfo): ImportField | undefined {
  const reason = typeof e.details?.reason === 'string' ? e.details.reason : undefined;
  switch (e.code) {
    case 'certificate.invalid':
      return 'certificate';
    case 'ca.certificate_mismatch':
      return reason === 'key_mismatch' ? 'privateKey' : 'certificate';
    case 'key.invalid':
      return reason === 'password_required' || reason === 'password_wrong' ? 'keyPassword' : 'privateKey';
    case 'ca.issuer_unverified':
      return 'issuerCertificate';
    case 'ca.name_taken':
      return reason === 'already_imported' ? 'certificate' : 'name';
    case 'input.invalid': {
      // the schema's refusal names the field; the service's (a CA name made from the CN, an issuer given to a root)
      // only says it in words
      const path = e.issues?.[0]?.path;
      if (path && (FIELDS as readonly string[]).includes(path)) return path as ImportField;
      if (e.message.includes('issuer')) return 'issuerCertificate';
      return e.message.includes('CA name') ? 'name' : undefined;
    }
    default:
      return e.code.startsWith('kms.') ? 'backend' : undefined;
  }
}

export const CODE_TITLES: Record<string, string> = {
  'certificate.invalid': 'Not a certificate',
  'key.invalid': 'Unreadable key',
  'ca.issuer_unverified': 'Issuer not verified',
  'ca.name_taken': 'Name taken',
  'input.invalid': 'Invalid',
};
