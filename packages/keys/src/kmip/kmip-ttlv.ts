/**
 * The KMIP message model shared by both encodings (Cosmian JSON TTLV and binary TTLV).
 *
 * A node is `{ tag, type, value }`. Tags are KMIP names in PascalCase (`UniqueIdentifier`); a tag this
 * table does not know is written `0x42XXXX`. Enumeration values are kept as Cosmian's variant names
 * (`RSA`, `SHA256WithRSAEncryption`, `Item_Not_Found`) when known, else as numbers, so one tree can be
 * written as JSON (names) or binary (numbers).
 */

export type TtlvType =
  | 'Structure'
  | 'Integer'
  | 'LongInteger'
  | 'BigInteger'
  | 'Enumeration'
  | 'Boolean'
  | 'TextString'
  | 'ByteString'
  | 'DateTime'
  | 'Interval'
  | 'DateTimeExtended';

export type TtlvNode =
  | { tag: string; type: 'Structure'; value: TtlvNode[] }
  | { tag: string; type: 'Integer' | 'Interval'; value: number }
  | { tag: string; type: 'LongInteger' | 'DateTimeExtended'; value: bigint }
  | { tag: string; type: 'BigInteger' | 'ByteString'; value: Uint8Array }
  | { tag: string; type: 'Enumeration'; value: string | number }
  | { tag: string; type: 'Boolean'; value: boolean }
  | { tag: string; type: 'TextString'; value: string }
  | { tag: string; type: 'DateTime'; value: Date };

export type TtlvStructure = Extract<TtlvNode, { type: 'Structure' }>;

export const TTLV_TYPE_CODES: Record<TtlvType, number> = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
  DateTimeExtended: 0x0b,
};

export const TTLV_TYPE_BY_CODE: ReadonlyMap<number, TtlvType> = new Map(
  Object.entries(TTLV_TYPE_CODES).map(([k, v]) => [v, k as TtlvType]),
);

/** Tag name → number, for the tags PKI Manager uses (KMIP 1.x and 2.x). */
export const KMIP_TAGS: Readonly<Record<string, number>> = {
  ActivationDate: 0x420001,
  Attribute: 0x420008,
  AttributeIndex: 0x420009,
  AttributeName: 0x42000a,
  AttributeValue: 0x42000b,
  Authentication: 0x42000c,
  BatchCount: 0x42000d,
  BatchItem: 0x42000f,
  Certificate: 0x420013,
  CertificateRequest: 0x420018,
  CertificateRequestType: 0x420019,
  CertificateType: 0x42001d,
  CertificateValue: 0x42001e,
  CommonTemplateAttribute: 0x42001f,
  CompromiseOccurrenceDate: 0x420021,
  Credential: 0x420023,
  CredentialType: 0x420024,
  CredentialValue: 0x420025,
  CryptographicAlgorithm: 0x420028,
  CryptographicDomainParameters: 0x420029,
  CryptographicLength: 0x42002a,
  CryptographicParameters: 0x42002b,
  CryptographicUsageMask: 0x42002c,
  HashingAlgorithm: 0x420038,
  KeyBlock: 0x420040,
  KeyCompressionType: 0x420041,
  KeyFormatType: 0x420042,
  KeyMaterial: 0x420043,
  KeyValue: 0x420045,
  Link: 0x42004a,
  LinkType: 0x42004b,
  LinkedObjectIdentifier: 0x42004c,
  MaximumItems: 0x42004f,
  MaximumResponseSize: 0x420050,
  Modulus: 0x420052,
  Name: 0x420053,
  NameType: 0x420054,
  NameValue: 0x420055,
  ObjectGroup: 0x420056,
  ObjectType: 0x420057,
  Operation: 0x42005c,
  PaddingMethod: 0x42005f,
  PrivateKey: 0x420064,
  PrivateKeyTemplateAttribute: 0x420065,
  PrivateKeyUniqueIdentifier: 0x420066,
  ProtocolVersion: 0x420069,
  ProtocolVersionMajor: 0x42006a,
  ProtocolVersionMinor: 0x42006b,
  PublicExponent: 0x42006c,
  PublicKey: 0x42006d,
  PublicKeyTemplateAttribute: 0x42006e,
  PublicKeyUniqueIdentifier: 0x42006f,
  QueryFunction: 0x420074,
  RecommendedCurve: 0x420075,
  RequestHeader: 0x420077,
  RequestMessage: 0x420078,
  RequestPayload: 0x420079,
  ResponseHeader: 0x42007a,
  ResponseMessage: 0x42007b,
  ResponsePayload: 0x42007c,
  ResultMessage: 0x42007d,
  ResultReason: 0x42007e,
  ResultStatus: 0x42007f,
  RevocationMessage: 0x420080,
  RevocationReason: 0x420081,
  RevocationReasonCode: 0x420082,
  ServerInformation: 0x420088,
  State: 0x42008d,
  StorageStatusMask: 0x42008e,
  TemplateAttribute: 0x420091,
  TimeStamp: 0x420092,
  UniqueBatchItemID: 0x420093,
  UniqueIdentifier: 0x420094,
  Username: 0x420099,
  ValidityIndicator: 0x42009b,
  VendorIdentification: 0x42009d,
  Password: 0x4200a1,
  DigitalSignatureAlgorithm: 0x4200ae,
  Data: 0x4200c2,
  SignatureData: 0x4200c3,
  OffsetItems: 0x4200d4,
  LocatedItems: 0x4200d5,
  CorrelationValue: 0x4200d6,
  InitIndicator: 0x4200d7,
  FinalIndicator: 0x4200d8,
  DigestedData: 0x420107,
  Attributes: 0x420125,
  CommonAttributes: 0x420126,
  PrivateKeyAttributes: 0x420127,
  PublicKeyAttributes: 0x420128,
  CertificateRequestValue: 0x420140,
};

