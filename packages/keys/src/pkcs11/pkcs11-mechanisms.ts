/**
 * How PKI Manager's key types map to PKCS#11: key-pair templates and mechanisms, the public key
 * as SubjectPublicKeyInfo, and the signature format.
 *
 * - RSA 2048/3072/4096: CKM_RSA_PKCS_KEY_PAIR_GEN, signs with CKM_SHA256_RSA_PKCS.
 * - EC P-256/P-384: CKM_EC_KEY_PAIR_GEN; ECDSA hashes in node (SHA-256 for P-256, SHA-384 for P-384;
 *   SoftHSM2 has no CKM_ECDSA_SHA256/384), signs with CKM_ECDSA, and converts the raw r‖s to a DER
 *   Ecdsa-Sig-Value.
 * - Private keys are token objects, private, sensitive, non-extractable, sign-only.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ECDSASigValue, ECParameters, id_secp256r1, id_secp384r1 } from '@peculiar/asn1-ecc';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';

export const CKK_RSA = 0x0;
export const CKK_EC = 0x3;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
const RSA_F4 = Buffer.from([0x01, 0x00, 0x01]);

export const CURVES: Record<string, { keyType: KeyType; crv: 'P-256' | 'P-384'; size: number }> = {
  [id_secp256r1]: { keyType: 'ec-p256', crv: 'P-256', size: 32 },
  [id_secp384r1]: { keyType: 'ec-p384', crv: 'P-384', size: 48 },
};

/** EC named-curve parameters (CKA_EC_PARAMS) as DER. */
export function ecParamsDer(keyType: KeyType): Buffer {
  const oid = keyType === 'ec-p256' ? id_secp256r1 : id_secp384r1;
  return Buffer.from(AsnConvert.serialize(new ECParameters({ namedCurve: oid })));
}

/** The key type of CKA_EC_PARAMS, if PKI Manager uses that curve. */
export function keyTypeOfEcParams(params: Buffer): KeyType | undefined {
  return CURVES[AsnConvert.parse(params, ECParameters).namedCurve ?? '']?.keyType;
}

/** CKA_EC_POINT is a DER OCTET STRING wrapping the uncompressed point; some tokens return the bare point. */
export function ecPointFromAttribute(attr: Buffer, size: number): Buffer {
  if (attr.length === 2 * size + 1 && attr[0] === 0x04) return attr;
  const inner = Buffer.from(AsnConvert.parse(attr, OctetString).buffer);
  if (inner.length !== 2 * size + 1 || inner[0] !== 0x04) {
    throw new PkiError(
      'kms.operation_failed',
      'PKCS#11 CKA_EC_POINT is not an uncompressed point of the expected curve',
    );
  }
  return inner;
}

function spkiFromJwk(jwk: Record<string, string>): Uint8Array {
  return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

/** SubjectPublicKeyInfo DER of a public (or RSA private) key object. */
export function publicKeyDer(obj: graphene.SessionObject, keyType: KeyType, uri: string): Uint8Array {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'rsa') {
    const a = obj.getAttribute({ modulus: null, publicExponent: null });
    return spkiFromJwk({
      kty: 'RSA',
      n: a.modulus!.toString('base64url'),
      e: a.publicExponent!.toString('base64url'),
    });
  }
  const curve = CURVES[keyType === 'ec-p256' ? id_secp256r1 : id_secp384r1]!; // both OIDs are keys of CURVES
  const point = ecPointFromAttribute(obj.getAttribute(CKA_EC_POINT), curve.size);
  if (!point) throw new PkiError('kms.operation_failed', `PKCS#11 key ${uri} has no EC point`);
  return spkiFromJwk({
    kty: 'EC',
    crv: curve.crv,
    x: point.subarray(1, 1 + curve.size).toString('base64url'),
    y: point.subarray(1 + curve.size).toString('base64url'),
  });
}

/** Minimal two's-complement big-endian INTEGER content for a non-negative number. */
function unsignedIntegerBytes(b: Buffer): ArrayBuffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  const out = (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
}

/** Raw r‖s (PKCS#11 CKM_ECDSA output) → DER Ecdsa-Sig-Value (X.509 signatureValue contents). */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0)
    throw new PkiError('kms.operation_failed', `ECDSA signature has odd length ${raw.length}`);
  const half = raw.length / 2;
  const buf = Buffer.from(raw);
  const value = new ECDSASigValue({
    r: unsignedIntegerBytes(buf.subarray(0, half)),
    s: unsignedIntegerBytes(buf.subarray(half)),
  });
  return new Uint8Array(AsnConvert.serialize(value));
}

/** Refuses key types the PKCS#11 backend does not create (Ed25519: SoftHSM2 EdDSA is unreliable). */
export function assertPkcs11KeyType(keyType: KeyType): void {
  const info = KEY_TYPE_INFO[keyType];
  if (!info) throw new PkiError('input.invalid', `unknown key type '${String(keyType)}'`);
  if (info.algorithm === 'ed25519') {
    throw new PkiError(
      'kms.unsupported',
      'the PKCS#11 backend does not support Ed25519 keys (SoftHSM2 EdDSA is unreliable); use rsa-* or ec-*',
      {
        details: { keyType },
      },
    );
  }
}

/**
 * The attributes of a key pair's two token objects, generated (`keyPairTemplates`) or imported
 * (`importedKeyTemplates`) alike: the private half private, sensitive, non-extractable and sign-only; both with the
 * CKA_ID and label the key lookup finds.
 */
