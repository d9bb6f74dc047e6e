// Delta CRLs with two server instances on one database (SQLite; another process as the CLI or a second server is):
// the complete CRL one instance signs as the base is stored (crl_delta_bases, migration 0045), so the other serves
// that same base and signs its delta CRLs against it — `openssl verify -crl_check -use_deltas` takes one instance's
// base with the other's delta. A newer base (crl/rotate on either) is taken by the other at its next delta.
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import { listen } from '../server-test-support';
import {
  crlNumberOf,
  issueWebLeaf,
  openVaultFixture,
  vaultCall,
  vaultRaw,
  verifyLeafWithCrls,
  WEB_ROLE,
  type VaultFixture,
  enableDeltaCrl,
} from './vault-test-support';

let f: VaultFixture;
/** the second instance: its own authority (another connection to the database) and HTTP server */
let b: { app: FastifyInstance; url: string; token: string };
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: WEB_ROLE } });
  const app = await buildServer(await f.fx.openSecond(), { logger: false, rateLimit: false, backgroundJobs: false });
  b = { app, url: await listen(app), token: f.token };
}, 60_000);
afterAll(async () => {
  await b?.app.close();
  await f?.close();
});

/** a CRL as openssl reads it (verified by the intermediate): its text, CRL number and Delta CRL Indicator */
function read(crl: Uint8Array): { text: string; number: number; base: number | undefined } {
  const r = opensslCrlVerify(crl, f.intermediatePem);
  expect(r.ok, r.text).toBe(true);
  const base = /X509v3 Delta CRL Indicator: critical\s*\n\s*(\d+)/.exec(r.text)?.[1];
  return { text: r.text, number: crlNumberOf(r.text), base: base === undefined ? undefined : Number(base) };
}

const hexOf = (serial: string) => serial.replaceAll(':', '').toUpperCase();

describe('delta CRLs across two instances on one database', () => {
  it("one instance's delta is of the other's base: openssl -use_deltas takes them together", async () => {
    // the base names the delta (Freshest CRL): without it openssl -use_deltas looks for no delta
    const urls = await vaultCall(f, 'POST', 'pki/config/urls', {
      crl_distribution_points: 'http://crl.example.org/pki/full.crl',
      delta_crl_distribution_points: 'http://crl.example.org/pki/delta.crl',
    });
    expect(urls.status, urls.text).toBe(200);
    await enableDeltaCrl(f);
    const early = await issueWebLeaf(f, 'early');
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: early.serial })).status).toBe(200);
    // A signs the base
    const baseA = await vaultRaw(f, 'pki/crl');
    const base = read(baseA);
    expect(base.base).toBeUndefined();
    expect(base.text).toContain(hexOf(early.serial));

    // revoked through B after the base; B serves A's base and a delta of it
    const late = await issueWebLeaf(b, 'late');
    expect((await vaultCall(b, 'POST', 'pki/revoke', { serial_number: late.serial })).status).toBe(200);
    expect(Buffer.from(await vaultRaw(b, 'pki/crl')).equals(Buffer.from(baseA))).toBe(true);
    const deltaB = await vaultRaw(b, 'pki/crl/delta');
    const delta = read(deltaB);
    expect(delta.base).toBe(base.number);
    expect(delta.number).toBeGreaterThan(base.number);
    expect(delta.text).toContain(hexOf(late.serial));
    expect(delta.text).not.toContain(hexOf(early.serial));

    // a relying party with A's base and B's delta
    const both = verifyLeafWithCrls(f, late.pem, [baseA, deltaB], true);
    expect(both.ok, both.output).toBe(false);
    expect(both.output).toMatch(/certificate revoked/);
    expect(verifyLeafWithCrls(f, early.pem, [baseA, deltaB], true).output).toMatch(/certificate revoked/);
    const good = await issueWebLeaf(f, 'good');
    const fine = verifyLeafWithCrls(f, good.pem, [baseA, deltaB], true);
    expect(fine.ok, fine.output).toBe(true);
    // A's own delta is of the same base
    expect(read(await vaultRaw(f, 'pki/crl/delta')).base).toBe(base.number);

    // B makes a new base (crl/rotate): A serves it and signs its deltas of it from its next delta on
    expect((await vaultCall(b, 'GET', 'pki/crl/rotate')).status).toBe(200);
    const baseB = await vaultRaw(b, 'pki/crl');
    const rotated = read(baseB);
    expect(rotated.number).toBeGreaterThan(delta.number);
    expect(rotated.text).toContain(hexOf(late.serial));
    const last = await issueWebLeaf(f, 'last');
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: last.serial })).status).toBe(200);
    const deltaA = await vaultRaw(f, 'pki/crl/delta');
    expect(read(deltaA).base).toBe(rotated.number);
    expect(Buffer.from(await vaultRaw(f, 'pki/crl')).equals(Buffer.from(baseB))).toBe(true);
    const again = verifyLeafWithCrls(f, last.pem, [baseB, deltaA], true);
    expect(again.output).toMatch(/certificate revoked/);
    expect(verifyLeafWithCrls(f, good.pem, [baseB, deltaA], true).ok).toBe(true);
  });
});
