// One key, several issuers (OpenBao's `key_ref`): `root/generate/existing` twice with one key — two roots, then a
// third with the first one's subject — and `intermediate/generate/existing` on it too. Every certificate carries the
// same public key (openssl); leaves of each issuer verify under their own root (openssl, certtool); each issuer signs
// its own CRL (openssl, certtool, Go: only the revoked leaf's issuer lists it); the mount's OCSP answers a leaf of
// either of the two roots sharing subject and key by the one that issued it (openssl ocsp); `keys` lists the key once;
// `DELETE key/:ref` is refused while an issuer uses it; `DELETE root` deletes every issuer and destroys the key once,
// with its last user (one key blob less, one `kms.key_destroyed`). `pkim ca create` (the CA services without
// `shareKeyWith`) still refuses a key a CA uses. hvac (generic write) and node-vault make two roots on one key too.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certtoolVerify,
  opensslCrlVerify,
  opensslOcspCheck,
  opensslOcspRequest,
  opensslRaw,
  opensslVerify,
} from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
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

const blobs = () => (db.prepare('SELECT count(*) AS n FROM key_blobs').get() as { n: number }).n;
const spkiOf = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
const pemOf = (r: { body: { data: { certificate: string } } }) => `${r.body.data.certificate}\n`;

async function rootOn(key: string, name: string, cn: string) {
  const r = await vaultCall(f, 'POST', 'sk/root/generate/existing', {
    key_ref: key,
    common_name: cn,
    issuer_name: name,
    ttl: '8760h',
  });
  expect(r.status, r.text).toBe(200);
  return { pem: pemOf(r), id: r.body.data.issuer_id as string, keyId: r.body.data.key_id as string };
}

async function leafOf(issuer: string, cn: string) {
  const r = await vaultCall(f, 'POST', `sk/issuer/${issuer}/issue/web`, { common_name: cn, ttl: '1h' });
  expect(r.status, r.text).toBe(200);
  return { pem: pemOf(r), serial: r.body.data.serial_number as string };
}

