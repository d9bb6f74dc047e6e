// The Vault 1.11+ issuer API of a mount with one issuer (vault-multi-issuer.test.ts: several): LIST issuers (raw LIST,
// issuer/:ref (token), issuer/:ref/json|pem|der and crl* (no token), config/issuers, keys, key/:ref and config/keys
// (token), and the issuer/:ref/issue|sign|sign-verbatim twins of the existing routes. Chains checked by openssl
// verify, the CRL by openssl + certtool + Go.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr, opensslSignCaCsrUnderIntermediate } from '../../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS } from '../server-test-support';
import { openVaultFixture, rawHttp, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: { ...WEB_ROLE, key_type: 'ec' } } });
}, 60_000);
afterAll(async () => f?.close());

const NAME = 'Vault Test Issuing';
const anon = { token: null };

/** the body of the last HTTP answer on a raw connection */
const lastBody = (raw: string) => raw.slice(raw.lastIndexOf('\r\n\r\n') + 4);

describe('LIST issuers and issuer/:ref', () => {
  it('lists the one issuer with the raw LIST verb and with ?list=true, without a token; GET alone is 405', async () => {
    const raw = await rawHttp(
      f.port,
      'LIST /v1/pki/issuers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      (s) => s.includes('"key_info"') && s.trimEnd().endsWith('}'),
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const listed = JSON.parse(lastBody(raw));
    const serial = new X509Certificate(f.intermediatePem).serialNumber.toLowerCase().match(/../g)!.join(':');
    expect(listed.data).toEqual({
      keys: [f.caId],
      key_info: {
        [f.caId]: { issuer_name: NAME, is_default: true, serial_number: serial, key_id: expect.any(String) },
      },
    });
    expect(listed.data.key_info[f.caId].key_id).toMatch(/^[0-9a-f]{40}$/);
    const q = await vaultCall(f, 'GET', 'pki/issuers/?list=true', undefined, anon);
    expect(q.status).toBe(200);
    expect(q.body.data).toEqual(listed.data);
    expect((await vaultCall(f, 'GET', 'pki/issuers', undefined, anon)).status).toBe(405);
  });

  it('reads the whole issuer by id, name and default with a token; 403 without one', async () => {
    expect((await vaultCall(f, 'GET', 'pki/issuer/default', undefined, anon)).status).toBe(403);
    for (const ref of [f.caId, encodeURIComponent(NAME), 'default']) {
      const r = await vaultCall(f, 'GET', `pki/issuer/${ref}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.data).toMatchObject({
        issuer_id: f.caId,
        issuer_name: NAME,
        certificate: f.intermediatePem.trim(),
        ca_chain: [f.intermediatePem.trim(), f.rootPem.trim()],
        manual_chain: null,
        leaf_not_after_behavior: 'err',
        usage: 'crl-signing,issuing-certificates,ocsp-signing,read-only',
        revoked: false,
        enable_aia_url_templating: false,
      });
      expect(r.body.data.key_id).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('answers an unknown ref 404 with OpenBao message on every issuer read, with or without a token', async () => {
    for (const tail of ['', '/json', '/pem', '/der', '/crl', '/crl/pem', '/crl/der']) {
      const r = await vaultCall(f, 'GET', `pki/issuer/nope${tail}`);
      expect(r.status, `${tail}: ${r.text}`).toBe(404);
      expect(r.body).toEqual({ errors: ['unable to find PKI issuer for reference: nope'] });
    }
    // the root above the mount's CA is not an issuer of this mount
    expect((await vaultCall(f, 'GET', `pki/issuer/${f.rootCaId}/json`, undefined, anon)).status).toBe(404);
  });

  it('serves issuer/:ref/json, pem and der without a token; the chain verifies with openssl', async () => {
    const j = await vaultCall(f, 'GET', 'pki/issuer/default/json', undefined, anon);
    expect(j.status, j.text).toBe(200);
    expect(j.body.data).toEqual({
      certificate: f.intermediatePem.trim(),
      ca_chain: [f.intermediatePem.trim(), f.rootPem.trim()],
      issuer_id: f.caId,
      issuer_name: NAME,
    });
    const pem = await fetch(`${f.url}/v1/pki/issuer/${f.caId}/pem`);
    expect(pem.headers.get('content-type')).toBe('application/pem-certificate-chain');
    expect(await pem.text()).toBe(f.intermediatePem.trim());
    const der = await fetch(`${f.url}/v1/pki/issuer/default/der`);
    expect(der.headers.get('content-type')).toBe('application/pkix-cert');
    expect(Buffer.from(await der.arrayBuffer()).equals(new X509Certificate(f.intermediatePem).raw)).toBe(true);
    const v = opensslVerify({ leafPem: `${j.body.data.certificate}\n`, rootPem: `${j.body.data.ca_chain[1]}\n` });
    expect(v.ok, v.output).toBe(true);
  });
});

describe('LIST keys and key/:ref', () => {
  it("lists the mount's one key (its CA's) with a token; reads it by id, name and default", async () => {
    expect((await vaultCall(f, 'GET', 'pki/keys?list=true', undefined, anon)).status).toBe(403);
    const raw = await rawHttp(
      f.port,
      `LIST /v1/pki/keys HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${f.token}\r\nConnection: close\r\n\r\n`,
      (s) => s.includes('"key_info"') && s.trimEnd().endsWith('}'),
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const listed = JSON.parse(lastBody(raw));
    const keyId: string = (await vaultCall(f, 'GET', 'pki/issuer/default')).body.data.key_id;
    expect(listed.data).toEqual({
      keys: [keyId],
      key_info: { [keyId]: { key_name: NAME, key_type: 'ec', is_default: true } },
    });
    // the subject key identifier openssl reads from the CA certificate
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslText(f.intermediatePem))![1]!.toLowerCase();
    for (const ref of [keyId, encodeURIComponent(NAME), 'default']) {
      const r = await vaultCall(f, 'GET', `pki/key/${ref}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.data).toEqual({ key_id: keyId, key_name: NAME, key_type: 'ec', subject_key_id: ski });
    }
    expect((await vaultCall(f, 'GET', 'pki/key/default', undefined, anon)).status).toBe(403);
    const nope = await vaultCall(f, 'GET', 'pki/key/nope');
    expect(nope.status).toBe(404);
    expect(nope.body).toEqual({ errors: ['unable to find PKI key for reference: nope'] });
  });
});

