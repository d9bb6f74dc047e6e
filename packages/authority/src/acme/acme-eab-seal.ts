import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { PkiError } from '@pkim/shared';

/**
 * External account binding HMAC keys at rest: AES-256-GCM under a key derived (HKDF) from the key-encryption key
 * (`PKIM_MASTER_KEY` / `<data dir>/master.key`), bound to the key id and its CA as additional authenticated data,
 * so the database (and every dump or backup of it) holds only ciphertext — like the software CA keys.
 * Stored form: `v1.<base64url(iv ‖ ciphertext ‖ tag)>`.
 */
const PREFIX = 'v1.';

export interface EabSealer {
  seal(kid: string, caId: string, hmacKey: string): string;
  /** the HMAC key (base64url) of a stored value; `acme.malformed` style errors never reveal the value */
  open(kid: string, caId: string, stored: string): string;
}

export function eabSealKey(kek: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, 'pkim', 'pkim acme eab v1', 32));
}

export function createEabSealer(key: Uint8Array): EabSealer {
  if (key.length !== 32)
    throw new PkiError('internal.error', 'the EAB sealing key must be 32 bytes', { kind: 'internal' });
  const aad = (kid: string, caId: string) => Buffer.from(`pkim-acme-eab\n${kid}\n${caId}`, 'utf8');
  return {
    seal(kid, caId, hmacKey) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(aad(kid, caId));
      const body = Buffer.concat([c.update(Buffer.from(hmacKey, 'utf8')), c.final(), c.getAuthTag()]);
      return PREFIX + Buffer.concat([iv, body]).toString('base64url');
    },
    open(kid, caId, stored) {
      if (!stored.startsWith(PREFIX)) {
        throw new PkiError('internal.error', `EAB key ${kid} is not sealed: create a new one`, { kind: 'internal' });
      }
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        d.setAAD(aad(kid, caId));
        d.setAuthTag(raw.subarray(raw.length - 16));
        return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
      } catch {
        throw new PkiError(
          'internal.error',
          `EAB key ${kid} does not open with this master key (another master key, or the row was altered)`,
          { kind: 'internal' },
        );
      }
    },
  };
}
