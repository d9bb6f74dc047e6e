/** PKCS#10 certification requests: decoding with proof-of-possession check, and building. */
import { PkiError, type KeyType } from '@pkim/shared';
import type { CsrContent, DecodedCsr, DistinguishedName, SignFn, SubjectAltNames } from './types';
import {
  DerError,
  assertWellFormed,
  content,
  countChildren,
  decodeOid,
  nextChild,
  raw,
  readWhole,
  type Tlv,
} from './der-reader';
import { explicit, integer, octetString, oid, seq, set, signedDer, tlv } from './der-writer';
import { decodeName, encodeDn, formatDn, validateDn } from './dn-codec';
import { decodeGeneralNames } from './extensions/subject-alt-name';
import { encodeGeneralNames, invalidSans } from './general-names';
import {
  keyTypeFromSpki,
  SIGNATURE_ALGORITHMS,
  signatureAlgorithmDer,
  verifyWithAlgorithm,
  verifyWithAlgorithmAsync,
  type SignatureAlgorithmInfo,
} from './key-inspector';
import { fromPem } from './pem-codec';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SAN_OID = '2.5.29.17';
const BASIC_CONSTRAINTS_OID = '2.5.29.19';

/** a CSR's parts as read by {@link parseCsr} (the signature not checked) */
export interface ParsedCsr {
  alg: SignatureAlgorithmInfo;
  spki: Uint8Array;
  info: Uint8Array;
  signature: Uint8Array;
  der: Uint8Array;
  csr: CsrContent;
  /**
   * the CSR's extensionRequest asks for basicConstraints (whatever its value): a leaf is signed without it, and the
   * Vault API warns as OpenBao does (vault-issue-service.ts)
   */
  basicConstraints: boolean;
}

/** the decoded CSR with a copy of its DER and its subject as an RFC 4514 string */
const withCopies = (p: ParsedCsr): DecodedCsr => ({
  der: new Uint8Array(p.der),
  subject: p.csr.subject,
  subjectDn: formatDn(p.csr.subject),
  publicKey: p.csr.publicKey,
  keyType: p.csr.keyType,
  sans: p.csr.sans,
});

const NO_POSSESSION = 'the CSR signature does not verify with its public key (no proof of possession)';

/**
 * Decodes ONE PKCS#10 CSR (PEM `CERTIFICATE REQUEST` or DER; trailing bytes or PEM data are refused),
 * checks its key (`csr.weak_key`, `csr.unsupported_key`) and verifies its self-signature
 * (`csr.invalid_signature`), and returns the subject, SPKI, key type and requested SANs. Anything
 * unparseable is `csr.invalid`.
 */
// (the signature is checked on the calling thread)
export function decodeCsr(input: string | Uint8Array): DecodedCsr {
  return withCopies(verifiedCsr(input));
}

/**
 * {@link decodeCsr} without what a certificate does not need — the copy of the DER, the subject as a string —: the
 * subject, key and names of a CSR whose proof of possession verifies (a worker's `csr-leaf` job). Same checks, same
 * errors.
 */
export function decodeCsrContent(input: string | Uint8Array): CsrContent {
  return verifiedCsr(input).csr;
}

function verifiedCsr(input: string | Uint8Array): ParsedCsr {
  const p = parseCsr(input);
  if (!verifyWithAlgorithm(p.alg, p.spki, p.info, p.signature, { cacheKey: false })) {
    throw new PkiError('csr.invalid_signature', NO_POSSESSION);
  }
  return p;
}

/**
 * The same, with the signature checked on libuv's thread pool (node:crypto `verify` with a callback): what the
 * signing pipeline uses, so CSR verification runs beside the event loop, on every core.
 */
export async function decodeCsrAsync(input: string | Uint8Array): Promise<DecodedCsr> {
  const p = parseCsr(input);
  if (!(await verifyWithAlgorithmAsync(p.alg, p.spki, p.info, p.signature))) {
    throw new PkiError('csr.invalid_signature', NO_POSSESSION);
  }
  return withCopies(p);
}

/**
 * {@link decodeCsrAsync} without the copy of the DER and the subject as a string ({@link decodeCsrContent}'s result):
 * what the signing pipeline needs of a CSR it signs on its own thread. Same checks, same errors.
 */
export async function decodeCsrContentAsync(input: string | Uint8Array): Promise<CsrContent> {
  const p = parseCsr(input);
  if (!(await verifyWithAlgorithmAsync(p.alg, p.spki, p.info, p.signature))) {
    throw new PkiError('csr.invalid_signature', NO_POSSESSION);
  }
  return p.csr;
}

