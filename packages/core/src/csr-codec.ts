/** PKCS#10 certification requests: decoding with proof-of-possession check, and building. */
import { PkiError, type KeyType } from '@pkim/shared';
import type { CsrContent, DecodedCsr, DistinguishedName, SignFn, SubjectAltNames } from './types';
import { assertWellFormed, at, children, content, decodeOid, raw, readWhole } from './der-reader';
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

interface ParsedCsr {
  alg: SignatureAlgorithmInfo;
  spki: Uint8Array;
  info: Uint8Array;
  signature: Uint8Array;
  der: Uint8Array;
  csr: CsrContent;
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

function parseCsr(input: string | Uint8Array): ParsedCsr {
  let der: Uint8Array;
  try {
    // one CSR per request: a second block (or any text) after it is refused, never silently ignored
    der = fromPem(input, 'CERTIFICATE REQUEST', { alone: true });
  } catch (e) {
    throw new PkiError('csr.invalid', `not a CSR: ${(e as Error).message}`);
  }
  let parts: {
    info: Uint8Array;
    subject: DistinguishedName;
    spki: Uint8Array;
    sans: SubjectAltNames;
    sigOid: string;
    signature: Uint8Array;
  };
  try {
    const top = readWhole(der);
    assertWellFormed(der, top);
    const [infoT, algT, sigT] = children(der, top);
    if (top.tag !== 0x30 || infoT?.tag !== 0x30 || algT?.tag !== 0x30 || sigT?.tag !== 0x03)
      throw new Error('not a CertificationRequest');
    const [verT, subjT, spkiT, attrsT] = children(der, infoT);
    if (verT?.tag !== 0x02 || subjT?.tag !== 0x30 || spkiT?.tag !== 0x30)
      throw new Error('malformed CertificationRequestInfo');
    let sans: SubjectAltNames = {};
    if (attrsT?.tag === 0xa0) {
      // Attribute ::= SEQUENCE { type OID, values SET OF … }; Extensions ::= SEQUENCE OF Extension (RFC 2986/5280)
      for (const attr of children(der, attrsT)) {
        const attrParts = children(der, attr);
        const type = at(attrParts, 0, 'attribute type');
        const values = at(attrParts, 1, 'attribute values');
        if (attr.tag !== 0x30 || type.tag !== 0x06 || values.tag !== 0x31 || attrParts.length !== 2)
          throw new Error('malformed attribute');
        if (decodeOid(content(der, type)) !== EXTENSION_REQUEST) continue;
        for (const exts of children(der, values)) {
          if (exts.tag !== 0x30) throw new Error('malformed extensionRequest');
          for (const ext of children(der, exts)) {
            const ep = children(der, ext);
            const id = at(ep, 0, 'extnID');
            const value = at(ep, ep.length - 1, 'extnValue');
            const critical = ep.length === 3 ? ep[1] : undefined;
            if (ext.tag !== 0x30 || id.tag !== 0x06 || value.tag !== 0x04 || ep.length < 2 || ep.length > 3)
              throw new Error('malformed extension');
            if (critical && critical.tag !== 0x01) throw new Error('malformed extension (critical)');
            if (decodeOid(content(der, id)) !== SAN_OID) continue;
            const v = content(der, value);
            sans = decodeGeneralNames(v, readWhole(v));
          }
        }
      }
    } else if (attrsT !== undefined) throw new Error('malformed attributes');
    const sig = content(der, sigT);
    parts = {
      info: raw(der, infoT),
      subject: decodeName(der, subjT),
      spki: new Uint8Array(raw(der, spkiT)),
      sans,
      sigOid: decodeOid(content(der, at(children(der, algT), 0, 'signatureAlgorithm'))),
      signature: sig.subarray(1),
    };
  } catch (e) {
    throw new PkiError('csr.invalid', `malformed CSR: ${(e as Error).message}`);
  }
  const keyType = keyTypeFromSpki(parts.spki);
  const alg = SIGNATURE_ALGORITHMS[parts.sigOid];
  if (!alg)
    throw new PkiError('csr.invalid_signature', `unsupported CSR signature algorithm ${parts.sigOid}`, {
      details: { algorithm: parts.sigOid },
    });
  return {
    alg,
    spki: parts.spki,
    info: parts.info,
    signature: parts.signature,
    der,
    csr: { subject: parts.subject, publicKey: parts.spki, keyType, sans: parts.sans },
  };
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
