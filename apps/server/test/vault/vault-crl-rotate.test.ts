// `crl/rotate` as OpenBao's: every issuer of the mount gets a new CRL (each signed by its own CA: openssl, certtool,
// Go; a new CRL number for each), not only the default one; `crl/rotate-delta` answers OpenBao's no-op (delta CRLs
// are not made here) with its warning; both need a token with `ca:write`. node-vault reads them too.
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const crlNumber = (text: string) => /CRL Number:\s*(\S+)/.exec(text)?.[1];

describe('crl/rotate on a mount with several issuers', () => {
  it('builds the CRL of every issuer again; crl/rotate-delta is a no-op with a warning', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/cr', { type: 'pki' })).status).toBe(204);
    const roots: Record<string, string> = {};
    for (const name of ['cr-a', 'cr-b']) {
      const r = await vaultCall(f, 'POST', 'cr/root/generate/internal', {
        common_name: `CR ${name}`,
        key_type: 'ec',
        issuer_name: name,
      });
      expect(r.status, r.text).toBe(200);
      roots[name] = `${r.body.data.certificate}\n`;
    }
    const crlOf = async (name: string) => {
      const der = new Uint8Array(await (await fetch(`${f.url}/v1/cr/issuer/${name}/crl/der`)).arrayBuffer());
      const v = opensslCrlVerify(der, roots[name]!);
      expect(v.ok, v.text).toBe(true);
      return crlNumber(v.text);
    };
    const before = { a: await crlOf('cr-a'), b: await crlOf('cr-b') };
    expect(before.a).toBeDefined();
    expect(before.b).toBeDefined();

    const rotated = await vaultCall(f, 'GET', 'cr/crl/rotate');
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.data).toEqual({ success: true });
    // the default issuer's and the other one's: each a new CRL
    expect(await crlOf('cr-a')).not.toBe(before.a);
    expect(await crlOf('cr-b')).not.toBe(before.b);

    const delta = await vaultCall(f, 'GET', 'cr/crl/rotate-delta');
    expect(delta.status, delta.text).toBe(200);
    expect(delta.body.data, delta.text).toEqual({ success: true });
    expect(delta.body.warnings).toEqual([
      'requested rebuild of delta CRL when delta CRL is not enabled; this is a no-op',
    ]);
    for (const path of ['cr/crl/rotate', 'cr/crl/rotate-delta']) {
      const anon = await vaultCall(f, 'GET', path, undefined, { token: null });
      expect(anon.status, `${path} ${anon.text}`).toBe(403);
    }

    const v = nodeVault({ endpoint: f.url, token: f.token });
    expect((await v.read('cr/crl/rotate')).data).toEqual({ success: true });
    expect((await v.read('cr/crl/rotate-delta')).warnings).toHaveLength(1);
  });
});
