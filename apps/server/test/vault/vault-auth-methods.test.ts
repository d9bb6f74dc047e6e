// `sys/auth` (`vault auth list`, `vault auth enable|disable`): the methods this server answers — token, approle,
// kubernetes, always enabled at their default paths — listed as OpenBao shapes them (its map repeated at the top level,
// accessors and UUIDs stable); enabling approle/kubernetes at the default path is accepted and changes nothing,
// another type or path, `token`, no type and disabling a method are 400s changing nothing; reads need `ca:read`,
// enable/disable `token:manage`, none 403. A login and `auth/token/lookup-self` of the token it minted answer the same
// policies (`default`, `pkim-<role>`: what governs it), whatever `token_policies` the auth role names. The `vault`
// commands played by hvac (tests/support/hvac-vault-cli.py).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTORS } from '../server-test-support';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const VAULT_CLI = join(import.meta.dirname, '../../../../tests/support/hvac-vault-cli.py');

/** `vault <args>` as tests/support/hvac-vault-cli.py plays it against the fixture's server */
function vault(args: string[], token = f.token): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/python3',
      [VAULT_CLI, ...args],
      { env: { ...process.env, VAULT_ADDR: f.url, VAULT_TOKEN: token }, timeout: 60_000 },
      (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }),
    );
  });
}

const tokenOf = async (name: string, role: 'operator' | 'auditor' | 'admin', scopes?: string[]) =>
  (await f.authority.auth.createToken({ name, role, scopes, expiresInMs: null }, ACTORS.admin)).token;

/** every audit event and the method table: what a refused or no-op call must leave as it was */
const state = async () => ({
  audit: (await f.authority.audit.list({ limit: 1000 })).length,
  methods: (await vaultCall(f, 'GET', 'sys/auth')).text.replace(/"request_id":"[^"]+"/, ''),
});

