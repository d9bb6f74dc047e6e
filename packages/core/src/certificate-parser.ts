/** Certificate parsing (DER reader; raw slices kept byte-exact) and signature verification. */
import { createHash, hash as oneShotHash } from 'node:crypto';
import { PkiError } from '@pkim/shared';
import type {
  CertificateInfo,
  CertificatePolicy,
  IssuerFacts,
  KeyUsageName,
  NameConstraints,
  SubjectAltNames,
} from './types';
import { at, children, content, decodeOid, readWhole, raw, toHex, type Tlv } from './der-reader';
import { decodeName, formatDn } from './dn-codec';
import { BASIC_CONSTRAINTS } from './extensions/basic-constraints';
import { CERTIFICATE_POLICIES } from './extensions/certificate-policies';
import { EXT_KEY_USAGE } from './extensions/ext-key-usage';
import { AUTHORITY_INFO_ACCESS } from './extensions/authority-info-access';
import { CRL_DISTRIBUTION_POINTS } from './extensions/crl-distribution-points';
import { AUTHORITY_KEY_IDENTIFIER, SUBJECT_KEY_IDENTIFIER } from './extensions/key-identifiers';
import { KEY_USAGE } from './extensions/key-usage';
import { NAME_CONSTRAINTS } from './extensions/name-constraints';
import { SUBJECT_ALT_NAME } from './extensions/subject-alt-name';
import {
  keyTypeFromSpki,
  SIGNATURE_ALGORITHMS,
  verifyWithAlgorithm,
  verifyWithAlgorithmAsync,
  computeSki,
} from './key-inspector';
import { fromPem } from './pem-codec';
import { serialToHex } from './serial-number';

export { KEY_USAGE_BITS } from './extensions/key-usage';
export { EKU_OIDS } from './extensions/ext-key-usage';
export { decodeGeneralNames } from './extensions/subject-alt-name';

const latin1 = new TextDecoder('latin1');

/** UTCTime / GeneralizedTime TLV → epoch ms. */
export function decodeTime(buf: Uint8Array, t: Tlv): number {
  const s = latin1.decode(content(buf, t));
  let m: RegExpExecArray | null;
  if (t.tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    return Date.UTC(
      yy >= 50 ? 1900 + yy : 2000 + yy,
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
    );
  }
  if (t.tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(s))) {
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  }
  throw new Error(`bad time '${s}'`);
}

export interface RawCertificate {
  der: Uint8Array;
  tbs: Uint8Array;
  serial: Uint8Array;
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  issuerTlv: Tlv;
  subjectTlv: Tlv;
  notBefore: number;
  notAfter: number;
  publicKey: Uint8Array;
  extensions: { oid: string; critical: boolean; value: Uint8Array }[];
  signatureAlgorithmOid: string;
  signature: Uint8Array;
}

/** Splits a certificate into its raw parts. Throws `certificate.invalid`. */
export function readCertificate(input: string | Uint8Array): RawCertificate {
  let der: Uint8Array;
  try {
    der = fromPem(input, 'CERTIFICATE');
  } catch (e) {
    throw new PkiError('certificate.invalid', `not a certificate: ${(e as Error).message}`);
  }
  try {
    const top = readWhole(der);
    const [tbsT, algT, sigT] = children(der, top);
    if (top.tag !== 0x30 || tbsT?.tag !== 0x30 || algT?.tag !== 0x30 || sigT?.tag !== 0x03)
      throw new Error('not an X.509 Certificate structure');
    const f = children(der, tbsT);
    let i = 0;
    if (f[0]?.tag === 0xa0) i++;
    const serialT = at(f, i++, 'serialNumber');
    i++; // signature AlgorithmIdentifier (inner)
    const issuerT = at(f, i++, 'issuer');
    const validityT = at(f, i++, 'validity');
    const subjectT = at(f, i++, 'subject');
    const spkiT = at(f, i++, 'subjectPublicKeyInfo');
    if (
      serialT.tag !== 0x02 ||
      issuerT.tag !== 0x30 ||
      validityT.tag !== 0x30 ||
      subjectT.tag !== 0x30 ||
      spkiT.tag !== 0x30
    )
      throw new Error('malformed TBSCertificate');
    const validity = children(der, validityT);
    const nb = at(validity, 0, 'notBefore');
    const na = at(validity, 1, 'notAfter');
    const extensions: RawCertificate['extensions'] = [];
    for (const field of f.slice(i)) {
      if (field.tag !== 0xa3) continue;
      const extSeq = at(children(der, field), 0, 'extensions');
      for (const ext of children(der, extSeq)) {
        const parts = children(der, ext);
        const critFlag = parts.length === 3 ? parts[1] : undefined;
        const critical = critFlag?.tag === 0x01 && der[critFlag.contentStart] !== 0;
        extensions.push({
          oid: decodeOid(content(der, at(parts, 0, 'extnID'))),
          critical,
          value: content(der, at(parts, parts.length - 1, 'extnValue')),
        });
      }
    }
    const sig = content(der, sigT);
    return {
      der,
      tbs: raw(der, tbsT),
      serial: content(der, serialT),
      issuerDer: raw(der, issuerT),
      subjectDer: raw(der, subjectT),
      issuerTlv: issuerT,
      subjectTlv: subjectT,
      notBefore: decodeTime(der, nb),
      notAfter: decodeTime(der, na),
      publicKey: raw(der, spkiT),
      extensions,
      signatureAlgorithmOid: decodeOid(content(der, at(children(der, algT), 0, 'signatureAlgorithm'))),
      signature: sig.subarray(1),
    };
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('certificate.invalid', `malformed certificate: ${(e as Error).message}`);
  }
}

