/** CRL v2 (RFC 5280 §5) building with @peculiar/asn1-x509 classes, and parsing. */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  CertificateList,
  CRLReason,
  Extension,
  KeyIdentifier,
  Name,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
} from '@peculiar/asn1-x509';
import { PkiError } from '@pkim/shared';
import type { CrlInput, SignFn } from './types';
import { issuerFactsOf } from './certificate-parser';
import { at, children, content, readWhole, toHex } from './der-reader';
import { bitString, integer, seq } from './der-writer';
import { formatDn, decodeNameDer } from './dn-codec';
import { keyTypeFromSpki, SIGNATURE_ALGORITHMS, signatureAlgorithmDer, verifyWithAlgorithm } from './key-inspector';
import { fromPem } from './pem-codec';
import { serialHexToBytes, serialToHex } from './serial-number';

const ab = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

/**
 * Builds and signs a v2 CRL: issuer name copied byte-for-byte from the issuer certificate's
 * subject, AKI = issuer SKI, CRL number, thisUpdate/nextUpdate (seconds precision), and one entry
 * per revoked serial with a reasonCode entry extension (omitted for unspecified / absent reasons).
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
  const sec = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);
  const entries = input.entries.map((e) => {
    if (e.reason !== undefined && (!Number.isInteger(e.reason) || e.reason < 0 || e.reason > 10 || e.reason === 7)) {
      throw new PkiError('revocation.invalid_reason', `invalid CRL reason code ${e.reason}`);
    }
    return new RevokedCertificate({
      userCertificate: ab(serialHexToBytes(e.serialHex)),
      revocationDate: new Time(sec(e.revokedAt)),
      crlEntryExtensions: e.reason
        ? [
            new Extension({
              extnID: id_ce_cRLReasons,
              critical: false,
              // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- RFC 5280 reason codes
              extnValue: new OctetString(AsnConvert.serialize(new CRLReason(e.reason))),
            }),
          ]
        : undefined,
    });
  });
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: AsnConvert.parse(signatureAlgorithmDer(input.issuer.keyType), AlgorithmIdentifier),
    issuer: AsnConvert.parse(facts.subjectDer, Name),
    thisUpdate: new Time(sec(input.thisUpdate)),
    nextUpdate: new Time(sec(input.nextUpdate)),
    revokedCertificates: entries.length ? entries : undefined,
    crlExtensions: [
      new Extension({
        extnID: id_ce_authorityKeyIdentifier,
        critical: false,
        extnValue: new OctetString(
          AsnConvert.serialize(
            new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(ab(facts.subjectKeyIdentifier)) }),
          ),
        ),
      }),
      new Extension({ extnID: id_ce_cRLNumber, critical: false, extnValue: new OctetString(integer(input.crlNumber)) }),
    ],
  });
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = await sign(tbsDer);
  return seq(tbsDer, signatureAlgorithmDer(input.issuer.keyType), bitString(signature));
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
