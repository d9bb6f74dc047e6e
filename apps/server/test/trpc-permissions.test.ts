import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TABLE, appRouter } from '@pkim/server';
import { ROLE_PERMISSIONS, type Actor } from '@pkim/authority';
import {
  ACTORS,
  ROLES,
  callerFor,
  openAuthorityFixture,
  trpcError,
  type AuthorityFixture,
  type RoleName,
} from './server-test-support';
import { internalsOf } from '@pkim/authority/internals';

const ALL: RoleName[] = ['admin', 'operator', 'auditor', 'requester'];
const READERS: RoleName[] = ['admin', 'operator', 'auditor'];
const ISSUERS: RoleName[] = ['admin', 'operator'];
const ADMIN: RoleName[] = ['admin'];

/**
 * The designed access of every procedure (written out by hand, not derived from ROLE_PERMISSIONS,
 * so a change of the role table that changes who may call what makes this test fail).
 */
const ACCESS: Record<string, RoleName[] | 'public'> = {
  'ca.list': ALL,
  'ca.get': ALL,
  'ca.exportChain': ALL,
  'ca.create': ADMIN,
  'ca.createExternal': ADMIN,
  'ca.importCertificate': ADMIN,
  'ca.importExisting': ADMIN,
  'ca.setStatus': ADMIN,
  'ca.setUrls': ADMIN,
  'ca.rename': ADMIN,
  'ca.setLeafNotAfterBehavior': ADMIN,
  'ca.revoke': ADMIN,
  'ca.renew': ADMIN,
  'ca.rotate': ADMIN,
  'ca.revokeCross': ADMIN,
  'ca.delete': ADMIN,
  'ca.generateCrl': ADMIN,
  'certificate.list': READERS,
  'certificate.get': READERS,
  'exports.certificate': READERS,
  'exports.truststore': ALL,
  'certificate.expiring': READERS,
  'certificate.issue': ISSUERS,
  'certificate.issueWithKey': ISSUERS,
  'certificate.revoke': ISSUERS,
  'certificate.revokePresented': ISSUERS,
  'certificate.delete': ADMIN,
  'renewal.renew': ISSUERS,
  'bulk.issueCsv': ISSUERS,
  'bulk.revoke': ISSUERS,
  'bulk.renew': ISSUERS,
  'bulk.download': READERS,
  'bulk.job': READERS,
  'bulk.jobFile': READERS,
  'request.submit': ['admin', 'operator', 'requester'],
  'request.list': ALL,
  'request.get': ALL,
  'request.certificate': ALL,
  'request.approve': ISSUERS,
  'request.reject': ISSUERS,
  'audit.list': ['admin', 'auditor'],
  'audit.verify': ['admin', 'auditor'],
  'audit.actors': ['admin', 'auditor'],
  'user.me': ALL,
  'user.changePassword': ALL,
  'user.list': ADMIN,
  'user.create': ADMIN,
  'user.setRole': ADMIN,
  'user.unlock': ADMIN,
  'user.disable': ADMIN,
  'user.login': 'public',
  'user.logout': 'public',
  'token.create': ADMIN,
  'token.list': ADMIN,
  'token.revoke': ADMIN,
  'system.health': ALL,
  'system.info': ALL,
  'system.stats': ALL,
  'insights.dashboard': ALL,
  'insights.expiryTimeline': READERS,
  'insights.search': READERS,
  'insights.domains': READERS,
  'insights.decodeCsr': ALL,
  'insights.profiles': ALL,
  'profiles.get': ALL,
  'profiles.create': ADMIN,
  'profiles.update': ADMIN,
  'profiles.delete': ADMIN,
  'insights.decodeCertificate': ALL,
  'spiffe.status': ADMIN,
  'spiffe.init': ADMIN,
  'spiffe.list': ADMIN,
  'spiffe.denied': ADMIN,
  'spiffe.deny': ADMIN,
  'spiffe.allow': ADMIN,
  'spiffe.rotate': ADMIN,
  'spiffe.purge': ADMIN,
  'ssh.listCas': READERS,
  'ssh.createCa': ADMIN,
  'ssh.listCertificates': READERS,
  'ssh.issue': ISSUERS,
  'ssh.revoke': ISSUERS,
  'ssh.krlStatus': READERS,
  'ssh.fleetTokens': ADMIN,
  'ssh.createFleetToken': ADMIN,
  'ssh.revokeFleetToken': ADMIN,
  'ssh.rotateCa': ADMIN,
  'ssh.retireExpiredCas': ADMIN,
  'ssh.listEnvironments': READERS,
  'ssh.createEnvironment': ADMIN,
  'ssh.trust': READERS,
  'ssh.listHosts': READERS,
  'ssh.addHost': ADMIN,
  'ssh.hostAccounts': READERS,
  'ssh.mapAccount': ADMIN,
  'ssh.unmapAccount': ADMIN,
  'ssh.hostBundle': READERS,
  'ssh.listUsers': READERS,
  'ssh.addUser': ADMIN,
  'ssh.setUserDisabled': ADMIN,
  'ssh.listPrincipals': READERS,
  'ssh.addPrincipal': ADMIN,
  'ssh.grant': ADMIN,
  'ssh.ungrant': ADMIN,
  'ssh.listBlocks': READERS,
  'ssh.block': ADMIN,
  'ssh.unblock': ADMIN,
  'acme.directories': ALL,
  'acme.enable': ADMIN,
  'acme.disable': ADMIN,
  'acme.accounts': ALL,
  'acme.deactivateAccount': ADMIN,
  'acme.orders': ALL,
  'acme.eabKeys': ALL,
  'acme.createEabKey': ADMIN,
  'acme.revokeEabKey': ADMIN,
  'acme.events': ['admin', 'auditor'],
  'notification.listRules': ['admin', 'auditor'],
  'notification.createRule': ADMIN,
  'notification.setRuleEnabled': ADMIN,
  'notification.rotateSecret': ADMIN,
  'notification.removeRule': ADMIN,
  'notification.listDeliveries': ['admin', 'auditor'],
  'vault.mounts.list': ALL,
  'vault.mounts.bind': ADMIN,
  'vault.mounts.unbind': ADMIN,
  'vault.roles.list': ALL,
  'vault.roles.create': ADMIN,
  'vault.roles.update': ADMIN,
  'vault.roles.delete': ADMIN,
  'vault.roles.certificates': READERS,
  'vault.keystores': READERS,
};

