import { PkiError, type Clock, type KeyType } from '@pkim/shared';
import { keyTypeFromSpki, toPem, type CertificateInfo } from '@pkim/core';
import type { BackendName, KeyBackends, KeyRef } from '@pkim/keys';
import type { CaRow, NewAuditEvent, Store } from '@pkim/store';
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
  | 'predecessorId'
  | 'certificateHistory'
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
    predecessorId: null, // set by a rotation (`pkim ca rotate`) on the successor it makes
    certificateHistory: null, // earlier certificates (renewals), a rotated root's cross certificate
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

/**
 * A key already in a key backend that a new CA is to use (`CreateCaInput.keyUri`: Vault's `key_ref`): it must exist
 * (its public key read from its backend: `kms.key_not_found` else), be of the key type asked, and be used by no CA
 * but those of `shareWith` (CreateCaInput.shareKeyWith: the issuers of one Vault mount; deleting a CA destroys its
 * key only with the key's last user, cas.delete). Checked before anything is made; the key is
 * never destroyed when the creation then fails — it was not made for it. Returns the key's reference, not a signer:
 * only the pipeline and the CA service (tests/architecture.test.ts) make signers of CA keys.
 */
export async function existingCaKey(
  deps: { keys: KeyBackends; store: Pick<Store, 'cas'> },
  keyUri: string,
  keyType: KeyType,
  shareWith: readonly string[] = [],
): Promise<{ ref: KeyRef; backend: BackendName }> {
  const backend = deps.keys.forUri(keyUri);
  const publicKey = await backend.getPublicKey(keyUri);
  let actual: KeyType | undefined;
  try {
    actual = keyTypeFromSpki(publicKey);
  } catch {
    actual = undefined;
  }
  if (actual !== keyType)
    throw new PkiError('input.invalid', `the existing key is ${actual ?? 'of an unsupported type'}, not ${keyType}`);
  const user = (await deps.store.cas.list()).find((c) => c.keyUri === keyUri && !shareWith.includes(c.id));
  if (user) throw new PkiError('input.invalid', `the existing key is used by CA ${user.name} (${user.id})`);
  return { ref: { uri: keyUri, keyType, publicKey }, backend: backend.name };
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