export const KMIP_TAG_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(KMIP_TAGS).map(([k, v]) => [v, k]));

/** Tag number for a name (`UniqueIdentifier` or `0x420094`); undefined if unknown. */
export function tagNumber(tag: string): number | undefined {
  const known = KMIP_TAGS[tag];
  if (known !== undefined) return known;
  if (/^0x[0-9a-f]{6}$/i.test(tag)) return Number.parseInt(tag.slice(2), 16);
  return undefined;
}

export function tagName(n: number): string {
  return KMIP_TAG_NAMES.get(n) ?? `0x${n.toString(16).toUpperCase().padStart(6, '0')}`;
}

// ------------------------------------------------------------------------------------------------
// Enumerations (Cosmian's variant names; numbers from the KMIP spec)

const OPERATIONS: Record<string, number> = {
  Create: 0x01,
  CreateKeyPair: 0x02,
  Register: 0x03,
  ReKey: 0x04,
  DeriveKey: 0x05,
  Certify: 0x06,
  ReCertify: 0x07,
  Locate: 0x08,
  Check: 0x09,
  Get: 0x0a,
  GetAttributes: 0x0b,
  GetAttributeList: 0x0c,
  AddAttribute: 0x0d,
  ModifyAttribute: 0x0e,
  DeleteAttribute: 0x0f,
  ObtainLease: 0x10,
  GetUsageAllocation: 0x11,
  Activate: 0x12,
  Revoke: 0x13,
  Destroy: 0x14,
  Archive: 0x15,
  Recover: 0x16,
  Validate: 0x17,
  Query: 0x18,
  Cancel: 0x19,
  Poll: 0x1a,
  Notify: 0x1b,
  Put: 0x1c,
  ReKeyKeyPair: 0x1d,
  DiscoverVersions: 0x1e,
  Encrypt: 0x1f,
  Decrypt: 0x20,
  Sign: 0x21,
  SignatureVerify: 0x22,
  MAC: 0x23,
  MACVerify: 0x24,
  RNGRetrieve: 0x25,
  RNGSeed: 0x26,
  Hash: 0x27,
  CreateSplitKey: 0x28,
  JoinSplitKey: 0x29,
  Import: 0x2a,
  Export: 0x2b,
  Log: 0x2c,
  Login: 0x2d,
  Logout: 0x2e,
  DelegatedLogin: 0x2f,
  AdjustAttribute: 0x30,
  SetAttribute: 0x31,
  SetEndpointRole: 0x32,
  PKCS11: 0x33,
  Interop: 0x34,
  ReProvision: 0x35,
};

