// `sys/mounts/<pki mount>/tune` (hvac's read_mount_configuration / tune_mount_configuration, `vault secrets tune`):
// GET answers the mount's lease TTLs in seconds, force_no_cache, description and its CA; POST changes the TTLs and
// the description (204), what GET answers next; a bad TTL is 400 and a missing mount 404, nothing changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

describe('sys/mounts/<pki mount>/tune', () => {
  let f: VaultFixture;
  beforeAll(async () => {
    f = await openVaultFixture();
  }, 120_000);
  afterAll(async () => f?.close());

  it('GET its shape; POST the TTLs and description (204), read back; bad input 4xx, nothing changed', async () => {
    const before = await vaultCall(f, 'GET', 'sys/mounts/pki/tune');
    expect(before.status, before.text).toBe(200);
    expect(before.body.data).toEqual({
      default_lease_ttl: expect.any(Number),
      max_lease_ttl: 87600 * 3600,
      force_no_cache: false,
      description: expect.any(String),
      options: { ca: f.caId },
    });
    const tuned = await vaultCall(f, 'POST', 'sys/mounts/pki/tune', {
      default_lease_ttl: '1h',
      max_lease_ttl: '48h',
      description: 'tuned here',
    });
    expect(tuned.status, tuned.text).toBe(204);
    const after = await vaultCall(f, 'GET', 'sys/mounts/pki/tune');
    expect(after.body.data).toMatchObject({
      default_lease_ttl: 3600,
      max_lease_ttl: 48 * 3600,
      description: 'tuned here',
    });

    const bad = await vaultCall(f, 'POST', 'sys/mounts/pki/tune', { max_lease_ttl: 'forever' });
    expect(bad.status, bad.text).toBe(400);
    const missing = await vaultCall(f, 'POST', 'sys/mounts/nowhere/tune', { description: 'x' });
    expect(missing.status, missing.text).toBeGreaterThanOrEqual(400);
    expect((await vaultCall(f, 'GET', 'sys/mounts/nowhere/tune')).status).toBe(404);
    expect((await vaultCall(f, 'GET', 'sys/mounts/pki/tune')).body.data).toEqual(after.body.data);
  });
});
