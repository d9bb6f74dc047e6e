// `<mount>/revoke` and `revoke-with-key` of a certificate a `no_store` role issued (no row here), as OpenBao's
// pathRevokeWriteHandleCertificate: revoked — and stored then — when its PEM verifies under an issuer of the mount
// (the authority's certificates.revokePresented: the row and its `certificate.revoked` event in one commit); then on
// the CRL (openssl, certtool, Go), `revoked` over OCSP (openssl), in `certs/revoked`, and again the first time. A PEM
// another key signed under the issuer's name is refused with OpenBao's words, a sub-CA's own certificate too, an
// expired one answers OpenBao's warning unless `allow_expired_cert_revocation`, and revoke-with-key proves the key
// after the signature and before anything is written. On SQLite and on PostgreSQL.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '@pkim/authority';
import { fixedClock } from '@pkim/shared';
import { postgresInstances } from '../../../../tests/support/postgres-instances';
import {
  opensslCrlVerify,
  opensslCrlVerifyOnly,
  opensslOcspRequest,
  opensslRaw,
  opensslVerify,
  withTempDir,
} from '../../../../tests/support/verifiers';
import { createIssuingCa, createRootCa } from '../../../../tests/support/ca-kit';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from '../server-test-support';
import {
  serveVaultMount,
  vaultCall,
  vaultOcspAsk,
  vaultOcspRead,
  vaultRaw,
  WEB_ROLE,
  type VaultFixture,
} from './vault-test-support';

type Served = Omit<VaultFixture, 'fx'>;
const NO_STORE = { ...WEB_ROLE, key_type: 'ec', no_store: true };
const UNVERIFIED =
  'unable to verify signature on presented cert from any present issuer in this mount; certificates from previous ' +
  'CAs will need to have their issuing CA and key re-imported if revocation is necessary';
const hexOf = (serial: string) => serial.replaceAll(':', '').toLowerCase();
/** a serial as Go prints it (no leading zeros) */
const goHex = (serial: string) => BigInt(`0x${hexOf(serial)}`).toString(16);

/** a leaf of `name` issued by the no_store role `ns`: its PEM, serial and private key */
async function issueNoStore(f: Served, name: string, ttl = '24h') {
  const r = await vaultCall(f, 'POST', 'pki/issue/ns', { common_name: `${name}.example.com`, ttl });
  expect(r.status, r.text).toBe(200);
  const d = r.body.data;
  return { pem: `${d.certificate}\n`, serial: d.serial_number as string, key: d.private_key as string };
}

/** the certificate's row here, or undefined (a no_store issuance keeps none) */
async function rowOf(authority: Authority, serial: string) {
  return authority.certificates.find(hexOf(serial), ACTORS.admin).catch(() => undefined);
}

/** a CA key of its own named as the mount's issuer (`CN=Vault Test Issuing`) and a leaf it signed (openssl) */
function forgedLeaf(): string {
  return withTempDir((dir) => {
    const at = (f: string) => join(dir, f);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const steps = [
      [
        'req',
        '-x509',
        ...ec,
        '-subj',
        '/CN=Vault Test Issuing',
        '-days',
        '2',
        '-keyout',
        at('ca.key'),
        '-out',
        at('ca.pem'),
      ],
      ['req', '-new', ...ec, '-subj', '/CN=forged.example.com', '-keyout', at('l.key'), '-out', at('l.csr')],
      [
        'x509',
        '-req',
        '-in',
        at('l.csr'),
        '-CA',
        at('ca.pem'),
        '-CAkey',
        at('ca.key'),
        '-days',
        '1',
        '-out',
        at('l.pem'),
      ],
    ];
    for (const args of steps) {
      const r = opensslRaw(args);
      expect(r.status, r.output).toBe(0);
    }
    return readFileSync(at('l.pem'), 'utf8');
  });
}

