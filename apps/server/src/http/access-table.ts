import { PkiError } from '@pkim/shared';
import { authorize, passwordChangeRequired, type Actor, type Permission } from '@pkim/authority';
import { REST_PREFIX, REST_TWINS } from '@pkim/contract';

/**
 * THE authorization table of the tRPC and REST transports: every procedure and every route, and the
 * permission it requires (`public` = no authentication). Both transports check a call with `checkAccess`
 * below — the same code — and a call whose procedure/route is missing here is refused (fail closed).
 * Resource limits (which CA, profile, names) are not checked here but by the authority (the signing
 * pipeline and the services), whichever transport a call came through.
 *
 * tRPC procedures (`ca.list`) → permission:
 */
const TRPC_ACCESS = {
  'ca.list': 'ca:read',
  'ca.get': 'ca:read',
  'ca.exportChain': 'ca:read',
  'ca.create': 'ca:write',
  'ca.createExternal': 'ca:write',
  'ca.importCertificate': 'ca:write',
  'ca.importExisting': 'ca:write',
  'ca.setStatus': 'ca:write',
  'ca.setUrls': 'ca:write',
  'ca.rename': 'ca:write',
  'ca.setLeafNotAfterBehavior': 'ca:write',
  'ca.revoke': 'ca:write',
  'ca.renew': 'ca:write',
  'ca.rotate': 'ca:write',
  'ca.revokeCross': 'ca:write',
  'ca.delete': 'ca:write',
  'ca.generateCrl': 'ca:write',
  'certificate.list': 'certificate:read',
  'certificate.get': 'certificate:read',
  'certificate.expiring': 'certificate:read',
  'certificate.issue': 'certificate:issue',
  'certificate.issueWithKey': 'certificate:issue',
  'certificate.revoke': 'certificate:revoke',
  'certificate.revokePresented': 'certificate:revoke',
  // deleting an expired record is record keeping (as a CA's deletion and a certificate's import): admins
  'certificate.delete': 'ca:write',
  'request.submit': 'request:submit',
  'request.list': 'request:read',
  'request.get': 'request:read',
  'request.approve': 'request:review',
  'request.reject': 'request:review',
  'request.certificate': 'request:read',
  'audit.list': 'audit:read',
  'audit.verify': 'audit:read',
  // the names of who acted (users, tokens) to whoever may read the log: an auditor may not list users or tokens
  'audit.actors': 'audit:read',
  'user.me': 'account:self',
  'user.changePassword': 'account:self',
  'user.list': 'user:manage',
  'user.create': 'user:manage',
  'user.setRole': 'user:manage',
  'user.disable': 'user:manage',
  'user.unlock': 'user:manage',
  'user.login': 'public',
  'user.logout': 'public',
  'token.create': 'token:manage',
  'token.list': 'token:manage',
  'token.revoke': 'token:manage',
  'system.health': 'system:read',
  'system.info': 'system:read',
  'system.stats': 'system:read',
  'insights.dashboard': 'system:read',
  'insights.expiryTimeline': 'certificate:read',
  'insights.search': 'certificate:read',
  'insights.domains': 'certificate:read',
  'insights.profiles': 'ca:read',
  'profiles.get': 'ca:read',
  'profiles.create': 'ca:write',
  'profiles.update': 'ca:write',
  'profiles.delete': 'ca:write',
  'insights.decodeCsr': 'account:self',
  'insights.decodeCertificate': 'account:self',
  'spiffe.status': 'spiffe:manage',
  'spiffe.init': 'spiffe:manage',
  'spiffe.list': 'spiffe:manage',
  'spiffe.denied': 'spiffe:manage',
  'spiffe.deny': 'spiffe:manage',
  'spiffe.allow': 'spiffe:manage',
  'spiffe.rotate': 'spiffe:manage',
  'spiffe.purge': 'spiffe:manage',
  'ssh.listCas': 'ssh:read',
  'ssh.createCa': 'ssh:manage',
  'ssh.listCertificates': 'ssh:read',
  'ssh.issue': 'ssh:issue',
  'ssh.revoke': 'ssh:revoke',
  'ssh.krlStatus': 'ssh:read',
  'ssh.fleetTokens': 'ssh:manage',
  'ssh.createFleetToken': 'ssh:manage',
  'ssh.revokeFleetToken': 'ssh:manage',
  'ssh.rotateCa': 'ssh:manage',
  'ssh.retireExpiredCas': 'ssh:manage',
  'ssh.listEnvironments': 'ssh:read',
  'ssh.createEnvironment': 'ssh:manage',
  'ssh.trust': 'ssh:read',
  'ssh.listHosts': 'ssh:read',
  'ssh.addHost': 'ssh:manage',
  'ssh.hostAccounts': 'ssh:read',
  'ssh.mapAccount': 'ssh:manage',
  'ssh.unmapAccount': 'ssh:manage',
  'ssh.hostBundle': 'ssh:read',
  'ssh.listUsers': 'ssh:read',
  'ssh.addUser': 'ssh:manage',
  'ssh.setUserDisabled': 'ssh:manage',
  'ssh.listPrincipals': 'ssh:read',
  'ssh.addPrincipal': 'ssh:manage',
  'ssh.grant': 'ssh:manage',
  'ssh.ungrant': 'ssh:manage',
  'ssh.listBlocks': 'ssh:read',
  'ssh.block': 'ssh:manage',
  'ssh.unblock': 'ssh:manage',
  // a private key in the export additionally needs certificate:issue (checked by the export service)
  'exports.certificate': 'certificate:read',
  'exports.truststore': 'ca:read',
  'acme.directories': 'ca:read',
  'acme.enable': 'ca:write',
  'acme.disable': 'ca:write',
  'acme.accounts': 'ca:read',
  'acme.deactivateAccount': 'ca:write',
  'acme.orders': 'ca:read',
  'acme.eabKeys': 'ca:read',
  'acme.createEabKey': 'ca:write',
  'acme.revokeEabKey': 'ca:write',
  'acme.events': 'audit:read',
  'renewal.renew': 'certificate:issue',
  'notification.listRules': 'notification:read',
  'notification.createRule': 'notification:manage',
  'notification.setRuleEnabled': 'notification:manage',
  'notification.removeRule': 'notification:manage',
  'notification.rotateSecret': 'notification:manage',
  'notification.listDeliveries': 'notification:read',
  'vault.mounts.list': 'ca:read',
  'vault.mounts.bind': 'ca:write',
  'vault.mounts.unbind': 'ca:write',
  'vault.roles.list': 'ca:read',
  'vault.roles.create': 'ca:write',
  'vault.roles.update': 'ca:write',
  'vault.roles.delete': 'ca:write',
  'vault.roles.certificates': 'certificate:read',
  'vault.keystores': 'certificate:read',
  // bulk jobs: a job and its files are its starter's only (the authority checks); revoke/renew/issue re-check per row
  'bulk.issueCsv': 'certificate:issue',
  'bulk.revoke': 'certificate:revoke',
  'bulk.renew': 'certificate:issue',
  'bulk.download': 'certificate:read',
  'bulk.job': 'certificate:read',
  'bulk.jobFile': 'certificate:read',
} as const satisfies Record<string, Permission | 'public'>;

