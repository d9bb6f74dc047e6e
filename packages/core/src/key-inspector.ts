/** Key types, SPKI inspection, SKI, signature algorithms and signature verification. */
import {
  createHash,
  hash as oneShotHash,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
  generateKeyPairSync,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { KEY_TYPE_INFO, PkiError, type KeyAlgorithm, type KeyType } from '@pkim/shared';
import { at, children, content, decodeOid, readWhole, DerError, type Tlv } from './der-reader';
import { bitString, NULL, oid, seq, tlv } from './der-writer';

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
} as const;

export interface SignatureAlgorithmInfo {
  algorithm: KeyAlgorithm;
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' | null;
}

/** Signature algorithms we can verify (certificates, CSRs, CRLs made by others). */
export const SIGNATURE_ALGORITHMS: Record<string, SignatureAlgorithmInfo> = {
  '1.2.840.113549.1.1.5': { algorithm: 'rsa', hash: 'sha1' },
  '1.2.840.113549.1.1.11': { algorithm: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { algorithm: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { algorithm: 'rsa', hash: 'sha512' },
  '1.2.840.10045.4.1': { algorithm: 'ec', hash: 'sha1' },
  '1.2.840.10045.4.3.2': { algorithm: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { algorithm: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { algorithm: 'ec', hash: 'sha512' },
  '1.3.101.112': { algorithm: 'ed25519', hash: null },
};

/** The signature algorithm OID PKI Manager uses when a key of this type signs. */
export function signatureAlgorithmOid(keyType: KeyType): string {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'rsa') return OID.sha256WithRSA;
  if (info.algorithm === 'ed25519') return OID.ed25519;
  return info.hash === 'sha384' ? OID.ecdsaWithSha384 : OID.ecdsaWithSha256;
}

const algIdCache = new Map<KeyType, Uint8Array>();
/** DER AlgorithmIdentifier: RSA with NULL parameters; ECDSA and Ed25519 with absent parameters (RFC 5758, RFC 8410). */
export function signatureAlgorithmDer(keyType: KeyType): Uint8Array {
  let v = algIdCache.get(keyType);
  if (!v) {
    const o = oid(signatureAlgorithmOid(keyType));
    v = KEY_TYPE_INFO[keyType].algorithm === 'rsa' ? seq(o, NULL) : seq(o);
    algIdCache.set(keyType, v);
  }
  return v;
}

export interface SpkiParts {
  algorithmOid: string;
  paramsOid?: string;
  /** subjectPublicKey BIT STRING content without the unused-bits octet */
  keyBits: Uint8Array;
}

/** the SPKI bytes every canonical key of a kind starts with (then: 04 ‖ x ‖ y, or the 32-byte Ed25519 key) */
const P256_SPKI_PREFIX = Uint8Array.from(Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex'));
const ED25519_SPKI_PREFIX = Uint8Array.from(Buffer.from('302a300506032b6570032100', 'hex'));
const startsWith = (b: Uint8Array, prefix: Uint8Array): boolean => {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
};
const isCanonicalP256 = (spki: Uint8Array): boolean => spki.length === 91 && startsWith(spki, P256_SPKI_PREFIX);
const isCanonicalEd25519 = (spki: Uint8Array): boolean => spki.length === 44 && startsWith(spki, ED25519_SPKI_PREFIX);

export function splitSpki(spki: Uint8Array): SpkiParts {
  // the common keys in their one canonical encoding by their fixed prefix (the same parts the DER walk below finds:
  // the prefix fixes every tag and length, only the key bytes vary; key-import.test.ts compares both ways) — a
  // certificate's SPKI is read three times per issuance (CSR key type, plan key type, SKI)
  if (isCanonicalP256(spki)) return { algorithmOid: OID.ecPublicKey, paramsOid: OID.p256, keyBits: spki.subarray(26) };
  if (isCanonicalEd25519(spki)) return { algorithmOid: OID.ed25519, paramsOid: undefined, keyBits: spki.subarray(12) };
  return splitSpkiDer(spki);
}

/** the DER walk of {@link splitSpki} (exported for the test that compares it with the prefix form) */
export function splitSpkiDer(spki: Uint8Array): SpkiParts {
  try {
    const top = readWhole(spki);
    if (top.tag !== 0x30) throw new DerError('SPKI is not a SEQUENCE');
    const [alg, bits] = children(spki, top);
    if (!alg || !bits || alg.tag !== 0x30 || bits.tag !== 0x03) throw new DerError('bad SPKI structure');
    const algParts = children(spki, alg);
    const algorithmOid = decodeOid(content(spki, at(algParts, 0, 'algorithm')));
    const p: Tlv | undefined = algParts[1];
    const paramsOid = p?.tag === 0x06 ? decodeOid(content(spki, p)) : undefined;
    const bitContent = content(spki, bits);
    if (bitContent.length < 2 || bitContent[0] !== 0) throw new DerError('bad subjectPublicKey BIT STRING');
    return { algorithmOid, paramsOid, keyBits: bitContent.subarray(1) };
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('csr.invalid', `malformed SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
}

function rsaModulusBits(keyBits: Uint8Array): number {
  const top = readWhole(keyBits);
  const n = at(children(keyBits, top), 0, 'RSA modulus');
  let i = n.contentStart;
  while (i < n.end && keyBits[i] === 0) i++;
  const lead = keyBits[i];
  if (i >= n.end || lead === undefined) return 0;
  return (n.end - i - 1) * 8 + (32 - Math.clz32(lead));
}

/**
 * The PKI Manager key type of a SubjectPublicKeyInfo. Throws `csr.weak_key` for RSA moduli below
 * 2048 bits or of non-standard sizes (only 2048/3072/4096 are accepted), `csr.unsupported_key` for
 * other algorithms or curves (P-521, secp256k1, RSA-PSS keys, DSA, Ed448, RSA > 4096), and
 * `csr.invalid` for malformed DER.
 */
export function keyTypeFromSpki(spki: Uint8Array): KeyType {
  if (isCanonicalP256(spki)) return 'ec-p256';
  const parts = splitSpki(spki);
  switch (parts.algorithmOid) {
    case OID.rsaEncryption: {
      let bits: number;
      try {
        bits = rsaModulusBits(parts.keyBits);
      } catch (e) {
        throw new PkiError('csr.invalid', `malformed RSA public key: ${(e as Error).message}`);
      }
      if (bits === 2048) return 'rsa-2048';
      if (bits === 3072) return 'rsa-3072';
      if (bits === 4096) return 'rsa-4096';
      if (bits > 4096)
        throw new PkiError('csr.unsupported_key', `RSA keys larger than 4096 bits are not supported (got ${bits})`, {
          details: { bits },
        });
      throw new PkiError('csr.weak_key', `RSA key of ${bits} bits is not allowed (use 2048, 3072 or 4096)`, {
        details: { bits },
      });
    }
    case OID.ecPublicKey: {
      const len = parts.keyBits.length;
      if (parts.paramsOid === OID.p256 && (len === 65 || len === 33)) return 'ec-p256';
      if (parts.paramsOid === OID.p384 && (len === 97 || len === 49)) return 'ec-p384';
      throw new PkiError(
        'csr.unsupported_key',
        `unsupported EC curve ${parts.paramsOid ?? '(implicit/explicit parameters)'}`,
        { details: { curve: parts.paramsOid } },
      );
    }
    case OID.ed25519:
      if (parts.keyBits.length !== 32) throw new PkiError('csr.invalid', 'Ed25519 public key must be 32 bytes');
      return 'ed25519';
    default:
      throw new PkiError('csr.unsupported_key', `unsupported public key algorithm ${parts.algorithmOid}`, {
        details: { algorithm: parts.algorithmOid },
      });
  }
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value (without unused-bits octet). */
export function computeSki(spki: Uint8Array): Uint8Array {
  const { keyBits } = splitSpki(spki);
  return new Uint8Array(oneShotHash('sha1', keyBits, 'buffer'));
}

/** SHA-1 of the subjectPublicKey bits with a caller-chosen hash (OCSP issuerKeyHash). */
export function hashSubjectPublicKey(spki: Uint8Array, hash: 'sha1' | 'sha256'): Uint8Array {
  return new Uint8Array(createHash(hash).update(splitSpki(spki).keyBits).digest());
}

/** Generates a leaf key pair server-side. The private key is returned once, as PKCS#8 PEM; never log it. */
export function generateKeyPair(keyType: KeyType): { publicKey: Uint8Array; privateKeyPem: string } {
  const info = KEY_TYPE_INFO[keyType];
  if (!info) throw new PkiError('csr.unsupported_key', `unknown key type ${String(keyType)}`);
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const pair =
    info.algorithm === 'rsa'
      ? generateKeyPairSync('rsa', {
          modulusLength: info.bits!,
          publicExponent: 0x10001,
          publicKeyEncoding,
          privateKeyEncoding,
        })
      : info.algorithm === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: info.curve!, publicKeyEncoding, privateKeyEncoding })
        : generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding });
  return { publicKey: new Uint8Array(pair.publicKey), privateKeyPem: pair.privateKey };
}

/**
 * Like generateKeyPair, but on libuv's thread pool: RSA generation takes tens to hundreds of milliseconds and
 * must never block the event loop of a server. The private key is returned once, as PKCS#8 PEM; never log it.
 */
export function generateKeyPairAsync(keyType: KeyType): Promise<{ publicKey: Uint8Array; privateKeyPem: string }> {
  const info = KEY_TYPE_INFO[keyType];
  if (!info) return Promise.reject(new PkiError('csr.unsupported_key', `unknown key type ${String(keyType)}`));
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: Buffer, privateKey: string) => {
      if (err) reject(err);
      else resolve({ publicKey: new Uint8Array(publicKey), privateKeyPem: privateKey });
    };
    if (info.algorithm === 'rsa') {
      generateKeyPairCallback(
        'rsa',
        { modulusLength: info.bits!, publicExponent: 0x10001, publicKeyEncoding, privateKeyEncoding },
        done,
      );
    } else if (info.algorithm === 'ec') {
      generateKeyPairCallback('ec', { namedCurve: info.curve!, publicKeyEncoding, privateKeyEncoding }, done);
    } else {
      generateKeyPairCallback('ed25519', { publicKeyEncoding, privateKeyEncoding }, done);
    }
  });
}

const RSA_ALGORITHM = seq(oid(OID.rsaEncryption), NULL);
/** INTEGER 65537: the public exponent of (nearly) every RSA key */
const F4 = Uint8Array.of(0x02, 0x03, 0x01, 0x00, 0x01);

const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && startsWith(a, b);

/**
 * The JWK of a SubjectPublicKeyInfo in its one canonical DER encoding — P-256 with an uncompressed point, Ed25519,
 * RSA with exponent 65537 — or undefined for anything else (P-384, compressed points, other exponents, any other
 * byte layout). Only exact byte layouts qualify, so the JWK names the very key OpenSSL would decode from the DER.
 */
export function canonicalJwk(spki: Uint8Array): JsonWebKey | undefined {
  if (spki.length === 91 && startsWith(spki, P256_SPKI_PREFIX)) {
    return { kty: 'EC', crv: 'P-256', x: b64url(spki.subarray(27, 59)), y: b64url(spki.subarray(59, 91)) };
  }
  if (spki.length === 44 && startsWith(spki, ED25519_SPKI_PREFIX)) {
    return { kty: 'OKP', crv: 'Ed25519', x: b64url(spki.subarray(12)) };
  }
  if (spki.length < 256 || spki[0] !== 0x30) return undefined;
  try {
    const [alg, bits] = children(spki, readWhole(spki));
    if (!alg || bits?.tag !== 0x03 || !sameBytes(spki.subarray(alg.start, alg.end), RSA_ALGORITHM)) return;
    const key = content(spki, bits).subarray(1);
    const [n] = children(key, readWhole(key));
    if (n?.tag !== 0x02) return undefined;
    const modulus = content(key, n);
    // a positive, minimally encoded modulus whose top bit is set (2048/3072/4096 bits: 0x00 then ≥ 0x80)
    if (modulus.length < 2 || modulus[0] !== 0 || modulus[1]! < 0x80) return undefined;
    const canonical = seq(RSA_ALGORITHM, bitString(seq(tlv(0x02, modulus), F4)));
    if (!sameBytes(spki, canonical)) return undefined;
    return { kty: 'RSA', n: b64url(modulus.subarray(1)), e: 'AQAB' };
  } catch {
    return undefined;
  }
}

/**
 * A SubjectPublicKeyInfo as a node:crypto KeyObject. OpenSSL 3 spends ≈ 90–110 µs per key in its DER decoder
 * framework (the largest single cost of a CSR's proof of possession), its JWK import ≈ 10 µs for RSA and Ed25519 and
 * ≈ 60 µs for P-256 (there it checks the point: on the curve, right order). So a canonical encoding is imported from
 * its JWK, anything else through the DER decoder; both refuse the same keys (test: key-import.test.ts).
 */
export function importSpki(spki: Uint8Array): KeyObject {
  const jwk = canonicalJwk(spki);
  if (jwk) return createPublicKey({ key: jwk, format: 'jwk' });
  return createPublicKey({
    key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength),
    format: 'der',
    type: 'spki',
  });
}

const keyObjectCache = new Map<string, KeyObject>();
/** the same by the identity of the SPKI array (a CA's public key is one array for all its jobs), guarded by a copy */
const keyObjectByIdentity = new WeakMap<Uint8Array, { copy: Uint8Array; key: KeyObject }>();
function publicKeyObject(spki: Uint8Array): KeyObject {
  const same = keyObjectByIdentity.get(spki);
  if (same && sameBytes(same.copy, spki)) return same.key;
  const k = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('base64');
  let ko = keyObjectCache.get(k);
  if (!ko) {
    ko = importSpki(spki);
    if (keyObjectCache.size > 256) keyObjectCache.clear();
    keyObjectCache.set(k, ko);
  }
  keyObjectByIdentity.set(spki, { copy: new Uint8Array(spki), key: ko });
  return ko;
}

/**
 * Verifies an X.509-style signature (RSA PKCS#1 v1.5, ECDSA DER, Ed25519) with an explicit hash.
 * Issuer keys are verified again and again, so their KeyObjects are cached; pass
 * `{ cacheKey: false }` for one-off keys (a CSR's) so they neither pay for nor evict the cache.
 */
export function verifyWithAlgorithm(
  alg: SignatureAlgorithmInfo,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  opts: { cacheKey?: boolean } = {},
): boolean {
  try {
    const key = opts.cacheKey === false ? importSpki(spki) : publicKeyObject(spki);
    const kt = key.asymmetricKeyType;
    if (
      (alg.algorithm === 'rsa' && kt !== 'rsa') ||
      (alg.algorithm === 'ec' && kt !== 'ec') ||
      (alg.algorithm === 'ed25519' && kt !== 'ed25519')
    )
      return false;
    const hash: string | null = alg.hash;
    return cryptoVerify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/**
 * {@link verifyWithAlgorithm} on libuv's thread pool (node:crypto `verify` with a callback): the key is imported on
 * the calling thread, the signature check runs beside the event loop. The CSR key is never cached (one-off).
 */
export function verifyWithAlgorithmAsync(
  alg: SignatureAlgorithmInfo,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  opts: { cacheKey?: boolean } = { cacheKey: false },
): Promise<boolean> {
  let key: KeyObject;
  try {
    key = opts.cacheKey === false ? importSpki(spki) : publicKeyObject(spki);
  } catch {
    return Promise.resolve(false);
  }
  const kt = key.asymmetricKeyType;
  if (
    (alg.algorithm === 'rsa' && kt !== 'rsa') ||
    (alg.algorithm === 'ec' && kt !== 'ec') ||
    (alg.algorithm === 'ed25519' && kt !== 'ed25519')
  )
    return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(alg.hash, data, key, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

/** Verifies `signature` over `data` made by a key of `keyType` (hash implied by the key type). */
export function verifySignature(keyType: KeyType, spki: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const info = KEY_TYPE_INFO[keyType];
  return verifyWithAlgorithm({ algorithm: info.algorithm, hash: info.hash }, spki, data, signature);
}

/** {@link verifySignature} with the check on libuv's thread pool (beside the event loop); the key is cached. */
export function verifySignatureAsync(
  keyType: KeyType,
  spki: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const info = KEY_TYPE_INFO[keyType];
  return verifyWithAlgorithmAsync({ algorithm: info.algorithm, hash: info.hash }, spki, data, signature, {
    cacheKey: true,
  });
}
