// node-vault (npm, unmodified) against `pkim serve` set up with the CLI: `pkim vault mount pki --ca …` and
// `pkim token create --role admin --json` (the token works as X-Vault-Token); an issuer's leaf_not_after_behavior
// written through it is the CA's (`pkim ca show`). Chains verified by openssl.
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { SignJWT } from 'jose';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPkim } from '../../../../tests/support/cli-runner';
import { startPkimServer, type PkimServer } from '../../../../tests/support/remote-server';
import { tempDir } from '../../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../../tests/support/verifiers';

const PEM_RE = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----$/;
const SERIAL_RE = /^[0-9a-f]{2}(:[0-9a-f]{2})+$/;
/** Vault's serial form of an X509Certificate's hex serial: lowercase, colon-separated, no leading zero bytes */
const toVaultSerial = (hex: string) =>
  hex
    .toLowerCase()
    .replace(/^(00)+(?=..)/, '')
    .match(/../g)!
    .join(':');

const tmp = tempDir('pkim-node-vault-');
let server: PkimServer | undefined;
let url: string;
let adminToken: string;
let interId: string;
const saKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

async function serviceAccountJwt(name: string, namespace: string, key = saKeys.privateKey): Promise<string> {
  return new SignJWT({
    'kubernetes.io': { namespace, serviceaccount: { name, uid: '5b1a2c3d-0000-4000-8000-000000000001' } },
  })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-cluster' })
    .setIssuer('https://kubernetes.default.svc.cluster.local')
    .setSubject(`system:serviceaccount:${namespace}:${name}`)
    .setAudience('vault')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

/** openssl verifies a Vault answer's leaf (sslserver) through its `ca_chain`: the issuer, then the root last */
function expectChainVerifies(d: { certificate: string; ca_chain: string[] }): void {
  const v = opensslVerify({
    leafPem: `${d.certificate}\n`,
    chainPems: d.ca_chain.slice(0, 1),
    rootPem: `${d.ca_chain.at(-1) ?? ''}\n`,
    purpose: 'sslserver',
  });
  expect(v.ok, v.output).toBe(true);
}

function pkim(args: string[]) {
  const r = runPkim(['--json', ...args], { dataDir: tmp.dir });
  if (r.code !== 0) throw new Error(`pkim ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.json();
}

beforeAll(async () => {
  const root = pkim(['ca', 'create', '--subject', 'CN=NV Root', '--key-type', 'ec-p256']);
  const inter = pkim(['ca', 'create', '--subject', 'CN=NV Issuing', '--key-type', 'ec-p256', '--parent', root.id]);
  interId = inter.id;
  pkim(['vault', 'mount', 'pki', '--ca', inter.id, '--max-ttl', '87600h']);
  adminToken = pkim(['token', 'create', '--name', 'node-vault', '--role', 'admin']).token;
  // start-up (first boot: the administrator's password hash, migrations) is CPU-bound: ready on its line
  server = await startPkimServer(tmp.dir, [], {});
  url = server.url;
}, 180_000);

afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('node-vault against pkim serve', () => {
  it('health, kubernetesLogin, roles, issue, read, revoke and list — field by field', async () => {
    const admin = nodeVault({ endpoint: url, token: adminToken });
    const health = await admin.health();
    // every field of the reference's sys/health (§2.7), with its type
    expect(health).toMatchObject({
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      cluster_name: expect.any(String),
      version: expect.any(String),
    });
    expect(health.cluster_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(Number.isInteger(health.server_time_utc)).toBe(true);
    expect(Math.abs(health.server_time_utc - Date.now() / 1000)).toBeLessThan(300);

    // Kubernetes auth: offline verification against the cluster's service-account signing key
    const pem = saKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await admin.write('auth/kubernetes/config', { pem_keys: [pem] });
    await admin.write('auth/kubernetes/role/cert-manager', {
      bound_service_account_names: 'cert-manager',
      bound_service_account_namespaces: 'cert-manager',
      token_policies: 'pki-issue',
      audience: 'vault',
      ttl: '1h',
    });
    await admin.write('pki/roles/web', { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '72h' });

    const k8s = nodeVault({ endpoint: url });
    const login = await k8s.kubernetesLogin({
      mount_point: 'kubernetes', // node-vault 0.12 renders its default mount path empty ('auth//login')
      role: 'cert-manager',
      jwt: await serviceAccountJwt('cert-manager', 'cert-manager'),
    });
    expect(typeof login.auth.client_token).toBe('string');
    // the policies that govern the token (its PKI Manager role), not the role's `token_policies` labels: the login
    // and lookup-self answer the same list, as Vault's do
    expect(login.auth.policies).toEqual(['default', 'pkim-operator']);
    expect(login.auth.token_policies).toEqual(login.auth.policies);
    expect(login.auth.lease_duration).toBe(3600);
    expect(typeof login.auth.renewable).toBe('boolean');
    expect(login.auth.metadata).toMatchObject({
      service_account_name: 'cert-manager',
      service_account_namespace: 'cert-manager',
    });
    k8s.token = login.auth.client_token;
    expect((await k8s.tokenLookupSelf()).data.policies).toEqual(login.auth.policies);

    const issued = await k8s.write('pki/issue/web', { common_name: 'a.example.com', ttl: '24h' });
    const d = issued.data;
    expect(d.certificate).toMatch(PEM_RE);
    expect(d.issuing_ca).toMatch(PEM_RE);
    expect(Array.isArray(d.ca_chain)).toBe(true);
    expect(d.ca_chain[0]).toBe(d.issuing_ca);
    expect(d.serial_number).toMatch(SERIAL_RE);
    expect(Number.isInteger(d.expiration)).toBe(true);
    expect(d.expiration - Date.now() / 1000).toBeGreaterThan(23.9 * 3600);
    expect(d.private_key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(d.private_key_type).toBe('rsa');
    expectChainVerifies(d);

    // the certificate, its serial and expiration, the key that belongs to it (reference §3.1-3.2)
    const x509 = new X509Certificate(d.certificate);
    expect(d.serial_number).toBe(toVaultSerial(x509.serialNumber));
    expect(d.expiration).toBe(Math.floor(Date.parse(x509.validTo) / 1000));
    expect(x509.subject).toBe('CN=a.example.com');
    expect(x509.checkPrivateKey(createPrivateKey(d.private_key))).toBe(true);
    expect(x509.checkIssued(new X509Certificate(d.issuing_ca))).toBe(true);

    const read = await k8s.read(`pki/cert/${d.serial_number}`);
    expect(read.data).toMatchObject({ certificate: d.certificate, revocation_time: 0, revocation_time_rfc3339: '' });
    expect(typeof read.data.issuer_id).toBe('string');

    const listed = await k8s.list('pki/certs');
    expect(listed.data.keys).toContain(d.serial_number);
    const listedGet = await nodeVault({ endpoint: url, token: k8s.token, noCustomHTTPVerbs: true }).list('pki/certs');
    expect(listedGet.data.keys).toEqual(listed.data.keys);

    const revoked = await k8s.write('pki/revoke', { serial_number: d.serial_number });
    expect(revoked.data.state).toBe('revoked');
    expect(Number.isInteger(revoked.data.revocation_time)).toBe(true);
    expect(Math.floor(Date.parse(revoked.data.revocation_time_rfc3339) / 1000)).toBe(revoked.data.revocation_time);
    expect(listed.data.keys.every((k: string) => SERIAL_RE.test(k))).toBe(true);
    expect((await k8s.read(`pki/cert/${d.serial_number}`)).data.revocation_time).toBe(revoked.data.revocation_time);

    // the Kubernetes token is an ordinary PKI Manager token of the operator role: it cannot change roles
    await expect(k8s.write('pki/roles/other', { allow_any_name: true })).rejects.toMatchObject({
      message: 'permission denied',
      response: { statusCode: 403 },
    });
    const self = await k8s.tokenLookupSelf();
    expect(self.data.path).toBe('auth/kubernetes/login');
    expect(self.data.ttl).toBeGreaterThan(3500);
  }, 60_000);

  it('rejects bad tokens, foreign JWTs and missing objects with Vault statuses', async () => {
    const bad = nodeVault({ endpoint: url, token: 'pkim_not-a-token' });
    await expect(bad.write('pki/issue/web', { common_name: 'a.example.com' })).rejects.toMatchObject({
      message: 'permission denied',
      response: { statusCode: 403 },
    });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect(
      nodeVault({ endpoint: url }).kubernetesLogin({
        mount_point: 'kubernetes',
        role: 'cert-manager',
        jwt: await serviceAccountJwt('cert-manager', 'cert-manager', other.privateKey),
      }),
    ).rejects.toMatchObject({ response: { statusCode: 403 } });
    await expect(
      nodeVault({ endpoint: url }).kubernetesLogin({
        mount_point: 'kubernetes',
        role: 'cert-manager',
        jwt: await serviceAccountJwt('intruder', 'default'),
      }),
    ).rejects.toMatchObject({ response: { statusCode: 403 } });
    const admin = nodeVault({ endpoint: url, token: adminToken });
    await expect(admin.read('pki/roles/none')).rejects.toMatchObject({ response: { statusCode: 404 } });
    await expect(admin.write('pki/issue/web', { common_name: 'evil.org' })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
  }, 60_000);

  it("writes and reads an issuer's leaf_not_after_behavior; the CA has it (ca show); leaves follow it", async () => {
    const admin = nodeVault({ endpoint: url, token: adminToken });
    await admin.write('pki/roles/decade', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      max_ttl: '87600h',
    });
    const ask = { common_name: 'd.example.com', ttl: '87600h' };
    await expect(admin.write('pki/issue/decade', ask)).rejects.toMatchObject({ response: { statusCode: 400 } });

    const written = await admin.write('pki/issuer/default', { leaf_not_after_behavior: 'truncate' });
    expect(written.data).toMatchObject({ issuer_id: interId, leaf_not_after_behavior: 'truncate' });
    expect((await admin.read('pki/issuer/default')).data.leaf_not_after_behavior).toBe('truncate');
    // the CA's own setting, which every channel shows: the CLI reads it from the database the server writes
    expect(pkim(['ca', 'show', interId]).leafNotAfterBehavior).toBe('truncate');
    const d = (await admin.write('pki/issue/decade', ask)).data;
    expect(d.expiration).toBe(Math.floor(Date.parse(new X509Certificate(d.issuing_ca).validTo) / 1000));
    expectChainVerifies(d);

    await expect(admin.write('pki/issuer/default', { leaf_not_after_behavior: 'never' })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
    expect((await admin.write('pki/issuer/default', { leaf_not_after_behavior: 'err' })).data).toMatchObject({
      leaf_not_after_behavior: 'err',
    });
    await expect(admin.write('pki/issue/decade', ask)).rejects.toMatchObject({ response: { statusCode: 400 } });
    // the mount's one key is the CA's: deleting it is refused while its issuer uses it (OpenBao), nothing changes
    await expect(admin.delete('pki/key/default')).rejects.toMatchObject({
      message: expect.stringMatching(new RegExp(`^Failed to Delete Key\\. {2}Key in Use by Issuer: ${interId} `)),
      response: { statusCode: 400 },
    });
    expect(pkim(['ca', 'show', interId]).status).toBe('active');
  }, 60_000);

  it("a role's ext_key_usage_oids and policy_identifiers (JSON form) reach the leaf; a bad OID is a 400", async () => {
    const admin = nodeVault({ endpoint: url, token: adminToken });
    await admin.write('pki/roles/oids', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      ext_key_usage_oids: '1.3.6.1.4.1.32473.9.7',
      policy_identifiers: JSON.stringify([{ oid: '1.3.6.1.4.1.32473.1.3', notice: 'node-vault' }]),
    });
    expect((await admin.read('pki/roles/oids')).data).toMatchObject({
      ext_key_usage_oids: ['1.3.6.1.4.1.32473.9.7'],
      policy_identifiers: ['{"oid":"1.3.6.1.4.1.32473.1.3","notice":"node-vault"}'],
    });
    const d = (await admin.write('pki/issue/oids', { common_name: 'o.example.com' })).data;
    const text = opensslText(`${d.certificate}\n`);
    expect(text).toMatch(/TLS Web Client Authentication, 1\.3\.6\.1\.4\.1\.32473\.9\.7\n/);
    expect(text).toMatch(/Policy: 1\.3\.6\.1\.4\.1\.32473\.1\.3\n\s+User Notice:\n\s+Explicit Text: node-vault\n/);
    expectChainVerifies(d);
    await expect(admin.write('pki/roles/bad-oids', { ext_key_usage_oids: '1.2.x' })).rejects.toMatchObject({
      response: { statusCode: 400 },
    });
  });

  it('logs in with AppRole (role_id + secret_id); a wrong secret is a 400', async () => {
    const admin = nodeVault({ endpoint: url, token: adminToken });
    await admin.write('auth/approle/role/ci', { token_policies: 'pki-issue', token_ttl: '20m' });
    const roleId = (await admin.read('auth/approle/role/ci/role-id')).data.role_id;
    const secretId = (await admin.write('auth/approle/role/ci/secret-id', {})).data.secret_id;
    const ci = nodeVault({ endpoint: url });
    const login = await ci.approleLogin({ role_id: roleId, secret_id: secretId });
    expect(login.auth.lease_duration).toBe(1200);
    expect(ci.token).toBe(login.auth.client_token);
    expect(login.auth.policies).toEqual(['default', 'pkim-operator']);
    expect(login.auth.token_policies).toEqual(login.auth.policies);
    expect((await ci.tokenLookupSelf()).data.policies).toEqual(login.auth.policies);
    const issued = await ci.write('pki/issue/web', { common_name: 'ci.example.com' });
    expect(issued.data.certificate).toMatch(PEM_RE);
    await expect(
      nodeVault({ endpoint: url }).approleLogin({ role_id: roleId, secret_id: 'wrong' }),
    ).rejects.toMatchObject({
      message: 'invalid role or secret ID',
      response: { statusCode: 400 },
    });
  }, 60_000);
});
