import type { KeyType } from '@pkim/shared';

/**
 * One RDN attribute; a DN is an ordered list of them (RFC 4514 string order is reversed from DER order; we keep DER
 * order: most significant first, e.g. C, O, CN).
 */
export interface DnAttribute {
  type:
    | 'C'
    | 'ST'
    | 'L'
    | 'O'
    | 'OU'
    | 'CN'
    | 'serialNumber'
    | 'emailAddress'
    | 'DC'
    | 'UID'
    | (string & Record<never, never>);
  value: string;
}
export type DistinguishedName = DnAttribute[];

export interface SubjectAltNames {
  dns?: string[];
  ip?: string[];
  uri?: string[];
  email?: string[];
}

export interface NameConstraints {
  permittedDns?: string[];
  excludedDns?: string[];
  permittedIp?: string[]; // CIDR, e.g. 10.0.0.0/8, fd00::/8
  excludedIp?: string[];
  permittedUri?: string[]; // host constraints per RFC 5280 (e.g. .example.com, spiffe trust domain host)
  excludedUri?: string[];
  permittedEmail?: string[];
  excludedEmail?: string[];
  /**
   * PKI Manager policy, NOT encoded in the certificate: every URI SAN below the CA must start with one
   * of these (e.g. `spiffe://example.org/envoy/`). RFC 5280 URI constraints cover only the host, so a
   * path split (SPIFFE services vs transport CA) cannot be expressed to relying parties; the linter
   * enforces it for every certificate the CA (or a CA below it) signs.
   */
  permittedUriPrefixes?: string[];
}

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

export type ExtKeyUsageName =
  'serverAuth' | 'clientAuth' | 'codeSigning' | 'emailProtection' | 'timeStamping' | 'OCSPSigning';

/**
 * One certificate policy (RFC 5280 §4.2.1.4): its OID and, optionally, a CPS URI and a user notice text (the
 * qualifiers id-qt-cps and id-qt-unotice; OpenBao's `policy_identifiers` JSON form `{"oid","cps","notice"}`)
 */
export interface CertificatePolicy {
  oid: string;
  cps?: string;
  notice?: string;
}

/** A certificate profile (built-in or custom, validated by profileSchema). */
export interface Profile {
  name: string;
  description?: string;
  isCa: boolean;
  /** for CA profiles: default pathLen (null = unlimited) */
  pathLen?: number | null;
  keyUsage: KeyUsageName[];
  extKeyUsage: ExtKeyUsageName[];
  /** further extended key usages by dotted OID, after the named ones (a purpose of one's own: `1.3.6.1.4.1.…`) */
  extKeyUsageOids?: string[];
  /** the certificatePolicies extension (non-critical): absent or empty, none */
  certificatePolicies?: CertificatePolicy[];
  /** which SAN types may appear; `sanRequired` demands at least one SAN */
  allowedSanTypes: (keyof SubjectAltNames)[];
  sanRequired: boolean;
  allowedKeyTypes: KeyType[];
  defaultLifetimeMs: number;
  maxLifetimeMs: number;
  /** adds id-pkix-ocsp-nocheck (older spelling of `extensions: ['ocspNoCheck']`) */
  ocspNoCheck?: boolean;
  /**
   * optional extensions of the registry (core extensions/) this profile's certificates carry, by
   * name: `ocspNoCheck`, `ctPoison`, … (see OPTIONAL_EXTENSION_NAMES)
   */
  extensions?: string[];
  /** key usages added only when the subject key is RSA (e.g. keyEncipherment for TLS 1.2 RSA key transport) */
  rsaKeyUsage?: KeyUsageName[];
  /** SAN types of which at least one entry must be present (e.g. `uri` for SPIFFE SVIDs) */
  requiredSanTypes?: (keyof SubjectAltNames)[];
  /** allowed URI SAN schemes, lowercase without colon (e.g. ['spiffe']); absent = any absolute URI */
  allowedUriSchemes?: string[];
  /** maximum number of URI SANs (SPIFFE: exactly one) */
  maxUriSans?: number;
  /** maximum number of SANs of all types together, duplicates included (default 100) */
  maxSans?: number;
  /** maximum UTF-8 bytes of all SAN values together (default 16384) */
  maxSanBytes?: number;
  /** a renewal may keep the old key (`pkim cert renew --reuse-key`); default false: a renewal gets a new key */
  allowKeyReuse?: boolean;
  /**
   * leaf profiles: false leaves basicConstraints out of the certificates (default: critical, cA FALSE). Set by a
   * channel, not a profiles file: a Vault role without `basic_constraints_valid_for_non_ca` (OpenBao's leaves carry
   * none then), through the provisioner's `leafBasicConstraints` modifier
   */
  leafBasicConstraints?: boolean;
}

