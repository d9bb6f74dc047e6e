// `POST <mount>/issuer/:ref/revoke` (OpenBao's pathRevokeIssuer) over raw HTTP: the mount's CA certificate is revoked
// without cascade — its parent's CRL (openssl, certtool, Go, fetched from a mount of the parent) and its parent's OCSP
// answer (openssl ocsp) list it, its leaves stay good, it issues nothing more while its CRL and OCSP go on; a second
// call answers the same entry; a root answers with OpenBao's warnings; audited in the hash-chained log. A revoked
// issuer's `issuer/:ref` POST without `usage` (OpenBao's default: issuing too) or with `issuing-certificates` is
// refused with OpenBao's message, changing nothing; with its own usage, or a PATCH without one, it is written.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCrlVerify, opensslOcspCheck, opensslOcspRequest } from '../../../../tests/support/verifiers';
import { ACTORS, createRootCa } from '../server-test-support';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: { ...WEB_ROLE, key_type: 'ec' } } });
  // the parent of the mount's CA, mounted too: its CRL and OCSP are read through the Vault API
  await f.authority.vault.mounts.mount({ path: 'parent', ca: f.rootCaId }, ACTORS.admin);
}, 60_000);
afterAll(async () => f?.close());

const anon = { token: null };
const serialHex = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase().replace(/^0+/, '');

async function ocsp(mount: string, issuerPem: string, leafPem: string, caFilePem: string): Promise<string> {
  const res = await fetch(`${f.url}/v1/${mount}/ocsp`, {
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request' },
    body: opensslOcspRequest({ issuerPem, leafPem }),
  });
  expect(res.status).toBe(200);
  const check = opensslOcspCheck({
    responseDer: new Uint8Array(await res.arrayBuffer()),
    issuerPem,
    caFilePem,
    leafPem: `${leafPem.trim()}\n`,
  });
  expect(check.ok, check.output).toBe(true);
  return /leaf\.pem: (good|revoked|unknown)/.exec(check.output)?.[1] ?? check.output;
}

async function crlOf(mount: string, issuerPem: string) {
  const res = await fetch(`${f.url}/v1/${mount}/crl`);
  expect(res.status).toBe(200);
  const v = opensslCrlVerify(new Uint8Array(await res.arrayBuffer()), issuerPem);
  expect(v.ok, v.text).toBe(true);
  return v.go.entries;
}

