import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { PkiError } from '@pkim/shared';

/**
 * Seals the private keys of server-generated certificates that the server was asked to keep (`keepKey`):
 * AES-256-GCM under a key derived (HKDF-SHA256) from the key-encryption key, with the certificate id as
 * additional data, so a sealed key moved to another certificate's row does not open. The KEK never reaches
 * the database; a sealed key is only opened to write a password-protected export.
 */
export interface KeySealer {
  seal(certificateId: string, privateKeyPem: string): string;
  open(certificateId: string, sealed: string): string;
}

export function createKeySealer(kek: Uint8Array): KeySealer {
  const key = Buffer.from(hkdfSync('sha256', kek, 'pkim', 'pkim kept certificate keys v1', 32));
  return {
    seal(certificateId, privateKeyPem) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(certificateId, 'utf8'));
      const ct = Buffer.concat([c.update(privateKeyPem, 'utf8'), c.final()]);
      return ['v1', iv.toString('base64'), c.getAuthTag().toString('base64'), ct.toString('base64')].join('.');
    },
    open(certificateId, sealed) {
      const [v, iv, tag, ct] = sealed.split('.');
      if (v !== 'v1' || !iv || !tag || !ct) throw new PkiError('internal', 'kept key has an unknown format');
      try {
        const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
        d.setAAD(Buffer.from(certificateId, 'utf8'));
        d.setAuthTag(Buffer.from(tag, 'base64'));
        return Buffer.concat([d.update(Buffer.from(ct, 'base64')), d.final()]).toString('utf8');
      } catch {
        throw new PkiError('internal', `the kept key of ${certificateId} does not open with this key-encryption key`);
      }
    },
  };
}
