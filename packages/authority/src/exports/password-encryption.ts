/**
 * Password-based encryption for the export containers (RFC 8018 PBES2 and RFC 7292 PKCS#12 PBE/MAC), with
 * node:crypto for the primitives and asn1js for the small parameter structures. No openssl at run time.
 */
import { createCipheriv, createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { EncryptedData, EncryptedPrivateKeyInfo } from '@peculiar/asn1-pkcs8';

const pbkdf2Async = promisify(pbkdf2);

export const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  pbeWithShaAnd3KeyTripleDesCbc: '1.2.840.113549.1.12.1.3',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

/** `modern`: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) + HMAC-SHA256 MAC; `legacy`: PKCS#12 3DES + SHA-1 MAC. */
export type PbeScheme = 'modern' | 'legacy';

/** PBKDF2 iterations of the modern scheme (OWASP 2023 suggests ≥ 600,000 for SHA-256 password hashes; an
 * export is decrypted once, by a human, so 100,000 keeps `keytool`/appliances responsive) */
export const PBKDF2_ITERATIONS = 100_000;
/** PKCS#12 KDF iterations (MAC and legacy PBE): what OpenSSL and Java use by default */
export const PKCS12_ITERATIONS = 2048;

const toArrayBuffer = (b: Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** A password as the PKCS#12 KDF takes it: BMPString (UTF-16BE) with a two-byte NUL terminator. */
export function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/** RFC 7292 appendix B.2: the PKCS#12 key derivation function (id 1 = key, 2 = IV, 3 = MAC key). */
export function pkcs12Kdf(
  hash: 'sha1' | 'sha256',
  password: Buffer,
  salt: Uint8Array,
  id: 1 | 2 | 3,
  iterations: number,
  n: number,
): Buffer {
  const u = hash === 'sha1' ? 20 : 32;
  const v = 64;
  const d = Buffer.alloc(v, id);
  const fill = (src: Uint8Array): Buffer => {
    if (src.length === 0) return Buffer.alloc(0);
    const len = v * Math.ceil(src.length / v);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const i0 = Buffer.concat([fill(salt), fill(password)]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < n; produced += u) {
    let a = createHash(hash).update(d).update(i0).digest();
    for (let r = 1; r < iterations; r++) a = createHash(hash).update(a).digest();
    out.push(a);
    // I_j = (I_j + B + 1) mod 2^(v*8), B = A repeated to v bytes
    const b = fill(a);
    for (let j = 0; j < i0.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i0[j + k]! + b[k]! + carry;
        i0[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

function algorithm(oid: string, params: asn1js.AsnType | null): AlgorithmIdentifier {
  return new AlgorithmIdentifier({ algorithm: oid, parameters: params ? params.toBER() : null });
}

/** Encrypts `plain` with a password: returns the AlgorithmIdentifier (with parameters) and the ciphertext. */
export async function passwordEncrypt(
  scheme: PbeScheme,
  password: string,
  plain: Uint8Array,
): Promise<{ algorithm: AlgorithmIdentifier; ciphertext: Buffer }> {
  if (scheme === 'legacy') {
    const salt = randomBytes(8);
    const bmp = bmpPassword(password);
    const key = pkcs12Kdf('sha1', bmp, salt, 1, PKCS12_ITERATIONS, 24);
    const iv = pkcs12Kdf('sha1', bmp, salt, 2, PKCS12_ITERATIONS, 8);
    const c = createCipheriv('des-ede3-cbc', key, iv);
    const ciphertext = Buffer.concat([c.update(plain), c.final()]);
    const params = new asn1js.Sequence({
      value: [
        new asn1js.OctetString({ valueHex: toArrayBuffer(salt) }),
        new asn1js.Integer({ value: PKCS12_ITERATIONS }),
      ],
    });
    return { algorithm: algorithm(OID.pbeWithShaAnd3KeyTripleDesCbc, params), ciphertext };
  }
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, PBKDF2_ITERATIONS, 32, 'sha256');
  const c = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  const kdf = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.pbkdf2 }),
      new asn1js.Sequence({
        value: [
          new asn1js.OctetString({ valueHex: toArrayBuffer(salt) }),
          new asn1js.Integer({ value: PBKDF2_ITERATIONS }),
          new asn1js.Integer({ value: 32 }),
          new asn1js.Sequence({
            value: [new asn1js.ObjectIdentifier({ value: OID.hmacWithSha256 }), new asn1js.Null()],
          }),
        ],
      }),
    ],
  });
  const enc = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID.aes256Cbc }),
      new asn1js.OctetString({ valueHex: toArrayBuffer(iv) }),
    ],
  });
  return { algorithm: algorithm(OID.pbes2, new asn1js.Sequence({ value: [kdf, enc] })), ciphertext };
}

/** PKCS#8 `EncryptedPrivateKeyInfo` (DER) of an unencrypted PKCS#8 key. */
export async function encryptPrivateKeyInfo(
  scheme: PbeScheme,
  password: string,
  pkcs8Der: Uint8Array,
): Promise<Uint8Array> {
  const { algorithm: alg, ciphertext } = await passwordEncrypt(scheme, password, pkcs8Der);
  const info = new EncryptedPrivateKeyInfo({
    encryptionAlgorithm: alg,
    encryptedData: new EncryptedData(toArrayBuffer(ciphertext)),
  });
  return new Uint8Array(AsnConvert.serialize(info));
}

/** The MAC of a PFX: HMAC over `data` with a key from the PKCS#12 KDF (id 3). */
export function pfxMac(
  scheme: PbeScheme,
  password: string,
  data: Uint8Array,
): { digestOid: string; mac: Buffer; salt: Buffer; iterations: number } {
  const hash = scheme === 'legacy' ? 'sha1' : 'sha256';
  const salt = randomBytes(scheme === 'legacy' ? 8 : 16);
  const key = pkcs12Kdf(hash, bmpPassword(password), salt, 3, PKCS12_ITERATIONS, hash === 'sha1' ? 20 : 32);
  const mac = createHmac(hash, key).update(data).digest();
  return { digestOid: hash === 'sha1' ? OID.sha1 : OID.sha256, mac, salt, iterations: PKCS12_ITERATIONS };
}

export { OctetString, toArrayBuffer };