/**
 * The same decoding and key checks WITHOUT verifying the self-signature: for a channel that reads the CSR's subject,
 * names and key type to decide what to ask the signing pipeline for, which then verifies the proof of possession
 * before anything is signed (one verification per request instead of two; with P-384 one is ≈ 0.5 ms). Whatever the
 * caller refuses on the strength of it must first check the signature (decodeCsrAsync), so a CSR without proof of
 * possession is refused as such, as it was when the channel verified it itself.
 */
export function decodeCsrUnverified(input: string | Uint8Array): CsrContent {
  return parseCsr(input).csr;
}

/** a CSR read without its signature verified, and the input it was read from ({@link readCsrUnverified}) */
export interface UnverifiedCsr {
  readonly input: string | Uint8Array;
  readonly parsed: ParsedCsr;
}

/**
 * {@link decodeCsrUnverified} that keeps what it read for {@link verifyCsrContentAsync}: a channel that reads a CSR
 * to plan its request hands it to the signing pipeline, which then verifies its signature without reading the CSR
 * again (issue #12: docs/benchmarks-record.md session 26).
 */
export function readCsrUnverified(input: string | Uint8Array): UnverifiedCsr {
  return { input, parsed: parseCsr(input) };
}

/** {@link decodeCsrContentAsync} of a CSR read already: its signature verified, the same result and errors */
export async function verifyCsrContentAsync(read: UnverifiedCsr): Promise<CsrContent> {
  const p = read.parsed;
  if (!(await verifyWithAlgorithmAsync(p.alg, p.spki, p.info, p.signature))) {
    throw new PkiError('csr.invalid_signature', NO_POSSESSION);
  }
  return p.csr;
}

/** the content octets of the two OIDs a CSR is searched for (compared in place, not decoded) */
const EXTENSION_REQUEST_OID = oid(EXTENSION_REQUEST).subarray(2);
const SAN_OID_CONTENT = oid(SAN_OID).subarray(2);
const BASIC_CONSTRAINTS_OID_CONTENT = oid(BASIC_CONSTRAINTS_OID).subarray(2);

/**
 * Whether the OID TLV `t` is the OID whose content octets are `want`. For a TLV the well-formedness walk checked (tag
 * 0x06: minimal arcs, the last one finished) this is `decodeOid(content) === dotted` — a valid OID has one encoding —
 * without a view or a string.
 */
function isOid(buf: Uint8Array, t: Tlv, want: Uint8Array): boolean {
  const c = t.contentStart;
  if (t.end - c !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[c + i] !== want[i]) return false;
  return true;
}

/** what csr.invalid says of a text without a PEM certificate request (fromPem's error): parseCsr and the API schema */
export function notACsr(pemError: unknown): string {
  return `not a CSR: ${(pemError as Error).message}`;
}

/**
 * Reads a CSR's parts (no signature check). Walks in place (every CSR a worker signs): after the well-formedness walk,
 * each level is read one child at a time, where the old walk read it into a list — the same result and the same
 * first error as that list walk (kept in parser-fuzz.test.ts, which compares both): a level whose tag is not yet
 * known to be constructed gets its headers read first (`countChildren`, the list's errors); a level the walk
 * already checked (a SEQUENCE, SET or constructed [0] inside a well-formed value) has well-formed children.
 */
