/**
 * Synchronous TBSCertificate encoding from pre-encoded pieces (see der-writer.ts for why), and
 * certificate assembly. `issueCertificate` = lint → encode → sign → assemble.
 */
import type { KeyType } from '@pkim/shared';
import type { CertificatePlan, KeyUsageName, SignFn } from './types';
import { assertLintClean, lintCertificate } from './certificate-linter';
import { EKU_OIDS, KEY_USAGE_BITS } from './certificate-parser';
import { encodeDnCached } from './dn-codec';
import {
  bitString,
  explicit,
  implicitPrimitive,
  integer,
  integerFromBytes,
  NULL,
  octetString,
  oid,
  seq,
  time,
  TRUE,
  tlv,
} from './der-writer';
import {
  encodableNameConstraints,
  encodeGeneralNames,
  encodeNameConstraints,
  isEmptyNameConstraints,
  uriGeneralName,
} from './general-names';
import { signatureAlgorithmDer } from './key-inspector';

const V3 = explicit(0, integer(2));
const OIDS = {
  basicConstraints: oid('2.5.29.19'),
  keyUsage: oid('2.5.29.15'),
  extKeyUsage: oid('2.5.29.37'),
  ski: oid('2.5.29.14'),
  aki: oid('2.5.29.35'),
  san: oid('2.5.29.17'),
  nameConstraints: oid('2.5.29.30'),
  crlDp: oid('2.5.29.31'),
  aia: oid('1.3.6.1.5.5.7.1.1'),
  ocspNoCheck: oid('1.3.6.1.5.5.7.48.1.5'),
  ocsp: oid('1.3.6.1.5.5.7.48.1'),
  caIssuers: oid('1.3.6.1.5.5.7.48.2'),
};
const LEAF_BC = seq(OIDS.basicConstraints, TRUE, octetString(seq()));
const OCSP_NOCHECK = seq(OIDS.ocspNoCheck, octetString(NULL));

export function extension(extOid: Uint8Array, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(extOid, TRUE, octetString(value)) : seq(extOid, octetString(value));
}

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

const ekuCache = new Map<string, Uint8Array>();
function encodeEku(eku: string[]): Uint8Array {
  const key = eku.join(',');
  let v = ekuCache.get(key);
  if (!v) {
    v = seq(...eku.map((e) => oid(EKU_OIDS[e] ?? e)));
    ekuCache.set(key, v);
  }
  return v;
}

/** DER TBSCertificate for a plan (v3). Does not lint: call lintCertificate first (issueCertificate does). */
export function encodeTbsCertificate(plan: CertificatePlan): Uint8Array {
  const isCa = plan.profile.isCa;
  const sans = plan.sans ?? {};
  const hasSan = !!(sans.dns?.length || sans.ip?.length || sans.uri?.length || sans.email?.length);
  const exts: Uint8Array[] = [];
  if (isCa) {
    const pl = plan.pathLen;
    exts.push(
      extension(OIDS.basicConstraints, true, pl === null || pl === undefined ? seq(TRUE) : seq(TRUE, integer(pl))),
    );
  } else exts.push(LEAF_BC);
  exts.push(extension(OIDS.keyUsage, true, encodeKeyUsage(plan.keyUsage)));
  if (plan.extKeyUsage.length) exts.push(extension(OIDS.extKeyUsage, false, encodeEku(plan.extKeyUsage)));
  exts.push(extension(OIDS.ski, false, octetString(plan.subjectKeyIdentifier)));
  exts.push(extension(OIDS.aki, false, seq(implicitPrimitive(0, plan.authorityKeyIdentifier))));
  if (hasSan) exts.push(extension(OIDS.san, plan.subject.length === 0, encodeGeneralNames(sans)));
  const encodable = encodableNameConstraints(plan.nameConstraints);
  if (isCa && !isEmptyNameConstraints(encodable))
    exts.push(extension(OIDS.nameConstraints, true, encodeNameConstraints(encodable!)));
  if (plan.crlDistributionPoints?.length) {
    exts.push(
      extension(
        OIDS.crlDp,
        false,
        seq(...plan.crlDistributionPoints.map((u) => seq(tlv(0xa0, tlv(0xa0, uriGeneralName(u)))))),
      ),
    );
  }
  if (plan.ocspUrls?.length || plan.caIssuersUrls?.length) {
    const ads = [
      ...(plan.ocspUrls ?? []).map((u) => seq(OIDS.ocsp, uriGeneralName(u))),
      ...(plan.caIssuersUrls ?? []).map((u) => seq(OIDS.caIssuers, uriGeneralName(u))),
    ];
    exts.push(extension(OIDS.aia, false, seq(...ads)));
  }
  if (plan.profile.ocspNoCheck) exts.push(OCSP_NOCHECK);

  return seq(
    V3,
    integerFromBytes(plan.serial),
    signatureAlgorithmDer(plan.issuerKeyType),
    plan.issuerNameDer,
    seq(time(plan.notBefore), time(plan.notAfter)),
    encodeDnCached(plan.subject),
    plan.publicKey,
    explicit(3, seq(...exts)),
  );
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
export function assembleCertificate(tbs: Uint8Array, signerKeyType: KeyType, signature: Uint8Array): Uint8Array {
  return seq(tbs, signatureAlgorithmDer(signerKeyType), bitString(signature));
}

/**
 * Lints (throws the first finding as PkiError, before `sign` is ever called), encodes, signs and
 * assembles. `opts.now` is the lint time; it defaults to the plan's notBefore (no clock is read).
 */
export async function issueCertificate(
  plan: CertificatePlan,
  sign: SignFn,
  opts: { now?: number } = {},
): Promise<Uint8Array> {
  assertLintClean(lintCertificate(plan, { now: opts.now ?? plan.notBefore }));
  const tbs = encodeTbsCertificate(plan);
  const signature = await sign(tbs);
  return assembleCertificate(tbs, plan.issuerKeyType, signature);
}