const RESULT_REASONS: Record<string, number> = {
  Item_Not_Found: 0x01,
  Response_Too_Large: 0x02,
  Authentication_Not_Successful: 0x03,
  Invalid_Message: 0x04,
  Operation_Not_Supported: 0x05,
  Missing_Data: 0x06,
  Invalid_Field: 0x07,
  Feature_Not_Supported: 0x08,
  Operation_Canceled_By_Requester: 0x09,
  Cryptographic_Failure: 0x0a,
  Illegal_Operation: 0x0b,
  Permission_Denied: 0x0c,
  Object_Archived: 0x0d,
  Index_Out_Of_Bounds: 0x0e,
  Application_Namespace_Not_Supported: 0x0f,
  Key_Format_Type_Not_Supported: 0x10,
  Key_Compression_Type_Not_Supported: 0x11,
  Encoding_Option_Error: 0x12,
  Key_Value_Not_Present: 0x13,
  Attestation_Required: 0x14,
  Attestation_Failed: 0x15,
  Sensitive: 0x16,
  Not_Extractable: 0x17,
  Object_Already_Exists: 0x18,
  Invalid_Ticket: 0x19,
  Usage_Limit_Exceeded: 0x1a,
  Numeric_Range: 0x1b,
  Invalid_Data_Type: 0x1c,
  Read_Only_Attribute: 0x1d,
  Multi_Valued_Attribute: 0x1e,
  Unsupported_Attribute: 0x1f,
  Attribute_Instance_Not_Found: 0x20,
  Attribute_Not_Found: 0x21,
  Attribute_Read_Only: 0x22,
  Attribute_Single_Valued: 0x23,
  Bad_Cryptographic_Parameters: 0x24,
  Bad_Password: 0x25,
  Codec_Error: 0x26,
  Illegal_Object_Type: 0x28,
  Incompatible_Cryptographic_Usage_Mask: 0x29,
  Internal_Server_Error: 0x2a,
  Invalid_Asynchronous_Correlation_Value: 0x2b,
  Invalid_Attribute: 0x2c,
  Invalid_Attribute_Value: 0x2d,
  Invalid_Correlation_Value: 0x2e,
  Invalid_CSR: 0x2f,
  Invalid_Object_Type: 0x30,
  Key_Wrap_Type_Not_Supported: 0x32,
  Missing_Initialization_Vector: 0x34,
  Non_Unique_Name_Attribute: 0x35,
  Object_Destroyed: 0x36,
  Object_Not_Found: 0x37,
  Not_Authorised: 0x39,
  Server_Limit_Exceeded: 0x3a,
  Unknown_Enumeration: 0x3b,
  Unknown_Message_Extension: 0x3c,
  Unknown_Tag: 0x3d,
  Unsupported_Cryptographic_Parameters: 0x3e,
  Unsupported_Protocol_Version: 0x3f,
  Wrapping_Object_Archived: 0x40,
  Wrapping_Object_Destroyed: 0x41,
  Wrapping_Object_Not_Found: 0x42,
  Wrong_Key_Lifecycle_State: 0x43,
  Protection_Storage_Unavailable: 0x44,
  General_Failure: 0x100,
};

const KEY_FORMAT_TYPES: Record<string, number> = {
  Raw: 0x01,
  Opaque: 0x02,
  PKCS1: 0x03,
  PKCS8: 0x04,
  X509: 0x05,
  ECPrivateKey: 0x06,
  TransparentSymmetricKey: 0x07,
  TransparentDSAPrivateKey: 0x08,
  TransparentDSAPublicKey: 0x09,
  TransparentRSAPrivateKey: 0x0a,
  TransparentRSAPublicKey: 0x0b,
  TransparentDHPrivateKey: 0x0c,
  TransparentDHPublicKey: 0x0d,
  TransparentECPrivateKey: 0x14,
  TransparentECPublicKey: 0x15,
  PKCS12: 0x16,
  PKCS10: 0x17,
};

