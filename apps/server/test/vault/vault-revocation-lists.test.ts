// OpenBao's unified-CRL tools (`path_resign_crls.go`): `issuer/:ref/sign-revocation-list` signs a CRL of the entries,
// number, delta base and extensions the caller gives with the issuer's key; `issuer/:ref/resign-crls` combines CRLs
// the issuer signed into one. Each CRL is checked by `openssl crl -verify`, certtool and Go against the issuer; neither
// path touches the issuer's own CRL; each is audited `crl.signed`; bad input, an unknown issuer, a key the issuer
// cannot sign with and a token without ca:write are refused with a 4xx, signing and recording nothing.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '@pkim/server';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import { ACTORS, listen } from '../server-test-support';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
let db: Database.Database;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: { allowed_domains: 'example.com', allow_subdomains: true } } });
  db = new Database(join(f.fx.dataDir, 'pkim.db'), { fileMustExist: true });
}, 60_000);
afterAll(async () => {
  db?.close();
  await f?.close();
});

const derOfPem = (pem: string) =>
  new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'));
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
/** audit events of an action, and every CRL number the issuer's own CRL has had */
const events = (action: string) =>
  (db.prepare('SELECT count(*) AS n FROM audit_events WHERE action = ?').get(action) as { n: number }).n;
const ownCrlNumber = async () => {
  const der = new Uint8Array(await (await fetch(`${f.url}/v1/pki/crl`)).arrayBuffer());
  const v = opensslCrlVerify(der, f.intermediatePem);
  expect(v.ok, v.text).toBe(true);
  return /CRL Number:\s*(\S+)/.exec(v.text)?.[1];
};

// serials as OpenBao's test gives them (colons), and a plain one
const S1 = '37:60:16:e4:85:d5:96:38:3a:ed:31:06:8d:ed:7a:46:d4:22:63:d8';
const S2 = '27:03:89:76:5a:d4:d8:19:48:47:ca:96:db:6f:27:86:31:92:9f:82';
const S3 = '0abc';
const flat = (s: string) => s.replace(/:/g, '').toUpperCase();

