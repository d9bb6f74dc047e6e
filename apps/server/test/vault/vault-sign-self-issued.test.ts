// OpenBao's `root/sign-self-issued` and `issuer/:ref/sign-self-issued`: the mount's issuer certifies the key and
// subject of a self-signed CA certificate — the cross-signing step of a root's rotation — through the signing
// pipeline (`subordinate-ca-csr` with `selfSignedCaPem`). The cross certificate is checked by openssl, certtool and Go
// against the old root, a leaf under the new root verifies through it from the old root alone, and every refusal
// (not a CA, not self-issued, not self-signed, two certificates, not PEM, algorithms required to match, no ca:write)
// leaves the certificate and CA rows as they were. hvac's sign_self_issued and node-vault's write do the same.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafSignedBy, opensslCsr, opensslSelfSigned, opensslSignCaCsr } from '../../../../tests/support/openssl-tools';
import { certtoolVerify, goVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import { openVaultFixture, runHvacScript, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
let db: Database.Database;
let oldRootPem: string;
beforeAll(async () => {
  f = await openVaultFixture();
  db = new Database(join(f.fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
  const m = await vaultCall(f, 'POST', 'sys/mounts/rot', { type: 'pki', config: { max_lease_ttl: '87600h' } });
  expect(m.status).toBe(204);
  const root = await vaultCall(f, 'POST', 'rot/root/generate/internal', {
    common_name: 'Old Root',
    key_type: 'ec',
    ttl: '8760h',
  });
  expect(root.status, root.text).toBe(200);
  oldRootPem = `${root.body.data.certificate}\n`;
}, 60_000);
afterAll(async () => {
  db?.close();
  await f?.close();
});

/** what a refusal must leave as it was: certificate rows, CA rows */
function counts(): { certs: number; cas: number } {
  const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  return {
    certs: one('SELECT count(*) AS n FROM certificates'),
    cas: one('SELECT count(*) AS n FROM certificate_authorities'),
  };
}

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
/** openssl req -x509 makes a CA by default (v3_ca): a certificate that is not one says so */
const NOT_CA = ['basicConstraints=critical,CA:FALSE'];
const spki = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });

describe('root/sign-self-issued', () => {
  it('cross-signs a new root: openssl, certtool, Go verify it; a leaf of the new root verifies through', async () => {
    // the new root: made outside (openssl), self-signed, ten years — longer than the old root
    const next = opensslSelfSigned({ subject: '/CN=New Root', days: 3650, addext: CA_EXT });
    const before = counts();
    const r = await vaultCall(f, 'POST', 'rot/root/sign-self-issued', { certificate: next.certPem });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body.data).sort()).toEqual(['certificate', 'issuing_ca']);
    expect(`${r.body.data.issuing_ca}\n`).toBe(oldRootPem);
    // cut at the old root's end, said in a warning
    expect(r.body.warnings).toEqual([expect.stringMatching(/is past the issuer's: the signed certificate ends at/)]);
    const cross = `${r.body.data.certificate}\n`;
    const x = new X509Certificate(cross);
    expect(x.subject).toBe(new X509Certificate(next.certPem).subject);
    expect(x.issuer).toBe(new X509Certificate(oldRootPem).subject);
    expect(spki(cross).equals(spki(next.certPem))).toBe(true);
    expect(x.validTo).toBe(new X509Certificate(oldRootPem).validTo);
    expect(opensslText(cross)).toMatch(/CA:TRUE/);
    for (const v of [
      opensslVerify({ leafPem: cross, rootPem: oldRootPem }),
      certtoolVerify({ leafPem: cross, rootPem: oldRootPem }),
    ])
      expect(v.ok, v.output).toBe(true);
    // a relying party that trusts only the old root reaches a leaf of the new root through the cross certificate
    const leaf = `${leafSignedBy(next.certPem, next.keyPem, 'n.example.com')}\n`;
    const through = opensslVerify({ leafPem: leaf, chainPems: [cross], rootPem: oldRootPem, strict: false });
    expect(through.ok, through.output).toBe(true);
    const go = goVerify({ leafPem: leaf, intermediatesPems: [cross], rootPem: oldRootPem });
    expect(go.ok, go.output).toBe(true);
    // without it, it does not
    expect(opensslVerify({ leafPem: leaf, rootPem: oldRootPem, strict: false }).ok).toBe(false);
    // recorded as a certificate of the mount's CA (listed, revocable), audited
    expect(counts()).toEqual({ certs: before.certs + 1, cas: before.cas });
    const serial = x.serialNumber.toLowerCase();
    const read = await vaultCall(f, 'GET', `rot/cert/${serial.match(/../g)!.join(':')}`, undefined, { token: null });
    expect(read.status, read.text).toBe(200);
    const issued = await f.authority.audit.list({ action: 'certificate.issued', limit: 100 });
    expect(
      issued.some(
        (e) => (e.details.provisioner as { id?: string } | undefined)?.id === 'vault-role:rot/sign-self-issued',
      ),
    ).toBe(true);
  });

  it('issuer/:ref/sign-self-issued names the issuer; an unknown ref is a 400', async () => {
    const next = opensslSelfSigned({ subject: '/CN=Next By Ref', days: 30, addext: CA_EXT });
    const ok = await vaultCall(f, 'POST', 'rot/issuer/Old-Root/sign-self-issued', { certificate: next.certPem });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.warnings).toBeNull();
    const v = certtoolVerify({ leafPem: `${ok.body.data.certificate}\n`, rootPem: oldRootPem });
    expect(v.ok, v.output).toBe(true);
    const before = counts();
    const bad = await vaultCall(f, 'POST', 'rot/issuer/nope/sign-self-issued', { certificate: next.certPem });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatch(/unable to find PKI issuer for reference: nope/);
    expect(counts()).toEqual(before);
  });

  it('refuses what is not one self-signed CA certificate with a 400, signing nothing', async () => {
    const leaf = opensslSelfSigned({ subject: '/CN=Just A Leaf', days: 30, addext: NOT_CA });
    const next = opensslSelfSigned({ subject: '/CN=Two', days: 30, addext: CA_EXT });
    // self-issued (issuer = subject) but signed by another key: no proof of possession of the certified key
    const namesake = opensslSelfSigned({ subject: '/CN=Namesake', days: 30, addext: CA_EXT });
    const other = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Namesake' });
    const { subPem: notSelfSigned } = opensslSignCaCsr(other.csrPem, undefined, {
      subject: '/CN=Namesake',
      issuer: namesake,
    });
    expect(new X509Certificate(notSelfSigned).issuer).toBe(new X509Certificate(notSelfSigned).subject);
    const rsaRoot = opensslSelfSigned({ subject: '/CN=RSA Root', keyType: 'rsa-2048', days: 30, addext: CA_EXT });
    const before = counts();
    for (const [body, message] of [
      [{ certificate: leaf.certPem }, /^given certificate is not a CA certificate$/],
      [{ certificate: f.intermediatePem }, /^given certificate is not self-issued$/],
      [{ certificate: `${next.certPem}${leaf.certPem}` }, /^2 certificates found in PEM file, expected 1$/],
      [{ certificate: 'not a certificate' }, /^certificate could not be PEM-decoded$/],
      [{}, /^certificate could not be PEM-decoded$/],
      [{ certificate: notSelfSigned }, /is not self-signed: its signature does not verify with its own key/],
      [
        { certificate: rsaRoot.certPem, require_matching_certificate_algorithms: true },
        /^signing certificate's public key algorithm \(ec\) does not match submitted certificate's \(rsa\)/,
      ],
    ] as const) {
      const r = await vaultCall(f, 'POST', 'rot/root/sign-self-issued', body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    // without ca:write
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    const refused = await vaultCall(f, 'POST', 'rot/root/sign-self-issued', { certificate: next.certPem }, { token });
    expect(refused.status).toBe(403);
    expect(counts()).toEqual(before);
    // a different algorithm is signed when not required to match (OpenBao's default)
    const rsa = await vaultCall(f, 'POST', 'rot/root/sign-self-issued', { certificate: rsaRoot.certPem });
    expect(rsa.status, rsa.text).toBe(200);
    const v = opensslVerify({ leafPem: `${rsa.body.data.certificate}\n`, rootPem: oldRootPem });
    expect(v.ok, v.output).toBe(true);
  });
});

describe('hvac and node-vault', () => {
  it("hvac's sign_self_issued and node-vault's write cross-sign a new root that openssl verifies", async () => {
    const a = opensslSelfSigned({ subject: '/CN=Hvac Next', days: 30, addext: CA_EXT });
    const notCa = opensslSelfSigned({ subject: '/CN=Hvac Leaf', days: 30, addext: NOT_CA });
    const out = await runHvacScript('hvac-sign-self-issued.py', [f.url, f.token, a.certPem, notCa.certPem]);
    expect(`${out.signed.issuing_ca}\n`).toBe(oldRootPem);
    const cross = `${out.signed.certificate}\n`;
    expect(spki(cross).equals(spki(a.certPem))).toBe(true);
    expect(opensslVerify({ leafPem: cross, rootPem: oldRootPem }).ok).toBe(true);
    expect(out.refused).toMatch(/given certificate is not a CA certificate/);

    const v = nodeVault({ endpoint: f.url, token: f.token });
    const b = opensslSelfSigned({ subject: '/CN=Node Next', days: 30, addext: CA_EXT });
    const signed = (await v.write('rot/root/sign-self-issued', { certificate: b.certPem })).data;
    const nodeCross = `${signed.certificate}\n`;
    expect(spki(nodeCross).equals(spki(b.certPem))).toBe(true);
    const ok = opensslVerify({ leafPem: nodeCross, rootPem: oldRootPem });
    expect(ok.ok, ok.output).toBe(true);
    await expect(v.write('rot/root/sign-self-issued', { certificate: 'x' })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
  });
});
