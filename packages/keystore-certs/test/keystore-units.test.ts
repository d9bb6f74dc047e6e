// Pure parts of the lifecycle: templates, renewal time, envelope encryption.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateRequest,
  checkTemplate,
  DEFAULT_TEMPLATES,
  localKek,
  openAesGcm,
  renewalTime,
  roleForTemplate,
  sealAesGcm,
} from '@pkim/keystore-certs';

const DAY = 86_400_000;

describe('keystore certificate templates', () => {
  it('builds the requirement request for each built-in keystore type', () => {
    expect(certificateRequest(DEFAULT_TEMPLATES.thales_luna!, 'acme-corp-12345')).toMatchObject({
      common_name: 'tenant-acme-corp-12345-thales.keystore.internal',
      alt_names: 'tenant-acme-corp-12345.internal',
      key_type: 'rsa',
      key_bits: 4096,
      ttl: '8760h',
    });
    expect(certificateRequest(DEFAULT_TEMPLATES.aws_kms!, 'a')).toMatchObject({ key_type: 'ec', key_bits: 256 });
    expect(roleForTemplate(DEFAULT_TEMPLATES.aws_kms!)).toMatchObject({
      allowed_domains: 'keystore.internal,internal',
      client_flag: true,
      server_flag: false,
      key_type: 'ec',
      key_bits: 256,
      max_ttl: `${4380 * 3600}s`,
    });
  });

  it('refuses templates that cannot make a valid certificate request', () => {
    for (const bad of [
      { commonNamePattern: 'fixed.example.com' },
      { commonNamePattern: 'tenant-{tenant_id}.x', keyType: 'rsa' as const, keyBits: 1024 },
      { commonNamePattern: 'tenant-{tenant_id}.x', ttl: '1d12h' },
      { commonNamePattern: 'tenant_{tenant_id}!.x' },
    ]) {
      expect(() => checkTemplate(bad)).toThrow(/invalid template/);
    }
  });
});

describe('renewal time', () => {
  it('is 30 days before expiry, but never in the first two thirds of a short lifetime', () => {
    expect(renewalTime(0, 365 * DAY, 30 * DAY)).toBe(335 * DAY);
    expect(renewalTime(0, 30 * DAY, 30 * DAY)).toBe(20 * DAY);
  });
});

describe('envelope encryption', () => {
  it('AES-256-GCM seals bound to their context; a wrong key or context does not open', async () => {
    const key = randomBytes(32);
    const sealed = sealAesGcm(key, Buffer.from('secret'), 'tenant-a|k1');
    expect(openAesGcm(key, sealed, 'tenant-a|k1').toString()).toBe('secret');
    expect(() => openAesGcm(key, sealed, 'tenant-b|k1')).toThrow(/does not decrypt/);
    expect(() => openAesGcm(randomBytes(32), sealed, 'tenant-a|k1')).toThrow(/does not decrypt/);
    const kek = localKek(randomBytes(32));
    const wrapped = await kek.wrap(Buffer.from('dek'), 'x');
    await expect(localKek(randomBytes(32)).unwrap(wrapped, 'x')).rejects.toMatchObject({
      code: 'keystore.key_unavailable',
    });
  });
});
