/**
 * OpenSSH public keys: parse an `authorized_keys`-style line (`<type> <base64> [comment]`) or a raw
 * wire blob, validate it, convert between SubjectPublicKeyInfo (what the key backends hand out) and the
 * SSH wire blob, and compute the `SHA256:` fingerprint `ssh-keygen -l` prints.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import { concatBytes, createSshReader, sshMpint, sshString } from './ssh-wire';

/** Key algorithms PKI Manager accepts as the subject key of an SSH certificate. */
export const SSH_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type SshKeyAlgorithm = (typeof SSH_KEY_ALGORITHMS)[number];

export interface SshPublicKey {
  algorithm: SshKeyAlgorithm;
  /** The public key in SSH wire format (what the base64 of an .pub line decodes to). */
  blob: Uint8Array;
  comment: string;
  /** RSA modulus bits, the curve size for ECDSA, 256 for Ed25519. */
  bits: number;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** Smallest RSA modulus accepted as a certificate subject key (OpenSSH itself refuses < 1024). */
export const SSH_MIN_RSA_BITS = 2048;

const CURVES = {
  nistp256: { jwk: 'P-256', pointLength: 65, bits: 256 },
  nistp384: { jwk: 'P-384', pointLength: 97, bits: 384 },
  nistp521: { jwk: 'P-521', pointLength: 133, bits: 521 },
} as const;

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

export function sshFingerprint(blob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

function isAlgorithm(v: string): v is SshKeyAlgorithm {
  return (SSH_KEY_ALGORITHMS as readonly string[]).includes(v);
}

/**
 * Validates a key blob's structure and returns its algorithm and size. Throws
 * `ssh.invalid_public_key`/`ssh.weak_key`.
 */
function inspectBlob(blob: Uint8Array): { algorithm: SshKeyAlgorithm; bits: number } {
  const r = createSshReader(blob, 'ssh.invalid_public_key', 'SSH public key');
  const type = r.text();
  if (type.endsWith('-cert-v01@openssh.com')) {
    throw new PkiError('ssh.invalid_public_key', `expected a public key, got an OpenSSH certificate (${type})`);
  }
  if (!isAlgorithm(type)) {
    throw new PkiError('ssh.unsupported_key', `SSH key type '${type}' is not supported`, {
      details: { keyType: type, supported: SSH_KEY_ALGORITHMS },
    });
  }
  let bits: number;
  switch (type) {
    case 'ssh-rsa': {
      const e = r.mpint();
      const n = r.mpint();
      if (((e.at(-1) ?? 0) & 1) === 0) {
        throw new PkiError('ssh.invalid_public_key', 'RSA public exponent must be odd');
      }
      bits = n[0] === undefined ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]));
      if (bits < SSH_MIN_RSA_BITS) {
        throw new PkiError('ssh.weak_key', `RSA key of ${bits} bits is too weak (at least ${SSH_MIN_RSA_BITS})`, {
          details: { bits },
        });
      }
      if (bits > 16384) throw new PkiError('ssh.unsupported_key', `RSA key of ${bits} bits is too large`);
      break;
    }
    case 'ssh-ed25519':
    case 'sk-ssh-ed25519@openssh.com': {
      if (r.string().length !== 32) throw new PkiError('ssh.invalid_public_key', 'Ed25519 public key must be 32 bytes');
      bits = 256;
      if (type.startsWith('sk-')) readApplication(r);
      break;
    }
    default: {
      const curveName = r.text();
      const expected = type
        .replace(/^sk-/, '')
        .replace(/@openssh\.com$/, '')
        .replace('ecdsa-sha2-', '');
      if (curveName !== expected) {
        throw new PkiError('ssh.invalid_public_key', `ECDSA key type ${type} names curve '${curveName}'`);
      }
      const curve = CURVES[curveName as keyof typeof CURVES];
      const q = r.string();
      if (q.length !== curve.pointLength || q[0] !== 0x04) {
        throw new PkiError('ssh.invalid_public_key', `ECDSA ${curveName} point must be ${curve.pointLength} bytes`);
      }
      bits = curve.bits;
      if (type.startsWith('sk-')) readApplication(r);
    }
  }
  r.end();
  // Point on the curve / usable key: node:crypto refuses invalid ones.
  if (!type.startsWith('sk-')) keyObjectFromSshBlob(blob);
  return { algorithm: type, bits };
}

function readApplication(r: ReturnType<typeof createSshReader>): void {
  const app = r.text();
  if (!app.startsWith('ssh:')) throw new PkiError('ssh.invalid_public_key', `FIDO application '${app}' is not ssh:…`);
}

/**
 * Parses an OpenSSH public key: an `authorized_keys`/`.pub` line (`ssh-ed25519 AAAA… comment`) or the raw
 * wire blob. Throws `ssh.invalid_public_key` (malformed), `ssh.unsupported_key` (DSA, unknown types) or
 * `ssh.weak_key` (RSA below 2048 bits).
 */