type AnyFn = (input?: unknown) => Promise<unknown>;
function procedureOf(caller: unknown, path: string): AnyFn {
  return path.split('.').reduce((o: any, k) => o[k], caller) as AnyFn;
}

describe('tRPC permission matrix', () => {
  let fx: AuthorityFixture;
  beforeAll(async () => {
    fx = await openAuthorityFixture();
  });
  afterAll(async () => fx?.close());

  it('covers every procedure of the app router, and only those', () => {
    const procedures = Object.keys(
      (appRouter as unknown as { _def: { procedures: Record<string, unknown> } })._def.procedures,
    ).sort();
    expect(procedures).toEqual(Object.keys(ACCESS).sort());
  });

  it('declares every procedure in the one access table shared with REST (public ones too)', () => {
    const procs = (
      appRouter as unknown as {
        _def: { procedures: Record<string, { _def: { meta?: { public?: boolean } } }> };
      }
    )._def.procedures;
    expect(Object.keys(ACCESS_TABLE.trpc).sort()).toEqual(Object.keys(procs).sort());
    for (const [path, p] of Object.entries(procs)) {
      const declared = ACCESS_TABLE.trpc[path as keyof typeof ACCESS_TABLE.trpc];
      if (ACCESS[path] === 'public') {
        expect(declared, path).toBe('public');
        expect(p._def.meta?.public, path).toBe(true);
      } else expect(declared, path).not.toBe('public');
    }
  });

  const cases = Object.entries(ACCESS).flatMap(([path, allowed]) =>
    ROLES.map((role) => ({ path, role, allowed: allowed === 'public' || allowed.includes(role) })),
  );

  it.each(cases)('$role calling $path is allowed=$allowed', async ({ path, role, allowed }) => {
    const fn = procedureOf(callerFor(fx.authority, ACTORS[role]), path);
    let code: string | undefined;
    try {
      // undefined input: authorized calls fail validation (BAD_REQUEST) or succeed, nothing changes
      await fn(undefined);
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    if (allowed) expect(['FORBIDDEN', 'UNAUTHORIZED']).not.toContain(code);
    else expect(code).toBe('FORBIDDEN');
  });

  it.each(Object.keys(ACCESS).filter((p) => ACCESS[p] !== 'public'))(
    'refuses %s without authentication (UNAUTHORIZED)',
    async (path) => {
      const e = await trpcError(procedureOf(callerFor(fx.authority, undefined), path)(undefined));
      expect(e.code).toBe('UNAUTHORIZED');
    },
  );

  it('lets token scopes narrow a role: an operator token scoped to certificate:issue cannot revoke', async () => {
    const scoped: Actor = { id: 'tok_scoped', name: 'ci', role: 'operator', scopes: ['certificate:issue'] };
    const caller = callerFor(fx.authority, scoped);
    expect((await trpcError(caller.certificate.issue(undefined as never))).code).toBe('BAD_REQUEST');
    expect((await trpcError(caller.certificate.revoke({ ref: 'crt_x' }))).code).toBe('FORBIDDEN');
    expect((await trpcError(caller.ca.list())).code).toBe('FORBIDDEN');
    const me = await caller.user.me();
    expect(me.permissions).toEqual(['certificate:issue', 'account:self']);
  });

  it('keeps the matrix consistent with ROLE_PERMISSIONS for the admin role (admin can do everything)', () => {
    for (const [path, allowed] of Object.entries(ACCESS))
      if (allowed !== 'public') expect(allowed, path).toContain('admin');
    expect(ROLE_PERMISSIONS.admin.length).toBeGreaterThan(10);
  });

  it('changed nothing while running the matrix (no CA, certificate, user or token was created)', async () => {
    expect(await internalsOf(fx.authority).store.cas.list()).toHaveLength(0);
    expect(await internalsOf(fx.authority).store.users.count()).toBe(0);
    expect(await internalsOf(fx.authority).store.tokens.list()).toHaveLength(0);
  });
});