/** What the issuer contributes to a certificate it signs. For a self-signed root pass `selfSigned`. */
export interface IssuerInfo {
  /** DER of the issuer certificate (its subject becomes our issuer, its SKI our AKI). */
  certificateDer: Uint8Array;
  keyType: KeyType;
}

export interface CertificatePlanInput {
  profile: Profile;
  subject: DistinguishedName;
  sans?: SubjectAltNames;
  /** SubjectPublicKeyInfo DER of the subject key */
  publicKey: Uint8Array;
  /** issuer; omit for a self-signed root (then issuerKeyType = subject key type) */
  issuer?: IssuerInfo;
  /** required for self-signed roots */
  selfSignedKeyType?: KeyType;
  serial: Uint8Array; // positive, ≤ 20 bytes (use generateSerial)
  notBefore: number; // epoch ms
  notAfter: number; // epoch ms
  /** CA profiles: override the profile's pathLen */
  pathLen?: number | null;
  /**
   * the subject key identifier to carry instead of the one computed from the key (RFC 7093 method 1): a CA renewed
   * with its key keeps the SKI of its earlier certificate, which the AKI of what it issued names
   */
  subjectKeyIdentifier?: Uint8Array;
  nameConstraints?: NameConstraints;
  /**
   * name constraints of the CAs ABOVE the issuer (its parent, grandparent, …): relying parties
   * apply every constraint on the path, so the linter checks them all, not only the issuer's
   */
  ancestorNameConstraints?: NameConstraints[];
  /**
   * a leaf may end after its issuer (the issuing CA's `leaf_not_after_behavior` `permit`): the linter does not refuse
   * it. A CA certificate never may.
   */
  permitBeyondIssuer?: boolean;
  crlDistributionPoints?: string[];
  ocspUrls?: string[];
  caIssuersUrls?: string[];
}

/** The fully planned certificate, ready to encode + lint. */
export interface CertificatePlan extends CertificatePlanInput {
  /** effective key usage (profile keyUsage + rsaKeyUsage for RSA keys) */
  keyUsage: KeyUsageName[];
  extKeyUsage: ExtKeyUsageName[];
  /** DER of the issuer Name, byte-identical to the issuer certificate's subject */
  issuerNameDer: Uint8Array;
  /** what the linter needs to know about the issuer (null for self-signed roots) */
  issuerFacts: IssuerFacts | null;
  issuerName: DistinguishedName;
  issuerKeyType: KeyType;
  subjectKeyType: KeyType;
  subjectKeyIdentifier: Uint8Array;
  authorityKeyIdentifier: Uint8Array;
}

/** Facts about an issuer certificate, extracted once and cached. */
export interface IssuerFacts {
  subject: DistinguishedName;
  subjectDer: Uint8Array;
  notBefore: number;
  notAfter: number;
  isCa: boolean;
  pathLen: number | null;
  /** null when the issuer has no keyUsage extension */
  keyUsage: KeyUsageName[] | null;
  nameConstraints: NameConstraints | null;
  subjectKeyIdentifier: Uint8Array;
  publicKey: Uint8Array;
}

