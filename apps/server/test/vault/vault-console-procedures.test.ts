// The console's Vault procedures (vault.mounts.*, vault.roles.*) and their REST twins, against the Vault API itself:
// a mount bound and a role written over tRPC are what /v1/ serves; the certificates issued through /v1/<mount>/issue
// are listed under their role (the provisioner recorded with each certificate); every certificate checked by openssl.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS, callerFor, pkiCodeOf, trpcError } from '../server-test-support';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const admin = () => callerFor(f.authority, ACTORS.admin);
const toVaultSerial = (hex: string) =>
  hex
    .toLowerCase()
    .replace(/^(00)+(?=..)/, '')
    .match(/../g)!
    .join(':');

async function rest(method: string, path: string, body?: unknown) {
  const res = await fetch(`${f.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${f.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('vault.mounts and vault.roles', () => {
  it('binds a mount to a CA: listed with the CA name, served under /v1/, refused twice', async () => {
    const m = await admin().vault.mounts.bind({ path: 'console-pki', ca: 'Vault Test Issuing', maxLeaseTtl: '8760h' });
    expect(m).toMatchObject({ path: 'console-pki', ca: { id: f.caId, name: 'Vault Test Issuing' }, roles: 0 });
    expect(m.maxLeaseTtl).toBe('365d'); // 8760h, a duration in its largest exact unit
    expect(m.defaultLeaseTtl).toBe('32d'); // Vault's default, 768h
    const list = await admin().vault.mounts.list();
    expect(list.nextCursor).toBeNull();
    expect(list.items.map((x) => x.path)).toEqual(['console-pki', 'pki']);
    const ca = await vaultCall(f, 'GET', 'console-pki/ca/pem', undefined, { token: null });
    expect(ca.status).toBe(200);
    expect(ca.text).toBe(f.intermediatePem.trim());
    const again = await trpcError(admin().vault.mounts.bind({ path: 'console-pki', ca: f.caId }));
    expect(pkiCodeOf(again)).toBe('vault.mount_exists');
    const reserved = await trpcError(admin().vault.mounts.bind({ path: 'sys', ca: f.caId }));
    expect(pkiCodeOf(reserved)).toBe('vault.invalid_parameter');
  });

  it('creates a role the Vault API reads back; create refuses a taken name, update keeps the rest', async () => {
    const created = await admin().vault.roles.create({
      mount: 'console-pki',
      name: 'web',
      policy: { allowed_domains: ['console.example'], allow_subdomains: true, key_type: 'ec', ttl: '24h' },
    });
    expect(created.policy).toMatchObject({
      allowed_domains: ['console.example'],
      allow_subdomains: true,
      key_type: 'ec',
      key_bits: 256,
      ttl: '1d',
      max_ttl: '0s', // unset: the mount's cap
      server_flag: true,
    });
    const read = await vaultCall(f, 'GET', 'console-pki/roles/web');
    expect(read.status, read.text).toBe(200);
    expect(read.body.data).toMatchObject({ allowed_domains: ['console.example'], key_type: 'ec', ttl: 86_400 });
    const taken = await trpcError(admin().vault.roles.create({ mount: 'console-pki', name: 'web' }));
    expect(pkiCodeOf(taken)).toBe('vault.role_exists');
    expect(taken.code).toBe('CONFLICT');
    const updated = await admin().vault.roles.update({
      mount: 'console-pki',
      name: 'web',
      policy: { max_ttl: '72h', client_flag: false },
    });
    expect(updated.policy).toMatchObject({
      allowed_domains: ['console.example'],
      ttl: '1d',
      max_ttl: '3d',
      client_flag: false,
    });
    // the answer is valid input: sent back as it is, nothing changes
    const again = await admin().vault.roles.update({ mount: 'console-pki', name: 'web', policy: updated.policy });
    expect(again.policy).toEqual(updated.policy);
    const bad = await trpcError(
      admin().vault.roles.update({ mount: 'console-pki', name: 'web', policy: { ttl: '96h' } }),
    );
    expect(pkiCodeOf(bad)).toBe('vault.invalid_parameter');
    await admin().vault.roles.create({ mount: 'console-pki', name: 'api', policy: { allow_any_name: true } });
    const roles = await admin().vault.roles.list({ mount: 'console-pki' });
    expect(roles).toEqual({ items: [expect.anything(), expect.anything()], nextCursor: null });
    expect(roles.items.map((r) => r.name)).toEqual(['api', 'web']);
    expect((await admin().vault.mounts.list()).items.find((m) => m.path === 'console-pki')?.roles).toBe(2);
  });

  it('lists the certificates issued through a role (and only those), newest first, over tRPC and REST', async () => {
    const issued: { serial: string; pem: string; chain: string[] }[] = [];
    for (const cn of ['a.console.example', 'b.console.example']) {
      const r = await vaultCall(f, 'POST', 'console-pki/issue/web', { common_name: cn });
      expect(r.status, r.text).toBe(200);
      issued.push({ serial: r.body.data.serial_number, pem: r.body.data.certificate, chain: r.body.data.ca_chain });
    }
    const other = await vaultCall(f, 'POST', 'console-pki/issue/api', { common_name: 'c.elsewhere.example' });
    expect(other.status, other.text).toBe(200);
    // a policy violation issues nothing
    const refused = await vaultCall(f, 'POST', 'console-pki/issue/web', { common_name: 'x.other.example' });
    expect(refused.status).toBe(400);

    const page = await admin().vault.roles.certificates({ mount: 'console-pki', role: 'web' });
    expect(page.items.map((c) => toVaultSerial(c.serial))).toEqual(issued.map((i) => i.serial).reverse());
    expect(page.items.map((c) => c.commonName)).toEqual(['b.console.example', 'a.console.example']);
    for (const c of page.items) {
      const got = await admin().certificate.get({ ref: c.id });
      const mine = issued.find((i) => i.serial === toVaultSerial(c.serial))!;
      expect(new X509Certificate(got.certificatePem).fingerprint256).toBe(new X509Certificate(mine.pem).fingerprint256);
      const v = opensslVerify({
        leafPem: got.certificatePem,
        chainPems: mine.chain.slice(0, -1),
        rootPem: `${mine.chain[mine.chain.length - 1]}\n`,
        purpose: 'sslserver',
      });
      expect(v.ok, v.output).toBe(true);
    }
    const api = await admin().vault.roles.certificates({ mount: 'console-pki', role: 'api' });
    expect(api.items.map((c) => c.commonName)).toEqual(['c.elsewhere.example']);
    const paged = await admin().vault.roles.certificates({ mount: 'console-pki', role: 'web', limit: 1 });
    expect(paged.items).toHaveLength(1);
    expect(paged.nextCursor).not.toBeNull();

    const r = await rest('GET', '/vault/mounts/console-pki/roles/web/certificates');
    expect(r.status).toBe(200);
    expect(r.body.items.map((c: { id: string }) => c.id)).toEqual(page.items.map((c) => c.id));
    // revoked through the Vault API: the listing filters by status
    await vaultCall(f, 'POST', 'console-pki/revoke', { serial_number: issued[0]!.serial });
    const active = await admin().vault.roles.certificates({ mount: 'console-pki', role: 'web', status: 'active' });
    expect(active.items.map((c) => toVaultSerial(c.serial))).toEqual([issued[1]!.serial]);
  });

  it('REST twins: a mount path with a slash, roles created and deleted, unbinding takes the roles along', async () => {
    const bound = await rest('POST', '/vault/mounts', { path: 'team/pki', ca: f.caId });
    expect(bound.status, JSON.stringify(bound.body)).toBe(201);
    const role = await rest('POST', '/vault/mounts/team%2Fpki/roles', {
      name: 'svc',
      policy: { allow_any_name: true },
    });
    expect(role.status, JSON.stringify(role.body)).toBe(201);
    const listed = (await rest('GET', '/vault/mounts/team%2Fpki/roles')).body;
    expect(listed.items.map((x: { name: string }) => x.name)).toEqual(['svc']);
    expect(listed.nextCursor).toBeNull();
    const issued = await vaultCall(f, 'POST', 'team/pki/issue/svc', { common_name: 'svc.team.example' });
    expect(issued.status, issued.text).toBe(200);
    const del = await rest('DELETE', '/vault/mounts/team%2Fpki/roles/svc');
    expect(del.status).toBe(200);
    const gone = await rest('DELETE', '/vault/mounts/team%2Fpki/roles/svc');
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('vault.role_not_found');
    const unbound = await rest('DELETE', '/vault/mounts/team%2Fpki');
    expect(unbound.status).toBe(200);
    expect((await vaultCall(f, 'POST', 'team/pki/issue/svc', { common_name: 'x.team.example' })).status).toBe(404);
    expect((await rest('DELETE', '/vault/mounts/team%2Fpki')).body.code).toBe('vault.mount_not_found');
    // the certificate it issued stays (a PKI record), the mount's audit trail says who unbound it
    const audit = await admin().audit.list({ action: 'vault.mount_deleted', limit: 5 });
    expect(audit.items.map((e) => e.target)).toContain('team/pki');
  });

  it('tenant keystores: a row per certificate name of the keystore-* roles, rotation, disconnect', async () => {
    await admin().vault.roles.create({
      mount: 'console-pki',
      name: 'keystore-aws_kms',
      policy: {
        allowed_domains: ['keystore.internal', 'internal'],
        allow_subdomains: true,
        server_flag: false,
        client_flag: true,
        key_type: 'ec',
      },
    });
    const issue = async (tenant: string) => {
      const r = await vaultCall(f, 'POST', 'console-pki/issue/keystore-aws_kms', {
        common_name: `tenant-${tenant}-aws.keystore.internal`,
        alt_names: `tenant-${tenant}.internal`,
      });
      expect(r.status, r.text).toBe(200);
      return r.body.data as { serial_number: string; certificate: string; ca_chain: string[] };
    };
    await issue('acme');
    const rotated = await issue('acme'); // a rotation: the previous one is still valid (grace period)
    const globex = await issue('globex');
    await issue('initech');
    expect((await vaultCall(f, 'POST', 'console-pki/revoke', { serial_number: globex.serial_number })).status).toBe(
      200,
    );

    const { items: rows, nextCursor } = await admin().vault.keystores({});
    expect(nextCursor).toBeNull();
    const view = rows.map((k) => [k.keystoreType, k.commonName, k.state, k.active, k.revoked, k.total]);
    expect(view).toEqual([
      ['aws_kms', 'tenant-acme-aws.keystore.internal', 'rotating', 2, 0, 2],
      ['aws_kms', 'tenant-globex-aws.keystore.internal', 'disconnected', 0, 1, 1],
      ['aws_kms', 'tenant-initech-aws.keystore.internal', 'active', 1, 0, 1],
    ]);
    const acme = rows[0]!;
    expect(toVaultSerial(acme.current.serial)).toBe(rotated.serial_number);
    expect(acme.dnsNames).toEqual(['tenant-acme-aws.keystore.internal', 'tenant-acme.internal']); // Vault adds the CN
    const v = opensslVerify({
      leafPem: `${rotated.certificate}\n`,
      chainPems: rotated.ca_chain.slice(0, -1),
      rootPem: `${rotated.ca_chain[rotated.ca_chain.length - 1]}\n`,
      purpose: 'sslclient',
    });
    expect(v.ok, v.output).toBe(true);
    const r = await rest('GET', '/vault/keystores?mount=console-pki');
    expect(r.status).toBe(200);
    expect(r.body.items.map((k: { commonName: string }) => k.commonName)).toEqual(rows.map((k) => k.commonName));
    expect(await admin().vault.keystores({ mount: 'pki' })).toEqual({ items: [], nextCursor: null });
  });

  it('an auditor reads mounts and roles but changes nothing', async () => {
    const auditor = callerFor(f.authority, ACTORS.auditor);
    expect((await auditor.vault.mounts.list()).items.length).toBeGreaterThan(0);
    expect((await auditor.vault.roles.list({ mount: 'console-pki' })).items.length).toBe(3);
    const e = await trpcError(auditor.vault.roles.update({ mount: 'console-pki', name: 'web', policy: { ttl: 60 } }));
    expect(pkiCodeOf(e)).toBe('auth.forbidden');
    const u = await trpcError(auditor.vault.mounts.unbind({ path: 'console-pki' }));
    expect(pkiCodeOf(u)).toBe('auth.forbidden');
    const web = (await admin().vault.roles.list({ mount: 'console-pki' })).items.find((r) => r.name === 'web');
    expect(web?.policy.ttl).toBe('1d');
  });
});
