// `DELETE <mount>/issuer/:ref` and `DELETE <mount>/root` (OpenBao's pathDeleteIssuer / pathCADeleteRoot) over raw
// HTTP: a mount's one issuer is its CA, so the CA is deleted by `cas.delete` with its refusals (a valid CA, an
// intermediate before its expiry: 400, nothing changed), then the mount is left without a CA and can get a new one.
// `issuer/:ref` keeps the key in its backend, `root` destroys it. Certificates are verified by openssl and certtool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certtoolVerify, opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const ROLE = { ...WEB_ROLE, key_type: 'ec' };

/** a mount without a CA given a root by root/generate (EC P-256), a role, and a leaf it issued (verified) */
async function mountWithRoot(path: string, cn: string): Promise<{ caId: string; rootPem: string; leafPem: string }> {
  expect((await vaultCall(f, 'POST', `sys/mounts/${path}`, { type: 'pki' })).status).toBe(204);
  const root = await vaultCall(f, 'POST', `${path}/root/generate/internal`, { common_name: cn, key_type: 'ec' });
  expect(root.status, root.text).toBe(200);
  expect((await vaultCall(f, 'POST', `${path}/roles/web`, ROLE)).status).toBe(200);
  const leaf = await vaultCall(f, 'POST', `${path}/issue/web`, { common_name: 'a.example.com', ttl: '1h' });
  expect(leaf.status, leaf.text).toBe(200);
  const rootPem = `${root.body.data.certificate}\n`;
  verify(leaf.body.data.certificate, rootPem);
  return { caId: root.body.data.issuer_id, rootPem, leafPem: leaf.body.data.certificate };
}

function verify(leafPem: string, rootPem: string) {
  const leaf = `${leafPem.trim()}\n`;
  for (const v of [
    opensslVerify({ leafPem: leaf, rootPem, purpose: 'sslserver' }),
    certtoolVerify({ leafPem: leaf, rootPem }),
  ])
    expect(v.ok, v.output).toBe(true);
}

const caIds = async () => (await f.authority.cas.list()).map((c) => c.id);
const events = async (action: string) => f.authority.audit.list({ action, limit: 500 });

describe('DELETE issuer/:ref', () => {
  it('refuses a valid CA and an intermediate before it expires (400, no change); 204 for other refs', async () => {
    const { caId } = await mountWithRoot('delvalid', 'Valid Root');
    const before = await caIds();
    const valid = await vaultCall(f, 'DELETE', 'delvalid/issuer/default');
    expect(valid.status, valid.text).toBe(400);
    expect(valid.body.errors[0]).toBe(
      'CA Valid-Root is active: revoke it first (a root can be deleted once revoked or expired)',
    );
    // the fixture's intermediate (mount pki), revoked without cascade: listed on its parent's CRL until it expires
    expect((await vaultCall(f, 'POST', 'pki/issuer/default/revoke')).status).toBe(200);
    const inter = await vaultCall(f, 'DELETE', `pki/issuer/${f.caId}`);
    expect(inter.status, inter.text).toBe(400);
    expect(inter.body.errors[0]).toMatch(/^CA Vault Test Issuing is revoked but its certificate is listed on its pa/);
    // a ref that names no issuer of the mount: OpenBao answers as if deleted
    for (const ref of ['nope', f.rootCaId])
      expect((await vaultCall(f, 'DELETE', `delvalid/issuer/${ref}`)).status).toBe(204);
    // without ca:write
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    expect((await vaultCall(f, 'DELETE', 'delvalid/issuer/default', undefined, { token })).status).toBe(403);
    expect((await vaultCall(f, 'DELETE', 'delvalid/issuer/default', undefined, { token: null })).status).toBe(403);
    expect(await caIds()).toEqual(before);
    expect((await vaultCall(f, 'GET', `delvalid/issuer/${caId}`)).status).toBe(200);
    expect((await events('ca.deleted')).length).toBe(0);
    expect((await events('vault.mount_unbound')).length).toBe(0);
  });

  it('deletes a revoked root by cas.delete, keeps its key, leaves the mount without a CA for a new one', async () => {
    const { caId } = await mountWithRoot('delroot', 'Gone Root');
    expect((await vaultCall(f, 'POST', 'delroot/issuer/default/revoke')).status).toBe(200);
    const r = await vaultCall(f, 'DELETE', 'delroot/issuer/Gone-Root');
    expect(r.status, r.text).toBe(200);
    expect(r.body.data).toBeNull();
    expect(r.body.warnings[0]).toBe(
      `Deleted issuer ${caId} (via issuer_ref Gone-Root); this was configured as the default issuer. Operations ` +
        'without an explicit issuer will not work until a new default is configured.',
    );
    expect(await caIds()).not.toContain(caId);
    const deleted = (await events('ca.deleted')).filter((e) => e.target === caId);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.details).toMatchObject({ name: 'Gone-Root', destroyKey: false });
    expect((await events('kms.key_destroyed')).length).toBe(0);
    const unbound = (await events('vault.mount_unbound')).filter((e) => e.target === 'delroot');
    // the key stays a key of the mount (OpenBao keeps the key entry: vault-keys-default.test.ts)
    expect(unbound.map((e) => e.details)).toEqual([{ caId, keptKeyId: expect.stringMatching(/^[0-9a-f]{40}$/) }]);
    // a mount without a CA now: no issuer, nothing issued, the role kept
    const mounts = await vaultCall(f, 'GET', 'sys/mounts');
    expect(mounts.body.data['delroot/'].options).toBeNull();
    expect((await vaultCall(f, 'GET', 'delroot/issuers?list=true', undefined, { token: null })).status).toBe(404);
    const refused = await vaultCall(f, 'POST', 'delroot/issue/web', { common_name: 'b.example.com' });
    expect(refused.status).toBe(400);
    expect((await vaultCall(f, 'GET', 'delroot/roles/web')).status).toBe(200);
    expect((await vaultCall(f, 'DELETE', 'delroot/issuer/default')).status).toBe(204);
    // and it gets a new root, which issues again
    const again = await vaultCall(f, 'POST', 'delroot/root/generate/internal', { common_name: 'New', key_type: 'ec' });
    expect(again.status, again.text).toBe(200);
    const leaf = await vaultCall(f, 'POST', 'delroot/issue/web', { common_name: 'c.example.com', ttl: '1h' });
    expect(leaf.status, leaf.text).toBe(200);
    verify(leaf.body.data.certificate, `${again.body.data.certificate}\n`);
  });
});

