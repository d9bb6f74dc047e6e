import { randomUUID } from 'node:crypto';
import { isHttpUrl, PkiError, type Clock, type KeyType } from '@pkim/shared';
import type { CaUrlsJson, Store } from '@pkim/store';
import { authorize } from '../permissions';
import type { Actor } from '../types';
import { findCaByRef } from '../ca-context';
import { auditEvent } from '../audit-service';
import { roleFromParams, roleToResponse, VAULT_ROLE_NAME_RE, type VaultRole } from './vault-role';
import { CRL_DELTA_KEY, CRL_VALIDITY_KEY, OCSP_VALIDITY_KEY } from '../revocation-timings';
import { AUTO_TIDY_KEY } from './vault-auto-tidy';
import { VAULT_KEY_PREFIX } from './vault-keys';
import { TIDY_LAST_KEY } from './vault-pki-service';
import {
  checkSignatureBits,
  coerceVaultField,
  formatShortDuration,
  parseVaultDuration,
  parseVaultString,
} from './vault-params';

/**
 * A PKI mount: a Vault path (`pki`, `pki/prod`) with its issuers — CAs of PKI Manager (Vault 1.11+ / OpenBao
 * multi-issuer) — and its default issuer (`caId`), the one `issue`/`sign`, `ca`, `crl` and `ocsp` of the mount use.
 */
export interface VaultMount {
  path: string;
  /**
   * the default issuer's CA; `''` while the mount has none: enabled without `options.ca` (as `vault secrets enable
   * pki`) until a generation or import adds its first issuer, or after its default issuer was deleted (OpenBao leaves
   * the mount without a default then; `config/issuers` names another)
   */
  caId: string;
  /**
   * every issuer of the mount (CA ids, in the order they were added; a pending CA made by `intermediate/generate`
   * until `intermediate/set-signed` gives it its certificate); the default among them. Absent on a mount written
   * before several issuers: its issuers are `caId` and `rotatedCaIds` (issuersOfMount)
   */
  issuerIds?: string[];
  /** `config/issuers` `default_follows_latest_issuer`: an issuer added becomes the default */
  followsLatest?: boolean;
  description: string;
  uuid: string;
  accessor: string;
  createdAt: number;
  /** seconds: default TTL of roles without `ttl` (Vault's mount default lease TTL, 768h) */
  defaultLeaseTtl: number;
  /** seconds: cap for roles without `max_ttl` (Vault default 768h) */
  maxLeaseTtl: number;
  /**
   * `config/urls`: with `urlsWide`, the mount-wide setting (OpenBao's global AIA URLs), copied into the URL setting of
   * every issuer's CA but those with URLs of their own (`ownUrlsIds`), and of every issuer added later. Without it
   * (mounts written before session 35): written on a mount without a CA, kept until its first CA takes them; a mount
   * of the first version may still hold its own copy (`mountUrls`)
   */
  urls: VaultUrlsConfig;
  /** `urls` is the mount-wide `config/urls` (written since session 35) */
  urlsWide?: boolean;
  /** the issuers given URLs of their own by `issuer/:ref` POST/PATCH: `config/urls` leaves their CA's setting alone */
  ownUrlsIds?: string[];
  /**
   * the own URLs of those issuers that template them (`issuer/:ref` `enable_aia_url_templating`), as written: their
   * CA's setting holds the expansion (expandUrlTemplates), made again by a `config/cluster` write
   */
  ownTemplates?: Record<string, VaultUrlsConfig>;
  crl: VaultCrlConfig;
  /**
   * OpenBao's default key (`config/keys`): the first key the mount had (a key made by `keys/generate` on a mount
   * without one, or its CA's key, kept when its issuer is deleted), or the one `config/keys` set. Unset: the CA's key
   * when the mount has a CA, else none (older mounts, a default key deleted)
   */
  defaultKeyId?: string;
  /**
   * written by session 33 (one issuer per mount): the roots `root/rotate` made beside the mount's CA. Read as issuers
   * of the mount (issuersOfMount); the next write of the mount's issuers moves them into `issuerIds`
   */
  rotatedCaIds?: string[];
  /**
   * `config/cluster` (OpenBao's address of this mount on its cluster: `path`, and `aia_path` for AIA): kept and read
   * back; the values of `{{cluster_path}}`, `{{cluster_aia_path}}` in a templated `config/urls`. Unset: both empty
   */
  cluster?: VaultClusterConfig;
}