describe('an issuer signed outside the deployment', () => {
  it('serves the outside issuer chain in issuer/:ref/json, which openssl verifies up to the outside root', async () => {
    const a = f.authority;
    const pending = await a.cas.createExternalIntermediate(
      { name: 'vault-ext', subject: { commonName: 'Vault Ext CA' }, keyType: 'ec-p256' },
      ACTORS.admin,
    );
    const outside = opensslSignCaCsrUnderIntermediate(pending.csrPem);
    await a.cas.importCertificate(pending.ca.id, outside.subPem, ACTORS.admin, {
      issuerCertificatePem: `${outside.intermediatePem}${outside.rootPem}`,
    });
    await a.vault.mounts.mount({ path: 'ext', ca: pending.ca.id }, ACTORS.admin);

    const j = await vaultCall(f, 'GET', 'ext/issuer/vault-ext/json', undefined, anon);
    expect(j.status, j.text).toBe(200);
    const chain: string[] = j.body.data.ca_chain;
    expect(chain).toEqual([outside.subPem.trim(), outside.intermediatePem.trim(), outside.rootPem.trim()]);
    expect(j.body.data.certificate).toBe(outside.subPem.trim());
    const v = opensslVerify({
      leafPem: `${j.body.data.certificate}\n`,
      chainPems: [`${chain[1]}\n`],
      rootPem: `${chain[2]}\n`,
    });
    expect(v.ok, v.output).toBe(true);
    // the full entry agrees (one chain source)
    const full = await vaultCall(f, 'GET', 'ext/issuer/default');
    expect(full.body.data.ca_chain).toEqual(chain);
    expect(full.body.data.issuer_id).toBe(pending.ca.id);
  });
});

describe('issuer/:ref/crl', () => {
  it('serves the mount CRL as JSON, PEM and DER without a token; it lists a revoked certificate', async () => {
    const issued = await vaultCall(f, 'POST', 'pki/issuer/default/issue/web', { common_name: 'crl.example.com' });
    expect(issued.status, issued.text).toBe(200);
    const serial: string = issued.body.data.serial_number;
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: serial })).status).toBe(200);

    const pem = await fetch(`${f.url}/v1/pki/issuer/default/crl/pem`);
    expect(pem.status).toBe(200);
    expect(pem.headers.get('content-type')).toBe('application/x-pem-file');
    const pemText = await pem.text();
    expect(pemText).toMatch(/^-----BEGIN X509 CRL-----\n/);
    const der = Buffer.from(pemText.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const check = opensslCrlVerify(der, f.intermediatePem);
    expect(check.ok, check.text).toBe(true);
    expect(check.text.toLowerCase().replace(/\s+/g, '')).toContain(serial.replace(/:/g, ''));

    const mountCrl = Buffer.from(await (await fetch(`${f.url}/v1/pki/crl`)).arrayBuffer());
    expect(der.equals(mountCrl)).toBe(true);
    const rawDer = await fetch(`${f.url}/v1/pki/issuer/${f.caId}/crl/der`);
    expect(rawDer.headers.get('content-type')).toBe('application/pkix-crl');
    expect(Buffer.from(await rawDer.arrayBuffer()).equals(mountCrl)).toBe(true);
    const j = await vaultCall(f, 'GET', `pki/issuer/${encodeURIComponent(NAME)}/crl`, undefined, anon);
    expect(j.status).toBe(200);
    expect(j.body.data).toEqual({ crl: pemText });
  });
});

