/**
 * certificatePolicies (RFC 5280 §4.2.1.4), non-critical: the profile's policies (`certificatePolicies`), each its
 * OID with, optionally, a CPS URI (id-qt-cps, IA5String) and a user notice (id-qt-unotice, explicitText as
 * UTF8String) — the qualifiers RFC 5280 recommends and OpenBao's `policy_identifiers` writes, in that order.
 */
import { children, content, decodeOid, decodeString, readWhole, STRING_TAGS } from '../der-reader';
import { ia5String, oid, seq, utf8String } from '../der-writer';
import type { CertificatePolicy } from '../types';
import { cachedValue, type CertificateExtension } from './certificate-extension';

const ID_QT_CPS = '1.3.6.1.5.5.7.2.1';
const ID_QT_UNOTICE = '1.3.6.1.5.5.7.2.2';

function encodePolicies(policies: readonly CertificatePolicy[]): Uint8Array {
  return seq(
    ...policies.map((p) => {
      const qualifiers: Uint8Array[] = [];
      if (p.cps) qualifiers.push(seq(oid(ID_QT_CPS), ia5String(p.cps)));
      if (p.notice) qualifiers.push(seq(oid(ID_QT_UNOTICE), seq(utf8String(p.notice))));
      return qualifiers.length ? seq(oid(p.oid), seq(...qualifiers)) : seq(oid(p.oid));
    }),
  );
}

/** a profile's policies repeat for each of its certificates: encoded once per distinct list */
const cache = new Map<string, Uint8Array>();
let last: { policies: readonly CertificatePolicy[]; value: Uint8Array } | undefined;

export const CERTIFICATE_POLICIES: CertificateExtension<CertificatePolicy[]> = {
  name: 'certificatePolicies',
  oid: '2.5.29.32',
  critical: false,
  optional: false,
  encode(plan) {
    const policies = plan.profile.certificatePolicies;
    if (!policies?.length) return undefined;
    if (last?.policies === policies) return last.value;
    const value = cachedValue(cache, JSON.stringify(policies), () => encodePolicies(policies));
    last = { policies, value };
    return value;
  },
  decode(v) {
    return children(v, readWhole(v)).map((info) => {
      const [id, quals] = children(v, info);
      const policy: CertificatePolicy = { oid: decodeOid(content(v, id!)) };
      for (const q of quals ? children(v, quals) : []) {
        const [qid, qualifier] = children(v, q);
        const kind = decodeOid(content(v, qid!));
        if (kind === ID_QT_CPS && qualifier && STRING_TAGS.has(qualifier.tag)) policy.cps = decodeString(v, qualifier);
        if (kind === ID_QT_UNOTICE && qualifier) {
          const text = children(v, qualifier).find((t) => STRING_TAGS.has(t.tag));
          if (text) policy.notice = decodeString(v, text);
        }
      }
      return policy;
    });
  },
};