function tokenKeyTemplates(
  id: Buffer,
  label: string,
): { publicTemplate: graphene.ITemplate; privateTemplate: graphene.ITemplate } {
  return {
    publicTemplate: { token: true, private: false, label, id, verify: true, encrypt: false, wrap: false },
    privateTemplate: {
      token: true,
      private: true,
      sensitive: true,
      extractable: false,
      sign: true,
      decrypt: false,
      unwrap: false,
      derive: false,
      label,
      id,
    },
  };
}

/**
 * Key-pair generation mechanism and templates: token objects; the private half sensitive, non-extractable, sign-only.
 */
export function keyPairTemplates(
  keyType: KeyType,
  id: Buffer,
  label: string,
): { mechanism: string; publicTemplate: graphene.ITemplate; privateTemplate: graphene.ITemplate } {
  const info = KEY_TYPE_INFO[keyType];
  const { publicTemplate, privateTemplate } = tokenKeyTemplates(id, label);
  if (info.algorithm === 'rsa') {
    publicTemplate.modulusBits = info.bits;
    publicTemplate.publicExponent = RSA_F4;
    return { mechanism: 'RSA_PKCS_KEY_PAIR_GEN', publicTemplate, privateTemplate };
  }
  publicTemplate.paramsEC = ecParamsDer(keyType);
  return { mechanism: 'EC_KEY_PAIR_GEN', publicTemplate, privateTemplate };
}

/** Runs a pkcs11js call on the libuv thread pool (callback form) as a promise. */
export function runAsync<T>(start: (cb: (err: Error | null, out: T | null) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    start((err, out) => {
      if (err) reject(err);
      else if (out === null || out === undefined)
        reject(new PkiError('kms.operation_failed', 'PKCS#11 call returned no result'));
      else resolve(out);
    });
  });
}

/** An X.509-ready signature over `data` with the private key `handle` (off the event loop). */
export async function signWithMechanism(
  session: graphene.Session,
  handle: graphene.PrivateKey,
  keyType: KeyType,
  data: Uint8Array,
): Promise<Uint8Array> {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'rsa') {
    const signer = session.createSign('SHA256_RSA_PKCS', handle);
    const sig = await runAsync<Buffer>((cb) => signer.once(Buffer.from(data), cb));
    return new Uint8Array(sig);
  }
  const digest = createHash(info.hash!).update(data).digest();
  const signer = session.createSign('ECDSA', handle);
  const raw = await runAsync<Buffer>((cb) => signer.once(digest, cb));
  return ecdsaRawToDer(raw);
}

/** The objects a private key made elsewhere becomes on the token (`importKey`): what C_CreateObject is given. */
export interface ImportedKeyTemplates {
  privateTemplate: graphene.ITemplate;
  publicTemplate: graphene.ITemplate;
  /** the key's SubjectPublicKeyInfo DER (to compare with what the token then holds) */
  spki: Uint8Array;
  /** overwrites the key material buffers of the templates (call once the objects are created, or not) */
  wipe(): void;
}

/**
 * Object templates for a private key given as a node:crypto key (read from PKCS#8): the private object a token
 * object, private, sensitive, non-extractable, sign-only, with the CKA_ID and label the key lookup finds; the public
 * object beside it (the lookup builds the SPKI from it: EC keys need it). RSA carries the CRT components, EC the
 * curve (CKA_EC_PARAMS), the scalar (CKA_VALUE) and the public point (CKA_EC_POINT, DER OCTET STRING).
 */
export function importedKeyTemplates(
  keyType: KeyType,
  key: KeyObject,
  id: Buffer,
  label: string,
): ImportedKeyTemplates {
  const info = KEY_TYPE_INFO[keyType];
  const jwk = key.export({ format: 'jwk' });
  const secrets: Buffer[] = [];
  const b = (v: string | undefined, secret = true): Buffer => {
    if (v === undefined) throw new PkiError('input.invalid', 'the key to import lacks a component');
    const out = Buffer.from(v, 'base64url');
    if (secret) secrets.push(out);
    return out;
  };
  const t = tokenKeyTemplates(id, label);
  const publicTemplate: graphene.ITemplate = { class: graphene.ObjectClass.PUBLIC_KEY, ...t.publicTemplate };
  const privateTemplate: graphene.ITemplate = { class: graphene.ObjectClass.PRIVATE_KEY, ...t.privateTemplate };
  if (info.algorithm === 'rsa') {
    publicTemplate.keyType = CKK_RSA;
    privateTemplate.keyType = CKK_RSA;
    publicTemplate.modulus = b(jwk.n, false);
    publicTemplate.publicExponent = b(jwk.e, false);
    Object.assign(privateTemplate, {
      modulus: b(jwk.n, false),
      publicExponent: b(jwk.e, false),
      privateExponent: b(jwk.d),
      prime1: b(jwk.p),
      prime2: b(jwk.q),
      exp1: b(jwk.dp),
      exp2: b(jwk.dq),
      coefficient: b(jwk.qi),
    });
  } else if (info.algorithm === 'ec') {
    const point = Buffer.concat([Buffer.from([0x04]), b(jwk.x, false), b(jwk.y, false)]);
    publicTemplate.keyType = CKK_EC;
    privateTemplate.keyType = CKK_EC;
    publicTemplate.paramsEC = ecParamsDer(keyType);
    publicTemplate.pointEC = Buffer.from(AsnConvert.serialize(new OctetString(point)));
    privateTemplate.paramsEC = ecParamsDer(keyType);
    privateTemplate.value = b(jwk.d);
  } else {
    assertPkcs11KeyType(keyType);
  }
  const spki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  return { privateTemplate, publicTemplate, spki, wipe: () => secrets.forEach((s) => s.fill(0)) };
}
