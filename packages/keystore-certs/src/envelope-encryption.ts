import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PkiError } from '@pkim/shared';

/**
 * The key-encryption key (KEK) that wraps every tenant's data-encryption key. The local implementation keeps a
 * 256-bit key in a file or an environment variable; an HSM/KMS-backed one implements the same two calls.
 */
export interface KeyEncryptionKey {
  /** a stable id stored with every wrapped key (detects a wrong KEK before decrypting anything) */
  readonly id: string;
  wrap(plain: Buffer, aad: string): Promise<Buffer>;
  unwrap(wrapped: Buffer, aad: string): Promise<Buffer>;
}

const VERSION = 1;

/** AES-256-GCM: version ‖ iv(12) ‖ tag(16) ‖ ciphertext, bound to `aad`. */
export function sealAesGcm(key: Buffer, plain: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export function openAesGcm(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 29 || sealed[0] !== VERSION) {
    throw new PkiError('keystore.key_unavailable', 'encrypted key material has an unknown format');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.subarray(13, 29));
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]);
  } catch {
    throw new PkiError(
      'keystore.key_unavailable',
      'encrypted key material does not decrypt (wrong key-encryption key or tampered data)',
    );
  }
}

/** A KEK held in memory (from a file or an environment variable): 32 bytes, hex or base64. */
export function localKek(material: Buffer): KeyEncryptionKey {
  if (material.length !== 32) throw new PkiError('keystore.invalid_input', 'the key-encryption key must be 32 bytes');
  const key = Buffer.from(material);
  const id = `local:${createHash('sha256').update('pkim-keystore-kek').update(key).digest('hex').slice(0, 16)}`;
  return {
    id,
    wrap: async (plain, aad) => sealAesGcm(key, plain, aad),
    unwrap: async (wrapped, aad) => openAesGcm(key, wrapped, aad),
  };
}

export function parseKekText(text: string): Buffer {
  const t = text.trim();
  const raw = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (raw.length !== 32) {
    throw new PkiError('keystore.invalid_input', 'the key-encryption key must be 32 bytes (64 hex or base64)');
  }
  return raw;
}

/**
 * The local KEK: `PKIM_KEYSTORE_KEK` (64 hex / base64) when set, else the file (created with mode 0600 on first
 * use). The file must not live next to the database in production: whoever has both has every private key.
 */
export function loadLocalKek(file: string, env: Record<string, string | undefined>): KeyEncryptionKey {
  if (env.PKIM_KEYSTORE_KEK) return localKek(parseKekText(env.PKIM_KEYSTORE_KEK));
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return localKek(parseKekText(readFileSync(file, 'utf8')));
}

/** Overwrites a buffer holding secret material. */
export function zeroize(...buffers: (Buffer | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}
