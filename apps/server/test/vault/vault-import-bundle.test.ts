// OpenBao's `config/ca` and `issuers/import/bundle` with a `pem_bundle` holding a private key: an existing CA (made by
// openssl, its key never here before) brought to a mount without a CA through the authority's `cas.importExisting`
// (as `pkim ca import-existing`) and the mount bound to it — OpenBao's answer (`mapping`, `imported_issuers`,
// `imported_keys`), a leaf issued through the mount verified by openssl and certtool against the ORIGINAL root, the
// same bundle again answered as existing, another CA made a second issuer; refusals (another key, a non-CA, garbage)
// are 400 with nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslSelfSigned } from '../../../../tests/support/openssl-tools';
import { certtoolVerify, opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
const caCount = async () => (await f.authority.cas.list()).length;

describe('config/ca and issuers/import/bundle with a private key', () => {
  it('binds an existing CA to a mount without one; its leaves verify against the original root', async () => {
    const root = opensslSelfSigned({ subject: '/O=Example/CN=Vault Old Root', days: 30, addext: CA_EXT });
    const other = opensslSelfSigned({ subject: '/CN=Vault Other', days: 30, addext: CA_EXT });
    const leaf = opensslSelfSigned({ subject: '/CN=Vault Leaf', days: 30, addext: ['basicConstraints=CA:FALSE'] });
    expect((await vaultCall(f, 'POST', 'sys/mounts/brought', { type: 'pki' })).status).toBe(204);
    const before = await caCount();
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ pem_bundle: root.certPem + other.keyPem }, /no certificate in pem_bundle is for the private key/],
      [{ pem_bundle: leaf.certPem + leaf.keyPem }, /CA:FALSE/],
      [{ pem_bundle: root.certPem + '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }, /private key/],
      [{ pem_bundle: '' }, /parameters were empty/],
    ];
    for (const [body, message] of refusals) {
      const r = await vaultCall(f, 'POST', 'brought/config/ca', body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    expect(await caCount()).toBe(before);

    const r = await vaultCall(f, 'POST', 'brought/config/ca', { pem_bundle: root.keyPem + root.certPem });
    expect(r.status, r.text).toBe(200);
    const caId = r.body.data.imported_issuers[0] as string;
    expect(caId).toMatch(/^ca_/);
    const keyId = r.body.data.imported_keys[0] as string;
    expect(r.body.data).toEqual({
      mapping: { [caId]: keyId },
      imported_issuers: [caId],
      imported_keys: [keyId],
      existing_issuers: [],
      existing_keys: [],
    });
    const issuer = await vaultCall(f, 'GET', 'brought/issuer/default');
    expect(issuer.body.data).toMatchObject({ issuer_id: caId, issuer_name: 'Vault-Old-Root', key_id: keyId });
    expect(issuer.body.data.certificate.trim()).toBe(root.certPem.trim());
    expect((await vaultCall(f, 'POST', 'brought/roles/web', WEB_ROLE)).status).toBe(200);
    const issued = await vaultCall(f, 'POST', 'brought/issue/web', { common_name: 'a.example.com', ttl: '24h' });
    expect(issued.status, issued.text).toBe(200);
    const leafPem = issued.body.data.certificate as string;
    const o = opensslVerify({ leafPem, rootPem: root.certPem, purpose: 'sslserver', hostname: 'a.example.com' });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem, rootPem: root.certPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);

    // the same bundle again (issuers/import/bundle): existing; another CA on this mount: another issuer, not the
    // default (OpenBao multi-issuer); its leaves (issuer/:ref/issue) verify against its own root
    const again = await vaultCall(f, 'POST', 'brought/issuers/import/bundle', {
      pem_bundle: root.certPem + root.keyPem,
    });
    expect(again.status, again.text).toBe(200);
    expect(again.body.data).toMatchObject({ existing_issuers: [caId], existing_keys: [keyId], imported_issuers: [] });
    const count = await caCount();
    const second = await vaultCall(f, 'POST', 'brought/config/ca', { pem_bundle: other.certPem + other.keyPem });
    expect(second.status, second.text).toBe(200);
    const otherId = second.body.data.imported_issuers[0] as string;
    expect(otherId).not.toBe(caId);
    expect(await caCount()).toBe(count + 1);
    expect((await vaultCall(f, 'GET', 'brought/issuer/default')).body.data.issuer_id).toBe(caId);
    const listed = await vaultCall(f, 'GET', 'brought/issuers?list=true');
    expect(listed.body.data.keys).toEqual([caId, otherId]);
    const viaOther = await vaultCall(f, 'POST', `brought/issuer/${otherId}/issue/web`, {
      common_name: 'b.example.com',
    });
    expect(viaOther.status, viaOther.text).toBe(200);
    const ov = opensslVerify({ leafPem: viaOther.body.data.certificate, rootPem: other.certPem });
    expect(ov.ok, ov.output).toBe(true);
    expect(opensslVerify({ leafPem: viaOther.body.data.certificate, rootPem: root.certPem }).ok).toBe(false);
    const events = await f.authority.audit.list({ target: caId, limit: 5 });
    expect(events.map((e) => e.action)).toContain('ca.imported');
  }, 120_000);
});