interface DecodedExtensions {
  isCa: boolean;
  pathLen: number | null;
  keyUsage: KeyUsageName[] | null;
  extKeyUsage: string[];
  certificatePolicies: CertificatePolicy[];
  sans: SubjectAltNames;
  nameConstraints: NameConstraints | null;
  ski: Uint8Array | null;
  aki: Uint8Array | null;
}

function decodeExtensions(exts: RawCertificate['extensions']): DecodedExtensions {
  const r: DecodedExtensions = {
    isCa: false,
    pathLen: null,
    keyUsage: null,
    extKeyUsage: [],
    certificatePolicies: [],
    sans: {},
    nameConstraints: null,
    ski: null,
    aki: null,
  };
  for (const e of exts) {
    switch (e.oid) {
      case BASIC_CONSTRAINTS.oid: {
        const bc = BASIC_CONSTRAINTS.decode(e.value);
        r.isCa = bc.ca;
        r.pathLen = bc.pathLen;
        break;
      }
      case KEY_USAGE.oid:
        r.keyUsage = KEY_USAGE.decode(e.value);
        break;
      case EXT_KEY_USAGE.oid:
        r.extKeyUsage = EXT_KEY_USAGE.decode(e.value);
        break;
      case CERTIFICATE_POLICIES.oid:
        r.certificatePolicies = CERTIFICATE_POLICIES.decode(e.value);
        break;
      case SUBJECT_ALT_NAME.oid:
        r.sans = SUBJECT_ALT_NAME.decode(e.value);
        break;
      case NAME_CONSTRAINTS.oid:
        r.nameConstraints = NAME_CONSTRAINTS.decode(e.value);
        break;
      case SUBJECT_KEY_IDENTIFIER.oid:
        r.ski = SUBJECT_KEY_IDENTIFIER.decode(e.value);
        break;
      case AUTHORITY_KEY_IDENTIFIER.oid:
        r.aki = AUTHORITY_KEY_IDENTIFIER.decode(e.value);
        break;
      default:
        break;
    }
  }
  return r;
}

/** Parses a certificate (PEM or DER). Throws `certificate.invalid`. */
export function parseCertificate(input: string | Uint8Array): CertificateInfo {
  const c = readCertificate(input);
  try {
    const x = decodeExtensions(c.extensions);
    const subject = decodeName(c.der, c.subjectTlv);
    const issuer = decodeName(c.der, c.issuerTlv);
    let keyType: CertificateInfo['keyType'];
    try {
      keyType = keyTypeFromSpki(c.publicKey);
    } catch {
      keyType = 'unknown';
    }
    return {
      der: c.der,
      serialHex: serialToHex(c.serial),
      subject,
      subjectDn: formatDn(subject),
      issuerDn: formatDn(issuer),
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      sans: x.sans,
      keyType,
      publicKey: c.publicKey,
      isCa: x.isCa,
      pathLen: x.isCa ? x.pathLen : null,
      keyUsage: x.keyUsage ?? [],
      extKeyUsage: x.extKeyUsage,
      certificatePolicies: x.certificatePolicies,
      nameConstraints: x.nameConstraints,
      subjectKeyIdentifierHex: x.ski ? toHex(x.ski) : null,
      authorityKeyIdentifierHex: x.aki ? toHex(x.aki) : null,
      fingerprintSha256: createHash('sha256').update(c.der).digest('hex'),
      tbs: c.tbs,
      signatureAlgorithmOid: c.signatureAlgorithmOid,
      signature: c.signature,
    };
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('certificate.invalid', `malformed certificate extensions: ${(e as Error).message}`);
  }
}

/**
 * What a certificate may be used for, read from its extensions only (no names, key or fingerprint decoded): its
 * extended key usages (known ones by name, `serverAuth`…, others as dotted OIDs) and certificate policies with their
 * CPS URI and user notice. Throws `certificate.invalid`.
 */
