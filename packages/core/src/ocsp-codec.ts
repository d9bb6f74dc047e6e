/** OCSP (RFC 6960) request parsing and response building with @peculiar/asn1-ocsp. */
import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  KeyHash,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
} from '@peculiar/asn1-ocsp';
import { PkiError, type KeyType } from '@pkim/shared';
import type { SignFn } from './types';
import { issuerFactsOf } from './certificate-parser';
import { hashSubjectPublicKey, signatureAlgorithmDer } from './key-inspector';
import { serialToHex } from './serial-number';
import { at, children, content, decodeOid, DerError, raw, readWhole, type Tlv } from './der-reader';

export const OCSP_HASH_OIDS = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1' } as const;
const HASH_BY_OID: Record<string, 'sha1' | 'sha256'> = {
  [OCSP_HASH_OIDS.sha1]: 'sha1',
  [OCSP_HASH_OIDS.sha256]: 'sha256',
};

const u8 = (b: ArrayBuffer | ArrayBufferView): Uint8Array =>
  ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
const ab = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

export interface ParsedOcspRequest {
  requests: {
    hashAlgorithmOid: string;
    issuerNameHash: Uint8Array;
    issuerKeyHash: Uint8Array;
    serialHex: string;
    certIdDer: Uint8Array;
  }[];
  /**
   * The nonce extension's extnValue contents exactly as received (for RFC 8954 clients such as
   * openssl this is the DER of an OCTET STRING). `buildOcspResponse` echoes it verbatim.
   */
  nonce?: Uint8Array;
}

function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

/**
 * Parses a DER OCSPRequest (RFC 6960 §4.1.1) with the bounds-checked DER reader: the responder's hot path reads every
 * request, and the schema-class parser cost ≈ 0.5 ms per request (docs/benchmarks.md). The CertID is returned as the
 * bytes the client sent. Throws `ocsp.malformed_request`.
 */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  let parsed: ParsedOcspRequest;
  try {
    parsed = parseOcspRequestDer(der);
  } catch (e) {
    throw new PkiError('ocsp.malformed_request', `malformed OCSP request: ${(e as Error).message}`);
  }
  if (parsed.requests.length === 0)
    throw new PkiError('ocsp.malformed_request', 'the OCSP request contains no certificate');
  return parsed;
}

function parseOcspRequestDer(der: Uint8Array): ParsedOcspRequest {
  const top = expectTag(readWhole(der), 0x30, 'OCSPRequest');
  const outer = children(der, top);
  const tbs = expectTag(at(outer, 0, 'tbsRequest'), 0x30, 'tbsRequest');
  if (outer.length > 2 || (outer[1] && outer[1].tag !== 0xa0))
    throw new DerError('OCSPRequest: unexpected element after tbsRequest');
  const items = children(der, tbs);
  let i = 0;
  if (items[i]?.tag === 0xa0) i++; // version [0] EXPLICIT
  if (items[i]?.tag === 0xa1) i++; // requestorName [1] EXPLICIT
  const list = expectTag(at(items, i++, 'requestList'), 0x30, 'requestList');
  const extensions = items[i]?.tag === 0xa2 ? items[i++] : undefined;
  if (i !== items.length) throw new DerError('tbsRequest: unexpected element');
  const requests = children(der, list).map((r) => {
    const parts = children(der, expectTag(r, 0x30, 'Request'));
    if (parts.length > 2 || (parts[1] && parts[1].tag !== 0xa0)) throw new DerError('Request: unexpected element');
    const certId = expectTag(at(parts, 0, 'reqCert'), 0x30, 'CertID');
    const fields = children(der, certId);
    if (fields.length !== 4) throw new DerError('CertID: expected 4 elements');
    const alg = children(der, expectTag(fields[0]!, 0x30, 'hashAlgorithm'));
    if (alg.length < 1 || alg.length > 2) throw new DerError('hashAlgorithm: expected an OID and optional parameters');
    const serial = content(der, expectTag(fields[3]!, 0x02, 'serialNumber'));
    if (serial.length === 0) throw new DerError('serialNumber: empty INTEGER');
    return {
      hashAlgorithmOid: decodeOid(content(der, expectTag(alg[0]!, 0x06, 'hash algorithm'))),
      issuerNameHash: content(der, expectTag(fields[1]!, 0x04, 'issuerNameHash')).slice(),
      issuerKeyHash: content(der, expectTag(fields[2]!, 0x04, 'issuerKeyHash')).slice(),
      serialHex: serialToHex(serial),
      certIdDer: raw(der, certId).slice(),
    };
  });
  if (!extensions) return { requests };
  const wrapped = children(der, extensions);
  if (wrapped.length !== 1) throw new DerError('requestExtensions: expected one SEQUENCE');
  for (const ext of children(der, expectTag(wrapped[0]!, 0x30, 'Extensions'))) {
    const f = children(der, expectTag(ext, 0x30, 'Extension'));
    const oid = decodeOid(content(der, expectTag(at(f, 0, 'extnID'), 0x06, 'extnID')));
    if (f.length === 3) expectTag(f[1]!, 0x01, 'critical');
    else if (f.length !== 2) throw new DerError('Extension: expected 2 or 3 elements');
    const value = expectTag(f[f.length - 1]!, 0x04, 'extnValue');
    if (oid === id_pkix_ocsp_nonce) return { requests, nonce: content(der, value).slice() };
  }
  return { requests };
}

