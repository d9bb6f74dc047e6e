/**
 * Request payload builders and response parsers for the operations PKI Manager uses, in two dialects:
 *
 * - `cosmian-2.1`: KMIP 2.1 as Cosmian KMS speaks it (Attributes structures, ActivationDate=now so keys are
 *   Active at once, `KeyFormatType PKCS8` for SPKI, `DigitalSignatureAlgorithm` only in Sign).
 * - `kmip-1.4`: standard KMIP 1.x (TemplateAttribute/Attribute{AttributeName, AttributeValue}, keys start
 *   PreActive and are Activated, Sign carries `PaddingMethod` as PyKMIP requires), children in spec order.
 */
import { createPublicKey } from 'node:crypto';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import { KMIP_ENUMS, bytesOf, childOf, childrenOf, findDeep, textOf, ttlv, type TtlvNode } from './kmip-ttlv';

export type KmipDialect = 'cosmian-2.1' | 'kmip-1.4';

export interface KmipRequest {
  /** Operation enumeration name (`Sign`). The bare Cosmian request tag is the same name. */
  operation: string;
  payload: TtlvNode[];
}

export interface KeyTypeKmip {
  algorithm: 'RSA' | 'ECDSA';
  bits?: number;
  curve?: 'P256' | 'P384';
  signatureAlgorithm: 'SHA256WithRSAEncryption' | 'ECDSAWithSHA256' | 'ECDSAWithSHA384';
}

/** How a PKI Manager key type is expressed in KMIP; undefined when KMIP key pairs of this type are not offered. */
export function kmipKeyType(keyType: KeyType): KeyTypeKmip | undefined {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'rsa')
    return { algorithm: 'RSA', bits: info.bits, signatureAlgorithm: 'SHA256WithRSAEncryption' };
  if (info.algorithm === 'ec' && info.curve === 'prime256v1')
    return { algorithm: 'ECDSA', curve: 'P256', signatureAlgorithm: 'ECDSAWithSHA256' };
  if (info.algorithm === 'ec' && info.curve === 'secp384r1')
    return { algorithm: 'ECDSA', curve: 'P384', signatureAlgorithm: 'ECDSAWithSHA384' };
  return undefined;
}

function requireKmipKeyType(keyType: KeyType): KeyTypeKmip {
  const k = kmipKeyType(keyType);
  if (!k)
    throw new PkiError('kms.unsupported', `KMIP backend does not support key type ${keyType}`, {
      details: { keyType },
    });
  return k;
}

const enumValue = (tag: string, name: string): number => {
  const n = KMIP_ENUMS[tag]?.[name];
  if (n === undefined) throw new Error(`unknown ${tag} ${name}`);
  return n;
};

/** KMIP 1.x `Attribute{AttributeName, AttributeValue}` (AttributeValue enums carried as numbers). */
function attr1(name: string, value: TtlvNode): TtlvNode {
  return ttlv.struct('Attribute', [ttlv.text('AttributeName', name), { ...value, tag: 'AttributeValue' }]);
}

function nameStruct(tag: string, value: string, numericEnums: boolean): TtlvNode {
  return ttlv.struct(tag, [
    ttlv.text('NameValue', value),
    ttlv.enum('NameType', numericEnums ? enumValue('NameType', 'UninterpretedTextString') : 'UninterpretedTextString'),
  ]);
}

// ------------------------------------------------------------------------------------------------
// builders

export function buildQuery(): KmipRequest {
  return {
    operation: 'Query',
    payload: [ttlv.enum('QueryFunction', 'QueryOperations'), ttlv.enum('QueryFunction', 'QueryServerInformation')],
  };
}

export interface CreateKeyPairInput {
  keyType: KeyType;
  /** Name given to the private key (e.g. the CA label). */
  name?: string;
  /** ActivationDate (cosmian-2.1): keys are Active at once. */
  activationDate?: Date;
}

