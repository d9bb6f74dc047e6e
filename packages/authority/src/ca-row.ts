import type { Clock } from '@pkim/shared';
import { toPem, type CertificateInfo } from '@pkim/core';
import type { KeyBackends, KeyRef } from '@pkim/keys';
import type { CaRow, NewAuditEvent } from '@pkim/store';
import type { Logger } from 'pino';
import { auditEvent } from './audit-service';
import type { Actor } from './types';
import { urlsFromBase } from './url-plan';

/** What a creation path decides about a new CA; the rest of the row starts the same for every CA. */
export type NewCaFields = Omit<
  CaRow,
  | 'id'
  | 'urls'
  | 'issuerChainPem'
  | 'leafNotAfterBehavior'
  | 'crlNumber'
  | 'revokedAt'
  | 'revocationReason'
  | 'createdAt'
  | 'updatedAt'
>;

/**
 * The row of a new CA (root, intermediate, pending external, KMS-certified root). PKIM_PUBLIC_URL is only the default
 * of a new CA's relying-party URLs; `pkim ca set-urls` changes them for every process afterwards.
 */
export function newCaRow(id: string, fields: NewCaFields, publicBaseUrl: string | undefined, t: number): CaRow {
  return {
    id,
    ...fields,
    urls: publicBaseUrl ? urlsFromBase(publicBaseUrl, id) : null,
    issuerChainPem: null, // set by `ca import` when an outside CA signed it
    leafNotAfterBehavior: 'err', // a leaf past the CA's notAfter refused until setLeafNotAfterBehavior says otherwise
    crlNumber: 0,
    revokedAt: null,
    revocationReason: null,
    createdAt: t,
    updatedAt: t,
  };
}

/**
 * The row fields of a new active CA from its signed certificate (a root or intermediate signed here, a root the KMS
 * certified): names, serial, dates, path length, SKI and fingerprint as the certificate says them. `nameConstraints`
 * is given, not read: a CA's policy-only constraints (permitted URI prefixes) are not in its certificate.
 */
export function activeCaFields(
  certificate: CertificateInfo,
  ca: Pick<NewCaFields, 'name' | 'parentId' | 'keyType' | 'keyBackend' | 'nameConstraints'> & { key: KeyRef },
): NewCaFields {
  return {
    name: ca.name,
    parentId: ca.parentId,
    subjectDn: certificate.subjectDn,
    issuerDn: certificate.issuerDn,
    serialHex: certificate.serialHex,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    keyUri: ca.key.uri,
    keyType: ca.keyType,
    keyBackend: ca.keyBackend,
    status: 'active',
    pathLen: certificate.pathLen,
    nameConstraints: ca.nameConstraints,
    certificatePem: toPem(certificate.der, 'CERTIFICATE'),
    csrPem: null,
    skiHex: certificate.subjectKeyIdentifierHex,
    fingerprintSha256: certificate.fingerprintSha256,
  };
}

/** Destroys the key made for a CA that then failed to be created; a failure is logged, never thrown. */
export async function destroyKeyQuietly(
  deps: { keys: KeyBackends; logger: Logger },
  ref: Pick<KeyRef, 'uri'> | undefined,
  why = 'could not destroy key of a CA that failed to be created',
): Promise<void> {
  if (!ref) return;
  try {
    await deps.keys.destroy(ref.uri);
  } catch (e) {
    deps.logger.warn({ uri: ref.uri, err: (e as Error).message }, why);
  }
}

/** `kms.key_created` for the key of a new CA row */
export function caKeyCreatedEvent(clock: Clock, actor: Actor, row: CaRow): NewAuditEvent {
  return auditEvent(clock, actor, 'kms.key_created', row.keyUri, {
    backend: row.keyBackend,
    keyType: row.keyType,
    caId: row.id,
  });
}

/** `ca.created` for a new CA row with its certificate; `extra` adds path-specific details (provisioner, KMS …) */
export function caCreatedEvent(clock: Clock, actor: Actor, row: CaRow, extra: Record<string, unknown>): NewAuditEvent {
  return auditEvent(clock, actor, 'ca.created', row.id, {
    name: row.name,
    subject: row.subjectDn,
    parentId: row.parentId,
    keyType: row.keyType,
    backend: row.keyBackend,
    keyUri: row.keyUri,
    serial: row.serialHex,
    notAfter: row.notAfter,
    pathLen: row.pathLen,
    ...extra,
  });
}
