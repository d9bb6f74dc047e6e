/**
 * PKCS#12 (RFC 7292) writer over @peculiar/asn1-pfx: a private key with its certificate chain, or a truststore
 * of certificates only. Modern by default (PBES2 AES-256-CBC + PBKDF2-SHA256 for key and certificates, MAC
 * HMAC-SHA256), legacy on request (3DES + SHA-1 MAC) for old appliances. Read by OpenSSL and Java `keytool`.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import {
  ContentEncryptionAlgorithmIdentifier,
  ContentInfo,
  EncryptedContent,
  EncryptedContentInfo,
  id_data,
  id_encryptedData,
} from '@peculiar/asn1-cms';
import {
  AuthenticatedSafe,
  CertBag,
  MacData,
  PFX,
  PKCS12Attribute,
  SafeBag,
  SafeContents,
  id_certBag,
  id_pkcs8ShroudedKeyBag,
  id_x509Certificate,
} from '@peculiar/asn1-pfx';
import { DigestInfo } from '@peculiar/asn1-rsa';
import { encryptPrivateKeyInfo, passwordEncrypt, pfxMac, toArrayBuffer, type PbeScheme } from './password-encryption';

const FRIENDLY_NAME = '1.2.840.113549.1.9.20';
const LOCAL_KEY_ID = '1.2.840.113549.1.9.21';
/** Java's marker of a trusted certificate entry in a PKCS#12 keystore (what `keytool -importcert` writes) */
const ORACLE_TRUSTED_KEY_USAGE = '2.16.840.1.113894.746875.1.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

export interface Pkcs12Input {
  password: string;
  scheme: PbeScheme;
  /** with a key: one key entry holding `certificates` (leaf first) as its chain */
  key?: { pkcs8Der: Uint8Array; alias: string };
  /** leaf first, then issuers; without a key every certificate is a trusted entry (alias per entry) */
  certificates: { der: Uint8Array; alias: string }[];
}

const bmpString = (s: string): ArrayBuffer => new asn1js.BmpString({ value: s }).toBER();

function attribute(oid: string, value: ArrayBuffer): PKCS12Attribute {
  // set after construction: the constructor of asn1-pfx 2.x's PKCS12Attribute drops its parameters
  const a = new PKCS12Attribute();
  a.attrId = oid;
  a.attrValues = [value];
  return a;
}

function certBag(der: Uint8Array, attributes: PKCS12Attribute[]): SafeBag {
  const bag = new CertBag({
    certId: id_x509Certificate,
    certValue: AsnConvert.serialize(new OctetString(toArrayBuffer(der))),
  });
  return new SafeBag({ bagId: id_certBag, bagValue: AsnConvert.serialize(bag), bagAttributes: attributes });
}

const dataContent = (bytes: ArrayBuffer): ContentInfo =>
  new ContentInfo({ contentType: id_data, content: AsnConvert.serialize(new OctetString(bytes)) });

/** CMS EncryptedData ::= SEQUENCE { version CMSVersion (0), encryptedContentInfo } */
function encryptedDataContent(alg: AlgorithmIdentifier, ciphertext: Uint8Array): ContentInfo {
  const eci = new EncryptedContentInfo({
    contentType: id_data,
    contentEncryptionAlgorithm: new ContentEncryptionAlgorithmIdentifier({
      algorithm: alg.algorithm,
      parameters: alg.parameters,
    }),
    encryptedContent: new EncryptedContent({ value: new OctetString(toArrayBuffer(ciphertext)) }),
  });
  const encryptedData = new asn1js.Sequence({
    value: [new asn1js.Integer({ value: 0 }), asn1js.fromBER(AsnConvert.serialize(eci)).result],
  });
  return new ContentInfo({ contentType: id_encryptedData, content: encryptedData.toBER() });
}

/** DER of a PFX. */
export async function writePkcs12(input: Pkcs12Input): Promise<Uint8Array> {
  const { password, scheme } = input;
  if (input.certificates.length === 0 && !input.key) throw new Error('a PKCS#12 file needs a key or a certificate');
  const localKeyId = input.certificates[0]
    ? createHash('sha1').update(input.certificates[0].der).digest()
    : Buffer.alloc(20);
  const bags = input.certificates.map((c, i) => {
    if (input.key) {
      // the leaf carries the key's local key id and alias; the chain certificates no attributes (as OpenSSL)
      return i === 0
        ? certBag(c.der, [
            attribute(FRIENDLY_NAME, bmpString(input.key.alias)),
            attribute(LOCAL_KEY_ID, AsnConvert.serialize(new OctetString(toArrayBuffer(localKeyId)))),
          ])
        : certBag(c.der, []);
    }
    const anyEku = new asn1js.ObjectIdentifier({ value: ANY_EXTENDED_KEY_USAGE }).toBER();
    return certBag(c.der, [attribute(FRIENDLY_NAME, bmpString(c.alias)), attribute(ORACLE_TRUSTED_KEY_USAGE, anyEku)]);
  });
  const certContents = AsnConvert.serialize(new SafeContents(bags));
  const certEncryption = await passwordEncrypt(scheme, password, new Uint8Array(certContents));
  const contents: ContentInfo[] = [encryptedDataContent(certEncryption.algorithm, certEncryption.ciphertext)];
  if (input.key) {
    const shrouded = await encryptPrivateKeyInfo(scheme, password, input.key.pkcs8Der);
    const keyBag = new SafeBag({
      bagId: id_pkcs8ShroudedKeyBag,
      bagValue: toArrayBuffer(shrouded),
      bagAttributes: [
        attribute(FRIENDLY_NAME, bmpString(input.key.alias)),
        attribute(LOCAL_KEY_ID, AsnConvert.serialize(new OctetString(toArrayBuffer(localKeyId)))),
      ],
    });
    contents.push(dataContent(AsnConvert.serialize(new SafeContents([keyBag]))));
  }
  const authSafe = new Uint8Array(AsnConvert.serialize(new AuthenticatedSafe(contents)));
  const mac = pfxMac(scheme, password, authSafe);
  const pfx = new PFX({
    version: 3,
    authSafe: dataContent(toArrayBuffer(authSafe)),
    macData: new MacData({
      mac: new DigestInfo({
        digestAlgorithm: new AlgorithmIdentifier({ algorithm: mac.digestOid, parameters: null }),
        digest: new OctetString(toArrayBuffer(mac.mac)),
      }),
      macSalt: new OctetString(toArrayBuffer(mac.salt)),
      iterations: mac.iterations,
    }),
  });
  return new Uint8Array(AsnConvert.serialize(pfx));
}