describe('sys/auth', () => {
  it('lists token, approle and kubernetes as OpenBao shapes them, the same on every read', async () => {
    const r = await vaultCall(f, 'GET', 'sys/auth');
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(r.body.data).sort()).toEqual(['approle/', 'kubernetes/', 'token/']);
    for (const type of ['approle', 'kubernetes', 'token']) {
      const entry = r.body.data[`${type}/`];
      expect(entry).toEqual({
        type,
        description: expect.any(String),
        accessor: expect.stringMatching(new RegExp(`^auth_${type}_[0-9a-f]{8}$`)),
        config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false, token_type: 'default-service' },
        local: false,
        seal_wrap: false,
        external_entropy_access: false,
        options: null,
        uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        plugin_version: '',
        running_plugin_version: 'builtin',
        running_sha256: '',
      });
      // repeated at the top level (the older clients read it there), and one method's own read
      expect(r.body[`${type}/`]).toEqual(entry);
      const one = await vaultCall(f, 'GET', `sys/auth/${type}`);
      expect(one.status, one.text).toBe(200);
      expect(one.body.data).toEqual(entry);
    }
    expect(r.body.data['token/'].description).toBe('token based credentials');
    expect(new Set(Object.values(r.body.data).map((e: any) => e.uuid)).size).toBe(3);
    expect((await vaultCall(f, 'GET', 'sys/auth')).body.data).toEqual(r.body.data);
    const missing = await vaultCall(f, 'GET', 'sys/auth/userpass');
    expect(missing.status, missing.text).toBe(400);
    expect(missing.body.errors).toEqual(['No auth engine at userpass/']);
  });

  it('accepts enabling approle or kubernetes at its path, again too; refuses the rest, changing nothing', async () => {
    const before = await state();
    for (const type of ['approle', 'kubernetes', 'approle']) {
      const r = await vaultCall(f, 'POST', `sys/auth/${type}`, { type, description: '', config: {} });
      expect(r.status, r.text).toBe(204);
    }
    for (const [method, path, body, error] of [
      ['POST', 'sys/auth/ci', { type: 'approle' }, 'the approle auth method is at approle/ only'],
      ['POST', 'sys/auth/k8s-prod', { type: 'kubernetes' }, 'it cannot be enabled at k8s-prod/'],
      ['POST', 'sys/auth/userpass', { type: 'userpass' }, 'auth method "userpass" is not supported here'],
      ['POST', 'sys/auth/kubernetes', { type: 'approle' }, 'it cannot be enabled at kubernetes/'],
      ['POST', 'sys/auth/token', { type: 'token' }, 'token credential backend cannot be instantiated'],
      ['POST', 'sys/auth/approle', {}, 'backend type must be specified as a string'],
      ['DELETE', 'sys/auth/approle', undefined, 'the auth method at approle/ cannot be disabled here'],
      ['DELETE', 'sys/auth/token/', undefined, 'the auth method at token/ cannot be disabled here'],
    ] as const) {
      const r = await vaultCall(f, method, path, body);
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toContain(error);
    }
    // a path with no method: nothing to disable (OpenBao's 204, not saying whether it existed)
    expect((await vaultCall(f, 'DELETE', 'sys/auth/nothing-here')).status).toBe(204);
    expect(await state()).toEqual(before);
  });

  it('needs ca:read to list, token:manage to enable or disable; no token 403', async () => {
    const before = await state();
    const operator = await tokenOf('auth operator', 'operator');
    const auditor = await tokenOf('auth auditor', 'auditor');
    const issuer = await tokenOf('auth issuer', 'operator', ['certificate:issue']);
    const midBefore = await state();
    for (const token of [operator, auditor]) {
      expect((await vaultCall(f, 'GET', 'sys/auth', undefined, { token })).status).toBe(200);
      expect((await vaultCall(f, 'GET', 'sys/auth/approle', undefined, { token })).status).toBe(200);
      for (const [method, body] of [
        ['POST', { type: 'approle' }],
        ['DELETE', undefined],
      ] as const) {
        const r = await vaultCall(f, method, 'sys/auth/approle', body, { token });
        expect(r.status, r.text).toBe(403);
        expect(r.body.errors).toEqual(['permission denied']);
      }
    }
    for (const token of [issuer, null]) {
      for (const [method, path, body] of [
        ['GET', 'sys/auth', undefined],
        ['GET', 'sys/auth/approle', undefined],
        ['POST', 'sys/auth/approle', { type: 'approle' }],
      ] as const) {
        const r = await vaultCall(f, method, path, body, { token });
        expect(r.status, `${method} ${path} ${token ? 'scoped' : 'anonymous'}: ${r.text}`).toBe(403);
      }
    }
    expect(await state()).toEqual(midBefore);
    expect(before.methods).toBe(midBefore.methods);
  });

  it('`vault auth enable approle`, `vault auth list`, the refusals — the vault commands played by hvac', async () => {
    const enabled = await vault(['auth', 'enable', 'approle']);
    expect(enabled, enabled.err).toMatchObject({ code: 0, out: 'Success! Enabled approle auth method at: approle/\n' });
    const k8s = await vault(['auth', 'enable', 'kubernetes']);
    expect(k8s.code, k8s.err).toBe(0);

    const list = await vault(['auth', 'list']);
    expect(list.code, list.err).toBe(0);
    const methods = (await vaultCall(f, 'GET', 'sys/auth')).body.data;
    const row = (type: string) => `${type}/    ${type}    ${methods[`${type}/`].accessor}    `;
    expect(list.out.trimEnd().split('\n')).toEqual([
      'Path    Type    Accessor    Description    Version',
      `${row('approle')}${methods['approle/'].description}    n/a`,
      `${row('kubernetes')}${methods['kubernetes/'].description}    n/a`,
      `${row('token')}token based credentials    n/a`,
    ]);

    for (const [args, error] of [
      [['auth', 'enable', 'userpass'], 'auth method "userpass" is not supported here'],
      [['auth', 'enable', '-path=ci', 'approle'], 'the approle auth method is at approle/ only'],
      [['auth', 'disable', 'approle'], 'the auth method at approle/ cannot be disabled here'],
    ]) {
      const r = await vault(args as string[]);
      expect(r.code, r.out).toBe(2);
      expect(r.err).toContain(error);
    }
    const operator = await tokenOf('cli operator', 'operator');
    const refused = await vault(['auth', 'enable', 'approle'], operator);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('permission denied');
  }, 120_000);

  it('a login and lookup-self of its token answer the same policies: default and pkim-<role>', async () => {
    const role = await vaultCall(f, 'POST', 'auth/approle/role/audit-job', {
      token_role: 'auditor',
      token_scopes: 'ca:read,certificate:read',
      token_policies: 'pki-read,reports',
    });
    expect(role.status, role.text).toBe(204);
    // the role keeps its policy names (Terraform reads back what it wrote)
    expect((await vaultCall(f, 'GET', 'auth/approle/role/audit-job')).body.data.token_policies).toEqual([
      'pki-read',
      'reports',
    ]);
    const roleId = (await vault(['read', '-field=role_id', 'auth/approle/role/audit-job/role-id'])).out.trim();
    const secretId = (await vault(['write', '-f', '-field=secret_id', 'auth/approle/role/audit-job/secret-id'])).out;
    const login = await vault(['write', 'auth/approle/login', `role_id=${roleId}`, `secret_id=${secretId.trim()}`]);
    expect(login.code, login.err).toBe(0);
    const lines = login.out.split('\n');
    expect(lines).toContain('policies    [default pkim-auditor]');
    expect(lines).toContain('token_policies    [default pkim-auditor]');
    const token = /^token {4}(\S+)$/m.exec(login.out)![1]!;
    const lookup = await vault(['token', 'lookup'], token);
    expect(lookup.code, lookup.err).toBe(0);
    expect(lookup.out.split('\n')).toContain('policies    [default pkim-auditor]');
    // the raw answers: one list in both
    const raw = await vaultCall(f, 'GET', 'auth/token/lookup-self', undefined, { token });
    expect(raw.body.data.policies).toEqual(['default', 'pkim-auditor']);
    expect(raw.body.data.meta).toEqual({ pkim_role: 'auditor', pkim_scopes: 'ca:read,certificate:read' });
  }, 120_000);
});

