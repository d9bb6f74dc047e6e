/** cRLDistributionPoints (RFC 5280 §4.2.1.13): one distributionPoint fullName URI per CRL URL. */
import { children, content, readWhole } from '../der-reader';
import { seq, tlv } from '../der-writer';
import { uriGeneralName } from '../general-names';
import { urlListsValue, type CertificateExtension } from './certificate-extension';

/** the CRL URLs of a CA (or of one of its partitions) repeat for each of its certificates */
const valueOf = urlListsValue((urls: string[]) =>
  seq(...urls.map((u) => seq(tlv(0xa0, tlv(0xa0, uriGeneralName(u)))))),
);

const latin1 = new TextDecoder('latin1');

export const CRL_DISTRIBUTION_POINTS: CertificateExtension<string[]> = {
  name: 'cRLDistributionPoints',
  oid: '2.5.29.31',
  critical: false,
  optional: false,
  encode(plan) {
    const urls = plan.crlDistributionPoints;
    if (!urls?.length) return undefined;
    return valueOf(urls);
  },
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
