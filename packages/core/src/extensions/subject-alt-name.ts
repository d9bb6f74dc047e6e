/** subjectAltName (RFC 5280 §4.2.1.6): DNS, IP, URI and email names; critical when the subject is empty. */
import { children, content, readWhole, type Tlv } from '../der-reader';
import { bytesToIp, encodeGeneralNames } from '../general-names';
import type { SubjectAltNames } from '../types';
import type { CertificateExtension } from './certificate-extension';

const latin1 = new TextDecoder('latin1');

/** GeneralNames SEQUENCE → the four SAN kinds PKI Manager issues (others are ignored). */
export function decodeGeneralNames(buf: Uint8Array, seqTlv: Tlv): SubjectAltNames {
  const out: SubjectAltNames = {};
  for (const g of children(buf, seqTlv)) {
    const c = content(buf, g);
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
