// A Vault role's `basic_constraints_valid_for_non_ca` (OpenBao's): a leaf of a role without it carries no
// basicConstraints, as OpenBao's (certutil leaves BasicConstraintsValid false); with it, basicConstraints critical
// cA FALSE — the profile's `leafBasicConstraints` by the provisioner's modifier, in the signing pipeline. issue, sign
// (a CSR asking CA:TRUE changes nothing) and sign-verbatim (the request's value, else the lending role's, as OpenBao's
// buildSignVerbatimRole). Another channel's leaf (REST) keeps its critical CA:FALSE. Each leaf read by openssl
// (`x509 -text`) and verified to the root.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr } from '../../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { issueRestLeaf, openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

const EC_ROLE = { ...WEB_ROLE, key_type: 'ec' };
let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture(
    {},
    { roles: { web: EC_ROLE, 'web-bc': { ...EC_ROLE, basic_constraints_valid_for_non_ca: true } } },
  );
}, 60_000);
afterAll(async () => f?.close());

/** the leaf's basicConstraints as openssl prints it ('' without one), after openssl verified it to the root */
function basicConstraints(certificate: string): string {
  const pem = `${certificate}\n`;
  const v = opensslVerify({ leafPem: pem, chainPems: [f.intermediatePem], rootPem: f.rootPem, purpose: 'sslserver' });
  expect(v.ok, v.output).toBe(true);
  const m = /X509v3 Basic Constraints:( critical)?\n\s*(.*)\n/.exec(opensslText(pem));
  return m ? `${m[1] ? 'critical,' : ''}${m[2]!.trim()}` : '';
}

async function leaf(path: string, body: Record<string, unknown>): Promise<string> {
  const r = await vaultCall(f, 'POST', `pki/${path}`, { ttl: '1h', ...body });
  expect(r.status, r.text).toBe(200);
  return basicConstraints(r.body.data.certificate as string);
}

describe("a role's basic_constraints_valid_for_non_ca", () => {
  it('issue and sign: none without it (a CSR asking CA:TRUE too), critical CA:FALSE with it', async () => {
    expect((await vaultCall(f, 'GET', 'pki/roles/web')).body.data.basic_constraints_valid_for_non_ca).toBe(false);
    expect((await vaultCall(f, 'GET', 'pki/roles/web-bc')).body.data.basic_constraints_valid_for_non_ca).toBe(true);
    expect(await leaf('issue/web', { common_name: 'a.example.com' })).toBe('');
    expect(await leaf('issue/web-bc', { common_name: 'b.example.com' })).toBe('critical,CA:FALSE');
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=c.example.com' });
    const { csrPem: caCsr } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=d.example.com' });
    expect(await leaf('sign/web', { csr: csrPem })).toBe('');
    expect(await leaf('sign/web-bc', { csr: csrPem })).toBe('critical,CA:FALSE');
    // a CSR asking for basicConstraints CA:TRUE: its extensions are not copied, the role decides
    const asksCa = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=ca-ask.example.com',
      addext: ['basicConstraints=critical,CA:TRUE'],
    }).csrPem;
    expect(execFileSync('openssl', ['req', '-noout', '-text'], { input: asksCa, encoding: 'utf8' })).toContain(
      'CA:TRUE',
    );
    expect(await leaf('sign/web', { csr: asksCa })).toBe('');
    expect(await leaf('sign/web-bc', { csr: asksCa })).toBe('critical,CA:FALSE');
    expect(await leaf('issuer/default/sign/web-bc', { csr: caCsr })).toBe('critical,CA:FALSE');
  });

  it("sign-verbatim: the request's value, else the lending role's (OpenBao's buildSignVerbatimRole)", async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=v.example.com' });
    expect(await leaf('sign-verbatim', { csr: csrPem })).toBe('');
    expect(await leaf('sign-verbatim', { csr: csrPem, basic_constraints_valid_for_non_ca: true })).toBe(
      'critical,CA:FALSE',
    );
    expect(await leaf('sign-verbatim/web', { csr: csrPem })).toBe('');
    expect(await leaf('sign-verbatim/web-bc', { csr: csrPem })).toBe('critical,CA:FALSE');
    expect(await leaf('sign-verbatim/web-bc', { csr: csrPem, basic_constraints_valid_for_non_ca: false })).toBe('');
  });

  it("another channel's leaf of the same CA keeps its critical CA:FALSE (REST)", async () => {
    expect(basicConstraints(await issueRestLeaf(f, f.caId, 'tls-server', '1h'))).toBe('critical,CA:FALSE');
  });
});

describe("a CSR's basicConstraints that the leaf does not get: OpenBao's warning", () => {
  // OpenBao's signCert (sign, sign-verbatim): the exact text, in the answer's warnings (builtin/logical/pki)
  const WARNING = 'specified CSR contained a Basic Constraints extension that was ignored during issuance';
  const csr = (cn: string, addext?: string[]) =>
    opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}.example.com`, ...(addext ? { addext } : {}) }).csrPem;
  /** the answer's warnings (none: []), after openssl read and verified its leaf */
  async function warnings(path: string, body: Record<string, unknown>): Promise<{ bc: string; warnings: string[] }> {
    const r = await vaultCall(f, 'POST', `pki/${path}`, { ttl: '1h', ...body });
    expect(r.status, r.text).toBe(200);
    return { bc: basicConstraints(r.body.data.certificate as string), warnings: (r.body.warnings ?? []) as string[] };
  }

  it('sign, sign-verbatim without basic_constraints_valid_for_non_ca warn; with it, or without one, not', async () => {
    const asksCa = csr('w1', ['basicConstraints=critical,CA:TRUE']);
    const asksLeaf = csr('w2', ['basicConstraints=CA:FALSE']);
    const plain = csr('w3');
    expect(await warnings('sign/web', { csr: asksCa })).toEqual({ bc: '', warnings: [WARNING] });
    expect(await warnings('sign/web', { csr: asksLeaf })).toEqual({ bc: '', warnings: [WARNING] });
    expect(await warnings('issuer/default/sign/web', { csr: asksCa })).toEqual({ bc: '', warnings: [WARNING] });
    expect(await warnings('sign/web', { csr: plain })).toEqual({ bc: '', warnings: [] });
    expect(await warnings('sign/web-bc', { csr: asksCa })).toEqual({ bc: 'critical,CA:FALSE', warnings: [] });
    expect(await warnings('sign-verbatim', { csr: asksLeaf })).toEqual({ bc: '', warnings: [WARNING] });
    expect(await warnings('sign-verbatim/web', { csr: asksCa })).toEqual({ bc: '', warnings: [WARNING] });
    expect(await warnings('sign-verbatim', { csr: asksLeaf, basic_constraints_valid_for_non_ca: true })).toEqual({
      bc: 'critical,CA:FALSE',
      warnings: [],
    });
    expect(await warnings('sign-verbatim/web-bc', { csr: asksCa })).toEqual({ bc: 'critical,CA:FALSE', warnings: [] });
    // with another warning (use_csr_common_name's), after it, as OpenBao's signCert appends it last
    await vaultCall(f, 'POST', 'pki/roles/web-csr-cn', { ...EC_ROLE, use_csr_common_name: true });
    expect(await warnings('sign/web-csr-cn', { csr: asksCa, common_name: 'other.example.com' })).toEqual({
      bc: '',
      warnings: [
        'the common_name field was provided but the role is set with "use_csr_common_name" set to true',
        WARNING,
      ],
    });
  });
});
