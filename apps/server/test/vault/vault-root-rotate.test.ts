// OpenBao's `root/rotate/:type`: a new root with a new key, an issuer of the mount named `next` that is not its
// default until a `config/issuers` write names it. After a root signed here it is that root's successor made by the CA
// lifecycle (`cas.rotate`, as `pkim ca rotate`): linked to it, with a cross certificate signed by the old root in its
// history (openssl verifies it under the old root; the old root's OCSP answers good for it). The mount keeps issuing
// under the old root meanwhile; `root/sign-self-issued` cross-signs the new root with the old one too; after the
// switch leaves verify under the new root (openssl, certtool) and, through either cross certificate, from the old root
// alone (openssl, Go); a leaf issued before the rotation still verifies under the old root. Refusals leave the CA rows
// and the mount's issuer as they were; hvac (generic write) and node-vault rotate too.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certtoolVerify,
  goVerify,
  opensslOcspCheck,
  opensslOcspRequest,
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

const caRows = () => (db.prepare('SELECT count(*) AS n FROM certificate_authorities').get() as { n: number }).n;
const spki = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });

async function issue(mount: string, cn: string): Promise<string> {
  const r = await vaultCall(f, 'POST', `${mount}/issue/web`, { common_name: cn, ttl: '1h' });
  expect(r.status, r.text).toBe(200);
  return `${r.body.data.certificate}\n`;
}