describe('DELETE root', () => {
  it('refuses a valid CA; deletes a revoked one with its key; a mount without a CA only gets the warning', async () => {
    const { caId } = await mountWithRoot('wipe', 'Wiped Root');
    const valid = await vaultCall(f, 'DELETE', 'wipe/root');
    expect(valid.status, valid.text).toBe(400);
    expect(await caIds()).toContain(caId);
    expect((await vaultCall(f, 'POST', 'wipe/issuer/default/revoke')).status).toBe(200);
    const r = await vaultCall(f, 'DELETE', 'wipe/root');
    expect(r.status, r.text).toBe(200);
    expect(r.body.warnings).toEqual([
      'DELETE /root deletes all keys and issuers; prefer the new DELETE /key/:key_ref and DELETE /issuer/:issuer_ref ' +
        'for finer granularity, unless removal of all keys and issuers is desired.',
      `CA Wiped-Root (${caId}) was deleted and its key destroyed in its key backend.`,
    ]);
    expect(await caIds()).not.toContain(caId);
    expect((await events('ca.deleted')).find((e) => e.target === caId)!.details).toMatchObject({
      destroyKey: true,
    });
    expect((await events('kms.key_destroyed')).filter((e) => e.details.caId === caId)).toHaveLength(1);
    expect((await vaultCall(f, 'GET', 'sys/mounts')).body.data['wipe/'].options).toBeNull();
    const again = await vaultCall(f, 'DELETE', 'wipe/root');
    expect(again.status).toBe(200);
    expect(again.body.warnings).toHaveLength(1);
    const audit = await f.authority.audit.verify();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
  });

  it('deletes a pending CA (generated, not set-signed) with its key; the mount generates again', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/stuck', { type: 'pki' })).status).toBe(204);
    const gen = await vaultCall(f, 'POST', 'stuck/intermediate/generate/internal', {
      common_name: 'Abandoned Intermediate',
      key_type: 'ec',
    });
    expect(gen.status, gen.text).toBe(200);
    const pendingId = (await vaultCall(f, 'GET', 'sys/mounts/stuck')).body.data.options.ca as string;
    expect((await f.authority.cas.get(pendingId)).ca.status).toBe('pending');
    // issuer/:ref does not name a pending CA (no issuer yet): 204, nothing changed
    expect((await vaultCall(f, 'DELETE', `stuck/issuer/${pendingId}`)).status).toBe(204);
    expect(await caIds()).toContain(pendingId);
    const r = await vaultCall(f, 'DELETE', 'stuck/root');
    expect(r.status, r.text).toBe(200);
    expect(r.body.warnings[1]).toMatch(/was deleted and its key destroyed/);
    expect(await caIds()).not.toContain(pendingId);
    expect((await events('kms.key_destroyed')).filter((e) => e.details.caId === pendingId)).toHaveLength(1);
    expect((await vaultCall(f, 'GET', 'sys/mounts')).body.data['stuck/'].options).toBeNull();
    const root = await vaultCall(f, 'POST', 'stuck/root/generate/internal', { common_name: 'Fresh', key_type: 'ec' });
    expect(root.status, root.text).toBe(200);
    expect((await vaultCall(f, 'POST', 'stuck/roles/web', ROLE)).status).toBe(200);
    const leaf = await vaultCall(f, 'POST', 'stuck/issue/web', { common_name: 'd.example.com', ttl: '1h' });
    expect(leaf.status, leaf.text).toBe(200);
    verify(leaf.body.data.certificate, `${root.body.data.certificate}\n`);
    const audit = await f.authority.audit.verify();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
  });
});
