/** subjectKeyIdentifier and authorityKeyIdentifier (RFC 5280 §4.2.1.1–2): keyIdentifier only. */
import { children, content, readWhole } from '../der-reader';
import { implicitPrimitive, octetString, seq } from '../der-writer';
import type { CertificateExtension } from './certificate-extension';

export const SUBJECT_KEY_IDENTIFIER: CertificateExtension<Uint8Array> = {
  name: 'subjectKeyIdentifier',
  oid: '2.5.29.14',
  critical: false,
  optional: false,
  encode: (plan) => octetString(plan.subjectKeyIdentifier),
  decode: (v) => content(v, readWhole(v)),
};

/** Decodes to the keyIdentifier, or null when the extension names the issuer another way. */
export const AUTHORITY_KEY_IDENTIFIER: CertificateExtension<Uint8Array | null> = {
  name: 'authorityKeyIdentifier',
  oid: '2.5.29.35',
  critical: false,
  optional: false,
  encode: (plan) => seq(implicitPrimitive(0, plan.authorityKeyIdentifier)),
  decode(v) {
    const k = children(v, readWhole(v)).find((c) => c.tag === 0x80);
    return k ? content(v, k) : null;
  },
};
