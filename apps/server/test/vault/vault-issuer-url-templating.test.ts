// `issuer/:ref` with `enable_aia_url_templating` (OpenBao's per-issuer AIA templating): the issuer's own
// `issuing_certificates`, `crl_distribution_points`, `ocsp_servers` with `{{cluster_path}}`, `{{cluster_aia_path}}`,
// `{{issuer_id}}` expanded (the mount-wide expansion of config/urls, vault-url-templating.test.ts) into that issuer's
// leaves (openssl x509 -text, exactly; each leaf verified by openssl under its root), the entry reading back the
// templates; the other issuer keeps the mount's URLs; config/cluster moves them. Refusals as OpenBao's (a template
// without the flag, a cluster value not written, a placeholder it does not know) change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { expectExactUrls, openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ publicBaseUrl: 'http://pkim.example.net' });
}, 60_000);
afterAll(async () => f?.close());

const CLUSTER = 'https://pr1.bao.example.com:8200/v1/itp';
const AIA = 'http://crl.example.org/pr1/itp';
const TEMPLATES = {
  issuing_certificates: '{{cluster_path}}/issuer/{{issuer_id}}/der',
  crl_distribution_points: '{{cluster_aia_path}}/issuer/{{issuer_id}}/crl/der',
  ocsp_servers: '{{cluster_path}}/ocsp',
};
const expanded = (cluster: string, aia: string, id: string) => ({
  issuing_certificates: [`${cluster}/issuer/${id}/der`],
  crl_distribution_points: [`${aia}/issuer/${id}/crl/der`],
  ocsp_servers: [`${cluster}/ocsp`],
});
const MOUNT_URLS = {
  issuing_certificates: ['http://ca.example.org/itp.crt'],
  crl_distribution_points: ['http://crl.example.org/itp.crl'],
  ocsp_servers: ['http://ocsp.example.org/itp'],
};

const roots: Record<string, { id: string; pem: string }> = {};

async function leafOf(name: string): Promise<string> {
  const r = await vaultCall(f, 'POST', `itp/issuer/${name}/issue/web`, { common_name: `${name}.example.com` });
  expect(r.status, r.text).toBe(200);
  const pem = `${r.body.data.certificate}\n`;
  const v = opensslVerify({ leafPem: pem, rootPem: roots[name]!.pem, purpose: 'sslserver' });
  expect(v.ok, v.output).toBe(true);
  return pem;
}