/** Enumeration tables by the tag that carries the value. */
export const KMIP_ENUMS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  Operation: OPERATIONS,
  ResultStatus: { Success: 0, OperationFailed: 1, OperationPending: 2, OperationUndone: 3 },
  ResultReason: RESULT_REASONS,
  ObjectType: {
    Certificate: 1,
    SymmetricKey: 2,
    PublicKey: 3,
    PrivateKey: 4,
    SplitKey: 5,
    Template: 6,
    SecretData: 7,
    OpaqueObject: 8,
    PGPKey: 9,
    CertificateRequest: 0x0a,
  },
  CryptographicAlgorithm: {
    DES: 1,
    THREE_DES: 2,
    AES: 3,
    RSA: 4,
    DSA: 5,
    ECDSA: 6,
    HMACSHA1: 7,
    HMACSHA224: 8,
    HMACSHA256: 9,
    HMACSHA384: 0x0a,
    HMACSHA512: 0x0b,
    HMACMD5: 0x0c,
    DH: 0x0d,
    ECDH: 0x0e,
    ECMQV: 0x0f,
    EC: 0x1a,
    Ed25519: 0x37,
    Ed448: 0x38,
  },
  RecommendedCurve: { P192: 0x01, P224: 0x04, P256: 0x07, P384: 0x0a, P521: 0x0d },
  KeyFormatType: KEY_FORMAT_TYPES,
  HashingAlgorithm: {
    MD2: 1,
    MD4: 2,
    MD5: 3,
    SHA1: 4,
    SHA224: 5,
    SHA256: 6,
    SHA384: 7,
    SHA512: 8,
    RIPEMD160: 9,
    Tiger: 0x0a,
    Whirlpool: 0x0b,
    SHA512224: 0x0c,
    SHA512256: 0x0d,
    SHA3224: 0x0e,
    SHA3256: 0x0f,
    SHA3384: 0x10,
    SHA3512: 0x11,
  },
  PaddingMethod: {
    None: 1,
    OAEP: 2,
    PKCS5: 3,
    SSL3: 4,
    Zeros: 5,
    ANSIX923: 6,
    ISO10126: 7,
    PKCS1v15: 8,
    X931: 9,
    PSS: 0x0a,
  },
  DigitalSignatureAlgorithm: {
    MD2WithRSAEncryption: 1,
    MD5WithRSAEncryption: 2,
    SHA1WithRSAEncryption: 3,
    SHA224WithRSAEncryption: 4,
    SHA256WithRSAEncryption: 5,
    SHA384WithRSAEncryption: 6,
    SHA512WithRSAEncryption: 7,
    RSASSAPSS: 8,
    DSAWithSHA1: 9,
    DSAWithSHA224: 0x0a,
    DSAWithSHA256: 0x0b,
    ECDSAWithSHA1: 0x0c,
    ECDSAWithSHA224: 0x0d,
    ECDSAWithSHA256: 0x0e,
    ECDSAWithSHA384: 0x0f,
    ECDSAWithSHA512: 0x10,
  },
  NameType: { UninterpretedTextString: 1, URI: 2 },
  LinkType: {
    CertificateLink: 0x101,
    PublicKeyLink: 0x102,
    PrivateKeyLink: 0x103,
    DerivationBaseObjectLink: 0x104,
    DerivedKeyLink: 0x105,
    ReplacementObjectLink: 0x106,
    ReplacedObjectLink: 0x107,
    ParentLink: 0x108,
    ChildLink: 0x109,
    PreviousLink: 0x10a,
    NextLink: 0x10b,
  },
  RevocationReasonCode: {
    Unspecified: 1,
    KeyCompromise: 2,
    CACompromise: 3,
    AffiliationChanged: 4,
    Superseded: 5,
    CessationOfOperation: 6,
    PrivilegeWithdrawn: 7,
  },
  QueryFunction: {
    QueryOperations: 1,
    QueryObjects: 2,
    QueryServerInformation: 3,
    QueryApplicationNamespaces: 4,
    QueryExtensionList: 5,
    QueryExtensionMap: 6,
    QueryAttestationTypes: 7,
    QueryRNGs: 8,
    QueryValidations: 9,
    QueryProfiles: 0x0a,
    QueryCapabilities: 0x0b,
    QueryClientRegistrationMethods: 0x0c,
  },
  State: { PreActive: 1, Active: 2, Deactivated: 3, Compromised: 4, Destroyed: 5, Destroyed_Compromised: 6 },
  CertificateRequestType: { CRMF: 1, PKCS10: 2, PEM: 3, PGP: 4 },
  CertificateType: { X509: 1, PGP: 2 },
  KeyCompressionType: {
    ECPublicKeyTypeUncompressed: 1,
    ECPublicKeyTypeX962CompressedPrime: 2,
    ECPublicKeyTypeX962CompressedChar2: 3,
    ECPublicKeyTypeX962Hybrid: 4,
  },
  ValidityIndicator: { Valid: 1, Invalid: 2, Unknown: 3 },
};