export function parseSshPublicKey(input: string | Uint8Array): SshPublicKey {
  let blob: Uint8Array;
  let comment = '';
  if (typeof input === 'string') {
    const line = input
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l.length > 0 && !l.startsWith('#'));
    if (!line) throw new PkiError('ssh.invalid_public_key', 'no SSH public key found in the input');
    if (line.startsWith('-----BEGIN')) {
      // a private key given for its public half (`--public-key ~/.ssh/id_ed25519`) is the common slip: say so
      const what = line.includes('PRIVATE KEY-----') ? 'a private key (give its .pub file)' : 'a PEM block';
      throw new PkiError(
        'ssh.invalid_public_key',
        `expected an OpenSSH public key line (ssh-ed25519 AAAA…), got ${what}`,
      );
    }
    const parts = line.split(/\s+/);
    const [type, b64] = parts;
    if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      throw new PkiError('ssh.invalid_public_key', 'expected "<key type> <base64> [comment]"');
    }
    blob = new Uint8Array(Buffer.from(b64, 'base64'));
    comment = parts.slice(2).join(' ');
    const inner = createSshReader(blob, 'ssh.invalid_public_key', 'SSH public key').text();
    if (inner !== type) {
      throw new PkiError('ssh.invalid_public_key', `key type '${type}' does not match the encoded key ('${inner}')`);
    }
  } else {
    blob = input;
  }
  const { algorithm, bits } = inspectBlob(blob);
  return { algorithm, blob, comment, bits, fingerprint: sshFingerprint(blob) };
}

/** `<type> <base64>[ comment]` */
export function formatSshPublicKey(blob: Uint8Array, comment = ''): string {
  const type = createSshReader(blob).text();
  const line = `${type} ${Buffer.from(blob).toString('base64')}`;
  return comment ? `${line} ${comment}` : line;
}

/** The SSH algorithm name of a CA key of this PKI Manager key type. */
export function sshKeyAlgorithmOf(
  keyType: KeyType,
): 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ssh-rsa' {
  const info = KEY_TYPE_INFO[keyType];
  if (info.algorithm === 'ed25519') return 'ssh-ed25519';
  if (info.algorithm === 'rsa') return 'ssh-rsa';
  return info.curve === 'secp384r1' ? 'ecdsa-sha2-nistp384' : 'ecdsa-sha2-nistp256';
}

/** Converts a SubjectPublicKeyInfo (DER) to the SSH wire blob. Throws `ssh.unsupported_key` for other algorithms. */
export function sshPublicKeyBlobFromSpki(spki: Uint8Array): Uint8Array {
  let jwk: { kty?: string; crv?: string; x?: string; y?: string; n?: string; e?: string };
  try {
    jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  } catch (e) {
    throw new PkiError('ssh.invalid_public_key', `malformed SubjectPublicKeyInfo: ${(e as Error).message}`);
  }
  const raw = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return concatBytes(sshString('ssh-ed25519'), sshString(raw(jwk.x)));
  if (jwk.kty === 'RSA') return concatBytes(sshString('ssh-rsa'), sshMpint(raw(jwk.e)), sshMpint(raw(jwk.n)));
  if (jwk.kty === 'EC') {
    const curve =
      jwk.crv === 'P-256' ? 'nistp256' : jwk.crv === 'P-384' ? 'nistp384' : jwk.crv === 'P-521' ? 'nistp521' : '';
    if (!curve) throw new PkiError('ssh.unsupported_key', `EC curve ${jwk.crv} has no SSH encoding`);
    const size = Math.ceil(CURVES[curve].bits / 8);
    const pad = (b: Uint8Array) => concatBytes(new Uint8Array(size - b.length), b);
    const point = concatBytes(Uint8Array.of(4), pad(raw(jwk.x)), pad(raw(jwk.y)));
    return concatBytes(sshString(`ecdsa-sha2-${curve}`), sshString(curve), sshString(point));
  }
  throw new PkiError('ssh.unsupported_key', `key type ${jwk.kty} has no SSH encoding`);
}

/** A node:crypto public key for an SSH key blob (Ed25519, ECDSA, RSA; not FIDO keys). */
export function keyObjectFromSshBlob(blob: Uint8Array): KeyObject {
  const r = createSshReader(blob, 'ssh.invalid_public_key', 'SSH public key');
  const type = r.text();
  try {
    if (type === 'ssh-ed25519') {
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(r.string()) }, format: 'jwk' });
    }
    if (type === 'ssh-rsa') {
      const e = r.mpint();
      const n = r.mpint();
      return createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
    }
    if (type.startsWith('ecdsa-sha2-')) {
      const curve = CURVES[r.text() as keyof typeof CURVES];
      const q = r.string();
      if (q.length !== curve?.pointLength) throw new Error('bad ECDSA point');
      const half = (q.length - 1) / 2;
      const key = { kty: 'EC', crv: curve.jwk, x: b64url(q.subarray(1, 1 + half)), y: b64url(q.subarray(1 + half)) };
      return createPublicKey({ key, format: 'jwk' });
    }
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('ssh.invalid_public_key', `SSH ${type} key is not a valid public key: ${(e as Error).message}`);
  }
  throw new PkiError('ssh.unsupported_key', `cannot verify signatures of SSH key type '${type}'`);
}
