// Checklist item 40: hvac (Debian python3-hvac, unmodified, run by /usr/bin/python3) against a PKI Manager server on
// 127.0.0.1: roles, issue, sign, sign-verbatim, LIST (the raw verb), read, revoke, CRL, AppRole login, issuers, a mount
// bootstrapped with enable_secrets_engine + generate_root / generate_intermediate + set_signed_intermediate, its
// issuer's leaf_not_after_behavior (err, truncate, permit) written and read back. Every
// certificate it got is verified by openssl, the CRL too. The vault/bao CLIs are not packaged in Debian.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr, tempDir } from '../../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, type VaultFixture } from './vault-test-support';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'hvac-client.py');
const PEM_RE = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/;

function runHvac(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPT, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) {
        const missing = stderr.includes("No module named 'hvac'")
          ? '\nhvac is not installed: run scripts/install-test-peers.sh (Debian python3-hvac)'
          : '';
        reject(new Error(`hvac client failed: ${err.message}\n${stderr}${missing}`));
      } else resolve(stdout);
    });
  });
}

let f: VaultFixture;
const tmp = tempDir('pkim-hvac-');
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => {
  await f?.close();
  tmp.cleanup();
});

describe('hvac against pkim', () => {
  it('creates a role, issues, signs, lists with LIST, reads, revokes and logs in with AppRole', async () => {
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=s.example.com', sans: ['DNS:s.example.com'] });
    const csrPath = join(tmp.dir, 'csr.pem');
    writeFileSync(csrPath, csr.csrPem);
    const out = JSON.parse(await runHvac([f.url, f.token, csrPath]));

    expect(out.bad_token_authenticated).toBe(false);
    expect(out.authenticated).toBe(true);
    expect(out.health).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(out.roles).toEqual(['web']);
    expect(out.role).toMatchObject({ allowed_domains: ['example.com'], allow_subdomains: true, max_ttl: 259200 });

    const chain = [f.intermediatePem];
    const verify = (pem: string) => {
      expect(pem).toMatch(PEM_RE);
      const v = opensslVerify({ leafPem: `${pem}\n`, chainPems: chain, rootPem: f.rootPem, purpose: 'any' });
      expect(v.ok, v.output).toBe(true);
      return new X509Certificate(pem);
    };
    const issued = verify(out.issued.certificate);
    expect(issued.subject).toBe('CN=h.example.com');
    expect(issued.subjectAltName).toBe('DNS:h.example.com, DNS:h2.example.com');
    expect(out.issued.private_key_type).toBe('ec');
    expect(out.issued.private_key).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(out.issued.ca_chain).toEqual([f.intermediatePem.trim(), f.rootPem.trim()]);

    expect(verify(out.signed.certificate).subject).toBe('CN=s.example.com');
    expect(out.signed).not.toHaveProperty('private_key');
    expect(verify(out.verbatim.certificate).subject).toBe('CN=s.example.com');
    verify(out.approle_issued);
    expect(out.approle_lease).toBe(1200);

    const serial: string = out.issued.serial_number;
    expect(out.certs).toEqual(expect.arrayContaining([serial, out.signed.serial_number, out.verbatim.serial_number]));
    expect(out.read).toMatchObject({ certificate: out.issued.certificate, revocation_time: 0 });
    expect(out.ca_pem).toBe(f.intermediatePem.trim());
    expect(out.ca_chain).toBe(`${f.intermediatePem.trim()}\n${f.rootPem.trim()}`);
    expect(out.revoked.state).toBe('revoked');
    expect(out.read_after_revoke.revocation_time).toBe(out.revoked.revocation_time);

    expect(out.crl_pem).toMatch(/^-----BEGIN X509 CRL-----/);
    const crlDer = Buffer.from(out.crl_pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const crl = opensslCrlVerify(crlDer, f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect(crl.text.toLowerCase().replace(/\s+/g, '')).toContain(serial.replace(/:/g, ''));

    // the issuer API through hvac's generic LIST/read (no token) and write
    expect(out.issuers).toMatchObject({ keys: [f.caId], key_info: { [f.caId]: { is_default: true } } });
    expect(out.issuer_json).toEqual({
      certificate: f.intermediatePem.trim(),
      ca_chain: [f.intermediatePem.trim(), f.rootPem.trim()],
      issuer_id: f.caId,
      issuer_name: 'Vault Test Issuing',
    });
    expect(out.issuer_missing).toBeNull();
    expect(verify(out.issued_via_issuer.certificate).subject).toBe('CN=iss.example.com');
    // newer hvac's read_issuer / list_issuers requests, hvac's ?list=True, keys, key/:ref and config/keys (token)
    const keyId: string = out.keys_verb.keys[0];
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(opensslText(f.intermediatePem))![1]!.toLowerCase();
    expect(keyId).toBe(ski.replace(/:/g, ''));
    expect(out.read_issuer).toMatchObject({
      issuer_id: f.caId,
      issuer_name: 'Vault Test Issuing',
      key_id: keyId,
      certificate: f.intermediatePem.trim(),
      ca_chain: [f.intermediatePem.trim(), f.rootPem.trim()],
      leaf_not_after_behavior: 'err',
      revoked: false,
    });
    const issuerInfo = {
      issuer_name: 'Vault Test Issuing',
      is_default: true,
      key_id: keyId,
      serial_number: new X509Certificate(f.intermediatePem).serialNumber.toLowerCase().match(/../g)!.join(':'),
    };
    expect(out.list_issuers).toEqual({ keys: [f.caId], key_info: { [f.caId]: issuerInfo } });
    expect(out.issuers_query).toEqual(out.list_issuers);
    const keyList = {
      keys: [keyId],
      key_info: { [keyId]: { key_name: 'Vault Test Issuing', key_type: 'ec', is_default: true } },
    };
    expect(out.keys_verb).toEqual(keyList);
    expect(out.keys_query).toEqual(keyList);
    const key = { key_id: keyId, key_name: 'Vault Test Issuing', key_type: 'ec', subject_key_id: ski };
    expect(out.key).toEqual(key);
    expect(out.key_default).toEqual(key);
    expect(out.key_missing).toBeNull();
    expect(out.config_keys).toEqual({ default: keyId });
    expect(out.config_keys_written).toEqual({ default: keyId });
    expect(out.config_keys_refused).toMatch(/unable to find PKI key for reference: nope/);
    expect(out.keys_anon).toBe('Forbidden');

    // bootstrapped with hvac's generate_root, generate_intermediate, sign_intermediate, set_signed_intermediate
    const bootRoot = `${out.boot_root.certificate}\n`;
    const self = opensslVerify({ leafPem: bootRoot, rootPem: bootRoot });
    expect(self.ok, self.output).toBe(true);
    expect(new X509Certificate(bootRoot).subject).toBe('CN=Hvac Root');
    expect(out.boot_root.issuer_id).toMatch(/^ca_/);
    // set_urls on the root mount first: the root carries them (OpenBao), and the intermediate it signs
    for (const pem of [bootRoot, `${out.boot_signed.certificate}\n`]) {
      const text = opensslText(pem);
      expect(text).toContain('CA Issuers - URI:http://ca.example.org/hroot.crt');
      expect(text).toContain('URI:http://crl.example.org/hroot.crl');
    }
    expect(out.boot_csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    expect(out.boot_set_signed.imported_issuers).toHaveLength(1);
    const bootChain = { chainPems: [`${out.boot_signed.certificate}\n`], rootPem: bootRoot };
    const bootLeaf = opensslVerify({ leafPem: `${out.boot_leaf.certificate}\n`, ...bootChain, purpose: 'sslserver' });
    expect(bootLeaf.ok, bootLeaf.output).toBe(true);
    expect(out.boot_leaf.ca_chain).toEqual([out.boot_signed.certificate, out.boot_root.certificate]);
    // set_urls before the mount had its CA: read back, and carried by the leaf
    expect(out.boot_urls).toMatchObject({ crl_distribution_points: ['http://crl.example.org/hint.crl'] });
    expect(opensslText(`${out.boot_leaf.certificate}\n`)).toContain('URI:http://crl.example.org/hint.crl');

    // leaf_not_after_behavior on hint's issuer (a one-year intermediate), written and read with hvac's generic calls
    const bootEnd = Date.parse(new X509Certificate(out.boot_signed.certificate).validTo);
    const endOf = (pem: string) => Date.parse(/Not After : (.+)/.exec(opensslText(`${pem}\n`))![1]!);
    expect(out.lnab_default).toBe('err');
    expect(out.lnab_err).toMatch(/notAfter \S+ is after the issuer's notAfter/);
    expect(out.lnab_truncate).toMatchObject({ issuer_id: out.boot_set_signed.imported_issuers[0] });
    expect(out.lnab_truncate.leaf_not_after_behavior).toBe('truncate');
    expect(out.lnab_truncate_read).toBe('truncate');
    expect(endOf(out.lnab_truncated.certificate)).toBe(bootEnd);
    expect(out.lnab_permit_read).toBe('permit');
    expect(endOf(out.lnab_permitted.certificate)).toBeGreaterThan(bootEnd + 300 * 86_400_000);
    for (const leaf of [out.lnab_truncated, out.lnab_permitted]) {
      const v = opensslVerify({ leafPem: `${leaf.certificate}\n`, ...bootChain, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    }
    // the permitted leaf's chain fails once the intermediate expired, while the leaf itself is still valid
    const late = opensslVerify({
      leafPem: `${out.lnab_permitted.certificate}\n`,
      ...bootChain,
      purpose: 'sslserver',
      atTime: Math.floor(bootEnd / 1000) + 86_400,
    });
    expect(late.ok).toBe(false);
    expect(out.lnab_unknown).toMatch(/Unknown value for field `leaf_not_after_behavior`/);

    // key/:ref: key_name renames hint's CA (its issuer_name follows); deleting the key its issuer uses is refused
    expect(out.key_renamed).toMatchObject({ key_name: 'hint-key' });
    expect(out.key_renamed_issuer).toBe('hint-key');
    expect(out.key_delete).toMatch(/Failed to Delete Key\. {2}Key in Use by Issuer: ca_/);

    expect(out.missing_role).toBe('InvalidPath');
    expect(out.refused).toMatch(/common name evil\.org not allowed by this role/);
  }, 120_000);
});
