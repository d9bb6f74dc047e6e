/**
 * SSH signature blobs (RFC 4253 §6.6, RFC 5656 §3.1.2, RFC 8332, RFC 8709): `string format, string blob`.
 * The key backends return X.509-style signatures (RSA PKCS#1 v1.5, ECDSA DER Ecdsa-Sig-Value, Ed25519 raw);
 * this module converts them to SSH form and verifies SSH signatures.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import { children, content, readWhole } from '../der-reader';
import { concatBytes, createSshReader, sshMpint, sshString } from './ssh-wire';
import { keyObjectFromSshBlob } from './ssh-public-key';

export type SshSignatureAlgorithm =
  'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'rsa-sha2-256' | 'rsa-sha2-512';

/**
 * The SSH signature algorithm a CA key of this type produces through a key backend. The backends hash with
 * the key type's hash (SHA-256 for RSA), so RSA CAs sign `rsa-sha2-256` (RFC 8332; never SHA-1 `ssh-rsa`).
 * A signer that hashes with SHA-512 passes `rsaHash: 'sha512'`.
 */
export function sshSignatureAlgorithmFor(
  keyType: KeyType,
  rsaHash: 'sha256' | 'sha512' = 'sha256',
): SshSignatureAlgorithm {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'ed25519') return 'ssh-ed25519';
  if (info.algorithm === 'rsa') return rsaHash === 'sha512' ? 'rsa-sha2-512' : 'rsa-sha2-256';
  return info.curve === 'secp384r1' ? 'ecdsa-sha2-nistp384' : 'ecdsa-sha2-nistp256';
}

/** Wraps a backend signature (X.509 form) into an SSH signature blob. Throws `ssh.signature_invalid` for bad DER. */
export function sshSignatureFromBackend(algorithm: SshSignatureAlgorithm, signature: Uint8Array): Uint8Array {
  if (algorithm.startsWith('ecdsa-')) {
    try {
      const top = readWhole(signature);
      const [r, s] = children(signature, top);
      if (top.tag !== 0x30 || r?.tag !== 0x02 || s?.tag !== 0x02) throw new Error('not an Ecdsa-Sig-Value');
      const blob = concatBytes(sshMpint(content(signature, r)), sshMpint(content(signature, s)));
      return concatBytes(sshString(algorithm), sshString(blob));
    } catch (e) {
      throw new PkiError(
        'ssh.signature_invalid',
        `ECDSA signature from the key backend is malformed: ${(e as Error).message}`,
      );
    }
  }
  if (algorithm === 'ssh-ed25519' && signature.length !== 64) {
    throw new PkiError('ssh.signature_invalid', 'Ed25519 signature must be 64 bytes');
  }
  return concatBytes(sshString(algorithm), sshString(signature));
}

const HASH_OF: Record<string, string | null> = {
  'ssh-ed25519': null,
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
  'rsa-sha2-256': 'sha256',
  'rsa-sha2-512': 'sha512',
};

/** The algorithm named by an SSH signature blob. */
export function sshSignatureAlgorithmOf(signatureBlob: Uint8Array): string {
  return createSshReader(signatureBlob, 'ssh.signature_invalid', 'SSH signature').text();
}

/**
 * Verifies an SSH signature blob over `data` with the signer's SSH public key blob. Refuses SHA-1 `ssh-rsa`
 * signatures and algorithm/key mismatches. Returns false (never throws) for a wrong or malformed signature.
 */
export function verifySshSignature(signerKeyBlob: Uint8Array, data: Uint8Array, signatureBlob: Uint8Array): boolean {
  try {
    const sr = createSshReader(signatureBlob, 'ssh.signature_invalid', 'SSH signature');
    const alg = sr.text();
    const sig = sr.string();
    sr.end();
    if (!(alg in HASH_OF)) return false;
    const keyType = createSshReader(signerKeyBlob).text();
    const compatible = alg.startsWith('rsa-sha2-') ? keyType === 'ssh-rsa' : keyType === alg;
    if (!compatible) return false;
    const key = keyObjectFromSshBlob(signerKeyBlob);
    if (alg.startsWith('ecdsa-')) {
      const rr = createSshReader(sig, 'ssh.signature_invalid', 'ECDSA signature');
      const r = rr.mpint();
      const s = rr.mpint();
      rr.end();
      const size = alg.endsWith('256') ? 32 : alg.endsWith('384') ? 48 : 66;
      if (r.length > size || s.length > size) return false;
      const pad = (b: Uint8Array) => concatBytes(new Uint8Array(size - b.length), b);
      return cryptoVerify(HASH_OF[alg], data, { key, dsaEncoding: 'ieee-p1363' }, concatBytes(pad(r), pad(s)));
    }
    return cryptoVerify(HASH_OF[alg], data, key, sig);
  } catch {
    return false;
  }
}
