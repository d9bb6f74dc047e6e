// Checklist items 25 (sign-verbatim), 31 (revoke-with-key) and 33 (OCSP under the mount), over real HTTP; every
// certificate checked by openssl verify, every OCSP response by openssl ocsp.
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr } from '../../../../tests/support/openssl-tools';
import {
  opensslOcspCheck,
  opensslOcspRequest,
  opensslRaw,
  opensslText,
  opensslVerify,
  withTempDir,
} from '../../../../tests/support/verifiers';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACTORS } from '../server-test-support';
import { corruptCsrSignature, openVaultFixture, WEB_ROLE, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: { ...WEB_ROLE, key_type: 'ec' } } });
}, 60_000);
afterAll(async () => f?.close());

function verify(leafPem: string, purpose: 'any' | 'sslserver' = 'any') {
  const v = opensslVerify({
    leafPem: `${leafPem}\n`,
    chainPems: [f.intermediatePem],
    rootPem: f.rootPem,
    purpose,
  });
  expect(v.ok, v.output).toBe(true);
}

describe('sign-verbatim', () => {
  it('copies subject and SANs from the CSR, outside every role rule, without a private key', async () => {
    const csr = opensslCsr({
      keyType: 'ec-p256',
      subject: '/O=Other Org/OU=Ops/CN=x.other.org',
      sans: ['DNS:x.other.org', 'IP:192.0.2.7'],
    });
    // the role `web` would refuse this name
    const refused = await vaultCall(f, 'POST', 'pki/sign/web', { csr: csr.csrPem });
    expect(refused.status).toBe(400);

    const r = await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: csr.csrPem, ttl: '24h' });
    expect(r.status, r.text).toBe(200);
    const d = r.body.data;
    expect(d).not.toHaveProperty('private_key');
    expect(d.issuing_ca).toBe(f.intermediatePem.trim());
    expect(d.ca_chain).toEqual([f.intermediatePem.trim(), f.rootPem.trim()]);
    const cert = new X509Certificate(d.certificate);
    expect(cert.subject.split('\n')).toEqual(['O=Other Org', 'OU=Ops', 'CN=x.other.org']);
    expect(cert.subjectAltName).toBe('DNS:x.other.org, IP Address:192.0.2.7');
    expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(
      createPublicKey(csr.keyPem).export({ type: 'spki', format: 'pem' }),
    );
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    expect(Date.parse(cert.validTo) - Date.now()).toBeLessThan(25 * 3_600_000);
    // Vault's defaults: the three key usages (those an EC key can carry), no extended key usage
    const text = opensslText(d.certificate);
    expect(text).toContain('Digital Signature, Key Agreement');
    expect(text).not.toContain('Extended Key Usage');
    // OpenBao's not_before and expiration: unix seconds, the certificate's as openssl reads them
    expect(d.not_before).toBe(Date.parse(/Not Before: (.+)/.exec(text)![1]!) / 1000);
    expect(d.expiration).toBe(Date.parse(/Not After : (.+)/.exec(text)![1]!) / 1000);
    verify(d.certificate);
    const events = await f.authority.audit.list({ action: 'certificate.issued', order: 'desc', limit: 1 });
    expect(events[0]?.details).toMatchObject({
      provisioner: { kind: 'vault-role', id: 'vault-role:pki/sign-verbatim' },
    });
  });

  it('takes key usage and EKUs from the request; a named role lends its max_ttl (shortened, warning)', async () => {
    const csr = opensslCsr({ keyType: 'rsa-2048', subject: '/CN=y.other.org', sans: ['DNS:y.other.org'] });
    const r = await vaultCall(f, 'POST', 'pki/sign-verbatim/web', {
      csr: csr.csrPem,
      ttl: '8760h',
      key_usage: 'DigitalSignature,KeyEncipherment',
      ext_key_usage: 'ServerAuth',
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.warnings[0]).toMatch(/maxTTL/);
    const cert = new X509Certificate(r.body.data.certificate);
    const hours = (Date.parse(cert.validTo) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(71);
    expect(hours).toBeLessThanOrEqual(72);
    const text = opensslText(r.body.data.certificate);
    expect(text).toContain('Digital Signature, Key Encipherment');
    expect(text).toMatch(/Extended Key Usage:\s*\n\s*TLS Web Server Authentication\n/);
    verify(r.body.data.certificate, 'sslserver');
    const events = await f.authority.audit.list({ action: 'certificate.issued', order: 'desc', limit: 1 });
    expect(events[0]?.details).toMatchObject({ provisioner: { name: 'pki/sign-verbatim/web' } });
  });

  it('refuses an unknown role, a missing or broken CSR and an unknown key usage with 400; issues nothing', async () => {
    const before = await f.authority.audit.list({ action: 'certificate.issued', order: 'desc', limit: 1 });
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=z.other.org' });
    const unknownRole = await vaultCall(f, 'POST', 'pki/sign-verbatim/nope', { csr: csr.csrPem });
    expect(unknownRole.status).toBe(400);
    expect(unknownRole.body.errors[0]).toBe('unknown role: nope');
    expect((await vaultCall(f, 'POST', 'pki/sign-verbatim', {})).status).toBe(400);
    const broken = await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: corruptCsrSignature(csr.csrPem) });
    expect(broken.status).toBe(400);
    const badKu = await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: csr.csrPem, key_usage: 'Teleport' });
    expect(badKu.status).toBe(400);
    expect(badKu.body.errors[0]).toMatch(/unknown key_usage/);
    const after = await f.authority.audit.list({ action: 'certificate.issued', order: 'desc', limit: 1 });
    expect(after[0]?.id).toBe(before[0]?.id);
  });

  it('keeps the token’s own limits: a token limited to example.com cannot sign-verbatim other.org', async () => {
    const { token } = await f.authority.auth.createToken(
      { name: 'limited', role: 'operator', expiresInMs: null, resources: { names: ['*.example.com'] } },
      ACTORS.admin,
    );
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=w.other.org', sans: ['DNS:w.other.org'] });
    const r = await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: csr.csrPem }, { token });
    expect(r.status).toBe(403);
    const ok = opensslCsr({ keyType: 'ec-p256', subject: '/CN=w.example.com', sans: ['DNS:w.example.com'] });
    expect((await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: ok.csrPem }, { token })).status).toBe(200);
  });
});

