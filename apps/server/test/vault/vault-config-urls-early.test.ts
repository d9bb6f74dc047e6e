// `config/urls` written on a mount before it has its CA (what some Terraform does: the mount, its URLs, then the root)
// is kept on the mount, read back from there, and becomes the CA's URL setting when the mount gets its CA
// (`root/generate/internal`, `intermediate/generate/internal`): read back the same, audited, and carried by the leaves
// the mount issues and by a generated root itself, as OpenBao embeds them (openssl x509 -text; the leaf verified by
// openssl and certtool); an intermediate carries its signer's. A bad URL changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certtoolVerify, opensslVerify } from '../../../../tests/support/verifiers';
import { expectExactUrls, openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ publicBaseUrl: 'http://pkim.example.net' });
}, 60_000);
afterAll(async () => f?.close());

const URLS = {
  issuing_certificates: ['http://ca.example.org/early.crt'],
  crl_distribution_points: ['http://crl.example.org/early.crl'],
  ocsp_servers: ['http://ocsp.example.org'],
  enable_templating: false,
  delta_crl_distribution_points: [],
};

/** the intermediate mount's own: its leaves carry these, its certificate its signer's (URLS) */
const INT_URLS = {
  issuing_certificates: ['http://ca.example.org/int.crt'],
  crl_distribution_points: ['http://crl.example.org/int.crl'],
  ocsp_servers: ['http://ocsp.example.org/int'],
  enable_templating: false,
  delta_crl_distribution_points: [],
};

/** the URLs a certificate carries as openssl prints them, exactly those, and nothing of the server's own */
const expectUrls = (pem: string, urls: typeof URLS = URLS) => expectExactUrls(pem, urls, 'pkim.example.net');

async function writeEarly(mount: string, urls: typeof URLS = URLS): Promise<void> {
  const w = await vaultCall(f, 'POST', `${mount}/config/urls`, urls);
  expect(w.status, w.text).toBe(200);
  expect(w.body.data).toEqual(urls);
  expect((await vaultCall(f, 'GET', `${mount}/config/urls`)).body.data).toEqual(urls);
  const events = await f.authority.audit.list({ action: 'vault.urls_configured', target: mount, limit: 5 });
  expect(events.map((e) => e.details)).toEqual([{ ...urls, caId: null }]);
}