export function certificatePurposes(input: string | Uint8Array): {
  extKeyUsage: string[];
  certificatePolicies: CertificatePolicy[];
} {
  const c = readCertificate(input);
  const r = { extKeyUsage: [] as string[], certificatePolicies: [] as CertificatePolicy[] };
  try {
    for (const e of c.extensions) {
      if (e.oid === EXT_KEY_USAGE.oid) r.extKeyUsage = EXT_KEY_USAGE.decode(e.value);
      else if (e.oid === CERTIFICATE_POLICIES.oid) r.certificatePolicies = CERTIFICATE_POLICIES.decode(e.value);
    }
  } catch (e) {
    throw new PkiError('certificate.invalid', `malformed certificate extensions: ${(e as Error).message}`);
  }
  return r;
}

/**
 * The relying-party URLs a certificate carries: its cRLDistributionPoints and its authorityInfoAccess OCSP and
 * caIssuers URLs (each list empty when absent). Throws `certificate.invalid`.
 */
export function certificateUrls(input: string | Uint8Array): {
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
} {
  const c = readCertificate(input);
  const r = { crlDistributionPoints: [] as string[], ocspUrls: [] as string[], caIssuersUrls: [] as string[] };
  try {
    for (const e of c.extensions) {
      if (e.oid === CRL_DISTRIBUTION_POINTS.oid) r.crlDistributionPoints = CRL_DISTRIBUTION_POINTS.decode(e.value);
      else if (e.oid === AUTHORITY_INFO_ACCESS.oid) {
        const aia = AUTHORITY_INFO_ACCESS.decode(e.value);
        r.ocspUrls = aia.ocsp;
        r.caIssuersUrls = aia.caIssuers;
      }
    }
  } catch (e) {
    throw new PkiError('certificate.invalid', `malformed certificate extensions: ${(e as Error).message}`);
  }
  return r;
}

const factsCache = new Map<string, IssuerFacts>();
const factsByIdentity = new WeakMap<Uint8Array, { copy: Uint8Array; facts: IssuerFacts }>();
/** What the planner and linter need about an issuer certificate; memoised by identity and by SHA-1 of the DER. */
export function issuerFactsOf(certDer: Uint8Array): IssuerFacts {
  const same = factsByIdentity.get(certDer);
  // identity hit, guarded against in-place mutation of the caller's buffer
  if (same?.copy.length === certDer.length && Buffer.compare(same.copy, certDer) === 0) return same.facts;
  const key = oneShotHash('sha1', certDer, 'base64');
  const hit = factsCache.get(key);
  if (hit) {
    factsByIdentity.set(certDer, { copy: new Uint8Array(certDer), facts: hit });
    return hit;
  }
  const c = readCertificate(certDer);
  let x: DecodedExtensions;
  try {
    x = decodeExtensions(c.extensions);
  } catch (e) {
    throw new PkiError('certificate.invalid', `malformed issuer certificate extensions: ${(e as Error).message}`);
  }
  const facts: IssuerFacts = {
    subject: decodeName(c.der, c.subjectTlv),
    subjectDer: new Uint8Array(c.subjectDer),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    isCa: x.isCa,
    pathLen: x.isCa ? x.pathLen : null,
    keyUsage: x.keyUsage,
    nameConstraints: x.nameConstraints,
    // RFC 5280: AKI must equal the issuer's SKI; compute it when the issuer lacks the extension
    subjectKeyIdentifier: x.ski ? new Uint8Array(x.ski) : computeSki(c.publicKey),
    publicKey: new Uint8Array(c.publicKey),
  };
  if (factsCache.size > 512) factsCache.clear();
  factsCache.set(key, facts);
  factsByIdentity.set(certDer, { copy: new Uint8Array(certDer), facts });
  return facts;
}

/** Verifies a certificate's signature with the issuer's SPKI (hash from the certificate's signature algorithm). */
/** {@link verifyCertificateSignature} with the signature check on libuv's thread pool (beside the event loop). */
export async function verifyCertificateSignatureAsync(certDer: Uint8Array, issuerSpki: Uint8Array): Promise<boolean> {
  let c: RawCertificate;
  try {
    c = readCertificate(certDer);
  } catch {
    return false;
  }
  const alg = SIGNATURE_ALGORITHMS[c.signatureAlgorithmOid];
  if (!alg) return false;
  return verifyWithAlgorithmAsync(alg, issuerSpki, c.tbs, c.signature, { cacheKey: true });
}

export function verifyCertificateSignature(certDer: Uint8Array, issuerSpki: Uint8Array): boolean {
  let c: RawCertificate;
  try {
    c = readCertificate(certDer);
  } catch {
    return false;
  }
  const alg = SIGNATURE_ALGORITHMS[c.signatureAlgorithmOid];
  if (!alg) return false;
  return verifyWithAlgorithm(alg, issuerSpki, c.tbs, c.signature);
}
