// Delta CRLs (OpenBao's `config/crl` `enable_delta` with `auto_rebuild`): the complete CRL is the base — kept until its
// auto-rebuild grace period, not re-signed at each revocation — and names the delta's URLs (`config/urls`
// `delta_crl_distribution_points`) in its Freshest CRL extension; `crl/delta` (+ `/pem`, `/der`) and
// `issuer/:ref/crl/delta…` serve a delta CRL whose Delta CRL Indicator is the base's CRL number and which lists only
// what was revoked after the base (RFC 5280 §5.2.4). openssl, certtool and Go read both; `openssl verify -crl_check
// -use_deltas` with base + delta sees a certificate revoked after the base as revoked. OpenBao's refusals of
// `config/crl` change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import {
  crlNumberOf,
  issueWebLeaf,
  crlPemOf,
  openVaultFixture,
  vaultCall,
  vaultRaw,
  verifyLeafWithCrls,
  WEB_ROLE,
  type VaultFixture,
  enableDeltaCrl,
} from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: WEB_ROLE } });
}, 60_000);
afterAll(async () => f?.close());

const DELTA_URL = 'http://crl.example.org/pki/delta.crl';

const der = (path: string) => vaultRaw(f, path);
const leaf = (name: string) => issueWebLeaf(f, name);

const pemOf = crlPemOf;
const verifyWith = (leafPem: string, crls: Uint8Array[], useDeltas: boolean) =>
  verifyLeafWithCrls(f, leafPem, crls, useDeltas);