export interface LintFinding {
  code: string; // lint.*
  message: string;
}

/** Parsed view of a certificate (DER or PEM). */
export interface CertificateInfo {
  der: Uint8Array;
  serialHex: string;
  subject: DistinguishedName;
  subjectDn: string; // RFC 4514
  issuerDn: string;
  notBefore: number;
  notAfter: number;
  sans: SubjectAltNames;
  keyType: KeyType | 'unknown';
  publicKey: Uint8Array; // SPKI DER
  isCa: boolean;
  pathLen: number | null;
  keyUsage: KeyUsageName[];
  /** known purposes by name (serverAuth, …), others as dotted OIDs */
  extKeyUsage: string[];
  /** the certificatePolicies extension: each policy OID with its CPS URI and user notice, in the certificate's order */
  certificatePolicies: CertificatePolicy[];
  nameConstraints: NameConstraints | null;
  subjectKeyIdentifierHex: string | null;
  authorityKeyIdentifierHex: string | null;
  fingerprintSha256: string; // lowercase hex of DER
  /** TBS bytes, signature algorithm OID and signature value, for verification */
  tbs: Uint8Array;
  signatureAlgorithmOid: string;
  signature: Uint8Array;
}

export interface DecodedCsr extends CsrContent {
  der: Uint8Array;
  subjectDn: string;
}

/** What a certificate is made of from a CSR (its proof of possession verified): DecodedCsr without the copies. */
export interface CsrContent {
  subject: DistinguishedName;
  publicKey: Uint8Array; // SPKI DER
  keyType: KeyType;
  /** SANs requested in the extensionRequest attribute */
  sans: SubjectAltNames;
}

export interface CrlEntryInput {
  serialHex: string;
  revokedAt: number;
  reason?: number; // RFC 5280 reason code; omitted for unspecified
  /** crlEntryExtensions given by a caller (the Vault API's `sign-revocation-list`), after the reasonCode */
  extensions?: CrlExtensionInput[];
}

/** An extension given as it is: its OID (dotted), criticality and extnValue's content (the value's DER). */
export interface CrlExtensionInput {
  oid: string;
  critical?: boolean;
  value: Uint8Array;
}

/** revokedCertificates already DER-encoded one after another (`CrlEntryWriter`) */
export interface EncodedCrlEntries {
  readonly count: number;
  bytes(): Uint8Array;
}

export interface CrlInput {
  issuer: IssuerInfo;
  thisUpdate: number;
  nextUpdate: number;
  crlNumber: number | bigint;
  /** a list, or a `CrlEntryWriter` already filled (large CRLs) */
  entries: CrlEntryInput[] | EncodedCrlEntries;
  /**
   * a partition CRL (RFC 5280 §5.2.5): the URLs of its scope, written as a critical issuingDistributionPoint with
   * onlyContainsUserCerts (partitions hold end-entity certificates); a certificate of the partition carries one of
   * them as its CRL distribution point. Absent: a complete CRL.
   */
  issuingDistributionPoint?: string[];
  /**
   * a delta CRL (RFC 5280 §5.2.4): the number of the complete CRL it is based on, written as a critical Delta CRL
   * Indicator
   */
  deltaCrlBase?: number | bigint;
  /**
   * a complete CRL's delta CRLs (RFC 5280 §5.2.6): the URLs where they are published, written as a Freshest CRL
   * extension (one distribution point, its full name these URIs)
   */
  freshestCrl?: string[];
  /** crlExtensions given by a caller, after the authority key identifier and CRL number (no OID twice) */
  extensions?: CrlExtensionInput[];
}

/** X.509-ready signature over `data` with the issuer key (hash implied by key type). */
export type SignFn = (data: Uint8Array) => Promise<Uint8Array> | Uint8Array;
