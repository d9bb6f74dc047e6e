import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { PkiError, type KeyType } from '@pkim/shared';

/** the PEM labels of a private key that `readPrivateKeyPem` takes (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1) */
const PRIVATE_KEY_PEM = /-----BEGIN (ENCRYPTED PRIVATE KEY|PRIVATE KEY|RSA PRIVATE KEY|EC PRIVATE KEY)-----/g;

/**
 * The node:crypto key of a key to import (`KeyImportSpec.pkcs8`), of the type it claims: the one check every key
 * backend's `importKey` makes before it keeps anything.
 */
export function privateKeyToImport(pkcs8: Uint8Array, keyType: KeyType): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  } catch {
    throw new PkiError('input.invalid', 'the key to import is not a PKCS#8 private key');
  }
  if (keyTypeOfPrivateKey(key) !== keyType)
    throw new PkiError('input.invalid', `the key to import is not a ${keyType} key`);
  return key;
}

/** The PKI Manager key type of a node:crypto private key, or undefined (RSA of another size, another curve, …). */
export function keyTypeOfPrivateKey(key: KeyObject): KeyType | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec') {
    if (d?.namedCurve === 'prime256v1') return 'ec-p256';
    if (d?.namedCurve === 'secp384r1') return 'ec-p384';
    return undefined;
  }
  if (key.asymmetricKeyType === 'rsa' && d?.publicExponent === 65537n) {
    if (d.modulusLength === 2048) return 'rsa-2048';
    if (d.modulusLength === 3072) return 'rsa-3072';
    if (d.modulusLength === 4096) return 'rsa-4096';
  }
  return undefined;
}

/** A private key read from PEM: its type, the key as PKCS#8 DER (wipe it after use) and its public key (SPKI DER). */
export interface ReadPrivateKey {
  keyType: KeyType;
  pkcs8: Uint8Array;
  spki: Uint8Array;
}

/** `reason` (the error's details) lets a form point at the password rather than the key */
function invalid(message: string, reason?: 'password_required' | 'password_wrong'): PkiError {
  return new PkiError('key.invalid', message, reason ? { details: { reason } } : {});
}

/**
 * Reads one private key in PEM — PKCS#8 (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` with `password`), PKCS#1 (`RSA
 * PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`), the last two optionally encrypted the OpenSSL way (`Proc-Type:
 * 4,ENCRYPTED`) — of a key type PKI Manager signs with (RSA 2048/3072/4096 with e = 65537, EC P-256/P-384,
 * Ed25519). Refusals are `key.invalid` and never quote the key.
 */
export function readPrivateKeyPem(pem: string, password?: string): ReadPrivateKey {
  if (typeof pem !== 'string' || pem.length > 64 * 1024) throw invalid('the private key is not PEM text');
  const labels = [...pem.matchAll(PRIVATE_KEY_PEM)].map((m) => m[1]);
  if (labels.length === 0)
    throw invalid(
      'no PEM private key found (PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY expected)',
    );
  if (labels.length > 1) throw invalid(`one private key expected, ${labels.length} found`);
  const encrypted = labels[0] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(pem);
  if (encrypted && (password === undefined || password === ''))
    throw invalid(
      'the private key is encrypted: give its password (--key-password-file, keyPassword)',
      'password_required',
    );
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', ...(encrypted ? { passphrase: password } : {}) });
  } catch {
    throw invalid(
      encrypted
        ? 'the private key could not be decrypted with the password given (wrong password or damaged key)'
        : 'the private key PEM could not be read (damaged or not a private key)',
      encrypted ? 'password_wrong' : undefined,
    );
  }
  const keyType = keyTypeOfPrivateKey(key);
  if (!keyType) {
    const d = key.asymmetricKeyDetails;
    const what =
      key.asymmetricKeyType === 'rsa'
        ? `RSA ${d?.modulusLength ?? '?'} bits${d?.publicExponent === 65537n ? '' : ', exponent not 65537'}`
        : key.asymmetricKeyType === 'ec'
          ? `EC ${d?.namedCurve ?? '?'}`
          : String(key.asymmetricKeyType);
    throw invalid(`a ${what} key is not a key type PKI Manager signs with (rsa-2048/3072/4096, ec-p256/p384, ed25519)`);
  }
  return {
    keyType,
    pkcs8: new Uint8Array(key.export({ type: 'pkcs8', format: 'der' })),
    spki: new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' })),
  };
}
