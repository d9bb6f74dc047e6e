// Several issuers in one mount (Vault 1.11+ / OpenBao multi-issuer): two roots made by `root/generate` on one mount,
// LIST issuers (raw LIST verb) with `is_default`, leaves of each issuer (the default through `issue/:role`, the other
// through `issuer/:ref/issue/:role` and a role's `issuer_ref`) verified by openssl against the right root (certtool for
// one), a CRL per issuer (`issuer/:ref/crl/der`, openssl + certtool + Go), OCSP of the mount for a leaf of the other
// issuer (openssl ocsp), `cert/:serial`, `certs` and `revoke` across issuers, `config/issuers` switching, deleting an
// issuer (the other, then the default: issue refused until a default is named), refusals with nothing created, a mount
// written by session 33 (`rotatedCaIds`) read as before, and hvac doing the same.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certtoolVerify,
  opensslCrlVerify,
  opensslOcspCheck,
  opensslOcspRequest,
  opensslVerify,
} from '../../../../tests/support/verifiers';
import { openVaultFixture, rawHttp, runHvacScript, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
let db: Database.Database;
beforeAll(async () => {
  f = await openVaultFixture();
  db = new Database(join(f.fx.dataDir, 'pkim.db'), { fileMustExist: true });
}, 60_000);
afterAll(async () => {
  db?.close();
  await f?.close();
});

const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const anon = { token: null };
const ROLE = { ...WEB_ROLE, key_type: 'ec' };

/** a two-root mount: `first` (the default) and `second`, each made by root/generate on it */
async function twoRoots(mount: string) {
  expect((await vaultCall(f, 'POST', `sys/mounts/${mount}`, { type: 'pki' })).status).toBe(204);
  const a = await vaultCall(f, 'POST', `${mount}/root/generate/internal`, {
    common_name: `${mount} First`,
    issuer_name: `${mount}-first`,
    key_type: 'ec',
  });
  expect(a.status, a.text).toBe(200);
  const b = await vaultCall(f, 'POST', `${mount}/issuers/generate/root/internal`, {
    common_name: `${mount} Second`,
    issuer_name: `${mount}-second`,
    key_type: 'ec',
  });
  expect(b.status, b.text).toBe(200);
  expect(b.body.warnings).toContainEqual(expect.stringMatching(/is not the mount's default issuer/));
  expect((await vaultCall(f, 'POST', `${mount}/roles/web`, ROLE)).status).toBe(200);
  return {
    first: { id: a.body.data.issuer_id as string, pem: `${a.body.data.certificate}\n` },
    second: { id: b.body.data.issuer_id as string, pem: `${b.body.data.certificate}\n` },
  };
}

describe('two roots in one mount', () => {
  it('lists both, issues through each, a CRL and OCSP per issuer, certs and revoke across them', async () => {
    const { first, second } = await twoRoots('multi');
    // LIST issuers with the raw verb, no token: both, the first the default
    const raw = await rawHttp(
      f.port,
      'LIST /v1/multi/issuers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      (s) => s.includes('"key_info"') && s.trimEnd().endsWith('}'),
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const listed = JSON.parse(raw.slice(raw.lastIndexOf('\r\n\r\n') + 4));
    expect(listed.data.keys).toEqual([first.id, second.id]);
    expect(listed.data.key_info[first.id]).toMatchObject({ issuer_name: 'multi-first', is_default: true });
    expect(listed.data.key_info[second.id]).toMatchObject({ issuer_name: 'multi-second', is_default: false });
    // issuer/:ref reads either; ca/pem is the default's
    expect((await vaultCall(f, 'GET', 'multi/issuer/multi-second')).body.data.issuer_id).toBe(second.id);
    expect((await vaultCall(f, 'GET', 'multi/issuer/default')).body.data.issuer_id).toBe(first.id);
    const caPem = await fetch(`${f.url}/v1/multi/ca/pem`).then((r) => r.text());
    expect(caPem.trim()).toBe(first.pem.trim());
    expect((await fetch(`${f.url}/v1/multi/issuer/${second.id}/pem`).then((r) => r.text())).trim()).toBe(
      second.pem.trim(),
    );

    // the default issues through issue/:role; the second through issuer/:ref/issue/:role and a pinned role
    const viaDefault = await vaultCall(f, 'POST', 'multi/issue/web', { common_name: 'd.example.com' });
    expect(viaDefault.status, viaDefault.text).toBe(200);
    const viaPath = await vaultCall(f, 'POST', 'multi/issuer/multi-second/issue/web', { common_name: 's.example.com' });
    expect(viaPath.status, viaPath.text).toBe(200);
    const pinned = await vaultCall(f, 'POST', 'multi/roles/second', { ...ROLE, issuer_ref: 'multi-second' });
    expect(pinned.status, pinned.text).toBe(200);
    expect(pinned.body.warnings ?? null).toBeNull();
    const viaRole = await vaultCall(f, 'POST', 'multi/issue/second', { common_name: 'r.example.com' });
    expect(viaRole.status, viaRole.text).toBe(200);
    const leaf = (r: typeof viaDefault) => `${r.body.data.certificate}\n`;
    for (const [r, root, other] of [
      [viaDefault, first.pem, second.pem],
      [viaPath, second.pem, first.pem],
      [viaRole, second.pem, first.pem],
    ] as const) {
      const ok = opensslVerify({ leafPem: leaf(r), rootPem: root, purpose: 'sslserver' });
      expect(ok.ok, ok.output).toBe(true);
      expect(opensslVerify({ leafPem: leaf(r), rootPem: other }).ok).toBe(false);
      expect(r.body.data.issuing_ca).toBe(root.trim());
    }
    const ct = certtoolVerify({ leafPem: leaf(viaPath), rootPem: second.pem, purpose: 'serverAuth' });
    expect(ct.ok, ct.output).toBe(true);

    // cert/:serial and certs find a leaf of either issuer; revoke the second's leaf through the mount
    const secondSerial = viaPath.body.data.serial_number as string;
    const read = await vaultCall(f, 'GET', `multi/cert/${secondSerial}`, undefined, anon);
    expect(read.body.data.issuer_id).toBe(second.id);
    const certs = await vaultCall(f, 'GET', 'multi/certs?list=true');
    expect(certs.body.data.keys).toEqual(expect.arrayContaining([viaDefault.body.data.serial_number, secondSerial]));
    const revoked = await vaultCall(f, 'POST', 'multi/revoke', { serial_number: secondSerial });
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.data.state).toBe('revoked');

    // a CRL per issuer, each signed by its own root: the second's lists the leaf, the first's does not
    const crlOf = async (ref: string) =>
      new Uint8Array(await (await fetch(`${f.url}/v1/multi/issuer/${ref}/crl/der`)).arrayBuffer());
    const serialHex = secondSerial.replace(/:/g, '').toUpperCase();
    const secondCrl = opensslCrlVerify(await crlOf(second.id), second.pem);
    expect(secondCrl.ok, secondCrl.text).toBe(true);
    expect(secondCrl.certtool.ok, secondCrl.certtool.output).toBe(true);
    expect(secondCrl.go.ok, secondCrl.go.output).toBe(true);
    expect(secondCrl.text.toUpperCase()).toContain(serialHex);
    const firstCrl = opensslCrlVerify(await crlOf('default'), first.pem);
    expect(firstCrl.ok, firstCrl.text).toBe(true);
    expect(firstCrl.text.toUpperCase()).not.toContain(serialHex);
    expect(opensslCrlVerify(await crlOf(second.id), first.pem).ok).toBe(false);

    // OCSP of the mount for the second issuer's leaves: answered by that issuer (revoked, then good for another)
    const ocsp = async (leafPem: string) => {
      const req = opensslOcspRequest({ issuerPem: second.pem, leafPem });
      const res = await fetch(`${f.url}/v1/multi/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: req,
      });
      expect(res.status).toBe(200);
      const der = new Uint8Array(await res.arrayBuffer());
      return opensslOcspCheck({ responseDer: der, issuerPem: second.pem, caFilePem: second.pem, leafPem });
    };
    const r1 = await ocsp(leaf(viaPath));
    expect(r1.ok, r1.output).toBe(true);
    expect(r1.output).toMatch(/leaf\.pem: revoked/);
    const r2 = await ocsp(leaf(viaRole));
    expect(r2.ok, r2.output).toBe(true);
    expect(r2.output).toMatch(/leaf\.pem: good/);
  });

  it('config/issuers switches the default; default_follows_latest_issuer makes a new root the default', async () => {
    const { first, second } = await twoRoots('sw');
    const w = await vaultCall(f, 'POST', 'sw/config/issuers', { default: 'sw-second' });
    expect(w.status, w.text).toBe(200);
    expect(w.body.data).toEqual({ default: second.id, default_follows_latest_issuer: false });
    const listed = await vaultCall(f, 'GET', 'sw/issuers?list=true', undefined, anon);
    expect(listed.body.data.key_info[second.id].is_default).toBe(true);
    expect(listed.body.data.key_info[first.id].is_default).toBe(false);
    const leaf = await vaultCall(f, 'POST', 'sw/issue/web', { common_name: 'w.example.com' });
    const v = opensslVerify({ leafPem: `${leaf.body.data.certificate}\n`, rootPem: second.pem });
    expect(v.ok, v.output).toBe(true);
    expect((await fetch(`${f.url}/v1/sw/ca/pem`).then((r) => r.text())).trim()).toBe(second.pem.trim());

    const follow = await vaultCall(f, 'POST', 'sw/config/issuers', {
      default: first.id,
      default_follows_latest_issuer: true,
    });
    expect(follow.body.data).toEqual({ default: first.id, default_follows_latest_issuer: true });
    const third = await vaultCall(f, 'POST', 'sw/root/rotate/internal', { common_name: 'SW Third', key_type: 'ec' });
    expect(third.status, third.text).toBe(200);
    expect((await vaultCall(f, 'GET', 'sw/config/issuers')).body.data.default).toBe(third.body.data.issuer_id);
    const viaThird = await vaultCall(f, 'POST', 'sw/issue/web', { common_name: 't.example.com' });
    const t = opensslVerify({
      leafPem: `${viaThird.body.data.certificate}\n`,
      rootPem: `${third.body.data.certificate}\n`,
    });
    expect(t.ok, t.output).toBe(true);
  });

  it('refuses what names no issuer of the mount with a 400 and creates nothing', async () => {
    await twoRoots('refuse');
    const before = { cas: count('certificate_authorities'), certs: count('certificates') };
    for (const [method, path, body, message] of [
      ['POST', 'refuse/config/issuers', { default: f.caId }, /^Error resolving issuer reference: unable to find/],
      ['POST', 'refuse/config/issuers', { default: 'default' }, /^Invalid issuer specification/],
      ['POST', 'refuse/issuer/nope/issue/web', { common_name: 'n.example.com' }, /unable to find PKI issuer/],
      ['POST', `refuse/issuer/${f.caId}/issue/web`, { common_name: 'n.example.com' }, /unable to find PKI issuer/],
      ['POST', 'refuse/root/generate/exported', { common_name: 'X' }, /^exported is not supported/],
    ] as const) {
      const r = await vaultCall(f, method, path, body);
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    // a role naming another mount's CA is kept with OpenBao's warning and issues nothing
    const role = await vaultCall(f, 'POST', 'refuse/roles/elsewhere', { ...ROLE, issuer_ref: f.caId });
    expect(role.body.warnings).toEqual([expect.stringMatching(/^Issuing Certificate was set to ca_\w+ but no/)]);
    const r = await vaultCall(f, 'POST', 'refuse/issue/elsewhere', { common_name: 'e.example.com' });
    expect(r.status, r.text).toBe(400);
    expect({ cas: count('certificate_authorities'), certs: count('certificates') }).toEqual(before);
  });

  it('DELETE issuer/:ref deletes that issuer only; the default deleted leaves the mount without one', async () => {
    const { first, second } = await twoRoots('del');
    // a valid root is refused by cas.delete (revoke it first): nothing changes
    const refused = await vaultCall(f, 'DELETE', `del/issuer/${second.id}`);
    expect(refused.status).toBe(400);
    expect((await vaultCall(f, 'GET', 'del/issuers?list=true')).body.data.keys).toEqual([first.id, second.id]);
    for (const id of [first.id, second.id]) {
      expect((await vaultCall(f, 'POST', `del/issuer/${id}/revoke`)).status).toBe(200);
    }
    const gone = await vaultCall(f, 'DELETE', `del/issuer/${second.id}`);
    expect(gone.status, gone.text).toBe(200);
    expect(gone.body.warnings).not.toContainEqual(expect.stringMatching(/configured as the default issuer/));
    expect((await vaultCall(f, 'GET', 'del/issuers?list=true')).body.data.keys).toEqual([first.id]);
    expect((await vaultCall(f, 'GET', 'del/issuer/default')).body.data.issuer_id).toBe(first.id);
    const def = await vaultCall(f, 'DELETE', 'del/issuer/default');
    expect(def.body.warnings[0]).toMatch(/this was configured as the default issuer/);
    expect((await vaultCall(f, 'GET', 'del/config/issuers')).body.data.default).toBe('');
    const none = await vaultCall(f, 'POST', 'del/issue/web', { common_name: 'x.example.com' });
    expect(none.status).toBe(400);
    expect(none.body.errors[0]).toMatch(/^could not fetch the CA certificate \(was one set\?\)/);
    // a new root on the mount without a default becomes it
    const again = await vaultCall(f, 'POST', 'del/root/generate/internal', { common_name: 'Del New', key_type: 'ec' });
    expect((await vaultCall(f, 'GET', 'del/config/issuers')).body.data.default).toBe(again.body.data.issuer_id);
  });

  it('reads a mount written by session 33 (its CA and rotatedCaIds) as issuers, the CA the default', async () => {
    const { first, second } = await twoRoots('legacy');
    // the document as session 33 wrote it: caId and rotatedCaIds, no issuerIds
    const row = db.prepare("SELECT value FROM settings WHERE key = 'vault.mount.legacy'").get() as { value: string };
    const doc = JSON.parse(row.value) as Record<string, unknown>;
    delete doc.issuerIds;
    doc.rotatedCaIds = [second.id];
    db.prepare("UPDATE settings SET value = ? WHERE key = 'vault.mount.legacy'").run(JSON.stringify(doc));
    const listed = await vaultCall(f, 'GET', 'legacy/issuers?list=true', undefined, anon);
    expect(listed.body.data.keys).toEqual([first.id, second.id]);
    expect(listed.body.data.key_info[first.id].is_default).toBe(true);
    const sw = await vaultCall(f, 'POST', 'legacy/config/issuers', { default: second.id });
    expect(sw.status, sw.text).toBe(200);
    const stored = JSON.parse(
      (db.prepare("SELECT value FROM settings WHERE key = 'vault.mount.legacy'").get() as { value: string }).value,
    ) as Record<string, unknown>;
    expect(stored).toMatchObject({ caId: second.id, issuerIds: [first.id, second.id] });
    expect(stored.rotatedCaIds).toBeUndefined();
  });
});

describe('hvac', () => {
  it('makes two roots in one mount, lists them, issues through each; leaves verify against their roots', async () => {
    const out = await runHvacScript('hvac-multi-issuer.py', [f.url, f.token]);
    expect(out.issuers.keys).toEqual([out.first.issuer_id, out.second.issuer_id]);
    expect(out.issuers.key_info[out.first.issuer_id].is_default).toBe(true);
    expect(out.switched.default).toBe(out.second.issuer_id);
    for (const [leaf, root] of [
      [out.leaf_default, out.first],
      [out.leaf_second, out.second],
      [out.leaf_switched, out.second],
    ]) {
      const v = opensslVerify({ leafPem: `${leaf.certificate}\n`, rootPem: `${root.certificate}\n` });
      expect(v.ok, v.output).toBe(true);
    }
  });
});