const ENUM_NAMES: ReadonlyMap<string, ReadonlyMap<number, string>> = new Map(
  Object.entries(KMIP_ENUMS).map(([tag, table]) => [tag, new Map(Object.entries(table).map(([k, v]) => [v, k]))]),
);

/** Numeric value of an enumeration for a tag; accepts a known name or a number. */
export function enumNumber(tag: string, value: string | number): number | undefined {
  if (typeof value === 'number') return value;
  if (/^0x[0-9a-f]{1,8}$/i.test(value)) return Number.parseInt(value.slice(2), 16);
  return KMIP_ENUMS[tag]?.[value];
}

/** Canonical model value of an enumeration number for a tag: the name if known, else the number. */
export function enumName(tag: string, n: number): string | number {
  return ENUM_NAMES.get(tag)?.get(n) ?? n;
}

/** Enumeration value as a comparable name, e.g. for `ResultReason`: 1 → `Item_Not_Found`. */
export function enumToName(tag: string, value: string | number): string {
  if (typeof value === 'string') {
    const n = enumNumber(tag, value);
    if (/^0x/i.test(value) && n !== undefined) return String(enumName(tag, n));
    return value;
  }
  return String(enumName(tag, value));
}

// ------------------------------------------------------------------------------------------------
// Builders and accessors

export const ttlv = {
  struct: (tag: string, value: TtlvNode[]): TtlvNode => ({ tag, type: 'Structure', value }),
  int: (tag: string, value: number): TtlvNode => ({ tag, type: 'Integer', value }),
  long: (tag: string, value: bigint): TtlvNode => ({ tag, type: 'LongInteger', value }),
  enum: (tag: string, value: string | number): TtlvNode => ({ tag, type: 'Enumeration', value }),
  bool: (tag: string, value: boolean): TtlvNode => ({ tag, type: 'Boolean', value }),
  text: (tag: string, value: string): TtlvNode => ({ tag, type: 'TextString', value }),
  bytes: (tag: string, value: Uint8Array): TtlvNode => ({ tag, type: 'ByteString', value }),
  date: (tag: string, value: Date): TtlvNode => ({ tag, type: 'DateTime', value }),
};

export function isStructure(node: TtlvNode | undefined): node is TtlvStructure {
  return node?.type === 'Structure';
}

export function childrenOf(node: TtlvNode | undefined, tag: string): TtlvNode[] {
  if (!isStructure(node)) return [];
  return node.value.filter((c) => c.tag === tag);
}

export function childOf(node: TtlvNode | undefined, tag: string): TtlvNode | undefined {
  if (!isStructure(node)) return undefined;
  return node.value.find((c) => c.tag === tag);
}

/** Depth-first search for the first node with this tag. */
export function findDeep(node: TtlvNode | undefined, tag: string): TtlvNode | undefined {
  if (!node) return undefined;
  if (node.tag === tag) return node;
  if (!isStructure(node)) return undefined;
  for (const c of node.value) {
    const hit = findDeep(c, tag);
    if (hit) return hit;
  }
  return undefined;
}

export function textOf(node: TtlvNode | undefined): string | undefined {
  return node?.type === 'TextString' ? node.value : undefined;
}

export function bytesOf(node: TtlvNode | undefined): Uint8Array | undefined {
  return node?.type === 'ByteString' ? node.value : undefined;
}