export function buildCreateKeyPair(dialect: KmipDialect, input: CreateKeyPairInput): KmipRequest {
  const k = requireKmipKeyType(input.keyType);
  if (dialect === 'cosmian-2.1') {
    const when = input.activationDate ?? new Date();
    const size = (): TtlvNode =>
      k.algorithm === 'RSA'
        ? ttlv.int('CryptographicLength', k.bits!)
        : ttlv.struct('CryptographicDomainParameters', [ttlv.enum('RecommendedCurve', k.curve!)]);
    const common = [ttlv.enum('CryptographicAlgorithm', k.algorithm), size()];
    return {
      operation: 'CreateKeyPair',
      payload: [
        ttlv.struct('CommonAttributes', [
          ...common,
          ttlv.enum('ObjectType', 'PrivateKey'),
          ttlv.date('ActivationDate', when),
        ]),
        ttlv.struct('PrivateKeyAttributes', [
          ttlv.enum('CryptographicAlgorithm', k.algorithm),
          size(),
          ttlv.int('CryptographicUsageMask', 1),
          ttlv.enum('ObjectType', 'PrivateKey'),
          ...(input.name ? [nameStruct('Name', input.name, false)] : []),
          ttlv.date('ActivationDate', when),
        ]),
        ttlv.struct('PublicKeyAttributes', [
          ttlv.enum('CryptographicAlgorithm', k.algorithm),
          size(),
          ttlv.int('CryptographicUsageMask', 2),
          ttlv.enum('ObjectType', 'PublicKey'),
          ttlv.date('ActivationDate', when),
        ]),
      ],
    };
  }
  const alg = attr1('Cryptographic Algorithm', ttlv.enum('x', enumValue('CryptographicAlgorithm', k.algorithm)));
  // KMIP 1.x: the curve is implied by Cryptographic Length (256 → P-256, 384 → P-384); servers differ on
  // whether they accept Cryptographic Domain Parameters in templates (PyKMIP cannot parse it), so it is not sent.
  const size = attr1(
    'Cryptographic Length',
    ttlv.int('x', k.algorithm === 'RSA' ? k.bits! : k.curve === 'P256' ? 256 : 384),
  );
  return {
    operation: 'CreateKeyPair',
    payload: [
      ttlv.struct('CommonTemplateAttribute', [alg, size]),
      ttlv.struct('PrivateKeyTemplateAttribute', [
        attr1('Cryptographic Usage Mask', ttlv.int('x', 1)),
        ...(input.name ? [attr1('Name', nameStruct('x', input.name, true))] : []),
      ]),
      ttlv.struct('PublicKeyTemplateAttribute', [
        attr1('Cryptographic Usage Mask', ttlv.int('x', 2)),
        ...(input.name ? [attr1('Name', nameStruct('x', `${input.name}.pub`, true))] : []),
      ]),
    ],
  };
}

/** Get a public key: cosmian asks for PKCS8 (= SPKI); standard servers answer in their own format (PKCS1). */
export function buildGetPublicKey(dialect: KmipDialect, uid: string): KmipRequest {
  return {
    operation: 'Get',
    payload: [
      ttlv.text('UniqueIdentifier', uid),
      ...(dialect === 'cosmian-2.1' ? [ttlv.enum('KeyFormatType', 'PKCS8')] : []),
    ],
  };
}

export interface RegisterKeyInput {
  /** the half registered: the private key (PKCS#8 DER, usage Sign) or its public key (SPKI DER, usage Verify) */
  objectType: 'PrivateKey' | 'PublicKey';
  keyType: KeyType;
  der: Uint8Array;
  name?: string;
  /** ActivationDate (cosmian-2.1): Active at once; standard servers register PreActive and are Activated after. */
  activationDate?: Date;
}

/**
 * Register of one half of a key pair made elsewhere: a PrivateKey (KeyFormatType PKCS8) or a PublicKey (X509, the
 * SubjectPublicKeyInfo), its algorithm and length in the KeyBlock; KMIP 1.x attributes in a TemplateAttribute, 2.1 in
 * Attributes.
 */
export function buildRegister(dialect: KmipDialect, input: RegisterKeyInput): KmipRequest {
  const k = requireKmipKeyType(input.keyType);
  const length = k.algorithm === 'RSA' ? k.bits! : k.curve === 'P256' ? 256 : 384;
  const usage = input.objectType === 'PrivateKey' ? 1 : 2;
  const keyBlock = ttlv.struct('KeyBlock', [
    ttlv.enum('KeyFormatType', input.objectType === 'PrivateKey' ? 'PKCS8' : 'X509'),
    ttlv.struct('KeyValue', [ttlv.bytes('KeyMaterial', input.der)]),
    ttlv.enum('CryptographicAlgorithm', k.algorithm),
    ttlv.int('CryptographicLength', length),
  ]);
  const object = ttlv.struct(input.objectType, [keyBlock]);
  if (dialect === 'cosmian-2.1') {
    return {
      operation: 'Register',
      payload: [
        ttlv.enum('ObjectType', input.objectType),
        ttlv.struct('Attributes', [
          ttlv.enum('CryptographicAlgorithm', k.algorithm),
          ttlv.int('CryptographicLength', length),
          ttlv.int('CryptographicUsageMask', usage),
          ttlv.enum('ObjectType', input.objectType),
          ...(input.name ? [nameStruct('Name', input.name, false)] : []),
          ttlv.date('ActivationDate', input.activationDate ?? new Date()),
        ]),
        object,
      ],
    };
  }
  return {
    operation: 'Register',
    payload: [
      ttlv.enum('ObjectType', input.objectType),
      ttlv.struct('TemplateAttribute', [
        attr1('Cryptographic Usage Mask', ttlv.int('x', usage)),
        ...(input.name ? [attr1('Name', nameStruct('x', input.name, true))] : []),
      ]),
      object,
    ],
  };
}