describe('issuer/:ref enable_aia_url_templating', () => {
  it("expands the issuer's own templates into its leaves; refusals as OpenBao's change nothing", async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/itp', { type: 'pki' })).status).toBe(204);
    expect((await vaultCall(f, 'POST', 'itp/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);
    for (const name of ['itp-a', 'itp-b']) {
      const r = await vaultCall(f, 'POST', 'itp/root/generate/internal', {
        common_name: `ITP ${name}`,
        key_type: 'ec',
        issuer_name: name,
      });
      expect(r.status, r.text).toBe(200);
      roots[name] = { id: r.body.data.issuer_id, pem: `${r.body.data.certificate}\n` };
    }
    expect((await vaultCall(f, 'POST', 'itp/config/urls', MOUNT_URLS)).status).toBe(200);
    const before = (await vaultCall(f, 'GET', 'itp/issuer/itp-a')).body.data;
    expect(before).toMatchObject({ ...MOUNT_URLS, enable_aia_url_templating: false });

    const refusals: [Record<string, unknown>, string][] = [
      // templating on, config/cluster not written: OpenBao's toURLEntries error
      [
        { ...TEMPLATES, enable_aia_url_templating: true },
        'unable to template AIA URLs as we lack local cluster address information (path)',
      ],
      // a template without the flag: an invalid URL, OpenBao's message
      [
        TEMPLATES,
        'invalid URL found in Authority Information Access (AIA) parameter issuing_certificates: ' +
          TEMPLATES.issuing_certificates,
      ],
      [
        { ocsp_servers: 'http://ocsp.example.org/{{issuer_name}}', enable_aia_url_templating: true },
        'error validating templated ocsp_servers; invalid URI: http://ocsp.example.org/{{issuer_name}}',
      ],
    ];
    for (const [body, message] of refusals) {
      const r = await vaultCall(f, 'POST', 'itp/issuer/itp-a', body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors).toEqual([message]);
      expect((await vaultCall(f, 'GET', 'itp/issuer/itp-a')).body.data).toEqual(before);
    }
    expect((await vaultCall(f, 'POST', 'itp/config/cluster', { path: CLUSTER, aia_path: AIA })).status).toBe(200);
    // a placeholder OpenBao does not know is refused with templating on too, once the cluster values are there
    const unknown = await vaultCall(f, 'PATCH', 'itp/issuer/itp-a', {
      ...TEMPLATES,
      ocsp_servers: '{{cluster_path}}/{{issuer_name}}',
      enable_aia_url_templating: true,
    });
    expect(unknown.status, unknown.text).toBe(400);
    expect(unknown.body.errors).toEqual([
      `error validating templated ocsp_servers; invalid URI: ${CLUSTER}/{{issuer_name}}`,
    ]);

    const w = await vaultCall(f, 'POST', 'itp/issuer/itp-a', { ...TEMPLATES, enable_aia_url_templating: true });
    expect(w.status, w.text).toBe(200);
    const templated = {
      issuing_certificates: [TEMPLATES.issuing_certificates],
      crl_distribution_points: [TEMPLATES.crl_distribution_points],
      ocsp_servers: [TEMPLATES.ocsp_servers],
      enable_aia_url_templating: true,
    };
    expect(w.body.data).toMatchObject(templated);
    expect((await vaultCall(f, 'GET', 'itp/issuer/itp-a')).body.data).toMatchObject(templated);
    expectExactUrls(await leafOf('itp-a'), expanded(CLUSTER, AIA, roots['itp-a']!.id), 'pkim.example.net');
    // the other issuer keeps the mount's URLs
    expectExactUrls(await leafOf('itp-b'), MOUNT_URLS, 'pkim.example.net');

    // config/urls leaves the issuer's own alone; config/cluster moves them
    const other = { ...MOUNT_URLS, ocsp_servers: ['http://ocsp.example.org/itp2'] };
    expect((await vaultCall(f, 'POST', 'itp/config/urls', other)).status).toBe(200);
    const AIA2 = 'http://crl.example.org/pr2/itp';
    expect((await vaultCall(f, 'POST', 'itp/config/cluster', { aia_path: AIA2 })).status).toBe(200);
    expectExactUrls(await leafOf('itp-a'), expanded(CLUSTER, AIA2, roots['itp-a']!.id), 'pkim.example.net');
    expectExactUrls(await leafOf('itp-b'), other, 'pkim.example.net');
    // a write without the flag keeps it (PATCH); templating off with plain URLs: those
    const kept = await vaultCall(f, 'PATCH', 'itp/issuer/itp-a', { ocsp_servers: '{{cluster_path}}/ocsp2' });
    expect(kept.status, kept.text).toBe(200);
    expect(kept.body.data).toMatchObject({ ocsp_servers: ['{{cluster_path}}/ocsp2'], enable_aia_url_templating: true });
    const plain = {
      issuing_certificates: ['http://ca.example.org/a.crt'],
      crl_distribution_points: ['http://crl.example.org/a.crl'],
      ocsp_servers: ['http://ocsp.example.org/a'],
    };
    const off = await vaultCall(f, 'POST', 'itp/issuer/itp-a', { ...plain, enable_aia_url_templating: false });
    expect(off.status, off.text).toBe(200);
    expect(off.body.data).toMatchObject({ ...plain, enable_aia_url_templating: false });
    expectExactUrls(await leafOf('itp-a'), plain, 'pkim.example.net');
    // all three empty: it follows config/urls again
    const back = await vaultCall(f, 'POST', 'itp/issuer/itp-a', {
      issuing_certificates: [],
      crl_distribution_points: [],
      ocsp_servers: [],
    });
    expect(back.status, back.text).toBe(200);
    expectExactUrls(await leafOf('itp-a'), other, 'pkim.example.net');
  });
});