describe('root/rotate/internal', () => {
  it('makes a new root that is not the default; config/issuers switches; the cross path verifies', async () => {
    const mk = await vaultCall(f, 'POST', 'sys/mounts/rr', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    expect(mk.status).toBe(204);
    const old = await vaultCall(f, 'POST', 'rr/root/generate/internal', {
      common_name: 'Rotating Root',
      key_type: 'ec',
      ttl: '8760h',
    });
    expect(old.status, old.text).toBe(200);
    const oldPem = `${old.body.data.certificate}\n`;
    const oldId = old.body.data.issuer_id as string;
    expect((await vaultCall(f, 'POST', 'rr/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);
    const oldLeaf = await issue('rr', 'old.example.com');

    const before = caRows();
    const r = await vaultCall(f, 'POST', 'rr/root/rotate/internal', {
      common_name: 'Rotating Root',
      key_type: 'ec',
      key_bits: 384,
      ttl: '17520h',
    });
    expect(r.status, r.text).toBe(200);
    const next = r.body.data;
    expect(Object.keys(next).sort()).toEqual([
      'certificate',
      'expiration',
      'issuer_id',
      'issuer_name',
      'issuing_ca',
      'key_id',
      'key_name',
      'serial_number',
    ]);
    expect(next.issuer_id).not.toBe(oldId);
    expect(next.issuer_name).toBe('next');
    expect(next.key_id).not.toBe(old.body.data.key_id);
    expect(next.issuing_ca).toBe(next.certificate);
    expect(r.body.warnings).toContainEqual(
      expect.stringMatching(/is not the mount's default issuer \(ca_\w+\): write config\/issuers/),
    );
    const nextPem = `${next.certificate}\n`;
    expect(spki(nextPem).equals(spki(oldPem))).toBe(false);
    for (const v of [
      opensslVerify({ leafPem: nextPem, rootPem: nextPem }),
      certtoolVerify({ leafPem: nextPem, rootPem: nextPem }),
    ])
      expect(v.ok, v.output).toBe(true);
    expect(caRows()).toBe(before + 1);
    const rotated = await f.authority.audit.list({ action: 'vault.root_rotated', target: 'rr', limit: 5 });
    expect(rotated.map((e) => e.details)).toEqual([{ caId: oldId, nextCaId: next.issuer_id }]);

    // made by the CA lifecycle as `pkim ca rotate`: the old root's successor, a cross certificate in its history
    const shown = await f.authority.cas.get(next.issuer_id);
    expect(shown.ca.predecessorId).toBe(oldId);
    const lifecycle = await f.authority.audit.list({ action: 'ca.rotated', target: oldId, limit: 5 });
    expect(lifecycle.map((e) => e.details.successorId)).toEqual([next.issuer_id]);
    const history = shown.ca.certificateHistory ?? [];
    expect(history.map((h) => h.kind)).toEqual(['cross']);
    const builtIn = `${history[0]!.certificatePem.trim()}\n`;
    expect(spki(builtIn).equals(spki(nextPem))).toBe(true);
    expect(new X509Certificate(builtIn).subject).toBe(new X509Certificate(nextPem).subject);
    const crossOk = opensslVerify({ leafPem: builtIn, rootPem: oldPem });
    expect(crossOk.ok, crossOk.output).toBe(true);
    const ocsp = await f.authority.ocsp.respond(opensslOcspRequest({ issuerPem: oldPem, leafPem: builtIn }));
    const ocspOk = opensslOcspCheck({ responseDer: ocsp.der, issuerPem: oldPem, caFilePem: oldPem, leafPem: builtIn });
    expect(ocspOk.ok, ocspOk.output).toBe(true);
    expect(ocspOk.output).toMatch(/: good\b/);
    // a leaf issued before the rotation still verifies under the old root
    const old1 = opensslVerify({ leafPem: oldLeaf, rootPem: oldPem, purpose: 'sslserver' });
    expect(old1.ok, old1.output).toBe(true);

    // not the default: the mount still issues under the old root
    expect((await vaultCall(f, 'GET', 'rr/config/issuers')).body.data.default).toBe(oldId);
    expect((await vaultCall(f, 'GET', 'rr/issuer/default')).body.data.issuer_id).toBe(oldId);
    const before1 = opensslVerify({ leafPem: await issue('rr', 'a.example.com'), rootPem: oldPem });
    expect(before1.ok, before1.output).toBe(true);

    // the cross-signing step: the old root certifies the new root's key
    const crossed = await vaultCall(f, 'POST', 'rr/root/sign-self-issued', { certificate: next.certificate });
    expect(crossed.status, crossed.text).toBe(200);
    const cross = `${crossed.body.data.certificate}\n`;

    // the switch: root/replace (OpenBao's alias of config/issuers' write) names `next` when not given
    const sw = await vaultCall(f, 'POST', 'rr/root/replace', {});
    expect(sw.status, sw.text).toBe(200);
    expect(sw.body.data).toEqual({ default: next.issuer_id, default_follows_latest_issuer: false });
    expect((await vaultCall(f, 'GET', 'rr/issuer/default')).body.data.issuer_id).toBe(next.issuer_id);
    const leaf = await issue('rr', 'b.example.com');
    for (const v of [
      opensslVerify({ leafPem: leaf, rootPem: nextPem, purpose: 'sslserver' }),
      certtoolVerify({ leafPem: leaf, rootPem: nextPem }),
      // a relying party that trusts only the old root, through the cross certificate
      opensslVerify({ leafPem: leaf, chainPems: [cross], rootPem: oldPem, purpose: 'sslserver' }),
      goVerify({ leafPem: leaf, intermediatesPems: [cross], rootPem: oldPem }),
      opensslVerify({ leafPem: leaf, chainPems: [builtIn], rootPem: oldPem, purpose: 'sslserver' }),
      goVerify({ leafPem: leaf, intermediatesPems: [builtIn], rootPem: oldPem }),
    ])
      expect(v.ok, v.output).toBe(true);
    expect(opensslVerify({ leafPem: leaf, rootPem: oldPem }).ok).toBe(false);
    const bound = await f.authority.audit.list({ action: 'vault.default_issuer_set', target: 'rr', limit: 5 });
    expect(bound.map((e) => e.details)).toContainEqual({
      caId: next.issuer_id,
      previousCaId: oldId,
      followsLatest: false,
    });

    // and back: the old root is one the mount had (root/replace has no default_follows_latest_issuer: ignored)
    const back = await vaultCall(f, 'POST', 'rr/root/replace', { default: oldId, default_follows_latest_issuer: true });
    expect(back.status, back.text).toBe(200);
    expect(back.body.data).toEqual({ default: oldId, default_follows_latest_issuer: false });
    expect((await vaultCall(f, 'GET', 'rr/config/issuers')).body.data.default).toBe(oldId);
    // config/issuers by name switches too
    const byName = await vaultCall(f, 'POST', 'rr/config/issuers', { default: 'next' });
    expect(byName.body.data).toEqual({ default: next.issuer_id, default_follows_latest_issuer: false });
    expect((await vaultCall(f, 'POST', 'rr/config/issuers', { default: oldId })).status).toBe(200);
    const again = opensslVerify({ leafPem: await issue('rr', 'c.example.com'), rootPem: oldPem });
    expect(again.ok, again.output).toBe(true);
  });

  it('refuses bad input with a 400 and a token without ca:write with a 403, making and switching nothing', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/rx', { type: 'pki' })).status).toBe(204);
    const root = await vaultCall(f, 'POST', 'rx/root/generate/internal', { common_name: 'RX Root', key_type: 'ec' });
    expect(root.status, root.text).toBe(200);
    const before = caRows();
    for (const [path, body, message] of [
      ['root/rotate/exported', { common_name: 'X' }, /^exported is not supported/],
      ['root/rotate/kms', { common_name: 'X' }, /^kms is not supported/],
      ['root/rotate/internal', { common_name: 'X', issuer_name: 'RX-Root' }, /RX-Root/],
      ['root/rotate/internal', { common_name: 'X', key_type: 'ec', key_bits: 521 }, /unsupported bit length/],
      ['root/rotate/internal', { common_name: '' }, /common_name field is required/],
      // a CA that is no issuer of this mount cannot become its default
      ['config/issuers', { default: f.rootCaId }, /unable to find PKI issuer for reference/],
      // root/replace: config/issuers' refusals; `next` by default — here another mount's issuer (rr's)
      ['root/replace', { default: f.rootCaId }, /unable to find PKI issuer for reference/],
      ['root/replace', {}, /^Error resolving issuer reference: unable to find PKI issuer for reference: next$/],
      [
        'root/replace',
        { default: 'default' },
        /^Invalid issuer specification; must be non-empty and can't be 'default'/,
      ],
      ['root/replace', { default: '' }, /^Invalid issuer specification/],
    ] as const) {
      const r = await vaultCall(f, 'POST', `rx/${path}`, body);
      expect(r.status, `${path} ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    expect((await vaultCall(f, 'POST', 'rx/root/rotate/internal', { common_name: 'X' }, { token })).status).toBe(403);
    const replaced = await vaultCall(f, 'POST', 'rx/root/replace', { default: root.body.data.issuer_id }, { token });
    expect(replaced.status).toBe(403);
    expect(caRows()).toBe(before);
    expect((await vaultCall(f, 'GET', 'rx/config/issuers')).body.data.default).toBe(root.body.data.issuer_id);
    // on a mount without a CA it is root/generate: the new root is the mount's issuer
    expect((await vaultCall(f, 'POST', 'sys/mounts/rfirst', { type: 'pki' })).status).toBe(204);
    const first = await vaultCall(f, 'POST', 'rfirst/root/rotate/internal', { common_name: 'First', key_type: 'ec' });
    expect(first.status, first.text).toBe(200);
    // `next` is taken (by rr's): named after its common name, said in a warning
    expect(first.body.data.issuer_name).toBe('First');
    expect(first.body.warnings).toContainEqual(expect.stringMatching(/^a CA named 'next' exists already.*'First'/));
    expect((await vaultCall(f, 'GET', 'rfirst/issuer/default')).body.data.issuer_id).toBe(first.body.data.issuer_id);
  });
});

describe('hvac and node-vault', () => {
  it('hvac rotates and switches by its generic write; the leaf verifies under the new root', async () => {
    const out = await runHvacScript('hvac-root-rotate.py', [f.url, f.token]);
    expect(out.next.issuer_id).not.toBe(out.old.issuer_id);
    expect(out.before.default).toBe(out.old.issuer_id);
    expect(out.switched.default).toBe(out.next.issuer_id);
    // `next` taken: named after the root it succeeds (cas.rotate), which it succeeds
    expect(out.next.issuer_name).toBe('Hvac-Rot-2');
    expect(out.next_warnings).toContainEqual(expect.stringMatching(/^a CA named 'next' exists already/));
    expect((await f.authority.cas.get(out.next.issuer_id)).ca.predecessorId).toBe(out.old.issuer_id);
    const rootPem = `${out.next.certificate}\n`;
    const leafPem = `${out.leaf.certificate}\n`;
    for (const v of [opensslVerify({ leafPem, rootPem }), certtoolVerify({ leafPem, rootPem })])
      expect(v.ok, v.output).toBe(true);
  });

  it('node-vault rotates; the old root stays the default until config/issuers is written', async () => {
    const v = nodeVault({ endpoint: f.url, token: f.token });
    await v.mount({ mount_point: 'nrot', type: 'pki', config: { max_lease_ttl: '87600h' } });
    const old = (await v.write('nrot/root/generate/internal', { common_name: 'NRot', key_type: 'ec' })).data;
    const next = (await v.write('nrot/root/rotate/internal', { common_name: 'NRot', key_type: 'ed25519' })).data;
    expect((await v.read('nrot/config/issuers')).data.default).toBe(old.issuer_id);
    const pem = `${next.certificate}\n`;
    const self = opensslVerify({ leafPem: pem, rootPem: pem });
    expect(self.ok, self.output).toBe(true);
    await v.write('nrot/config/issuers', { default: next.issuer_id });
    expect((await v.read('nrot/config/issuers')).data.default).toBe(next.issuer_id);
    await expect(v.write('nrot/root/rotate/exported', { common_name: 'X' })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
  });
});
