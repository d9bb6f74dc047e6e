import { PkiError } from '@pkim/shared';
import type { UserRole } from '@pkim/store';
import type { Actor } from './types';
import type { ResourceLimits } from './signing/provisioner';

export type { UserRole };

/**
 * The ONE permission layer of PKI Manager. Transports (tRPC middleware, REST routes) and services
 * call `authorize(actor, permission)`; nothing else decides who may do what.
 */
export const PERMISSIONS = [
  'ca:read',
  'ca:write',
  'certificate:read',
  'certificate:issue',
  'certificate:revoke',
  'request:submit',
  'request:read',
  'request:review',
  'audit:read',
  'user:manage',
  'token:manage',
  'system:read',
  /** SPIFFE: get an SVID from a CSR (workload tokens: `--scope spiffe:sign`) */
  'spiffe:sign',
  /** SPIFFE: init, status, SVID list, deny list, rotation, purge (admin only) */
  'spiffe:manage',
  /** SSH CA: read CAs/registry/certificates; sign certificates; revoke; manage CAs, registry and fleet tokens */
  'ssh:read',
  'ssh:issue',
  'ssh:revoke',
  'ssh:manage',
  /** notification rules and the delivery log (docs/notifications.md): read (admin, auditor), manage (admin) */
  'notification:read',
  'notification:manage',
  /** acting on one's own account (me, change own password): every authenticated actor */
  'account:self',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const USER_ROLES: readonly UserRole[] = ['admin', 'operator', 'auditor', 'requester'];

export const ROLE_PERMISSIONS: Record<UserRole, readonly Permission[]> = {
  admin: PERMISSIONS,
  operator: [
    'ca:read',
    'certificate:read',
    'certificate:issue',
    'certificate:revoke',
    'request:submit',
    'request:read',
    'request:review',
    'system:read',
    'spiffe:sign',
    'ssh:read',
    'ssh:issue',
    'ssh:revoke',
    'account:self',
  ],
  auditor: [
    'ca:read',
    'certificate:read',
    'request:read',
    'audit:read',
    'system:read',
    'ssh:read',
    'notification:read',
    'account:self',
  ],
  /** submits requests and reads its own (the request service filters by requester) */
  requester: ['ca:read', 'request:submit', 'request:read', 'system:read', 'account:self'],
};

export function isPermission(v: unknown): v is Permission {
  return typeof v === 'string' && (PERMISSIONS as readonly string[]).includes(v);
}

/** A token scope is a permission (`certificate:issue`), a wildcard per noun (`certificate:*`) or `*`. */
export function isValidScope(scope: string): boolean {
  if (scope === '*') return true;
  if (scope.endsWith(':*')) {
    const noun = scope.slice(0, -2);
    return PERMISSIONS.some((p) => p.startsWith(`${noun}:`));
  }
  return isPermission(scope);
}

function scopeAllows(scope: string, permission: Permission): boolean {
  if (scope === '*' || scope === permission) return true;
  return scope.endsWith(':*') && permission.startsWith(scope.slice(0, -1));
}

/** The scopes that cover no permission the role holds (a token with them could never use them). */
export function scopesNotGrantedBy(role: UserRole, scopes: readonly string[]): string[] {
  const held = ROLE_PERMISSIONS[role].filter((p) => p !== 'account:self');
  return scopes.filter((s) => !held.some((p) => scopeAllows(s, p)));
}

/** Role grants the permission and (for API tokens with scopes) a scope covers it. */
export function hasPermission(actor: Actor | undefined, permission: Permission): boolean {
  if (!actor) return false;
  const granted = ROLE_PERMISSIONS[actor.role];
  if (!granted?.includes(permission)) return false;
  if (actor.scopes === undefined) return true;
  // account:self is implied for any authenticated actor, scoped or not
  if (permission === 'account:self') return true;
  return actor.scopes.some((s) => scopeAllows(s, permission));
}

/** Throws `auth.unauthenticated` without an actor, `auth.forbidden` when the permission is missing. */
export function authorize(actor: Actor | undefined, permission: Permission): asserts actor is Actor {
  if (!actor) throw new PkiError('auth.unauthenticated', 'authentication required');
  if (!hasPermission(actor, permission)) {
    throw new PkiError(
      'auth.forbidden',
      `'${permission}' is not allowed for this ${actor.scopes ? 'token scope' : 'role'}`,
      {
        details: { permission, role: actor.role },
      },
    );
  }
}

/** All permissions an actor effectively holds (for `user.me` and the UI). */
export function effectivePermissions(actor: Actor | undefined): Permission[] {
  return PERMISSIONS.filter((p) => hasPermission(actor, p));
}

/** What a principal with this role and these token scopes (undefined = unscoped) may do, `account:self` aside. */
export function grantedPermissions(role: UserRole, scopes?: readonly string[]): Permission[] {
  return effectivePermissions({ id: 'grant', role, scopes: scopes ? [...scopes] : undefined }).filter(
    (p) => p !== 'account:self',
  );
}

/**
 * No principal can grant what it does not hold: a token, user, role or password reset by `actor`
 * may give at most the actor's own effective permissions. Refuses with `auth.forbidden` naming what
 * the actor lacks. `what` names the operation in the message (`create a admin token`).
 */
export function assertCanGrant(
  actor: Actor,
  role: UserRole,
  scopes: readonly string[] | undefined,
  what: string,
  /** the resource limits the new or touched principal has (null = unlimited); omitted = not about resources */
  resources?: ResourceLimits | null,
): void {
  const held = new Set(effectivePermissions(actor));
  const missing = grantedPermissions(role, scopes).filter((p) => !held.has(p));
  if (missing.length > 0) {
    throw new PkiError(
      'auth.forbidden',
      `cannot ${what}: it would grant ${missing.join(', ')}, which this ${actor.scopes ? 'token' : 'role'} ` +
        `does not hold`,
      { details: { missing, role } },
    );
  }
  // a principal limited to CAs/profiles/names/lifetimes gives (or touches) nothing less limited than itself
  if (resources !== undefined && actor.resources && (resources === null || !withinLimits(resources, actor.resources))) {
    throw new PkiError(
      'auth.forbidden',
      `cannot ${what}: it would reach CAs, profiles, names, lifetimes or SPIFFE IDs beyond this principal's own ` +
        'resource limits',
      { details: { role, limits: actor.resources } },
    );
  }
}

/** Is `inner` at most as wide as `outer` (lists are subsets, pattern by pattern; lifetime not longer)? */
export function withinLimits(inner: ResourceLimits, outer: ResourceLimits): boolean {
  const sub = (a?: string[], b?: string[]) => b === undefined || (a?.every((x) => b.includes(x)) ?? false);
  const life =
    outer.maxLifetimeMs === undefined ||
    (inner.maxLifetimeMs !== undefined && inner.maxLifetimeMs <= outer.maxLifetimeMs);
  return (
    sub(inner.cas, outer.cas) &&
    sub(inner.profiles, outer.profiles) &&
    sub(inner.names, outer.names) &&
    sub(inner.spiffe, outer.spiffe) &&
    life
  );
}