/** `config/cluster` as OpenBao reads it: absolute URLs (scheme and host), or empty before any write */
export interface VaultClusterConfig {
  path: string;
  aia_path: string;
}

/** the mount's issuers (CA ids; some may have been deleted by `pkim ca delete`), the default first when it has one */
export function issuersOfMount(m: Pick<VaultMount, 'caId' | 'issuerIds' | 'rotatedCaIds'>): string[] {
  const ids = [m.caId, ...(m.issuerIds ?? []), ...(m.rotatedCaIds ?? [])].filter((id) => id !== '');
  return [...new Set(ids)];
}

/**
 * the issuer `caId` leaves the mount `m` (changed in place): out of its issuers and of those with URLs of their own;
 * the mount left without a default when it was the default. Returns whether it was the default.
 */
export function dropIssuer(m: VaultMount, caId: string): boolean {
  const wasDefault = m.caId === caId;
  m.issuerIds = issuersOfMount(m).filter((id) => id !== caId);
  delete m.rotatedCaIds;
  if (wasDefault) m.caId = '';
  const own = (m.ownUrlsIds ?? []).filter((id) => id !== caId);
  if (own.length) m.ownUrlsIds = own;
  else delete m.ownUrlsIds;
  setOwnTemplates(m, caId, undefined);
  return wasDefault;
}

export interface VaultUrlsConfig {
  issuing_certificates: string[];
  crl_distribution_points: string[];
  ocsp_servers: string[];
  /** where the delta CRLs are (the complete CRL's Freshest CRL while delta CRLs are on); absent in older mounts */
  delta_crl_distribution_points?: string[];
  enable_templating: boolean;
}

/** a `config/urls` as Vault reads it: every list there */
export function vaultUrlsView(u: VaultUrlsConfig): Required<VaultUrlsConfig> {
  return { ...u, delta_crl_distribution_points: u.delta_crl_distribution_points ?? [] };
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
  /** OpenBao's: `revoke` puts an expired certificate on the CRL too (false: a warning, nothing revoked) */
  allow_expired_cert_revocation: boolean;
}

export const DEFAULT_LEASE_TTL = 768 * 3600;

const MOUNT_PATH_RE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
/** Vault reserves these first path segments. */
const RESERVED = new Set(['sys', 'auth', 'identity', 'cubbyhole']);

const MOUNT_KEY = 'vault.mount.';
const CLUSTER_KEY = 'vault.cluster_id';
const ROLE_KEY = 'vault.role.';
const roleKey = (mount: string, name: string) => `${ROLE_KEY}${mount}|${name}`;

const URL_FIELDS = {
  issuing_certificates: 'list',
  crl_distribution_points: 'list',
  ocsp_servers: 'list',
  delta_crl_distribution_points: 'list',
} as const;
const CRL_DURATIONS = ['expiry', 'ocsp_expiry', 'auto_rebuild_grace_period', 'delta_rebuild_interval'] as const;
const CRL_BOOLS = ['disable', 'ocsp_disable', 'auto_rebuild', 'enable_delta', 'allow_expired_cert_revocation'] as const;

/** Vault's view of a CA's URLs; a mount written by the first version may still hold its own copy */
function urlsOfMountCa(m: VaultMount, caUrls: CaUrlsJson | null): VaultUrlsConfig {
  if (!caUrls) return vaultUrlsView(m.urls);
  return {
    issuing_certificates: [...caUrls.caIssuersUrls],
    crl_distribution_points: [...caUrls.crlDistributionPoints],
    ocsp_servers: [...caUrls.ocspUrls],
    delta_crl_distribution_points: [...(caUrls.deltaCrlDistributionPoints ?? [])],
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
    ...(urls.delta_crl_distribution_points?.length
      ? { deltaCrlDistributionPoints: [...urls.delta_crl_distribution_points] }
      : {}),
  };
}

