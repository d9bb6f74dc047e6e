/** OCSP (RFC 6960) request parsing and response building with @peculiar/asn1-ocsp. */
import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  KeyHash,
  OCSPRequest,
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

/** Parses a DER OCSPRequest. Throws `ocsp.malformed_request`. */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  let req: OCSPRequest;
  try {
    req = AsnConvert.parse(der, OCSPRequest);
  } catch (e) {
    throw new PkiError('ocsp.malformed_request', `malformed OCSP request: ${(e as Error).message}`);
  }
  const list = req.tbsRequest?.requestList ?? [];
  if (list.length === 0) throw new PkiError('ocsp.malformed_request', 'the OCSP request contains no certificate');
  const requests = list.map((r) => {
    const c = r.reqCert;
    return {
      hashAlgorithmOid: c.hashAlgorithm.algorithm,
      issuerNameHash: new Uint8Array(c.issuerNameHash.buffer),
      issuerKeyHash: new Uint8Array(c.issuerKeyHash.buffer),
      serialHex: serialToHex(new Uint8Array(c.serialNumber)),
      certIdDer: new Uint8Array(AsnConvert.serialize(c)),
    };
  });
  const nonceExt = (req.tbsRequest.requestExtensions ?? []).find((e) => e.extnID === id_pkix_ocsp_nonce);
  return nonceExt ? { requests, nonce: new Uint8Array(nonceExt.extnValue.buffer) } : { requests };
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
