/** authorityInfoAccess (RFC 5280 §4.2.2.1): OCSP responder and caIssuers URLs. */
import { children, content, decodeOid, readWhole } from '../der-reader';
import { oid, seq } from '../der-writer';
import { uriGeneralName } from '../general-names';
import { urlListsValue, type CertificateExtension } from './certificate-extension';

const OCSP = '1.3.6.1.5.5.7.48.1';
const CA_ISSUERS = '1.3.6.1.5.5.7.48.2';
const latin1 = new TextDecoder('latin1');

/** the OCSP and caIssuers URLs of a CA repeat for each of its certificates */
const valueOf = urlListsValue((ocsp: string[], caIssuers: string[]) =>
  seq(
    ...ocsp.map((u) => seq(oid(OCSP), uriGeneralName(u))),
    ...caIssuers.map((u) => seq(oid(CA_ISSUERS), uriGeneralName(u))),
  ),
);

export interface AuthorityInfoAccessValue {
  ocsp: string[];
  caIssuers: string[];
}

export const AUTHORITY_INFO_ACCESS: CertificateExtension<AuthorityInfoAccessValue> = {
  name: 'authorityInfoAccess',
  oid: '1.3.6.1.5.5.7.1.1',
  critical: false,
  optional: false,
  encode(plan) {
    const ocsp = plan.ocspUrls ?? [];
    const caIssuers = plan.caIssuersUrls ?? [];
    if (!ocsp.length && !caIssuers.length) return undefined;
    return valueOf(ocsp, caIssuers);
  },
  decode(v) {
    const out: AuthorityInfoAccessValue = { ocsp: [], caIssuers: [] };
    for (const ad of children(v, readWhole(v))) {
      const [method, location] = children(v, ad);
      if (!method || location?.tag !== 0x86) continue;
      const m = decodeOid(content(v, method));
      const url = latin1.decode(content(v, location));
      if (m === OCSP) out.ocsp.push(url);
      else if (m === CA_ISSUERS) out.caIssuers.push(url);
    }
    return out;
  },
};
