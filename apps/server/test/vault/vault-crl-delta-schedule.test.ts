// `config/crl` `delta_rebuild_interval` as OpenBao schedules it: while a mount has delta CRLs on, the server re-signs
// its delta CRL on that interval when something was revoked since — without anyone asking for it — from one timer of
// the server's (apps/server delta-crl-schedule.ts): none while delta CRLs are off, stopped when the server closes. No
// timed assertion: a 1 s interval and polling the audit log for the scheduled delta's `crl.generated`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import {
  crlNumberOf,
  issueWebLeaf,
  openVaultFixture,
  vaultCall,
  vaultRaw,
  verifyLeafWithCrls,
  WEB_ROLE,
  type VaultFixture,
} from './vault-test-support';

let f: VaultFixture;
let closed = false;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: WEB_ROLE } });
}, 60_000);
afterAll(async () => (closed ? f?.fx.close() : f?.close()));

const der = (path: string) => vaultRaw(f, path);
const leaf = (name: string) => issueWebLeaf(f, name);

/** polls `probe` until it answers something (a bound on the wait, not a timed assertion) */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const deltaEvents = async (base: number) =>
  (await f.authority.audit.list({ action: 'crl.generated', target: f.caId })).filter(
    (e) => e.details.deltaCrlBase === base,
  );

const DELTA_ON = {
  auto_rebuild: true,
  enable_delta: true,
  expiry: '72h',
  auto_rebuild_grace_period: '12h',
  delta_rebuild_interval: '1s',
};

describe('delta CRLs rebuilt on delta_rebuild_interval', () => {
  it('keeps no timer while delta CRLs are off', async () => {
    const schedule = f.app.pkim.deltaCrls;
    const r = await vaultCall(f, 'POST', 'pki/config/crl', { expiry: '48h' });
    expect(r.status, r.text).toBe(200);
    // the write made the schedule look: no mount with delta CRLs on, so it leaves no timer behind
    await until('the schedule to settle', () => (schedule.armed() ? undefined : true));
  });

  it('re-signs the delta on its interval after a revocation, unasked; openssl -use_deltas sees it', async () => {
    // the base names its delta (Freshest CRL): openssl applies a delta only to a base (or certificate) that does
    const urls = await vaultCall(f, 'POST', 'pki/config/urls', {
      crl_distribution_points: 'http://crl.example.org/pki/full.crl',
      delta_crl_distribution_points: 'http://crl.example.org/pki/delta.crl',
    });
    expect(urls.status, urls.text).toBe(200);
    const cfg = await vaultCall(f, 'POST', 'pki/config/crl', DELTA_ON);
    expect(cfg.status, cfg.text).toBe(200);
    expect(f.app.pkim.deltaCrls.armed()).toBe(true);

    const early = await leaf('early');
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: early.serial })).status).toBe(200);
    const base = await der('pki/crl');
    const b = opensslCrlVerify(base, f.intermediatePem);
    expect(b.ok, b.text).toBe(true);
    const baseNumber = crlNumberOf(b.text);
    // the delta as it stands (the schedule may have made the base before the first revocation: then it lists it)
    const first = opensslCrlVerify(await der('pki/crl/delta'), f.intermediatePem);
    expect(first.ok, first.text).toBe(true);
    const firstNumber = crlNumberOf(first.text);
    const serialKey = (serial: string) => BigInt(`0x${serial.replaceAll(':', '')}`).toString(16);
    const inBase = b.go.entries.has(serialKey(early.serial));
    expect(first.go.entries.has(serialKey(early.serial))).toBe(!inBase);

    const late = await leaf('late');
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: late.serial })).status).toBe(200);
    // nobody asks for the delta: the schedule signs the next one (its `crl.generated` names the base)
    const scheduled = await until('the scheduled delta CRL', async () =>
      (await deltaEvents(baseNumber)).find((e) => Number(e.details.crlNumber) > firstNumber),
    );
    expect(scheduled.actor).toBe('system');

    // served as the schedule signed it (no request re-signed it), listing the late revocation only
    const delta = await der('pki/crl/delta');
    const d = opensslCrlVerify(delta, f.intermediatePem);
    expect(d.ok, d.text).toBe(true);
    expect(crlNumberOf(d.text)).toBe(Number(scheduled.details.crlNumber));
    expect(d.text).toMatch(new RegExp(`X509v3 Delta CRL Indicator: critical\\s*\\n\\s*${baseNumber}\\b`));
    const expected = [...(inBase ? [] : [early.serial]), late.serial].map(serialKey);
    expect([...d.go.entries.keys()].sort()).toEqual(expected.sort());
    // the complete CRL is still the base
    expect(Buffer.from(await der('pki/crl')).equals(Buffer.from(base))).toBe(true);

    const alone = verifyLeafWithCrls(f, late.pem, [base], false);
    expect(alone.ok, alone.output).toBe(true);
    const both = verifyLeafWithCrls(f, late.pem, [base, delta], true);
    expect(both.ok, both.output).toBe(false);
    expect(both.output).toMatch(/certificate revoked/);
    const earlyBoth = verifyLeafWithCrls(f, early.pem, [delta, base], true);
    expect(earlyBoth.output).toMatch(/certificate revoked/);
    const good = await leaf('good');
    const fine = verifyLeafWithCrls(f, good.pem, [base, delta], true);
    expect(fine.ok, fine.output).toBe(true);
  });

  it('drops its timer when delta CRLs go off, and stops with the server', async () => {
    const off = await vaultCall(f, 'POST', 'pki/config/crl', { enable_delta: false });
    expect(off.status, off.text).toBe(200);
    await until('the timer to go', () => (f.app.pkim.deltaCrls.armed() ? undefined : true));

    expect((await vaultCall(f, 'POST', 'pki/config/crl', DELTA_ON)).status).toBe(200);
    expect(f.app.pkim.deltaCrls.armed()).toBe(true);
    await f.app.close();
    closed = true;
    expect(f.app.pkim.deltaCrls.armed()).toBe(false);
  });
});