/**
 * hvac's own calls (Debian python3-hvac): read_auth_method_tuning, tune_auth_method (`sys/auth/<path>/tune`), and
 * read_mount_configuration, tune_mount_configuration of `auth/<path>` (`sys/mounts/auth/<path>/tune`, ops `mread`
 * and `mtune`); each answer or its error
 */
function hvacTune(calls: [string, string, Record<string, unknown>?][], token = f.token): Promise<any[]> {
  const script = `
import hvac, json, sys
c = hvac.Client(url=sys.argv[1], token=sys.argv[2])
out = []
for call in json.loads(sys.argv[3]):
    op, path, kw = call[0], call[1], (call[2] if len(call) > 2 else {})
    try:
        if op == 'read': r = c.sys.read_auth_method_tuning(path)
        elif op == 'tune': r = c.sys.tune_auth_method(path, **kw)
        elif op == 'mread': r = c.sys.read_mount_configuration('auth/' + path)
        else: r = c.sys.tune_mount_configuration('auth/' + path, **kw)
        out.append(r if isinstance(r, dict) else {'status': r.status_code})
    except hvac.exceptions.VaultError as e:
        out.append({'error': type(e).__name__, 'errors': e.errors})
print(json.dumps(out))
`;
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      ['-c', script, f.url, token, JSON.stringify(calls)],
      { timeout: 60_000 },
      (e, out, err) => (e ? reject(new Error(`hvac failed: ${e.message}\n${err}`)) : resolve(JSON.parse(out))),
    );
  });
}

