// OpenBao's key entries outliving their issuer, and its default key: `DELETE issuer/:ref` deletes the CA but keeps its
// key — still in its backend — as a key of the mount (listed by the raw LIST verb, read, the default key when it was,
// used again by `root/generate/existing`, whose `key_ref` defaults to `default`); the first key a mount has becomes its
// default key (`config/keys`), which a `config/keys` write moves and a deleted default key clears; `DELETE root`
// forgets every key of the mount and destroys them. Every root and leaf is verified by openssl and certtool, the two
// roots made with one key carry the same public key, and every refusal leaves CA rows, key blobs and entries alone.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certtoolVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, runHvacScript, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
let db: Database.Database;
beforeAll(async () => {
  f = await openVaultFixture();
  db = new Database(join(f.fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
}, 60_000);
afterAll(async () => {
  db?.close();
  await f?.close();
});

/** what a refusal must leave as it was: CA rows, software key blobs, the mounts' key entries */
function counts(): { cas: number; blobs: number; entries: number } {
  const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  return {
    cas: one('SELECT count(*) AS n FROM certificate_authorities'),
    blobs: one('SELECT count(*) AS n FROM key_blobs'),
    entries: one("SELECT count(*) AS n FROM settings WHERE key LIKE 'vault.key.%'"),
  };
}

const spkiOf = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const events = (action: string, target: string) => f.authority.audit.list({ action, target, limit: 50 });

/** a leaf issued through the mount, verified by openssl and certtool against the root */
async function issueVerified(mount: string, rootPem: string, cn: string): Promise<void> {
  const leaf = await vaultCall(f, 'POST', `${mount}/issue/web`, { common_name: cn, ttl: '1h' });
  expect(leaf.status, leaf.text).toBe(200);
  const leafPem = `${leaf.body.data.certificate}\n`;
  for (const v of [
    opensslVerify({ leafPem, rootPem, purpose: 'sslserver', hostname: cn }),
    certtoolVerify({ leafPem, rootPem }),
  ])
    expect(v.ok, v.output).toBe(true);
}

describe('DELETE issuer/:ref keeps the key', () => {
  it('lists, reads, keeps as default the deleted issuer key; root/generate/existing makes a root with it', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/keep', { type: 'pki' })).status).toBe(204);
    const first = await vaultCall(f, 'POST', 'keep/root/generate/internal', {
      common_name: 'Kept Root',
      key_type: 'ec',
      ttl: '8760h',
    });
    expect(first.status, first.text).toBe(200);
    const keyId = first.body.data.key_id as string;
    const firstPem = `${first.body.data.certificate}\n`;
    expect((await vaultCall(f, 'POST', 'keep/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);
    await issueVerified('keep', firstPem, 'a.example.com');
    // the root's key is the mount's first key: its default key
    expect((await vaultCall(f, 'GET', 'keep/config/keys')).body.data).toEqual({ default: keyId });

    expect((await vaultCall(f, 'POST', 'keep/issuer/default/revoke')).status).toBe(200);
    const before = counts();
    const del = await vaultCall(f, 'DELETE', 'keep/issuer/default');
    expect(del.status, del.text).toBe(200);
    expect(del.body.warnings[1]).toMatch(new RegExp(`its key ${keyId} was kept in its key backend and stays a key`));
    // the CA row is gone, its key blob stays, and the key is an entry of the mount now
    expect(counts()).toEqual({ cas: before.cas - 1, blobs: before.blobs, entries: before.entries + 1 });
    const unbound = await events('vault.mount_unbound', 'keep');
    expect(unbound.map((e) => e.details)).toEqual([{ caId: first.body.data.issuer_id, keptKeyId: keyId }]);

    // OpenBao's key without an issuer: listed (raw LIST verb), read by id, name and default; still the default key
    const info = { [keyId]: { key_name: 'Kept-Root', key_type: 'ec', is_default: true } };
    const listed = await vaultCall(f, 'LIST', 'keep/keys');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data).toEqual({ keys: [keyId], key_info: info });
    expect((await vaultCall(f, 'GET', 'keep/keys?list=true')).body.data).toEqual({ keys: [keyId], key_info: info });
    const entry = {
      key_id: keyId,
      key_name: 'Kept-Root',
      key_type: 'ec',
      subject_key_id: keyId.match(/../g)!.join(':'),
    };
    for (const ref of [keyId, 'Kept-Root', 'default'])
      expect((await vaultCall(f, 'GET', `keep/key/${ref}`)).body.data, ref).toEqual(entry);
    expect((await vaultCall(f, 'GET', 'keep/config/keys')).body.data).toEqual({ default: keyId });
    expect((await vaultCall(f, 'GET', 'keep/issuers?list=true', undefined, { token: null })).status).toBe(404);

    // root/generate/existing without key_ref takes the default key: the same public key in a new root
    const again = await vaultCall(f, 'POST', 'keep/root/generate/existing', {
      common_name: 'Kept Root 2',
      ttl: '8760h',
    });
    expect(again.status, again.text).toBe(200);
    const againPem = `${again.body.data.certificate}\n`;
    expect(again.body.data.key_id).toBe(keyId);
    expect(again.body.data.issuer_id).not.toBe(first.body.data.issuer_id);
    expect(spkiOf(againPem).equals(spkiOf(firstPem))).toBe(true);
    expect(opensslText(againPem)).toMatch(/Subject: CN ?= ?Kept Root 2/);
    const self = opensslVerify({ leafPem: againPem, rootPem: againPem });
    expect(self.ok, self.output).toBe(true);
    await issueVerified('keep', againPem, 'b.example.com');
    // one CA row more, no key made; the key is listed once, in use: DELETE key/:ref refused
    expect(counts()).toEqual({ cas: before.cas, blobs: before.blobs, entries: before.entries + 1 });
    expect((await vaultCall(f, 'LIST', 'keep/keys')).body.data).toEqual({ keys: [keyId], key_info: info });
    const inUse = await vaultCall(f, 'DELETE', `keep/key/${keyId}`);
    expect(inUse.status).toBe(400);
    expect(inUse.body.errors).toEqual([`Failed to Delete Key.  Key in Use by Issuer: ${again.body.data.issuer_id}`]);

    // DELETE root (OpenBao: every key and issuer): the CA and the key go, once
    expect((await vaultCall(f, 'POST', 'keep/issuer/default/revoke')).status).toBe(200);
    const wiped = await vaultCall(f, 'DELETE', 'keep/root');
    expect(wiped.status, wiped.text).toBe(200);
    expect(counts()).toEqual({ cas: before.cas - 1, blobs: before.blobs - 1, entries: before.entries });
    expect((await vaultCall(f, 'LIST', 'keep/keys')).status).toBe(404);
    expect((await vaultCall(f, 'GET', 'keep/config/keys')).body.data).toEqual({ default: '' });
    expect(await events('kms.key_destroy_failed', first.body.data.issuer_id)).toEqual([]);
    const audit = await f.authority.audit.verify();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
  });
});

describe('the default key', () => {
  it('is the first key made; config/keys moves it; a deleted default leaves none; refusals change none', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/dk', { type: 'pki' })).status).toBe(204);
    expect((await vaultCall(f, 'GET', 'dk/config/keys')).body.data).toEqual({ default: '' });
    const k1 = (await vaultCall(f, 'POST', 'dk/keys/generate/internal', { key_name: 'k1', key_type: 'ec' })).body.data;
    const k2 = (await vaultCall(f, 'POST', 'dk/keys/generate/internal', { key_name: 'k2', key_type: 'ec' })).body.data;
    expect((await vaultCall(f, 'GET', 'dk/config/keys')).body.data).toEqual({ default: k1.key_id });
    const info = (await vaultCall(f, 'LIST', 'dk/keys')).body.data.key_info;
    expect([info[k1.key_id].is_default, info[k2.key_id].is_default]).toEqual([true, false]);
    expect((await vaultCall(f, 'GET', 'dk/key/default')).body.data.key_name).toBe('k1');
    const generated = await events('vault.key_generated', 'dk');
    expect(generated.map((e) => e.details.default)).toEqual([true, undefined]); // oldest first

    // refused writes: OpenBao's messages, nothing changed
    const before = counts();
    for (const [body, message] of [
      [{ default: 'nope' }, 'Error resolving issuer reference: unable to find PKI key for reference: nope'],
      [{ default: 'default' }, "Invalid key specification; must be non-empty and can't be 'default'."],
      [{}, "Invalid key specification; must be non-empty and can't be 'default'."],
    ] as const) {
      const r = await vaultCall(f, 'POST', 'dk/config/keys', body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors).toEqual([message]);
    }
    expect((await vaultCall(f, 'GET', 'dk/config/keys')).body.data).toEqual({ default: k1.key_id });
    // a write by name moves it, audited
    const moved = await vaultCall(f, 'POST', 'dk/config/keys', { default: 'k2' });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.data).toEqual({ default: k2.key_id });
    expect((await vaultCall(f, 'GET', 'dk/config/keys')).body.data).toEqual({ default: k2.key_id });
    expect((await events('vault.default_key_set', 'dk')).map((e) => e.details)).toEqual([
      { keyId: k2.key_id, from: k1.key_id },
    ]);
    expect(counts()).toEqual(before);

    // root/generate/existing with key_ref k1 makes the root from k1; the default stays k2 (OpenBao)
    const root = await vaultCall(f, 'POST', 'dk/root/generate/existing', { key_ref: 'k1', common_name: 'DK Root' });
    expect(root.status, root.text).toBe(200);
    expect(root.body.data.key_id).toBe(k1.key_id);
    expect((await vaultCall(f, 'GET', 'dk/config/keys')).body.data).toEqual({ default: k2.key_id });
    const rootPem = `${root.body.data.certificate}\n`;
    const v = certtoolVerify({ leafPem: rootPem, rootPem });
    expect(v.ok, v.output).toBe(true);

    // the default key deleted: none is left (OpenBao), and existing without key_ref is refused, nothing made
    expect((await vaultCall(f, 'POST', 'sys/mounts/dk2', { type: 'pki' })).status).toBe(204);
    const k3 = (await vaultCall(f, 'POST', 'dk2/keys/generate/internal', {})).body.data;
    expect((await vaultCall(f, 'GET', 'dk2/config/keys')).body.data).toEqual({ default: k3.key_id });
    expect((await vaultCall(f, 'DELETE', 'dk2/key/default')).status).toBe(204);
    expect((await vaultCall(f, 'GET', 'dk2/config/keys')).body.data).toEqual({ default: '' });
    expect((await events('vault.key_deleted', 'dk2')).map((e) => e.details)).toEqual([
      { keyId: k3.key_id, keyName: '', wasDefault: true },
    ]);
    const none = counts();
    for (const [path, body, message] of [
      ['root/generate/existing', { common_name: 'X' }, 'no default key currently configured'],
      ['intermediate/generate/existing', { common_name: 'X' }, 'no default key currently configured'],
      ['root/generate/existing', { common_name: 'X', key_ref: '' }, /^missing argument key_ref for existing type/],
    ] as const) {
      const r = await vaultCall(f, 'POST', `dk2/${path}`, body);
      expect(r.status, `${path} ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    expect(counts()).toEqual(none);
    // the next key generated becomes the default again
    const k4 = (await vaultCall(f, 'POST', 'dk2/keys/generate/internal', {})).body.data;
    expect((await vaultCall(f, 'GET', 'dk2/config/keys')).body.data).toEqual({ default: k4.key_id });
  });
});

describe('hvac and node-vault', () => {
  it('node-vault: DELETE issuer keeps the key, listed, reused by key_ref; config/keys read and written', async () => {
    const v = nodeVault({ endpoint: f.url, token: f.token });
    await v.mount({ mount_point: 'nvk', type: 'pki', config: { max_lease_ttl: '87600h' } });
    const root = (await v.write('nvk/root/generate/internal', { common_name: 'NVK Root', key_type: 'ed25519' })).data;
    await v.write('nvk/issuer/default/revoke', {});
    await v.delete('nvk/issuer/default');
    const listed = (await v.list('nvk/keys')).data;
    expect(listed.keys).toEqual([root.key_id]);
    expect(listed.key_info[root.key_id]).toEqual({ key_name: 'NVK-Root', key_type: 'ed25519', is_default: true });
    const extra = (await v.write('nvk/keys/generate/internal', { key_name: 'nvk-b' })).data;
    expect((await v.read('nvk/config/keys')).data).toEqual({ default: root.key_id });
    expect((await v.write('nvk/config/keys', { default: 'nvk-b' })).data).toEqual({ default: extra.key_id });
    await expect(v.write('nvk/config/keys', { default: 'nope' })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
    const again = (await v.write('nvk/root/generate/existing', { key_ref: root.key_id, common_name: 'NVK Root 2' }))
      .data;
    expect(again.key_id).toBe(root.key_id);
    const pem = `${again.certificate}\n`;
    expect(spkiOf(pem).equals(spkiOf(`${root.certificate}\n`))).toBe(true);
    const self = opensslVerify({ leafPem: pem, rootPem: pem });
    expect(self.ok, self.output).toBe(true);
  });

  it('hvac: DELETE issuer keeps the key, generate_root existing reuses it by default, a leaf verifies', async () => {
    const out = await runHvacScript('hvac-keys-default.py', [f.url, f.token]);
    const keyId = out.first.key_id as string;
    expect(out.keys_after_delete).toEqual({
      keys: [keyId],
      key_info: { [keyId]: { key_name: 'Hvac-Kept', key_type: 'rsa', is_default: true } },
    });
    expect(out.config_keys).toEqual({ default: keyId });
    expect(out.again.key_id).toBe(keyId);
    const firstPem = `${out.first.certificate}\n`;
    const againPem = `${out.again.certificate}\n`;
    expect(spkiOf(againPem).equals(spkiOf(firstPem))).toBe(true);
    const leafPem = `${out.leaf.certificate}\n`;
    for (const r of [
      opensslVerify({ leafPem, rootPem: againPem, purpose: 'sslserver' }),
      certtoolVerify({ leafPem, rootPem: againPem }),
    ])
      expect(r.ok, r.output).toBe(true);
    expect(out.bad_default).toMatch(/unable to find PKI key for reference: nope/);
  });
});
