/**
 * nameConstraints (RFC 5280 §4.2.1.10): permitted/excluded DNS, IP, URI (host) and email subtrees on CA
 * certificates.
 */
import { at, children, content, readWhole, type Tlv } from '../der-reader';
import {
  cidrFromBytes,
  encodableNameConstraints,
  encodeNameConstraints,
  isEmptyNameConstraints,
} from '../general-names';
import type { NameConstraints } from '../types';
import type { CertificateExtension } from './certificate-extension';

const latin1 = new TextDecoder('latin1');

function decodeNameConstraints(buf: Uint8Array, t: Tlv): NameConstraints {
  const nc: NameConstraints = {};
  for (const part of children(buf, t)) {
    const permitted = part.tag === 0xa0;
    for (const subtree of children(buf, part)) {
      const g = at(children(buf, subtree), 0, 'GeneralSubtree base');
      const c = content(buf, g);
      const push = (k: keyof NameConstraints, v: string): void => {
        (nc[k] ??= []).push(v);
      };
      if (g.tag === 0x82) push(permitted ? 'permittedDns' : 'excludedDns', latin1.decode(c));
      else if (g.tag === 0x87) push(permitted ? 'permittedIp' : 'excludedIp', cidrFromBytes(c));
      else if (g.tag === 0x86) push(permitted ? 'permittedUri' : 'excludedUri', latin1.decode(c));
      else if (g.tag === 0x81) push(permitted ? 'permittedEmail' : 'excludedEmail', latin1.decode(c));
    }
  }
  return nc;
}

export const NAME_CONSTRAINTS: CertificateExtension<NameConstraints> = {
  name: 'nameConstraints',
  oid: '2.5.29.30',
  critical: true,
  optional: false,
  encode(plan) {
    if (!plan.profile.isCa) return undefined;
    // policy-only constraints (permittedUriPrefixes) are enforced by the linter, never encoded
    const encodable = encodableNameConstraints(plan.nameConstraints);
    return isEmptyNameConstraints(encodable) ? undefined : encodeNameConstraints(encodable!);
  },
  decode: (v) => decodeNameConstraints(v, readWhole(v)),
};
