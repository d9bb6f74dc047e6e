import { toPem } from '@pkim/core';
import { isoTime, isoTimeOrNull } from './common-mappers';
import type {
  CaCrlDto,
  CaDto,
  CaExternalDto,
  CaHistoryEntryDto,
  CaHistoryRecord,
  CaRecord,
  CaRotateOutputDto,
  CaViewDto,
} from './ca-schemas';

/**
 * The contract's wire mappers for CAs and their CRLs: the authority's records (epoch ms, lifetimes in ms) → the
 * DTOs of ./ca-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a schema
 * (docs/architecture.md, "packages/contract").
 */

export function toCaDto(ca: CaRecord): CaDto {
  return {
    id: ca.id,
    name: ca.name,
    parentId: ca.parentId,
    subject: ca.subjectDn,
    issuer: ca.issuerDn,
    serial: ca.serialHex,
    notBefore: isoTimeOrNull(ca.notBefore),
    notAfter: isoTimeOrNull(ca.notAfter),
    keyUri: ca.keyUri,
    keyType: ca.keyType,
    keyBackend: ca.keyBackend,
    status: ca.status,
    pathLen: ca.pathLen,
    nameConstraints: ca.nameConstraints,
    urls: ca.urls,
    leafNotAfterBehavior: ca.leafNotAfterBehavior,
    predecessorId: ca.predecessorId ?? null,
    ski: ca.skiHex,
    fingerprintSha256: ca.fingerprintSha256,
    crlNumber: ca.crlNumber,
    revokedAt: isoTimeOrNull(ca.revokedAt),
    revocationReason: ca.revocationReason,
    createdAt: isoTime(ca.createdAt),
    updatedAt: isoTime(ca.updatedAt),
  };
}

/** the CA with its certificate and chain; while it waits for its certificate (external), the CSR too */
export function toCaViewDto(v: { ca: CaRecord; certificatePem: string | null; chainPem: string }): CaViewDto {
  const dto: CaViewDto = {
    ...toCaDto(v.ca),
    certificatePem: v.certificatePem,
    chainPem: v.chainPem,
    history: (v.ca.certificateHistory ?? []).map(toCaHistoryEntryDto),
  };
  if (v.ca.status === 'pending' && v.ca.csrPem) dto.csr = v.ca.csrPem;
  return dto;
}

export function toCaHistoryEntryDto(h: CaHistoryRecord): CaHistoryEntryDto {
  return {
    kind: h.kind,
    serial: h.serialHex,
    issuer: h.issuerDn,
    issuerCaId: h.issuerCaId,
    notBefore: isoTime(h.notBefore),
    notAfter: isoTime(h.notAfter),
    fingerprintSha256: h.fingerprintSha256,
    certificatePem: h.certificatePem,
    at: isoTime(h.at),
    ...(h.revokedAt !== undefined && { revokedAt: isoTime(h.revokedAt) }),
    ...(h.revocationReason !== undefined && { revocationReason: h.revocationReason }),
  };
}

/** `ca.rotate` / `pkim ca rotate`: the successor, the predecessor now, a root's cross certificate */
export function toCaRotateOutputDto(v: {
  ca: CaRecord;
  certificatePem: string | null;
  chainPem: string;
  predecessor: CaRecord;
  crossCertificatePem: string | null;
}): CaRotateOutputDto {
  return { ...toCaViewDto(v), predecessor: toCaDto(v.predecessor), crossCertificatePem: v.crossCertificatePem };
}

/** `ca.createExternal` / `pkim ca create --external`: the pending CA with the CSR its outside CA signs */
export function toCaExternalDto(v: { ca: CaRecord; csrPem: string }): CaExternalDto {
  return { ...toCaDto(v.ca), csr: v.csrPem };
}

export function toCaCrlDto(
  caId: string,
  crl: { der: Uint8Array; crlNumber: number; thisUpdate: number; nextUpdate: number },
): CaCrlDto {
  return {
    caId,
    crlNumber: crl.crlNumber,
    thisUpdate: isoTime(crl.thisUpdate),
    nextUpdate: isoTime(crl.nextUpdate),
    pem: toPem(crl.der, 'X509 CRL'),
  };
}