describe('config/keys', () => {
  it("reads the CA's key as default; a write naming it answers 200, a key not the mount's 400, unchanged", async () => {
    expect((await vaultCall(f, 'GET', 'pki/config/keys', undefined, anon)).status).toBe(403);
    expect((await vaultCall(f, 'POST', 'pki/config/keys', { default: 'x' }, anon)).status).toBe(403);
    const keyId: string = (await vaultCall(f, 'GET', 'pki/issuer/default')).body.data.key_id;
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslText(f.intermediatePem))![1]!;
    expect(keyId).toBe(ski.replace(/:/g, '').toLowerCase());
    const r = await vaultCall(f, 'GET', 'pki/config/keys');
    expect(r.status, r.text).toBe(200);
    expect(r.body.data).toEqual({ default: keyId });
    for (const ref of [keyId, NAME]) {
      const w = await vaultCall(f, 'POST', 'pki/config/keys', { default: ref });
      expect(w.status, w.text).toBe(200);
      expect(w.body.data).toEqual({ default: keyId });
    }
    const rootKey = (await f.authority.cas.get(f.rootCaId)).ca.skiHex!.toLowerCase();
    for (const ref of [rootKey, f.caId, 'nope']) {
      const other = await vaultCall(f, 'POST', 'pki/config/keys', { default: ref });
      expect(other.status).toBe(400);
      expect(other.body.errors[0]).toMatch(
        new RegExp(`^Error resolving issuer reference: unable to find PKI key for reference: ${ref}$`),
      );
    }
    for (const body of [{ default: 'default' }, {}]) {
      const bad = await vaultCall(f, 'POST', 'pki/config/keys', body);
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual(["Invalid key specification; must be non-empty and can't be 'default'."]);
    }
    expect((await vaultCall(f, 'GET', 'pki/config/keys')).body.data).toEqual({ default: keyId });
  });
});

describe('config/issuers', () => {
  it('reads the default; a write naming it: 200, a CA not of the mount: 400; follows_latest is kept', async () => {
    expect((await vaultCall(f, 'GET', 'pki/config/issuers', undefined, anon)).status).toBe(403);
    const r = await vaultCall(f, 'GET', 'pki/config/issuers');
    expect(r.body.data).toEqual({ default: f.caId, default_follows_latest_issuer: false });
    for (const ref of [f.caId, NAME]) {
      const w = await vaultCall(f, 'POST', 'pki/config/issuers', { default: ref });
      expect(w.status, w.text).toBe(200);
      expect(w.body.data).toEqual({ default: f.caId, default_follows_latest_issuer: false });
    }
    const other = await vaultCall(f, 'POST', 'pki/config/issuers', { default: f.rootCaId });
    expect(other.status).toBe(400);
    expect(other.body.errors[0]).toMatch(/^Error resolving issuer reference: unable to find PKI issuer for reference/);
    // OpenBao's default_follows_latest_issuer: kept on the mount (an issuer added becomes the default), read back
    const follow = await vaultCall(f, 'POST', 'pki/config/issuers', {
      default: f.caId,
      default_follows_latest_issuer: 'true',
    });
    expect(follow.status, follow.text).toBe(200);
    expect(follow.body.data).toEqual({ default: f.caId, default_follows_latest_issuer: true });
    expect((await vaultCall(f, 'GET', 'pki/config/issuers')).body.data.default_follows_latest_issuer).toBe(true);
    const unfollow = await vaultCall(f, 'POST', 'pki/config/issuers', {
      default: f.caId,
      default_follows_latest_issuer: false,
    });
    expect(unfollow.body.data).toEqual({ default: f.caId, default_follows_latest_issuer: false });
    expect((await vaultCall(f, 'POST', 'pki/config/issuers', { default: 'default' })).status).toBe(400);
    expect((await vaultCall(f, 'POST', 'pki/config/issuers', {})).status).toBe(400);
    expect((await vaultCall(f, 'GET', 'pki/config/issuers')).body.data.default).toBe(f.caId);
  });
});