export function buildGetCertificate(uid: string): KmipRequest {
  return { operation: 'Get', payload: [ttlv.text('UniqueIdentifier', uid), ttlv.enum('KeyFormatType', 'X509')] };
}

export function buildSign(dialect: KmipDialect, uid: string, keyType: KeyType, data: Uint8Array): KmipRequest {
  const k = requireKmipKeyType(keyType);
  const params =
    dialect === 'cosmian-2.1'
      ? [ttlv.enum('DigitalSignatureAlgorithm', k.signatureAlgorithm)]
      : [
          // spec order: PaddingMethod, HashingAlgorithm, …, DigitalSignatureAlgorithm, CryptographicAlgorithm
          ...(k.algorithm === 'RSA' ? [ttlv.enum('PaddingMethod', 'PKCS1v15')] : []),
          ttlv.enum('DigitalSignatureAlgorithm', k.signatureAlgorithm),
        ];
  return {
    operation: 'Sign',
    payload: [
      ttlv.text('UniqueIdentifier', uid),
      ttlv.struct('CryptographicParameters', params),
      ttlv.bytes('Data', data),
    ],
  };
}

export function buildActivate(uid: string): KmipRequest {
  return { operation: 'Activate', payload: [ttlv.text('UniqueIdentifier', uid)] };
}

export function buildDestroy(uid: string): KmipRequest {
  return { operation: 'Destroy', payload: [ttlv.text('UniqueIdentifier', uid)] };
}

export type RevocationReasonCode =
  | 'Unspecified'
  | 'KeyCompromise'
  | 'CACompromise'
  | 'AffiliationChanged'
  | 'Superseded'
  | 'CessationOfOperation'
  | 'PrivilegeWithdrawn';

export interface RevokeInput {
  reason: RevocationReasonCode;
  message?: string;
  /** Only for KeyCompromise / CACompromise. */
  compromiseDate?: Date;
}

export function buildRevoke(uid: string, input: RevokeInput): KmipRequest {
  const compromise = input.reason === 'KeyCompromise' || input.reason === 'CACompromise';
  return {
    operation: 'Revoke',
    payload: [
      ttlv.text('UniqueIdentifier', uid),
      ttlv.struct('RevocationReason', [
        ttlv.enum('RevocationReasonCode', input.reason),
        ...(input.message ? [ttlv.text('RevocationMessage', input.message)] : []),
      ]),
      ...(compromise ? [ttlv.date('CompromiseOccurrenceDate', input.compromiseDate ?? new Date())] : []),
    ],
  };
}

export interface LocateInput {
  name?: string;
  objectType?: 'PrivateKey' | 'PublicKey' | 'Certificate';
  algorithm?: 'RSA' | 'ECDSA';
  maxItems?: number;
}

export function buildLocate(dialect: KmipDialect, input: LocateInput): KmipRequest {
  const max = input.maxItems !== undefined ? [ttlv.int('MaximumItems', input.maxItems)] : [];
  if (dialect === 'cosmian-2.1') {
    return {
      operation: 'Locate',
      payload: [
        ...max,
        ttlv.struct('Attributes', [
          ...(input.objectType ? [ttlv.enum('ObjectType', input.objectType)] : []),
          ...(input.algorithm ? [ttlv.enum('CryptographicAlgorithm', input.algorithm)] : []),
          ...(input.name ? [nameStruct('Name', input.name, false)] : []),
        ]),
      ],
    };
  }
  return {
    operation: 'Locate',
    payload: [
      ...max,
      ...(input.objectType ? [attr1('Object Type', ttlv.enum('x', enumValue('ObjectType', input.objectType)))] : []),
      ...(input.algorithm
        ? [attr1('Cryptographic Algorithm', ttlv.enum('x', enumValue('CryptographicAlgorithm', input.algorithm)))]
        : []),
      ...(input.name ? [attr1('Name', nameStruct('x', input.name, true))] : []),
    ],
  };
}

