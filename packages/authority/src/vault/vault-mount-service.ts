import { randomUUID } from 'node:crypto';
import { PkiError, type Clock, type KeyType } from '@pkim/shared';
import type { CaUrlsJson, Store } from '@pkim/store';
import { authorize } from '../permissions';
import type { Actor } from '../types';
import { auditEvent } from '../audit-service';
import { roleFromParams, roleToResponse, VAULT_ROLE_NAME_RE, type VaultRole } from './vault-role';
import { CRL_VALIDITY_KEY, OCSP_VALIDITY_KEY } from '../revocation-timings';
import { AUTO_TIDY_KEY } from './vault-auto-tidy';
import { VAULT_KEY_PREFIX } from './vault-keys';
import { TIDY_LAST_KEY } from './vault-pki-service';
import { checkSignatureBits, coerceVaultField, formatShortDuration, parseVaultDuration } from './vault-params';

/** A PKI mount: a Vault path (`pki`, `pki/prod`) bound to one CA of PKI Manager. */
export interface VaultMount {
  path: string;
  /**
   * the CA the mount is bound to; `''` while it has none (`sys/mounts/<path>` without `options.ca`, as
   * `vault secrets enable pki`): `root/generate/internal` or `intermediate/generate/internal` binds it (`bindCa`)
   */
  caId: string;
  description: string;
  uuid: string;
  accessor: string;
  createdAt: number;
  /** seconds: default TTL of roles without `ttl` (Vault's mount default lease TTL, 768h) */
  defaultLeaseTtl: number;
  /** seconds: cap for roles without `max_ttl` (Vault default 768h) */
  maxLeaseTtl: number;
  urls: VaultUrlsConfig;
  crl: VaultCrlConfig;
  /**
   * OpenBao's default key (`config/keys`): the first key the mount had (a key made by `keys/generate` on a mount
   * without one, or its CA's key, kept when its issuer is deleted), or the one `config/keys` set. Unset: the CA's key
   * when the mount has a CA, else none (older mounts, a default key deleted)
   */
  defaultKeyId?: string;
  /**
   * roots made by `root/rotate` on this mount while it had its CA (OpenBao's issuers that are not the default), and the
   * CAs it was bound to before a `config/issuers` write made one of them its issuer (`rebindCa`): what that write takes
   */
  rotatedCaIds?: string[];
}

export interface VaultUrlsConfig {
  issuing_certificates: string[];
  crl_distribution_points: string[];
  ocsp_servers: string[];
  enable_templating: boolean;
}

export interface VaultCrlConfig {
  expiry: number;
  disable: boolean;
  ocsp_disable: boolean;
  ocsp_expiry: number;
  auto_rebuild: boolean;
  auto_rebuild_grace_period: number;
  enable_delta: boolean;
  delta_rebuild_interval: number;
}

export const DEFAULT_LEASE_TTL = 768 * 3600;

const MOUNT_PATH_RE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
/** Vault reserves these first path segments. */
const RESERVED = new Set(['sys', 'auth', 'identity', 'cubbyhole']);

const MOUNT_KEY = 'vault.mount.';
const CLUSTER_KEY = 'vault.cluster_id';
const ROLE_KEY = 'vault.role.';
const roleKey = (mount: string, name: string) => `${ROLE_KEY}${mount}|${name}`;

const URL_FIELDS = { issuing_certificates: 'list', crl_distribution_points: 'list', ocsp_servers: 'list' } as const;
const CRL_DURATIONS = ['expiry', 'ocsp_expiry', 'auto_rebuild_grace_period', 'delta_rebuild_interval'] as const;
const CRL_BOOLS = ['disable', 'ocsp_disable', 'auto_rebuild', 'enable_delta'] as const;