describe('one key, several issuers', () => {
  it('three roots on one key: leaves, CRLs, OCSP, keys, DELETE root destroying it once', async () => {
    expect(
      (await vaultCall(f, 'POST', 'sys/mounts/sk', { type: 'pki', config: { max_lease_ttl: '87600h' } })).status,
    ).toBe(204);
    const key = await vaultCall(f, 'POST', 'sk/keys/generate/internal', { key_name: 'shared', key_type: 'ec' });
    expect(key.status, key.text).toBe(200);
    const keyId = key.body.data.key_id as string;
    expect((await vaultCall(f, 'POST', 'sk/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);
    const blobsBefore = blobs();

    const a = await rootOn('shared', 'sk-a', 'SK Root');
    const b = await rootOn('shared', 'sk-b', 'SK Root B');
    // the first root's key by its issuer's name, and a root with the first one's very subject
    const a2 = await rootOn('sk-a', 'sk-a2', 'SK Root');
    for (const r of [a, b, a2]) {
      expect(r.keyId).toBe(keyId);
      expect(spkiOf(r.pem).equals(spkiOf(a.pem))).toBe(true);
    }
    expect(blobs()).toBe(blobsBefore); // no copy of the key
    expect(await f.authority.audit.list({ action: 'kms.key_created', target: undefined, limit: 200 })).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ details: expect.objectContaining({ caId: b.id }) })]),
    );

    // the key listed once; each issuer names it
    const keys = await vaultCall(f, 'LIST', 'sk/keys');
    expect(keys.status, keys.text).toBe(200);
    expect(keys.body.data.keys).toEqual([keyId]);
    for (const r of [a, b, a2]) expect((await vaultCall(f, 'GET', `sk/issuer/${r.id}`)).body.data.key_id).toBe(keyId);
    const inUse = await vaultCall(f, 'DELETE', 'sk/key/shared');
    expect(inUse.status).toBe(400);
    expect(inUse.body.errors[0]).toMatch(/^Failed to Delete Key. {2}Key in Use by Issuer: /);

    // leaves of each issuer verify under their own root (openssl, certtool)
    const leafA = await leafOf('sk-a', 'a.example.com');
    const leafB = await leafOf('sk-b', 'b.example.com');
    const leafA2 = await leafOf('sk-a2', 'a2.example.com');
    for (const [leaf, root] of [
      [leafA, a],
      [leafB, b],
      [leafA2, a2],
    ] as const) {
      const v = opensslVerify({ leafPem: leaf.pem, rootPem: root.pem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
      const c = certtoolVerify({ leafPem: leaf.pem, rootPem: root.pem });
      expect(c.ok, c.output).toBe(true);
    }
    expect(opensslVerify({ leafPem: leafB.pem, rootPem: a.pem }).ok).toBe(false);

    // each issuer signs its own CRL: the revoked leaf of sk-b on sk-b's only
    expect((await vaultCall(f, 'POST', 'sk/revoke', { serial_number: leafB.serial })).status).toBe(200);
    const crlOf = async (ref: string) =>
      new Uint8Array(await (await fetch(`${f.url}/v1/sk/issuer/${ref}/crl/der`)).arrayBuffer());
    const hexB = leafB.serial.replace(/:/g, '').toUpperCase();
    const crlB = opensslCrlVerify(await crlOf('sk-b'), b.pem);
    expect(crlB.ok, crlB.text).toBe(true);
    expect(crlB.text.toUpperCase()).toContain(hexB);
    const crlA = opensslCrlVerify(await crlOf('sk-a'), a.pem);
    expect(crlA.ok, crlA.text).toBe(true);
    expect(crlA.text.toUpperCase()).not.toContain(hexB);

    // OCSP: sk-a and sk-a2 share issuer name and key (one CertID issuer): each leaf answered by its own issuer
    expect((await vaultCall(f, 'POST', 'sk/revoke', { serial_number: leafA2.serial })).status).toBe(200);
    const ocsp = async (leafPem: string, issuerPem: string) => {
      const res = await fetch(`${f.url}/v1/sk/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: opensslOcspRequest({ issuerPem, leafPem }),
      });
      expect(res.status).toBe(200);
      const der = new Uint8Array(await res.arrayBuffer());
      return opensslOcspCheck({ responseDer: der, issuerPem, caFilePem: issuerPem, leafPem });
    };
    for (const [leaf, issuer, status] of [
      [leafA, a, 'good'],
      [leafA2, a2, 'revoked'],
      [leafB, b, 'revoked'],
    ] as const) {
      const r = await ocsp(leaf.pem, issuer.pem);
      expect(r.ok, r.output).toBe(true);
      expect(r.output).toMatch(new RegExp(`leaf\\.pem: ${status}`));
    }

    // the CA services refuse the key to a CA made outside the mount's issuers (pkim ca create)
    const uri = (await f.authority.cas.get(a.id)).ca.keyUri;
    await expect(
      f.authority.cas.create(
        { name: 'sk-outside', subject: 'CN=SK Outside', keyType: 'ec-p256', keyUri: uri },
        ACTORS.admin,
      ),
    ).rejects.toThrow(/the existing key is used by CA/);

    // DELETE root: every issuer goes, the key once, with its last user
    for (const ref of ['sk-a', 'sk-b', 'sk-a2'])
      expect((await vaultCall(f, 'POST', `sk/issuer/${ref}/revoke`)).status).toBe(200);
    const wiped = await vaultCall(f, 'DELETE', 'sk/root');
    expect(wiped.status, wiped.text).toBe(200);
    const said = (wiped.body.warnings as string[]).join('\n');
    // the default last: sk-a2 and sk-b go first, each naming the issuers still on the key
    expect(said.match(/its key is kept: CA [^\n]* use it too/g)).toHaveLength(2);
    expect(said).toMatch(/CA sk-b \S+ was deleted; its key is kept: CA sk-a \(\S+\) use it too/);
    expect(said.match(/and its key destroyed in its key backend/g)).toHaveLength(1);
    expect(blobs()).toBe(blobsBefore - 1);
    const destroyed = await f.authority.audit.list({ action: 'kms.key_destroyed', target: uri, limit: 10 });
    expect(destroyed).toHaveLength(1);
    expect(await f.authority.audit.list({ action: 'kms.key_destroy_failed', target: uri, limit: 10 })).toEqual([]);
    expect((await vaultCall(f, 'LIST', 'sk/keys')).status).toBe(404);
    const audit = await f.authority.audit.verify();
    expect(audit.ok, JSON.stringify(audit)).toBe(true);
  });

  it('a root and an intermediate on one key; cas.delete of one keeps the key for the other', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/ski', { type: 'pki' })).status).toBe(204);
    const key = await vaultCall(f, 'POST', 'ski/keys/generate/internal', { key_name: 'shared', key_type: 'ec' });
    expect(key.status, key.text).toBe(200);
    expect((await vaultCall(f, 'POST', 'ski/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);
    const root = await vaultCall(f, 'POST', 'ski/root/generate/existing', {
      key_ref: 'shared',
      common_name: 'SKI Root',
      issuer_name: 'ski-root',
      ttl: '700h',
    });
    expect(root.status, root.text).toBe(200);
    const rootPem = pemOf(root);
    // an intermediate on the same key: its CSR carries it; signed by another mount's root, set on this one
    const gen = await vaultCall(f, 'POST', 'ski/intermediate/generate/existing', {
      key_ref: 'shared',
      common_name: 'SK Intermediate',
      issuer_name: 'sk-int',
    });
    expect(gen.status, gen.text).toBe(200);
    const csrPub = opensslRaw(['req', '-noout', '-pubkey'], Buffer.from(`${gen.body.data.csr}\n`));
    expect(csrPub.status, csrPub.output).toBe(0);
    expect(csrPub.stdout.trim()).toBe(
      String(new X509Certificate(rootPem).publicKey.export({ type: 'spki', format: 'pem' })).trim(),
    );
    expect((await vaultCall(f, 'POST', 'sys/mounts/skr', { type: 'pki' })).status).toBe(204);
    const outer = await vaultCall(f, 'POST', 'skr/root/generate/internal', { common_name: 'SK Outer', ttl: '8760h' });
    expect(outer.status, outer.text).toBe(200);
    const signed = await vaultCall(f, 'POST', 'skr/root/sign-intermediate', {
      csr: gen.body.data.csr,
      common_name: 'SK Intermediate',
      ttl: '100h',
    });
    expect(signed.status, signed.text).toBe(200);
    const set = await vaultCall(f, 'POST', 'ski/intermediate/set-signed', {
      certificate: signed.body.data.certificate,
    });
    expect(set.status, set.text).toBe(200);
    const intPem = pemOf(signed);

    const leafInt = await vaultCall(f, 'POST', 'ski/issuer/sk-int/issue/web', { common_name: 'i.example.com' });
    expect(leafInt.status, leafInt.text).toBe(200);
    expect(leafInt.body.data.issuer_id).not.toBe(root.body.data.issuer_id);
    const vi = opensslVerify({ leafPem: pemOf(leafInt), chainPems: [intPem], rootPem: pemOf(outer) });
    expect(vi.ok, vi.output).toBe(true);
    const ci = certtoolVerify({ leafPem: pemOf(leafInt), chainPems: [intPem], rootPem: pemOf(outer) });
    expect(ci.ok, ci.output).toBe(true);
    expect((await vaultCall(f, 'GET', 'ski/issuer/sk-int')).body.data.key_id).toBe(key.body.data.key_id);

    // the root deleted with destroyKey (as pkim ca delete --destroy-key): the key stays, the intermediate's
    const rootId = root.body.data.issuer_id as string;
    expect((await vaultCall(f, 'POST', 'ski/issuer/ski-root/revoke')).status).toBe(200);
    const before = blobs();
    const gone = await f.authority.cas.delete(rootId, { destroyKey: true }, ACTORS.admin);
    expect(gone.keyDestroyed).toBe(false);
    expect(gone.keyInUseBy).toEqual([
      { id: (await vaultCall(f, 'GET', 'ski/issuer/sk-int')).body.data.issuer_id, name: 'sk-int' },
    ]);
    expect(blobs()).toBe(before);
    const deleted = await f.authority.audit.list({ action: 'ca.deleted', target: rootId, limit: 5 });
    expect(deleted.map((e) => e.details.keyInUseBy)).toEqual([gone.keyInUseBy!.map((c) => c.id)]);
    const after = await vaultCall(f, 'POST', 'ski/issuer/sk-int/issue/web', { common_name: 'j.example.com' });
    expect(after.status, after.text).toBe(200);
    const va = opensslVerify({ leafPem: pemOf(after), chainPems: [intPem], rootPem: pemOf(outer) });
    expect(va.ok, va.output).toBe(true);
  });

  it('hvac and node-vault: two roots on one key_ref, a leaf of each verified by openssl', async () => {
    const out = await runHvacScript('hvac-shared-key.py', [f.url, f.token]);
    expect(out.first.key_id).toBe(out.key.key_id);
    expect(out.second.key_id).toBe(out.key.key_id);
    expect(out.keys.keys).toEqual([out.key.key_id]);
    for (const [leaf, root] of [
      [out.leaf_first, out.first],
      [out.leaf_second, out.second],
    ]) {
      const v = opensslVerify({ leafPem: `${leaf.certificate}\n`, rootPem: `${root.certificate}\n` });
      expect(v.ok, v.output).toBe(true);
    }

    const v = nodeVault({ endpoint: f.url, token: f.token });
    await v.mount({ mount_point: 'nvsk', type: 'pki' });
    const k = await v.write('nvsk/keys/generate/internal', { key_name: 'nk', key_type: 'ec' });
    const r1 = (await v.write('nvsk/root/generate/existing', { key_ref: 'nk', common_name: 'NV SK 1' })).data;
    const r2 = (await v.write('nvsk/root/generate/existing', { key_ref: 'nk', common_name: 'NV SK 2' })).data;
    expect([r1.key_id, r2.key_id]).toEqual([k.data.key_id, k.data.key_id]);
    expect(spkiOf(`${r1.certificate}\n`).equals(spkiOf(`${r2.certificate}\n`))).toBe(true);
    await v.write('nvsk/roles/web', { ...WEB_ROLE, key_type: 'ec' });
    const leaf = (await v.write(`nvsk/issuer/${r2.issuer_id}/issue/web`, { common_name: 'nv.example.com' })).data;
    const ok = opensslVerify({ leafPem: `${leaf.certificate}\n`, rootPem: `${r2.certificate}\n` });
    expect(ok.ok, ok.output).toBe(true);
  });
});
