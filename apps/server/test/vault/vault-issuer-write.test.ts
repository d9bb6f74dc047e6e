// `issuer/:ref` POST/PATCH over raw HTTP (Terraform's vault_pki_secret_backend_issuer): `issuer_name` renames the
// mount's CA (audited `ca.renamed`, the issuer id stays); the entry's other fields pass when they are what the entry
// says and are refused (400, nothing changed) otherwise (leaf_not_after_behavior, which the CA takes:
// vault-leaf-not-after.test.ts). POST replaces as OpenBao's (a field not given: its default), PATCH merges. The mount
// keeps issuing: its leaf verified by openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslText } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import {
  expectIssuedLeafVerifies,
  openVaultFixture,
  vaultCall,
  WEB_ROLE,
  type VaultFixture,
} from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: WEB_ROLE } });
}, 60_000);
afterAll(async () => f?.close());

const anon = { token: null };

describe('issuer/:ref POST and PATCH', () => {
  it('renames the CA by issuer_name; the id stays, the new name resolves, the old does not; audited', async () => {
    const r = await vaultCall(f, 'POST', 'pki/issuer/default', { issuer_name: 'issuing-renamed' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data).toMatchObject({ issuer_id: f.caId, issuer_name: 'issuing-renamed', revoked: false });
    expect((await f.authority.cas.get(f.caId)).ca.name).toBe('issuing-renamed');
    const byName = await vaultCall(f, 'GET', 'pki/issuer/issuing-renamed/json', undefined, anon);
    expect(byName.status).toBe(200);
    expect(byName.body.data.issuer_id).toBe(f.caId);
    expect((await vaultCall(f, 'GET', 'pki/issuer/Vault%20Test%20Issuing/json', undefined, anon)).status).toBe(404);
    const events = await f.authority.audit.list({ action: 'ca.renamed', target: f.caId, limit: 5 });
    expect(events.map((e) => e.details)).toEqual([{ from: 'Vault Test Issuing', to: 'issuing-renamed' }]);
    // still the mount's issuer: a leaf issued after the rename verifies up to the root
    await expectIssuedLeafVerifies(f, 'r.example.com');
  });

  it('takes the fields Terraform sends when they are what the entry says (PATCH, by the new name)', async () => {
    const r = await vaultCall(f, 'PATCH', 'pki/issuer/issuing-renamed', {
      issuer_name: 'issuing-tf',
      leaf_not_after_behavior: 'err',
      manual_chain: [],
      usage: 'read-only,issuing-certificates,crl-signing,ocsp-signing',
      revocation_signature_algorithm: '',
      issuing_certificates: [],
      crl_distribution_points: [],
      ocsp_servers: [],
      enable_aia_url_templating: false,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.data.issuer_name).toBe('issuing-tf');
    // without issuer_name: nothing to change, the entry
    const same = await vaultCall(f, 'POST', `pki/issuer/${f.caId}`, { leaf_not_after_behavior: 'err' });
    expect(same.status, same.text).toBe(200);
    expect(same.body.data.issuer_name).toBe('issuing-tf');
  });

  it('refuses other values of the other fields, a taken, empty or reserved name (400); nothing renamed', async () => {
    for (const [body, message] of [
      [{ issuer_name: 'x1', usage: 'read-only' }, /^usage cannot be changed on a PKI Manager issuer/],
      [{ issuer_name: 'x2', leaf_not_after_behavior: 'always' }, /^Unknown value for field `leaf_not_after_behavior`/],
      [
        { issuer_name: 'x3', ocsp_servers: 'ldap://ocsp.example.com' },
        /^invalid URL found in Authority Information Access \(AIA\) parameter ocsp_servers: ldap:/,
      ],
      [{ issuer_name: 'x4', manual_chain: f.rootCaId }, /^manual_chain cannot be changed/],
      [{ issuer_name: 'Vault Test Root' }, /a CA named 'Vault Test Root' already exists/],
      [{ issuer_name: '' }, /^issuer_name cannot be empty/],
      [{ issuer_name: 'default' }, /reserved keyword 'default'/],
    ] as const) {
      const r = await vaultCall(f, 'POST', 'pki/issuer/default', body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    expect((await f.authority.cas.get(f.caId)).ca.name).toBe('issuing-tf');
    // another issuer reference: 404; a token without ca:write: 403
    expect((await vaultCall(f, 'POST', 'pki/issuer/nope', { issuer_name: 'y' })).status).toBe(404);
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    expect((await vaultCall(f, 'POST', 'pki/issuer/default', { issuer_name: 'y' }, { token })).status).toBe(403);
    expect((await f.authority.cas.get(f.caId)).ca.name).toBe('issuing-tf');
  });

  it("POST replaces (OpenBao's pathUpdateIssuer): a field not given takes its default; PATCH keeps it", async () => {
    const mountUrls = { ocsp_servers: ['http://ocsp.example.org/mount'], crl_distribution_points: [] };
    expect((await vaultCall(f, 'POST', 'pki/config/urls', mountUrls)).status).toBe(200);
    const own = 'http://ocsp.example.org/own';
    const set = await vaultCall(f, 'PATCH', 'pki/issuer/default', {
      leaf_not_after_behavior: 'truncate',
      ocsp_servers: [own],
    });
    expect(set.status, set.text).toBe(200);
    // PATCH of the name alone: the behavior and the issuer's own URL stay
    const patched = await vaultCall(f, 'PATCH', 'pki/issuer/default', { issuer_name: 'issuing-patched' });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.data).toMatchObject({ leaf_not_after_behavior: 'truncate', ocsp_servers: [own] });
    const leafOcsp = async () => {
      const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'p.example.com', ttl: '1h' });
      expect(issued.status, issued.text).toBe(200);
      return opensslText(`${issued.body.data.certificate}\n`).match(/OCSP - URI:[^\s]+/g);
    };
    expect(await leafOcsp()).toEqual([`OCSP - URI:${own}`]);
    // POST of the name alone: behavior err, no URLs of its own (config/urls again), templating off; the name kept
    const posted = await vaultCall(f, 'POST', 'pki/issuer/default', { issuer_name: 'issuing-posted' });
    expect(posted.status, posted.text).toBe(200);
    expect(posted.body.data).toMatchObject({
      issuer_name: 'issuing-posted',
      leaf_not_after_behavior: 'err',
      ocsp_servers: mountUrls.ocsp_servers,
      enable_aia_url_templating: false,
    });
    expect((await f.authority.cas.get(f.caId)).ca.leafNotAfterBehavior).toBe('err');
    expect(await leafOcsp()).toEqual([`OCSP - URI:${mountUrls.ocsp_servers[0]}`]);
    const events = await f.authority.audit.list({ action: 'ca.leaf_not_after_configured', target: f.caId, limit: 5 });
    expect(events.map((e) => e.details)).toEqual([
      { from: 'err', to: 'truncate' },
      { from: 'truncate', to: 'err' },
    ]);
    await expectIssuedLeafVerifies(f, 'posted.example.com');
  });
});
