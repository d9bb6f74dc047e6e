/** CRL v2 (RFC 5280 §5) building with @peculiar/asn1-x509 classes, and parsing. */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  CertificateList,
  CRLReason,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
} from '@peculiar/asn1-x509';
import { PkiError } from '@pkim/shared';
import type { CrlEntryInput, CrlExtensionInput, CrlInput, EncodedCrlEntries, SignFn } from './types';
import { issuerFactsOf } from './certificate-parser';
import { at, children, content, readWhole, toHex } from './der-reader';
import {
  explicit,
  implicitPrimitive,
  integer,
  integerFromBytes,
  lengthBytes,
  octetString,
  oid,
  seq,
  signedDer,
  time,
  tlv,
  TRUE,
} from './der-writer';
import { uriGeneralName } from './general-names';
import { formatDn, decodeNameDer } from './dn-codec';
import { keyTypeFromSpki, SIGNATURE_ALGORITHMS, signatureAlgorithmDer, verifyWithAlgorithm } from './key-inspector';
import { fromPem } from './pem-codec';
import { serialHexToBytes, serialToHex } from './serial-number';

const OID_REASON_CODE = '2.5.29.21';
const OID_AKI = '2.5.29.35';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_IDP = '2.5.29.28';
const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
const OID_FRESHEST_CRL = '2.5.29.46';

const DOTTED_OID = /^([0-2])\.(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } of a caller's extension */
function callerExtension(e: CrlExtensionInput): Uint8Array {
  const m = DOTTED_OID.exec(e.oid);
  if (!m || (m[1] !== '2' && Number(m[2]) >= 40))
    throw new PkiError('input.invalid', `extension id '${e.oid.slice(0, 80)}' is not a dotted object identifier`);
  return seq(oid(e.oid), ...(e.critical ? [TRUE] : []), octetString(e.value));
}

/** the extensions of a list, each OID once; `taken`: OIDs already written */
function callerExtensions(list: CrlExtensionInput[], taken: string[]): Uint8Array[] {
  const seen = new Set(taken);
  return list.map((e) => {
    if (seen.has(e.oid)) throw new PkiError('input.invalid', `extension ${e.oid} is given twice`);
    seen.add(e.oid);
    return callerExtension(e);
  });
}

/**
 * IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] { fullName [0] GeneralNames },
 * onlyContainsUserCerts [1] BOOLEAN TRUE }, as a critical extension (RFC 5280 §5.2.5)
 */
function issuingDistributionPoint(urls: string[]): Uint8Array {
  const value = seq(tlv(0xa0, tlv(0xa0, ...urls.map(uriGeneralName))), implicitPrimitive(1, TRUE.subarray(2)));
  return seq(oid(OID_IDP), TRUE, octetString(value));
}

/**
 * FreshestCRL ::= CRLDistributionPoints: one DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } },
 * not critical (RFC 5280 §5.2.6)
 */
function freshestCrl(urls: string[]): Uint8Array {
  return seq(oid(OID_FRESHEST_CRL), octetString(seq(seq(tlv(0xa0, tlv(0xa0, ...urls.map(uriGeneralName)))))));
}

/** the crlEntryExtensions of each reason code (1-10, 7 unused), encoded once */
const reasonExtensions = new Map<number, Uint8Array>();
function reasonExtension(reason: number): Uint8Array {
  let ext = reasonExtensions.get(reason);
  if (!ext) {
    // Extensions ::= SEQUENCE OF Extension { extnID, extnValue OCTET STRING { ENUMERATED reason } }
    ext = seq(seq(oid(OID_REASON_CODE), octetString(tlv(0x0a, Uint8Array.of(reason)))));
    reasonExtensions.set(reason, ext);
  }
  return ext;
}

function checkReason(reason: number | undefined): void {
  if (reason !== undefined && (!Number.isInteger(reason) || reason < 0 || reason > 10 || reason === 7)) {
    throw new PkiError('revocation.invalid_reason', `invalid CRL reason code ${reason}`);
  }
}

