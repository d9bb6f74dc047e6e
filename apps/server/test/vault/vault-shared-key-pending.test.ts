// One key, several issuers, when certificates come back: two pending intermediates on one `key_ref`
// (`intermediate/generate/existing` twice, other subjects) are each set by `intermediate/set-signed` — the pending CA
// is the one whose CSR has the certificate's key AND subject, in whatever order the certificates come back (the first
// pending CA on the key is not the answer); an intermediate signed by the second of two roots with one key and one
// subject, the first revoked, gets the live one as its parent (the signature verifies with both: the revoked one is
// not a reason to refuse). Every certificate checked by openssl and certtool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certtoolVerify, opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => {
  await f?.close();
});

const pemOf = (r: { body: { data: { certificate: string } } }) => `${r.body.data.certificate}\n`;

async function ok(method: string, path: string, body?: Record<string, unknown>) {
  const r = await vaultCall(f, method, path, body);
  expect(r.status, `${method} ${path}: ${r.text}`).toBeLessThan(300);
  return r;
}

describe('one key, several issuers: certificates set back', () => {
  it('two pending intermediates on one key are each set by their own certificate, in either order', async () => {
    await ok('POST', 'sys/mounts/skp-out', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    const outer = await ok('POST', 'skp-out/root/generate/internal', { common_name: 'SKP Outer', ttl: '8760h' });
    await ok('POST', 'sys/mounts/skp', { type: 'pki' });
    await ok('POST', 'skp/keys/generate/internal', { key_name: 'shared', key_type: 'ec' });
    await ok('POST', 'skp/roles/web', { ...WEB_ROLE, key_type: 'ec' });
    const signed: Record<string, string> = {};
    for (const name of ['p-one', 'p-two']) {
      const gen = await ok('POST', 'skp/intermediate/generate/existing', {
        key_ref: 'shared',
        common_name: `SKP ${name}`,
        issuer_name: name,
      });
      const s = await ok('POST', 'skp-out/root/sign-intermediate', {
        csr: gen.body.data.csr,
        common_name: `SKP ${name}`,
        ttl: '100h',
      });
      signed[name] = pemOf(s);
    }
    // the second one's certificate first: not the first pending CA on the key
    for (const name of ['p-two', 'p-one']) {
      const set = await vaultCall(f, 'POST', 'skp/intermediate/set-signed', { certificate: signed[name] });
      expect(set.status, `${name}: ${set.text}`).toBe(200);
      const issuer = await ok('GET', `skp/issuer/${name}`);
      expect(set.body.data.imported_issuers).toEqual([issuer.body.data.issuer_id]);
      expect(pemOf(issuer)).toBe(signed[name]);
    }
    for (const name of ['p-one', 'p-two']) {
      const leaf = await ok('POST', `skp/issuer/${name}/issue/web`, { common_name: `${name}.example.com`, ttl: '1h' });
      const chain = { leafPem: pemOf(leaf), chainPems: [signed[name]!], rootPem: pemOf(outer) };
      const v = opensslVerify(chain);
      expect(v.ok, v.output).toBe(true);
      const c = certtoolVerify(chain);
      expect(c.ok, c.output).toBe(true);
    }
    // the same certificate again: the existing issuer, by its own subject
    const again = await ok('POST', 'skp/intermediate/set-signed', { certificate: signed['p-two'] });
    expect(again.body.data.existing_issuers).toEqual([(await ok('GET', 'skp/issuer/p-two')).body.data.issuer_id]);
  });

  it('an intermediate signed by the live one of two roots with one key and subject gets it as its parent', async () => {
    await ok('POST', 'sys/mounts/skv', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    await ok('POST', 'skv/keys/generate/internal', { key_name: 'shared', key_type: 'ec' });
    const roots: Record<string, { id: string; pem: string }> = {};
    for (const name of ['skv-old', 'skv-new']) {
      const r = await ok('POST', 'skv/root/generate/existing', {
        key_ref: 'shared',
        common_name: 'SKV Root',
        issuer_name: name,
        ttl: '8760h',
      });
      roots[name] = { id: r.body.data.issuer_id as string, pem: pemOf(r) };
    }
    await ok('POST', 'skv/issuer/skv-old/revoke');
    await ok('POST', 'sys/mounts/skw', { type: 'pki' });
    const gen = await ok('POST', 'skw/intermediate/generate/internal', { common_name: 'SKW Int', key_type: 'ec' });
    const s = await ok('POST', 'skv/issuer/skv-new/sign-intermediate', {
      csr: gen.body.data.csr,
      common_name: 'SKW Int',
      ttl: '100h',
    });
    const set = await vaultCall(f, 'POST', 'skw/intermediate/set-signed', { certificate: pemOf(s) });
    expect(set.status, set.text).toBe(200);
    const id = set.body.data.imported_issuers[0] as string;
    expect((await f.authority.cas.get(id)).ca.parentId).toBe(roots['skv-new']!.id);
    await ok('POST', 'skw/roles/web', { ...WEB_ROLE, key_type: 'ec' });
    const leaf = await ok('POST', 'skw/issue/web', { common_name: 'w.example.com', ttl: '1h' });
    const chain = { leafPem: pemOf(leaf), chainPems: [pemOf(s)], rootPem: roots['skv-new']!.pem };
    const v = opensslVerify(chain);
    expect(v.ok, v.output).toBe(true);
    const c = certtoolVerify(chain);
    expect(c.ok, c.output).toBe(true);
  });
});
