import { createHash, createPublicKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { PkiError, type Clock } from '@pkim/shared';
import type { Store, UserRole } from '@pkim/store';
import { authorize, isValidScope, USER_ROLES } from '../permissions';
import type { Actor, AuditService, AuthService } from '../types';
import { auditEvent } from '../audit-service';
import { coerceVaultField, parseVaultDuration, parseVaultList, parseVaultString } from './vault-params';
import { vaultGlob } from './vault-role-policy';

/**
 * Vault auth methods on top of PKI Manager's API tokens: a login (Kubernetes service-account JWT verified
 * offline, or AppRole role_id + secret_id) mints an ordinary PKI Manager API token (`pkim_…`) with the role and
 * scopes of the auth role. `X-Vault-Token` accepts every PKI Manager API token, whoever minted it.
 */

/**
 * What an auth role grants: a PKI Manager role and scopes. Its Vault policy names (`token_policies`) are kept and read
 * back with the role (Terraform writes them) but govern nothing: a token's policies are `tokenPolicies` of its role.
 */
interface TokenGrant {
  token_policies: string[];
  token_role: UserRole;
  token_scopes: string[];
  token_ttl: number;
  token_max_ttl: number;
}

interface KubernetesRole extends TokenGrant {
  bound_service_account_names: string[];
  bound_service_account_namespaces: string[];
  audience: string;
}

interface KubernetesConfig {
  kubernetes_host: string;
  pem_keys: string[];
  /** PKI Manager extension: a JWKS document (e.g. the cluster's /openid/v1/jwks) for offline verification */
  jwks: JSONWebKeySet | null;
  issuer: string;
  disable_iss_validation: boolean;
}

interface AppRole extends TokenGrant {
  role_id: string;
  secret_id_ttl: number;
  bind_secret_id: boolean;
  secret_ids: { hash: string; accessor: string; createdAt: number; expiresAt: number | null }[];
}

export interface VaultAuthResponse {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  metadata: Record<string, string>;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: 'service';
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

const K8S_CONFIG = 'vault.auth.kubernetes.config';
const K8S_ROLE = 'vault.auth.kubernetes.role|';
const APPROLE_ROLE = 'vault.auth.approle.role|';
/** a method's description as `sys/auth/<path>/tune` wrote it (else AUTH_METHODS's) */
const METHOD_DESCRIPTION = 'vault.auth.description|';
/** the default TTL of the tokens a login mints when its role names no token_ttl (grantFromParams) */
const ROLE_TOKEN_TTL = 3600;
const DEFAULT_SCOPES = ['certificate:issue', 'certificate:read', 'certificate:revoke', 'ca:read'];
const AUTH_ROLE_NAME_RE = /^\w(([\w.-]+)?\w)?$/;

/**
 * The policies of a token, as the login answers them and `auth/token/lookup-self` too (Vault answers one list in
 * both): what governs the token here — `default` and `pkim-<role>` (its PKI Manager role; its scopes are `meta`).
 */
const tokenPolicies = (role: UserRole): string[] => ['default', `pkim-${role}`];

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * The auth methods `sys/auth` lists: always enabled, each at its default path (`auth/<type>/`), never moved or
 * disabled. Descriptions as `vault auth list` shows them (OpenBao's for `token`).
 */
const AUTH_METHODS = {
  token: 'token based credentials',
  approle: 'AppRole logins (role_id + secret_id) minting PKI Manager API tokens',
  kubernetes: 'Kubernetes service-account logins (JWT verified offline) minting PKI Manager API tokens',
} as const;
type AuthMethodType = keyof typeof AUTH_METHODS;
const isAuthMethod = (t: string): t is AuthMethodType => Object.hasOwn(AUTH_METHODS, t);
/** OpenBao's sanitizePath: no leading slash, one trailing slash */
const authPath = (p: string) => `${p.replace(/^\/+/, '').replace(/\/+$/, '')}/`;

function safeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

function denied(): PkiError {
  return new PkiError('vault.permission_denied', 'permission denied');
}

function grantFromParams(params: Record<string, unknown>): TokenGrant {
  const policies = parseVaultList('token_policies', params.token_policies ?? params.policies);
  const role = parseVaultString('token_role', params.token_role ?? 'operator') as UserRole;
  if (!USER_ROLES.includes(role)) {
    throw new PkiError('vault.invalid_parameter', `token_role must be one of ${USER_ROLES.join(', ')}`);
  }
  if (role === 'admin') {
    throw new PkiError('vault.invalid_parameter', 'auth roles cannot mint admin tokens: use operator with scopes');
  }
  const scopes =
    params.token_scopes === undefined ? DEFAULT_SCOPES : parseVaultList('token_scopes', params.token_scopes);
  const badScope = scopes.find((s) => !isValidScope(s));
  if (badScope) throw new PkiError('vault.invalid_parameter', `unknown token scope "${badScope}"`);
  const ttl = parseVaultDuration('token_ttl', params.token_ttl ?? params.ttl) || ROLE_TOKEN_TTL;
  const maxTtl = parseVaultDuration('token_max_ttl', params.token_max_ttl ?? params.max_ttl) || 0;
  if (maxTtl && ttl > maxTtl) throw new PkiError('vault.invalid_parameter', 'token_ttl cannot exceed token_max_ttl');
  return {
    token_policies: policies.length ? policies : ['default'],
    token_role: role,
    token_scopes: scopes,
    token_ttl: ttl,
    token_max_ttl: maxTtl,
  };
}

function grantResponse(g: TokenGrant): Record<string, unknown> {
  return {
    token_policies: g.token_policies,
    policies: g.token_policies,
    token_role: g.token_role,
    token_scopes: g.token_scopes,
    token_ttl: g.token_ttl,
    token_max_ttl: g.token_max_ttl,
    token_type: 'service',
  };
}

/** Reads the service-account identity from legacy (`kubernetes.io/serviceaccount/…`) or projected tokens. */
function serviceAccountOf(claims: JWTPayload): { namespace: string; name: string; uid: string; secret: string } {
  const k = claims['kubernetes.io'] as
    { namespace?: string; serviceaccount?: { name?: string; uid?: string } } | undefined;
  const namespace = k?.namespace ?? (claims['kubernetes.io/serviceaccount/namespace'] as string | undefined);
  const name = k?.serviceaccount?.name ?? (claims['kubernetes.io/serviceaccount/service-account.name'] as string);
  const uid = k?.serviceaccount?.uid ?? (claims['kubernetes.io/serviceaccount/service-account.uid'] as string);
  const secret = (claims['kubernetes.io/serviceaccount/secret.name'] as string | undefined) ?? '';
  if (typeof namespace !== 'string' || typeof name !== 'string') throw denied();
  if (claims.sub !== undefined && claims.sub !== `system:serviceaccount:${namespace}:${name}`) throw denied();
  return { namespace, name, uid: typeof uid === 'string' ? uid : '', secret };
}

export interface VaultAuthServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  auth: AuthService;
  audit: AuditService;
  /** the database's Vault cluster id: the methods' accessors and UUIDs are derived from it (stable, not stored) */
  clusterId(): Promise<string>;
}

export function createVaultAuthService(deps: VaultAuthServiceDeps) {
  const { store, clock, auth, audit } = deps;

  async function readJson<T>(key: string): Promise<T | undefined> {
    const raw = await store.settings.get(key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  }

  async function write(key: string, value: unknown, actor: Actor, action: string, target: string, details = {}) {
    await store.commit({
      setSettings: { [key]: JSON.stringify(value) },
      audit: [auditEvent(clock, actor, action, target, details)],
    });
  }

  async function mint(
    grant: TokenGrant,
    method: string,
    name: string,
    /** who logged in, in the token's name: the AppRole's name, the service account's `namespace/name` */
    who: string,
    metadata: Record<string, string>,
  ): Promise<VaultAuthResponse> {
    const loginActor: Actor = { id: `vault-auth:${method}/${name}`, name: `vault ${method} login`, role: 'admin' };
    const created = await auth.createToken(
      {
        name: `vault ${method}/${name}: ${who}`.slice(0, 128),
        role: grant.token_role,
        scopes: grant.token_scopes,
        expiresInMs: grant.token_ttl * 1000,
        // every login mints a token under the same name
        uniqueName: false,
      },
      loginActor,
    );
    await audit.record({
      actor: loginActor,
      action: 'vault.login',
      target: created.id,
      details: { method, role: name, ...metadata },
    });
    return {
      client_token: created.token,
      accessor: created.id,
      policies: tokenPolicies(grant.token_role),
      token_policies: tokenPolicies(grant.token_role),
      metadata,
      lease_duration: grant.token_ttl,
      renewable: false,
      entity_id: '',
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    };
  }

  async function loginFailed(method: string, role: string, reason: string): Promise<void> {
    await audit.record({
      actor: `vault-auth:${method}/${role.slice(0, 64)}`,
      action: 'vault.login_failed',
      outcome: 'failure',
      details: { method, role: role.slice(0, 64), reason },
    });
  }

  async function verifyServiceAccountJwt(jwt: string, cfg: KubernetesConfig, audience: string): Promise<JWTPayload> {
    // jose loads on the first Kubernetes login, not with every authority (the CLI's start-up)
    const { createLocalJWKSet, decodeProtectedHeader, jwtVerify } = await import('jose');
    const options = {
      issuer: !cfg.disable_iss_validation && cfg.issuer ? cfg.issuer : undefined,
      audience: audience || undefined,
      currentDate: new Date(clock.now()),
    };
    if (cfg.jwks) {
      try {
        return (await jwtVerify(jwt, createLocalJWKSet(cfg.jwks), options)).payload;
      } catch {
        /* fall through to the PEM keys */
      }
    }
    const { alg } = decodeProtectedHeader(jwt);
    if (!alg || alg === 'none') throw denied();
    for (const pem of cfg.pem_keys) {
      let key: KeyObject;
      try {
        key = createPublicKey(pem);
      } catch {
        continue;
      }
      try {
        return (await jwtVerify(jwt, key, { ...options, algorithms: [alg] })).payload;
      } catch {
        /* try the next key */
      }
    }
    throw denied();
  }

  async function descriptionOf(type: AuthMethodType): Promise<string> {
    return (await store.settings.get(METHOD_DESCRIPTION + type)) ?? AUTH_METHODS[type];
  }

  /**
   * `sys/auth/<path>/tune`'s lease TTLs as they are here: a login's token lives its role's token_ttl (1 h when the
   * role names none) up to the role's token_max_ttl (0: no cap of the method); the token method mints nothing here
   * (an API token keeps the expiry it was created with): 0 and 0
   */
  function leaseTtls(type: AuthMethodType): { default_lease_ttl: number; max_lease_ttl: number } {
    return { default_lease_ttl: type === 'token' ? 0 : ROLE_TOKEN_TTL, max_lease_ttl: 0 };
  }

  /** the method at `sys/auth/<path>` (OpenBao's sanitizePath), else OpenBao's 400 */
  function methodAt(path: string): AuthMethodType {
    const p = authPath(path);
    const type = p.slice(0, -1);
    if (!isAuthMethod(type)) throw new PkiError('vault.invalid_parameter', `No auth engine at ${p}`);
    return type;
  }

  /** a `sys/auth` entry shaped as OpenBao's mountInfo; accessor and UUID derived from the cluster id */
  async function methodEntry(type: AuthMethodType): Promise<Record<string, unknown>> {
    const h = sha256(`${await deps.clusterId()}|auth/${type}`);
    return {
      type,
      description: await descriptionOf(type),
      accessor: `auth_${type}_${h.slice(0, 8)}`,
      config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false, token_type: 'default-service' },
      local: false,
      seal_wrap: false,
      external_entropy_access: false,
      options: null,
      uuid: `${h.slice(8, 16)}-${h.slice(16, 20)}-${h.slice(20, 24)}-${h.slice(24, 28)}-${h.slice(28, 40)}`,
      plugin_version: '',
      running_plugin_version: 'builtin',
      running_sha256: '',
    };
  }

  return {
    /** `GET sys/auth` (`vault auth list`, `ca:read` as `sys/mounts`): every method, keyed `<path>/` */
    async listMethods(actor: Actor): Promise<Record<string, Record<string, unknown>>> {
      authorize(actor, 'ca:read');
      const map: Record<string, Record<string, unknown>> = {};
      for (const type of Object.keys(AUTH_METHODS) as AuthMethodType[]) map[`${type}/`] = await methodEntry(type);
      return map;
    },

    /** `GET sys/auth/<path>`: its entry; another path OpenBao's 400 */
    async readMethod(path: string, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      return methodEntry(methodAt(path));
    },

    /**
     * `GET sys/auth/<path>/tune` (`ca:read`, as `sys/auth`), OpenBao's handleTuneReadCommon shape for an auth mount:
     * description, the lease TTLs as they are here (leaseTtls), force_no_cache, token_type
     */
    async readMethodTune(path: string, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      const type = methodAt(path);
      return {
        description: await descriptionOf(type),
        ...leaseTtls(type),
        force_no_cache: false,
        token_type: 'default-service',
      };
    },

    /**
     * `POST sys/auth/<path>/tune` (`token:manage`, as `sys/auth/<path>`): `description` is kept (shown by `vault auth
     * list`; audited `vault.auth_tuned`); the lease TTLs and `force_no_cache` only as they are (a client writing back
     * what it read); every other field OpenBao tunes a 400 naming it. Checked whole before anything changes.
     */
    async tuneMethod(path: string, params: Record<string, unknown>, actor: Actor): Promise<void> {
      authorize(actor, 'token:manage');
      const type = methodAt(path);
      const ttls = leaseTtls(type);
      for (const [field, value] of Object.entries(params)) {
        if (value === undefined || field === 'description') continue;
        if (field === 'default_lease_ttl' || field === 'max_lease_ttl') {
          // 0 and OpenBao's `system` ask for the default: what it is here
          if (value === 'system' || [0, ttls[field]].includes(parseVaultDuration(field, value))) continue;
          throw new PkiError(
            'vault.invalid_parameter',
            `${field} of auth/${type}/ is ${ttls[field]} here and cannot be tuned: ` +
              (type === 'token'
                ? 'an API token keeps the expiry it was created with'
                : `a login's token lives its role's token_ttl, up to its token_max_ttl (auth/${type}/role/<name>)`),
          );
        }
        if (field === 'force_no_cache' && (value === false || value === 'false')) continue;
        if (field === 'token_type' && type === 'token') {
          throw new PkiError(
            'vault.invalid_parameter',
            "'token_type' cannot be set for 'token' or 'ns_token' auth mounts",
          );
        }
        throw new PkiError(
          'vault.invalid_parameter',
          `${field} is not tunable here: of auth/${type}/ only description is (default_lease_ttl, max_lease_ttl and ` +
            'force_no_cache as they are read)',
        );
      }
      if (params.description === undefined) return;
      const description = parseVaultString('description', params.description);
      await store.commit({
        setSettings: { [METHOD_DESCRIPTION + type]: description },
        audit: [auditEvent(clock, actor, 'vault.auth_tuned', `auth/${type}/`, { description })],
      });
    },

    /**
     * `POST sys/auth/<path>` (`vault auth enable [-path=P] <type>`; `token:manage`, OpenBao's sudo path): approle and
     * kubernetes at their default paths are enabled already — accepted, nothing changes (OpenBao answers a second
     * enable 409 `path is already in use at <path>`; here the methods exist from the start, so the first line of an
     * AppRole guide passes). Another type, or a method at another path: 400, nothing changed.
     */
    async enableMethod(path: string, params: Record<string, unknown>, actor: Actor): Promise<void> {
      authorize(actor, 'token:manage');
      const p = authPath(path);
      const type = parseVaultString('type', params.type);
      if (!type) throw new PkiError('vault.invalid_parameter', 'backend type must be specified as a string');
      if (type === 'token')
        throw new PkiError('vault.invalid_parameter', 'token credential backend cannot be instantiated');
      if (!isAuthMethod(type)) {
        throw new PkiError(
          'vault.invalid_parameter',
          `auth method "${type}" is not supported here: PKI Manager answers approle and kubernetes (at auth/approle/ ` +
            'and auth/kubernetes/, always enabled)',
        );
      }
      if (p !== `${type}/`) {
        throw new PkiError(
          'vault.invalid_parameter',
          `the ${type} auth method is at ${type}/ only (always enabled there): it cannot be enabled at ${p}`,
        );
      }
    },

    /** `DELETE sys/auth/<path>` (`vault auth disable`): the methods cannot be disabled (400); another path 204 */
    async disableMethod(path: string, actor: Actor): Promise<void> {
      authorize(actor, 'token:manage');
      const p = authPath(path);
      if (isAuthMethod(p.slice(0, -1))) {
        throw new PkiError(
          'vault.invalid_parameter',
          `the auth method at ${p} cannot be disabled here: it is always enabled (delete its roles to end its logins)`,
        );
      }
    },

    async writeKubernetesConfig(params: Record<string, unknown>, actor: Actor) {
      authorize(actor, 'token:manage');
      let jwks: JSONWebKeySet | null = null;
      if (params.jwks !== undefined && params.jwks !== '' && params.jwks !== null) {
        const doc: unknown = typeof params.jwks === 'string' ? JSON.parse(params.jwks) : params.jwks;
        if (!doc || !Array.isArray((doc as JSONWebKeySet).keys)) {
          throw new PkiError('vault.invalid_parameter', 'jwks must be a JWKS document {"keys":[…]}');
        }
        jwks = doc as JSONWebKeySet;
      }
      const pemKeys = parseVaultList('pem_keys', params.pem_keys);
      for (const pem of pemKeys) {
        try {
          createPublicKey(pem);
        } catch {
          throw new PkiError(
            'vault.invalid_parameter',
            'pem_keys: every entry must be a PEM public key or certificate',
          );
        }
      }
      if (!jwks && pemKeys.length === 0) {
        throw new PkiError(
          'vault.invalid_parameter',
          'PKI Manager verifies service-account JWTs offline: give pem_keys and/or jwks',
        );
      }
      const cfg: KubernetesConfig = {
        kubernetes_host: parseVaultString('kubernetes_host', params.kubernetes_host),
        pem_keys: pemKeys,
        jwks,
        issuer: parseVaultString('issuer', params.issuer),
        disable_iss_validation:
          params.disable_iss_validation === undefined
            ? true
            : (coerceVaultField('bool', 'disable_iss_validation', params.disable_iss_validation) as boolean),
      };
      await write(K8S_CONFIG, cfg, actor, 'vault.auth_configured', 'auth/kubernetes/config', {
        pemKeys: pemKeys.length,
        jwksKeys: jwks?.keys.length ?? 0,
        issuer: cfg.issuer,
      });
    },

    async readKubernetesConfig(actor: Actor) {
      authorize(actor, 'token:manage');
      const cfg = await readJson<KubernetesConfig>(K8S_CONFIG);
      if (!cfg) return undefined;
      return { ...cfg, jwks: cfg.jwks ? JSON.stringify(cfg.jwks) : '' };
    },

    async writeAuthRole(method: 'kubernetes' | 'approle', name: string, params: Record<string, unknown>, actor: Actor) {
      authorize(actor, 'token:manage');
      if (!AUTH_ROLE_NAME_RE.test(name)) throw new PkiError('vault.invalid_parameter', `invalid role name "${name}"`);
      const grant = grantFromParams(params);
      if (method === 'kubernetes') {
        const role: KubernetesRole = {
          ...grant,
          bound_service_account_names: parseVaultList(
            'bound_service_account_names',
            params.bound_service_account_names,
          ),
          bound_service_account_namespaces: parseVaultList(
            'bound_service_account_namespaces',
            params.bound_service_account_namespaces,
          ),
          audience: parseVaultString('audience', params.audience),
        };
        if (!role.bound_service_account_names.length || !role.bound_service_account_namespaces.length) {
          throw new PkiError(
            'vault.invalid_parameter',
            '"bound_service_account_names" and "bound_service_account_namespaces" can not be empty',
          );
        }
        await write(K8S_ROLE + name, role, actor, 'vault.auth_role_written', `auth/kubernetes/role/${name}`, {
          ...grantResponse(grant),
          names: role.bound_service_account_names,
          namespaces: role.bound_service_account_namespaces,
        });
        return;
      }
      const existing = await readJson<AppRole>(APPROLE_ROLE + name);
      const role: AppRole = {
        ...grant,
        role_id: existing?.role_id ?? randomUUID(),
        secret_id_ttl: parseVaultDuration('secret_id_ttl', params.secret_id_ttl),
        bind_secret_id: true,
        secret_ids: existing?.secret_ids ?? [],
      };
      await write(
        APPROLE_ROLE + name,
        role,
        actor,
        'vault.auth_role_written',
        `auth/approle/role/${name}`,
        grantResponse(grant),
      );
    },

    async readAuthRole(method: 'kubernetes' | 'approle', name: string, actor: Actor) {
      authorize(actor, 'token:manage');
      if (method === 'kubernetes') {
        const r = await readJson<KubernetesRole>(K8S_ROLE + name);
        if (!r) return undefined;
        return {
          ...grantResponse(r),
          bound_service_account_names: r.bound_service_account_names,
          bound_service_account_namespaces: r.bound_service_account_namespaces,
          audience: r.audience,
        };
      }
      const r = await readJson<AppRole>(APPROLE_ROLE + name);
      if (!r) return undefined;
      return { ...grantResponse(r), secret_id_ttl: r.secret_id_ttl, bind_secret_id: r.bind_secret_id };
    },

    async deleteAuthRole(method: 'kubernetes' | 'approle', name: string, actor: Actor) {
      authorize(actor, 'token:manage');
      const key = (method === 'kubernetes' ? K8S_ROLE : APPROLE_ROLE) + name;
      if (!(await store.settings.get(key))) return;
      await store.commit({
        deleteSettings: [key],
        audit: [auditEvent(clock, actor, 'vault.auth_role_deleted', `auth/${method}/role/${name}`)],
      });
    },

    async listAuthRoles(method: 'kubernetes' | 'approle', actor: Actor): Promise<string[]> {
      authorize(actor, 'token:manage');
      const prefix = method === 'kubernetes' ? K8S_ROLE : APPROLE_ROLE;
      return (await store.settings.listByPrefix(prefix)).map((r) => r.key.slice(prefix.length));
    },

    async approleRoleId(name: string, actor: Actor): Promise<string | undefined> {
      authorize(actor, 'token:manage');
      return (await readJson<AppRole>(APPROLE_ROLE + name))?.role_id;
    },

    /** a new secret_id (shown once; only its SHA-256 is stored) */
    async approleSecretId(name: string, actor: Actor) {
      authorize(actor, 'token:manage');
      const role = await readJson<AppRole>(APPROLE_ROLE + name);
      if (!role) throw new PkiError('vault.role_not_found', `role "${name}" does not exist`);
      const secretId = randomUUID();
      const accessor = randomUUID();
      const now = clock.now();
      const expiresAt = role.secret_id_ttl ? now + role.secret_id_ttl * 1000 : null;
      role.secret_ids = [
        ...role.secret_ids.filter((s) => s.expiresAt === null || s.expiresAt > now),
        { hash: sha256(secretId), accessor, createdAt: now, expiresAt },
      ];
      await write(APPROLE_ROLE + name, role, actor, 'vault.secret_id_created', `auth/approle/role/${name}`, {
        accessor,
      });
      return {
        secret_id: secretId,
        secret_id_accessor: accessor,
        secret_id_ttl: role.secret_id_ttl,
        secret_id_num_uses: 0,
      };
    },

    async kubernetesLogin(params: Record<string, unknown>): Promise<VaultAuthResponse> {
      const roleName = parseVaultString('role', params.role);
      const jwt = parseVaultString('jwt', params.jwt);
      if (!roleName) throw new PkiError('vault.invalid_parameter', 'missing role');
      if (!jwt) throw new PkiError('vault.invalid_parameter', 'missing jwt');
      const role = await readJson<KubernetesRole>(K8S_ROLE + roleName);
      if (!role) throw new PkiError('vault.invalid_parameter', `invalid role name "${roleName}"`);
      const cfg = await readJson<KubernetesConfig>(K8S_CONFIG);
      if (!cfg) throw new PkiError('vault.invalid_parameter', 'could not load backend configuration');
      let sa: ReturnType<typeof serviceAccountOf>;
      try {
        sa = serviceAccountOf(await verifyServiceAccountJwt(jwt, cfg, role.audience));
      } catch (e) {
        await loginFailed('kubernetes', roleName, e instanceof PkiError ? 'invalid_jwt' : 'invalid_jwt_format');
        throw denied();
      }
      const nameOk = role.bound_service_account_names.some((g) => vaultGlob(g, sa.name));
      const nsOk = role.bound_service_account_namespaces.some((g) => vaultGlob(g, sa.namespace));
      if (!nameOk || !nsOk) {
        await loginFailed('kubernetes', roleName, 'service_account_not_bound');
        throw denied();
      }
      return mint(role, 'kubernetes', roleName, `${sa.namespace}/${sa.name}`, {
        role: roleName,
        service_account_name: sa.name,
        service_account_namespace: sa.namespace,
        service_account_secret_name: sa.secret,
        service_account_uid: sa.uid,
      });
    },

    async approleLogin(params: Record<string, unknown>): Promise<VaultAuthResponse> {
      const roleId = parseVaultString('role_id', params.role_id);
      const secretId = parseVaultString('secret_id', params.secret_id);
      if (!roleId) throw new PkiError('vault.invalid_parameter', 'missing role_id');
      const now = clock.now();
      for (const { key, value } of await store.settings.listByPrefix(APPROLE_ROLE)) {
        const role = JSON.parse(value) as AppRole;
        if (role.role_id !== roleId) continue;
        const name = key.slice(APPROLE_ROLE.length);
        const hash = sha256(secretId);
        const match = role.secret_ids.find(
          (s) => safeEqualHex(s.hash, hash) && (s.expiresAt === null || s.expiresAt > now),
        );
        if (!secretId || !match) break;
        return mint(role, 'approle', name, name, { role_name: name });
      }
      await loginFailed('approle', roleId, 'invalid_credentials');
      throw new PkiError('vault.invalid_parameter', 'invalid role or secret ID');
    },

    /** auth/token/lookup-self: the token's own facts, or undefined when it is not a valid token */
    async lookupSelf(token: string) {
      const actor = await auth.authenticateToken(token);
      if (!actor) return undefined;
      const row = await store.tokens.findById(actor.id);
      if (!row) return undefined;
      const now = clock.now();
      const vaultLogin = row.name.startsWith('vault ');
      const path = vaultLogin ? `auth/${row.name.slice(6).split('/')[0]}/login` : 'auth/token/create';
      return {
        accessor: row.id,
        creation_time: Math.floor(row.createdAt / 1000),
        creation_ttl: row.expiresAt ? Math.round((row.expiresAt - row.createdAt) / 1000) : 0,
        display_name: row.name,
        entity_id: '',
        expire_time: row.expiresAt ? new Date(row.expiresAt).toISOString() : null,
        explicit_max_ttl: 0,
        id: token,
        issue_time: new Date(row.createdAt).toISOString(),
        meta: { pkim_role: row.role, pkim_scopes: row.scopes.join(',') },
        num_uses: 0,
        orphan: true,
        path,
        policies: tokenPolicies(row.role),
        renewable: false,
        ttl: row.expiresAt ? Math.max(0, Math.floor((row.expiresAt - now) / 1000)) : 0,
        type: 'service',
      };
    },

    /** auth/token/revoke-self */
    async revokeSelf(token: string): Promise<boolean> {
      const actor = await auth.authenticateToken(token);
      if (!actor) return false;
      await auth.revokeToken(actor.id, { ...actor, role: 'admin', scopes: undefined });
      return true;
    },
  };
}

export type VaultAuthService = ReturnType<typeof createVaultAuthService>;
