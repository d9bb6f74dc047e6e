// Per-CA relying-party URLs stored in the database (issue #11 item 2): `pkim ca set-urls` (and the API, and Vault's
// config/urls — one setting) decide the CRL/OCSP/CA-issuer URLs of every certificate the CA issues afterwards,
// whichever process signs it; PKIM_PUBLIC_URL is only the default of new CAs; a CA without URLs warns once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { runPkimAsync } from '../../../tests/support/cli-runner';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { ACTORS } from './server-test-support';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault/vault-test-support';

const SERVER_DEFAULT = 'http://server-default.example';
const BASE = 'https://pki.example.test';

describe('per-CA URLs: set once, used by every process that signs for the CA', () => {
  let f: VaultFixture;
  const work = tempDir('pkim-ca-urls-');
  // the CLI: another process on the same data dir, without PKIM_PUBLIC_URL
  const pkim = (...args: string[]) => runPkimAsync(args, { dataDir: f.fx.dataDir, env: { PKIM_PUBLIC_URL: '' } });

  beforeAll(async () => {
    f = await openVaultFixture({ publicBaseUrl: SERVER_DEFAULT });
  }, 60_000);
  afterAll(async () => {
    await f?.close();
    work.cleanup();
  });

  const restSign = async (cn: string) => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
    const r = await fetch(`${f.url}/api/v1/cas/${f.caId}/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csr: csrPem, profile: 'tls-server', ttl: '1d' }),
    });
    expect(r.status).toBe(201);
    return ((await r.json()) as { certificatePem: string }).certificatePem;
  };
  const cliIssue = async (cn: string) => {
    const r = await pkim('cert', 'issue', '--ca', f.caId, '--cn', cn, '--ttl', '1d', '--json');
    expect(r.code, r.stderr).toBe(0);
    return { pem: r.json<{ certificatePem: string }>().certificatePem, stderr: r.stderr };
  };
  const expectUrls = (pem: string, base: string) => {
    const text = opensslText(pem);
    expect(text).toContain(`URI:${base}/crl/${f.caId}.crl`);
    expect(text).toContain(`OCSP - URI:${base}/ocsp`);
    expect(text).toContain(`CA Issuers - URI:${base}/aia/${f.caId}.crt`);
    const v = opensslVerify({ leafPem: pem, chainPems: [f.intermediatePem], rootPem: f.rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    return text;
  };

  it('PKIM_PUBLIC_URL is the default of a new CA: stored, so the CLI (without it) uses it too', async () => {
    const ca = await pkim('ca', 'show', f.caId, '--json');
    expect(ca.json<{ urls: unknown }>().urls).toEqual({
      base: SERVER_DEFAULT,
      crlDistributionPoints: [`${SERVER_DEFAULT}/crl/${f.caId}.crl`],
      ocspUrls: [`${SERVER_DEFAULT}/ocsp`],
      caIssuersUrls: [`${SERVER_DEFAULT}/aia/${f.caId}.crt`],
    });
    expectUrls((await cliIssue('cli-default.example.com')).pem, SERVER_DEFAULT);
    expectUrls(await restSign('server-default.example.com'), SERVER_DEFAULT);
  });

  it('pkim ca set-urls --base: what the server and the CLI issue afterwards carries them', async () => {
    const set = await pkim('ca', 'set-urls', 'Vault Test Issuing', '--base', `${BASE}/`, '--json');
    expect(set.code, set.stderr).toBe(0);
    expect(set.json<{ urls: { base: string } }>().urls.base).toBe(BASE);
    const server = expectUrls(await restSign('server.example.com'), BASE);
    expect(server).not.toContain(SERVER_DEFAULT);
    const cli = expectUrls((await cliIssue('cli.example.com')).pem, BASE);
    expect(cli).not.toContain(SERVER_DEFAULT);
  });

  it("Vault's config/urls reads and writes the same per-CA setting", async () => {
    const read = await vaultCall(f, 'GET', 'pki/config/urls');
    expect(read.status, read.text).toBe(200);
    expect(read.body.data).toMatchObject({
      crl_distribution_points: [`${BASE}/crl/${f.caId}.crl`],
      ocsp_servers: [`${BASE}/ocsp`],
      issuing_certificates: [`${BASE}/aia/${f.caId}.crt`],
    });
    const w = await vaultCall(f, 'POST', 'pki/config/urls', { ocsp_servers: 'http://ocsp.vault.example' });
    expect(w.status, w.text).toBe(200);
    // the CA (as the CLI, REST and tRPC see it) changed, and the CLI's next certificate follows
    const caUrls = (await pkim('ca', 'show', f.caId, '--json')).json<{ urls: { ocspUrls: string[] } }>().urls;
    expect(caUrls.ocspUrls).toEqual(['http://ocsp.vault.example']);
    const text = opensslText((await cliIssue('after-vault.example.com')).pem);
    expect(text).toContain('OCSP - URI:http://ocsp.vault.example');
    expect(text).toContain(`URI:${BASE}/crl/${f.caId}.crl`);
  });

  it('the API sets them too (REST PUT /api/v1/cas/:ca/urls, tRPC ca.setUrls) and refuses a non-http URL', async () => {
    const bad = await fetch(`${f.url}/api/v1/cas/${f.caId}/urls`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ base: 'ftp://nope.example' }),
    });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${f.url}/api/v1/cas/${f.caId}/urls`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ base: 'https://rest.example.test' }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { urls: { base: string } }).urls.base).toBe('https://rest.example.test');
    expectUrls((await cliIssue('after-rest.example.com')).pem, 'https://rest.example.test');
  });

  it('a CA without any URL warns once per process; --clear leaves the extensions out', async () => {
    const cleared = await pkim('ca', 'set-urls', f.caId, '--clear', '--json');
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.json<{ urls: unknown }>().urls).toBeNull();
    // null: the CLI (no PKIM_PUBLIC_URL) has nothing to fall back on → no CDP, a warning on stderr
    const first = await cliIssue('bare.example.com');
    expect(opensslText(first.pem)).not.toContain('CRL Distribution Points');
    expect(first.stderr).toMatch(/^warning: CA 'Vault Test Issuing' has no CRL or OCSP URL.*pkim ca set-urls/m);
    // in one process: once
    await f.authority.cas.setUrls(f.caId, { crlDistributionPoints: [], ocspUrls: [], caIssuersUrls: [] }, ACTORS.admin);
    const issue = (cn: string) =>
      f.authority.issuance.issueWithKey(
        { caId: f.caId, profile: 'tls-server', subject: `CN=${cn}`, sans: { dns: [cn] }, keyType: 'ec-p256' },
        ACTORS.admin,
      );
    const a = await issue('once-a.example.com');
    const b = await issue('once-b.example.com');
    expect(a.warnings).toHaveLength(1);
    expect(b.warnings).toBeUndefined();
    expect(opensslText(a.certificatePem)).not.toContain('Authority Information Access');
  });
});