/**
 * The revokedCertificates of a CRL, encoded entry by entry into one growing buffer: no object per entry, so a CRL of
 * 1,000,000 entries costs about 45 MB and a few seconds (`npm run bench:crl`), where the @peculiar/asn1-x509 classes
 * build an asn1js object graph per entry. The output is cross-checked byte for byte against those classes in
 * packages/core/test/crl-ocsp.test.ts, and read by openssl.
 */
export class CrlEntryWriter implements EncodedCrlEntries {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  /** entries written */
  count = 0;

  /** room for `n` more bytes */
  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n));
    this.buf.copy(grown, 0, 0, this.used);
    this.buf = grown;
  }

  add(entry: CrlEntryInput): void {
    checkReason(entry.reason);
    if (entry.extensions?.length) {
      this.addWithExtensions(entry, entry.extensions);
      return;
    }
    // an entry is < 128 bytes: serial INTEGER <= 23, Time <= 17, reasonCode extensions 16
    this.reserve(128);
    const buf = this.buf;
    const start = this.used;
    // RevokedCertificate ::= SEQUENCE { userCertificate, revocationDate, crlEntryExtensions OPTIONAL }
    let o = start + 2;
    o = writeSerial(buf, o, entry.serialHex);
    o = writeTime(buf, o, entry.revokedAt);
    if (entry.reason) {
      const ext = reasonExtension(entry.reason);
      buf.set(ext, o);
      o += ext.length;
    }
    buf[start] = 0x30;
    buf[start + 1] = o - start - 2;
    this.used = o;
    this.count++;
  }

  /** an entry with a caller's crlEntryExtensions (any length: encoded whole, then copied in) */
  private addWithExtensions(entry: CrlEntryInput, extensions: CrlExtensionInput[]): void {
    const serial = serialHexToBytes(entry.serialHex);
    if (serial.length > 21) throw new PkiError('input.invalid', `serial ${entry.serialHex} is longer than 20 bytes`);
    const reason = entry.reason ? [seq(oid(OID_REASON_CODE), octetString(tlv(0x0a, Uint8Array.of(entry.reason))))] : [];
    const exts = [...reason, ...callerExtensions(extensions, entry.reason ? [OID_REASON_CODE] : [])];
    const der = seq(integerFromBytes(serial), time(entry.revokedAt), seq(...exts));
    this.reserve(der.length);
    this.buf.set(der, this.used);
    this.used += der.length;
    this.count++;
  }

  /** the concatenated entries (a view, valid until the next `add`) */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }
}

const CANONICAL_SERIAL = /^[1-9a-f][0-9a-f]*$/;
const hexValue = (c: number): number => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** the serial as an INTEGER TLV at `o`; canonical lowercase hex is decoded in place, anything else normalised first */
function writeSerial(buf: Buffer, o: number, serialHex: string): number {
  if (!CANONICAL_SERIAL.test(serialHex) || serialHex.length > 40) {
    const bytes = serialHexToBytes(serialHex);
    if (bytes.length > 21) throw new PkiError('input.invalid', `serial ${serialHex} is longer than 20 bytes`);
    buf[o] = 0x02;
    buf[o + 1] = bytes.length;
    buf.set(bytes, o + 2);
    return o + 2 + bytes.length;
  }
  const odd = serialHex.length % 2;
  const n = (serialHex.length + odd) / 2;
  const first = odd
    ? hexValue(serialHex.charCodeAt(0))
    : (hexValue(serialHex.charCodeAt(0)) << 4) | hexValue(serialHex.charCodeAt(1));
  const pad = first & 0x80 ? 1 : 0;
  buf[o] = 0x02;
  buf[o + 1] = n + pad;
  let p = o + 2;
  if (pad) buf[p++] = 0;
  buf[p++] = first;
  for (let i = odd ? 1 : 2; i < serialHex.length; i += 2) {
    buf[p++] = (hexValue(serialHex.charCodeAt(i)) << 4) | hexValue(serialHex.charCodeAt(i + 1));
  }
  return p;
}

