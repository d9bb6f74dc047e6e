/** planCertificate: resolves issuer name, key types, SKI/AKI and effective key usage. Pure, no signing. */
import { KEY_TYPE_INFO, PkiError } from '@pkim/shared';
import type { CertificatePlan, CertificatePlanInput } from './types';
import { issuerFactsOf } from './certificate-parser';
import { encodeDn, validateDn } from './dn-codec';
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
  const ski = input.subjectKeyIdentifier ?? computeSki(input.publicKey);
  const profile = input.profile;
  const keyUsage = [...profile.keyUsage];
  if (KEY_TYPE_INFO[subjectKeyType].algorithm === 'rsa') {
    for (const k of profile.rsaKeyUsage ?? []) if (!keyUsage.includes(k)) keyUsage.push(k);
  }
  const pathLen = profile.isCa ? (input.pathLen !== undefined ? input.pathLen : (profile.pathLen ?? null)) : undefined;
  const issuer = input.issuer;
  let facts: CertificatePlan['issuerFacts'] = null;
  let issuerKeyType = input.selfSignedKeyType ?? subjectKeyType;
  if (!issuer) {
    if (issuerKeyType !== subjectKeyType) {
      throw new PkiError(
        'input.invalid',
        `selfSignedKeyType ${issuerKeyType} does not match the subject key (${subjectKeyType})`,
      );
    }
  } else {
    facts = issuerFactsOf(issuer.certificateDer);
    const actual = keyTypeFromSpki(facts.publicKey);
    if (actual !== issuer.keyType) {
      throw new PkiError(
        'input.invalid',
        `issuer keyType ${issuer.keyType} does not match the issuer certificate key (${actual})`,
      );
    }
    issuerKeyType = issuer.keyType;
  }
  // one object literal with every field (not `{ ...input, … }`): V8 builds a spread with added fields in its slow
  // path (≈ 10 µs per plan, more than the rest of planning) and the linter and encoder then read a slower object;
  // the type names every field, so a field added to CertificatePlanInput cannot be forgotten here
  const plan: { [K in keyof Required<CertificatePlan>]: CertificatePlan[K] } = {
    profile,
    subject: input.subject,
    sans: input.sans,
    publicKey: input.publicKey,
    issuer,
    selfSignedKeyType: input.selfSignedKeyType,
    serial: input.serial,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    pathLen,
    nameConstraints: input.nameConstraints,
    ancestorNameConstraints: input.ancestorNameConstraints,
    permitBeyondIssuer: input.permitBeyondIssuer,
    crlDistributionPoints: input.crlDistributionPoints,
    ocspUrls: input.ocspUrls,
    caIssuersUrls: input.caIssuersUrls,
    keyUsage,
    extKeyUsage: [...profile.extKeyUsage],
    issuerNameDer: facts ? facts.subjectDer : encodeDn(input.subject),
    issuerFacts: facts,
    issuerName: facts ? facts.subject : input.subject,
    issuerKeyType,
    subjectKeyType,
    subjectKeyIdentifier: ski,
    authorityKeyIdentifier: facts ? facts.subjectKeyIdentifier : ski,
  };
  return plan;
}