export interface CertifySubject {
  cn: string;
  o?: string;
  ou?: string;
  c?: string;
  st?: string;
  l?: string;
  email?: string;
}

export interface CertifyInput {
  /** Public key to certify (Cosmian: with `issuerPrivateKeyUid` = its own private key → self-signed root). */
  publicKeyUid?: string;
  /** PKCS#10 CSR to certify instead of a stored public key. Travels as CertificateRequestValue. */
  csr?: { der: Uint8Array; type?: 'PKCS10' } | { pem: string; type: 'PEM' };
  subject?: CertifySubject;
  issuerPrivateKeyUid?: string;
  issuerCertificateUid?: string;
  validityDays?: number;
  /** OpenSSL-ini extension file contents with a `[v3_ca]` section (Cosmian vendor attribute `x509-extension`). */
  x509ExtensionsIni?: string;
}

function vendorAttr(name: string, value: Uint8Array): TtlvNode {
  return ttlv.struct('VendorAttributes', [
    ttlv.text('VendorIdentification', 'cosmian'),
    ttlv.text('AttributeName', name),
    ttlv.bytes('AttributeValue', value),
  ]);
}

/** Cosmian Certify (KMIP 2.1): the KMS mints a certificate for a stored public key or a CSR. */
export function buildCertify(input: CertifyInput): KmipRequest {
  if (!input.publicKeyUid && !input.csr) {
    throw new PkiError('input.invalid', 'Certify needs a public key UID or a CSR');
  }
  const s = input.subject;
  const subjectAttrs: TtlvNode[] = s
    ? [
        ttlv.struct('CertificateAttributes', [
          ttlv.text('CertificateSubjectCn', s.cn),
          ...(s.ou ? [ttlv.text('CertificateSubjectOu', s.ou)] : []),
          ...(s.o ? [ttlv.text('CertificateSubjectO', s.o)] : []),
          ...(s.l ? [ttlv.text('CertificateSubjectL', s.l)] : []),
          ...(s.st ? [ttlv.text('CertificateSubjectSt', s.st)] : []),
          ...(s.c ? [ttlv.text('CertificateSubjectC', s.c)] : []),
          ...(s.email ? [ttlv.text('CertificateSubjectEmail', s.email)] : []),
        ]),
      ]
    : [];
  const links: TtlvNode[] = [];
  if (input.issuerPrivateKeyUid) {
    links.push(
      ttlv.struct('Link', [
        ttlv.enum('LinkType', 'PrivateKeyLink'),
        ttlv.text('LinkedObjectIdentifier', input.issuerPrivateKeyUid),
      ]),
    );
  }
  if (input.issuerCertificateUid) {
    links.push(
      ttlv.struct('Link', [
        ttlv.enum('LinkType', 'CertificateLink'),
        ttlv.text('LinkedObjectIdentifier', input.issuerCertificateUid),
      ]),
    );
  }
  const vendor: TtlvNode[] = [];
  if (input.validityDays !== undefined)
    vendor.push(vendorAttr('requested_validity_days', Buffer.from(String(input.validityDays), 'ascii')));
  if (input.x509ExtensionsIni) vendor.push(vendorAttr('x509-extension', Buffer.from(input.x509ExtensionsIni, 'utf8')));
  const attributes = ttlv.struct('Attributes', [
    ...subjectAttrs,
    ...(links.length ? [ttlv.struct('Link', links)] : []),
    ttlv.enum('ObjectType', 'Certificate'),
    ...(vendor.length ? [ttlv.struct('VendorAttributes', vendor)] : []),
  ]);
  const csr: TtlvNode[] = [];
  if (input.csr) {
    if ('pem' in input.csr) {
      csr.push(
        ttlv.enum('CertificateRequestType', 'PEM'),
        ttlv.bytes('CertificateRequestValue', Buffer.from(input.csr.pem, 'utf8')),
      );
    } else {
      csr.push(ttlv.enum('CertificateRequestType', 'PKCS10'), ttlv.bytes('CertificateRequestValue', input.csr.der));
    }
  }
  return {
    operation: 'Certify',
    payload: [...(input.publicKeyUid ? [ttlv.text('UniqueIdentifier', input.publicKeyUid)] : []), ...csr, attributes],
  };
}

