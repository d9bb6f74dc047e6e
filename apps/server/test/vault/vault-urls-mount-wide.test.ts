// `config/urls` is mount-wide, as OpenBao's: every issuer of the mount — the default, another, one added later —
// issues leaves carrying those URLs (openssl x509 -text, exactly; each leaf verified by openssl under its own root),
// and an issuer added later embeds them in its own root. `issuer/:ref` POST/PATCH of `issuing_certificates`,
// `crl_distribution_points`, `ocsp_servers` gives that issuer URLs of its own (OpenBao's per-issuer AIA URLs), which a
// later `config/urls` write leaves alone; all three empty, it follows the mount again. A bad URL changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalsOf } from '@pkim/authority/internals';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { expectExactUrls, openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ publicBaseUrl: 'http://pkim.example.net' });
}, 60_000);
afterAll(async () => f?.close());

interface Urls {
  issuing_certificates: string[];
  crl_distribution_points: string[];
  ocsp_servers: string[];
}

const WIDE: Urls = {
  issuing_certificates: ['http://ca.example.org/wide.crt'],
  crl_distribution_points: ['http://crl.example.org/wide.crl'],
  ocsp_servers: ['http://ocsp.example.org/wide'],
};

const expectUrls = (pem: string, urls: Urls) => expectExactUrls(pem, urls, 'pkim.example.net');

const roots: Record<string, string> = {};

async function root(name: string): Promise<void> {
  const r = await vaultCall(f, 'POST', 'uw/root/generate/internal', {
    common_name: `UW ${name}`,
    key_type: 'ec',
    issuer_name: name,
  });
  expect(r.status, r.text).toBe(200);
  roots[name] = `${r.body.data.certificate}\n`;
}

/** a leaf of issuer `name`, checked under its root and for the URLs it carries */
async function leafOf(name: string, urls: Urls): Promise<void> {
  const r = await vaultCall(f, 'POST', `uw/issuer/${name}/issue/web`, { common_name: `${name}.example.com` });
  expect(r.status, r.text).toBe(200);
  const pem = `${r.body.data.certificate}\n`;
  const v = opensslVerify({ leafPem: pem, rootPem: roots[name]!, purpose: 'sslserver' });
  expect(v.ok, v.output).toBe(true);
  expectUrls(pem, urls);
}

describe('config/urls on a mount with several issuers', () => {
  it('applies to every issuer, one added later too; an issuer may have its own', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/uw', { type: 'pki' })).status).toBe(204);
    await root('uw-a');
    await root('uw-b');
    expect((await vaultCall(f, 'GET', 'uw/config/issuers')).body.data.default).not.toBe('');
    expect((await vaultCall(f, 'POST', 'uw/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);

    const w = await vaultCall(f, 'POST', 'uw/config/urls', WIDE);
    expect(w.status, w.text).toBe(200);
    expect(w.body.data).toEqual({ ...WIDE, enable_templating: false, delta_crl_distribution_points: [] });
    expect((await vaultCall(f, 'GET', 'uw/config/urls')).body.data).toEqual({
      ...WIDE,
      enable_templating: false,
      delta_crl_distribution_points: [],
    });
    // the default issuer's leaves and the other issuer's
    await leafOf('uw-a', WIDE);
    await leafOf('uw-b', WIDE);

    // an issuer added later: its own root carries them (as OpenBao embeds the mount's), and its leaves
    await root('uw-c');
    expectUrls(roots['uw-c']!, WIDE);
    await leafOf('uw-c', WIDE);

    // uw-b's own CRL distribution point; the fields not given keep the entry's
    const own = { ...WIDE, crl_distribution_points: ['http://crl.example.org/b.crl'] };
    const p = await vaultCall(f, 'PATCH', 'uw/issuer/uw-b', {
      crl_distribution_points: own.crl_distribution_points,
    });
    expect(p.status, p.text).toBe(200);
    expect(p.body.data.crl_distribution_points).toEqual(own.crl_distribution_points);
    expect(p.body.data.issuing_certificates).toEqual(WIDE.issuing_certificates);
    await leafOf('uw-b', own);

    // a later config/urls write: every issuer but uw-b
    const wide2 = { ...WIDE, ocsp_servers: ['http://ocsp.example.org/wide2'] };
    expect((await vaultCall(f, 'POST', 'uw/config/urls', { ocsp_servers: wide2.ocsp_servers })).status).toBe(200);
    expect((await vaultCall(f, 'GET', 'uw/config/urls')).body.data).toEqual({
      ...wide2,
      enable_templating: false,
      delta_crl_distribution_points: [],
    });
    await leafOf('uw-a', wide2);
    await leafOf('uw-c', wide2);
    await leafOf('uw-b', own);
    expect((await vaultCall(f, 'GET', 'uw/issuer/uw-b')).body.data.ocsp_servers).toEqual(WIDE.ocsp_servers);

    // a bad URL: 400, nothing changed
    const bad = await vaultCall(f, 'POST', 'uw/issuer/uw-b', { ocsp_servers: 'ldap://x.example.org' });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.errors[0]).toMatch(
      /^invalid URL found in Authority Information Access \(AIA\) parameter ocsp_servers: ldap:/,
    );
    await leafOf('uw-b', own);

    // all three empty: uw-b follows config/urls again
    const back = await vaultCall(f, 'POST', 'uw/issuer/uw-b', {
      issuing_certificates: [],
      crl_distribution_points: [],
      ocsp_servers: [],
    });
    expect(back.status, back.text).toBe(200);
    expect(back.body.data.ocsp_servers).toEqual(wide2.ocsp_servers);
    await leafOf('uw-b', wide2);
    const events = await f.authority.audit.list({ action: 'vault.urls_configured', target: 'uw', limit: 10 });
    // oldest first: config/urls (the issuers that took it), uw-b's own, config/urls again, back; the refusal none
    expect(events.map((e) => e.details.issuerOwn ?? (e.details.caIds as string[] | undefined)?.length)).toEqual([
      2,
      true,
      2,
      false,
    ]);

    // an issuer with URLs of its own deleted: the mount forgets it there too (its settings document)
    const c = await vaultCall(f, 'POST', 'uw/issuer/uw-c', { ocsp_servers: ['http://ocsp.example.org/c'] });
    expect(c.status, c.text).toBe(200);
    const mountDoc = async () =>
      JSON.parse((await internalsOf(f.authority).store.settings.listByPrefix('vault.mount.uw'))[0]!.value) as {
        ownUrlsIds?: string[];
      };
    expect((await mountDoc()).ownUrlsIds).toHaveLength(1);
    const revoked = await vaultCall(f, 'POST', 'uw/issuer/uw-c/revoke', {});
    expect(revoked.status, revoked.text).toBe(200);
    const del = await vaultCall(f, 'DELETE', 'uw/issuer/uw-c');
    expect(del.status, del.text).toBeLessThan(300);
    expect((await mountDoc()).ownUrlsIds).toBeUndefined();
  });
});
