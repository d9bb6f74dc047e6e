/** planCertificate: resolves issuer name, key types, SKI/AKI and effective key usage. Pure, no signing. */
import { KEY_TYPE_INFO, PkiError } from '@pkim/shared';
import type { CertificatePlan, CertificatePlanInput } from './types';
import { issuerFactsOf } from './certificate-parser';
import { encodeDnCached, validateDn } from './dn-codec';
import { computeSki, keyTypeFromSpki } from './key-inspector';
import { checkNameCharacters, checkSanLimits } from './name-limits';

/**
 * Builds the full plan. Throws `dn.invalid` for a bad subject, `csr.*` for an unusable subject key,
 * `certificate.invalid` for an unreadable issuer certificate and `input.invalid` when the issuer
 * key type does not match the issuer certificate. Policy and RFC 5280 problems are left to
 * `lintCertificate`, so callers get all findings at once.
 */
export function planCertificate(input: CertificatePlanInput): CertificatePlan {
  validateDn(input.subject);
  checkNameCharacters(undefined, input.sans);
  checkSanLimits(input.profile, input.sans);
  const subjectKeyType = keyTypeFromSpki(input.publicKey);
  const ski = computeSki(input.publicKey);
  const profile = input.profile;
  const keyUsage = [...profile.keyUsage];
  if (KEY_TYPE_INFO[subjectKeyType].algorithm === 'rsa') {
    for (const k of profile.rsaKeyUsage ?? []) if (!keyUsage.includes(k)) keyUsage.push(k);
  }
  const pathLen = profile.isCa ? (input.pathLen !== undefined ? input.pathLen : (profile.pathLen ?? null)) : undefined;
  const common = {
    ...input,
    pathLen,
    keyUsage,
    extKeyUsage: [...profile.extKeyUsage],
    subjectKeyType,
    subjectKeyIdentifier: ski,
  };

  if (!input.issuer) {
    const kt = input.selfSignedKeyType ?? subjectKeyType;
    if (kt !== subjectKeyType) {
      throw new PkiError('input.invalid', `selfSignedKeyType ${kt} does not match the subject key (${subjectKeyType})`);
    }
    return {
      ...common,
      issuerName: input.subject,
      issuerNameDer: encodeDnCached(input.subject),
      issuerFacts: null,
      issuerKeyType: kt,
      authorityKeyIdentifier: ski,
    };
  }
  const facts = issuerFactsOf(input.issuer.certificateDer);
  const actual = keyTypeFromSpki(facts.publicKey);
  if (actual !== input.issuer.keyType) {
    throw new PkiError(
      'input.invalid',
      `issuer keyType ${input.issuer.keyType} does not match the issuer certificate key (${actual})`,
    );
  }
  return {
    ...common,
    issuerName: facts.subject,
    issuerNameDer: facts.subjectDer,
    issuerFacts: facts,
    issuerKeyType: input.issuer.keyType,
    authorityKeyIdentifier: facts.subjectKeyIdentifier,
  };
}