function writeDigits(buf: Buffer, o: number, v: number, width: number): number {
  for (let i = width - 1; i >= 0; i--) {
    buf[o + i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return o + width;
}

/** RFC 5280 Time at `o`, as der-writer's `time`: UTCTime 1950-2049, GeneralizedTime otherwise, seconds precision */
function writeTime(buf: Buffer, o: number, ms: number): number {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const y = d.getUTCFullYear();
  const utc = y >= 1950 && y <= 2049;
  if (!utc && (y < 0 || y > 9999)) {
    const t = time(ms);
    buf.set(t, o);
    return o + t.length;
  }
  buf[o] = utc ? 0x17 : 0x18;
  buf[o + 1] = utc ? 13 : 15;
  let p = o + 2;
  p = utc ? writeDigits(buf, p, y % 100, 2) : writeDigits(buf, p, y, 4);
  p = writeDigits(buf, p, d.getUTCMonth() + 1, 2);
  p = writeDigits(buf, p, d.getUTCDate(), 2);
  p = writeDigits(buf, p, d.getUTCHours(), 2);
  p = writeDigits(buf, p, d.getUTCMinutes(), 2);
  p = writeDigits(buf, p, d.getUTCSeconds(), 2);
  buf[p] = 0x5a; // Z
  return p + 1;
}

/**
 * Builds and signs a v2 CRL: issuer name copied byte-for-byte from the issuer certificate's
 * subject, AKI = issuer SKI, CRL number, thisUpdate/nextUpdate (seconds precision), and one entry
 * per revoked serial with a reasonCode entry extension (omitted for unspecified / absent reasons).
 * `entries` may be a list or a {@link CrlEntryWriter} already filled (large CRLs, streamed from the database).
 */
export async function buildCrl(input: CrlInput, sign: SignFn): Promise<Uint8Array> {
  const facts = issuerFactsOf(input.issuer.certificateDer);
  const actual = keyTypeFromSpki(facts.publicKey);
  if (actual !== input.issuer.keyType)
    throw new PkiError(
      'input.invalid',
      `issuer keyType ${input.issuer.keyType} does not match the issuer certificate key (${actual})`,
    );
  if (!(input.thisUpdate < input.nextUpdate))
    throw new PkiError('input.invalid', 'CRL thisUpdate must be before nextUpdate');
  let writer: EncodedCrlEntries;
  if (Array.isArray(input.entries)) {
    const w = new CrlEntryWriter();
    for (const e of input.entries) w.add(e);
    writer = w;
  } else writer = input.entries;
  const idp = input.issuingDistributionPoint;
  if (idp?.length === 0) throw new PkiError('input.invalid', 'a partition CRL needs at least one URL');
  const delta = input.deltaCrlBase;
  if (delta !== undefined && BigInt(delta) < 0n) throw new PkiError('input.invalid', 'a delta CRL base is 0 or more');
  const freshest = input.freshestCrl?.length ? input.freshestCrl : undefined;
  if (freshest && delta !== undefined) throw new PkiError('input.invalid', 'a delta CRL names no delta CRLs');
  const own = [
    OID_AKI,
    OID_CRL_NUMBER,
    ...(idp ? [OID_IDP] : []),
    ...(delta !== undefined ? [OID_DELTA_CRL_INDICATOR] : []),
    ...(freshest ? [OID_FRESHEST_CRL] : []),
  ];
  const extensions = explicit(
    0,
    seq(
      seq(oid(OID_AKI), octetString(seq(implicitPrimitive(0, facts.subjectKeyIdentifier)))),
      seq(oid(OID_CRL_NUMBER), octetString(integer(input.crlNumber))),
      ...(idp ? [issuingDistributionPoint(idp)] : []),
      // RFC 5280 §5.2.4: critical
      ...(delta !== undefined ? [seq(oid(OID_DELTA_CRL_INDICATOR), TRUE, octetString(integer(delta)))] : []),
      ...(freshest ? [freshestCrl(freshest)] : []),
      ...callerExtensions(input.extensions ?? [], own),
    ),
  );
  // TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate, revokedCertificates, [0] ext }
  // assembled in ONE allocation around the entries (a CRL of 1,000,000 entries is ≈ 45 MB: no extra copies of it)
  const alg = signatureAlgorithmDer(input.issuer.keyType);
  const entries = writer.bytes();
  const head = [integer(1), alg, facts.subjectDer, time(input.thisUpdate), time(input.nextUpdate)];
  const entriesHeader = writer.count ? Uint8Array.of(0x30, ...lengthBytes(entries.length)) : new Uint8Array(0);
  const parts = [...head, entriesHeader, writer.count ? entries : new Uint8Array(0), extensions];
  const tbsDer = tlv(0x30, ...parts);
  const signature = await sign(tbsDer);
  return signedDer(tbsDer, alg, signature);
}

export interface ParsedCrl {
  issuerDn: string;
  crlNumber: number;
  thisUpdate: number;
  nextUpdate: number | null;
  authorityKeyIdentifierHex: string | null;
  entries: { serialHex: string; revokedAt: number; reason?: number }[];
  tbs: Uint8Array;
  signatureAlgorithmOid: string;
  signature: Uint8Array;
}

/** Parses a CRL (PEM `X509 CRL` or DER). Throws `input.invalid`. */
export function parseCrl(input: string | Uint8Array): ParsedCrl {
  try {
    const der = fromPem(input, 'X509 CRL');
    const list = AsnConvert.parse(der, CertificateList);
    const t = list.tbsCertList;
    let crlNumber = 0;
    let aki: string | null = null;
    for (const e of t.crlExtensions ?? []) {
      const v = new Uint8Array(e.extnValue.buffer);
      if (e.extnID === id_ce_cRLNumber) crlNumber = Number(BigInt(`0x${toHex(content(v, readWhole(v))) || '0'}`));
      if (e.extnID === id_ce_authorityKeyIdentifier) {
        const k = children(v, readWhole(v)).find((c) => c.tag === 0x80);
        aki = k ? toHex(content(v, k)) : null;
      }
    }
    const entries = (t.revokedCertificates ?? []).map((r) => {
      const reasonExt = (r.crlEntryExtensions ?? []).find((e) => e.extnID === id_ce_cRLReasons);
      const reason = reasonExt ? AsnConvert.parse(reasonExt.extnValue, CRLReason).reason : undefined;
      return {
        serialHex: serialToHex(new Uint8Array(r.userCertificate)),
        revokedAt: r.revocationDate.getTime().getTime(),
        ...(reason !== undefined ? { reason } : {}),
      };
    });
    const top = readWhole(der);
    const tbsT = at(children(der, top), 0, 'tbsCertList');
    return {
      issuerDn: formatDn(decodeNameDer(new Uint8Array(AsnConvert.serialize(t.issuer)))),
      crlNumber,
      thisUpdate: t.thisUpdate.getTime().getTime(),
      nextUpdate: t.nextUpdate ? t.nextUpdate.getTime().getTime() : null,
      authorityKeyIdentifierHex: aki,
      entries,
      tbs: der.subarray(tbsT.start, tbsT.end),
      signatureAlgorithmOid: list.signatureAlgorithm.algorithm,
      signature: new Uint8Array(list.signature),
    };
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('input.invalid', `malformed CRL: ${(e as Error).message}`);
  }
}

/** Verifies a CRL signature with the issuer's SPKI. */
export function verifyCrlSignature(crl: string | Uint8Array, issuerSpki: Uint8Array): boolean {
  const p = parseCrl(crl);
  const alg = SIGNATURE_ALGORITHMS[p.signatureAlgorithmOid];
  return !!alg && verifyWithAlgorithm(alg, issuerSpki, p.tbs, p.signature);
}