describe('issuer/:ref/revoke', () => {
  it('needs a token with ca:write and a known ref; refusals change nothing', async () => {
    expect((await vaultCall(f, 'POST', 'pki/issuer/default/revoke', undefined, anon)).status).toBe(403);
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    expect((await vaultCall(f, 'POST', 'pki/issuer/default/revoke', undefined, { token })).status).toBe(403);
    const nope = await vaultCall(f, 'POST', 'pki/issuer/nope/revoke');
    expect(nope.status).toBe(404);
    expect(nope.body).toEqual({ errors: ['unable to find PKI issuer for reference: nope'] });
    // the parent of the mount's CA is not an issuer of this mount
    expect((await vaultCall(f, 'POST', `pki/issuer/${f.rootCaId}/revoke`)).status).toBe(404);
    expect((await f.authority.cas.get(f.caId)).ca.status).toBe('active');
    expect(await ocsp('parent', f.rootPem, f.intermediatePem, f.rootPem)).toBe('good');
  });

  it("revokes the issuer only: its parent's CRL and OCSP list it, its leaves stay, it issues no more", async () => {
    const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'kept.example.com' });
    expect(issued.status, issued.text).toBe(200);
    const leaf: string = issued.body.data.certificate;
    const before = Date.now();

    const r = await vaultCall(f, 'POST', 'pki/issuer/default/revoke');
    expect(r.status, r.text).toBe(200);
    const data = r.body.data;
    expect(data).toMatchObject({
      issuer_id: f.caId,
      issuer_name: 'Vault Test Issuing',
      certificate: f.intermediatePem.trim(),
      ca_chain: [f.intermediatePem.trim(), f.rootPem.trim()],
      revoked: true,
      usage: 'crl-signing,ocsp-signing,read-only',
    });
    expect(Number.isInteger(data.revocation_time)).toBe(true);
    expect(data.revocation_time * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(data.revocation_time * 1000).toBeLessThanOrEqual(Date.now());
    expect(Math.floor(Date.parse(data.revocation_time_rfc3339) / 1000)).toBe(data.revocation_time);
    // an intermediate with its parent here: only OpenBao's warning that the mount's default issuer no longer issues
    expect(r.body.warnings).toEqual([
      expect.stringMatching(/^This issuer is currently configured as the default issuer/),
    ]);

    // the parent's CRL (served by the parent's mount) lists it; the parent's OCSP answers revoked
    expect((await crlOf('parent', f.rootPem)).has(serialHex(f.intermediatePem))).toBe(true);
    expect(await ocsp('parent', f.rootPem, f.intermediatePem, f.rootPem)).toBe('revoked');

    // its leaf is untouched; its own CRL is still served (empty) and its OCSP answers good
    const cert = await vaultCall(f, 'GET', `pki/cert/${issued.body.data.serial_number}`, undefined, anon);
    expect(cert.body.data.revocation_time).toBe(0);
    expect((await crlOf('pki', f.intermediatePem)).size).toBe(0);
    expect(await ocsp('pki', f.intermediatePem, leaf, f.rootPem)).toBe('good');

    // the issuer entry says revoked; a second call (by id) answers the same entry, no warnings, nothing changes
    const read = await vaultCall(f, 'GET', 'pki/issuer/default');
    expect(read.body.data).toEqual(data);
    const again = await vaultCall(f, 'POST', `pki/issuer/${f.caId}/revoke`);
    expect(again.status, again.text).toBe(200);
    expect(again.body.data).toEqual(data);
    expect(again.body.warnings).toBeNull();

    // it issues and signs nothing more (400 saying why), while a leaf of it can still be revoked onto its CRL
    const count = (await f.authority.certificates.list({ limit: 500 }, ACTORS.admin)).items.length;
    for (const path of ['pki/issue/web', 'pki/issuer/default/issue/web']) {
      const refused = await vaultCall(f, 'POST', path, { common_name: 'new.example.com' });
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.errors[0]).toMatch(/is revoked and cannot sign/);
    }
    expect((await f.authority.certificates.list({ limit: 500 }, ACTORS.admin)).items.length).toBe(count);
    const revoked = await vaultCall(f, 'POST', 'pki/revoke', { serial_number: issued.body.data.serial_number });
    expect(revoked.status, revoked.text).toBe(200);
    expect((await crlOf('pki', f.intermediatePem)).has(serialHex(leaf))).toBe(true);
    expect(await ocsp('pki', f.intermediatePem, leaf, f.rootPem)).toBe('revoked');

    // one hash-chained audit event, without cascade
    const events = await f.authority.audit.list({ action: 'ca.revoked', target: f.caId, limit: 10 }, ACTORS.admin);
    expect(events.map((e) => e.details)).toEqual([{ reason: 'unspecified', descendants: [], cascade: false }]);
    expect((await f.authority.audit.verify()).ok).toBe(true);
  });

  it('revokes a root issuer as OpenBao does: 200, revoked, and warnings that no CRL lists it', async () => {
    const root = await createRootCa(f.authority, 'Vault Lone Root');
    await f.authority.vault.mounts.mount({ path: 'lone', ca: root.id }, ACTORS.admin);
    const r = await vaultCall(f, 'POST', 'lone/issuer/Vault%20Lone%20Root/revoke');
    expect(r.status, r.text).toBe(200);
    expect(r.body.data).toMatchObject({
      issuer_id: root.id,
      revoked: true,
      usage: 'crl-signing,ocsp-signing,read-only',
    });
    expect(r.body.warnings).toEqual([
      expect.stringMatching(/^This issuer is a self-signed \(potentially root\) certificate/),
      expect.stringMatching(/^This issuer lacks a parent issuer in PKI Manager/),
      expect.stringMatching(/^This issuer is currently configured as the default issuer for this mount/),
    ]);
    // its CRL keeps being served and does not list itself
    expect((await crlOf('lone', root.pem)).has(serialHex(root.pem))).toBe(false);
  });

  it("refuses a revoked issuer's POST without usage (OpenBao's default: issuing too) as OpenBao does", async () => {
    const root = await createRootCa(f.authority, 'Vault Revoked Write Root');
    await f.authority.vault.mounts.mount({ path: 'rw', ca: root.id }, ACTORS.admin);
    // not revoked: a POST without usage is written (every usage is the entry's)
    const live = await vaultCall(f, 'POST', 'rw/issuer/default', { leaf_not_after_behavior: 'truncate' });
    expect(live.status, live.text).toBe(200);
    expect((await vaultCall(f, 'POST', 'rw/issuer/default/revoke')).status).toBe(200);
    const entry = (await vaultCall(f, 'GET', 'rw/issuer/default')).body.data;
    expect(entry).toMatchObject({ usage: 'crl-signing,ocsp-signing,read-only', leaf_not_after_behavior: 'truncate' });
    const events = async () => (await f.authority.audit.list({ target: root.id, limit: 100 })).length;
    const before = await events();
    const message =
      'This issuer was revoked; unable to modify its usage to include certificate signing again. Reissue this ' +
      'certificate (preferably with a new key) and modify that entry instead.';
    for (const [method, body] of [
      ['POST', { issuer_name: 'renamed-root' }],
      ['POST', {}],
      ['POST', { usage: 'read-only,issuing-certificates,crl-signing,ocsp-signing', issuer_name: 'renamed-root' }],
      ['PATCH', { usage: 'issuing-certificates' }],
    ] as const) {
      const r = await vaultCall(f, method, 'rw/issuer/default', body);
      expect(r.status, `${method} ${JSON.stringify(body)}: ${r.text}`).toBe(400);
      expect(r.body.errors).toEqual([message]);
    }
    expect((await vaultCall(f, 'GET', 'rw/issuer/default')).body.data).toEqual(entry);
    expect(await events()).toBe(before);
    // with its own usage (any order) a POST is written — the name, and the behavior back to its default;
    // a PATCH without usage keeps it
    const own = await vaultCall(f, 'POST', 'rw/issuer/default', {
      usage: 'read-only,ocsp-signing,crl-signing',
      issuer_name: 'renamed-root',
    });
    expect(own.status, own.text).toBe(200);
    expect(own.body.data).toMatchObject({ issuer_name: 'renamed-root', leaf_not_after_behavior: 'err', revoked: true });
    const patched = await vaultCall(f, 'PATCH', 'rw/issuer/default', { leaf_not_after_behavior: 'permit' });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.data).toMatchObject({ usage: 'crl-signing,ocsp-signing,read-only', revoked: true });
  });
});
