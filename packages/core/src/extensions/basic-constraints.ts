/**
 * basicConstraints (RFC 5280 §4.2.1.9): CA:TRUE with an optional pathLen for CAs, an empty SEQUENCE for leaves — none
 * for a leaf whose profile says `leafBasicConstraints: false` (RFC 5280 lets an end entity leave it out).
 */
import { children, content, readWhole, toHex } from '../der-reader';
import { integer, seq, TRUE } from '../der-writer';
import type { CertificateExtension } from './certificate-extension';

export interface BasicConstraintsValue {
  ca: boolean;
  pathLen: number | null;
}

const LEAF = seq();
const CA_UNLIMITED = seq(TRUE);
const caWithPathLen: Uint8Array[] = [];

export const BASIC_CONSTRAINTS: CertificateExtension<BasicConstraintsValue> = {
  name: 'basicConstraints',
  oid: '2.5.29.19',
  critical: true,
  optional: false,
  encode(plan) {
    if (!plan.profile.isCa) return plan.profile.leafBasicConstraints === false ? undefined : LEAF;
    const pl = plan.pathLen;
    if (pl === null || pl === undefined) return CA_UNLIMITED;
    if (pl < 16) return (caWithPathLen[pl] ??= seq(TRUE, integer(pl)));
    return seq(TRUE, integer(pl));
  },
  decode(v) {
    const out: BasicConstraintsValue = { ca: false, pathLen: null };
    for (const c of children(v, readWhole(v))) {
      if (c.tag === 0x01) out.ca = v[c.contentStart] !== 0;
      if (c.tag === 0x02) out.pathLen = Number(BigInt(`0x${toHex(content(v, c)) || '0'}`));
    }
    return out;
  },
};
