/**
 * The Certificate Transparency precertificate poison (RFC 6962 §3.1): a critical NULL extension that
 * makes a precertificate unusable as a certificate. Opt-in by profile data (`"extensions": ["ctPoison"]`).
 */
import { readWhole } from '../der-reader';
import { NULL } from '../der-writer';
import type { CertificateExtension } from './certificate-extension';

export const CT_POISON: CertificateExtension<true> = {
  name: 'ctPoison',
  oid: '1.3.6.1.4.1.11129.2.4.3',
  critical: true,
  optional: true,
  encode: () => NULL,
  decode(v) {
    const t = readWhole(v);
    if (t.tag !== 0x05 || t.end !== t.contentStart) throw new Error('the CT poison must be NULL');
    return true;
  },
};
