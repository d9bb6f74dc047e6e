// `config/urls` with `enable_templating` (OpenBao's AIA templating): `{{cluster_path}}`, `{{cluster_aia_path}}` (the
// mount's `config/cluster`) and `{{issuer_id}}` (each issuer's id) expanded into each issuer's URLs, so its leaves
// carry them (openssl x509 -text, exactly; each leaf verified by openssl under its own root). A new root of the mount
// embeds none when they name `{{issuer_id}}` (OpenBao's warning), its leaves do. A later `config/cluster` write moves
// them. A template naming a cluster value not written is refused with OpenBao's error; with templating off a template
// is an invalid URL (OpenBao's message); refusals change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { expectExactUrls, openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ publicBaseUrl: 'http://pkim.example.net' });
}, 60_000);
afterAll(async () => f?.close());

const CLUSTER = 'https://pr1.bao.example.com:8200/v1/tp';
const AIA = 'http://crl.example.org/pr1/tp';
const TEMPLATES = {
  issuing_certificates: '{{cluster_path}}/issuer/{{issuer_id}}/der',
  crl_distribution_points: '{{cluster_aia_path}}/issuer/{{issuer_id}}/crl/der',
  ocsp_servers: '{{cluster_path}}/ocsp',
};
const expanded = (aia: string, id: string) => ({
  issuing_certificates: [`${CLUSTER}/issuer/${id}/der`],
  crl_distribution_points: [`${aia}/issuer/${id}/crl/der`],
  ocsp_servers: [`${CLUSTER}/ocsp`],
});

const roots: Record<string, { id: string; pem: string }> = {};

/** a leaf of issuer `name`, verified under its root; its text */
async function leafOf(name: string): Promise<string> {
  const r = await vaultCall(f, 'POST', `tp/issuer/${name}/issue/web`, { common_name: `${name}.example.com` });
  expect(r.status, r.text).toBe(200);
  const pem = `${r.body.data.certificate}\n`;
  const v = opensslVerify({ leafPem: pem, rootPem: roots[name]!.pem, purpose: 'sslserver' });
  expect(v.ok, v.output).toBe(true);
  return pem;
}

async function root(name: string, warnings: (string | RegExp)[]): Promise<void> {
  const r = await vaultCall(f, 'POST', 'tp/root/generate/internal', {
    common_name: `TP ${name}`,
    key_type: 'ec',
    issuer_name: name,
  });
  expect(r.status, r.text).toBe(200);
  for (const w of warnings)
    expect(r.body.warnings).toContainEqual(typeof w === 'string' ? w : expect.stringMatching(w));
  roots[name] = { id: r.body.data.issuer_id, pem: `${r.body.data.certificate}\n` };
}

describe('config/urls enable_templating', () => {
  it("expands the mount's cluster paths and each issuer's id into the URLs of its leaves", async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/tp', { type: 'pki' })).status).toBe(204);
    expect((await vaultCall(f, 'POST', 'tp/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);

    // a template naming a cluster value not written yet: OpenBao's error, nothing kept
    const early = await vaultCall(f, 'POST', 'tp/config/urls', { ...TEMPLATES, enable_templating: true });
    expect(early.status, early.text).toBe(400);
    expect(early.body.errors[0]).toMatch(
      /^unable to template AIA URLs as we lack local cluster address information \(path\)/,
    );
    expect((await vaultCall(f, 'POST', 'tp/config/cluster', { path: CLUSTER })).status).toBe(200);
    const noAia = await vaultCall(f, 'POST', 'tp/config/urls', { ...TEMPLATES, enable_templating: true });
    expect(noAia.body.errors[0]).toMatch(/lack local cluster address information \(aia_path\)/);
    expect((await vaultCall(f, 'GET', 'tp/config/urls')).body.data).toEqual({
      issuing_certificates: [],
      crl_distribution_points: [],
      ocsp_servers: [],
      enable_templating: false,
      delta_crl_distribution_points: [],
    });
    // templating off: a template is an invalid URL, as OpenBao says
    const off = await vaultCall(f, 'POST', 'tp/config/urls', TEMPLATES);
    expect(off.status, off.text).toBe(400);
    expect(off.body.errors[0]).toBe(
      'invalid URL found in Authority Information Access (AIA) parameter issuing_certificates: ' +
        TEMPLATES.issuing_certificates,
    );

    expect((await vaultCall(f, 'POST', 'tp/config/cluster', { aia_path: AIA })).status).toBe(200);
    const w = await vaultCall(f, 'POST', 'tp/config/urls', { ...TEMPLATES, enable_templating: true });
    expect(w.status, w.text).toBe(200);
    const read = await vaultCall(f, 'GET', 'tp/config/urls');
    expect(read.body.data).toEqual({
      issuing_certificates: [TEMPLATES.issuing_certificates],
      crl_distribution_points: [TEMPLATES.crl_distribution_points],
      ocsp_servers: [TEMPLATES.ocsp_servers],
      enable_templating: true,
      delta_crl_distribution_points: [],
    });

    // a root made now embeds no AIA ({{issuer_id}} has no value yet: OpenBao's warning); its leaves carry its id
    const ignored = /^When generating root CA, found global AIA configuration with issuer_id template unsuitable/;
    await root('tp-a', [ignored]);
    expect(opensslText(roots['tp-a']!.pem)).not.toMatch(/Authority Information Access|CRL Distribution/);
    expectExactUrls(await leafOf('tp-a'), expanded(AIA, roots['tp-a']!.id), 'pkim.example.net');
    // a second issuer: its own id
    await root('tp-b', [ignored]);
    expectExactUrls(await leafOf('tp-b'), expanded(AIA, roots['tp-b']!.id), 'pkim.example.net');
    expect(roots['tp-a']!.id).not.toBe(roots['tp-b']!.id);

    // config/cluster moves them for every issuer
    const AIA2 = 'http://crl.example.org/pr2/tp';
    expect((await vaultCall(f, 'POST', 'tp/config/cluster', { aia_path: AIA2 })).status).toBe(200);
    for (const name of ['tp-a', 'tp-b'])
      expectExactUrls(await leafOf(name), expanded(AIA2, roots[name]!.id), 'pkim.example.net');

    // a write without enable_templating keeps it on; an expansion that is no URL is refused, nothing changed
    const bad = await vaultCall(f, 'POST', 'tp/config/urls', { ocsp_servers: 'ocsp-{{issuer_id}}' });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.errors[0]).toMatch(/^error validating templated ocsp_servers; invalid URI: ocsp-ca_/);
    expect((await vaultCall(f, 'GET', 'tp/config/urls')).body.data).toEqual(read.body.data);
    // templating off again: plain URLs
    const plain = {
      issuing_certificates: 'http://ca.example.org/tp.crt',
      crl_distribution_points: 'http://crl.example.org/tp.crl',
      ocsp_servers: 'http://ocsp.example.org/tp',
    };
    const back = await vaultCall(f, 'POST', 'tp/config/urls', { ...plain, enable_templating: false });
    expect(back.status, back.text).toBe(200);
    expectExactUrls(
      await leafOf('tp-b'),
      {
        issuing_certificates: [plain.issuing_certificates],
        crl_distribution_points: [plain.crl_distribution_points],
        ocsp_servers: [plain.ocsp_servers],
      },
      'pkim.example.net',
    );
  });
});
