// `<mount>/revoke` walked against OpenBao's path_revoke.go / crl_util.go revokeCert with hvac (Debian python3-hvac):
// by serial and by certificate, again (the first time), an unknown serial, the issuer's own certificate, the PEM
// checks' messages, a certificate with a stored serial but other contents, and an expired certificate — refused with
// OpenBao's warning unless `config/crl` `allow_expired_cert_revocation` (OpenBao's), then on the CRL (openssl).
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import { opensslCrlVerify, opensslCrlVerifyOnly, opensslRaw, withTempDir } from '../../../../tests/support/verifiers';
import { issueWebLeaf, openVaultFixture, vaultCall, vaultRaw, WEB_ROLE, type VaultFixture } from './vault-test-support';

const clock = fixedClock(Date.now());
let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({ clock }, { roles: { web: WEB_ROLE } });
}, 60_000);
afterAll(async () => f?.close());

type Op = ['revoke', string, string] | ['write', string, Record<string, unknown>] | ['read', string];
function hvac(ops: Op[]): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const args = [join(import.meta.dirname, 'hvac-ops.py'), f.url, f.token, JSON.stringify(ops)];
    execFile('/usr/bin/python3', args, { timeout: 120_000 }, (err, out, e) =>
      err ? reject(new Error(`hvac failed: ${err.message}\n${e}`)) : resolve(JSON.parse(out)),
    );
  });
}

const seconds = () => Math.floor(clock.now() / 1000);
const hexOf = (serial: string) => serial.replaceAll(':', '').toUpperCase();

describe('revoke, as OpenBao answers it (hvac)', () => {
  it('by serial and by certificate, again, unknown, the issuer itself', async () => {
    const a = await issueWebLeaf(f, 'rev-a');
    const b = await issueWebLeaf(f, 'rev-b');
    const at = seconds();
    const issuerSerial = new X509Certificate(f.intermediatePem).serialNumber.toLowerCase().match(/../g)!.join(':');
    // by certificate: the PEM wrapped otherwise (76 columns) is the same certificate
    const b64 = b.pem.replace(/-----[A-Z ]+-----|\s/g, '');
    const rewrapped = `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,76}/g)!.join('\n')}\n-----END CERTIFICATE-----`;
    const [first, again, byPem, byPemAgain, unknown, issuer, issuerPem] = await hvac([
      ['revoke', 'pki', a.serial],
      ['revoke', 'pki', a.serial],
      ['write', 'pki/revoke', { certificate: b.pem }],
      ['write', 'pki/revoke', { certificate: rewrapped }],
      ['revoke', 'pki', '01:02:03:04:05'],
      ['revoke', 'pki', issuerSerial],
      ['write', 'pki/revoke', { certificate: f.intermediatePem }],
    ]);
    expect(first.data).toEqual({
      revocation_time: at,
      revocation_time_rfc3339: new Date(clock.now()).toISOString(),
      state: 'revoked',
    });
    expect(again.data).toEqual(first.data);
    expect(byPem.data).toMatchObject({ state: 'revoked', revocation_time: at });
    expect(byPemAgain.data).toEqual(byPem.data);
    expect(unknown).toEqual({ errors: ['certificate with serial 01:02:03:04:05 not found.'] });
    const issuerError = `adding issuer (id: ${f.caId}) to its own CRL is not allowed`;
    expect(issuer).toEqual({ errors: [issuerError] });
    expect(issuerPem).toEqual({ errors: [issuerError] });

    // both on the CRL (openssl)
    const crl = opensslCrlVerify(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text).toContain(hexOf(a.serial));
    expect(crl.text).toContain(hexOf(b.serial));
  });

  it("refuses a certificate OpenBao refuses, with OpenBao's messages, revoking nothing", async () => {
    const c = await issueWebLeaf(f, 'rev-c');
    // a certificate of another key and issuer carrying c's serial (openssl)
    const impostor = withTempDir((dir) => {
      const r = opensslRaw([
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=rev-c.example.com',
        '-set_serial',
        `0x${hexOf(c.serial)}`,
        '-days',
        '1',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
      ]);
      expect(r.status, r.output).toBe(0);
      return readFileSync(join(dir, 'c.pem'), 'utf8');
    });
    const [short, noPem, garbage, unequal, neither, both] = await hvac([
      ['write', 'pki/revoke', { certificate: 'cert.pem' }],
      ['write', 'pki/revoke', { certificate: 'x'.repeat(80) }],
      [
        'write',
        'pki/revoke',
        { certificate: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(80)}\n-----END CERTIFICATE-----` },
      ],
      ['write', 'pki/revoke', { certificate: impostor }],
      ['write', 'pki/revoke', {}],
      ['write', 'pki/revoke', { serial_number: c.serial, certificate: c.pem }],
    ]);
    expect(short.errors).toEqual([
      'provided certificate data was too short; perhaps a path was passed to the API rather than the contents of a ' +
        'PEM file',
    ]);
    expect(noPem.errors).toEqual(['certificate contains no PEM data']);
    expect(garbage.errors[0]).toMatch(/^certificate could not be parsed: /);
    expect(unequal.errors).toEqual([
      "certificate with same serial but unequal value already present in this cluster's storage; refusing to revoke",
    ]);
    expect(neither.errors).toEqual(['The serial number or certificate to revoke must be provided.']);
    expect(both.errors).toEqual(['Must provide either the certificate or the serial to revoke; not both.']);
    expect((await vaultCall(f, 'GET', `pki/cert/${c.serial}`)).body.data.revocation_time).toBe(0);
  });

  it('an expired certificate: a warning, unless config/crl allow_expired_cert_revocation', async () => {
    const old = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'old.example.com', ttl: '1h' });
    expect(old.status, old.text).toBe(200);
    const serial = old.body.data.serial_number as string;
    clock.advance(2 * 3_600_000);
    const [refused, config, read, revoked] = await hvac([
      ['revoke', 'pki', serial],
      ['write', 'pki/config/crl', { allow_expired_cert_revocation: true }],
      ['read', 'pki/config/crl'],
      ['revoke', 'pki', serial],
    ]);
    expect(refused.data).toBeNull();
    expect(refused.warnings).toEqual([
      `certificate with serial ${serial} already expired; refusing to add to CRL. ` +
        "Enable 'AllowExpiredCertRevocation' to allow revoking expired certificates.",
    ]);
    expect(config.data.allow_expired_cert_revocation).toBe(true);
    expect(read.data).toMatchObject({ allow_expired_cert_revocation: true, expiry: '72h' });
    expect(revoked.data).toMatchObject({ state: 'revoked', revocation_time: seconds() });
    // signed at the moved clock's time: openssl checks its signature (certtool and Go would see a future thisUpdate)
    const crl = opensslCrlVerifyOnly(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text).toContain(hexOf(serial));
    // off again by default for a mount that never wrote it (read back false)
    expect((await vaultCall(f, 'POST', 'sys/mounts/rv2', { type: 'pki' })).status).toBe(204);
    expect((await vaultCall(f, 'GET', 'rv2/config/crl')).body.data.allow_expired_cert_revocation).toBe(false);
  });
});
