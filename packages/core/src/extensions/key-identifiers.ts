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
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * the value of the last call: every certificate of a CA has its AKI, so the registry reuses the whole encoded
 * Extension (compared by its 20 bytes instead of four small allocations per certificate)
 */
let last: { key: Uint8Array; value: Uint8Array } | undefined;

export const AUTHORITY_KEY_IDENTIFIER: CertificateExtension<Uint8Array | null> = {
  name: 'authorityKeyIdentifier',
  oid: '2.5.29.35',
  critical: false,
  optional: false,
  encode(plan) {
    const key = plan.authorityKeyIdentifier;
    if (last && sameBytes(last.key, key)) return last.value;
    const value = seq(implicitPrimitive(0, key));
    last = { key: new Uint8Array(key), value }; // a copy: the caller's array may change after the call
    return value;
  },
  decode(v) {
    const k = children(v, readWhole(v)).find((c) => c.tag === 0x80);
    return k ? content(v, k) : null;
  },
};
