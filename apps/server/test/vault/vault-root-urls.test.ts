// A root made by `root/generate` embeds the mount's URLs as OpenBao's does (its mount-wide `config/urls`), never an
// issuer's own: on a mount whose default issuer has URLs of its own (`issuer/:ref` POST) or derived from a base
// (`pkim ca set-urls --base`: they name that CA's CRL and certificate), the new root carries none of them (openssl
// x509 -text reads no AIA or CRL distribution point, and OpenBao's no-AIA warning is given); once `config/urls` is
// written, a new root carries exactly those even while the default keeps its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslText } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import { expectExactUrls, openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ publicBaseUrl: 'http://pkim.example.net' });
}, 60_000);
afterAll(async () => f?.close());

const OWN = {
  issuing_certificates: ['http://ca.example.org/own.crt'],
  crl_distribution_points: ['http://crl.example.org/own.crl'],
  ocsp_servers: ['http://ocsp.example.org/own'],
};
const WIDE = {
  issuing_certificates: ['http://ca.example.org/wide.crt'],
  crl_distribution_points: ['http://crl.example.org/wide.crl'],
  ocsp_servers: ['http://ocsp.example.org/wide'],
};

async function root(mount: string, name: string): Promise<{ pem: string; id: string; warnings: string[] }> {
  const r = await vaultCall(f, 'POST', `${mount}/root/generate/internal`, {
    common_name: `RU ${name}`,
    key_type: 'ec',
    issuer_name: name,
  });
  expect(r.status, r.text).toBe(200);
  return { pem: `${r.body.data.certificate}\n`, id: r.body.data.issuer_id, warnings: r.body.warnings ?? [] };
}

/** openssl reads no AIA and no CRL distribution point in the certificate */
function expectNoUrls(pem: string): void {
  const text = opensslText(pem);
  expect(text).not.toContain('Authority Information Access');
  expect(text).not.toContain('CRL Distribution Points');
}

describe("root/generate embeds the mount's URLs, never the default issuer's own", () => {
  it('an issuer with URLs of its own (issuer/:ref POST): the next root carries none of them', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/ru1', { type: 'pki' })).status).toBe(204);
    await root('ru1', 'ru1-a');
    const own = await vaultCall(f, 'POST', 'ru1/issuer/ru1-a', OWN);
    expect(own.status, own.text).toBe(200);

    const b = await root('ru1', 'ru1-b');
    expectNoUrls(b.pem);
    expect(b.warnings.join('\n')).toMatch(/hasn't configured any authority information access/);
    // its CA's setting is not ru1-a's either: the server's default for a new CA, naming its own CRL
    const setting = (await f.authority.cas.get(b.id)).ca.urls;
    expect(setting?.base).toBe('http://pkim.example.net');
    expect(setting?.crlDistributionPoints).toEqual([`http://pkim.example.net/crl/${b.id}.crl`]);
  });

  it("URLs derived from a base (pkim ca set-urls --base): the next root names no other CA's CRL", async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/ru2', { type: 'pki' })).status).toBe(204);
    const a = await root('ru2', 'ru2-a');
    await f.authority.cas.setUrls(a.id, { base: 'http://pki.example.org' }, ACTORS.admin);

    const b = await root('ru2', 'ru2-b');
    expectNoUrls(b.pem);
    expect(opensslText(b.pem)).not.toContain(a.id);
  });

  it('config/urls written: a new root carries exactly those while the default keeps its own', async () => {
    const w = await vaultCall(f, 'POST', 'ru1/config/urls', WIDE);
    expect(w.status, w.text).toBe(200);
    const c = await root('ru1', 'ru1-c');
    expectExactUrls(c.pem, WIDE, 'pkim.example.net');
    expect((await vaultCall(f, 'GET', 'ru1/issuer/ru1-a')).body.data.ocsp_servers).toEqual(OWN.ocsp_servers);
  });
});
