/**
 * The `certifyRoot` capability of a Cosmian KMS (JSON TTLV over HTTP): the KMS generates the key pair
 * and self-signs the root certificate itself (Certify with the pair's own private key as issuer), then
 * hands the certificate back with Get(X509). Binary KMIP servers (PyKMIP, appliances) have no Certify
 * for roots, so a `kmip://` backend does not offer this capability at all.
 */
import { PkiError } from '@pkim/shared';
import type { CertifiedRoot, CertifyRootRequest, Signer } from '../key-backend';
import type { CertifySubject } from './kmip-operations';

const SUBJECT_FIELDS: Record<string, keyof CertifySubject> = {
  C: 'c',
  ST: 'st',
  L: 'l',
  O: 'o',
  OU: 'ou',
  CN: 'cn',
  emailAddress: 'email',
};

/** The subject as Cosmian Certify takes it: one value each of CN, O, OU, C, ST, L, emailAddress. */
export function toCertifySubject(dn: CertifyRootRequest['subject']): CertifySubject {
  const out: Partial<CertifySubject> = {};
  for (const a of dn) {
    const field = SUBJECT_FIELDS[a.type];
    if (!field) {
      throw new PkiError(
        'input.invalid',
        `kmsCertify: the KMS builds the subject from CN, O, OU, C, ST, L and emailAddress only; ${a.type} ` +
          `is not possible`,
      );
    }
    if (out[field] !== undefined) throw new PkiError('input.invalid', `kmsCertify: the KMS takes one ${a.type} only`);
    out[field] = a.value;
  }
  if (!out.cn) throw new PkiError('input.invalid', 'kmsCertify: the subject needs a common name (CN)');
  return { ...out, cn: out.cn };
}

/** The `x509-extension` vendor attribute: an OpenSSL ini `[v3_ca]` section. */
export function rootExtensionsIni(req: Pick<CertifyRootRequest, 'pathLen' | 'keyUsage'>): string {
  const usage = req.keyUsage.length ? req.keyUsage.join(',') : 'keyCertSign,cRLSign';
  return [
    '[v3_ca]',
    `basicConstraints=critical,CA:TRUE${req.pathLen !== null ? `,pathlen:${req.pathLen}` : ''}`,
    `keyUsage=critical,${usage}`,
    'subjectKeyIdentifier=hash',
    '',
  ].join('\n');
}

/** What the certifier needs from the KMIP backend. */
export interface KmipRootCertifierDeps {
  generateKey(spec: { keyType: CertifyRootRequest['keyType']; label?: string }): Promise<Signer>;
  destroyPair(uri: string): Promise<void>;
  /** Certify the key pair of `keyUri` with its own private key; returns the Certificate object's UID and DER. */
  certifySelf(
    keyUri: string,
    subject: CertifySubject,
    validityDays: number,
    x509ExtensionsIni: string,
  ): Promise<{ certificateUid: string; certificateDer: Uint8Array }>;
  /** Revokes and destroys a certificate object (best effort is up to the caller). */
  removeCertificate(uid: string): Promise<void>;
}

export function createKmipRootCertifier(
  deps: KmipRootCertifierDeps,
): (req: CertifyRootRequest) => Promise<CertifiedRoot> {
  return async (req) => {
    // everything the KMS cannot express is refused before a key exists
    const subject = toCertifySubject(req.subject);
    if (!(req.validityDays > 0))
      throw new PkiError('input.invalid', `validity must be positive, got ${req.validityDays} days`);
    const ini = rootExtensionsIni(req);
    const signer = await deps.generateKey({ keyType: req.keyType, ...(req.label ? { label: req.label } : {}) });
    let certificateUid: string | undefined;
    const discard = async (): Promise<void> => {
      if (certificateUid) await deps.removeCertificate(certificateUid).catch(() => undefined);
      await deps.destroyPair(signer.uri).catch(() => undefined);
    };
    try {
      const certified = await deps.certifySelf(signer.uri, subject, Math.ceil(req.validityDays), ini);
      certificateUid = certified.certificateUid;
      return { signer, certificateDer: certified.certificateDer, certificateId: certified.certificateUid, discard };
    } catch (e) {
      await discard();
      throw e;
    }
  };
}
