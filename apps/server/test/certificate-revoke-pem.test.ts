// "Revoke this PEM" over REST (`POST /api/v1/certificates/revoke`) and tRPC (`certificate.revokePresented`): thin
// adapters over the authority's certificates.revokePresented. A certificate a Vault `no_store` role issued (no row
// here) gets its row, revoked; a stored one is revoked as by serial (its row, 409 `certificate.already_revoked` the
// second time); a CA's own certificate is 400 `certificate.is_ca_certificate`; a token without certificate:revoke is
// 403 and nothing changes. The CRL is checked by openssl, certtool and Go, the OCSP answer by openssl.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCrlVerify, opensslOcspRequest } from '../../../tests/support/verifiers';
import { ACTORS, callerFor } from './server-test-support';
import {
  openVaultFixture,
  vaultCall,
  vaultOcspAsk,
  vaultOcspRead,
  vaultRaw,
  WEB_ROLE,
  type VaultFixture,
} from './vault/vault-test-support';

const hexOf = (serial: string) => serial.replaceAll(':', '').toLowerCase();

describe('revoking a certificate given as PEM: REST and tRPC', () => {
  let f: VaultFixture;
  beforeAll(async () => {
    f = await openVaultFixture({}, { roles: { ns: { ...WEB_ROLE, no_store: true }, st: WEB_ROLE } });
  }, 120_000);
  afterAll(async () => f?.close());

  async function issue(role: string, name: string) {
    const r = await vaultCall(f, 'POST', `pki/issue/${role}`, { common_name: `${name}.example.com`, ttl: '24h' });
    expect(r.status, r.text).toBe(200);
    return { pem: `${r.body.data.certificate as string}\n`, serial: hexOf(r.body.data.serial_number as string) };
  }

  async function rest(body: unknown, token = f.token) {
    const res = await fetch(`${f.url}/api/v1/certificates/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  it('a no_store certificate gets its row, revoked: on the CRL (openssl, certtool, Go), OCSP revoked', async () => {
    const a = await issue('ns', 'pem-a');
    await expect(f.authority.certificates.find(a.serial, ACTORS.admin)).rejects.toMatchObject({
      code: 'certificate.not_found',
    });
    // a token without certificate:revoke: 403, nothing stored
    const reader = await f.authority.auth.createToken(
      { name: 'reader', role: 'admin', expiresInMs: null, scopes: ['certificate:read'] },
      ACTORS.admin,
    );
    const refused = await rest({ certificatePem: a.pem }, reader.token);
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    await expect(f.authority.certificates.find(a.serial, ACTORS.admin)).rejects.toMatchObject({
      code: 'certificate.not_found',
    });

    const r = await rest({ certificatePem: a.pem, reason: 'keyCompromise' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ serial: a.serial, status: 'revoked', revocationReason: 'keyCompromise' });
    const row = await f.authority.certificates.find(a.serial, ACTORS.admin);
    expect(row).toMatchObject({ status: 'revoked', profile: 'unknown', caId: f.caId });

    const crl = opensslCrlVerify(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase()).toContain(a.serial);
    expect(crl.certtool.output.toLowerCase()).toContain(a.serial);
    expect(crl.go.entries.has(BigInt(`0x${a.serial}`).toString(16)), crl.go.output).toBe(true);
    const ocsp = await vaultOcspAsk(
      f,
      'pki/ocsp',
      opensslOcspRequest({ issuerPem: f.intermediatePem, leafPem: a.pem }),
    );
    expect(vaultOcspRead(ocsp.der, f.intermediatePem)).toBe('revoked');

    // again: as by serial, already revoked
    const again = await rest({ certificatePem: a.pem });
    expect([again.status, again.body.code]).toEqual([409, 'certificate.already_revoked']);
  });

  it('a stored certificate is revoked as by serial (its row); over tRPC too, naming the CA', async () => {
    const b = await issue('st', 'pem-b');
    const stored = await f.authority.certificates.find(b.serial, ACTORS.admin);
    const out = await callerFor(f.authority, ACTORS.admin).certificate.revokePresented({
      certificatePem: b.pem,
      ca: 'Vault Test Issuing',
    });
    expect(out).toMatchObject({ id: stored.id, status: 'revoked', revocationReason: 'unspecified' });
    const crl = opensslCrlVerify(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase()).toContain(b.serial);
    const again = await rest({ certificatePem: b.pem });
    expect([again.status, again.body.code]).toEqual([409, 'certificate.already_revoked']);
  });

  it("a CA's own certificate, a PEM no CA here signed, bad input: 4xx, nothing changed", async () => {
    const own = await rest({ certificatePem: f.intermediatePem });
    expect([own.status, own.body.code]).toEqual([400, 'certificate.is_ca_certificate']);
    expect((await f.authority.cas.get(f.caId)).ca.status).toBe('active');
    const root = await rest({ certificatePem: f.rootPem });
    expect(root.status).toBe(400);
    expect(new X509Certificate(f.rootPem).ca).toBe(true);
    const junk = await rest({ certificatePem: 'not a certificate' });
    expect(junk.status).toBe(400);
    const extra = await rest({ certificatePem: f.intermediatePem, serial: '01' });
    expect(extra.status).toBe(400);
  });
});
