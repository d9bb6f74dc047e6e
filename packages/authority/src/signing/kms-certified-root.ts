import { PkiError, newId } from '@pkim/shared';
import {
  formatDn,
  parseCertificate,
  resolveProfile,
  toPem,
  verifyCertificateSignature,
  type CertificateInfo,
  type DistinguishedName,
} from '@pkim/core';
import { kmipCertify, type KeyRef, type KmipBackend } from '@pkim/keys';
import type { CaRow } from '@pkim/store';
import type { CaView } from '../types';
import { auditEvent } from '../audit-service';
import { authorize } from '../permissions';
import { recordFailure, type SigningServiceDeps } from '../ca-context';
import { subjectToDn } from '../subject-input';
import { provisionerRef } from './provisioner';
import { applyLifetime, checkCaCertificates, checkKeyType } from './provisioner-policy';
import { provisionersFor } from './provisioner-registry';
import type { RootCaRequest, Via } from './sign-request';

/**
 * Cosmian "Certify" root creation (`kmsCertify: true`): the key pair is generated in the KMS and the KMS
 * builds and self-signs the root certificate. PKI Manager does not trust that certificate blindly: it
 * is parsed and checked like any other (public key = the KMS key's SPKI, subject as requested, CA:TRUE,
 * self-issued, self-signature verifies, within validity) before the CA row is written.
 */
export async function createKmsCertifiedRoot(
  deps: SigningServiceDeps,
  input: RootCaRequest,
  via: Via,
  helpers: { checkCaName(name: string): Promise<void>; destroyQuietly(ref: KeyRef | undefined): Promise<void> },
): Promise<CaView> {
  const { store, keys, clock, logger } = deps;
  const { actor } = via;
  const { checkCaName: checkName, destroyQuietly } = helpers;
  let keyRef: KeyRef | undefined;
  let kms: KmipBackend | undefined;
  let certificateUid: string | undefined;
  const backendName = input.backend ?? 'software';
  try {
    if (backendName !== 'kmip') {
      throw new PkiError(
        'input.invalid',
        `kmsCertify (the KMS self-signs the root) needs backend kmip with a Cosmian KMS; backend ${backendName} cannot certify`,
      );
    }
    if (Object.values(input.nameConstraints ?? {}).some((v) => Array.isArray(v) && v.length > 0)) {
      throw new PkiError(
        'input.invalid',
        'kmsCertify cannot add name constraints to a root (the KMS builds the extensions): create the root without them',
      );
    }
    authorize(actor, 'ca:write');
    const { all, effective } = provisionersFor(via);
    checkCaCertificates(all);
    checkKeyType(all, input.keyType);
    await checkName(input.name);
    const subject = subjectToDn(input.subject);
    const certifySubject = toCertifySubject(subject);
    const now = clock.now();
    const profile = resolveProfile('root-ca', deps.customProfiles);
    if (!profile.allowedKeyTypes.includes(input.keyType)) {
      throw new PkiError(
        'policy.key_type_not_allowed',
        `key type ${input.keyType} is not allowed for profile ${profile.name}`,
      );
    }
    const pathLen = input.pathLen ?? null;
    if (pathLen !== null && (!Number.isInteger(pathLen) || pathLen < 0)) {
      throw new PkiError('input.invalid', `path length must be a non-negative integer, got ${pathLen}`);
    }
    const validityMs = applyLifetime(all, effective, input.lifetimeMs, profile) ?? profile.defaultLifetimeMs;
    if (!(validityMs > 0)) throw new PkiError('input.invalid', `validity must be positive, got ${validityMs} ms`);
    const backend = keys.get('kmip') as KmipBackend;
    if (backend.client?.dialect !== 'cosmian-2.1' || typeof backend.certify !== 'function') {
      throw new PkiError(
        'kms.unsupported',
        `kmsCertify uses the Cosmian KMS Certify operation: PKIM_KMIP_URL must be an http(s):// Cosmian KMS URL, but the configured KMIP server (${backend.client?.server ?? 'unknown'}) speaks binary KMIP, which has no Certify for roots`,
        {
          retryable: false,
          details: { dialect: backend.client?.dialect },
        },
      );
    }
    kms = backend;
    keyRef = await backend.generateKey({ keyType: input.keyType, label: input.name });
    const usage = profile.keyUsage.length ? profile.keyUsage.join(',') : 'keyCertSign,cRLSign';
    const certified = await kmipCertify(backend, {
      keyUri: keyRef.uri,
      subject: certifySubject,
      validityDays: Math.ceil(validityMs / 86_400_000),
      x509ExtensionsIni: [
        '[v3_ca]',
        `basicConstraints=critical,CA:TRUE${pathLen !== null ? `,pathlen:${pathLen}` : ''}`,
        `keyUsage=critical,${usage}`,
        'subjectKeyIdentifier=hash',
        '',
      ].join('\n'),
    });
    certificateUid = certified.certificateUid;
    const info = checkKmsCertifiedRoot(certified.certificateDer, keyRef, subject, pathLen, clock.now());
    const t = clock.now();
    const id = newId('ca');
    const row: CaRow = {
      id,
      name: input.name,
      parentId: null,
      subjectDn: info.subjectDn,
      issuerDn: info.issuerDn,
      serialHex: info.serialHex,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      keyUri: keyRef.uri,
      keyType: input.keyType,
      keyBackend: 'kmip',
      status: 'active',
      pathLen: info.pathLen,
      nameConstraints: null,
      certificatePem: toPem(info.der, 'CERTIFICATE'),
      csrPem: null,
      skiHex: info.subjectKeyIdentifierHex,
      fingerprintSha256: info.fingerprintSha256,
      crlNumber: 0,
      revokedAt: null,
      revocationReason: null,
      createdAt: t,
      updatedAt: t,
    };
    await store.commit({
      insertCa: [row],
      audit: [
        auditEvent(clock, actor, 'kms.key_created', keyRef.uri, {
          backend: 'kmip',
          keyType: input.keyType,
          caId: id,
        }),
        auditEvent(clock, actor, 'ca.created', id, {
          name: row.name,
          subject: row.subjectDn,
          parentId: null,
          keyType: row.keyType,
          backend: 'kmip',
          keyUri: row.keyUri,
          serial: row.serialHex,
          notAfter: row.notAfter,
          pathLen: row.pathLen,
          kmsCertified: true,
          kmsCertificateUid: certificateUid,
          provisioner: provisionerRef(effective),
        }),
      ],
    });
    logger.info(
      { caId: id, name: row.name, backend: 'kmip', kmsCertificateUid: certificateUid },
      'CA created (root certified by the KMS)',
    );
    return { ca: row, certificatePem: row.certificatePem, chainPem: await deps.contexts.chainPem(row) };
  } catch (e) {
    if (kms && certificateUid) {
      const uid = certificateUid;
      await kms.client
        .revoke(uid, { reason: 'CessationOfOperation', message: 'CA creation failed' })
        .catch(() => undefined);
      await kms.client.destroy(uid).catch((err: unknown) => {
        logger.warn(
          { uid, err: (err as Error).message },
          'could not destroy the KMS certificate of a CA that failed to be created',
        );
      });
    }
    await destroyQuietly(keyRef);
    throw await recordFailure(deps, actor, 'ca.create_failed', null, e, {
      name: input.name,
      keyType: input.keyType,
      backend: backendName,
      kmsCertify: true,
    });
  }
}

