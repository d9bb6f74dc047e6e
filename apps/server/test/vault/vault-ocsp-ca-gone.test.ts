// A Vault mount's `ocsp` for a certificate whose issuer was deleted (`DELETE <mount>/issuer/:ref`), as OpenBao's
// path_ocsp.go answers: an issuer the mount no longer has is an unknown issuer — `unknown`, signed by the mount's
// default issuer (generateUnknownResponse) — and a mount without a default issuer has nothing to sign with:
// 401 `unauthorized` (RFC 6960 §2.3), whatever the request names, also a certificate of a CA outside the mount. The
// native `/ocsp` answers a deleted CA's certificate `unauthorized` (ocsp-ca-gone.test.ts). `unified-ocsp` is not a
// path here, as in OpenBao (404). Over raw HTTP; every response read by `openssl ocsp`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslOcspRequest } from '../../../../tests/support/verifiers';
import {
  goneMountWithTwoRoots,
  openVaultFixture,
  vaultCall,
  vaultOcspAsk as ask,
  vaultOcspRead as read,
  WEB_ROLE,
  type VaultFixture,
} from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: { ...WEB_ROLE, key_type: 'ec' } } });
}, 60_000);
afterAll(async () => f?.close());

const pemOf = (s: string) => `${s.trim()}\n`;

describe("a Vault mount's ocsp for the certificates of a deleted issuer", () => {
  it('a deleted issuer: unknown signed by the default issuer; no default left: 401 unauthorized', async () => {
    const { first, second } = await goneMountWithTwoRoots(f, ['Gone First', 'Gone Second']);
    const leaf = async (path: string, issuerPem: string) => {
      const r = await vaultCall(f, 'POST', `gone/${path}`, { common_name: 'l.example.com', ttl: '1h' });
      expect(r.status, r.text).toBe(200);
      return opensslOcspRequest({ issuerPem, leafPem: pemOf(r.body.data.certificate) });
    };
    const ofFirst = await leaf('issue/web', first.pem);
    const ofSecond = await leaf(`issuer/${second.id}/issue/web`, second.pem);
    // a leaf of a CA outside the mount (the fixture's mount `pki`)
    const pkiLeaf = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'p.example.com', ttl: '1h' });
    const outside = opensslOcspRequest({ issuerPem: f.intermediatePem, leafPem: pemOf(pkiLeaf.body.data.certificate) });

    expect(read((await ask(f, 'gone/ocsp', ofSecond)).der, second.pem)).toBe('good');
    expect(read((await ask(f, 'gone/ocsp', outside)).der, first.pem)).toBe('unknown');

    // the second issuer revoked (its leaves stay good), then deleted with its certificates
    expect((await vaultCall(f, 'POST', `gone/issuer/${second.id}/revoke`)).status).toBe(200);
    expect(read((await ask(f, 'gone/ocsp', ofSecond)).der, second.pem)).toBe('good');
    expect((await vaultCall(f, 'DELETE', `gone/issuer/${second.id}`)).status).toBe(200);
    for (const method of ['POST', 'GET'] as const) {
      const r = await ask(f, 'gone/ocsp', ofSecond, method);
      expect([r.status, r.type]).toEqual([200, 'application/ocsp-response']);
      expect(read(r.der, first.pem), method).toBe('unknown');
    }
    expect(read((await ask(f, 'gone/ocsp', ofFirst)).der, first.pem)).toBe('good');
    const native = await fetch(`${f.url}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: Buffer.from(ofSecond),
    });
    expect(read(new Uint8Array(await native.arrayBuffer()))).toBe('unauthorized');

    // the default deleted too: the mount has no issuer to sign with, whatever the request names
    expect((await vaultCall(f, 'POST', `gone/issuer/${first.id}/revoke`)).status).toBe(200);
    expect((await vaultCall(f, 'DELETE', 'gone/issuer/default')).status).toBe(200);
    for (const req of [ofFirst, ofSecond, outside]) {
      for (const method of ['POST', 'GET'] as const) {
        const r = await ask(f, 'gone/ocsp', req, method);
        expect([r.status, r.type]).toEqual([401, 'application/ocsp-response']);
        expect(read(r.der), method).toBe('unauthorized');
      }
    }
    // the fixture's mount still answers its own leaf
    expect(read((await ask(f, 'pki/ocsp', outside)).der, f.intermediatePem)).toBe('good');
  });

  it('a mount that never had an issuer: 401 unauthorized, also for a certificate of a CA outside it', async () => {
    expect((await vaultCall(f, 'POST', 'sys/mounts/empty', { type: 'pki' })).status).toBe(204);
    const pkiLeaf = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'e.example.com', ttl: '1h' });
    const outside = opensslOcspRequest({ issuerPem: f.intermediatePem, leafPem: pemOf(pkiLeaf.body.data.certificate) });
    for (const method of ['POST', 'GET'] as const) {
      const r = await ask(f, 'empty/ocsp', outside, method);
      expect([r.status, r.type]).toEqual([401, 'application/ocsp-response']);
      expect(read(r.der), method).toBe('unauthorized');
    }
  });

  it('unified-ocsp is not a path (OpenBao has none): 404', async () => {
    const req = opensslOcspRequest({ issuerPem: f.rootPem, leafPem: f.intermediatePem });
    expect((await ask(f, 'pki/unified-ocsp', req)).status).toBe(404);
    expect((await ask(f, 'pki/unified-ocsp', req, 'GET')).status).toBe(404);
  });
});
