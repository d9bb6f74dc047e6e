// A mount bootstrapped the Vault way over raw HTTP: `sys/mounts/<path>` without `options.ca` (what `vault secrets
// enable pki` sends) makes a mount with no CA — what it answers before it has one — then `root/generate/internal`
// (and `issuers/generate/root/internal`) makes a root CA through the authority's CA creation service (`pkim ca
// create`: the signing pipeline, audited) and binds the mount to it. The root is checked by openssl and certtool, a
// leaf issued through the mount verifies up to it; refusals (`exported`, `kms`, `existing`, a mount that already has
// its issuer) change nothing.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certtoolVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const anon = { token: null };
const caCount = async () => (await f.authority.cas.list()).length;
const vaultSerial = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase().match(/../g)!.join(':');

describe('sys/mounts/<path> without options.ca', () => {
  it('makes a mount with no CA: 204, listed with options null; it answers as a mount without an issuer', async () => {
    const enabled = await vaultCall(f, 'POST', 'sys/mounts/boot', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    expect(enabled.status, enabled.text).toBe(204);
    const read = await vaultCall(f, 'GET', 'sys/mounts/boot');
    expect(read.status).toBe(200);
    expect(read.body.data).toMatchObject({ type: 'pki', options: null, config: { max_lease_ttl: 87600 * 3600 } });
    const events = await f.authority.audit.list({ action: 'vault.mount_created', target: 'boot', limit: 5 });
    expect(events.map((e) => e.details)).toEqual([{ caId: null, caName: null }]);

    // no CA yet: CA material empty (204) or 404, no issuer, issuance refused with OpenBao's 400
    expect((await vaultCall(f, 'GET', 'boot/ca/pem', undefined, anon)).status).toBe(204);
    expect((await vaultCall(f, 'GET', 'boot/cert/ca', undefined, anon)).status).toBe(404);
    expect((await vaultCall(f, 'GET', 'boot/issuers?list=true', undefined, anon)).status).toBe(404);
    expect((await vaultCall(f, 'GET', 'boot/issuer/default')).status).toBe(404);
    expect((await vaultCall(f, 'GET', 'boot/config/issuers')).body.data).toEqual({
      default: '',
      default_follows_latest_issuer: false,
    });
    expect((await vaultCall(f, 'GET', 'boot/config/keys')).body.data).toEqual({ default: '' });
    expect((await vaultCall(f, 'POST', 'boot/config/keys', { default: 'some-key' })).status).toBe(400);
    expect((await vaultCall(f, 'POST', 'boot/roles/web', WEB_ROLE)).status).toBe(200);
    const issue = await vaultCall(f, 'POST', 'boot/issue/web', { common_name: 'a.example.com' });
    expect(issue.status).toBe(400);
    expect(issue.body.errors).toEqual([
      'could not fetch the CA certificate (was one set?): unable to find PKI issuer for reference: default',
    ]);
    // config/crl sets the CA's CRL and OCSP lifetimes: refused until there is one (config/urls is kept on the mount:
    // vault-config-urls-early.test.ts)
    const crl = await vaultCall(f, 'POST', 'boot/config/crl', { expiry: '48h' });
    expect(crl.status).toBe(400);
    expect(crl.body.errors[0]).toMatch(/^mount boot has no issuer yet: generate one first \(root\/generate/);
    // options.ca given but empty: a 400, nothing mounted
    const bad = await vaultCall(f, 'POST', 'sys/mounts/boot-bad', { type: 'pki', options: { ca: '' } });
    expect(bad.status).toBe(400);
    expect((await vaultCall(f, 'GET', 'sys/mounts/boot-bad')).status).toBe(404);
  });
});

describe('root/generate/internal', () => {
  it('refuses exported, kms, existing and a SAN with a 400, making nothing', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/refused', { type: 'pki' });
    const before = await caCount();
    for (const [path, body, message] of [
      ['root/generate/exported', { common_name: 'X' }, /^exported is not supported: CA private keys never leave/],
      ['root/generate/kms', { common_name: 'X' }, /^kms is not supported/],
      // key_ref defaults to the mount's default key (OpenBao), which a mount without keys has not
      ['issuers/generate/root/existing', { common_name: 'X' }, /^no default key currently configured$/],
      ['issuers/generate/root/existing', { common_name: 'X', key_ref: '' }, /^missing argument key_ref for existing/],
      ['root/generate/bogus', { common_name: 'X' }, /must be "internal", "existing", "exported" or "kms"/],
      ['root/generate/internal', { common_name: 'X', alt_names: 'x.example.com' }, /alt_names cannot be given/],
      ['root/generate/internal', { common_name: 'X', key_type: 'ec', key_bits: 521 }, /unsupported bit length/],
      ['root/generate/internal', { common_name: '' }, /common_name field is required/],
      ['root/generate/internal', { common_name: 'X', issuer_name: 'default' }, /reserved keyword 'default'/],
    ] as const) {
      const r = await vaultCall(f, 'POST', `refused/${path}`, body);
      expect(r.status, `${path} ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    expect(await caCount()).toBe(before);
    expect((await f.authority.vault.mounts.requireMount('refused')).caId).toBe('');
  });

  it('makes a root CA in the key backend, binds the mount to it; openssl, certtool check it and a leaf', async () => {
    const before = await caCount();
    const r = await vaultCall(f, 'POST', 'boot/root/generate/internal', {
      common_name: 'Boot Root CA',
      organization: 'Example Org',
      country: 'DE',
      key_type: 'ec',
      key_bits: '384',
      ttl: '87600h',
      max_path_length: 2,
      permitted_dns_domains: 'example.com',
      issuer_name: 'boot-root',
    });
    expect(r.status, r.text).toBe(200);
    const d = r.body.data;
    expect(await caCount()).toBe(before + 1);
    const ca = await f.authority.cas.get('boot-root');
    expect(ca.ca).toMatchObject({ keyType: 'ec-p384', keyBackend: 'software', status: 'active', parentId: null });
    expect(d).toEqual({
      certificate: ca.certificatePem!.trim(),
      issuing_ca: ca.certificatePem!.trim(),
      serial_number: vaultSerial(d.certificate),
      expiration: Math.floor(Date.parse(new X509Certificate(d.certificate).validTo) / 1000),
      issuer_id: ca.ca.id,
      issuer_name: 'boot-root',
      key_id: ca.ca.skiHex!.toLowerCase(),
      key_name: 'boot-root',
    });
    expect(d.expiration - Date.now() / 1000).toBeGreaterThan(87600 * 3600 - 120);
    expect(r.body.warnings).toEqual([expect.stringMatching(/^This mount hasn't configured any authority information/)]);
    const x = new X509Certificate(d.certificate);
    expect(x.subject).toBe('C=DE\nO=Example Org\nCN=Boot Root CA');
    expect(x.issuer).toBe(x.subject);
    const text = opensslText(d.certificate);
    expect(text).toMatch(/CA:TRUE, pathlen:2/);
    expect(text).toMatch(/Permitted:\s+DNS:example\.com/);
    expect(text).toMatch(/ASN1 OID: secp384r1/);
    // its self-signature (certtool would hold the root's own CN to its name constraints: it checks the leaf below)
    const self = opensslVerify({ leafPem: `${d.certificate}\n`, rootPem: `${d.certificate}\n` });
    expect(self.ok, self.output).toBe(true);

    // the mount is bound to it: its one issuer, CA material, and issuance under the role written before
    const mount = await vaultCall(f, 'GET', 'sys/mounts/boot');
    expect(mount.body.data.options).toEqual({ ca: ca.ca.id });
    const issuers = await vaultCall(f, 'GET', 'boot/issuers?list=true', undefined, anon);
    expect(issuers.body.data.keys).toEqual([ca.ca.id]);
    expect((await vaultCall(f, 'GET', 'boot/ca/pem', undefined, anon)).text).toBe(d.certificate);
    const issued = await vaultCall(f, 'POST', 'boot/issue/web', { common_name: 'a.example.com', ttl: '1h' });
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.data.issuing_ca).toBe(d.certificate);
    const leaf = `${issued.body.data.certificate}\n`;
    for (const v of [
      opensslVerify({ leafPem: leaf, rootPem: `${d.certificate}\n`, purpose: 'sslserver' }),
      certtoolVerify({ leafPem: leaf, rootPem: `${d.certificate}\n`, purpose: 'serverAuth' }),
    ]) {
      expect(v.ok, v.output).toBe(true);
    }

    // audited as `pkim ca create` (the signing pipeline's root), then the binding
    const created = await f.authority.audit.list({ action: 'ca.created', target: ca.ca.id, limit: 5 });
    expect(created).toHaveLength(1);
    const bound = await f.authority.audit.list({ action: 'vault.mount_bound', target: 'boot', limit: 5 });
    expect(bound.map((e) => [e.actor, e.details])).toEqual([[expect.any(String), { caId: ca.ca.id }]]);
  });

  it('on a mount that has its issuer: another issuer, not the default (OpenBao multi-issuer), listed', async () => {
    const before = await caCount();
    const def = (await vaultCall(f, 'GET', 'pki/issuer/default')).body.data.issuer_id as string;
    const made: string[] = [];
    for (const [path, name] of [
      ['boot/root/generate/internal', 'second-root'],
      ['pki/issuers/generate/root/internal', 'third-root'],
    ] as const) {
      const mount = path.split('/')[0]!;
      const was = (await vaultCall(f, 'GET', `${mount}/issuer/default`)).body.data.issuer_id as string;
      const r = await vaultCall(f, 'POST', path, { common_name: name, issuer_name: name, key_type: 'ec' });
      expect(r.status, r.text).toBe(200);
      expect(r.body.warnings).toContainEqual(expect.stringMatching(/is not the mount's default issuer/));
      made.push(r.body.data.issuer_id);
      // the default stays; the new root is an issuer of the mount, read by its id and name
      expect((await vaultCall(f, 'GET', `${mount}/issuer/default`)).body.data.issuer_id).toBe(was);
      const byName = await vaultCall(f, 'GET', `${mount}/issuer/${name}`);
      expect(byName.body.data.issuer_id).toBe(r.body.data.issuer_id);
      const v = opensslVerify({ leafPem: byName.body.data.certificate, rootPem: byName.body.data.certificate });
      expect(v.ok, v.output).toBe(true);
      const list = await vaultCall(f, 'GET', `${mount}/issuers?list=true`);
      expect(list.body.data.keys).toContain(r.body.data.issuer_id);
      expect(list.body.data.key_info[r.body.data.issuer_id].is_default).toBe(false);
      expect(list.body.data.key_info[was].is_default).toBe(true);
    }
    expect((await vaultCall(f, 'GET', 'pki/issuer/default')).body.data.issuer_id).toBe(def);
    expect(await caCount()).toBe(before + 2);
    const added = await f.authority.audit.list({ action: 'vault.issuer_added', limit: 5 });
    expect(added.map((e) => (e.details as { caId: string }).caId).sort()).toEqual([...made].sort());
  });

  it('on a mount whose CA was deleted: a new root is made and bound (the deleted CA named in the audit)', async () => {
    const gone = await f.authority.cas.create(
      { name: 'gone-root', subject: { commonName: 'Gone Root' }, keyType: 'ec-p256' },
      ACTORS.admin,
    );
    const enabled = await vaultCall(f, 'POST', 'sys/mounts/gone', { type: 'pki', options: { ca: 'gone-root' } });
    expect(enabled.status, enabled.text).toBe(204);
    // while the mount has its default: another issuer, not the default
    const early = await vaultCall(f, 'POST', 'gone/root/generate/internal', { common_name: 'Too Early' });
    expect(early.status, early.text).toBe(200);
    expect((await vaultCall(f, 'GET', 'gone/issuer/default')).body.data.issuer_id).toBe(gone.ca.id);
    await f.authority.cas.revokeCa(gone.ca.id, 'cessationOfOperation', ACTORS.admin);
    await f.authority.cas.delete(gone.ca.id, {}, ACTORS.admin);

    const r = await vaultCall(f, 'POST', 'gone/root/generate/internal', {
      common_name: 'Second Life Root',
      key_type: 'ec',
    });
    expect(r.status, r.text).toBe(200);
    const ca = await f.authority.cas.get('Second-Life-Root');
    expect(r.body.data.issuer_id).toBe(ca.ca.id);
    expect((await vaultCall(f, 'GET', 'gone/issuer/default')).body.data.issuer_id).toBe(ca.ca.id);
    const v = opensslVerify({ leafPem: ca.certificatePem!, rootPem: ca.certificatePem! });
    expect(v.ok, v.output).toBe(true);
    const bound = await f.authority.audit.list({ action: 'vault.mount_bound', target: 'gone', limit: 5 });
    expect(bound.map((e) => e.details)).toEqual([{ caId: ca.ca.id, deletedCaId: gone.ca.id }]);
  });

  it('issuers/generate/root/internal RSA 2048 by default, named after the CN, the mount max TTL', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/boot2', { type: 'pki' });
    const r = await vaultCall(f, 'PUT', 'boot2/issuers/generate/root/internal', {
      common_name: 'Boot Two Root',
      format: 'der',
      ttl: '200000h',
    });
    expect(r.status, r.text).toBe(200);
    const ca = await f.authority.cas.get('Boot-Two-Root');
    expect(ca.ca.keyType).toBe('rsa-2048');
    expect(r.body.data.issuer_id).toBe(ca.ca.id);
    expect(Buffer.from(r.body.data.certificate, 'base64').equals(new X509Certificate(ca.certificatePem!).raw)).toBe(
      true,
    );
    // cut to the mount's max lease TTL (768h by default) with OpenBao's warning
    expect(r.body.warnings).toContain(
      'TTL "200000h0m0s" is longer than permitted maxTTL "768h0m0s", so maxTTL is being used',
    );
    expect(r.body.data.expiration - Date.now() / 1000).toBeLessThanOrEqual(768 * 3600);
    const v = opensslVerify({ leafPem: ca.certificatePem!, rootPem: ca.certificatePem! });
    expect(v.ok, v.output).toBe(true);
    // a token without ca:write cannot
    const { token } = await f.authority.auth.createToken(
      { name: 'issuer only', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    await vaultCall(f, 'POST', 'sys/mounts/boot3', { type: 'pki' });
    const denied = await vaultCall(f, 'POST', 'boot3/root/generate/internal', { common_name: 'Nope' }, { token });
    expect(denied.status).toBe(403);
  });
});