describe('issuer/:ref/issue, sign and sign-verbatim', () => {
  const verify = (pem: string) => {
    const v = opensslVerify({ leafPem: `${pem}\n`, chainPems: [f.intermediatePem], rootPem: f.rootPem });
    expect(v.ok, v.output).toBe(true);
  };

  it('issues and signs through the mount issuer by id, name and default', async () => {
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=s.example.com', sans: ['DNS:s.example.com'] });
    const calls: [string, Record<string, unknown>][] = [
      [`pki/issuer/${f.caId}/issue/web`, { common_name: 'i.example.com' }],
      [`pki/issuer/${encodeURIComponent(NAME)}/sign/web`, { csr: csr.csrPem }],
      ['pki/issuer/default/sign-verbatim', { csr: csr.csrPem, ttl: '1h' }],
      ['pki/issuer/default/sign-verbatim/web', { csr: csr.csrPem }],
    ];
    for (const [path, body] of calls) {
      const r = await vaultCall(f, 'PUT', path, body);
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      expect(r.body.data.issuing_ca).toBe(f.intermediatePem.trim());
      verify(r.body.data.certificate);
    }
  });

  it('refuses another issuer with 400 and issues nothing; a missing token stays 403', async () => {
    const before = (await f.authority.certificates.list({ limit: 500 }, ACTORS.admin)).items.length;
    for (const path of [
      `pki/issuer/${f.rootCaId}/issue/web`,
      'pki/issuer/nope/sign/web',
      'pki/issuer/nope/sign-verbatim',
      'pki/issuer/nope/sign-verbatim/web',
    ]) {
      const r = await vaultCall(f, 'POST', path, { common_name: 'n.example.com', csr: 'x' });
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(
        /^could not fetch the CA certificate \(was one set\?\): unable to find PKI issuer/,
      );
    }
    const anonymous = await vaultCall(
      f,
      'POST',
      'pki/issuer/default/issue/web',
      { common_name: 'a.example.com' },
      anon,
    );
    expect(anonymous.status).toBe(403);
    expect((await f.authority.certificates.list({ limit: 500 }, ACTORS.admin)).items.length).toBe(before);
  });
});

describe("a role's issuer_ref", () => {
  it('is kept with a warning when it names no issuer of the mount; issue/sign through it refused', async () => {
    const before = (await f.authority.certificates.list({ limit: 500 }, ACTORS.admin)).items.length;
    const role = { ...WEB_ROLE, key_type: 'ec', issuer_ref: f.rootCaId };
    const w = await vaultCall(f, 'POST', 'pki/roles/pinned', role);
    expect(w.status, w.text).toBe(200);
    expect(w.body.data.issuer_ref).toBe(f.rootCaId);
    expect(w.body.warnings).toEqual([expect.stringMatching(/^Issuing Certificate was set to ca_\w+ but no issuing/)]);
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=p.example.com', sans: ['DNS:p.example.com'] });
    for (const [path, body] of [
      ['pki/issue/pinned', { common_name: 'p.example.com' }],
      ['pki/sign/pinned', { csr: csr.csrPem }],
      ['pki/sign-verbatim/pinned', { csr: csr.csrPem }],
    ] as const) {
      const r = await vaultCall(f, 'POST', path, body);
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      // OpenBao's text (fetchCaSigningBundle): the 400 of a role's issuer_ref naming no issuer of the mount
      expect(r.body.errors[0]).toMatch(
        /^could not fetch the CA certificate \(was one set\?\): unable to find PKI issuer for reference: ca_\w+$/,
      );
    }
    expect((await f.authority.certificates.list({ limit: 500 }, ACTORS.admin)).items.length).toBe(before);
    // the issuer a path names wins over the role's (OpenBao: issuer/:ref/issue/:role takes the path's issuer)
    const named = await vaultCall(f, 'POST', 'pki/issuer/default/issue/pinned', { common_name: 'p.example.com' });
    expect(named.status, named.text).toBe(200);
    expect(named.body.data.issuing_ca).toBe(f.intermediatePem.trim());
  });

  it("names the mount's issuer by id, name or default: no warning, and the role issues", async () => {
    for (const ref of [f.caId, NAME, 'default']) {
      const w = await vaultCall(f, 'POST', 'pki/roles/named', { ...WEB_ROLE, key_type: 'ec', issuer_ref: ref });
      expect(w.status, w.text).toBe(200);
      expect(w.body.warnings ?? null).toBeNull();
      const r = await vaultCall(f, 'POST', 'pki/issue/named', { common_name: 'n.example.com' });
      expect(r.status, `${ref}: ${r.text}`).toBe(200);
      const v = opensslVerify({
        leafPem: `${r.body.data.certificate}\n`,
        chainPems: [f.intermediatePem],
        rootPem: f.rootPem,
      });
      expect(v.ok, v.output).toBe(true);
    }
  });
});
