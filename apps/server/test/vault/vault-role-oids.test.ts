// A Vault role's `ext_key_usage_oids` and `policy_identifiers` (OpenBao's list and JSON forms): written and read back
// with hvac, issued through the signing pipeline as the profile's further EKU OIDs and certificate policies (the
// provisioner's modifiers — the same profile fields a custom profile gives the REST API, the CLI and tRPC, linted by
// the same rules), refused at the role write as OpenBao does; sign-verbatim takes the request's EKU OIDs. Each leaf
// read by openssl (`x509 -text`) and verified to the root; one by certtool.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPkim } from '../../../../tests/support/cli-runner';
import { opensslCsr, tempDir } from '../../../../tests/support/openssl-tools';
import { certtoolInfo, certtoolVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { issueRestLeaf, openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'hvac-role-oids.py');

function runHvac(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [SCRIPT, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`hvac client failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** a custom profile with both: what the REST API, the CLI and tRPC issue from (profiles.json) */
const POLICY_PROFILE = {
  name: 'tls-server-policies',
  isCa: false,
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['serverAuth'],
  extKeyUsageOids: ['1.3.6.1.4.1.32473.9.5'],
  certificatePolicies: [{ oid: '1.3.6.1.4.1.32473.1.9', cps: 'https://pki.example.com/cps', notice: 'Internal use' }],
  allowedSanTypes: ['dns'],
  sanRequired: true,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetimeMs: 30 * 86_400_000,
  maxLifetimeMs: 90 * 86_400_000,
};

let f: VaultFixture;
const tmp = tempDir('pkim-role-oids-');
beforeAll(async () => {
  f = await openVaultFixture({ customProfiles: [POLICY_PROFILE as never] });
}, 60_000);
afterAll(async () => {
  await f?.close();
  tmp.cleanup();
});

function verify(pem: string, purpose: 'sslclient' | 'sslserver' | 'any' = 'any') {
  const v = opensslVerify({ leafPem: `${pem}\n`, chainPems: [f.intermediatePem], rootPem: f.rootPem, purpose });
  expect(v.ok, v.output).toBe(true);
}

describe("a Vault role's ext_key_usage_oids and policy_identifiers", () => {
  it('hvac writes and reads them; the leaves carry them (openssl, certtool); bad ones refused at write', async () => {
    const out = JSON.parse(await runHvac([f.url, f.token]));
    // read back in OpenBao's stored form: the JSON entries as JSON strings
    expect(out.role.ext_key_usage_oids).toEqual(['1.3.6.1.4.1.32473.9.1', '1.3.6.1.5.5.7.3.1']);
    expect(out.role.policy_identifiers).toEqual([
      '{"oid":"1.3.6.1.4.1.32473.1.2.4","cps":"https://pki.example.com/cps"}',
      '{"oid":"1.3.6.1.4.1.32473.1.2.5","notice":"I am a user Notice"}',
    ]);
    const text = opensslText(`${out.issued}\n`);
    // clientAuth (the role's flag), serverAuth's OID as serverAuth (named once), then the role's own OID
    expect(text).toMatch(
      /X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication, TLS Web Server Authentication, 1\.3\.6\.1\.4\.1\.32473\.9\.1\n/,
    );
    expect(text).toMatch(
      /X509v3 Certificate Policies: \n\s+Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.2\.4\n\s+CPS: https:\/\/pki\.example\.com\/cps\n/,
    );
    expect(text).toMatch(
      /Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.2\.5\n\s+User Notice:\n\s+Explicit Text: I am a user Notice\n/,
    );
    verify(out.issued, 'sslserver');
    const info = certtoolInfo(`${out.issued}\n`);
    expect(info).toMatch(
      /Certificate Policies \(not critical\):\n\s+1\.3\.6\.1\.4\.1\.32473\.1\.2\.4\n\s+URI: https:\/\/pki/,
    );
    expect(info).toMatch(
      /Key Purpose \(not critical\):\n\s+TLS WWW Client\.\n\s+TLS WWW Server\.\n\s+1\.3\.6\.1\.4\.1\.32473\.9\.1\n/,
    );
    const ct = certtoolVerify({ leafPem: `${out.issued}\n`, chainPems: [f.intermediatePem], rootPem: f.rootPem });
    expect(ct.ok, ct.output).toBe(true);

    expect(out.plain_role).toEqual(['1.2.3.4', '1.2.3.5']);
    expect(opensslText(`${out.plain_issued}\n`)).toMatch(
      /Certificate Policies: \n\s+Policy: 1\.2\.3\.4\n\s+Policy: 1\.2\.3\.5\n/,
    );
    verify(out.plain_issued, 'sslserver');

    expect(out.refused).toEqual({
      bad_eku: expect.stringContaining('"1.3.6.x" could not be parsed as a valid oid for an extended key usage'),
      bad_policy: expect.stringContaining('policy identifier "not-an-oid" is neither a valid OID nor a JSON policy'),
      any_policy: expect.stringContaining('anyPolicy (2.5.29.32.0) belongs in CA certificates only'),
      twice: expect.stringContaining('certificate policy 1.2.3.4 appears twice'),
    });
    // nothing stored for a refused write
    expect(out.roles.sort()).toEqual(['custom', 'plain']);
  }, 120_000);

  it("sign/:role carries the role's, sign-verbatim the request's EKU OIDs; a role without them none", async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=v.example.com', sans: ['DNS:v.example.com'] });
    const role = {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      key_type: 'any',
      policy_identifiers: [{ oid: '1.3.6.1.4.1.32473.1.7', cps: 'http://pki.example.com/cps' }],
      ext_key_usage_oids: '1.3.6.1.4.1.32473.9.2',
    };
    expect((await vaultCall(f, 'POST', 'pki/roles/signer', role)).status).toBe(200);
    const signed = await vaultCall(f, 'POST', 'pki/sign/signer', { csr: csrPem });
    expect(signed.status, signed.text).toBe(200);
    const text = opensslText(`${signed.body.data.certificate}\n`);
    expect(text).toMatch(/Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.7\n\s+CPS: http:\/\/pki\.example\.com\/cps\n/);
    expect(text).toMatch(/TLS Web Client Authentication, 1\.3\.6\.1\.4\.1\.32473\.9\.2\n/);
    verify(signed.body.data.certificate, 'sslserver');

    const verbatim = await vaultCall(f, 'POST', 'pki/sign-verbatim', {
      csr: csrPem,
      ext_key_usage: 'ClientAuth',
      ext_key_usage_oids: ['1.3.6.1.4.1.32473.9.3'],
    });
    expect(verbatim.status, verbatim.text).toBe(200);
    const vText = opensslText(`${verbatim.body.data.certificate}\n`);
    expect(vText).toMatch(
      /X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication, 1\.3\.6\.1\.4\.1\.32473\.9\.3\n/,
    );
    expect(vText).not.toContain('Certificate Policies');
    verify(verbatim.body.data.certificate, 'sslclient');
    const bad = await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: csrPem, ext_key_usage_oids: 'x.y' });
    expect(bad.status).toBe(400);

    // sign-verbatim/:role, as OpenBao's buildSignVerbatimRole: the role lends neither its policy_identifiers nor its
    // ext_key_usage_oids — the EKU OIDs are the request's, and there are no policies
    const lent = await vaultCall(f, 'POST', 'pki/sign-verbatim/signer', {
      csr: csrPem,
      ext_key_usage_oids: '1.3.6.1.4.1.32473.9.4',
    });
    expect(lent.status, lent.text).toBe(200);
    const lText = opensslText(`${lent.body.data.certificate}\n`);
    expect(lText).toMatch(/X509v3 Extended Key Usage: \n\s+1\.3\.6\.1\.4\.1\.32473\.9\.4\n/);
    expect(lText).not.toContain('32473.9.2');
    expect(lText).not.toContain('Certificate Policies');
    verify(lent.body.data.certificate, 'any');
    // a request's policy_identifiers (no sign-verbatim field in OpenBao) is refused, not ignored; nothing signed
    const issuedBefore = (await f.authority.audit.list({ action: 'certificate.issued', limit: 1000 })).length;
    for (const path of ['pki/sign-verbatim', 'pki/sign-verbatim/signer']) {
      const refused = await vaultCall(f, 'POST', path, { csr: csrPem, policy_identifiers: '1.3.6.1.4.1.32473.1.7' });
      expect(refused.status, path).toBe(400);
      expect(refused.body.errors[0]).toMatch(/sign-verbatim takes no policy_identifiers/);
    }
    expect((await f.authority.audit.list({ action: 'certificate.issued', limit: 1000 })).length).toBe(issuedBefore);

    await vaultCall(f, 'POST', 'pki/roles/none', { allowed_domains: 'example.com', allow_subdomains: true });
    const none = await vaultCall(f, 'POST', 'pki/issue/none', { common_name: 'n.example.com' });
    expect(none.status, none.text).toBe(200);
    const nText = opensslText(`${none.body.data.certificate}\n`);
    expect(nText).not.toContain('Certificate Policies');
    expect(nText).toMatch(
      /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/,
    );
  });

  it('the same profile fields from profiles.json: REST shows and issues them, the CLI too (openssl)', async () => {
    const profiles = await f.app.inject({
      method: 'GET',
      url: '/api/v1/profiles',
      headers: { authorization: `Bearer ${f.token}` },
    });
    const shown = profiles.json().items.find((p: { name: string }) => p.name === 'tls-server-policies');
    expect(shown).toMatchObject({
      extKeyUsage: ['serverAuth'],
      extKeyUsageOids: ['1.3.6.1.4.1.32473.9.5'],
      certificatePolicies: POLICY_PROFILE.certificatePolicies,
    });
    const pem = await issueRestLeaf(f, f.caId, 'tls-server-policies');
    const text = opensslText(pem);
    expect(text).toMatch(
      /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, 1\.3\.6\.1\.4\.1\.32473\.9\.5\n/,
    );
    expect(text).toMatch(
      /Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.9\n\s+CPS: https:\/\/pki\.example\.com\/cps\n\s+User Notice:\n\s+Explicit Text: Internal use\n/,
    );
    verify(pem.trim(), 'sslserver');

    // the CLI reads the same file (PKIM_PROFILES_FILE or <data dir>/profiles.json): profile show and cert issue
    writeFileSync(join(tmp.dir, 'profiles.json'), JSON.stringify([POLICY_PROFILE]));
    const pkim = (...args: string[]) => {
      const out = runPkim(args, { dataDir: tmp.dir });
      expect(out.code, out.stderr).toBe(0);
      return out;
    };
    const show = pkim('profile', 'show', 'tls-server-policies').stdout;
    expect(show).toMatch(/extended key usage:\s+serverAuth, 1\.3\.6\.1\.4\.1\.32473\.9\.5/);
    expect(show).toMatch(
      /certificate policies:\s+1\.3\.6\.1\.4\.1\.32473\.1\.9 \(CPS https:\/\/pki\.example\.com\/cps, notice "Internal use"\)/,
    );
    const ca = JSON.parse(pkim('ca', 'create', '--subject', 'CN=OID Root', '--key-type', 'ec-p256', '--json').stdout);
    const out = join(tmp.dir, 'leaf.pem');
    pkim(
      'cert',
      'issue',
      '--ca',
      ca.id,
      '--profile',
      'tls-server-policies',
      '--cn',
      'cli.example.com',
      '--out-cert',
      out,
    );
    const cliPem = readFileSync(out, 'utf8');
    expect(opensslText(cliPem)).toMatch(
      /Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.9\n\s+CPS: https:\/\/pki\.example\.com\/cps\n/,
    );
    const caPem = JSON.parse(pkim('ca', 'show', ca.id, '--json').stdout).certificatePem as string;
    const v = opensslVerify({ leafPem: cliPem, rootPem: caPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
  }, 120_000);

  it('the role admin API (REST, as tRPC) writes and shows them; the Vault issue carries them (openssl)', async () => {
    const policy = {
      allowed_domains: ['example.com'],
      allow_subdomains: true,
      ext_key_usage_oids: ['1.3.6.1.4.1.32473.9.8'],
      policy_identifiers: ['{"oid":"1.3.6.1.4.1.32473.1.8","cps":"https://pki.example.com/cps"}'],
    };
    const auth = { authorization: `Bearer ${f.token}` };
    const created = await f.app.inject({
      method: 'POST',
      url: '/api/v1/vault/mounts/pki/roles',
      headers: auth,
      payload: { name: 'admin-api', policy },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().policy).toMatchObject({
      ext_key_usage_oids: policy.ext_key_usage_oids,
      policy_identifiers: policy.policy_identifiers,
    });
    const d = (await vaultCall(f, 'POST', 'pki/issue/admin-api', { common_name: 'a.example.com' })).body.data;
    const text = opensslText(`${d.certificate}\n`);
    expect(text).toMatch(/TLS Web Client Authentication, 1\.3\.6\.1\.4\.1\.32473\.9\.8\n/);
    expect(text).toMatch(/Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.8\n\s+CPS: https:\/\/pki\.example\.com\/cps\n/);
    verify(d.certificate, 'sslserver');
    // a bad one: 400 with the role write's message, nothing changed
    const bad = await f.app.inject({
      method: 'PUT',
      url: '/api/v1/vault/mounts/pki/roles/admin-api',
      headers: auth,
      payload: { policy: { policy_identifiers: ['2.5.29.32.0'] } },
    });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json().message).toMatch(/anyPolicy/);
    const read = await vaultCall(f, 'GET', 'pki/roles/admin-api');
    expect(read.body.data.policy_identifiers).toEqual(policy.policy_identifiers);
  });
});
