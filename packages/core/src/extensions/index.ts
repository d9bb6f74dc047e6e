export type { CertificateExtension } from './certificate-extension';
export {
  CERTIFICATE_EXTENSIONS,
  OPTIONAL_EXTENSION_NAMES,
  encodeExtension,
  encodeExtensions,
  extensionByName,
  extensionByOid,
  profileWants,
} from './extension-registry';
export { BASIC_CONSTRAINTS, type BasicConstraintsValue } from './basic-constraints';
export { KEY_USAGE, KEY_USAGE_BITS, encodeKeyUsage } from './key-usage';
export { EXT_KEY_USAGE, EKU_OIDS } from './ext-key-usage';
export { SUBJECT_KEY_IDENTIFIER, AUTHORITY_KEY_IDENTIFIER } from './key-identifiers';
export { SUBJECT_ALT_NAME, decodeGeneralNames } from './subject-alt-name';
export { NAME_CONSTRAINTS } from './name-constraints';
export { CRL_DISTRIBUTION_POINTS } from './crl-distribution-points';
export { AUTHORITY_INFO_ACCESS, type AuthorityInfoAccessValue } from './authority-info-access';
export { CERTIFICATE_POLICIES } from './certificate-policies';
export { OCSP_NO_CHECK } from './ocsp-no-check';
export { CT_POISON } from './ct-poison';