describe('revoke-with-key', () => {
  it('refuses a key that does not match (nothing revoked), revokes with the right one', async () => {
    const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'k.example.com' });
    expect(issued.status, issued.text).toBe(200);
    const { serial_number: serial, private_key: key, certificate } = issued.body.data;
    const other = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'k2.example.com' });
    const rsa = opensslCsr({ keyType: 'rsa-2048', subject: '/CN=unrelated' }).keyPem;

    const noKey = await vaultCall(f, 'POST', 'pki/revoke-with-key', { serial_number: serial });
    expect(noKey.status).toBe(400);
    expect(noKey.body.errors[0]).toMatch(/Must have private key/);
    const wrong = await vaultCall(f, 'POST', 'pki/revoke-with-key', {
      serial_number: serial,
      private_key: other.body.data.private_key,
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0]).toBe("provided private key does not match certificate's public key");
    const wrongType = await vaultCall(f, 'POST', 'pki/revoke-with-key', { serial_number: serial, private_key: rsa });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors[0]).toMatch(/type does not match/);
    const garbage = await vaultCall(f, 'POST', 'pki/revoke-with-key', {
      serial_number: serial,
      private_key: `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(80)}\n-----END PRIVATE KEY-----`,
    });
    expect(garbage.status).toBe(400);
    const still = await vaultCall(f, 'GET', `pki/cert/${serial}`, undefined, { token: null });
    expect(still.body.data.revocation_time).toBe(0);

    const ok = await vaultCall(f, 'POST', 'pki/revoke-with-key', { certificate, private_key: key });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.data.state).toBe('revoked');
    const read = await vaultCall(f, 'GET', `pki/cert/${serial}`, undefined, { token: null });
    expect(read.body.data.revocation_time).toBe(ok.body.data.revocation_time);
    // PKCS#8 form of the same key works as well (hvac and the CLI pass whatever PEM the user holds)
    const again = await vaultCall(f, 'POST', 'pki/revoke-with-key', {
      serial_number: serial,
      private_key: createPrivateKey(key).export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    expect(again.body.data.revocation_time).toBe(ok.body.data.revocation_time);
  });
});

describe('revoke-with-key, the order of its checks (OpenBao path_revoke.go)', () => {
  it('a too-short key: refused before the lookup; an issuer with a wrong key: the mismatch', async () => {
    const short = await vaultCall(f, 'POST', 'pki/revoke-with-key', { serial_number: '01:02:03', private_key: 'k' });
    expect(short.status).toBe(400);
    expect(short.body.errors[0]).toMatch(/^Provided data for private_key was too short/);
    const issuerSerial = new X509Certificate(f.intermediatePem).serialNumber.toLowerCase().match(/../g)!.join(':');
    const leaf = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'order.example.com' });
    const wrong = await vaultCall(f, 'POST', 'pki/revoke-with-key', {
      serial_number: issuerSerial,
      private_key: leaf.body.data.private_key,
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors[0]).toBe("provided private key does not match certificate's public key");
    // without a key (revoke): the issuer's own refusal, as before
    const plain = await vaultCall(f, 'POST', 'pki/revoke', { serial_number: issuerSerial });
    expect(plain.status).toBe(400);
    expect(plain.body.errors[0]).toMatch(/to its own CRL is not allowed/);
  });
});