/**
 * The REST routes written by hand (REST conveniences with no procedure of their own, the API document and its UI).
 * Every other REST route is the twin of a procedure and requires exactly the procedure's permission (below).
 */
const REST_HANDWRITTEN = {
  'GET /api/v1/cas/:id/bundle': 'ca:read',
  'POST /api/v1/cas/:id/sign': 'certificate:issue',
  // every reader; the authority narrows it (certificate:read → the CAs it may see, a requester → its own requests)
  'GET /api/v1/certificates/export': 'account:self',
  'POST /api/v1/ssh/sign': 'ssh:issue',
  'POST /api/v1/ssh/revoke': 'ssh:revoke',
  'GET /api/v1/openapi.json': 'public',
  'GET /api/docs': 'public',
  'GET /api/docs/:file': 'public',
} as const satisfies Record<string, Permission | 'public'>;

/** `GET /api/v1/cas/:id` → the permission of its procedure (`ca.get`) */
function restTwinAccess(): Record<string, Permission | 'public'> {
  const out: Record<string, Permission | 'public'> = {};
  for (const [name, twin] of Object.entries(REST_TWINS)) {
    const access = (TRPC_ACCESS as Record<string, Permission | 'public'>)[name];
    if (access !== undefined) out[`${twin.method} ${REST_PREFIX}${twin.path}`] = access;
  }
  return out;
}

export const ACCESS_TABLE: {
  trpc: typeof TRPC_ACCESS;
  rest: Readonly<Record<string, Permission | 'public'>>;
} = {
  trpc: TRPC_ACCESS,
  rest: { ...REST_HANDWRITTEN, ...restTwinAccess() },
};

export type TransportName = keyof typeof ACCESS_TABLE;

/**
 * What a session that must change its password (`actor.mustChangePassword`: the first-boot admin, a password an admin
 * reset) may call besides the public procedures (login, logout, health): who it is and its own password change — on
 * tRPC and as their REST twins. Everything else is `auth.password_change_required` (403). API tokens never carry
 * the flag: a token is a credential someone holding the power made on purpose.
 */
const PASSWORD_CHANGE_CALLS = ['user.me', 'user.changePassword'] as const;
const WHILE_PASSWORD_CHANGE_REQUIRED: Record<TransportName, ReadonlySet<string>> = {
  trpc: new Set(PASSWORD_CHANGE_CALLS),
  rest: new Set(PASSWORD_CHANGE_CALLS.map((n) => `${REST_TWINS[n].method} ${REST_PREFIX}${REST_TWINS[n].path}`)),
};

/** The declared access of a tRPC procedure path (`ca.list`) or a REST route (`GET /api/v1/cas/:id`). */
export function accessFor(transport: TransportName, key: string): Permission | 'public' | undefined {
  return (ACCESS_TABLE[transport] as Record<string, Permission | 'public'>)[key];
}

/**
 * The one access check of both transports: `auth.unauthenticated` without an actor, `auth.password_change_required`
 * for a session that must change its password first (above), `auth.forbidden` when the role or token scope lacks
 * the permission; an undeclared procedure/route is an internal error, never open.
 */
export function checkAccess(transport: TransportName, key: string, actor: Actor | undefined): void {
  const access = accessFor(transport, key);
  if (access === undefined) {
    throw new PkiError('internal.error', `${transport} ${key} has no entry in the access table`, { kind: 'internal' });
  }
  if (access === 'public') return;
  if (actor?.mustChangePassword && !WHILE_PASSWORD_CHANGE_REQUIRED[transport].has(key))
    throw passwordChangeRequired(actor);
  authorize(actor, access);
}
