// `POST <mount>/root/sign-intermediate` and `issuer/:ref/sign-intermediate` (OpenBao pathIssuerSignIntermediate) over
// raw HTTP: a CSR whose key stays outside is signed as a subordinate CA certificate by the mount's CA through the
// signing pipeline's CA-certificate path. The answer's chain is verified by openssl and certtool against the issuer,
// the signed CA then signs a leaf with openssl which verifies up to the root (its name constraints applied); the
// certificate is recorded under the mount (cert/:serial, revoke, CRL checked by openssl/certtool/Go) and audited.
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafSignedBy, opensslCsr } from '../../../../tests/support/openssl-tools';
import { certtoolVerify, opensslCrlVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import { corruptCsrSignature, openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
  // the root (no path length limit) mounted as `root`: it signs intermediates; `pki` is the issuing CA (path length 0)
  await f.authority.vault.mounts.mount({ path: 'root', ca: f.rootCaId, maxLeaseTtl: '200000h' }, ACTORS.admin);
}, 60_000);
afterAll(async () => f?.close());

const anon = { token: null };
const vaultSerial = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase().match(/../g)!.join(':');
const certCount = async () => (await f.authority.certificates.list({ limit: 500 }, ACTORS.admin)).items.length;

describe('root/sign-intermediate', () => {
  it('ends the CA certificate at not_after exactly (openssl and certtool verify it)', async () => {
    const sub = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Fixed End Sub CA' });
    const notAfter = new Date(Date.now() + 400 * 86_400_000 + 4321).toISOString().replace(/\.\d+Z$/, 'Z');
    const r = await vaultCall(f, 'POST', 'root/root/sign-intermediate', { csr: sub.csrPem, not_after: notAfter });
    expect(r.status, r.text).toBe(200);
    const end = Date.parse(/Not After : (.+)/.exec(opensslText(r.body.data.certificate))![1]!);
    expect(end).toBe(Date.parse(notAfter));
    expect(r.body.data.expiration).toBe(Date.parse(notAfter) / 1000);
    for (const v of [
      opensslVerify({ leafPem: `${r.body.data.certificate}\n`, rootPem: f.rootPem }),
      certtoolVerify({ leafPem: `${r.body.data.certificate}\n`, rootPem: f.rootPem }),
    ]) {
      expect(v.ok, v.output).toBe(true);
    }
  });

  it('signs a CSR as a CA certificate that openssl and certtool verify, and that works as a CA', async () => {
    const sub = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Outside Sub CA' });
    const r = await vaultCall(f, 'POST', 'root/root/sign-intermediate', {
      csr: sub.csrPem,
      common_name: 'Vault Signed Sub CA',
      organization: 'Example Org',
      ttl: '8760h',
      max_path_length: '0',
      permitted_dns_domains: 'example.com',
    });
    expect(r.status, r.text).toBe(200);
    const d = r.body.data;
    expect(d.certificate).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/);
    expect(d.issuing_ca).toBe(f.rootPem.trim());
    expect(d.ca_chain).toEqual([d.certificate, f.rootPem.trim()]);
    const x = new X509Certificate(d.certificate);
    expect(d.serial_number).toBe(vaultSerial(d.certificate));
    expect(d.expiration).toBe(Math.floor(Date.parse(x.validTo) / 1000));
    expect(d.expiration - Date.now() / 1000).toBeGreaterThan(8760 * 3600 - 120);
    expect(x.subject).toBe('O=Example Org\nCN=Vault Signed Sub CA');
    // the CSR's key, which never left the test
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    expect(spki(x.publicKey).equals(spki(createPublicKey(sub.keyPem)))).toBe(true);
    expect(r.body.warnings).toContain(
      'Max path length of the signed certificate is zero. This certificate cannot be used to issue intermediate CA ' +
        'certificates.',
    );
    const text = opensslText(d.certificate);
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Permitted:\s+DNS:example\.com/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);

    for (const v of [
      opensslVerify({ leafPem: `${d.certificate}\n`, rootPem: f.rootPem }),
      certtoolVerify({ leafPem: `${d.certificate}\n`, rootPem: f.rootPem }),
    ]) {
      expect(v.ok, v.output).toBe(true);
    }
    // a leaf the signed CA issues (openssl, with the CSR's key) verifies up to the root; outside its constraints, not
    const good = leafSignedBy(d.certificate, sub.keyPem, 'www.example.com');
    const chain = { chainPems: [`${d.certificate}\n`], rootPem: f.rootPem };
    const ok = opensslVerify({ leafPem: good, ...chain, purpose: 'sslserver' });
    expect(ok.ok, ok.output).toBe(true);
    const ct = certtoolVerify({ leafPem: good, ...chain });
    expect(ct.ok, ct.output).toBe(true);
    const outside = opensslVerify({ leafPem: leafSignedBy(d.certificate, sub.keyPem, 'www.other.org'), ...chain });
    expect(outside.ok).toBe(false);
    expect(outside.output).toMatch(/permitted subtree violation/);

    // recorded under the mount: read by serial, audited with the sign-intermediate provisioner
    const read = await vaultCall(f, 'GET', `root/cert/${d.serial_number}`, undefined, anon);
    expect(read.status).toBe(200);
    expect(read.body.data.certificate).toBe(d.certificate);
    const row = await f.authority.certificates.find(d.serial_number.replace(/:/g, ''), ACTORS.admin);
    const events = await f.authority.audit.list({ action: 'certificate.issued', target: row.id, limit: 5 });
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({
        ca: true,
        pathLen: 0,
        profile: 'intermediate-ca',
        provisioner: expect.objectContaining({ kind: 'vault-role', id: 'vault-role:root/sign-intermediate' }),
      }),
    ]);
  });

  it('takes the CSR subject (use_csr_values), answers DER by issuer ref; revoked, the root CRL lists it', async () => {
    const sub = opensslCsr({ keyType: 'ec-p384', subject: '/O=CSR Org/CN=From The CSR' });
    const r = await vaultCall(f, 'PUT', 'root/issuer/Vault%20Test%20Root/sign-intermediate', {
      csr: sub.csrPem,
      common_name: 'ignored',
      use_csr_values: 'true',
      format: 'der',
    });
    expect(r.status, r.text).toBe(200);
    const pem = (b64: string) =>
      `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----`;
    const cert = pem(r.body.data.certificate);
    expect(r.body.data.ca_chain).toEqual([r.body.data.certificate, r.body.data.issuing_ca]);
    expect(new X509Certificate(cert).subject).toBe('O=CSR Org\nCN=From The CSR');
    // the root has no path length: max_path_length -1 (default) leaves none
    expect(opensslText(cert)).toMatch(/CA:TRUE\s*$/m);
    const v = opensslVerify({ leafPem: `${cert}\n`, rootPem: f.rootPem });
    expect(v.ok, v.output).toBe(true);

    const revoked = await vaultCall(f, 'POST', 'root/revoke', { serial_number: r.body.data.serial_number });
    expect(revoked.status, revoked.text).toBe(200);
    const crl = new Uint8Array(await (await fetch(`${f.url}/v1/root/crl`)).arrayBuffer());
    const c = opensslCrlVerify(crl, f.rootPem);
    expect(c.ok, c.text).toBe(true);
    expect(c.go.entries.has(new X509Certificate(cert).serialNumber.toLowerCase().replace(/^0+/, ''))).toBe(true);
  });

  it('refuses what it cannot sign, with 4xx and nothing recorded', async () => {
    const before = await certCount();
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Refused Sub CA' }).csrPem;
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    const cases: [string, Record<string, unknown>, number, RegExp | null, { token?: string | null }?][] = [
      ['root/root/sign-intermediate', { csr }, 403, null, anon],
      ['root/root/sign-intermediate', { csr }, 403, null, { token }],
      ['root/root/sign-intermediate', { csr: corruptCsrSignature(csr) }, 400, /signature/i],
      ['root/root/sign-intermediate', {}, 400, /"csr" is empty/],
      ['root/root/sign-intermediate', { csr, alt_names: 'a.example.com' }, 400, /no subject alternative names/],
      ['root/root/sign-intermediate', { csr, format: 'xml' }, 400, /"format"/],
      ['root/root/sign-intermediate', { csr, ttl: '1h', not_after: '2030-01-01T00:00:00Z' }, 400, /Either ttl/],
      ['root/root/sign-intermediate', { csr, not_after: 'soon' }, 400, /not_after "soon" is not an RFC 3339 time/],
      ['root/root/sign-intermediate', { csr, not_after: '2001-01-01T00:00:00Z' }, 400, /is in the past/],
      // beyond the root's own NotAfter (PKI Manager's lint; OpenBao permits it)
      ['root/root/sign-intermediate', { csr, ttl: '100000h' }, 400, /after the issuer's notAfter/],
      ['root/issuer/nope/sign-intermediate', { csr }, 400, /unable to find PKI issuer for reference: nope/],
      // the issuing CA has path length 0: it cannot sign a CA certificate (the CA-request lint of `ca create`)
      ['pki/root/sign-intermediate', { csr }, 400, /pathLenConstraint 0 and cannot sign a CA certificate/],
    ];
    for (const [path, body, status, message, opts] of cases) {
      const r = await vaultCall(f, 'POST', path, body, opts ?? {});
      expect(r.status, `${path} ${JSON.stringify(body).slice(0, 60)}: ${r.text}`).toBe(status);
      if (message) expect(r.body.errors[0]).toMatch(message);
    }
    expect(await certCount()).toBe(before);
  });
});
