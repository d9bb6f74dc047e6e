// The Vault way to an intermediate over raw HTTP: `intermediate/generate/internal` on a mount without a CA makes a
// pending CA and its CSR (`pkim ca create --external`: the key stays in the key backend) and binds the mount to it;
// the CSR is signed elsewhere — by another mount's `root/sign-intermediate`, or by an outside CA (openssl) — and
// `intermediate/set-signed` imports the certificate (with its chain) as `pkim ca import` does: key match, subject,
// CA:TRUE, the signature verified by a CA here (then its parent) or by the chain given. The mount then issues; every
// CSR and certificate is checked by openssl, the leaf chains by openssl and certtool.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openssl, opensslSignCaCsr } from '../../../../tests/support/openssl-tools';
import { certtoolVerify, opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
let rootPem: string;
beforeAll(async () => {
  f = await openVaultFixture();
  // mount A: a root made the Vault way, 10 years; it signs the intermediate of mount B
  await vaultCall(f, 'POST', 'sys/mounts/pki-a', { type: 'pki', config: { max_lease_ttl: '87600h' } });
  const root = await vaultCall(f, 'POST', 'pki-a/root/generate/internal', {
    common_name: 'Example Root A',
    key_type: 'ec',
    ttl: '87600h',
  });
  if (root.status !== 200) throw new Error(root.text);
  rootPem = `${root.body.data.certificate}\n`;
}, 60_000);
afterAll(async () => f?.close());

const anon = { token: null };
const caCount = async () => (await f.authority.cas.list()).length;

/** `openssl req -verify`: the CSR's self-signature, and its subject as openssl prints it */
function opensslCsrCheck(csrPem: string): string {
  const r = openssl(['req', '-verify', '-noout', '-subject', '-in', '@c.csr'], { 'c.csr': `${csrPem}\n` });
  expect(r.ok, r.output).toBe(true);
  expect(r.output).toMatch(/verify OK|Certificate request self-signature verify OK/);
  return r.output;
}

describe('intermediate/generate/internal + intermediate/set-signed', () => {
  it('generates on mount B, signs with mount A, sets it signed on B; B issues a leaf openssl verifies', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/pki-b', { type: 'pki', config: { max_lease_ttl: '8760h' } });
    const before = await caCount();
    const gen = await vaultCall(f, 'POST', 'pki-b/intermediate/generate/internal', {
      common_name: 'Example Intermediate B',
      organization: 'Example Org',
      key_type: 'rsa',
      key_bits: 3072,
      issuer_name: 'example-int-b',
      ttl: '43800h',
    });
    expect(gen.status, gen.text).toBe(200);
    expect(await caCount()).toBe(before + 1);
    const pending = await f.authority.cas.get('example-int-b');
    expect(pending.ca).toMatchObject({ status: 'pending', keyType: 'rsa-3072', keyBackend: 'software' });
    expect(gen.body.data.csr).toBe(pending.ca.csrPem!.trim());
    expect(gen.body.data.key_id).toMatch(/^[0-9a-f]{40}$/);
    // OpenBao's: the mount had no config/urls written before its CSR (vault-config-urls-early.test.ts: with them)
    expect(gen.body.warnings).toEqual([
      'ttl is not used by a CSR: the CA that signs it sets it (sign-intermediate)',
      expect.stringMatching(/^This mount hasn't configured any authority information access \(AIA\) fields; .*/),
    ]);
    expect(gen.body.warnings[1]).toMatch(/Since this certificate is an intermediate, it might be useful to regenerate/);
    expect(opensslCsrCheck(gen.body.data.csr)).toMatch(/subject=O\s?=\s?Example Org, CN\s?=\s?Example Intermediate B/);
    // its pending CA is the mount's default: no issuer listed yet, nothing issued; a second generation makes a second
    // pending CA (OpenBao: another key and CSR), not the default
    expect((await vaultCall(f, 'GET', 'sys/mounts/pki-b')).body.data.options).toEqual({ ca: pending.ca.id });
    expect((await vaultCall(f, 'GET', 'pki-b/issuers?list=true', undefined, anon)).status).toBe(404);
    await vaultCall(f, 'POST', 'pki-b/roles/web', WEB_ROLE);
    expect((await vaultCall(f, 'POST', 'pki-b/issue/web', { common_name: 'a.example.com' })).status).toBe(400);
    const again = await vaultCall(f, 'POST', 'pki-b/intermediate/generate/internal', { common_name: 'Other' });
    expect(again.status, again.text).toBe(200);
    expect(again.body.data.csr).not.toBe(gen.body.data.csr);
    expect(again.body.warnings).toContainEqual(expect.stringMatching(/is not the mount's default issuer/));
    expect((await vaultCall(f, 'GET', 'sys/mounts/pki-b')).body.data.options).toEqual({ ca: pending.ca.id });
    expect(await caCount()).toBe(before + 2);

    // signed by mount A (its root), then handed back to B with A's chain, as `vault write … certificate=@bundle`
    const signed = await vaultCall(f, 'POST', 'pki-a/root/sign-intermediate', {
      csr: gen.body.data.csr,
      use_csr_values: true,
      ttl: '43800h',
    });
    expect(signed.status, signed.text).toBe(200);
    const bundle = `${signed.body.data.certificate}\n${signed.body.data.issuing_ca}\n`;
    const set = await vaultCall(f, 'POST', 'pki-b/intermediate/set-signed', { certificate: bundle });
    expect(set.status, set.text).toBe(200);
    expect(set.body.data).toEqual({
      mapping: { [pending.ca.id]: gen.body.data.key_id },
      imported_issuers: [pending.ca.id],
      imported_keys: [],
      existing_issuers: [],
      existing_keys: [],
    });
    const active = await f.authority.cas.get('example-int-b');
    const rootCa = await f.authority.cas.get('Example-Root-A');
    expect(active.ca).toMatchObject({ status: 'active', parentId: rootCa.ca.id });
    expect(active.ca.skiHex!.toLowerCase()).toBe(gen.body.data.key_id);
    // the same certificate again: an existing issuer, nothing changed
    const twice = await vaultCall(f, 'POST', 'pki-b/intermediate/set-signed', { certificate: bundle });
    expect(twice.status, twice.text).toBe(200);
    expect(twice.body.data).toMatchObject({ imported_issuers: [], existing_issuers: [pending.ca.id] });
    const imported = await f.authority.audit.list({ action: 'ca.certificate_imported', target: pending.ca.id });
    expect(imported.map((e) => e.details)).toEqual([expect.objectContaining({ issuerCa: rootCa.ca.id })]);

    // B is an issuer now: its chain, and a leaf verified up to A's root by openssl and certtool
    const json = await vaultCall(f, 'GET', 'pki-b/issuer/default/json', undefined, anon);
    expect(json.body.data.ca_chain).toEqual([signed.body.data.certificate, rootPem.trim()]);
    const issued = await vaultCall(f, 'POST', 'pki-b/issue/web', { common_name: 'www.example.com', ttl: '1h' });
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.data.ca_chain).toEqual([signed.body.data.certificate, rootPem.trim()]);
    const leaf = `${issued.body.data.certificate}\n`;
    const chain = { chainPems: [`${signed.body.data.certificate}\n`], rootPem };
    const o = opensslVerify({ leafPem: leaf, ...chain, purpose: 'sslserver', hostname: 'www.example.com' });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem: leaf, ...chain, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
    expect(new X509Certificate(issued.body.data.certificate).issuer).toBe('O=Example Org\nCN=Example Intermediate B');
  });

  it('sets a certificate an outside CA signed, with its chain; a leaf verifies up to the outside root', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/pki-c', { type: 'pki' });
    const gen = await vaultCall(f, 'PUT', 'pki-c/issuers/generate/intermediate/internal', {
      common_name: 'Outside Signed C',
      key_type: 'ec',
      format: 'der',
    });
    expect(gen.status, gen.text).toBe(200);
    const csrPem = `-----BEGIN CERTIFICATE REQUEST-----\n${gen.body.data.csr}\n-----END CERTIFICATE REQUEST-----\n`;
    opensslCsrCheck(csrPem);
    const outside = opensslSignCaCsr(csrPem, '/CN=Outside Root C');
    // the chain first, the CA certificate last: found by its key, as OpenBao does
    const set = await vaultCall(f, 'POST', 'pki-c/intermediate/set-signed', {
      certificate: `${outside.rootPem}${outside.subPem}`,
    });
    expect(set.status, set.text).toBe(200);
    const ca = await f.authority.cas.get('Outside-Signed-C');
    expect(ca.ca).toMatchObject({ status: 'active', parentId: null });
    expect(set.body.data.imported_issuers).toEqual([ca.ca.id]);
    await vaultCall(f, 'POST', 'pki-c/roles/web', WEB_ROLE);
    const issued = await vaultCall(f, 'POST', 'pki-c/issue/web', { common_name: 'c.example.com', ttl: '1h' });
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.data.ca_chain).toEqual([outside.subPem.trim(), outside.rootPem.trim()]);
    const leaf = `${issued.body.data.certificate}\n`;
    const chain = { chainPems: [outside.subPem], rootPem: outside.rootPem };
    for (const v of [opensslVerify({ leafPem: leaf, ...chain }), certtoolVerify({ leafPem: leaf, ...chain })]) {
      expect(v.ok, v.output).toBe(true);
    }
  });

  it('refuses what does not fit with a 400 and changes nothing', async () => {
    // no pending CA on the mount
    await vaultCall(f, 'POST', 'sys/mounts/pki-d', { type: 'pki' });
    const none = await vaultCall(f, 'POST', 'pki-d/intermediate/set-signed', { certificate: rootPem });
    expect(none.status).toBe(400);
    expect(none.body.errors[0]).toMatch(/^mount pki-d has no pending CA: generate one first/);
    // exported: nothing made
    const before = await caCount();
    const exported = await vaultCall(f, 'POST', 'pki-d/intermediate/generate/exported', { common_name: 'D' });
    expect(exported.status).toBe(400);
    expect(exported.body.errors[0]).toMatch(/^exported is not supported: CA private keys never leave/);
    // OpenBao's add_basic_constraints=true (CA:TRUE requested in the CSR) is refused, not ignored; false is the CSR
    const abc = await vaultCall(f, 'POST', 'pki-d/intermediate/generate/internal', {
      common_name: 'D',
      add_basic_constraints: true,
    });
    expect(abc.status).toBe(400);
    expect(abc.body.errors[0]).toMatch(/^add_basic_constraints is not supported: the CSR requests no extensions/);
    expect(await caCount()).toBe(before);
    // a certificate that is not for the pending CA's key (A's root), an empty one: the CA stays pending
    const gen = await vaultCall(f, 'POST', 'pki-d/intermediate/generate/internal', { common_name: 'Pending D' });
    expect(gen.status, gen.text).toBe(200);
    const wrong = await vaultCall(f, 'POST', 'pki-d/intermediate/set-signed', { certificate: rootPem });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0]).toMatch(/not for this CA key/);
    const empty = await vaultCall(f, 'POST', 'pki-d/intermediate/set-signed', { certificate: '' });
    expect(empty.status).toBe(400);
    expect((await f.authority.cas.get('Pending-D')).ca.status).toBe('pending');
    // a mount whose CA is active (bound with options.ca), no pending CA: set-signed of another certificate is refused
    const other = await vaultCall(f, 'POST', 'pki/intermediate/set-signed', { certificate: rootPem });
    expect(other.status).toBe(400);
    expect(other.body.errors[0]).toMatch(/already has issuer ca_\w+ with another certificate/);
  });
});
