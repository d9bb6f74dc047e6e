import { PkiError, checkPathLen, newId } from '@pkim/shared';
import { activeCaFields, caCreatedEvent, caKeyCreatedEvent, newCaRow } from '../ca-row';
import {
  formatDn,
  parseCertificate,
  resolveProfile,
  verifyCertificateSignature,
  type CertificateInfo,
  type DistinguishedName,
} from '@pkim/core';
import { keyBackendRegistration, type CertifiedRoot, type KeyRef } from '@pkim/keys';
import type { CaView } from '../types';
import { authorize } from '../permissions';
import { recordFailure, type SigningServiceDeps } from '../ca-context';
import { subjectToDn } from '../subject-input';
import { provisionerRef } from './provisioner';
import { applyLifetime, checkCaCertificates, checkKeyType, checkProfileKeyType } from './provisioner-policy';
import { provisionersFor } from './provisioner-registry';
import type { RootCaRequest, Via } from './sign-request';

/**
 * KMS-certified root creation (`kmsCertify: true`) through the backend's optional `certifyRoot` capability
 * (today a Cosmian KMS): the key pair is generated in the KMS and the KMS builds and self-signs the root
 * certificate. PKI Manager does not trust that certificate blindly: it
 * is parsed and checked like any other (public key = the KMS key's SPKI, subject as requested, CA:TRUE,
 * self-issued, self-signature verifies, within validity) before the CA row is written.
 */
export async function createKmsCertifiedRoot(
  deps: SigningServiceDeps,
  input: RootCaRequest,
  via: Via,
  helpers: { checkCaName: (name: string) => Promise<void> },
): Promise<CaView> {
  const { store, keys, clock, logger } = deps;
  const { actor } = via;
  const { checkCaName: checkName } = helpers;
  let root: CertifiedRoot | undefined;
  const backendName = input.backend ?? 'software';
  try {
    const certifier = keys.capability(backendName, 'certifyRoot');
    if (!certifier) {
      const when = keyBackendRegistration(backendName)?.offersWhen?.certifyRoot;
      if (!when) {
        throw new PkiError(
          'input.invalid',
          'kmsCertify (the KMS self-signs the root) needs backend kmip with a Cosmian KMS ' +
            `(a key backend with the certifyRoot capability); backend ${backendName} cannot certify`,
        );
      }
      throw new PkiError(
        'kms.unsupported',
        `kmsCertify: the configured ${backendName} backend cannot certify roots; it takes ${when}`,
        {
          retryable: false,
          details: { backend: backendName },
        },
      );
    }
    if (Object.values(input.nameConstraints ?? {}).some((v) => Array.isArray(v) && v.length > 0)) {
      throw new PkiError(
        'input.invalid',
        'kmsCertify cannot add name constraints to a root (the KMS builds the extensions): create it without them',
      );
    }
    authorize(actor, 'ca:write');
    const { all, effective } = provisionersFor(via);
    checkCaCertificates(all);
    checkKeyType(all, input.keyType);
    await checkName(input.name);
    const subject = subjectToDn(input.subject);
    const profile = resolveProfile('root-ca', deps.customProfiles);
    checkProfileKeyType(profile, input.keyType);
    const pathLen = input.pathLen ?? null;
    checkPathLen(pathLen); // one rule and message for every channel (MAX_PATH_LEN)
    const validityMs = applyLifetime(all, effective, input.lifetimeMs, profile) ?? profile.defaultLifetimeMs;
    if (!(validityMs > 0)) throw new PkiError('input.invalid', `validity must be positive, got ${validityMs} ms`);
    // the backend refuses a subject it cannot express before it creates a key
    root = await certifier.certifyRoot({
      keyType: input.keyType,
      label: input.name,
      subject,
      validityDays: Math.ceil(validityMs / 86_400_000),
      pathLen,
      keyUsage: profile.keyUsage,
    });
    const keyRef: KeyRef = root.signer;
    const certificateUid = root.certificateId;
    const info = checkKmsCertifiedRoot(root.certificateDer, keyRef, subject, pathLen, clock.now());
    const t = clock.now();
    const row = newCaRow(
      newId('ca'),
      activeCaFields(info, {
        name: input.name,
        parentId: null,
        key: keyRef,
        keyType: input.keyType,
        keyBackend: backendName,
        nameConstraints: null,
      }),
      deps.publicBaseUrl,
      t,
    );
    await store.commit({
      insertCa: [row],
      audit: [
        caKeyCreatedEvent(clock, actor, row),
        caCreatedEvent(clock, actor, row, {
          kmsCertified: true,
          kmsCertificateUid: certificateUid,
          provisioner: provisionerRef(effective),
        }),
      ],
    });
    logger.info(
      { caId: row.id, name: row.name, backend: backendName, kmsCertificateUid: certificateUid },
      'CA created (root certified by the KMS)',
    );
    return { ca: row, certificatePem: row.certificatePem, chainPem: await deps.contexts.chainPem(row) };
  } catch (e) {
    // the certificate object and the key pair the KMS made for a root that failed its checks (best effort)
    await root?.discard().catch((err: unknown) => {
      logger.warn(
        { err: (err as Error).message },
        'could not remove the KMS objects of a CA that failed to be created',
      );
    });
    throw await recordFailure(deps, actor, 'ca.create_failed', null, e, {
      name: input.name,
      keyType: input.keyType,
      backend: backendName,
      kmsCertify: true,
    });
  }
}

