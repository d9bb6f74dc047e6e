// A mount's config/urls and config/crl are applied, not only stored: certificates carry the configured CDP/AIA URLs
// (checked by openssl x509 -text), the mount's CRL has nextUpdate = thisUpdate + expiry (openssl crl) and OCSP
// responses for its CA have nextUpdate = thisUpdate + ocsp_expiry (openssl ocsp).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl } from '../../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslText } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ publicBaseUrl: 'http://pkim.example.net' });
  const r = await vaultCall(f, 'POST', 'pki/roles/web', { allowed_domains: 'example.com', allow_subdomains: true });
  expect(r.status, r.text).toBe(200);
}, 60_000);
afterAll(async () => f?.close());

async function issue(cn: string): Promise<{ pem: string; text: string }> {
  const r = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: cn });
  expect(r.status, r.text).toBe(200);
  return { pem: r.body.data.certificate, text: opensslText(`${r.body.data.certificate}\n`) };
}

const hours = (text: string, a: RegExp, b: RegExp) =>
  (Date.parse(a.exec(text)![1]!) - Date.parse(b.exec(text)![1]!)) / 3_600_000;

describe('Vault config/urls is applied to issued certificates', () => {
  it("uses the server's own relying-party URLs while the mount has none", async () => {
    const { text } = await issue('before.example.com');
    expect(text).toContain(`URI:http://pkim.example.net/crl/${f.caId}.crl`);
    expect(text).toContain('OCSP - URI:http://pkim.example.net/ocsp');
  });

  it('writes exactly the configured CDP, OCSP and CA issuers URLs once set, and leaves out empty ones', async () => {
    const w = await vaultCall(f, 'POST', 'pki/config/urls', {
      issuing_certificates: 'http://ca.example.org/issuing.crt',
      crl_distribution_points: ['http://crl.example.org/a.crl', 'http://crl2.example.org/a.crl'],
      ocsp_servers: 'http://ocsp.example.org',
    });
    expect(w.status, w.text).toBe(200);
    const { text } = await issue('after.example.com');
    expect(text).toContain('URI:http://crl.example.org/a.crl');
    expect(text).toContain('URI:http://crl2.example.org/a.crl');
    expect(text).toContain('OCSP - URI:http://ocsp.example.org');
    expect(text).toContain('CA Issuers - URI:http://ca.example.org/issuing.crt');
    expect(text).not.toContain('pkim.example.net');

    await vaultCall(f, 'POST', 'pki/config/urls', { ocsp_servers: '', issuing_certificates: '' });
    const only = await issue('cdp-only.example.com');
    expect(only.text).toContain('URI:http://crl.example.org/a.crl');
    expect(only.text).not.toContain('Authority Information Access');
    expect(only.text).not.toContain('pkim.example.net');

    // all cleared: back to the server's own URLs
    await vaultCall(f, 'POST', 'pki/config/urls', { crl_distribution_points: [] });
    expect((await issue('again.example.com')).text).toContain('OCSP - URI:http://pkim.example.net/ocsp');
  });
});

describe('Vault config/crl is applied to the CRL and OCSP responses of the mount CA', () => {
  it('CRL nextUpdate follows expiry, at once after the write', async () => {
    const before = await vaultCall(f, 'GET', 'pki/crl/pem', undefined, { token: null });
    const lastUpdate = /Last Update: (.+)/;
    const nextUpdate = /Next Update: (.+)/;
    const crlText = (pem: string) => openssl(['crl', '-in', '@c.pem', '-noout', '-text'], { 'c.pem': pem }).output;
    expect(hours(crlText(before.text), nextUpdate, lastUpdate)).toBe(24);

    const w = await vaultCall(f, 'POST', 'pki/config/crl', { expiry: '48h', ocsp_expiry: '30m' });
    expect(w.status, w.text).toBe(200);
    const res = await fetch(`${f.url}/v1/pki/crl`);
    expect(res.status).toBe(200);
    const der = new Uint8Array(await res.arrayBuffer());
    const v = opensslCrlVerify(der, f.intermediatePem);
    expect(v.ok, v.text).toBe(true);
    expect(hours(v.text, nextUpdate, lastUpdate)).toBe(48);
    // the relying-party CRL of the same CA says the same
    const rp = new Uint8Array(await (await fetch(`${f.url}/crl/${f.caId}.crl`)).arrayBuffer());
    expect(hours(opensslCrlVerify(rp, f.intermediatePem).text, nextUpdate, lastUpdate)).toBe(48);
  });

  it('OCSP nextUpdate follows ocsp_expiry', async () => {
    await vaultCall(f, 'POST', 'pki/config/crl', { ocsp_expiry: '30m' });
    const { pem } = await issue('ocsp.example.com');
    const dir = mkdtempSync(join(tmpdir(), 'pkim-ocsp-'));
    try {
      writeFileSync(join(dir, 'i.pem'), f.intermediatePem);
      writeFileSync(join(dir, 'c.pem'), `${pem}\n`);
      const q = spawnSync(
        'openssl',
        ['ocsp', '-issuer', 'i.pem', '-cert', 'c.pem', '-no_nonce', '-reqout', 'req.der'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      expect(q.status, q.stderr).toBe(0);
      const res = await fetch(`${f.url}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: readFileSync(join(dir, 'req.der')),
      });
      writeFileSync(join(dir, 'resp.der'), new Uint8Array(await res.arrayBuffer()));
      writeFileSync(join(dir, 'ca.pem'), f.rootPem);
      const r = spawnSync(
        'openssl',
        ['ocsp', '-respin', 'resp.der', '-issuer', 'i.pem', '-CAfile', 'ca.pem', '-resp_text', '-no_nonce'],
        { cwd: dir, encoding: 'utf8' },
      );
      const text = `${r.stdout}${r.stderr}`;
      expect(text, text).toContain('Response verify OK');
      expect(hours(text, /Next Update: (.+)/, /This Update: (.+)/)).toBe(0.5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
