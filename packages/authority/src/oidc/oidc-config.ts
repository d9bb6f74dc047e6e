import { PkiError } from '@pkim/shared';
import type { UserRole } from '@pkim/store';
import { USER_ROLES } from '../permissions';

/** OIDC sign-in for the console (docs/oidc.md). Absent = local users only. */
export interface OidcConfig {
  /** issuer URL; `<issuer>/.well-known/openid-configuration` is fetched (discovery) */
  issuer: string;
  clientId: string;
  /** confidential clients (client_secret_basic, or client_secret_post when that is all the provider offers) */
  clientSecret?: string;
  /** the provider's name on the sign-in button ("Sign in with <displayName>") */
  displayName: string;
  /** scopes requested (default openid profile email groups) */
  scopes: string[];
  /** the claim whose values map to roles (default `groups`); a string or an array of strings */
  roleClaim: string;
  /** claim value → role; the most powerful mapped role wins */
  roleMap: Record<string, UserRole>;
  /** role of an identity none of whose claim values is mapped; absent = refused (`auth.oidc_no_role`) */
  defaultRole?: UserRole;
  /** claim giving the user name of a user created at first sign-in (default preferred_username, then email) */
  usernameClaim: string;
  /** redirect URI registered at the provider (default `<public URL or request origin>/auth/oidc/callback`) */
  redirectUri?: string;
  /** accepted clock difference with the provider in seconds (default 60) */
  clockToleranceSeconds: number;
}

const ENV = {
  issuer: 'PKIM_OIDC_ISSUER',
  clientId: 'PKIM_OIDC_CLIENT_ID',
  clientSecret: 'PKIM_OIDC_CLIENT_SECRET',
  displayName: 'PKIM_OIDC_NAME',
  scopes: 'PKIM_OIDC_SCOPES',
  roleClaim: 'PKIM_OIDC_ROLE_CLAIM',
  roleMap: 'PKIM_OIDC_ROLE_MAP',
  defaultRole: 'PKIM_OIDC_DEFAULT_ROLE',
  usernameClaim: 'PKIM_OIDC_USERNAME_CLAIM',
  redirectUri: 'PKIM_OIDC_REDIRECT_URL',
} as const;

function checkRole(role: string, source: string): UserRole {
  if (!(USER_ROLES as readonly string[]).includes(role))
    throw new PkiError('input.invalid', `${source}: unknown role '${role}' (expected ${USER_ROLES.join(', ')})`);
  return role as UserRole;
}

/** `pki-admins=admin,pki-ops=operator` → { 'pki-admins': 'admin', … } */
export function parseRoleMap(text: string, source = ENV.roleMap): Record<string, UserRole> {
  const map: Record<string, UserRole> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.lastIndexOf('=');
    if (eq <= 0) throw new PkiError('input.invalid', `${source}: expected value=role pairs, got '${item}'`);
    map[item.slice(0, eq).trim()] = checkRole(item.slice(eq + 1).trim(), source);
  }
  return map;
}

function checkUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new PkiError('input.invalid', `${source}: '${value}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new PkiError('input.invalid', `${source}: expected an https URL, got '${value}'`);
  return value.replace(/\/+$/, '');
}

/**
 * The OIDC settings: PKIM_OIDC_* environment variables, overridden by `given`. Undefined when no issuer is
 * set (OIDC off). Throws `input.invalid` for an incomplete or malformed configuration, at start-up.
 */
export function oidcConfigFromEnv(
  env: Record<string, string | undefined>,
  given?: Partial<OidcConfig> | false,
): OidcConfig | undefined {
  if (given === false) return undefined;
  const v = (k: keyof typeof ENV) => {
    const x = env[ENV[k]];
    return x === undefined || x.trim() === '' ? undefined : x.trim();
  };
  const issuer = given?.issuer ?? v('issuer');
  if (!issuer) {
    if (v('clientId')) throw new PkiError('input.invalid', `${ENV.clientId} is set but ${ENV.issuer} is not`);
    return undefined;
  }
  const clientId = given?.clientId ?? v('clientId');
  if (!clientId) throw new PkiError('input.invalid', `${ENV.issuer} is set but ${ENV.clientId} is not`);
  const roleMapText = v('roleMap');
  const defaultRoleText = v('defaultRole');
  const redirect = given?.redirectUri ?? v('redirectUri');
  return {
    issuer: checkUrl(issuer, ENV.issuer),
    clientId,
    clientSecret: given?.clientSecret ?? v('clientSecret'),
    displayName: given?.displayName ?? v('displayName') ?? new URL(issuer).hostname,
    scopes: given?.scopes ?? (v('scopes') ?? 'openid profile email groups').split(/[\s,]+/).filter(Boolean),
    roleClaim: given?.roleClaim ?? v('roleClaim') ?? 'groups',
    roleMap: given?.roleMap ?? (roleMapText ? parseRoleMap(roleMapText) : {}),
    defaultRole: given?.defaultRole ?? (defaultRoleText ? checkRole(defaultRoleText, ENV.defaultRole) : undefined),
    usernameClaim: given?.usernameClaim ?? v('usernameClaim') ?? 'preferred_username',
    redirectUri: redirect ? checkUrl(redirect, ENV.redirectUri) : undefined,
    clockToleranceSeconds: given?.clockToleranceSeconds ?? 60,
  };
}

/** What the console's sign-in page shows of the OIDC configuration (`authority.oidc.describe()`). */
export function describeOidc(config: OidcConfig | undefined): {
  enabled: boolean;
  name?: string;
  redirectUri?: string;
} {
  return config ? { enabled: true, name: config.displayName, redirectUri: config.redirectUri } : { enabled: false };
}