function sameDn(a: DistinguishedName, b: DistinguishedName): boolean {
  const norm = (dn: DistinguishedName) => dn.map((x) => `${x.type}=${x.value}`).sort();
  const x = norm(a);
  const y = norm(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Clock skew tolerated between the KMS and us for the certificate's notBefore. */
const KMS_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Checks a root certificate minted by the KMS before it is trusted: parses, is for the KMS key, carries the
 * requested subject, is a self-issued CA certificate whose self-signature verifies, and is valid now.
 */
export function checkKmsCertifiedRoot(
  der: Uint8Array,
  key: Pick<KeyRef, 'publicKey'>,
  subject: DistinguishedName,
  pathLen: number | null,
  now: number,
): CertificateInfo {
  let info: CertificateInfo;
  try {
    info = parseCertificate(der);
  } catch (e) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS did not return a parsable X.509 certificate: ${(e as Error).message}`,
    );
  }
  if (Buffer.compare(Buffer.from(info.publicKey), Buffer.from(key.publicKey)) !== 0) {
    throw new PkiError(
      'ca.certificate_mismatch',
      'the KMS certificate is not for the CA key it generated (public keys differ)',
      {
        details: { fingerprint: info.fingerprintSha256 },
      },
    );
  }
  if (!info.isCa)
    throw new PkiError(
      'ca.certificate_mismatch',
      'the KMS certificate is not a CA certificate (basicConstraints CA:FALSE or absent)',
    );
  if (info.keyUsage.length > 0 && !info.keyUsage.includes('keyCertSign')) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate's keyUsage (${info.keyUsage.join(', ')}) does not allow keyCertSign`,
    );
  }
  if (pathLen !== null && info.pathLen !== pathLen) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate has pathLen ${String(info.pathLen)}, ${pathLen} was asked`,
    );
  }
  if (!sameDn(info.subject, subject)) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate's subject '${info.subjectDn}' is not the requested '${formatDn(subject)}'`,
    );
  }
  if (info.issuerDn !== info.subjectDn) {
    throw new PkiError('ca.certificate_mismatch', `the KMS certificate is not self-issued (issuer '${info.issuerDn}')`);
  }
  if (!verifyCertificateSignature(info.der, key.publicKey)) {
    throw new PkiError(
      'certificate.verify_failed',
      "the KMS certificate's self-signature does not verify against the CA key",
    );
  }
  if (info.notBefore > now + KMS_CLOCK_SKEW_MS || info.notAfter <= now) {
    throw new PkiError(
      'ca.certificate_mismatch',
      `the KMS certificate is not valid now (${new Date(info.notBefore).toISOString()} – ` +
        `${new Date(info.notAfter).toISOString()})`,
    );
  }
  return info;
}
