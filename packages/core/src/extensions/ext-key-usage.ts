/** extKeyUsage (RFC 5280 §4.2.1.12): the profile's purposes (named, then `extKeyUsageOids`), non-critical. */
import { children, content, decodeOid, readWhole } from '../der-reader';
import { oid, seq } from '../der-writer';
import type { CertificateExtension } from './certificate-extension';

export const EKU_OIDS: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
};
const EKU_NAMES = new Map(Object.entries(EKU_OIDS).map(([k, v]) => [v, k]));

const ekuCache = new Map<string, Uint8Array>();
function encodeEku(eku: string[]): Uint8Array {
  const key = eku.join(',');
  let v = ekuCache.get(key);
  if (!v) {
    v = seq(...eku.map((e) => oid(EKU_OIDS[e] ?? e)));
    if (ekuCache.size >= 256) ekuCache.clear();
    ekuCache.set(key, v);
  }
  return v;
}

/** Known purposes by name (serverAuth, …), others as dotted OIDs. */
export const EXT_KEY_USAGE: CertificateExtension<string[]> = {
  name: 'extKeyUsage',
  oid: '2.5.29.37',
  critical: false,
  optional: false,
  encode(plan) {
    const oids = plan.profile.extKeyUsageOids;
    if (oids?.length) return encodeEku([...plan.extKeyUsage, ...oids]);
    return plan.extKeyUsage.length ? encodeEku(plan.extKeyUsage) : undefined;
  },
  decode: (v) =>
    children(v, readWhole(v)).map((c) => {
      const o = decodeOid(content(v, c));
      return EKU_NAMES.get(o) ?? o;
    }),
};
