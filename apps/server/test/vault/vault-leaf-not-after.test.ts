// An issuer's `leaf_not_after_behavior` (OpenBao's `err` | `truncate` | `permit`), written by `issuer/:ref` POST/PATCH
// and read back there: the CA's own setting (cas.setLeafNotAfterBehavior, migration 0037), applied by the signing
// pipeline to every leaf of that CA — Vault's issue, sign and sign-verbatim, and the REST issuance alike. A CA of 30
// days is bound to the mount `short`; every certificate is read and verified by openssl.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr } from '../../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS, createIssuingCa } from '../server-test-support';
import { issueRestLeaf, openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

const DAY = 86_400_000;
let f: VaultFixture;
let shortPem: string;
let shortId: string;
/** the short CA's notAfter (epoch ms) */
let caEnd: number;

beforeAll(async () => {
  f = await openVaultFixture();
  const root = { id: f.rootCaId, name: 'Vault Test Root', pem: f.rootPem } as Parameters<typeof createIssuingCa>[1];
  const short = await createIssuingCa(f.authority, root, 'Short Issuing', { validityMs: 30 * DAY });
  shortPem = short.pem;
  shortId = short.id;
  caEnd = Date.parse(new X509Certificate(shortPem).validTo);
  await f.authority.vault.mounts.mount({ path: 'short', ca: short.id, maxLeaseTtl: '87600h' }, ACTORS.admin);
  // a role whose max_ttl (60 days) reaches past the CA
  const role = { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '1440h', key_type: 'ec' };
  expect((await vaultCall(f, 'POST', 'short/roles/long', role)).status).toBe(200);
}, 60_000);
afterAll(async () => f?.close());

/** the notAfter openssl reads in a certificate (epoch ms) */
const opensslEnd = (pem: string) => Date.parse(/Not After : (.+)/.exec(opensslText(`${pem}\n`))![1]!);
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const certCount = async (): Promise<number> =>
  (await vaultCall(f, 'GET', 'short/certs?list=true')).body.data?.keys.length ?? 0;

function verify(pem: string, atTime?: number) {
  return opensslVerify({
    leafPem: `${pem}\n`,
    chainPems: [shortPem],
    rootPem: f.rootPem,
    purpose: 'sslserver',
    ...(atTime !== undefined ? { atTime: Math.floor(atTime / 1000) } : {}),
  });
}

/** issue, sign and sign-verbatim, each asking for a leaf `days` long (past the CA's notAfter when > 30) */
async function issueAllThree(days: number) {
  const ttl = `${days * 24}h`;
  const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=s.example.com', sans: ['DNS:s.example.com'] });
  return [
    await vaultCall(f, 'POST', 'short/issue/long', { common_name: 'i.example.com', ttl }),
    await vaultCall(f, 'POST', 'short/sign/long', { csr: csrPem, ttl }),
    await vaultCall(f, 'POST', 'short/sign-verbatim/long', { csr: csrPem, ttl, ext_key_usage: 'ServerAuth' }),
  ];
}

async function writeBehavior(method: 'POST' | 'PATCH', value: string) {
  return vaultCall(f, method, 'short/issuer/default', { leaf_not_after_behavior: value });
}

describe("an issuer's leaf_not_after_behavior", () => {
  it('is err by default: read on issuer/:ref, a leaf past the CA refused by issue, sign, sign-verbatim', async () => {
    const read = await vaultCall(f, 'GET', 'short/issuer/default');
    expect(read.status, read.text).toBe(200);
    expect(read.body.data.leaf_not_after_behavior).toBe('err');
    const before = await certCount();
    for (const r of await issueAllThree(45)) {
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors[0]).toMatch(/^notAfter \S+ is after the issuer's notAfter /);
    }
    expect(await certCount()).toBe(before);
  });

  it('truncate (POST): the leaf ends at the CA notAfter exactly; read back, audited, seen elsewhere', async () => {
    const w = await writeBehavior('POST', 'truncate');
    expect(w.status, w.text).toBe(200);
    expect(w.body.data).toMatchObject({ issuer_id: shortId, leaf_not_after_behavior: 'truncate' });
    const read = await vaultCall(f, 'GET', `short/issuer/${shortId}`);
    expect(read.body.data.leaf_not_after_behavior).toBe('truncate');
    const events = await f.authority.audit.list({ action: 'ca.leaf_not_after_configured', target: shortId, limit: 5 });
    expect(events.map((e) => e.details)).toEqual([{ from: 'err', to: 'truncate' }]);
    // stored with the CA: another authority on the same database reads it
    const second = await f.fx.openSecond();
    try {
      expect((await second.cas.get(shortId)).ca.leafNotAfterBehavior).toBe('truncate');
    } finally {
      await second.close();
    }

    for (const r of await issueAllThree(45)) {
      expect(r.status, r.text).toBe(200);
      const pem: string = r.body.data.certificate;
      expect(opensslEnd(pem)).toBe(caEnd);
      expect(r.body.data.expiration).toBe(caEnd / 1000);
      const v = verify(pem);
      expect(v.ok, v.output).toBe(true);
    }
    // a lifetime within the CA is not touched
    const inside = await vaultCall(f, 'POST', 'short/issue/long', { common_name: 'in.example.com', ttl: '240h' });
    expect(inside.status, inside.text).toBe(200);
    expect(opensslEnd(inside.body.data.certificate)).toBeLessThan(caEnd - 19 * DAY);
    // the same value again changes nothing (no second event)
    expect((await writeBehavior('PATCH', 'truncate')).status).toBe(200);
    expect(await f.authority.audit.list({ action: 'ca.leaf_not_after_configured', target: shortId })).toHaveLength(1);
  });

  it('truncate holds for every channel of the CA: a REST issuance past it ends at the CA notAfter', async () => {
    const pem = await issueRestLeaf(f, shortId, 'tls-server', '90d');
    expect(opensslEnd(pem)).toBe(caEnd);
    const v = verify(pem);
    expect(v.ok, v.output).toBe(true);
  });

  it('permit (PATCH): the leaf outlives the CA as asked; relying parties reject it once the CA expired', async () => {
    const w = await writeBehavior('PATCH', 'permit');
    expect(w.status, w.text).toBe(200);
    expect((await vaultCall(f, 'GET', 'short/issuer/default')).body.data.leaf_not_after_behavior).toBe('permit');
    const asked = Math.floor((Date.now() + 45 * DAY) / 1000) * 1000;
    const r = await vaultCall(f, 'POST', 'short/issue/long', {
      common_name: 'p.example.com',
      not_after: rfc3339(asked),
    });
    expect(r.status, r.text).toBe(200);
    const pem: string = r.body.data.certificate;
    expect(opensslEnd(pem)).toBe(asked);
    expect(asked).toBeGreaterThan(caEnd);
    expect(verify(pem).ok).toBe(true);
    // a day after the CA expired the leaf is still in its validity, the chain is not
    const after = verify(pem, caEnd + DAY);
    expect(after.ok).toBe(false);
    expect(after.output).toMatch(/certificate has expired/);
    // sign and sign-verbatim too
    for (const s of (await issueAllThree(45)).slice(1)) {
      expect(s.status, s.text).toBe(200);
      expect(opensslEnd(s.body.data.certificate)).toBeGreaterThan(caEnd);
      expect(verify(s.body.data.certificate).ok).toBe(true);
    }
    // max_ttl (60 days) still cuts a not_after under permit, with the TTL warning (OpenBao's permit would keep it)
    const far = await vaultCall(f, 'POST', 'short/issue/long', {
      common_name: 'far.example.com',
      not_after: rfc3339(Date.now() + 90 * DAY),
    });
    expect(far.status, far.text).toBe(200);
    expect(far.body.warnings[0]).toMatch(/is longer than permitted maxTTL "1440h0m0s", so maxTTL is being used/);
    const farEnd = opensslEnd(far.body.data.certificate);
    expect(farEnd).toBeGreaterThan(caEnd);
    expect(farEnd).toBeLessThanOrEqual(Date.now() + 60 * DAY);
    expect(verify(far.body.data.certificate).ok).toBe(true);
  });

  it('refuses an unknown value (OpenBao message) and a token without ca:write; back to err refuses again', async () => {
    const bad = await vaultCall(f, 'POST', 'short/issuer/default', {
      issuer_name: 'renamed-not',
      leaf_not_after_behavior: 'forever',
    });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.errors[0]).toBe(
      'Unknown value for field `leaf_not_after_behavior`. Possible values are `err`, `truncate`, and `permit`.',
    );
    // a rename refused with it: neither is changed
    const taken = await vaultCall(f, 'POST', 'short/issuer/default', {
      issuer_name: 'Vault Test Root',
      leaf_not_after_behavior: 'err',
    });
    expect(taken.status, taken.text).toBe(400);
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    expect(
      (await vaultCall(f, 'POST', 'short/issuer/default', { leaf_not_after_behavior: 'err' }, { token })).status,
    ).toBe(403);
    const ca = (await f.authority.cas.get(shortId)).ca;
    expect(ca).toMatchObject({ name: 'Short Issuing', leafNotAfterBehavior: 'permit' });

    expect((await writeBehavior('POST', 'err')).body.data.leaf_not_after_behavior).toBe('err');
    const before = await certCount();
    for (const r of await issueAllThree(45)) expect(r.status, r.text).toBe(400);
    expect(await certCount()).toBe(before);
  });

  it("a role's RFC 3339 not_after_bound sees the end the issuer's behaviour leaves (OpenBao's order)", async () => {
    // a bound 40 days ahead: past the CA's end (30 days), short of the 45 days asked
    const bound = rfc3339(Date.now() + 40 * DAY);
    const role = { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '1440h', key_type: 'ec' };
    const w = await vaultCall(f, 'POST', 'short/roles/bounded', { ...role, not_after_bound: bound });
    expect(w.status, w.text).toBe(200);
    const ask = (ttl: string) => vaultCall(f, 'POST', 'short/issue/bounded', { common_name: 'b.example.com', ttl });
    const beyondBound = /^not_after_bound is set to \S+\. Cannot satisfy request as that would result in notAfter of /;

    // truncate: 45 days end at the CA's notAfter first, which is within the bound: issued, ending with the CA
    expect((await writeBehavior('POST', 'truncate')).status).toBe(200);
    const cut = await ask(`${45 * 24}h`);
    expect(cut.status, cut.text).toBe(200);
    expect(opensslEnd(cut.body.data.certificate)).toBe(caEnd);
    expect(verify(cut.body.data.certificate).ok).toBe(true);
    // permit: the end asked stays 45 days, past the bound: refused by the bound, nothing issued
    expect((await writeBehavior('PATCH', 'permit')).status).toBe(200);
    const before = await certCount();
    const permitted = await ask(`${45 * 24}h`);
    expect(permitted.status, permitted.text).toBe(400);
    expect(permitted.body.errors[0]).toMatch(beyondBound);
    // err: the issuer's refusal comes first (OpenBao's order), not the bound's
    expect((await writeBehavior('PATCH', 'err')).status).toBe(200);
    const refused = await ask(`${45 * 24}h`);
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.errors[0]).toMatch(/^notAfter \S+ is after the issuer's notAfter /);
    expect(await certCount()).toBe(before);

    // the other order: a bound before the CA's end (20 days) refuses the truncated end, naming that end
    const early = rfc3339(Date.now() + 20 * DAY);
    await vaultCall(f, 'POST', 'short/roles/bounded', { ...role, not_after_bound: early });
    expect((await writeBehavior('PATCH', 'truncate')).status).toBe(200);
    const truncatedPast = await ask(`${45 * 24}h`);
    expect(truncatedPast.status, truncatedPast.text).toBe(400);
    expect(truncatedPast.body.errors[0]).toMatch(beyondBound);
    expect(truncatedPast.body.errors[0]).toContain(`notAfter of ${new Date(caEnd).toISOString()} that is beyond`);
    const within = await ask('240h');
    expect(within.status, within.text).toBe(200);
    expect(verify(within.body.data.certificate).ok).toBe(true);
    expect(await certCount()).toBe(before + 1);
    expect((await writeBehavior('PATCH', 'err')).status).toBe(200);
  });
});
