// docs/vault-api.md's two quick starts and its login walk (token lookup, AppRole), executed verbatim
// (tests/support/doc-script.ts) as a Vault user runs them, the `vault` commands played by hvac
// (tests/support/hvac-vault-cli.py: Debian's python3-hvac, unmodified; the `vault` and `bao` CLIs are not packaged in
// Debian). The certificates each walk leaves behind are verified by openssl and certtool.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runPkim } from './support/cli-runner';
import { markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { certtoolVerify, opensslCrlVerify, opensslVerify, requireBinary } from './support/verifiers';

const DOC = 'docs/vault-api.md';
/** `vault …` as hvac does it, then the walk as the document has it */
const withVault = (block: string): string =>
  `vault() { /usr/bin/python3 '${join(REPO_ROOT, 'tests/support/hvac-vault-cli.py')}' "$@"; }\n${block}`;
const walk = (name: string): string =>
  withVault(markedBashBlock(readFileSync(join(REPO_ROOT, DOC), 'utf8'), name, DOC));
const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8');
/** `kubectl create token` and `kubectl get --raw /openid/v1/jwks` as a cluster answers them, with its signing key */
const withKubectl = (block: string): string =>
  `kubectl() { '${process.execPath}' '${join(REPO_ROOT, 'tests/support/kubectl-standin.mjs')}' "$@"; }\n${block}`;

function expectVerifies(leafPem: string, rootPem: string, chainPems: string[] = []): void {
  for (const v of [
    opensslVerify({ leafPem, rootPem, chainPems, purpose: 'sslserver' }),
    certtoolVerify({ leafPem, rootPem, chainPems, purpose: 'serverAuth' }),
  ])
    expect(v.ok, v.output).toBe(true);
}

describe('docs/vault-api.md quick starts', () => {
  for (const bin of ['bash', 'curl', 'jq', '/usr/bin/python3']) requireBinary(bin);

  it('with pkim commands: CAs, a mount, a role and a leaf through the Vault API', async () => {
    const tmp = tempDir('pkim-vault-quickstart-');
    try {
      const run = await runDocScript(tmp.dir, walk('vault-quickstart'));
      expect(run.code, run.out).toBe(0);
      const dataDir = join(tmp.dir, 'data');
      const chain = runPkim(['ca', 'export', 'Issuing', '--chain'], { dataDir }).stdout;
      const [issuing, root] = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;
      expectVerifies(read(run.work, 'a.example.com.pem'), root!, [issuing]);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);

  it('logging in: `vault auth enable approle` accepted, an AppRole login that issues, its token revoked', async () => {
    const tmp = tempDir('pkim-vault-logins-');
    try {
      // the walk verbatim, then (still against its server) a method the doc says is not supported
      const run = await runDocScript(
        tmp.dir,
        `${walk('vault-logins')}\nvault auth enable userpass || echo "exit $?"\n`,
      );
      expect(run.code, run.out).toBe(0);
      const dataDir = join(tmp.dir, 'data');
      // the admin's token, then the CI job's (lines as `vault token lookup` prints them)
      for (const line of [
        'display_name    vault',
        'path    auth/token/create',
        'policies    [default pkim-admin]',
        'display_name    vault approle/ci: ci',
        'path    auth/approle/login',
        'creation_ttl    1200',
        'policies    [default pkim-operator]',
        'meta    map[pkim_role:operator pkim_scopes:certificate:issue,certificate:read,certificate:revoke,ca:read]',
        'renewable    false',
        'Success! Revoked token (if it existed)',
        'the CI token is revoked',
      ])
        expect(run.out.split('\n'), run.out).toContain(line);
      expect(run.out).toMatch(/permission denied, on get http:\S+\/v1\/auth\/token\/lookup-self/);
      // `vault auth enable approle` (enabled already: accepted) and `vault auth list`
      expect(run.out.split('\n'), run.out).toContain('Success! Enabled approle auth method at: approle/');
      for (const type of ['approle', 'kubernetes', 'token'])
        expect(run.out).toMatch(new RegExp(`^${type}/    ${type}    auth_${type}_[0-9a-f]{8}    .+    n/a$`, 'm'));
      expect(run.out).toContain('auth method "userpass" is not supported here');
      expect(run.out).toMatch(/^exit 2$/m);
      // the certificate the CI token issued, verified under the root by openssl and certtool
      const root = runPkim(['ca', 'export', 'Root'], { dataDir }).stdout;
      expectVerifies(read(run.work, 'ci.pem'), root);
      // the login audited as the AppRole's, and the CI token revoked by its own revoke-self
      const events = (action: string) =>
        runPkim(['audit', 'list', '--action', action, '--json'], { dataDir }).json<{
          items: { details: Record<string, unknown> }[];
        }>().items;
      expect(events('vault.login').map((e) => e.details)).toEqual([
        expect.objectContaining({ method: 'approle', role: 'ci' }),
      ]);
      const tokens = runPkim(['token', 'list', '--json'], { dataDir }).json<{
        items: { name: string; revokedAt?: string | null }[];
      }>().items;
      expect(tokens.find((t) => t.name === 'vault approle/ci: ci')?.revokedAt, JSON.stringify(tokens)).toBeTruthy();
    } finally {
      tmp.cleanup();
    }
  }, 300_000);

  it('the Vault way: a root, a role, a leaf, then an intermediate on a second mount and its leaf', async () => {
    const tmp = tempDir('pkim-vault-quickstart-vault-way-');
    try {
      const run = await runDocScript(tmp.dir, walk('vault-quickstart-vault-way'));
      expect(run.code, run.out).toBe(0);
      expect(run.out).toContain('imported_issuers');
      const root = read(run.work, 'root.pem');
      expectVerifies(read(run.work, 'a.example.com.pem'), root);
      expectVerifies(read(run.work, 'b.example.com.pem'), root, [read(run.work, 'int.pem')]);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);

  it('revoke-with-key: another key refused, its own revokes; an expired one when the mount allows it', async () => {
    const tmp = tempDir('pkim-vault-revoke-with-key-');
    try {
      const run = await runDocScript(tmp.dir, walk('vault-revoke-with-key'));
      expect(run.code, run.out).toBe(0);
      const serial = (file: string) => JSON.parse(read(run.work, file)).data.serial_number as string;
      const [lost, old] = [serial('lost.json'), serial('old.json')];
      const lines = run.out.split('\n');
      expect(lines, run.out).toContain('another key: refused');
      expect(run.out).toMatch(/Error: provided private key does not match certificate's public key, on post http:\S+/);
      expect(
        lines.filter((l) => l === 'state    revoked'),
        run.out,
      ).toHaveLength(2);
      expect(lines, run.out).toContain(
        `WARNING! certificate with serial ${old} already expired; refusing to add to CRL. ` +
          "Enable 'AllowExpiredCertRevocation' to allow revoking expired certificates.",
      );
      // the CRL the walk fetched, verified under the root by openssl, certtool and Go: both, and nothing else
      const root = runPkim(['ca', 'export', 'Root'], { dataDir: join(tmp.dir, 'data') }).stdout;
      const crl = opensslCrlVerify(
        Buffer.from(read(run.work, 'crl.pem').replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64'),
        root,
      );
      expect(crl.ok, crl.text).toBe(true);
      const hex = (s: string) => s.replaceAll(':', '').toUpperCase();
      expect(
        lines
          .filter((l) => l.includes('Serial Number: '))
          .map((l) => l.split(': ')[1])
          .sort(),
        run.out,
      ).toEqual([hex(lost), hex(old)].sort());
      expect(crl.text).toContain(hex(lost));
      expect(crl.text).toContain(hex(old));
      // the keys presented are in neither the server's log nor the audit log
      const audit = runPkim(['audit', 'list', '--json'], { dataDir: join(tmp.dir, 'data') }).stdout;
      for (const key of ['lost.key', 'other.key']) {
        const body = read(run.work, key).split('\n')[1]!;
        expect(read(run.work, 'server.log')).not.toContain(body);
        expect(audit).not.toContain(body);
      }
    } finally {
      tmp.cleanup();
    }
  }, 300_000);

  it("logging in from Kubernetes: the cluster's JWKS, a role, a service account's login that issues", async () => {
    const tmp = tempDir('pkim-vault-kubernetes-');
    try {
      // the walk verbatim, then (still against its server) the doc's other key form: `pem_keys=@sa.pub`, the
      // cluster's public key file (the stand-in keeps it where a kubeadm control plane has it: beside its sa.key)
      const pemKeys = [
        'vault write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc \\',
        '  pem_keys=@"$HOME/.kube-standin/sa.pub"',
        'vault write -field=token auth/kubernetes/login role=cert-manager jwt="$SA_JWT" > /dev/null',
        'echo "pem_keys: logged in"',
      ].join('\n');
      const run = await runDocScript(tmp.dir, withKubectl(`${walk('vault-kubernetes-login')}\n${pemKeys}\n`));
      expect(run.code, run.out).toBe(0);
      const lines = run.out.split('\n');
      for (const line of [
        'display_name    vault kubernetes/cert-manager: cert-manager/cert-manager',
        'path    auth/kubernetes/login',
        'creation_ttl    1200',
        'another account: refused',
        'another audience: refused',
        'pem_keys: logged in',
      ])
        expect(lines, run.out).toContain(line);
      const refusals = run.out.match(/permission denied, on post http:\S+\/v1\/auth\/kubernetes\/login/g);
      expect(refusals, run.out).toHaveLength(2);
      const dataDir = join(tmp.dir, 'data');
      expectVerifies(read(run.work, 'k8s.pem'), runPkim(['ca', 'export', 'Root'], { dataDir }).stdout);
      const events = (action: string) =>
        runPkim(['audit', 'list', '--action', action, '--json'], { dataDir })
          .json<{
            items: { details: Record<string, unknown> }[];
          }>()
          .items.map((e) => e.details);
      expect(events('vault.login')).toEqual([
        expect.objectContaining({ method: 'kubernetes', role: 'cert-manager' }),
        expect.objectContaining({ method: 'kubernetes', role: 'cert-manager' }),
      ]);
      expect(events('vault.login_failed')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ method: 'kubernetes', reason: 'service_account_not_bound' }),
          expect.objectContaining({ method: 'kubernetes', reason: 'invalid_jwt' }),
        ]),
      );
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
