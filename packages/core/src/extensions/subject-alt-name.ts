/** subjectAltName (RFC 5280 §4.2.1.6): DNS, IP, URI and email names; critical when the subject is empty. */
import { DerError, children, content, readWhole, type Tlv } from '../der-reader';
import { bytesToIp, encodeGeneralNames } from '../general-names';
import type { SubjectAltNames } from '../types';
import type { CertificateExtension } from './certificate-extension';

const latin1 = new TextDecoder('latin1');
const GENERAL_NAME_TAGS = new Set([0xa0, 0x81, 0x82, 0xa3, 0xa4, 0xa5, 0x86, 0x87, 0x88]);

/** GeneralNames SEQUENCE → the four SAN kinds PKI Manager issues (others are ignored). */
export function decodeGeneralNames(buf: Uint8Array, seqTlv: Tlv): SubjectAltNames {
  const out: SubjectAltNames = {};
  if (seqTlv.tag !== 0x30) throw new DerError('GeneralNames is not a SEQUENCE');
  for (const g of children(buf, seqTlv)) {
    // a known choice in its DER form (otherName, x400Address, directoryName, ediPartyName are constructed)
    if (!GENERAL_NAME_TAGS.has(g.tag)) throw new DerError(`malformed GeneralName (tag 0x${g.tag.toString(16)})`);
    const c = content(buf, g);
    if (g.tag === 0x87 && c.length !== 4 && c.length !== 16) throw new DerError('an iPAddress SAN has 4 or 16 octets');
    if (g.tag === 0x82) (out.dns ??= []).push(latin1.decode(c));
    else if (g.tag === 0x87) (out.ip ??= []).push(bytesToIp(c));
    else if (g.tag === 0x86) (out.uri ??= []).push(latin1.decode(c));
    else if (g.tag === 0x81) (out.email ??= []).push(latin1.decode(c));
  }
  return out;
}

export const SUBJECT_ALT_NAME: CertificateExtension<SubjectAltNames> = {
  name: 'subjectAltName',
  oid: '2.5.29.17',
  critical: (plan) => plan.subject.length === 0,
  optional: false,
  encode(plan) {
    const sans = plan.sans;
    if (!sans || !(sans.dns?.length || sans.ip?.length || sans.uri?.length || sans.email?.length)) return undefined;
    return encodeGeneralNames(sans);
  },
  decode: (v) => decodeGeneralNames(v, readWhole(v)),
};
