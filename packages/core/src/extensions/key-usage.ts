/** keyUsage (RFC 5280 §4.2.1.3): a named BIT STRING, always critical here. */
import { content, readWhole } from '../der-reader';
import { bitString } from '../der-writer';
import type { KeyUsageName } from '../types';
import type { CertificateExtension } from './certificate-extension';

export const KEY_USAGE_BITS: KeyUsageName[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

const kuCache = new Map<string, Uint8Array>();
/** KeyUsage BIT STRING in DER (named bit list: trailing zero bits removed). */
export function encodeKeyUsage(ku: KeyUsageName[]): Uint8Array {
  const key = ku.join(',');
  let v = kuCache.get(key);
  if (v) return v;
  let bits = 0;
  for (const k of ku) bits |= 1 << KEY_USAGE_BITS.indexOf(k);
  let highest = -1;
  for (let i = 0; i < 9; i++) if (bits & (1 << i)) highest = i;
  const nBytes = highest < 0 ? 0 : (highest >> 3) + 1;
  const bytes = new Uint8Array(nBytes);
  for (let i = 0; i <= highest; i++) if (bits & (1 << i)) bytes[i >> 3]! |= 0x80 >> (i & 7);
  const unused = highest < 0 ? 0 : 7 - (highest & 7);
  v = bitString(bytes, unused);
  kuCache.set(key, v);
  return v;
}

export const KEY_USAGE: CertificateExtension<KeyUsageName[]> = {
  name: 'keyUsage',
  oid: '2.5.29.15',
  critical: true,
  optional: false,
  encode: (plan) => encodeKeyUsage(plan.keyUsage),
  decode(v) {
    const c = content(v, readWhole(v));
    const ku: KeyUsageName[] = [];
    KEY_USAGE_BITS.forEach((name, bit) => {
      const byte = 1 + (bit >> 3);
      if ((c[byte] ?? 0) & (0x80 >> (bit & 7))) ku.push(name);
    });
    return ku;
  },
};