function noStoreTests(open: () => Promise<{ f: Served; clock: ReturnType<typeof fixedClock> }>) {
  let f: Served;
  let clock: ReturnType<typeof fixedClock>;
  const seconds = () => Math.floor(clock.now() / 1000);
  beforeAll(async () => {
    ({ f, clock } = await open());
  }, 120_000);
  afterAll(async () => f?.close());

  it('revokes and stores a presented no_store certificate: CRL, OCSP, certs/revoked; again, first time', async () => {
    const a = await issueNoStore(f, 'ns-a');
    expect(await rowOf(f.authority, a.serial)).toBeUndefined();
    // by serial there is nothing to revoke, as OpenBao (no stored copy)
    const bySerial = await vaultCall(f, 'POST', 'pki/revoke', { serial_number: a.serial });
    expect(bySerial.body).toEqual({ errors: [`certificate with serial ${a.serial} not found.`] });

    const at = clock.now();
    const first = await vaultCall(f, 'POST', 'pki/revoke', { certificate: a.pem });
    expect(first.status, first.text).toBe(200);
    expect(first.body.data).toEqual({
      revocation_time: Math.floor(at / 1000),
      revocation_time_rfc3339: new Date(at).toISOString(),
      state: 'revoked',
    });
    clock.advance(5_000);
    const again = await vaultCall(f, 'POST', 'pki/revoke', { certificate: a.pem });
    expect(again.body.data).toEqual(first.body.data);

    // the row: the certificate's own fields, profile unknown; its event
    const x = new X509Certificate(a.pem);
    const row = (await rowOf(f.authority, a.serial))!;
    expect(row).toMatchObject({
      caId: f.caId,
      serialHex: hexOf(a.serial),
      subjectDn: 'CN=ns-a.example.com',
      commonName: 'ns-a.example.com',
      sans: { dns: ['ns-a.example.com'] },
      profile: 'unknown',
      status: 'revoked',
      revokedAt: at,
      revocationReason: 'unspecified',
      notBefore: Date.parse(x.validFrom),
      notAfter: Date.parse(x.validTo),
      fingerprintSha256: x.fingerprint256.replaceAll(':', '').toLowerCase(),
    });
    const events = await f.authority.audit.list({ action: 'certificate.revoked', order: 'desc', limit: 1 });
    expect(events[0]).toMatchObject({ target: row.id, details: { serial: row.serialHex, presented: true } });

    const crl = opensslCrlVerify(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase()).toContain(hexOf(a.serial));
    expect(crl.certtool.output.toLowerCase()).toContain(hexOf(a.serial));
    expect(crl.go.entries.has(goHex(a.serial)), crl.go.output).toBe(true);
    const ocsp = await vaultOcspAsk(
      f,
      'pki/ocsp',
      opensslOcspRequest({ issuerPem: f.intermediatePem, leafPem: a.pem }),
    );
    expect(ocsp.status).toBe(200);
    expect(vaultOcspRead(ocsp.der, f.intermediatePem)).toBe('revoked');
    const listed = await vaultCall(f, 'LIST', 'pki/certs/revoked');
    expect(listed.body.data.keys).toContain(a.serial);
  });

  it("refuses a PEM another key signed under the issuer's name (OpenBao's words) and a CA's own", async () => {
    const forged = forgedLeaf();
    const serial = new X509Certificate(forged).serialNumber;
    const r = await vaultCall(f, 'POST', 'pki/revoke', { certificate: forged });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ errors: [UNVERIFIED] });
    expect(await rowOf(f.authority, serial)).toBeUndefined();

    // the issuing CA's own certificate presented to a mount of its parent (the root) that signed it
    await f.authority.vault.mounts.mount({ path: 'rootpki', ca: f.rootCaId, maxLeaseTtl: '87600h' }, ACTORS.admin);
    const own = await vaultCall(f, 'POST', 'rootpki/revoke', { certificate: f.intermediatePem });
    expect(own.status, own.text).toBe(400);
    expect(own.body.errors[0]).toMatch(/is CA Vault Test Issuing's own certificate/);
    expect((await f.authority.cas.get(f.caId)).ca.status).toBe('active');
    expect((await vaultCall(f, 'LIST', 'rootpki/certs/revoked')).body.data?.keys ?? []).toEqual([]);
  });

  it("refuses a CA's earlier certificates as its current one, among many CAs: renewals, cross", async () => {
    // many CAs (each root with an intermediate); one root R with its intermediate I: both renewed, then R rotated
    const cas = [];
    for (let i = 0; i < 12; i++) {
      const root = await createRootCa(f.authority, `Many Root ${i}`);
      cas.push({ root, inter: await createIssuingCa(f.authority, root, `Many Issuing ${i}`) });
    }
    const { root: r, inter: i } = cas[5]!;
    const renewedI = await f.authority.cas.renew(i.id, {}, ACTORS.admin);
    const renewedR = await f.authority.cas.renew(r.id, {}, ACTORS.admin);
    const rotated = await f.authority.cas.rotate(r.id, {}, ACTORS.admin);
    expect(renewedI.certificatePem).not.toBe(i.pem);
    expect(renewedR.certificatePem).not.toBe(r.pem);
    const cross = rotated.crossCertificatePem!;
    // each signed by R's key (openssl; R's earlier self-signed certificate by itself): what R's mount verifies under
    for (const [pem, rootPem] of [i.pem, renewedI.certificatePem!, cross, r.pem].map((p, n) => [
      p,
      n < 3 ? renewedR.certificatePem! : p,
    ])) {
      const v = opensslVerify({ leafPem: pem!, rootPem: rootPem!, purpose: 'any' });
      expect(v.ok, v.output).toBe(true);
    }
    await f.authority.vault.mounts.mount({ path: 'manypki', ca: r.id, maxLeaseTtl: '87600h' }, ACTORS.admin);
    const refusals = [
      [renewedI.certificatePem!, `is CA ${i.name}'s own certificate`],
      [i.pem, `is an earlier certificate of CA ${i.name}`],
      [r.pem, `is an earlier certificate of CA ${r.name}`],
      [cross, `is an earlier certificate of CA ${rotated.ca.name}`],
    ] as const;
    for (const [pem, words] of refusals) {
      const refused = await vaultCall(f, 'POST', 'manypki/revoke', { certificate: pem });
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.errors[0]).toContain(words);
      expect(await rowOf(f.authority, new X509Certificate(pem).serialNumber)).toBeUndefined();
    }
    expect((await vaultCall(f, 'LIST', 'manypki/certs/revoked')).body.data?.keys ?? []).toEqual([]);
    for (const id of [i.id, r.id, rotated.ca.id]) expect((await f.authority.cas.get(id)).ca.status).toBe('active');
    expect((await f.authority.cas.get(rotated.ca.id)).ca.certificateHistory?.[0]?.revokedAt).toBeUndefined();
  });

  it('revoke-with-key: the signature first, then the key, before anything is written', async () => {
    const b = await issueNoStore(f, 'ns-b');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const forged = await vaultCall(f, 'POST', 'pki/revoke-with-key', { certificate: forgedLeaf(), private_key: other });
    expect(forged.body).toEqual({ errors: [UNVERIFIED] });
    const wrong = await vaultCall(f, 'POST', 'pki/revoke-with-key', { certificate: b.pem, private_key: other });
    expect(wrong.body).toEqual({ errors: ["provided private key does not match certificate's public key"] });
    expect(await rowOf(f.authority, b.serial)).toBeUndefined();
    const right = await vaultCall(f, 'POST', 'pki/revoke-with-key', { certificate: b.pem, private_key: b.key });
    expect(right.status, right.text).toBe(200);
    expect(right.body.data).toMatchObject({ state: 'revoked', revocation_time: seconds() });
    expect((await rowOf(f.authority, b.serial))?.status).toBe('revoked');
  });

  // last: it moves the clock two hours on
  it('an expired one: the warning and nothing stored, unless config/crl allow_expired_cert_revocation', async () => {
    const c = await issueNoStore(f, 'ns-c', '1h');
    clock.advance(2 * 3_600_000);
    const refused = await vaultCall(f, 'POST', 'pki/revoke', { certificate: c.pem });
    expect(refused.status, refused.text).toBe(200);
    expect(refused.body.data).toBeNull();
    expect(refused.body.warnings).toEqual([
      `certificate with serial ${c.serial} already expired; refusing to add to CRL. ` +
        "Enable 'AllowExpiredCertRevocation' to allow revoking expired certificates.",
    ]);
    expect(await rowOf(f.authority, c.serial)).toBeUndefined();
    const config = await vaultCall(f, 'POST', 'pki/config/crl', { allow_expired_cert_revocation: true });
    expect(config.status, config.text).toBe(200);
    const revoked = await vaultCall(f, 'POST', 'pki/revoke', { certificate: c.pem });
    expect(revoked.body.data).toMatchObject({ state: 'revoked', revocation_time: seconds() });
    // signed at the moved clock's time: openssl checks it (certtool and Go would see a future thisUpdate)
    const crl = opensslCrlVerifyOnly(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase()).toContain(hexOf(c.serial));
  });
}

describe('revoking a no_store certificate by its PEM (SQLite)', () => {
  let fx: AuthorityFixture | undefined;
  afterAll(async () => fx?.close());
  noStoreTests(async () => {
    const clock = fixedClock(Date.now() - 60_000); // in the past: its moves stay before the verifiers' now
    fx = await openAuthorityFixture({ clock });
    return { f: await serveVaultMount(fx.authority, { roles: { ns: NO_STORE } }), clock };
  });
});

describe('revoking a no_store certificate by its PEM (PostgreSQL)', () => {
  const hosts = postgresInstances();
  noStoreTests(async () => {
    const clock = fixedClock(Date.now() - 60_000); // in the past: its moves stay before the verifiers' now
    const authority = await hosts.open(await hosts.database(), { clock });
    return { f: await serveVaultMount(authority, { roles: { ns: NO_STORE } }), clock };
  });
});
