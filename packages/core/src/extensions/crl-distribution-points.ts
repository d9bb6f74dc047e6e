/** cRLDistributionPoints (RFC 5280 §4.2.1.13): one distributionPoint fullName URI per CRL URL. */
import { children, content, readWhole } from '../der-reader';
import { seq, tlv } from '../der-writer';
import { uriGeneralName } from '../general-names';
import type { CertificateExtension } from './certificate-extension';

const latin1 = new TextDecoder('latin1');

export const CRL_DISTRIBUTION_POINTS: CertificateExtension<string[]> = {
  name: 'cRLDistributionPoints',
  oid: '2.5.29.31',
  critical: false,
  optional: false,
  encode: (plan) =>
    plan.crlDistributionPoints?.length
      ? seq(...plan.crlDistributionPoints.map((u) => seq(tlv(0xa0, tlv(0xa0, uriGeneralName(u))))))
      : undefined,
  decode(v) {
    const urls: string[] = [];
    for (const dp of children(v, readWhole(v))) {
      for (const name of children(v, dp)) {
        if (name.tag !== 0xa0) continue; // distributionPoint
        for (const full of children(v, name)) {
          if (full.tag !== 0xa0) continue; // fullName
          for (const g of children(v, full)) if (g.tag === 0x86) urls.push(latin1.decode(content(v, g)));
        }
      }
    }
    return urls;
  },
};