const invalidUrls = (message: string) => new PkiError('vault.invalid_parameter', message);
/** the URL lists of a `config/urls` or an issuer's own URLs, by field */
export const pickUrlLists = (u: VaultUrlsConfig) => ({
  issuing_certificates: u.issuing_certificates,
  crl_distribution_points: u.crl_distribution_points,
  ocsp_servers: u.ocsp_servers,
  delta_crl_distribution_points: u.delta_crl_distribution_points ?? [],
});
/** a template left in a URL (OpenBao's, or a placeholder it does not know: braces are no URL's, RFC 3986) */
const isTemplated = (u: string) => /[{}]/.test(u);

/**
 * OpenBao's check of AIA URLs written without templating (`config/urls`, `issuer/:ref`): each an http(s) URL with no
 * template, else its message naming the first that is not
 */
export function checkPlainUrls(urls: Partial<Record<string, string[]>>): void {
  for (const [field, list] of Object.entries(urls)) {
    const bad = (list ?? []).find((u) => !isHttpUrl(u) || isTemplated(u));
    if (bad !== undefined)
      throw invalidUrls(`invalid URL found in Authority Information Access (AIA) parameter ${field}: ${bad}`);
  }
}

/** the issuer `caId`'s own templated URLs kept as written (`urls` templating) or dropped (changes `m` in place) */
function setOwnTemplates(m: VaultMount, caId: string, urls: VaultUrlsConfig | null | undefined): void {
  const all = Object.fromEntries(Object.entries(m.ownTemplates ?? {}).filter(([id]) => id !== caId));
  if (urls?.enable_templating) all[caId] = urls;
  if (Object.keys(all).length) m.ownTemplates = all;
  else delete m.ownTemplates;
}

/**
 * OpenBao's `toURLEntries`: with `enable_templating`, `{{cluster_path}}` and `{{cluster_aia_path}}` (the mount's
 * `config/cluster`) and `{{issuer_id}}` (the issuer's id: its CA's) replaced in every URL, each then an http(s) URL;
 * a template whose value is not there is refused with OpenBao's messages. Without templating: the URLs as they are.
 */
export function expandUrlTemplates(
  urls: VaultUrlsConfig,
  cluster: VaultClusterConfig | undefined,
  issuerId: string,
): VaultUrlsConfig {
  if (!urls.enable_templating) return urls;
  const c = { path: '', aia_path: '', ...cluster };
  const out = { ...urls };
  for (const field of Object.keys(URL_FIELDS) as (keyof typeof URL_FIELDS)[]) {
    out[field] = (urls[field] ?? []).map((u) => {
      for (const [template, value, what] of [
        ['{{cluster_path}}', c.path, 'path'],
        ['{{cluster_aia_path}}', c.aia_path, 'aia_path'],
      ] as const) {
        if (u.includes(template) && !value)
          throw invalidUrls(`unable to template AIA URLs as we lack local cluster address information (${what})`);
      }
      if (u.includes('{{issuer_id}}') && !issuerId)
        throw invalidUrls('unable to template AIA URLs as we lack an issuer_id for this operation');
      const e = u
        .replaceAll('{{cluster_path}}', c.path)
        .replaceAll('{{cluster_aia_path}}', c.aia_path)
        .replaceAll('{{issuer_id}}', issuerId);
      if (!isHttpUrl(e) || isTemplated(e)) throw invalidUrls(`error validating templated ${field}; invalid URI: ${e}`);
      return e;
    });
  }
  return out;
}

/** the mount-wide `config/urls` as the URL setting of its issuer `caId` (templates expanded for it) */
export function mountUrlsFor(m: Pick<VaultMount, 'urls' | 'cluster'>, caId: string): CaUrlsJson | null {
  return caUrlsOf(expandUrlTemplates(m.urls, m.cluster, caId));
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
    allow_expired_cert_revocation: false,
  };
}