// ------------------------------------------------------------------------------------------------
// parsers (payload = the bare …Response node or the ResponsePayload structure)

function malformed(op: string, what: string): PkiError {
  return new PkiError('kms.operation_failed', `KMIP ${op}: malformed response (${what})`, {
    details: { reason: 'codec', operation: op },
  });
}

export function parseCreateKeyPair(payload: TtlvNode): { privateKeyUid: string; publicKeyUid: string } {
  const privateKeyUid = textOf(childOf(payload, 'PrivateKeyUniqueIdentifier'));
  const publicKeyUid = textOf(childOf(payload, 'PublicKeyUniqueIdentifier'));
  if (!privateKeyUid || !publicKeyUid) throw malformed('CreateKeyPair', 'missing key identifiers');
  return { privateKeyUid, publicKeyUid };
}

export function parseUid(op: string, payload: TtlvNode): string {
  const uid = textOf(childOf(payload, 'UniqueIdentifier'));
  if (!uid) throw malformed(op, 'missing UniqueIdentifier');
  return uid;
}

const CURVE_OID: Record<string, string> = { P256: 'prime256v1', P384: 'secp384r1', P521: 'secp521r1' };

/** SubjectPublicKeyInfo DER from a GetResponse (PKCS8/X509 = SPKI, PKCS1 RSAPublicKey, TransparentECPublicKey). */
export function parseGetPublicKey(payload: TtlvNode): Uint8Array {
  const keyBlock = findDeep(payload, 'KeyBlock');
  const format = childOf(keyBlock, 'KeyFormatType');
  const material = findDeep(childOf(keyBlock, 'KeyValue'), 'KeyMaterial');
  if (!keyBlock || !format || !material) throw malformed('Get', 'no KeyBlock/KeyMaterial');
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar TTLV value
  const fmt = String(format.value);
  try {
    if (material.type === 'ByteString') {
      const der = Buffer.from(material.value);
      if (fmt === 'PKCS8' || fmt === 'X509')
        return new Uint8Array(
          createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' }),
        );
      if (fmt === 'PKCS1')
        return new Uint8Array(
          createPublicKey({ key: der, format: 'der', type: 'pkcs1' }).export({ type: 'spki', format: 'der' }),
        );
    }
    if (fmt === 'TransparentECPublicKey' && material.type === 'Structure') {
      const curve = childOf(material, 'RecommendedCurve')?.value;
      const q = bytesOf(childOf(material, 'QString'));
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar TTLV value
      const crv = CURVE_OID[String(curve)];
      if (q && crv) {
        const jwkCrv = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[crv]!;
        const size = (q.length - 1) / 2;
        const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
        const key = createPublicKey({
          key: { kty: 'EC', crv: jwkCrv, x: b64(q.subarray(1, 1 + size)), y: b64(q.subarray(1 + size)) },
          format: 'jwk',
        });
        return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
      }
    }
  } catch (e) {
    throw new PkiError('kms.operation_failed', `KMIP Get: the public key (${fmt}) could not be decoded`, { cause: e });
  }
  throw new PkiError('kms.unsupported', `KMIP Get: unsupported public key format ${fmt}`, {
    details: { keyFormatType: fmt },
  });
}

export function parseGetCertificate(payload: TtlvNode): Uint8Array {
  const v = bytesOf(findDeep(payload, 'CertificateValue'));
  if (!v) throw malformed('Get', 'no CertificateValue');
  return v;
}

export function parseSign(payload: TtlvNode): Uint8Array {
  const sig = bytesOf(childOf(payload, 'SignatureData'));
  if (!sig) throw malformed('Sign', 'no SignatureData');
  return sig;
}

export interface KmipServerInfo {
  operations: string[];
  vendor?: string;
  serverName?: string;
  serverVersion?: string;
}

export function parseQuery(payload: TtlvNode): KmipServerInfo {
  const info = childOf(payload, 'ServerInformation');
  return {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar TTLV value
    operations: childrenOf(payload, 'Operation').map((n) => String(n.value)),
    vendor: textOf(childOf(payload, 'VendorIdentification')),
    serverName: textOf(childOf(info, 'ServerName')),
    serverVersion: textOf(childOf(info, 'ServerVersion')),
  };
}

export function parseLocate(payload: TtlvNode): string[] {
  return childrenOf(payload, 'UniqueIdentifier')
    .map((n) => textOf(n))
    .filter((s): s is string => typeof s === 'string');
}