describe('sys/auth/<path>/tune', () => {
  it("reads each method's tuning in OpenBao's shape, over HTTP and with hvac", async () => {
    for (const [type, ttl] of [
      ['token', 0],
      ['approle', 3600],
      ['kubernetes', 3600],
    ] as const) {
      const r = await vaultCall(f, 'GET', `sys/auth/${type}/tune`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.data).toEqual({
        description: (await vaultCall(f, 'GET', `sys/auth/${type}`)).body.data.description,
        default_lease_ttl: ttl,
        max_lease_ttl: 0,
        force_no_cache: false,
        token_type: 'default-service',
      });
    }
    const [approle, missing] = await hvacTune([
      ['read', 'approle'],
      ['read', 'userpass'],
    ]);
    expect(approle.data).toMatchObject({ default_lease_ttl: 3600, max_lease_ttl: 0, token_type: 'default-service' });
    expect(missing).toEqual({ error: 'InvalidRequest', errors: ['No auth engine at userpass/'] });
  });

  it('keeps a description (vault auth list shows it, audited); the TTLs only as read; other fields 400', async () => {
    const before = await state();
    for (const [path, body, error] of [
      ['approle', { default_lease_ttl: '2h' }, 'default_lease_ttl of auth/approle/ is 3600 here and cannot be tuned'],
      ['kubernetes', { max_lease_ttl: 7200 }, 'max_lease_ttl of auth/kubernetes/ is 0 here and cannot be tuned'],
      ['token', { default_lease_ttl: '1h' }, 'an API token keeps the expiry it was created with'],
      ['approle', { description: 'CI', listing_visibility: 'unauth' }, 'listing_visibility is not tunable here'],
      ['approle', { token_type: 'batch' }, 'token_type is not tunable here'],
      ['token', { token_type: 'batch' }, "'token_type' cannot be set for 'token' or 'ns_token' auth mounts"],
      ['approle', { force_no_cache: true }, 'force_no_cache is not tunable here'],
      ['userpass', { description: 'x' }, 'No auth engine at userpass/'],
    ] as const) {
      const r = await vaultCall(f, 'POST', `sys/auth/${path}/tune`, body);
      expect(r.status, `${path} ${JSON.stringify(body)}: ${r.text}`).toBe(400);
      expect(r.body.errors[0]).toContain(error);
    }
    expect(await state()).toEqual(before);

    // what was read written back changes nothing but the description
    const [tuned, read, refused] = await hvacTune([
      ['tune', 'approle', { description: 'CI logins', default_lease_ttl: 3600, max_lease_ttl: 0 }],
      ['read', 'approle'],
      ['tune', 'approle', { default_lease_ttl: '24h' }],
    ]);
    expect(tuned).toEqual({ status: 204 });
    expect(read.data).toMatchObject({ description: 'CI logins', default_lease_ttl: 3600 });
    expect(refused.error).toBe('InvalidRequest');
    expect(refused.errors[0]).toContain('default_lease_ttl of auth/approle/ is 3600 here');
    expect((await vaultCall(f, 'GET', 'sys/auth')).body.data['approle/'].description).toBe('CI logins');
    const [event] = await f.authority.audit.list({ action: 'vault.auth_tuned', order: 'desc', limit: 1 });
    expect(event).toMatchObject({ target: 'auth/approle/', details: { description: 'CI logins' } });
    const list = await vault(['auth', 'list']);
    expect(list.out).toContain('CI logins');
  });

  it("answers sys/mounts/auth/<path>/tune (OpenBao's no-sudo twin) as sys/auth/<path>/tune, raw and hvac", async () => {
    for (const type of ['token', 'approle', 'kubernetes', 'userpass']) {
      const twin = await vaultCall(f, 'GET', `sys/mounts/auth/${type}/tune`);
      const auth = await vaultCall(f, 'GET', `sys/auth/${type}/tune`);
      expect([twin.status, twin.body.data ?? twin.body], type).toEqual([auth.status, auth.body.data ?? auth.body]);
    }
    const before = await state();
    for (const [path, body] of [
      ['approle', { default_lease_ttl: '2h' }],
      ['token', { token_type: 'batch' }],
      ['approle', { force_no_cache: true }],
      ['userpass', { description: 'x' }],
    ] as const) {
      const twin = await vaultCall(f, 'POST', `sys/mounts/auth/${path}/tune`, body);
      const auth = await vaultCall(f, 'POST', `sys/auth/${path}/tune`, body);
      expect([twin.status, twin.body], `${path} ${JSON.stringify(body)}`).toEqual([auth.status, auth.body]);
      expect(twin.status).toBe(400);
    }
    expect(await state()).toEqual(before);

    const [tuned, read, refused] = await hvacTune([
      ['mtune', 'kubernetes', { description: 'cluster logins', default_lease_ttl: 3600 }],
      ['mread', 'kubernetes'],
      ['mtune', 'kubernetes', { max_lease_ttl: '24h' }],
    ]);
    expect(tuned).toEqual({ status: 204 });
    expect(read.data).toEqual((await vaultCall(f, 'GET', 'sys/auth/kubernetes/tune')).body.data);
    expect(read.data.description).toBe('cluster logins');
    expect(refused.error).toBe('InvalidRequest');
    expect(refused.errors[0]).toContain('max_lease_ttl of auth/kubernetes/ is 0 here');
    expect((await vaultCall(f, 'GET', 'sys/auth')).body.data['kubernetes/'].description).toBe('cluster logins');
    const [event] = await f.authority.audit.list({ action: 'vault.auth_tuned', order: 'desc', limit: 1 });
    expect(event).toMatchObject({ target: 'auth/kubernetes/', details: { description: 'cluster logins' } });

    // the permissions of sys/auth/<path>/tune: ca:read reads, token:manage tunes, none 403
    const operator = await tokenOf('twin operator', 'operator');
    const issuer = await tokenOf('twin issuer', 'operator', ['certificate:issue']);
    const unchanged = await state();
    expect((await vaultCall(f, 'GET', 'sys/mounts/auth/approle/tune', undefined, { token: operator })).status).toBe(
      200,
    );
    for (const token of [operator, issuer, null]) {
      const r = await vaultCall(f, 'POST', 'sys/mounts/auth/approle/tune', { description: 'nope' }, { token });
      expect(r.status, r.text).toBe(403);
    }
    for (const token of [issuer, null]) {
      expect((await vaultCall(f, 'GET', 'sys/mounts/auth/approle/tune', undefined, { token })).status).toBe(403);
    }
    expect(await state()).toEqual(unchanged);
  });

  it('needs ca:read to read, token:manage to tune; no token 403', async () => {
    const operator = await tokenOf('tune operator', 'operator');
    const issuer = await tokenOf('tune issuer', 'operator', ['certificate:issue']);
    const before = await state();
    expect((await vaultCall(f, 'GET', 'sys/auth/approle/tune', undefined, { token: operator })).status).toBe(200);
    for (const token of [operator, issuer, null]) {
      const r = await vaultCall(f, 'POST', 'sys/auth/approle/tune', { description: 'nope' }, { token });
      expect(r.status, r.text).toBe(403);
    }
    for (const token of [issuer, null]) {
      expect((await vaultCall(f, 'GET', 'sys/auth/approle/tune', undefined, { token })).status).toBe(403);
    }
    expect(await state()).toEqual(before);
  });
});
