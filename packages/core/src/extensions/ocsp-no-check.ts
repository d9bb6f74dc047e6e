/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): a delegated OCSP responder's certificate is not checked by OCSP. */
import { readWhole } from '../der-reader';
import { NULL } from '../der-writer';
import type { CertificateExtension } from './certificate-extension';

/** Opt-in: profiles name it (`"extensions": ["ocspNoCheck"]`, or the older `"ocspNoCheck": true`). */
export const OCSP_NO_CHECK: CertificateExtension<true> = {
  name: 'ocspNoCheck',
  oid: '1.3.6.1.5.5.7.48.1.5',
  critical: false,
  optional: true,
  encode: () => NULL,
  decode(v) {
    const t = readWhole(v);
    if (t.tag !== 0x05 || t.end !== t.contentStart) throw new Error('ocspNoCheck must be NULL');
    return true;
  },
};