const CERTIFY_SUBJECT_FIELDS: Record<string, 'c' | 'st' | 'l' | 'o' | 'ou' | 'cn' | 'email'> = {
  C: 'c',
  ST: 'st',
  L: 'l',
  O: 'o',
  OU: 'ou',
  CN: 'cn',
  emailAddress: 'email',
};

/** The subject as Cosmian Certify takes it: one value each of CN, O, OU, C, ST, L, emailAddress. */
function toCertifySubject(dn: DistinguishedName): {
  cn: string;
  o?: string;
  ou?: string;
  c?: string;
  st?: string;
  l?: string;
  email?: string;
} {
  const out: Partial<Record<'c' | 'st' | 'l' | 'o' | 'ou' | 'cn' | 'email', string>> = {};
  for (const a of dn) {
    const field = CERTIFY_SUBJECT_FIELDS[a.type];
    if (!field) {
      throw new PkiError(
        'input.invalid',
        `kmsCertify: the KMS builds the subject from CN, O, OU, C, ST, L and emailAddress only; ${a.type} is not possible`,
      );
    }
    if (out[field] !== undefined) throw new PkiError('input.invalid', `kmsCertify: the KMS takes one ${a.type} only`);
    out[field] = a.value;
  }
  if (!out.cn) throw new PkiError('input.invalid', 'kmsCertify: the subject needs a common name (CN)');
  return { ...out, cn: out.cn };
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
      `the KMS certificate is not valid now (${new Date(info.notBefore).toISOString()} – ${new Date(info.notAfter).toISOString()})`,
    );
  }
  return info;
}
