// OpenBao's keys without an issuer: `keys/generate/internal|exported` makes a key through the authority (key custody's
// generateKey; `exported`: key custody's importKey of a key made here, its PEM answered once), recorded in the mount's
// settings and audited; `keys`/`key/:ref` list, read and rename it; `DELETE key/:ref` destroys an unused one and
// refuses one an issuer uses; `root/generate/existing` and `intermediate/generate/existing` hand it to the CA services
// by `key_ref`. Every CA made from such a key and its leaves are checked by openssl (certtool for one chain), the CA's
// public key against the key's; refusals leave the CA rows, key blobs and key entries as they were.
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl } from '../../../../tests/support/openssl-tools';
import { certtoolVerify, opensslCrlVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
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

/** what a refusal must leave as it was: CA rows, software key blobs, the mounts' key entries */
function counts(): { cas: number; blobs: number; entries: number } {
  const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  return {
    cas: one('SELECT count(*) AS n FROM certificate_authorities'),
    blobs: one('SELECT count(*) AS n FROM key_blobs'),
    entries: one("SELECT count(*) AS n FROM settings WHERE key LIKE 'vault.key.%'"),
  };
}

/** the subject key identifier (RFC 5280 method 1) of a public key, hex: what `key_id` names */
function skiOf(spkiDer: Buffer): string {
  // the subjectPublicKey BIT STRING is the SPKI's last element; its content after the unused-bits byte is hashed
  const key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  const jwk = key.export({ format: 'jwk' });
  const raw =
    jwk.kty === 'RSA'
      ? spkiDer.subarray(spkiDer.length - rsaBitStringLength(spkiDer))
      : jwk.kty === 'OKP'
        ? spkiDer.subarray(spkiDer.length - 32)
        : spkiDer.subarray(spkiDer.length - (jwk.crv === 'P-384' ? 97 : 65));
  return createHash('sha1').update(raw).digest('hex');
}
/** the RSA key's BIT STRING content length: the SPKI ends with it (the BIT STRING header precedes it) */
function rsaBitStringLength(spki: Buffer): number {
  // 30 82 LL LL | 30 0d <alg> | 03 82 LL LL 00 <RSAPublicKey>
  const bitString = spki.indexOf(Buffer.from([0x03, 0x82]), 4);
  return spki.readUInt16BE(bitString + 2) - 1;
}
const spkiOfCert = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });

async function issueLeaf(mount: string, rootPem: string, chain: string[] = []): Promise<void> {
  expect((await vaultCall(f, 'POST', `${mount}/roles/web`, WEB_ROLE)).status).toBe(200);
  const issued = await vaultCall(f, 'POST', `${mount}/issue/web`, { common_name: 'a.example.com', ttl: '1h' });
  expect(issued.status, issued.text).toBe(200);
  const v = opensslVerify({
    leafPem: `${issued.body.data.certificate}\n`,
    chainPems: chain,
    rootPem,
    purpose: 'sslserver',
    hostname: 'a.example.com',
  });
  expect(v.ok, v.output).toBe(true);
}