describe('OCSP under the mount', () => {
  const post = async (der: Uint8Array) => {
    const res = await fetch(`${f.url}/v1/pki/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: der,
    });
    return { status: res.status, type: res.headers.get('content-type'), der: new Uint8Array(await res.arrayBuffer()) };
  };
  const get = async (der: Uint8Array) => {
    const res = await fetch(`${f.url}/v1/pki/ocsp/${encodeURIComponent(Buffer.from(der).toString('base64'))}`);
    return { status: res.status, type: res.headers.get('content-type'), der: new Uint8Array(await res.arrayBuffer()) };
  };
  const check = (responseDer: Uint8Array, leafPem: string) =>
    opensslOcspCheck({ responseDer, issuerPem: f.intermediatePem, caFilePem: f.rootPem, leafPem: `${leafPem}\n` });

  it('answers good, then revoked after a revoke, by POST and by GET, without a token', async () => {
    const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'o.example.com' });
    const leaf: string = issued.body.data.certificate;
    const req = opensslOcspRequest({ issuerPem: f.intermediatePem, leafPem: leaf });

    const good = await post(req);
    expect(good.status).toBe(200);
    expect(good.type).toBe('application/ocsp-response');
    const g = check(good.der, leaf);
    expect(g.ok, g.output).toBe(true);
    expect(g.output).toMatch(/leaf\.pem: good/);

    await vaultCall(f, 'POST', 'pki/revoke', { serial_number: issued.body.data.serial_number });
    for (const r of [await post(req), await get(req)]) {
      expect(r.status).toBe(200);
      expect(r.type).toBe('application/ocsp-response');
      const c = check(r.der, leaf);
      expect(c.ok, c.output).toBe(true);
      expect(c.output).toMatch(/leaf\.pem: revoked/);
    }
  });

  it('answers a serial the mount CA never issued "unknown" (OpenBao: good), signed by the mount CA', async () => {
    const reqDer = withTempDir((dir) => {
      writeFileSync(join(dir, 'issuer.pem'), f.intermediatePem);
      const args = ['-issuer', join(dir, 'issuer.pem'), '-serial', '0x0102030405060708', '-no_nonce'];
      const made = opensslRaw(['ocsp', ...args, '-reqout', join(dir, 'req.der')]);
      expect(made.status, made.output).toBe(0);
      return new Uint8Array(readFileSync(join(dir, 'req.der')));
    });
    const r = await post(reqDer);
    expect(r.status).toBe(200);
    const out = withTempDir((dir) => {
      writeFileSync(join(dir, 'resp.der'), r.der);
      writeFileSync(join(dir, 'signer.pem'), f.intermediatePem);
      return opensslRaw(['ocsp', '-respin', join(dir, 'resp.der'), '-resp_text', '-VAfile', join(dir, 'signer.pem')])
        .output;
    });
    expect(out).toContain('Serial Number: 0102030405060708');
    expect(out).toContain('Cert Status: unknown');
    expect(out).toContain('Response verify OK');
  });

  it('answers a certificate of another issuer "unknown", signed by the mount CA', async () => {
    // the issuing CA's own certificate: its issuer is the root, which this mount does not serve
    const req = opensslOcspRequest({ issuerPem: f.rootPem, leafPem: f.intermediatePem });
    const r = await post(req);
    expect(r.status).toBe(200);
    const text = withTempDir((dir) => {
      writeFileSync(join(dir, 'resp.der'), r.der);
      writeFileSync(join(dir, 'signer.pem'), f.intermediatePem);
      return opensslRaw(['ocsp', '-respin', join(dir, 'resp.der'), '-resp_text', '-VAfile', join(dir, 'signer.pem')])
        .output;
    });
    expect(text).toContain('Cert Status: unknown');
    expect(text).toContain('Response verify OK');
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslText(f.intermediatePem))?.[1];
    expect(ski).toBeDefined();
    expect(text).toContain(`Responder Id: ${ski!.replace(/:/g, '')}`);
  });

  it('answers a malformed request 400 with an OCSP malformedRequest body, never JSON', async () => {
    for (const r of [await post(new Uint8Array([1, 2, 3])), await get(new Uint8Array([0x30, 0x00]))]) {
      expect(r.status).toBe(400);
      expect(r.type).toBe('application/ocsp-response');
      const text = withTempDir((dir) => {
        writeFileSync(join(dir, 'resp.der'), r.der);
        return opensslRaw(['ocsp', '-respin', join(dir, 'resp.der'), '-resp_text', '-noverify']).output;
      });
      expect(text).toMatch(/malformedrequest/i);
    }
    const notBase64 = await fetch(`${f.url}/v1/pki/ocsp/not!base64`);
    expect(notBase64.status).toBe(400);
  });
});