describe('config/urls on a mount without a CA', () => {
  it('is kept on the mount and becomes the root CA’s URLs at root/generate; its leaves carry them', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/early', { type: 'pki' });
    await writeEarly('early');
    // config/crl still needs the CA (it sets the CA's CRL and OCSP lifetimes)
    expect((await vaultCall(f, 'POST', 'early/config/crl', { expiry: '48h' })).status).toBe(400);

    const root = await vaultCall(f, 'POST', 'early/root/generate/internal', {
      common_name: 'Early Root',
      key_type: 'ec',
      issuer_name: 'early-root',
    });
    expect(root.status, root.text).toBe(200);
    // URLs were configured: no "hasn't configured any AIA" warning
    expect(root.body.warnings ?? []).toEqual([]);
    const ca = await f.authority.cas.get('early-root');
    expect(ca.ca.urls).toEqual({
      crlDistributionPoints: URLS.crl_distribution_points,
      ocspUrls: URLS.ocsp_servers,
      caIssuersUrls: URLS.issuing_certificates,
    });
    expect((await vaultCall(f, 'GET', 'early/config/urls')).body.data).toEqual(URLS);
    // kept on the mount: mount-wide (every issuer of the mount, one added later too: vault-urls-mount-wide)
    const mount = await f.authority.vault.mounts.requireMount('early');
    expect(mount.urls).toEqual(URLS);
    expect(mount.urlsWide).toBe(true);
    const bound = await f.authority.audit.list({ action: 'vault.mount_bound', target: 'early', limit: 5 });
    expect(bound.map((e) => e.details)).toEqual([{ caId: ca.ca.id, urls: ca.ca.urls }]);
    // the root itself carries them (OpenBao's root/generate embeds the mount's URLs), recorded in ca.created
    expectUrls(`${root.body.data.certificate}\n`);
    const created = await f.authority.audit.list({ action: 'ca.created', target: ca.ca.id });
    expect(created.map((e) => e.details.urls)).toEqual([ca.ca.urls]);

    await vaultCall(f, 'POST', 'early/roles/web', WEB_ROLE);
    const issued = await vaultCall(f, 'POST', 'early/issue/web', { common_name: 'www.example.com', ttl: '1h' });
    expect(issued.status, issued.text).toBe(200);
    const leaf = `${issued.body.data.certificate}\n`;
    expectUrls(leaf);
    const rootPem = `${root.body.data.certificate}\n`;
    for (const v of [
      opensslVerify({ leafPem: leaf, rootPem, purpose: 'sslserver' }),
      certtoolVerify({ leafPem: leaf, rootPem, purpose: 'serverAuth' }),
    ]) {
      expect(v.ok, v.output).toBe(true);
    }
    // a write after the binding is the CA's, as on any bound mount
    const later = await vaultCall(f, 'POST', 'early/config/urls', { ocsp_servers: [] });
    expect(later.status, later.text).toBe(200);
    expect((await f.authority.cas.get('early-root')).ca.urls?.ocspUrls).toEqual([]);
  });

  it('becomes the pending intermediate’s URLs at intermediate/generate; kept through set-signed', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/early-int', { type: 'pki' });
    await writeEarly('early-int', INT_URLS);
    const gen = await vaultCall(f, 'POST', 'early-int/intermediate/generate/internal', {
      common_name: 'Early Intermediate',
      key_type: 'ec',
      issuer_name: 'early-int',
    });
    expect(gen.status, gen.text).toBe(200);
    // URLs were configured: no "hasn't configured any AIA" warning (OpenBao's intermediate/generate)
    expect(gen.body.warnings ?? []).toEqual([]);
    expect((await vaultCall(f, 'GET', 'early-int/config/urls')).body.data).toEqual(INT_URLS);
    // signed by the root of the test above (mount `early`), set signed with it
    const signed = await vaultCall(f, 'POST', 'early/root/sign-intermediate', {
      csr: gen.body.data.csr,
      use_csr_values: true,
      ttl: '24h',
    });
    expect(signed.status, signed.text).toBe(200);
    // the intermediate's certificate carries its signer's URLs (mount early's, its OCSP URL emptied above), as
    // OpenBao's sign-intermediate
    expectUrls(`${signed.body.data.certificate}\n`, { ...URLS, ocsp_servers: [] });
    const set = await vaultCall(f, 'POST', 'early-int/intermediate/set-signed', {
      certificate: `${signed.body.data.certificate}\n${signed.body.data.issuing_ca}\n`,
    });
    expect(set.status, set.text).toBe(200);
    expect((await vaultCall(f, 'GET', 'early-int/config/urls')).body.data).toEqual(INT_URLS);

    await vaultCall(f, 'POST', 'early-int/roles/web', WEB_ROLE);
    const issued = await vaultCall(f, 'POST', 'early-int/issue/web', { common_name: 'api.example.com', ttl: '1h' });
    expect(issued.status, issued.text).toBe(200);
    const leaf = `${issued.body.data.certificate}\n`;
    expectUrls(leaf, INT_URLS);
    const chain = { chainPems: [`${signed.body.data.certificate}\n`], rootPem: `${signed.body.data.issuing_ca}\n` };
    for (const v of [
      opensslVerify({ leafPem: leaf, ...chain, purpose: 'sslserver' }),
      certtoolVerify({ leafPem: leaf, ...chain, purpose: 'serverAuth' }),
    ]) {
      expect(v.ok, v.output).toBe(true);
    }
  });

  it('refuses a bad URL with a 400, the mount unchanged and nothing audited', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/early-bad', { type: 'pki' });
    const before = await f.authority.vault.mounts.requireMount('early-bad');
    const r = await vaultCall(f, 'POST', 'early-bad/config/urls', { ocsp_servers: ['ftp://ocsp.example.org'] });
    expect(r.status).toBe(400);
    expect(r.body.errors[0]).toBe(
      'invalid URL found in Authority Information Access (AIA) parameter ocsp_servers: ftp://ocsp.example.org',
    );
    expect(await f.authority.vault.mounts.requireMount('early-bad')).toEqual(before);
    expect(await f.authority.audit.list({ action: 'vault.urls_configured', target: 'early-bad' })).toEqual([]);
  });
});