describe('keys/generate refusals', () => {
  it('refuses kms, unknown types, unsupported key types and bad names with a 400, making nothing', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/kr', { type: 'pki' })).status).toBe(204);
    const before = counts();
    for (const [type, body, message] of [
      ['kms', { external_key_ref: 'x' }, /^kms is not supported: PKI Manager does not take a key of an outside KMS/],
      ['bogus', {}, /^Unknown type of key to generate$/],
      ['internal', { key_type: 'ec', key_bits: 521 }, /key_bits failed: unsupported bit length for EC key: 521/],
      ['internal', { key_type: 'ec', key_bits: 224 }, /unsupported bit length for EC key: 224/],
      ['exported', { key_type: 'rsa', key_bits: 1024 }, /unsupported bit length for RSA key: 1024/],
      ['internal', { key_type: 'dsa' }, /unknown key type: dsa/],
      ['internal', { key_name: 'default' }, /^reserved keyword 'default' can not be used as key name$/],
      ['internal', { key_name: 'bad name' }, /^key name contained invalid characters$/],
      ['internal', { external_key_ref: 'x' }, /cannot specify "external_key_ref" on non-kms typed/],
    ] as const) {
      const r = await vaultCall(f, 'POST', `kr/keys/generate/${type}`, body);
      expect(r.status, `${type} ${JSON.stringify(body)} ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    expect(counts()).toEqual(before);
    expect((await vaultCall(f, 'LIST', 'kr/keys')).status).toBe(404);

    // a name is one key's: the second is refused, the first stays
    expect((await vaultCall(f, 'POST', 'kr/keys/generate/internal', { key_name: 'dup' })).status).toBe(200);
    const dup = await vaultCall(f, 'POST', 'kr/keys/generate/exported', { key_name: 'dup' });
    expect(dup.status).toBe(400);
    expect(dup.body.errors).toEqual(['key name already in use']);
    expect(counts()).toEqual({ ...before, blobs: before.blobs + 1, entries: before.entries + 1 });
    // a token without ca:write makes nothing
    const { token } = await f.authority.auth.createToken(
      { name: 'reader', role: 'auditor', expiresInMs: null },
      ACTORS.admin,
    );
    const denied = await vaultCall(f, 'POST', 'kr/keys/generate/internal', {}, { token });
    expect(denied.status).toBe(403);
    expect(counts()).toEqual({ ...before, blobs: before.blobs + 1, entries: before.entries + 1 });
  });
});

describe('keys/generate/internal', () => {
  it('answers no private key; listed (raw LIST and ?list=), read by id and name, renamed; audited', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/kg', { type: 'pki' })).status).toBe(204);
    const before = counts();
    const r = await vaultCall(f, 'POST', 'kg/keys/generate/internal', {
      key_name: 'k-ec',
      key_type: 'ec',
      key_bits: '384',
    });
    expect(r.status, r.text).toBe(200);
    const id = r.body.data.key_id as string;
    expect(r.body.data).toEqual({ key_id: expect.stringMatching(/^[0-9a-f]{40}$/), key_name: 'k-ec', key_type: 'ec' });
    expect(r.text).not.toMatch(/PRIVATE KEY/);
    expect(counts()).toEqual({ ...before, blobs: before.blobs + 1, entries: before.entries + 1 });

    // the mount's first key: its default key (OpenBao)
    const info = { [id]: { key_name: 'k-ec', key_type: 'ec', is_default: true } };
    const listed = await vaultCall(f, 'LIST', 'kg/keys');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.data).toEqual({ keys: [id], key_info: info });
    expect((await vaultCall(f, 'GET', 'kg/keys?list=true')).body.data).toEqual({ keys: [id], key_info: info });
    const entry = { key_id: id, key_name: 'k-ec', key_type: 'ec', subject_key_id: id.match(/../g)!.join(':') };
    expect((await vaultCall(f, 'GET', `kg/key/${id}`)).body.data).toEqual(entry);
    expect((await vaultCall(f, 'GET', 'kg/key/k-ec')).body.data).toEqual(entry);
    // the key of another mount is not this mount's
    expect((await vaultCall(f, 'GET', 'kr/key/k-ec')).status).toBe(404);

    const renamed = await vaultCall(f, 'POST', 'kg/key/k-ec', { key_name: 'k-ec2' });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body.data).toEqual({ ...entry, key_name: 'k-ec2' });
    expect((await vaultCall(f, 'GET', 'kg/key/k-ec')).status).toBe(404);
    expect((await vaultCall(f, 'GET', 'kg/key/k-ec2')).body.data.key_id).toBe(id);
    expect((await vaultCall(f, 'POST', 'kg/key/k-ec2', { key_name: 'default' })).status).toBe(400);

    const events = await f.authority.audit.list({ action: 'vault.key_generated', target: 'kg', limit: 5 });
    expect(events.map((e) => e.details)).toEqual([
      { keyId: id, keyName: 'k-ec', keyType: 'ec-p384', type: 'internal', backend: 'software', default: true },
    ]);
    const all = JSON.stringify(await f.authority.audit.list({ limit: 50 }));
    expect(all).not.toMatch(/PRIVATE KEY/);
  });

  it('intermediate/generate/existing uses it: the CSR and the CA carry its public key; a leaf verifies', async () => {
    const key = await vaultCall(f, 'POST', 'kg/keys/generate/internal', { key_name: 'k-int', key_type: 'ec' });
    expect(key.status, key.text).toBe(200);
    const keyId = key.body.data.key_id as string;
    // a signing mount: its root made from an internal key too
    // (a max lease of ten years: the root is not cut to the default 768h, so the intermediate fits within it)
    const ks = await vaultCall(f, 'POST', 'sys/mounts/ks', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    expect(ks.status).toBe(204);
    const rootKey = await vaultCall(f, 'POST', 'ks/keys/generate/internal', { key_name: 'root-key' });
    const root = await vaultCall(f, 'POST', 'ks/root/generate/existing', {
      key_ref: 'root-key',
      common_name: 'KS Root',
      ttl: '87600h',
    });
    expect(root.status, root.text).toBe(200);
    expect(root.body.data.key_id).toBe(rootKey.body.data.key_id);
    const rootPem = `${root.body.data.certificate}\n`;
    expect(skiOf(spkiOfCert(rootPem))).toBe(rootKey.body.data.key_id);
    expect(openssl(['x509', '-noout', '-text', '-in', '@r.pem'], { 'r.pem': rootPem }).output).toMatch(
      /Public-Key: \(2048 bit\)/,
    );

    const before = counts();
    const gen = await vaultCall(f, 'POST', 'kg/intermediate/generate/existing', {
      key_ref: keyId,
      common_name: 'KG Intermediate',
    });
    expect(gen.status, gen.text).toBe(200);
    expect(gen.body.data.key_id).toBe(keyId);
    // one pending CA, no new key
    expect(counts()).toEqual({ ...before, cas: before.cas + 1 });
    const csr = openssl(['req', '-verify', '-noout', '-in', '@c.csr'], { 'c.csr': `${gen.body.data.csr}\n` });
    expect(csr.ok, csr.output).toBe(true);
    const signed = await vaultCall(f, 'POST', 'ks/root/sign-intermediate', { csr: gen.body.data.csr, ttl: '8760h' });
    expect(signed.status, signed.text).toBe(200);
    const set = await vaultCall(f, 'POST', 'kg/intermediate/set-signed', { certificate: signed.body.data.certificate });
    expect(set.status, set.text).toBe(200);
    const interPem = `${signed.body.data.certificate}\n`;
    expect(skiOf(spkiOfCert(interPem))).toBe(keyId);
    expect((await vaultCall(f, 'GET', 'kg/issuer/default')).body.data.key_id).toBe(keyId);
    await issueLeaf('kg', rootPem, [interPem]);
    const ct = certtoolVerify({ leafPem: interPem, rootPem });
    expect(ct.ok, ct.output).toBe(true);

    // the key is in use: DELETE refused with OpenBao's message, nothing changed; the default key stays the mount's
    // first (k-ec2), as OpenBao's: an issuer's key need not be the default key
    const caId = (await vaultCall(f, 'GET', 'kg/issuer/default')).body.data.issuer_id as string;
    const del = await vaultCall(f, 'DELETE', `kg/key/k-int`);
    expect(del.status).toBe(400);
    expect(del.body.errors).toEqual([`Failed to Delete Key.  Key in Use by Issuer: ${caId}`]);
    const listed = await vaultCall(f, 'LIST', 'kg/keys');
    expect(listed.body.data.key_info[keyId]).toEqual({ key_name: 'k-int', key_type: 'ec', is_default: false });
    expect((await vaultCall(f, 'GET', 'kg/key/default')).body.data.key_name).toBe('k-ec2');
  });
});

describe('keys/generate/exported', () => {
  it('answers the PEM once; root/generate/existing makes a root with that very key; a leaf verifies', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/kx', { type: 'pki' })).status).toBe(204);
    const before = counts();
    const r = await vaultCall(f, 'POST', 'kx/keys/generate/exported', { key_name: 'k-rsa', key_bits: 3072 });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body.data).sort()).toEqual(['key_id', 'key_name', 'key_type', 'private_key']);
    expect(r.body.data).toMatchObject({ key_name: 'k-rsa', key_type: 'rsa' });
    const pem = `${r.body.data.private_key}\n`;
    const priv = createPrivateKey(pem);
    expect(priv.asymmetricKeyDetails?.modulusLength).toBe(3072);
    const pemSpki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
    expect(skiOf(pemSpki)).toBe(r.body.data.key_id);
    expect(openssl(['pkey', '-check', '-noout', '-in', '@k.pem'], { 'k.pem': pem }).ok).toBe(true);
    expect(counts()).toEqual({ ...before, blobs: before.blobs + 1, entries: before.entries + 1 });
    // never again: reads and lists carry no private key
    expect((await vaultCall(f, 'GET', 'kx/key/k-rsa')).text).not.toMatch(/PRIVATE/);
    expect((await vaultCall(f, 'LIST', 'kx/keys')).text).not.toMatch(/PRIVATE/);

    const root = await vaultCall(f, 'POST', 'kx/root/generate/existing', {
      key_ref: 'k-rsa',
      common_name: 'KX Root',
      issuer_name: 'kx-root',
      ttl: '87600h',
    });
    expect(root.status, root.text).toBe(200);
    expect(root.body.data).toMatchObject({ key_id: r.body.data.key_id, issuer_name: 'kx-root' });
    const rootPem = `${root.body.data.certificate}\n`;
    expect(spkiOfCert(rootPem).equals(pemSpki)).toBe(true);
    // openssl: the certificate's public key is the exported key's, and the root's self-signature verifies
    const certPub = openssl(['x509', '-noout', '-pubkey', '-in', '@c.pem'], { 'c.pem': rootPem });
    const keyPub = openssl(['pkey', '-pubout', '-in', '@k.pem'], { 'k.pem': pem });
    expect(certPub.ok && keyPub.ok).toBe(true);
    const PUB = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/;
    expect(PUB.exec(certPub.output)![0]).toBe(PUB.exec(keyPub.output)![0]);
    const self = opensslVerify({ leafPem: rootPem, rootPem });
    expect(self.ok, self.output).toBe(true);
    // one CA made, no key made for it (kms.key_created only for the generated key)
    expect(counts()).toEqual({ cas: before.cas + 1, blobs: before.blobs + 1, entries: before.entries + 1 });
    await issueLeaf('kx', rootPem);
    // the key keeps its own name beside the issuer's (OpenBao keeps them apart)
    expect((await vaultCall(f, 'GET', 'kx/key/default')).body.data).toMatchObject({ key_name: 'k-rsa' });
    expect((await vaultCall(f, 'GET', 'kx/issuer/default')).body.data.issuer_name).toBe('kx-root');
  });
});

describe('root/generate/existing refusals', () => {
  it('without a default key, an empty or unknown key_ref or a key a CA uses: 400, nothing made', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/ke', { type: 'pki' })).status).toBe(204);
    const before = counts();
    for (const [path, body, message] of [
      ['root/generate/existing', { common_name: 'X' }, /^no default key currently configured$/],
      ['intermediate/generate/existing', { common_name: 'X' }, /^no default key currently configured$/],
      ['root/generate/existing', { common_name: 'X', key_ref: '' }, /^missing argument key_ref for existing type/],
      ['root/generate/existing', { common_name: 'X', key_ref: 'nope' }, /^unable to find PKI key for reference: nope$/],
      // another mount's key is not this mount's
      ['root/generate/existing', { common_name: 'X', key_ref: 'k-rsa' }, /unable to find PKI key for reference/],
      ['root/generate/internal', { common_name: 'X', key_ref: 'k-rsa' }, /^key_ref cannot be given/],
    ] as const) {
      const r = await vaultCall(f, 'POST', `ke/${path}`, body);
      expect(r.status, `${path} ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    expect(counts()).toEqual(before);
    // a key a CA already uses (the mount's CA deleted from under it by `pkim ca delete` would free it)
    const k = await vaultCall(f, 'POST', 'ke/keys/generate/internal', { key_name: 'used' });
    const first = await vaultCall(f, 'POST', 'ke/root/generate/existing', { key_ref: 'used', common_name: 'KE' });
    expect(first.status, first.text).toBe(200);
    const mid = counts();
    // the CA services refuse a key another CA uses, whatever the channel
    await expect(
      f.authority.cas.create(
        {
          name: 'ke-other',
          subject: 'CN=KE Other',
          keyType: 'rsa-2048',
          keyUri: await uriOf('ke', k.body.data.key_id),
        },
        ACTORS.admin,
      ),
    ).rejects.toThrow(/the existing key is used by CA/);
    await expect(
      f.authority.cas.create(
        { name: 'ke-type', subject: 'CN=KE Type', keyType: 'ec-p256', keyUri: await uriOf('ke', k.body.data.key_id) },
        ACTORS.admin,
      ),
    ).rejects.toThrow(/the existing key is rsa-2048, not ec-p256/);
    expect(counts()).toEqual(mid);
  });
});

/** the key URI a mount's entry holds (read from the database: the Vault API never shows it) */
async function uriOf(mount: string, id: string): Promise<string> {
  const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(`vault.key.${mount}|${id}`) as {
    value: string;
  };
  return (JSON.parse(row.value) as { uri: string }).uri;
}

describe('DELETE key/:ref and unmount', () => {
  it('destroys an unused key; an unmount destroys the unused keys and keeps the one its CA uses', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/kd', { type: 'pki' })).status).toBe(204);
    const before = counts();
    const k = await vaultCall(f, 'POST', 'kd/keys/generate/internal', { key_name: 'k-del' });
    expect(counts().blobs).toBe(before.blobs + 1);
    const del = await vaultCall(f, 'DELETE', 'kd/key/k-del');
    expect(del.status, del.text).toBe(204);
    expect(counts()).toEqual(before);
    expect((await vaultCall(f, 'GET', 'kd/key/k-del')).status).toBe(404);
    const destroyed = await f.authority.audit.list({ action: 'kms.key_destroyed', limit: 5 });
    expect(destroyed.map((e) => e.details)).toContainEqual({ backend: 'software', keyId: k.body.data.key_id });
    const deleted = await f.authority.audit.list({ action: 'vault.key_deleted', target: 'kd', limit: 5 });
    expect(deleted.map((e) => e.details)).toEqual([{ keyId: k.body.data.key_id, keyName: 'k-del', wasDefault: true }]);

    // two unused keys and one a CA uses: the unmount removes the entries, destroys the two, keeps the CA's
    for (const n of ['u1', 'u2', 'used']) await vaultCall(f, 'POST', 'kd/keys/generate/internal', { key_name: n });
    const root = await vaultCall(f, 'POST', 'kd/root/generate/existing', { key_ref: 'used', common_name: 'KD' });
    expect(root.status, root.text).toBe(200);
    const mid = counts();
    expect((await vaultCall(f, 'DELETE', 'sys/mounts/kd')).status).toBe(204);
    expect(counts()).toEqual({ cas: mid.cas, blobs: mid.blobs - 2, entries: mid.entries - 3 });
    // the CA lives on with its key: it still signs (its CRL, checked by openssl)
    const crl = await f.authority.crl.generate(root.body.data.issuer_id, ACTORS.admin);
    const checked = opensslCrlVerify(crl.der, `${root.body.data.certificate}\n`);
    expect(checked.ok, checked.text).toBe(true);
  });
});

