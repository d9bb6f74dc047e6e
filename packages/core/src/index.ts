/** @pkim/core — the pure X.509 engine: no disk, network, clock or CA private key. */
export * from './types';
export { toPem, fromPem, splitPemBundle } from './pem-codec';
export { parseDn, formatDn, validateDn, encodeDn, decodeNameDer } from './dn-codec';
export {
  BUILT_IN_PROFILES,
  keyTypeNotAllowedMessage,
  profileSchema,
  parseProfile,
  resolveProfile,
} from './profile-catalog';
export type { BuiltInProfileName } from './profile-catalog';
export { generateSerial, serialToHex, normalizeSerialHex, serialHexToBytes } from './serial-number';
export {
  keyTypeFromSpki,
  generateKeyPair,
  generateKeyPairAsync,
  computeSki,
  verifySignature,
  verifySignatureAsync,
  signatureAlgorithmOid,
  SIGNATURE_ALGORITHMS,
} from './key-inspector';
export {
  decodeCsr,
  decodeCsrAsync,
  decodeCsrContent,
  decodeCsrContentAsync,
  decodeCsrUnverified,
  readCsrUnverified,
  verifyCsrContentAsync,
  type UnverifiedCsr,
  buildCsr,
  notACsr,
} from './csr-codec';
export {
  DEFAULT_MAX_SANS,
  DEFAULT_MAX_SAN_BYTES,
  checkNameCharacters,
  checkSanLimits,
  checkVisibleText,
  forbiddenCharacter,
  sanBytes,
  sanCount,
} from './name-limits';
export { planCertificate } from './certificate-planner';
export { lintCertificate, lintCaRequest, assertLintClean } from './certificate-linter';
export { ANY_POLICY_OID, isDottedOid, profileOidProblems, type ProfileOids } from './profile-oids';
export { encodeTbsCertificate, assembleCertificate, issueCertificate } from './certificate-encoder';
export * from './extensions';
export {
  certificatePurposes,
  certificateUrls,
  parseCertificate,
  readCertificate,
  verifyCertificateSignature,
  verifyCertificateSignatureAsync,
  issuerFactsOf,
} from './certificate-parser';
export { buildCrl, CrlEntryWriter, parseCrl, verifyCrlSignature, type ParsedCrl } from './crl-codec';
export {
  parseOcspRequest,
  ocspIssuerHashes,
  ocspCertIdDer,
  buildOcspResponse,
  ocspErrorResponse,
  OCSP_HASH_OIDS,
  type ParsedOcspRequest,
  type OcspResponseInput,
  type OcspSingleResponseInput,
} from './ocsp-codec';
export {
  isValidDnsName,
  isValidDnsConstraint,
  isValidEmailConstraint,
  isValidCidr,
  isValidIp,
  isValidUri,
  isValidEmail,
  dnsMatches,
  ipMatches,
  uriMatches,
  emailMatches,
  nameConstraintViolations,
} from './general-names';
export * from './ssh/index';