/** a certificate for a CA that is no pending issuer of the mount (set-signed of an issuer it has already) */
export function mountHasIssuer(m: VaultMount, caId = m.caId): PkiError {
  return new PkiError(
    'vault.mount_has_issuer',
    `mount ${m.path} already has issuer ${caId} with another certificate: generate a new intermediate ` +
      '(intermediate/generate/internal) for a new issuer',
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
   * the mount's default issuer: none, gone (its CA deleted by `pkim ca delete`), pending (a CA awaiting its certificate
   * from `intermediate/set-signed`) or active (with its certificate)
   */
  async function defaultState(m: VaultMount): Promise<'none' | 'gone' | 'pending' | 'active'> {
    if (!m.caId) return 'none';
    const ca = await store.cas.findById(m.caId);
    return !ca ? 'gone' : ca.certificatePem ? 'active' : 'pending';
  }

  async function resolveCa(ref: string, actor?: Actor): Promise<{ id: string; name: string }> {
    return findCaByRef(store, ref, actor);
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
    defaultState,

    /**
     * the mount as the request found it, with `caId` the issuer `caId` (a request through `issuer/:ref/…` or a role's
     * `issuer_ref`): the same view for `getRole` as the mount found (no second Store.otherCommits read)
     */
    issuerView: (found: VaultMount, caId: string): VaultMount => {
      if (found.caId === caId) return found;
      const v = { ...found, caId };
      const seen = foundIn.get(found);
      if (seen) foundIn.set(v, seen);
      return v;
    },

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
      const ca = input.ca ? await resolveCa(input.ca, actor) : null;
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
     * a new issuer of the mount (a CA a `root/generate`, `root/rotate`, `set-signed` or bundle import of the mount just
     * made or gave a certificate): added to its issuers; the default when the mount has no default with a certificate
     * (never had one, its default was deleted, or is pending) or follows the latest issuer (`config/issuers`), as
     * OpenBao. `pending` (`intermediate/generate`'s CA, no issuer yet in OpenBao): the default only on a mount without
     * any. A mount getting a default takes the `config/urls` written on it while it had none as the CA's URL setting
     * (what some Terraform does first), in the same commit. Audited `vault.mount_bound` (the new default) or
     * `vault.issuer_added`.
     */
    async addIssuer(
      path: string,
      caId: string,
      actor: Actor,
      opts: { pending?: boolean } = {},
    ): Promise<{ mount: VaultMount; isDefault: boolean }> {
      authorize(actor, 'ca:write');
      const m = await requireMount(path);
      const state = await defaultState(m);
      const deletedCaId = state === 'gone' ? m.caId : undefined;
      m.issuerIds = [...issuersOfMount(m).filter((id) => id !== deletedCaId && id !== caId), caId];
      delete m.rotatedCaIds;
      const isDefault = opts.pending
        ? state === 'none' || state === 'gone'
        : state !== 'active' || m.followsLatest === true;
      const previousCaId = m.caId && !deletedCaId && isDefault && m.caId !== caId ? m.caId : undefined;
      // the mount-wide config/urls (or, on a mount of before session 35, those written before its first CA): the new
      // issuer's URL setting, in the same commit
      const pending = m.urlsWide || state !== 'active' ? mountUrlsFor(m, caId) : null;
      if (pending) m.urlsWide = true;
      // a config/crl written before (its issuers carry its settings): the new issuer's too, in the same commit
      let crlWritten = false;
      for (const id of issuersOfMount(m))
        if (id !== caId && (await store.settings.get(CRL_VALIDITY_KEY + id))) crlWritten = true;
      if (isDefault) m.caId = caId;
      await commit({
        setSettings: {
          [MOUNT_KEY + m.path]: JSON.stringify(m),
          ...(crlWritten ? crlTimings({ ...defaultCrl(), ...m.crl }, [caId]) : {}),
        },
        ...(pending && { updateCa: [{ id: caId, patch: { urls: pending, updatedAt: clock.now() } }] }),
        audit: [
          auditEvent(clock, actor, isDefault ? 'vault.mount_bound' : 'vault.issuer_added', m.path, {
            caId,
            ...(deletedCaId && { deletedCaId }),
            ...(previousCaId && { previousCaId }),
            ...(pending && { urls: pending }),
          }),
        ],
      });
      if (crlWritten) deps.onCrlConfigured?.(caId);
      return { mount: m, isDefault };
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
     * the mount loses an issuer (`DELETE issuer/:ref`, `DELETE root`, after `cas.delete` deleted its CA): removed from
     * its issuers; when it was the default the mount is left without one (OpenBao: issue/sign refused until
     * `config/issuers` names another, or the next issuer added becomes it), audited `vault.mount_unbound`, else
     * `vault.issuer_removed`. Nothing when the mount does not have it (any more).
     */
    async removeIssuer(path: string, caId: string, actor: Actor): Promise<void> {
      authorize(actor, 'ca:write');
      const m = await requireMount(path);
      if (!caId || !issuersOfMount(m).includes(caId)) return;
      const wasDefault = dropIssuer(m, caId);
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        audit: [
          auditEvent(clock, actor, wasDefault ? 'vault.mount_unbound' : 'vault.issuer_removed', m.path, { caId }),
        ],
      });
    },

    /**
     * `config/issuers`: `caId` (an issuer of the mount, resolved by the caller) becomes the default, and
     * `default_follows_latest_issuer` is set when given; audited `vault.default_issuer_set` (with `previousCaId`).
     * Refused (`vault.invalid_parameter`) when the mount does not have that issuer (any more).
     */
    async setDefaultIssuer(path: string, caId: string, followsLatest: boolean | undefined, actor: Actor) {
      authorize(actor, 'ca:write');
      const m = await requireMount(path);
      if (!issuersOfMount(m).includes(caId)) {
        throw new PkiError(
          'vault.invalid_parameter',
          `Error resolving issuer reference: unable to find PKI issuer for reference: ${caId}`,
        );
      }
      const previousCaId = m.caId;
      m.issuerIds = issuersOfMount(m);
      delete m.rotatedCaIds;
      m.caId = caId;
      if (followsLatest !== undefined) m.followsLatest = followsLatest;
      if (previousCaId === caId && followsLatest === undefined) return m;
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        audit: [
          auditEvent(clock, actor, 'vault.default_issuer_set', m.path, {
            caId,
            previousCaId,
            followsLatest: m.followsLatest === true,
          }),
        ],
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

    /**
     * `config/urls`: the mount-wide setting once written (since session 35); before, the URL setting of the mount's
     * default issuer's CA (one setting per CA, shared with `pkim ca set-urls` and every other channel)
     */
    async readUrls(mountPath: string, actor: Actor): Promise<VaultUrlsConfig> {
      authorize(actor, 'ca:read');
      const m = await requireMount(mountPath);
      if (m.urlsWide) return vaultUrlsView(m.urls);
      return urlsOfMountCa(m, (await store.cas.findById(m.caId))?.urls ?? null);
    },

    /**
     * `config/urls`, mount-wide as OpenBao's: kept on the mount (`urlsWide`) and, in the same commit, made the URL
     * setting of every issuer's CA but those with URLs of their own (`issuer/:ref`); an issuer added later takes it
     * (`addIssuer`). Fields not given keep what `config/urls` reads.
     */
    async writeUrls(mountPath: string, params: Record<string, unknown>, actor: Actor): Promise<VaultUrlsConfig> {
      authorize(actor, 'ca:write');
      const m = await requireMount(mountPath);
      const ca = m.caId ? await store.cas.findById(m.caId) : undefined;
      const urls = m.urlsWide ? { ...m.urls } : urlsOfMountCa(m, ca?.urls ?? null);
      if (params.enable_templating !== undefined) {
        urls.enable_templating = coerceVaultField('bool', 'enable_templating', params.enable_templating) as boolean;
      }
      for (const [field, type] of Object.entries(URL_FIELDS)) {
        if (params[field] === undefined) continue;
        urls[field as keyof typeof URL_FIELDS] = coerceVaultField(type, field, params[field]) as string[];
      }
      // without templating each URL as it is (OpenBao's message for a template); with it, each issuer's expansion
      // below (OpenBao checks them at issuance and warns at the write: refused here, so no leaf lacks its URLs)
      if (!urls.enable_templating) checkPlainUrls(pickUrlLists(urls));
      const own = new Set(m.ownUrlsIds ?? []);
      const caIds: string[] = [];
      for (const id of issuersOfMount(m)) if (!own.has(id) && (await store.cas.findById(id))) caIds.push(id);
      // a mount without an issuer yet: the templates checked with an issuer id (each issuer's, once it has one)
      const settings = caIds.map((id) => ({ id, urls: mountUrlsFor({ urls, cluster: m.cluster }, id) }));
      if (!caIds.length) mountUrlsFor({ urls, cluster: m.cluster }, 'ca_0');
      m.urls = urls;
      m.urlsWide = true;
      const t = clock.now();
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        updateCa: settings.map(({ id, urls: u }) => ({ id, patch: { urls: u, updatedAt: t } })),
        audit: [
          auditEvent(clock, actor, 'vault.urls_configured', m.path, {
            ...urls,
            caId: ca?.id ?? null,
            ...(caIds.length > 1 && { caIds }),
          }),
        ],
      });
      return vaultUrlsView(urls);
    },

    /**
     * `issuer/:ref` POST/PATCH of its URLs (OpenBao's per-issuer AIA URLs): `urls` the issuer's own setting, its CA's
     * from now on whatever `config/urls` says; `null` (every list empty) — it follows the mount-wide setting again.
     * One commit: the CA's setting and the mount's list of issuers with their own; audited `vault.urls_configured`.
     */
    async setIssuerUrls(path: string, caId: string, urls: VaultUrlsConfig | null, actor: Actor): Promise<VaultMount> {
      authorize(actor, 'ca:write');
      const m = await requireMount(path);
      const own = new Set(m.ownUrlsIds ?? []);
      if (urls) own.add(caId);
      else own.delete(caId);
      m.ownUrlsIds = [...own];
      if (!m.ownUrlsIds.length) delete m.ownUrlsIds;
      setOwnTemplates(m, caId, urls);
      // its own (templates expanded for it as the mount-wide ones; the issuer service checked them) or the mount's
      const setting = urls
        ? mountUrlsFor({ urls, cluster: m.cluster }, caId)
        : m.urlsWide
          ? mountUrlsFor(m, caId)
          : null;
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        updateCa: [{ id: caId, patch: { urls: setting, updatedAt: clock.now() } }],
        audit: [
          auditEvent(clock, actor, 'vault.urls_configured', m.path, {
            ...(urls ?? m.urls),
            caId,
            issuerOwn: urls !== null,
          }),
        ],
      });
      return m;
    },

    /** `config/cluster` read (`ca:read`): both empty before any write */
    async readClusterConfig(mountPath: string, actor: Actor): Promise<VaultClusterConfig> {
      authorize(actor, 'ca:read');
      return { path: '', aia_path: '', ...(await requireMount(mountPath)).cluster };
    },

    /**
     * `config/cluster` write (`ca:write`; a mount without a CA too): `path` and/or `aia_path`, each an absolute URL
     * with a scheme and a host (OpenBao's check and message; an empty one is refused too: it cannot be unset), the
     * field not given kept. Audited `vault.cluster_configured` with both.
     */
    async writeClusterConfig(
      mountPath: string,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<VaultClusterConfig> {
      authorize(actor, 'ca:write');
      const m = await requireMount(mountPath);
      const cluster: VaultClusterConfig = { path: '', aia_path: '', ...m.cluster };
      for (const field of ['path', 'aia_path'] as const) {
        if (params[field] === undefined) continue;
        const value = parseVaultString(field, params[field]);
        let url: URL | undefined;
        try {
          url = new URL(value);
        } catch {
          url = undefined;
        }
        if (!url?.protocol || !url.host)
          throw new PkiError('vault.invalid_parameter', `invalid, non-URL ${field} given to cluster: ${value}`);
        cluster[field] = value;
      }
      // templated config/urls, an issuer's own templated URLs: each issuer's URL setting expanded again with the new
      // paths, in the same commit
      const own = new Set(m.ownUrlsIds ?? []);
      const templated = m.urlsWide && m.urls.enable_templating;
      const updateCa: { id: string; urls: CaUrlsJson | null }[] = [];
      for (const id of issuersOfMount(m)) {
        const urls = own.has(id) ? m.ownTemplates?.[id] : templated ? m.urls : undefined;
        if (urls && (await store.cas.findById(id))) updateCa.push({ id, urls: mountUrlsFor({ urls, cluster }, id) });
      }
      m.cluster = cluster;
      const t = clock.now();
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m) },
        updateCa: updateCa.map(({ id, urls }) => ({ id, patch: { urls, updatedAt: t } })),
        audit: [auditEvent(clock, actor, 'vault.cluster_configured', m.path, { ...cluster })],
      });
      return cluster;
    },

    async readCrlConfig(mountPath: string, actor: Actor): Promise<VaultCrlConfig> {
      authorize(actor, 'ca:read');
      return { ...defaultCrl(), ...(await requireMount(mountPath)).crl };
    },

    async writeCrlConfig(mountPath: string, params: Record<string, unknown>, actor: Actor): Promise<VaultCrlConfig> {
      authorize(actor, 'ca:write');
      const m = await requireMount(mountPath);
      if (!issuersOfMount(m).length) requireBound(m);
      const crl = { ...defaultCrl(), ...m.crl };
      for (const f of CRL_DURATIONS) {
        if (params[f] !== undefined) crl[f] = parseVaultDuration(f, params[f]) || defaultCrl()[f];
      }
      for (const f of CRL_BOOLS)
        if (params[f] !== undefined) crl[f] = coerceVaultField('bool', f, params[f]) as boolean;
      if (crl.disable || crl.ocsp_disable) {
        throw new PkiError(
          'vault.invalid_parameter',
          'PKI Manager always publishes a full CRL and answers OCSP: disable and ocsp_disable must be false',
        );
      }
      // OpenBao's checks and messages, in its order
      const bad = (message: string) => new PkiError('vault.invalid_parameter', message);
      const d = formatShortDuration;
      if (crl.auto_rebuild && crl.auto_rebuild_grace_period >= crl.expiry)
        throw bad(
          `CRL auto-rebuilding grace period (${d(crl.auto_rebuild_grace_period)}) must be strictly shorter than CRL ` +
            `expiry (${d(crl.expiry)}) value when auto-rebuilding of CRLs is enabled`,
        );
      if (crl.enable_delta && crl.delta_rebuild_interval >= crl.expiry)
        throw bad(
          `CRL delta rebuild window (${d(crl.delta_rebuild_interval)}) must be strictly shorter than CRL expiry ` +
            `(${d(crl.expiry)}) value when delta CRLs are enabled`,
        );
      if (crl.enable_delta && !crl.auto_rebuild)
        throw bad(
          'Delta CRLs cannot be enabled when auto rebuilding is disabled as the complete CRL is always regenerated!',
        );
      m.crl = crl;
      // applied to every issuer of the mount (a mount's config/crl, as OpenBao): its CRL nextUpdate = thisUpdate +
      // expiry, OCSP nextUpdate = now + ocsp_expiry
      const ids = issuersOfMount(m);
      const timings = crlTimings(crl, ids);
      await commit({
        setSettings: { [MOUNT_KEY + m.path]: JSON.stringify(m), ...timings },
        audit: [
          auditEvent(clock, actor, 'vault.crl_configured', m.path, {
            ...crl,
            caId: m.caId,
            ...(ids.length > 1 && { caIds: ids }),
          }),
        ],
      });
      for (const id of ids) deps.onCrlConfigured?.(id);
      return crl;
    },
  };
}

export type VaultMountService = ReturnType<typeof createVaultMountService>;

/**
 * a mount's `config/crl` as the settings of its issuers `ids`: CRL and OCSP validity, and delta CRLs (the complete CRL
 * kept as their base until its grace period; empty: off)
 */
function crlTimings(crl: VaultCrlConfig, ids: string[]): Record<string, string> {
  const timings: Record<string, string> = {};
  for (const id of ids) {
    timings[CRL_VALIDITY_KEY + id] = String(crl.expiry * 1000);
    timings[OCSP_VALIDITY_KEY + id] = String(crl.ocsp_expiry * 1000);
    timings[CRL_DELTA_KEY + id] = crl.enable_delta ? String(crl.auto_rebuild_grace_period * 1000) : '';
  }
  return timings;
}

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
    allow_expired_cert_revocation: c.allow_expired_cert_revocation,
  };
}