describe('hvac (python3-hvac)', () => {
  it('generates an exported key, lists, reads, renames it, makes a root from it; refusals', async () => {
    const out = await runHvacScript('hvac-keys.py', [f.url, f.token]);
    const id = out.generated.key_id as string;
    expect(out.generated).toMatchObject({ key_name: 'hk', key_type: 'ec' });
    const pem = `${out.generated.private_key}\n`;
    const pemSpki = createPublicKey(pem).export({ type: 'spki', format: 'der' });
    expect(skiOf(pemSpki)).toBe(id);
    const list = { keys: [id], key_info: { [id]: { key_name: 'hk', key_type: 'ec', is_default: true } } };
    expect(out.keys_verb).toEqual(list);
    expect(out.keys_query).toEqual(list);
    expect(out.key).toEqual({ key_id: id, key_name: 'hk', key_type: 'ec', subject_key_id: id.match(/../g)!.join(':') });
    expect(out.renamed.key_name).toBe('hk2');
    expect(out.kms).toMatch(/kms is not supported/);
    const rootPem = `${out.root.certificate}\n`;
    expect(out.root.key_id).toBe(id);
    expect(spkiOfCert(rootPem).equals(pemSpki)).toBe(true);
    expect(opensslText(rootPem)).toMatch(/ASN1 OID: secp384r1/);
    const v = opensslVerify({ leafPem: `${out.leaf.certificate}\n`, rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    expect(out.delete).toMatch(/^Failed to Delete Key\. {2}Key in Use by Issuer: ca_/);
  });
});

describe('node-vault', () => {
  it('generates keys, lists, reads, makes a root from one, deletes the unused one, is refused the other', async () => {
    const v = nodeVault({ endpoint: f.url, token: f.token });
    await v.mount({ mount_point: 'nv', type: 'pki', config: { max_lease_ttl: '87600h' } });
    const before = counts();
    const a = (await v.write('nv/keys/generate/internal', { key_name: 'nv-a', key_type: 'ed25519' })).data;
    const b = (await v.write('nv/keys/generate/internal', { key_name: 'nv-b' })).data;
    expect(a).toEqual({ key_id: expect.any(String), key_name: 'nv-a', key_type: 'ed25519' });
    expect(b).toMatchObject({ key_name: 'nv-b', key_type: 'rsa' });
    expect((await v.list('nv/keys')).data.keys).toEqual([a.key_id, b.key_id]);
    expect((await v.read(`nv/key/${a.key_id}`)).data.key_name).toBe('nv-a');
    const root = (await v.write('nv/root/generate/existing', { key_ref: 'nv-a', common_name: 'NV Root', ttl: '8760h' }))
      .data;
    expect(root.key_id).toBe(a.key_id);
    const rootPem = `${root.certificate}\n`;
    expect(skiOf(spkiOfCert(rootPem))).toBe(a.key_id);
    expect(opensslText(rootPem)).toMatch(/Public Key Algorithm: ED25519/);
    const self = opensslVerify({ leafPem: rootPem, rootPem });
    expect(self.ok, self.output).toBe(true);
    await v.delete('nv/key/nv-b');
    await expect(v.delete('nv/key/nv-a')).rejects.toMatchObject({ response: { statusCode: 400 } });
    expect((await v.list('nv/keys')).data.keys).toEqual([a.key_id]);
    expect(counts()).toEqual({ cas: before.cas + 1, blobs: before.blobs + 1, entries: before.entries + 1 });
  });
});

describe('issuers/import/bundle with a key the mount made', () => {
  it('binds the CA to the stored key (no second copy); a leaf verifies up to the openssl root', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/kb', { type: 'pki' })).status).toBe(204);
    const key = await vaultCall(f, 'POST', 'kb/keys/generate/exported', { key_name: 'kb', key_type: 'ec' });
    const keyPem = `${key.body.data.private_key}\n`;
    // a root self-signed by openssl with that key, outside PKI Manager
    const made = openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        '@k.pem',
        '-subj',
        '/CN=KB Root',
        '-days',
        '365',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      { 'k.pem': keyPem },
    );
    expect(made.ok, made.output).toBe(true);
    const rootPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(made.output)![0];
    const before = counts();
    const r = await vaultCall(f, 'POST', 'kb/issuers/import/bundle', { pem_bundle: `${rootPem}${keyPem}` });
    expect(r.status, r.text).toBe(200);
    const caId = (await vaultCall(f, 'GET', 'kb/issuer/default')).body.data.issuer_id as string;
    expect(r.body.data).toEqual({
      mapping: { [caId]: key.body.data.key_id },
      imported_issuers: [caId],
      imported_keys: [],
      existing_issuers: [],
      existing_keys: [key.body.data.key_id],
    });
    // one CA row, no new key blob
    expect(counts()).toEqual({ ...before, cas: before.cas + 1 });
    expect((await vaultCall(f, 'DELETE', 'kb/key/kb')).status).toBe(400);
    await issueLeaf('kb', rootPem);
  });
});