/** Vault's view of a CA's URLs; a mount written by the first version may still hold its own copy */
function urlsOfMountCa(m: VaultMount, caUrls: CaUrlsJson | null): VaultUrlsConfig {
  if (!caUrls) return { ...m.urls };
  return {
    issuing_certificates: [...caUrls.caIssuersUrls],
    crl_distribution_points: [...caUrls.crlDistributionPoints],
    ocsp_servers: [...caUrls.ocspUrls],
    enable_templating: false,
  };
}

/**
 * Vault's URLs as a CA's URL setting; `null` when none is set (Vault semantics: with nothing configured, the server's
 * own relying-party URLs, PKIM_PUBLIC_URL, apply)
 */
export function caUrlsOf(urls: VaultUrlsConfig): CaUrlsJson | null {
  if (!urls.crl_distribution_points.length && !urls.ocsp_servers.length && !urls.issuing_certificates.length) {
    return null;
  }
  return {
    crlDistributionPoints: [...urls.crl_distribution_points],
    ocspUrls: [...urls.ocsp_servers],
    caIssuersUrls: [...urls.issuing_certificates],
  };
}

function defaultUrls(): VaultUrlsConfig {
  return { issuing_certificates: [], crl_distribution_points: [], ocsp_servers: [], enable_templating: false };
}

function defaultCrl(): VaultCrlConfig {
  return {
    expiry: 72 * 3600,
    disable: false,
    ocsp_disable: false,
    ocsp_expiry: 12 * 3600,
    auto_rebuild: false,
    auto_rebuild_grace_period: 12 * 3600,
    enable_delta: false,
    delta_rebuild_interval: 15 * 60,
  };
}

/** the answer to a CA generation on a mount that already has its one issuer (or a pending CA) */
export function mountHasIssuer(m: VaultMount): PkiError {
  return new PkiError(
    'vault.mount_has_issuer',
    `mount ${m.path} already has its issuer, CA ${m.caId}: a PKI Manager mount has one issuer — enable another mount ` +
      'for a new CA (sys/mounts), or unbind this one first',
  );
}

/** config writes apply to the mount's CA: refused (400) while the mount has none, with what to do */
function requireBound(m: VaultMount): VaultMount {
  if (!m.caId) {
    throw new PkiError(
      'vault.invalid_parameter',
      `mount ${m.path} has no issuer yet: generate one first (root/generate/internal or ` +
        'intermediate/generate/internal + intermediate/set-signed)',
    );
  }
  return m;
}

export function normalizeMountPath(path: string): string {
  return path.trim().replace(/^\/+|\/+$/g, '');
}

export interface VaultMountServiceDeps {
  store: Store;
  clock: Clock;
  onCrlConfigured?: (caId: string) => void;
}

/** parsed mount and role documents kept per process (one per mount and role in use) */
const MAX_PARSED = 1_000;
/**
 * how long the request path reuses the mounts and roles it read while nothing says they changed, ms of clock time:
 * on SQLite Store.otherCommits moves with any other connection's commit, so another process's write applies at the
 * next request anyway; on PostgreSQL it moves only with the changes instances announce (not settings), so another
 * instance's mount or role write applies within this time — as a token row's without a signal (auth-service.ts)
 */
export const MOUNT_RECHECK_MS = 1000;

function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}