export function parseCsr(input: string | Uint8Array): ParsedCsr {
  let der: Uint8Array;
  try {
    // one CSR per request: a second block (or any text) after it is refused, never silently ignored
    der = fromPem(input, 'CERTIFICATE REQUEST', { alone: true });
  } catch (e) {
    throw new PkiError('csr.invalid', notACsr(e));
  }
  let info: Uint8Array;
  let subject: DistinguishedName;
  let spki: Uint8Array;
  let sans: SubjectAltNames = {};
  let basicConstraints = false;
  let sigOid: string;
  let signature: Uint8Array;
  try {
    const top = readWhole(der);
    assertWellFormed(der, top);
    countChildren(der, top); // the top may be primitive: its content's first bad header is the error
    const infoT = nextChild(der, top);
    const algT = infoT && nextChild(der, top, infoT);
    const sigT = algT && nextChild(der, top, algT);
    if (top.tag !== 0x30 || infoT?.tag !== 0x30 || algT?.tag !== 0x30 || sigT?.tag !== 0x03)
      throw new Error('not a CertificationRequest');
    const verT = nextChild(der, infoT);
    const subjT = verT && nextChild(der, infoT, verT);
    const spkiT = subjT && nextChild(der, infoT, subjT);
    const attrsT = spkiT && nextChild(der, infoT, spkiT);
    if (verT?.tag !== 0x02 || subjT?.tag !== 0x30 || spkiT?.tag !== 0x30)
      throw new Error('malformed CertificationRequestInfo');
    if (attrsT?.tag === 0xa0) {
      // Attribute ::= SEQUENCE { type OID, values SET OF … }; Extensions ::= SEQUENCE OF Extension (RFC 2986/5280)
      for (let attr = nextChild(der, attrsT); attr; attr = nextChild(der, attrsT, attr)) {
        const n = countChildren(der, attr); // an attribute may be primitive
        if (n < 1) throw new DerError('missing attribute type');
        if (n < 2) throw new DerError('missing attribute values');
        const type = nextChild(der, attr)!;
        const values = nextChild(der, attr, type)!;
        if (attr.tag !== 0x30 || type.tag !== 0x06 || values.tag !== 0x31 || n !== 2)
          throw new Error('malformed attribute');
        if (!isOid(der, type, EXTENSION_REQUEST_OID)) continue;
        for (let exts = nextChild(der, values); exts; exts = nextChild(der, values, exts)) {
          if (exts.tag !== 0x30) throw new Error('malformed extensionRequest');
          for (let ext = nextChild(der, exts); ext; ext = nextChild(der, exts, ext)) {
            const m = countChildren(der, ext); // an extension may be primitive
            if (m < 1) throw new DerError('missing extnID');
            const id = nextChild(der, ext)!;
            const second = nextChild(der, ext, id);
            const value = m === 1 ? id : m === 2 ? second! : nextChild(der, ext, second)!; // the last child
            const critical = m === 3 ? second : undefined;
            if (ext.tag !== 0x30 || id.tag !== 0x06 || value.tag !== 0x04 || m < 2 || m > 3)
              throw new Error('malformed extension');
            if (critical && critical.tag !== 0x01) throw new Error('malformed extension (critical)');
            if (!isOid(der, id, SAN_OID_CONTENT)) {
              if (isOid(der, id, BASIC_CONSTRAINTS_OID_CONTENT)) basicConstraints = true;
              continue;
            }
            const v = der.subarray(value.contentStart, value.end);
            sans = decodeGeneralNames(v, readWhole(v));
          }
        }
      }
    } else if (attrsT !== undefined) throw new Error('malformed attributes');
    info = raw(der, infoT);
    subject = decodeName(der, subjT);
    spki = new Uint8Array(raw(der, spkiT));
    const algId = nextChild(der, algT);
    if (!algId) throw new DerError('missing signatureAlgorithm');
    sigOid = decodeOid(content(der, algId));
    signature = der.subarray(sigT.contentStart + 1, sigT.end);
  } catch (e) {
    throw new PkiError('csr.invalid', `malformed CSR: ${(e as Error).message}`);
  }
  const keyType = keyTypeFromSpki(spki);
  const alg = SIGNATURE_ALGORITHMS[sigOid];
  if (!alg)
    throw new PkiError('csr.invalid_signature', `unsupported CSR signature algorithm ${sigOid}`, {
      details: { algorithm: sigOid },
    });
  return { alg, spki, info, signature, der, csr: { subject, publicKey: spki, keyType, sans }, basicConstraints };
}

/**
 * Builds a PKCS#10 CSR for a key held elsewhere (HSM/KMS): e.g. an intermediate CA whose
 * certificate will be signed by an external root. `sign` signs with that key.
 */
export async function buildCsr(
  input: { subject: DistinguishedName; sans?: SubjectAltNames; publicKey: Uint8Array; keyType: KeyType },
  sign: SignFn,
): Promise<Uint8Array> {
  validateDn(input.subject);
  const actual = keyTypeFromSpki(input.publicKey);
  if (actual !== input.keyType)
    throw new PkiError('input.invalid', `keyType ${input.keyType} does not match the public key (${actual})`);
  const sans = input.sans ?? {};
  const bad = invalidSans(sans);
  if (bad.length) throw new PkiError('input.invalid', `invalid subject alternative names: ${bad.join(', ')}`);
  const hasSan = Object.values(sans as Record<string, unknown[] | undefined>).some((v) => v && v.length > 0);
  const attributes = hasSan
    ? tlv(0xa0, seq(oid(EXTENSION_REQUEST), set(seq(seq(oid(SAN_OID), octetString(encodeGeneralNames(sans)))))))
    : explicit(0);
  const info = seq(integer(0), encodeDn(input.subject), input.publicKey, attributes);
  const signature = await sign(info);
  return signedDer(info, signatureAlgorithmDer(input.keyType), signature);
}