describe('delta CRLs', () => {
  it("refuses OpenBao's bad config/crl combinations, changing nothing", async () => {
    const before = (await vaultCall(f, 'GET', 'pki/config/crl')).body.data;
    for (const [body, message] of [
      [
        { enable_delta: true },
        'Delta CRLs cannot be enabled when auto rebuilding is disabled as the complete CRL is always regenerated!',
      ],
      [
        { enable_delta: true, auto_rebuild: true, delta_rebuild_interval: '72h', expiry: '72h' },
        'CRL delta rebuild window (72h) must be strictly shorter than CRL expiry (72h) value when delta CRLs are ' +
          'enabled',
      ],
      [
        { auto_rebuild: true, auto_rebuild_grace_period: '96h', expiry: '72h' },
        'CRL auto-rebuilding grace period (96h) must be strictly shorter than CRL expiry (72h) value when ' +
          'auto-rebuilding of CRLs is enabled',
      ],
    ] as const) {
      const r = await vaultCall(f, 'POST', 'pki/config/crl', body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors).toEqual([message]);
      expect((await vaultCall(f, 'GET', 'pki/config/crl')).body.data).toEqual(before);
    }
  });

  it('serves a delta of what was revoked after the base; openssl -use_deltas sees it revoked', async () => {
    const urls = await vaultCall(f, 'POST', 'pki/config/urls', {
      crl_distribution_points: 'http://crl.example.org/pki/full.crl',
      delta_crl_distribution_points: DELTA_URL,
    });
    expect(urls.status, urls.text).toBe(200);
    expect((await vaultCall(f, 'GET', 'pki/config/urls')).body.data.delta_crl_distribution_points).toEqual([DELTA_URL]);
    await enableDeltaCrl(f);
    expect((await vaultCall(f, 'GET', 'pki/config/crl')).body.data).toMatchObject({
      auto_rebuild: true,
      enable_delta: true,
      delta_rebuild_interval: '15m',
    });

    const early = await leaf('early');
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: early.serial })).status).toBe(200);
    // the base: lists the first revocation, names the delta CRL (Freshest CRL)
    const base = await der('pki/crl');
    const b = opensslCrlVerify(base, f.intermediatePem);
    expect(b.ok, b.text).toBe(true);
    expect(b.text).toMatch(/Freshest CRL:[\s\S]*URI:http:\/\/crl\.example\.org\/pki\/delta\.crl/);
    expect(b.text).not.toContain('Delta CRL Indicator');
    const early_ = early.serial.replaceAll(':', '').toUpperCase();
    expect(b.text).toContain(early_);
    const baseNumber = crlNumberOf(b.text);

    const late = await leaf('late');
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: late.serial })).status).toBe(200);
    const late_ = late.serial.replaceAll(':', '').toUpperCase();
    // the complete CRL is the base until its grace period: not re-signed for the revocation
    expect(Buffer.from(await der('pki/crl')).equals(Buffer.from(base))).toBe(true);
    const delta = await der('pki/crl/delta');
    const d = opensslCrlVerify(delta, f.intermediatePem);
    expect(d.ok, d.text).toBe(true);
    expect(d.text).toMatch(new RegExp(`X509v3 Delta CRL Indicator: critical\\s*\\n\\s*${baseNumber}\\b`));
    expect(crlNumberOf(d.text)).toBeGreaterThan(baseNumber);
    expect(d.text).toContain(late_);
    expect(d.text).not.toContain(early_);
    expect([...d.go.entries.keys()]).toEqual([BigInt(`0x${late.serial.replaceAll(':', '')}`).toString(16)]);
    // the same delta by its other paths
    expect(Buffer.from(await der('pki/issuer/default/crl/delta/der')).equals(Buffer.from(delta))).toBe(true);
    const pem = await vaultCall(f, 'GET', 'pki/crl/delta/pem', undefined, { token: null });
    expect(pem.text.replace(/\s/g, '')).toBe(pemOf(delta).replace(/\s/g, ''));
    const json = await vaultCall(f, 'GET', `pki/issuer/${f.caId}/crl/delta`, undefined, { token: null });
    expect(json.body.data.crl.replace(/\s/g, '')).toBe(pemOf(delta).replace(/\s/g, ''));

    // a relying party with the base alone sees the late certificate valid, with base + delta revoked
    const alone = verifyWith(late.pem, [base], false);
    expect(alone.ok, alone.output).toBe(true);
    const both = verifyWith(late.pem, [base, delta], true);
    expect(both.ok, both.output).toBe(false);
    expect(both.output).toMatch(/certificate revoked/);
    const first = verifyWith(early.pem, [delta, base], true);
    expect(first.output).toMatch(/certificate revoked/);
    // the delta alone is no complete CRL to openssl
    const deltaAlone = verifyWith(late.pem, [delta], true);
    expect(deltaAlone.output).toMatch(/unable to get certificate CRL/);
    const good = await leaf('good');
    const fine = verifyWith(good.pem, [base, delta], true);
    expect(fine.ok, fine.output).toBe(true);

    // audited as the other CRLs
    const events = await f.authority.audit.list({ action: 'crl.generated', target: f.caId });
    expect(events.some((e) => e.details.deltaCrlBase === baseNumber)).toBe(true);
  });

  it("applies config/crl to an issuer added after it: its CRL's lifetime and its delta CRLs", async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/dm', { type: 'pki' })).status).toBe(204);
    const root = async (name: string) => {
      const r = await vaultCall(f, 'POST', 'dm/root/generate/internal', {
        common_name: `DM ${name}`,
        key_type: 'ec',
        issuer_name: name,
      });
      expect(r.status, r.text).toBe(200);
      return `${r.body.data.certificate}\n`;
    };
    await root('dm-a');
    const cfg = { auto_rebuild: true, enable_delta: true, expiry: '48h', auto_rebuild_grace_period: '1h' };
    expect((await vaultCall(f, 'POST', 'dm/config/crl', cfg)).status).toBe(200);
    const later = await root('dm-b');
    const full = opensslCrlVerify(await der('dm/issuer/dm-b/crl/der'), later);
    expect(full.ok, full.text).toBe(true);
    const times = (t: string) =>
      [/Last Update: (.+)/, /Next Update: (.+)/].map((re) => Date.parse(re.exec(t)![1]!.trim()));
    const [last, next] = times(full.text);
    expect(next! - last!).toBe(48 * 3_600_000);
    const delta = opensslCrlVerify(await der('dm/issuer/dm-b/crl/delta/der'), later);
    expect(delta.ok, delta.text).toBe(true);
    expect(delta.text).toMatch(new RegExp(`Delta CRL Indicator: critical\\s*\\n\\s*${crlNumberOf(full.text)}\\b`));
  });
});