/** CertID hashes of an issuer: hash of its subject Name DER and of its subjectPublicKey bits. */
export function ocspIssuerHashes(
  issuerCertDer: Uint8Array,
  hashAlgorithmOid: string,
): { nameHash: Uint8Array; keyHash: Uint8Array } {
  const hash = HASH_BY_OID[hashAlgorithmOid];
  if (!hash)
    throw new PkiError('ocsp.malformed_request', `unsupported CertID hash algorithm ${hashAlgorithmOid}`, {
      details: { algorithm: hashAlgorithmOid },
    });
  const facts = issuerFactsOf(issuerCertDer);
  return {
    nameHash: new Uint8Array(createHash(hash).update(facts.subjectDer).digest()),
    keyHash: hashSubjectPublicKey(facts.publicKey, hash),
  };
}

/**
 * DER of the CertID naming certificate `serialHex` of the issuer `issuerCertDer`: by default SHA-1 with NULL
 * parameters, what openssl and RFC 5019 clients send (the responder serves a pre-signed response only to a request
 * with these exact bytes).
 */
export function ocspCertIdDer(
  issuerCertDer: Uint8Array,
  serialHex: string,
  hashAlgorithmOid: string = OCSP_HASH_OIDS.sha1,
): Uint8Array {
  const { nameHash, keyHash } = ocspIssuerHashes(issuerCertDer, hashAlgorithmOid);
  let serial = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  if (serial.length === 0 || (serial[0]! & 0x80) !== 0) serial = Buffer.concat([Buffer.from([0]), serial]);
  const certId = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: hashAlgorithmOid, parameters: null }),
    issuerNameHash: new OctetString(ab(nameHash)),
    issuerKeyHash: new OctetString(ab(keyHash)),
    serialNumber: ab(serial),
  });
  return u8(AsnConvert.serialize(certId));
}

export interface OcspSingleResponseInput {
  certIdDer: Uint8Array;
  status: 'good' | 'revoked' | 'unknown';
  revokedAt?: number;
  reason?: number;
  thisUpdate: number;
  nextUpdate?: number;
}

export interface OcspResponseInput {
  responderCertDer: Uint8Array;
  responderKeyType: KeyType;
  responses: OcspSingleResponseInput[];
  nonce?: Uint8Array;
  producedAt: number;
  /** certificates to include (e.g. a delegated responder certificate) */
  certs?: Uint8Array[];
}

const sec = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

/** A signed `successful` OCSPResponse with a BasicOCSPResponse (responderID byKey, nonce echoed). */
export async function buildOcspResponse(input: OcspResponseInput, sign: SignFn): Promise<Uint8Array> {
  const facts = issuerFactsOf(input.responderCertDer);
  const responses = input.responses.map((r) => {
    let certStatus: CertStatus;
    if (r.status === 'good') certStatus = new CertStatus({ good: null });
    else if (r.status === 'unknown') certStatus = new CertStatus({ unknown: null });
    else {
      if (r.revokedAt === undefined) throw new PkiError('input.invalid', 'a revoked OCSP response needs revokedAt');
      certStatus = new CertStatus({
        revoked: new RevokedInfo({
          revocationTime: sec(r.revokedAt),
          // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- RFC 5280 reason codes
          revocationReason: r.reason ? new CRLReason(r.reason) : undefined,
        }),
      });
    }
    return new SingleResponse({
      certID: AsnConvert.parse(r.certIdDer, CertID),
      certStatus,
      thisUpdate: sec(r.thisUpdate),
      nextUpdate: r.nextUpdate !== undefined ? sec(r.nextUpdate) : undefined,
    });
  });
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(ab(hashSubjectPublicKey(facts.publicKey, 'sha1'))) }),
    producedAt: sec(input.producedAt),
    responses,
    responseExtensions: input.nonce
      ? [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(ab(input.nonce)) })]
      : undefined,
  });
  const tbs = new Uint8Array(AsnConvert.serialize(data));
  const signature = await sign(tbs);
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: AsnConvert.parse(signatureAlgorithmDer(input.responderKeyType), AlgorithmIdentifier),
    signature: ab(u8(signature)),
    certs: input.certs?.length ? input.certs.map((c) => AsnConvert.parse(c, Certificate)) : undefined,
  });
  const basicDer = AsnConvert.serialize(basic);
  const resp = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(basicDer) }),
  });
  return new Uint8Array(AsnConvert.serialize(resp));
}

/** An unsigned error OCSPResponse (no responseBytes). */
export function ocspErrorResponse(
  status: 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized',
): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus[status] })));
}
