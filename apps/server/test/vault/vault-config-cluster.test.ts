// `config/cluster` (OpenBao's mount-local address: `path`, `aia_path`): read before any write answers both empty; a
// write of either keeps the other; a value that is not an absolute URL (scheme and host) is refused with OpenBao's
// message and changes nothing; audited `vault.cluster_configured`; a token with `ca:read` reads it, only `ca:write`
// writes it, none: 403. Kept in the mount (a mount without a CA too); a templated `config/urls` uses it
// (vault-url-templating.test.ts). hvac and node-vault write and read it.
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTORS } from '../server-test-support';
import { openVaultFixture, runHvacScript, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const PATH = 'https://pr1.bao.example.com:8200/v1/pki';
const AIA = 'http://cdn.example.com/pr1/pki';

describe('config/cluster', () => {
  it('reads empty, writes path and aia_path, refuses a non-URL, needs ca:read / ca:write', async () => {
    const empty = await vaultCall(f, 'GET', 'pki/config/cluster');
    expect(empty.status, empty.text).toBe(200);
    expect(empty.body.data).toEqual({ path: '', aia_path: '' });

    const w = await vaultCall(f, 'POST', 'pki/config/cluster', { path: PATH });
    expect(w.status, w.text).toBe(200);
    expect(w.body.data).toEqual({ path: PATH, aia_path: '' });
    const w2 = await vaultCall(f, 'PUT', 'pki/config/cluster', { aia_path: AIA });
    expect(w2.body.data).toEqual({ path: PATH, aia_path: AIA });
    expect((await vaultCall(f, 'GET', 'pki/config/cluster')).body.data).toEqual({ path: PATH, aia_path: AIA });

    for (const [field, value] of [
      ['path', 'pr1.bao.example.com/v1/pki'],
      ['aia_path', 'http://'],
      ['path', ''],
    ] as const) {
      const bad = await vaultCall(f, 'POST', 'pki/config/cluster', { aia_path: AIA, [field]: value });
      expect(bad.status, bad.text).toBe(400);
      expect(bad.body.errors[0]).toContain(`invalid, non-URL ${field} given to cluster: ${value}`);
    }
    expect((await vaultCall(f, 'GET', 'pki/config/cluster')).body.data).toEqual({ path: PATH, aia_path: AIA });

    const events = await f.authority.audit.list({ action: 'vault.cluster_configured', limit: 10 });
    // (oldest first) the two writes, none of the refusals
    expect(events.map((e) => [e.target, e.details])).toEqual([
      ['pki', { path: PATH, aia_path: '' }],
      ['pki', { path: PATH, aia_path: AIA }],
    ]);

    const { token: reader } = await f.authority.auth.createToken(
      { name: 'cluster reader', role: 'auditor', expiresInMs: null },
      ACTORS.admin,
    );
    expect((await vaultCall(f, 'GET', 'pki/config/cluster', undefined, { token: reader })).status).toBe(200);
    const refused = await vaultCall(
      f,
      'POST',
      'pki/config/cluster',
      { path: 'https://x.example/v1/pki' },
      { token: reader },
    );
    expect(refused.status, refused.text).toBe(403);
    for (const method of ['GET', 'POST']) {
      const anon = await vaultCall(f, method, 'pki/config/cluster', method === 'POST' ? { path: PATH } : undefined, {
        token: null,
      });
      expect(anon.status, anon.text).toBe(403);
    }
    expect((await vaultCall(f, 'GET', 'pki/config/cluster')).body.data).toEqual({ path: PATH, aia_path: AIA });
  });

  it('on a mount without a CA; with hvac and node-vault', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/ccl', { type: 'pki' })).status).toBe(204);
    const out = await runHvacScript('hvac-config-cluster.py', [f.url, f.token, 'ccl']);
    const written = { path: 'https://pr2.bao.example.com:8200/v1/ccl', aia_path: 'http://cdn.example.com/pr2/ccl' };
    expect(out.written).toEqual(written);
    expect(out.read).toEqual(written);
    expect(out.refused).toContain('invalid, non-URL aia_path given to cluster: cdn.example.com');

    const v = nodeVault({ endpoint: f.url, token: f.token });
    await v.write('ccl/config/cluster', { path: 'https://pr3.example.com/v1/ccl' });
    expect((await v.read('ccl/config/cluster')).data).toEqual({ ...written, path: 'https://pr3.example.com/v1/ccl' });
  });
});