describe('issuer/:ref/sign-revocation-list', () => {
  it("signs the given entries, number, delta base and extensions with the issuer's key", async () => {
    const own = await ownCrlNumber();
    const before = events('crl.signed');
    const r = await vaultCall(f, 'POST', 'pki/issuer/default/sign-revocation-list', {
      crl_number: 7,
      delta_crl_base_number: 5,
      next_update: '12h',
      revoked_certs: [
        { serial_number: S1, revocation_time: '2024-03-01T10:00:00Z' },
        // keyCompromise as OpenBao takes it: a reasonCode entry extension, its value base64 DER (ENUMERATED 1)
        { serial_number: S2, revocation_time: 1709287200, extensions: [{ id: '2.5.29.21', value: b64('0a0101') }] },
        { serial_number: S3, revocation_time: '1709287200' },
      ],
      // a CRL extension of the caller's: UTF8String "unified"
      extensions: [{ id: '1.3.6.1.4.1.55555.1', critical: false, value: b64('0c07756e6966696564') }],
    });
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body.data)).toEqual(['crl']);
    expect(r.body.data.crl).toMatch(/^-----BEGIN X509 CRL-----\n/);
    const v = opensslCrlVerify(derOfPem(r.body.data.crl), f.intermediatePem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text).toMatch(/X509v3 CRL Number:\s*\n\s*7\b/);
    expect(v.text).toMatch(/X509v3 Delta CRL Indicator: critical\s*\n\s*5\b/);
    expect(v.text).toMatch(/1\.3\.6\.1\.4\.1\.55555\.1:\s*\n\s*\.\.unified/);
    for (const s of [S1, S2, S3]) expect(v.text).toContain(`Serial Number: ${flat(s)}`);
    expect(v.text).toMatch(/Revocation Date: Mar {2}1 10:00:00 2024 GMT/);
    expect(v.text).toContain('Key Compromise');
    expect(v.go.entries.get(flat(S2).toLowerCase())).toBe(1);
    // next update 12 hours after this update
    const [thisUpdate, nextUpdate] = ['Last Update', 'Next Update'].map((k) =>
      Date.parse(new RegExp(`${k}: (.+ GMT)`).exec(v.text)![1]!),
    );
    expect(nextUpdate! - thisUpdate!).toBe(12 * 3600_000);
    // audited; the issuer's own CRL is not this one (its number unchanged)
    expect(events('crl.signed')).toBe(before + 1);
    expect(await ownCrlNumber()).toBe(own);
    // format=der: the DER in base64; no delta base → no Delta CRL Indicator; OpenBao's 72 h by default
    const der = await vaultCall(f, 'POST', `pki/issuer/${f.caId}/sign-revocation-list`, {
      format: 'DER',
      revoked_certs: [],
    });
    expect(der.status, der.text).toBe(200);
    const d = opensslCrlVerify(new Uint8Array(Buffer.from(der.body.data.crl, 'base64')), f.intermediatePem);
    expect(d.ok, d.text).toBe(true);
    expect(d.text).not.toContain('Delta CRL');
    expect(d.text).toMatch(/X509v3 CRL Number:\s*\n\s*0\b/);
    expect(d.text).toContain('No Revoked Certificates');
    const [t0, t1] = ['Last Update', 'Next Update'].map((k) =>
      Date.parse(new RegExp(`${k}: (.+ GMT)`).exec(d.text)![1]!),
    );
    expect(t1! - t0!).toBe(72 * 3600_000);
  });

  it('refuses bad input, an unknown issuer and a token without ca:write, signing and recording nothing', async () => {
    const entry = { serial_number: S1, revocation_time: '2024-03-01T10:00:00Z' };
    const before = { signed: events('crl.signed'), failed: events('crl.sign_failed') };
    for (const [path, body, message] of [
      [
        'default',
        { revoked_certs: [{ ...entry, serial_number: 'zz:11' }] },
        /^failed parsing serial_number from entry 0: 'serial_number' failed converting to bytes/,
      ],
      ['default', { revoked_certs: [{ ...entry, serial_number: '' }] }, /^failed parsing serial_number from entry 0/],
      ['default', { revoked_certs: [{ ...entry, serial_number: '01'.repeat(21) }] }, /longer than 20 octets/],
      ['default', { revoked_certs: [{ revocation_time: entry.revocation_time }] }, /missing 'serial_number' field/],
      [
        'default',
        { revoked_certs: [{ ...entry, revocation_time: 'yesterday' }] },
        /^failed parsing revocation_time from entry 0: failed parsing time yesterday/,
      ],
      [
        'default',
        { revoked_certs: [{ ...entry, revocation_time: '2024-13-45T10:00:00Z' }] },
        /^failed parsing revocation_time from entry 0/,
      ],
      ['default', { revoked_certs: [{ serial_number: S1 }] }, /missing 'revocation_time' field/],
      [
        'default',
        { revoked_certs: [entry, { ...entry, serial_number: S1.toUpperCase() }] },
        /^duplicate serial number: .*, original entry 0 and 1$/,
      ],
      ['default', { revoked_certs: ['x'] }, /^revoked_certs entry 0 is not a map$/],
      [
        'default',
        { revoked_certs: [{ ...entry, extensions: { id: '1.2.3' } }] },
        /'extensions' field did not contain a slice/,
      ],
      [
        'default',
        { extensions: [{ id: '2.5.29.20', value: '' }] },
        /crl number object identifier \(2\.5\.29\.20\) is reserved/,
      ],
      [
        'default',
        { extensions: [{ id: '2.5.29.35', value: '' }] },
        /authority key object identifier \(2\.5\.29\.35\) is reserved/,
      ],
      [
        'default',
        { extensions: [{ id: '2.5.29.27', value: '' }] },
        /delta crl object identifier \(2\.5\.29\.27\) is reserved/,
      ],
      ['default', { extensions: [{ id: '1.2.x', value: '' }] }, /failed parsing asn1 index element 2 value x/],
      ['default', { extensions: [{ id: '1.2.3', value: 'not base64!' }] }, /failed base64 decoding 'value' field/],
      ['default', { extensions: [{ id: '1.2.3' }] }, /missing 'value' field/],
      [
        'default',
        {
          extensions: [
            { id: '1.2.3', value: '' },
            { id: '1.2.3', value: '' },
          ],
        },
        /^duplicate extension id: 1\.2\.3$/,
      ],
      ['default', { format: 'crt' }, /^unknown format value of crt$/],
      ['default', { next_update: '0s' }, /^next_update parameter must be greater than 0$/],
      ['default', { next_update: 'soon' }, /^invalid value for next_update/],
      ['default', { crl_number: -1 }, /^crl_number parameter must be 0 or greater$/],
      ['default', { delta_crl_base_number: -2 }, /^delta_crl_base_number parameter must be -1 or greater$/],
      ['nope', {}, /^failed to resolve issuer issuer_ref: unable to find PKI issuer for reference: nope$/],
    ] as const) {
      const r = await vaultCall(f, 'POST', `pki/issuer/${path}/sign-revocation-list`, body);
      expect(r.status, `${JSON.stringify(body)}: ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    const { token } = await f.authority.auth.createToken(
      { name: 'operator', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    const refused = await vaultCall(
      f,
      'POST',
      'pki/issuer/default/sign-revocation-list',
      { revoked_certs: [entry] },
      { token },
    );
    expect(refused.status, refused.text).toBe(403);
    const anonymous = await vaultCall(f, 'POST', 'pki/issuer/default/sign-revocation-list', {}, { token: null });
    expect(anonymous.status).toBe(403);
    expect({ signed: events('crl.signed'), failed: events('crl.sign_failed') }).toEqual(before);
  });
});

describe('issuer/:ref/resign-crls', () => {
  it("combines CRLs the issuer signed, the oldest time of a serial kept with OpenBao's warning", async () => {
    // the issuer's own CRL with a revoked leaf, and a CRL of given entries: one serial on both with another time
    const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'r.example.com', ttl: '1h' });
    expect(issued.status, issued.text).toBe(200);
    const leaf = issued.body.data.serial_number as string;
    expect((await vaultCall(f, 'POST', 'pki/revoke', { serial_number: leaf })).status).toBe(200);
    const crl1 = await (await fetch(`${f.url}/v1/pki/crl/pem`)).text();
    const given = await vaultCall(f, 'POST', 'pki/issuer/default/sign-revocation-list', {
      crl_number: 3,
      revoked_certs: [
        {
          serial_number: S1,
          revocation_time: '2024-03-01T10:00:00Z',
          extensions: [{ id: '2.5.29.21', value: b64('0a0101') }],
        },
        { serial_number: leaf, revocation_time: '2020-01-02T03:04:05Z' },
      ],
    });
    expect(given.status, given.text).toBe(200);
    const r = await vaultCall(f, 'POST', 'pki/issuer/default/resign-crls', {
      crl_number: 42,
      delta_crl_base_number: 41,
      next_update: '1h',
      crls: [crl1, given.body.data.crl],
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.warnings).toEqual([
      `Duplicate serial ${leaf} with different revocation times detected, using oldest revocation time`,
    ]);
    const v = opensslCrlVerify(derOfPem(r.body.data.crl), f.intermediatePem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text).toMatch(/X509v3 CRL Number:\s*\n\s*42\b/);
    expect(v.text).toMatch(/X509v3 Delta CRL Indicator: critical\s*\n\s*41\b/);
    expect(v.text).toContain(`Serial Number: ${flat(S1)}`);
    expect(v.text).toContain(`Serial Number: ${flat(leaf)}`);
    expect(v.text).toContain('Revocation Date: Jan  2 03:04:05 2020 GMT');
    // the reason code of an entry is kept (OpenBao drops entry extensions)
    expect(v.go.entries.get(flat(S1).toLowerCase())).toBe(1);
    // format=der
    const der = await vaultCall(f, 'POST', `pki/issuer/${f.caId}/resign-crls`, { format: 'der', crls: [crl1] });
    expect(der.status, der.text).toBe(200);
    const d = opensslCrlVerify(new Uint8Array(Buffer.from(der.body.data.crl, 'base64')), f.intermediatePem);
    expect(d.ok, d.text).toBe(true);
    expect(d.text).toContain(`Serial Number: ${flat(leaf)}`);
  });

  it('refuses a CRL of another issuer, malformed CRLs, an unknown issuer and a token without ca:write', async () => {
    const rootCrl = await (await fetch(`${f.url}/v1/pki/crl/pem`)).text(); // the mount's issuer: fine
    const other = await f.authority.crl.current(f.rootCaId);
    const otherPem = `-----BEGIN X509 CRL-----\n${Buffer.from(other.der)
      .toString('base64')
      .replace(/.{1,64}/g, '$&\n')}-----END X509 CRL-----\n`;
    const before = events('crl.signed');
    for (const [path, body, message] of [
      ['default', { crls: [rootCrl, otherPem] }, /^CRL index: 1 was not signed by requested issuer$/],
      [
        'default',
        { crls: [`${rootCrl}${rootCrl}`] },
        /^failed decoding crl 0: invalid crl; should be one PEM block only$/,
      ],
      ['default', { crls: ['not a CRL'] }, /^failed decoding crl 0: invalid crl; should be one PEM block only$/],
      ['default', { crls: [f.intermediatePem] }, /^failed decoding crl 0: invalid crl; should be one PEM block only$/],
      [
        'default',
        { crls: ['-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----'] },
        /^failed decoding crl 0: malformed CRL/,
      ],
      ['default', { crls: [rootCrl], format: 'txt' }, /^unknown format value of txt$/],
      [
        'nope',
        { crls: [rootCrl] },
        /^failed to resolve issuer issuer_ref: unable to find PKI issuer for reference: nope$/,
      ],
    ] as const) {
      const r = await vaultCall(f, 'POST', `pki/issuer/${path}/resign-crls`, body);
      expect(r.status, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toMatch(message);
    }
    const { token } = await f.authority.auth.createToken(
      { name: 'auditor', role: 'auditor', expiresInMs: null },
      ACTORS.admin,
    );
    const refused = await vaultCall(f, 'POST', 'pki/issuer/default/resign-crls', { crls: [rootCrl] }, { token });
    expect(refused.status).toBe(403);
    expect(events('crl.signed')).toBe(before);
  });
});

describe('an issuer whose key cannot sign', () => {
  it("is refused with OpenBao's message, the failure audited, nothing signed", async () => {
    // a root of its own mount, its key then lost from the key store (another process: no key cached)
    expect((await vaultCall(f, 'POST', 'sys/mounts/lost', { type: 'pki' })).status).toBe(204);
    const root = await vaultCall(f, 'POST', 'lost/root/generate/internal', {
      common_name: 'Lost Key Root',
      key_type: 'ec',
    });
    expect(root.status, root.text).toBe(200);
    const issuerId = root.body.data.issuer_id as string;
    const keyUri = (
      db.prepare('SELECT key_uri AS u FROM certificate_authorities WHERE id = ?').get(issuerId) as { u: string }
    ).u;
    expect(db.prepare('DELETE FROM key_blobs WHERE id = ?').run(keyUri.replace(/^software:/, '')).changes).toBe(1);
    const second = await f.fx.openSecond();
    const app = await buildServer(second, { logger: false, rateLimit: false, backgroundJobs: false });
    try {
      const g = { url: await listen(app), token: f.token };
      const crl = await (await fetch(`${f.url}/v1/pki/crl/pem`)).text();
      const before = { signed: events('crl.signed'), failed: events('crl.sign_failed') };
      for (const [path, body] of [
        ['sign-revocation-list', { revoked_certs: [{ serial_number: S1, revocation_time: 1709287200 }] }],
        ['resign-crls', { crls: [] }],
      ] as const) {
        const r = await vaultCall(g, 'POST', `lost/issuer/default/${path}`, body);
        expect(r.status, r.text).toBe(400);
        expect(r.body.errors).toEqual([
          `unable to fetch corresponding key for issuer ${issuerId}; unable to use this issuer for signing`,
        ]);
      }
      expect({ signed: events('crl.signed'), failed: events('crl.sign_failed') }).toEqual({
        signed: before.signed,
        failed: before.failed + 2,
      });
      // the other issuers sign on
      const ok = await vaultCall(g, 'POST', 'pki/issuer/default/resign-crls', { crls: [crl] });
      expect(ok.status, ok.text).toBe(200);
    } finally {
      await app.close();
    }
  });
});