/** Mounts, roles and per-mount configuration, stored as small JSON documents in the settings table. */
export function createVaultMountService(deps: VaultMountServiceDeps) {
  const { clock, store } = deps;
  /**
   * every write of a mount or role is a commit of this service (never `store.commit` directly): it ends what the
   * request path keeps (`requestView`), so one made here applies at the next request of this process
   */
  async function commit(unit: Parameters<Store['commit']>[0]): ReturnType<Store['commit']> {
    try {
      return await store.commit(unit);
    } finally {
      view = undefined;
      commits++;
    }
  }

  /**
   * The mounts (`findMount`, every Vault request) and roles (`getRole`, every issue/sign) as the request path last
   * read them, kept while nothing may have changed them: no commit of this service since (`commits`: a read begun
   * before one is not kept), the same Store.otherCommits (SQLite: no other connection committed; the token check
   * reads it per request already), and at most MOUNT_RECHECK_MS of clock time. Issue #12: the mounts' rows were
   * read and compared per Vault request (0.6–0.9 % of the main thread, docs/benchmarks-record.md session 23).
   */
  let view:
    | { others: number | undefined; at: number; mounts?: readonly VaultMount[]; roles: Map<string, VaultRole | null> }
    | undefined;
  let commits = 0;
  /**
   * the view each mount object was last found in by `findMount`: `getRole` of the same request reuses it while it is
   * still the current one and young enough, instead of reading Store.otherCommits a second time (that view was
   * checked after the request arrived; issue #12, docs/benchmarks-record.md session 24 "HTTP sign routes")
   */
  const foundIn = new WeakMap<VaultMount, NonNullable<typeof view>>();
  function requestView() {
    const others = deps.store.otherCommits; // before any read: a commit after it makes the next view stale
    const now = clock.now();
    if (view && view.others === others && now >= view.at && now - view.at < MOUNT_RECHECK_MS) return view;
    view = { others, at: now, roles: new Map() };
    return view;
  }

  /**
   * The parsed mount and role documents the request path reads (`findMount` on every Vault request, `getRole` on
   * every issue/sign) when `requestView` reads them again, reused while the stored text is the same: only `JSON.parse`
   * and its objects are saved. Frozen: they are shared between requests (the write paths parse their own copy).
   */
  const parsed = new Map<string, { raw: string; value: unknown }>();
  function parseStored(key: string, raw: string): unknown {
    const hit = parsed.get(key);
    if (hit?.raw === raw) return hit.value;
    const value = deepFreeze(JSON.parse(raw) as unknown);
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(key, { raw, value });
    return value;
  }

  /** every mount (frozen objects) */
  async function listMounts(): Promise<readonly VaultMount[]> {
    return (await store.settings.listByPrefix(MOUNT_KEY)).map((r) => parseStored(r.key, r.value) as VaultMount);
  }

  async function getMount(path: string): Promise<VaultMount | undefined> {
    const raw = await store.settings.get(MOUNT_KEY + normalizeMountPath(path));
    return raw ? (JSON.parse(raw) as VaultMount) : undefined;
  }

  async function requireMount(path: string): Promise<VaultMount> {
    const m = await getMount(path);
    if (!m) throw new PkiError('vault.mount_not_found', `no PKI mount at '${normalizeMountPath(path)}'`);
    return m;
  }

  /**
   * the mount as stored now when it may be bound to a new CA: it has none, or the CA it names was deleted (`pkim ca
   * delete`: the mount is left naming a CA that is gone, an OpenBao mount whose issuer was deleted) — else refused
   * with `vault.mount_has_issuer`
   */
  async function requireUnbound(path: string): Promise<VaultMount> {
    const m = await requireMount(path);
    if (m.caId && (await store.cas.findById(m.caId))) throw mountHasIssuer(m);
    return m;
  }

  async function resolveCa(ref: string): Promise<{ id: string; name: string }> {
    const ca = (await store.cas.findById(ref)) ?? (await store.cas.findByName(ref));
    if (!ca) throw new PkiError('ca.not_found', `no CA with id or name '${ref}'`);
    return ca;
  }

  /**
   * a role's `signature_bits` the mount's CA key cannot honour (every key signs with its key type's hash): refused
   * (400) at the write, nothing stored, while the mount has a CA (pending or active); a mount without one (or whose CA
   * was deleted) keeps the role, and the CA it gets names it in its generation's warnings (`rolesRefusedBy`)
   */
  async function checkRoleForCa(m: VaultMount, role: VaultRole): Promise<void> {
    if (!role.signature_bits || !m.caId) return;
    const ca = await store.cas.findById(m.caId);
    if (ca) checkSignatureBits(role.signature_bits, ca.keyType, "the issuer's");
  }

  async function writeRole(mountPath: string, name: string, params: Record<string, unknown>, actor: Actor) {
    authorize(actor, 'ca:write');
    const m = await requireMount(mountPath);
    if (!VAULT_ROLE_NAME_RE.test(name)) throw new PkiError('vault.invalid_parameter', `invalid role name "${name}"`);
    const role = roleFromParams(params);
    await checkRoleForCa(m, role);
    await commit({
      setSettings: { [roleKey(m.path, name)]: JSON.stringify(role) },
      audit: [auditEvent(clock, actor, 'vault.role_written', `${m.path}/roles/${name}`, { role })],
    });
    return roleToResponse(role);
  }

  let cluster: string | undefined;

  return {
    listMounts,
    getMount,
    requireMount,
    requireUnbound,

    /** a stable cluster id for sys/health, created once per database */
    async clusterId(): Promise<string> {
      if (cluster) return cluster;
      cluster = await store.settings.get(CLUSTER_KEY);
      if (!cluster) {
        const id = randomUUID();
        await commit({ setSettings: { [CLUSTER_KEY]: id } });
        cluster = (await store.settings.get(CLUSTER_KEY)) ?? id;
      }
      return cluster;
    },

    /** longest mount path that prefixes `requestPath` (a path below /v1/, without leading slash) */
    async findMount(requestPath: string): Promise<{ mount: VaultMount; rest: string } | undefined> {
      const p = normalizeMountPath(requestPath);
      const v = requestView();
      let mounts = v.mounts;
      if (!mounts) {
        const before = commits;
        mounts = await listMounts();
        if (before === commits && view === v) v.mounts = mounts;
      }
      let best: VaultMount | undefined;
      for (const m of mounts) {
        if ((p === m.path || p.startsWith(`${m.path}/`)) && (!best || m.path.length > best.path.length)) best = m;
      }
      if (!best) return undefined;
      if (v.mounts === mounts) foundIn.set(best, v);
      return { mount: best, rest: p.slice(best.path.length + 1) };
    },

    /** a new mount bound to `ca`, or without a CA (no `ca`: bound later by a root/intermediate generation) */
    async mount(
      input: { path: string; ca?: string; description?: string; defaultLeaseTtl?: unknown; maxLeaseTtl?: unknown },
      actor: Actor,
    ): Promise<VaultMount> {
      authorize(actor, 'ca:write');
      const path = normalizeMountPath(input.path);
      if (!MOUNT_PATH_RE.test(path) || RESERVED.has(path.split('/')[0] ?? '')) {
        throw new PkiError('vault.invalid_parameter', `invalid mount path '${input.path}'`);
      }
      const existing = await listMounts();
      const clash = existing.find(
        (m) => m.path === path || m.path.startsWith(`${path}/`) || path.startsWith(`${m.path}/`),
      );
      if (clash) throw new PkiError('vault.mount_exists', `path is already in use at ${clash.path}/`);
      const ca = input.ca ? await resolveCa(input.ca) : null;
      const defaultLeaseTtl = parseVaultDuration('default_lease_ttl', input.defaultLeaseTtl) || DEFAULT_LEASE_TTL;
      const maxLeaseTtl = parseVaultDuration('max_lease_ttl', input.maxLeaseTtl) || DEFAULT_LEASE_TTL;
      const mount: VaultMount = {
        path,
        caId: ca?.id ?? '',
        description: input.description ?? '',
        uuid: randomUUID(),
        accessor: `pki_${randomUUID().slice(0, 8)}`,
        createdAt: clock.now(),
        defaultLeaseTtl,
        maxLeaseTtl: Math.max(maxLeaseTtl, defaultLeaseTtl),
        urls: defaultUrls(),
        crl: defaultCrl(),
      };
      await commit({
        setSettings: { [MOUNT_KEY + path]: JSON.stringify(mount) },
        audit: [
          auditEvent(clock, actor, 'vault.mount_created', path, { caId: ca?.id ?? null, caName: ca?.name ?? null }),
        ],
      });
      return mount;
    },

    /**
     * binds a mount that has no CA yet (or whose CA was deleted) to `caId` (the CA a `root/generate` or
     * `intermediate/generate` of the mount just created), audited `vault.mount_bound`; a mount bound meanwhile
     * (another request, another process) is refused with `vault.mount_has_issuer` and left as it is
     */
    async bindCa(path: string, caId: string, actor: Actor): Promise<VaultMount> {
      authorize(actor, 'ca:write');
      const m = await requireUnbound(path);
      const deletedCaId = m.caId || undefined;
      m.caId = caId;
      // a `config/urls` written before the mount had its CA (what some Terraform does first) becomes the CA's URL
      // setting now, in the same commit, as a write on a bound mount sets it; the mount's copy is emptied
      const pending = caUrlsOf(m.urls);
      m.urls = defaultUrls();
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        ...(pending && { updateCa: [{ id: caId, patch: { urls: pending, updatedAt: clock.now() } }] }),
        audit: [
          auditEvent(clock, actor, 'vault.mount_bound', m.path, {
            caId,
            ...(deletedCaId && { deletedCaId }),
            ...(pending && { urls: pending }),
          }),
        ],
      });
      return m;
    },

    /**
     * the warnings of a CA generation that bound the mount to a CA of `keyType`: one per role written before (on the
     * mount without a CA) whose `signature_bits` that key cannot honour — kept, and refused at issue/sign until
     * rewritten (a role write on the bound mount refuses it at once)
     */
    async rolesRefusedBy(path: string, keyType: KeyType): Promise<string[]> {
      const prefix = `${ROLE_KEY}${normalizeMountPath(path)}|`;
      const out: string[] = [];
      for (const r of await store.settings.listByPrefix(prefix)) {
        const role = JSON.parse(r.value) as VaultRole;
        try {
          if (role.signature_bits) checkSignatureBits(role.signature_bits, keyType, "the new issuer's");
        } catch (e) {
          const name = r.key.slice(prefix.length);
          out.push(
            `role ${name}: ${(e as Error).message}; issue and sign through it are refused until it is rewritten`,
          );
        }
      }
      return out;
    },

    /**
     * the mount loses its CA (`DELETE issuer/:ref`, `DELETE root`, after `cas.delete` deleted it): from now on it is a
     * mount without a CA (`(no CA yet)`; a generation binds it again), its roles and URLs kept; audited
     * `vault.mount_unbound`. Nothing when the mount names another CA by now (bound again meanwhile).
     */
    async unbindCa(path: string, caId: string, actor: Actor): Promise<void> {
      authorize(actor, 'ca:write');
      const m = await requireMount(path);
      if (!caId || m.caId !== caId) return;
      m.caId = '';
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        audit: [auditEvent(clock, actor, 'vault.mount_unbound', m.path, { caId })],
      });
    },

    /**
     * `config/issuers` naming a root made by `root/rotate` on this mount (`rotatedCaIds`): the mount is bound to it
     * and the CA it leaves joins `rotatedCaIds` (a later write can name it again), audited `vault.mount_bound` with
     * `previousCaId`; refused (`vault.mount_has_issuer`) when the mount is not bound to `fromCaId` any more
     */
    async rebindCa(path: string, fromCaId: string, toCaId: string, actor: Actor): Promise<VaultMount> {
      authorize(actor, 'ca:write');
      const m = await requireMount(path);
      if (m.caId !== fromCaId || !(m.rotatedCaIds ?? []).includes(toCaId)) throw mountHasIssuer(m);
      m.rotatedCaIds = [...(m.rotatedCaIds ?? []).filter((id) => id !== toCaId), fromCaId];
      m.caId = toCaId;
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        audit: [auditEvent(clock, actor, 'vault.mount_bound', m.path, { caId: toCaId, previousCaId: fromCaId })],
      });
      return m;
    },

    /**
     * A change of the mount's document and of other settings in ONE commit (the keys of a mount: `vault.key.…`
     * entries with its default key, an issuer deleted with its key kept). `change` gets the mount as stored now and
     * returns the rest of the commit, or undefined to change nothing.
     */
    async updateMount(
      path: string,
      change: (m: VaultMount) =>
        | (Omit<Parameters<Store['commit']>[0], 'setSettings'> & {
            setSettings?: Record<string, string>;
          })
        | undefined,
    ): Promise<VaultMount | undefined> {
      const m = await requireMount(path);
      const unit = change(m);
      if (!unit) return undefined;
      await commit({ ...unit, setSettings: { ...unit.setSettings, [MOUNT_KEY + m.path]: JSON.stringify(m) } });
      return m;
    },

    async unmount(path: string, actor: Actor): Promise<void> {
      authorize(actor, 'ca:write');
      const m = await getMount(path);
      if (!m) return;
      const roles = await store.settings.listByPrefix(`${ROLE_KEY}${m.path}|`);
      // its keys without an issuer (keys/generate) go with it; the Vault service destroys the unused ones after
      const keys = await store.settings.listByPrefix(`${VAULT_KEY_PREFIX}${m.path}|`);
      await commit({
        deleteSettings: [
          MOUNT_KEY + m.path,
          AUTO_TIDY_KEY + m.path,
          TIDY_LAST_KEY + m.path,
          ...roles.map((r) => r.key),
          ...keys.map((r) => r.key),
        ],
        audit: [
          auditEvent(clock, actor, 'vault.mount_deleted', m.path, {
            caId: m.caId,
            roles: roles.length,
            ...(keys.length && { keys: keys.length }),
          }),
        ],
      });
    },

    async tuneMount(path: string, params: Record<string, unknown>, actor: Actor): Promise<VaultMount> {
      authorize(actor, 'ca:write');
      const m = await requireMount(path);
      if (params.default_lease_ttl !== undefined) {
        m.defaultLeaseTtl = parseVaultDuration('default_lease_ttl', params.default_lease_ttl) || DEFAULT_LEASE_TTL;
      }
      if (params.max_lease_ttl !== undefined) {
        m.maxLeaseTtl = parseVaultDuration('max_lease_ttl', params.max_lease_ttl) || DEFAULT_LEASE_TTL;
      }
      if (typeof params.description === 'string') m.description = params.description;
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        audit: [
          auditEvent(clock, actor, 'vault.mount_tuned', m.path, {
            defaultLeaseTtl: m.defaultLeaseTtl,
            maxLeaseTtl: m.maxLeaseTtl,
          }),
        ],
      });
      return m;
    },

    writeRole,

    /** a new role (the console's "create"): refused when the name is taken, where a Vault write replaces */
    async createRole(mountPath: string, name: string, params: Record<string, unknown>, actor: Actor) {
      authorize(actor, 'ca:write');
      const m = await requireMount(mountPath);
      if (await store.settings.get(roleKey(m.path, name))) {
        throw new PkiError('vault.role_exists', `role ${name} already exists on ${m.path}`);
      }
      return writeRole(m.path, name, params, actor);
    },

    /** every role of a mount with its policy (the console's role table), by name */
    async listRolesWithPolicy(mountPath: string, actor: Actor): Promise<{ name: string; role: VaultRole }[]> {
      authorize(actor, 'ca:read');
      const m = await requireMount(mountPath);
      const prefix = `${ROLE_KEY}${m.path}|`;
      return (await store.settings.listByPrefix(prefix))
        .map((r) => ({ name: r.key.slice(prefix.length), role: JSON.parse(r.value) as VaultRole }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    /** every mount with its CA's name and its number of roles (the console's mount table) */
    async listMountSummaries(actor: Actor): Promise<(VaultMount & { caName: string | null; roles: number })[]> {
      authorize(actor, 'ca:read');
      const out = [];
      for (const m of await listMounts()) {
        const ca = await store.cas.findById(m.caId);
        const roles = (await store.settings.listByPrefix(`${ROLE_KEY}${m.path}|`)).length;
        out.push({ ...m, caName: ca?.name ?? null, roles });
      }
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },

    /** PATCH: merges the given fields into the stored role */
    async patchRole(mountPath: string, name: string, params: Record<string, unknown>, actor: Actor) {
      authorize(actor, 'ca:write');
      const m = await requireMount(mountPath);
      const raw = await store.settings.get(roleKey(m.path, name));
      if (!raw) throw new PkiError('vault.role_not_found', `no role ${name} on ${m.path}`);
      const role = roleFromParams(params, JSON.parse(raw) as VaultRole);
      await checkRoleForCa(m, role);
      await commit({
        setSettings: { [roleKey(m.path, name)]: JSON.stringify(role) },
        audit: [auditEvent(clock, actor, 'vault.role_written', `${m.path}/roles/${name}`, { role })],
      });
      return roleToResponse(role);
    },

    /**
     * the stored role (no permission check: used by issue/sign, which the pipeline authorises); `found`: the mount as
     * `findMount` answered it for this request — its view is reused while no commit ended it (one Store.otherCommits
     * read per Vault request)
     */
    async getRole(mountPath: string, name: string, found?: VaultMount): Promise<VaultRole | undefined> {
      const key = roleKey(normalizeMountPath(mountPath), name);
      const seen = found && foundIn.get(found);
      const now = seen && clock.now();
      const v =
        seen && seen === view && now !== undefined && now >= seen.at && now - seen.at < MOUNT_RECHECK_MS
          ? seen
          : requestView();
      const kept = v.roles.get(key);
      if (kept !== undefined) return kept ?? undefined;
      const before = commits;
      const raw = await store.settings.get(key);
      const role = raw ? (parseStored(key, raw) as VaultRole) : undefined;
      if (before === commits && view === v && v.roles.size < MAX_PARSED) v.roles.set(key, role ?? null);
      return role;
    },

    async readRole(mountPath: string, name: string, actor: Actor) {
      authorize(actor, 'ca:read');
      const m = await requireMount(mountPath);
      const raw = await store.settings.get(roleKey(m.path, name));
      return raw ? roleToResponse(JSON.parse(raw) as VaultRole) : undefined;
    },

    async deleteRole(mountPath: string, name: string, actor: Actor): Promise<void> {
      authorize(actor, 'ca:write');
      const m = await requireMount(mountPath);
      if (!(await store.settings.get(roleKey(m.path, name)))) return;
      await commit({
        deleteSettings: [roleKey(m.path, name)],
        audit: [auditEvent(clock, actor, 'vault.role_deleted', `${m.path}/roles/${name}`)],
      });
    },

    async listRoles(mountPath: string, actor: Actor): Promise<string[]> {
      authorize(actor, 'ca:read');
      const m = await requireMount(mountPath);
      const prefix = `${ROLE_KEY}${m.path}|`;
      return (await store.settings.listByPrefix(prefix)).map((r) => r.key.slice(prefix.length)).sort();
    },

    /** the URLs of the mount's CA: one setting per CA, shared with `pkim ca set-urls` and every other channel */
    async readUrls(mountPath: string, actor: Actor): Promise<VaultUrlsConfig> {
      authorize(actor, 'ca:read');
      const m = await requireMount(mountPath);
      return urlsOfMountCa(m, (await store.cas.findById(m.caId))?.urls ?? null);
    },

    /**
     * `config/urls`: the mount CA's URL setting; on a mount without a CA (or whose CA was deleted) kept on the mount
     * and made the CA's setting when the mount gets its CA (`bindCa`)
     */
    async writeUrls(mountPath: string, params: Record<string, unknown>, actor: Actor): Promise<VaultUrlsConfig> {
      authorize(actor, 'ca:write');
      const m = await requireMount(mountPath);
      const ca = m.caId ? await store.cas.findById(m.caId) : undefined;
      const urls = urlsOfMountCa(m, ca?.urls ?? null);
      for (const [field, type] of Object.entries(URL_FIELDS)) {
        if (params[field] === undefined) continue;
        const list = coerceVaultField(type, field, params[field]) as string[];
        for (const u of list) {
          if (!/^https?:\/\/\S+$/i.test(u)) {
            throw new PkiError('vault.invalid_parameter', `invalid URL in ${field}: "${u}" (http or https)`);
          }
        }
        urls[field as keyof typeof URL_FIELDS] = list;
      }
      if (params.enable_templating !== undefined) {
        if (coerceVaultField('bool', 'enable_templating', params.enable_templating)) {
          throw new PkiError('vault.invalid_parameter', 'enable_templating is not supported by PKI Manager');
        }
      }
      if (!ca) {
        // no CA yet: kept on the mount until `bindCa`; read back from there
        m.urls = urls;
        await commit({
          setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
          audit: [auditEvent(clock, actor, 'vault.urls_configured', m.path, { ...urls, caId: null })],
        });
        return urls;
      }
      // stored with the CA (the one source of truth); the mount's own copy of the first version is emptied
      m.urls = defaultUrls();
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        updateCa: [{ id: ca.id, patch: { urls: caUrlsOf(urls), updatedAt: clock.now() } }],
        audit: [auditEvent(clock, actor, 'vault.urls_configured', m.path, { ...urls, caId: ca.id })],
      });
      return urls;
    },

    async readCrlConfig(mountPath: string, actor: Actor): Promise<VaultCrlConfig> {
      authorize(actor, 'ca:read');
      return (await requireMount(mountPath)).crl;
    },

    async writeCrlConfig(mountPath: string, params: Record<string, unknown>, actor: Actor): Promise<VaultCrlConfig> {
      authorize(actor, 'ca:write');
      const m = requireBound(await requireMount(mountPath));
      const crl = { ...defaultCrl(), ...m.crl };
      for (const f of CRL_DURATIONS) {
        if (params[f] !== undefined) crl[f] = parseVaultDuration(f, params[f]) || defaultCrl()[f];
      }
      for (const f of CRL_BOOLS)
        if (params[f] !== undefined) crl[f] = coerceVaultField('bool', f, params[f]) as boolean;
      if (crl.disable || crl.ocsp_disable || crl.enable_delta) {
        throw new PkiError(
          'vault.invalid_parameter',
          'PKI Manager always publishes a full CRL and answers OCSP: disable, ocsp_disable and enable_delta ' +
            'must be false',
        );
      }
      m.crl = crl;
      // applied to the mount's CA: its CRL nextUpdate = thisUpdate + expiry, OCSP nextUpdate = now + ocsp_expiry
      await commit({
        setSettings: {
          [MOUNT_KEY + m.path]: JSON.stringify(m),
          [CRL_VALIDITY_KEY + m.caId]: String(crl.expiry * 1000),
          [OCSP_VALIDITY_KEY + m.caId]: String(crl.ocsp_expiry * 1000),
        },
        audit: [auditEvent(clock, actor, 'vault.crl_configured', m.path, { ...crl, caId: m.caId })],
      });
      deps.onCrlConfigured?.(m.caId);
      return crl;
    },
  };
}

export type VaultMountService = ReturnType<typeof createVaultMountService>;

/** config/crl as Vault returns it: durations as Go strings ("72h"). */
export function crlConfigResponse(c: VaultCrlConfig): Record<string, unknown> {
  return {
    expiry: formatShortDuration(c.expiry),
    disable: c.disable,
    ocsp_disable: c.ocsp_disable,
    ocsp_expiry: formatShortDuration(c.ocsp_expiry),
    auto_rebuild: c.auto_rebuild,
    auto_rebuild_grace_period: formatShortDuration(c.auto_rebuild_grace_period),
    enable_delta: c.enable_delta,
    delta_rebuild_interval: formatShortDuration(c.delta_rebuild_interval),
  };
}
