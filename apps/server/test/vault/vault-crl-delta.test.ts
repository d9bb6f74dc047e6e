// The delta CRL paths Vault clients read (`crl/delta`, `crl/delta/pem`, `issuer/:ref/crl/delta`, `/pem`, `/der`)
// with delta CRLs off (`config/crl` `enable_delta` false, the default; on: vault-crl-delta-enabled.test.ts): they
// answer as OpenBao does with delta CRLs off — the raw forms 204 with no body, the JSON form `{"crl": ""}` —
// without a token; an unknown issuer as `issuer/:ref/crl` answers it. The full CRL beside them (openssl, certtool,
// Go) names no delta (no Freshest CRL, no Delta CRL Indicator): nothing points a relying party at the empty paths.
// node-vault reads the JSON form.
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

describe('delta CRL paths', () => {
  it('answer empty (204 raw, {"crl": ""} JSON) without a token; the full CRL names no delta', async () => {
    for (const path of ['pki/crl/delta', 'pki/crl/delta/pem', 'pki/issuer/default/crl/delta/pem']) {
      const r = await vaultCall(f, 'GET', path, undefined, { token: null });
      expect(r.status, `${path}: ${r.text}`).toBe(204);
      expect(r.text).toBe('');
    }
    const der = await vaultCall(f, 'GET', 'pki/issuer/default/crl/delta/der', undefined, { token: null });
    expect(der.status, der.text).toBe(204);
    expect(der.text).toBe('');
    const issuerId = (await vaultCall(f, 'GET', 'pki/issuer/default/json')).body.data.issuer_id as string;
    for (const ref of ['default', issuerId]) {
      const j = await vaultCall(f, 'GET', `pki/issuer/${ref}/crl/delta`, undefined, { token: null });
      expect(j.status, j.text).toBe(200);
      expect(j.body.data).toEqual({ crl: '' });
    }
    // an issuer the mount does not have: as its full CRL's path answers
    const full = await vaultCall(f, 'GET', 'pki/issuer/nosuch/crl');
    for (const form of ['', '/pem', '/der']) {
      const r = await vaultCall(f, 'GET', `pki/issuer/nosuch/crl/delta${form}`);
      expect([r.status, r.body], form).toEqual([full.status, full.body]);
    }

    // the full CRL checked by openssl, certtool and Go: no delta CRL named
    const crl = new Uint8Array(await (await fetch(`${f.url}/v1/pki/crl`)).arrayBuffer());
    const o = opensslCrlVerify(crl, f.intermediatePem);
    expect(o.ok, o.text).toBe(true);
    expect(o.text).not.toMatch(/Freshest CRL|Delta CRL Indicator/);
    expect((await vaultCall(f, 'GET', 'pki/issuer/default/crl')).body.data.crl).toMatch(/^-----BEGIN X509 CRL-----/);

    const v = nodeVault({ endpoint: f.url, token: f.token });
    expect((await v.read('pki/issuer/default/crl/delta')).data).toEqual({ crl: '' });
  });
});
