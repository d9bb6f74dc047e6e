// `key/:ref` POST/PATCH and DELETE over raw HTTP (OpenBao's pathUpdateKey / pathDeleteKey): the mount's one key is its
// CA's, so `key_name` renames the CA (audited `ca.renamed`), and a DELETE is refused as OpenBao refuses a key in use
// by an issuer (400, the CA and its key unchanged; the mount keeps issuing: its leaf verified by openssl); a ref
// naming no key of the mount answers 204 and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTORS } from '../server-test-support';
import {
  expectIssuedLeafVerifies,
  openVaultFixture,
  vaultCall,
  WEB_ROLE,
  type VaultFixture,
} from './vault-test-support';

let f: VaultFixture;
let keyId: string;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: WEB_ROLE } });
  keyId = (await vaultCall(f, 'GET', 'pki/key/default')).body.data.key_id;
}, 60_000);
afterAll(async () => f?.close());

describe('key/:ref POST, PATCH and DELETE', () => {
  it("renames the CA by key_name (POST by id, PATCH by name); audited; empty or 'default' refused", async () => {
    const r = await vaultCall(f, 'POST', `pki/key/${keyId}`, { key_name: 'issuing-key' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data).toMatchObject({ key_id: keyId, key_name: 'issuing-key' });
    expect((await f.authority.cas.get(f.caId)).ca.name).toBe('issuing-key');
    expect((await vaultCall(f, 'GET', 'pki/issuer/default')).body.data.issuer_name).toBe('issuing-key');
    const p = await vaultCall(f, 'PATCH', 'pki/key/issuing-key', { key_name: 'issuing-key-2' });
    expect(p.status, p.text).toBe(200);
    expect(p.body.data.key_name).toBe('issuing-key-2');
    const events = await f.authority.audit.list({ action: 'ca.renamed', target: f.caId, limit: 5 });
    expect(events.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        { from: 'Vault Test Issuing', to: 'issuing-key' },
        { from: 'issuing-key', to: 'issuing-key-2' },
      ]),
    );
    expect(events).toHaveLength(2);
    for (const [name, message] of [
      ['', /^key_name cannot be empty/],
      ['default', /reserved keyword 'default'/],
      ['Vault Test Root', /a CA named 'Vault Test Root' already exists/],
    ] as const) {
      const bad = await vaultCall(f, 'POST', 'pki/key/default', { key_name: name });
      expect(bad.status, bad.text).toBe(400);
      expect(bad.body.errors[0]).toMatch(message);
    }
    expect((await vaultCall(f, 'POST', 'pki/key/nope', { key_name: 'x' })).status).toBe(404);
    expect((await f.authority.cas.get(f.caId)).ca.name).toBe('issuing-key-2');
  });

  it('refuses to delete the key its issuer uses (400); an unknown ref is 204; the mount still issues', async () => {
    for (const ref of [keyId, 'default', 'issuing-key-2']) {
      const r = await vaultCall(f, 'DELETE', `pki/key/${ref}`);
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors[0]).toMatch(new RegExp(`^Failed to Delete Key\\.  Key in Use by Issuer: ${f.caId}`));
    }
    expect((await vaultCall(f, 'DELETE', 'pki/key/nope')).status).toBe(204);
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    expect((await vaultCall(f, 'DELETE', 'pki/key/default', undefined, { token })).status).toBe(403);
    expect((await vaultCall(f, 'GET', 'pki/key/default')).body.data.key_id).toBe(keyId);
    expect((await f.authority.cas.get(f.caId)).ca.status).toBe('active');
    await expectIssuedLeafVerifies(f, 'k.example.com');
  });
});
