import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { PkiError } from '@pkim/shared';

/**
 * Webhook HMAC secrets at rest: AES-256-GCM under a key derived (HKDF, info `pkim notification secret v1`) from the
 * key-encryption key (`PKIM_MASTER_KEY` / `<data dir>/master.key`), bound to the rule id as additional
 * authenticated data, so the database and its backups hold only ciphertext. Stored form:
 * `v1.<base64url(iv ‖ ciphertext ‖ tag)>`. Every instance on one database derives the same key from the same KEK.
 */
const PREFIX = 'v1.';

export interface NotificationSecretSealer {
  seal(ruleId: string, secret: string): string;
  open(ruleId: string, stored: string): string;
}

export function createNotificationSecretSealer(kek: Uint8Array): NotificationSecretSealer {
  const key = Buffer.from(hkdfSync('sha256', kek, 'pkim', 'pkim notification secret v1', 32));
  const aad = (ruleId: string) => Buffer.from(`pkim-notification-secret\n${ruleId}`, 'utf8');
  return {
    seal(ruleId, secret) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(aad(ruleId));
      const body = Buffer.concat([c.update(secret, 'utf8'), c.final(), c.getAuthTag()]);
      return PREFIX + Buffer.concat([iv, body]).toString('base64url');
    },
    open(ruleId, stored) {
      const fail = () =>
        new PkiError(
          'internal.error',
          `the webhook secret of rule ${ruleId} does not open with this master key (another master key, or the ` +
            'row was altered): remove the rule and add it again',
          { kind: 'internal' },
        );
      if (!stored.startsWith(PREFIX)) throw fail();
      const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        d.setAAD(aad(ruleId));
        d.setAuthTag(raw.subarray(raw.length - 16));
        return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
      } catch {
        throw fail();
      }
    },
  };
}
