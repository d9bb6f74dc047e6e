import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { JWK } from 'jose';
import { PkiError, newId, toPkiError, type Clock, type RevocationReason } from '@pkim/shared';
import { decodeCsrAsync, parseCertificate, resolveProfile, splitPemBundle, toPem, type Profile } from '@pkim/core';
import type {
  AcmeAccountRow,
  AcmeAuthorizationRow,
  AcmeChallengeJson,
  AcmeIdentifierJson,
  AcmeOrderRow,
  AcmeProblemJson,
  AcmeUnitOfWork,
  CertificateRow,
  Store,
} from '@pkim/store';
import type { Actor, CertificateService } from '../types';
import { authorize } from '../permissions';
import { auditEvent } from '../audit-service';
import { findCaByRef, type CaContextLoader } from '../ca-context';
import type { SignFunction } from '../signing/sign-request';
import type { ProfileView } from '../profile-service';
import { nameMatches, validateNamePattern, type Provisioner } from '../signing/provisioner';
import { checkActorMayUseCa } from '../signing/provisioner-policy';
import type { EabSealer } from './acme-eab-seal';
import { DEFAULT_ORDERS_PER_HOUR, SETTINGS_PREFIX, type AcmeDirectoryConfig } from './acme-config';
import {
  checkAccountJwk,
  jwkSpki,
  jwkThumbprint,
  parseJws,
  payloadJson,
  publicJwk,
  verifyEab,
  verifyJws,
  type AcmeJws,
} from './acme-jws';
import type { AcmeValidationConfig } from './acme-validation';

/** What the transport knows about one ACME request. */
export interface AcmeRequestContext {
  /** the directory reference of the URL: CA id or name */
  directory: string;
  /** external URL of the directory's root, e.g. `http://127.0.0.1:8080/acme/ca_…` (no trailing slash) */
  baseUrl: string;
  /** the full URL the client requested (the JWS `url` must equal it) */
  url: string;
  ip?: string;
}

/** What the transport renders: status, JSON (or PEM text) body and the ACME headers. */
export interface AcmeResponse {
  status: number;
  body?: unknown;
  contentType?: string;
  location?: string;
  /** Link header values besides `rel="index"` (which the transport always adds) */
  links?: string[];
  retryAfterSeconds?: number;
}

export type AcmePostKind =
  | 'new-account'
  | 'account'
  | 'account-orders'
  | 'new-order'
  | 'order'
  | 'finalize'
  | 'authz'
  | 'challenge'
  | 'certificate'
  | 'revoke-cert'
  | 'key-change';

export interface AcmeDirectoryView {
  caId: string;
  caName: string;
  profile: string;
  allowDns: string[] | null;
  allowIps: string[] | null;
  requireEab: boolean;
  ordersPerHour: number;
  lifetimeMs: number | null;
  /** path of the directory on this server: `/acme/<caId>/directory` */
  directoryPath: string;
  enabledAt: string;
  enabledBy: string;
}

export interface AcmeEnableInput {
  ca: string;
  profile?: string;
  allowDns?: string[];
  allowIps?: string[];
  requireEab?: boolean;
  ordersPerHour?: number;
  lifetimeMs?: number;
}

export interface AcmeAccountView {
  id: string;
  caId: string;
  status: string;
  contact: string[];
  thumbprint: string;
  eabKeyId: string | null;
  orders: number;
  createdAt: string;
}

/** An external account binding key as the console and CLI list it: never its HMAC key. */
export interface AcmeEabKeyView {
  kid: string;
  caId: string;
  /** `unused` keys can still bind one account */
  status: 'unused' | 'used';
  createdBy: string;
  createdAt: string;
  /** when it bound an account (null: unused) */
  usedAt: string | null;
  accountId: string | null;
}

export interface AcmeService {
  readonly validation: AcmeValidationConfig;
  enable(input: AcmeEnableInput, actor: Actor): Promise<AcmeDirectoryView>;
  disable(ca: string, actor: Actor): Promise<{ caId: string; disabled: boolean }>;
  listDirectories(actor: Actor): Promise<AcmeDirectoryView[]>;
  /** an external account binding key for a directory; the HMAC key is shown once */
  createEabKey(ca: string, actor: Actor): Promise<{ kid: string; hmacKey: string; caId: string }>;
  /** EAB keys (never the HMAC key) of one directory or all the actor may see */
  listEabKeys(ca: string | undefined, actor: Actor): Promise<AcmeEabKeyView[]>;
  /**
   * Deletes an EAB key: it can bind no account any more; when it already bound one, that account is deactivated
   * too (RFC 8555 §7.3.6: it can no longer order or revoke). Audited `acme.eab_key_revoked`.
   */
  revokeEabKey(
    kid: string,
    actor: Actor,
  ): Promise<{ kid: string; caId: string; revoked: true; deactivatedAccount: string | null }>;
  listAccounts(ca: string | undefined, actor: Actor): Promise<AcmeAccountView[]>;
  /** GET directory */
  directory(ctx: AcmeRequestContext): Promise<AcmeResponse>;
  /** a fresh nonce (every response carries one in Replay-Nonce) */
  newNonce(): Promise<string>;
  /** checks the directory exists (HEAD/GET newNonce) */
  checkDirectory(ref: string): Promise<void>;
  /** every JWS-authenticated POST: verify (JWS, nonce, url, account) → state machine → response */
  post(
    kind: AcmePostKind,
    ctx: AcmeRequestContext,
    params: { id?: string; type?: string },
    body: unknown,
  ): Promise<AcmeResponse>;
  /** ACME Renewal Information (RFC 9773): GET renewal-info/<certID> */
  renewalInfo(ctx: AcmeRequestContext, certId: string): Promise<AcmeResponse>;
  /** waits for the challenge validations under way (shutdown, tests) */
  settle(): Promise<void>;
}

export interface AcmeServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  certificates: Pick<CertificateService, 'revoke'>;
  sign: SignFunction;
  validation: AcmeValidationConfig;
  customProfiles?: Profile[];
  profileView?: ProfileView;
  /** seals EAB HMAC keys at rest (a key derived from the key-encryption key) */
  eabSealer: EabSealer;
}

const iso = (ms: number) => new Date(ms).toISOString();
const NONCE_TTL_MS = 3_600_000;
const ORDER_TTL_MS = 7 * 86_400_000;
const AUTHZ_TTL_MS = 30 * 86_400_000;
const PROBLEM = 'urn:ietf:params:acme:error:';
/** RFC 5280 reason codes an ACME client may give (Boulder's set: no cACompromise, no holds) */
const ACME_REASONS: Record<number, RevocationReason> = {
  0: 'unspecified',
  1: 'keyCompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  9: 'privilegeWithdrawn',
};

/** `acme.bad_nonce` → `urn:ietf:params:acme:error:badNonce` */
export function acmeProblemType(code: string): string {
  const name = code.replace(/^acme\./, '').replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return PROBLEM + (name === 'badCsr' ? 'badCSR' : name);
}

function problemOf(e: PkiError): AcmeProblemJson {
  return { type: acmeProblemType(e.code.startsWith('acme.') ? e.code : 'acme.server_internal'), detail: e.message };
}

const malformed = (m: string) => new PkiError('acme.malformed', m);
const unauthorized = (m: string) => new PkiError('acme.unauthorized', m);
const notFound = (m: string) => new PkiError('acme.not_found', m);

function accountActor(a: AcmeAccountRow): Actor {
  return {
    id: `acme:${a.id}`,
    name: `ACME account ${a.id}`,
    role: 'operator',
    scopes: ['certificate:issue', 'certificate:revoke'],
    resources: { cas: [a.caId] },
  };
}

const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks and normalises an order identifier (RFC 8555 §7.1.4 dns, RFC 8738 ip). */
function checkIdentifier(raw: unknown): AcmeIdentifierJson {
  const i = raw as { type?: unknown; value?: unknown };
  if (!i || typeof i !== 'object' || typeof i.value !== 'string')
    throw malformed('each identifier needs a type and a string value');
  if (i.type === 'ip') {
    const v = i.value.trim();
    if (!isIP(v)) throw new PkiError('acme.malformed', `'${v}' is not an IP address`);
    return { type: 'ip', value: v.toLowerCase() };
  }
  if (i.type !== 'dns')
    throw new PkiError('acme.unsupported_identifier', `identifier type ${JSON.stringify(i.type)} is not supported`);
  const v = i.value.trim().toLowerCase().replace(/\.$/, '');
  const base = v.startsWith('*.') ? v.slice(2) : v;
  // older clients (lego before RFC 8738 support) send IP addresses as dns identifiers: they are IP identifiers
  if (isIP(v)) return { type: 'ip', value: v };
  if (isIP(base)) throw new PkiError('acme.rejected_identifier', `'${v}': IP addresses have no wildcards`);
  if (!base || base.length > 253 || base.split('.').some((l) => !HOST_LABEL.test(l)))
    throw new PkiError('acme.rejected_identifier', `'${i.value}' is not a valid DNS name`);
  return { type: 'dns', value: v };
}

export function createAcmeService(deps: AcmeServiceDeps): AcmeService {
  const { store, clock, logger } = deps;
  const inflight = new Set<Promise<void>>();

  /** the CA of an id or name; the not-found hint only to an actor that may list it (findCaByRef) */
  function caOf(ref: string, actor?: Actor) {
    return findCaByRef(store, ref, actor);
  }

  async function loadDirectory(ref: string): Promise<AcmeDirectoryConfig> {
    const ca = (await store.cas.findById(ref)) ?? (await store.cas.findByName(ref));
    const raw = ca ? await store.settings.get(SETTINGS_PREFIX + ca.id) : undefined;
    if (!raw) throw new PkiError('acme.not_enabled', `no ACME directory '${ref}' on this server`);
    return JSON.parse(raw) as AcmeDirectoryConfig;
  }

  async function view(c: AcmeDirectoryConfig): Promise<AcmeDirectoryView> {
    const ca = await store.cas.findById(c.caId);
    return {
      caId: c.caId,
      caName: ca?.name ?? c.caId,
      profile: c.profile,
      allowDns: c.allowDns ?? null,
      allowIps: c.allowIps ?? null,
      requireEab: c.requireEab,
      ordersPerHour: c.ordersPerHour,
      lifetimeMs: c.lifetimeMs ?? null,
      directoryPath: `/acme/${c.caId}/directory`,
      enabledAt: iso(c.enabledAt),
      enabledBy: c.enabledBy,
    };
  }

  // ---------------------------------------------------------------- administration (CLI / console)

  async function enable(input: AcmeEnableInput, actor: Actor): Promise<AcmeDirectoryView> {
    authorize(actor, 'ca:write');
    const ca = await caOf(input.ca, actor);
    checkActorMayUseCa(actor, ca);
    if (ca.status !== 'active') throw new PkiError('ca.not_active', `CA ${ca.name} is ${ca.status}`);
    await deps.profileView?.fresh(input.profile ?? 'tls-server');
    const profile = resolveProfile(input.profile ?? 'tls-server', deps.customProfiles);
    if (profile.isCa)
      throw new PkiError('policy.profile_not_allowed', `profile ${profile.name} issues CA certificates`);
    const clean = (v: string[] | undefined) =>
      v === undefined ? undefined : [...new Set(v.map((x) => x.trim().toLowerCase()).filter((x) => x))];
    const allowDns = clean(input.allowDns);
    const allowIps = clean(input.allowIps)?.map((p) => (p === '*' ? '0.0.0.0/0' : p));
    if (allowIps?.includes('0.0.0.0/0') && !allowIps.includes('::/0')) allowIps.push('::/0');
    for (const p of allowDns ?? []) {
      validateNamePattern(p);
      if (p.includes('@') || p.includes('://') || /^[0-9.:/]+$/.test(p))
        throw new PkiError('input.invalid', `--allow-dns takes DNS name patterns, not '${p}'`);
    }
    for (const p of allowIps ?? []) {
      validateNamePattern(p);
      if (!/^[0-9a-f.:/]+$/.test(p)) throw new PkiError('input.invalid', `--allow-ip takes IPs or CIDRs, not '${p}'`);
    }
    const ordersPerHour = input.ordersPerHour ?? DEFAULT_ORDERS_PER_HOUR;
    if (!Number.isInteger(ordersPerHour) || ordersPerHour < 1)
      throw new PkiError('input.invalid', `orders per hour must be a positive integer, got ${ordersPerHour}`);
    if (input.lifetimeMs !== undefined && !(input.lifetimeMs >= 60_000))
      throw new PkiError('input.invalid', 'the certificate lifetime must be at least one minute');
    const config: AcmeDirectoryConfig = {
      caId: ca.id,
      profile: profile.name,
      allowDns,
      allowIps,
      requireEab: input.requireEab ?? false,
      ordersPerHour,
      lifetimeMs: input.lifetimeMs,
      enabledAt: clock.now(),
      enabledBy: actor.id,
    };
    await store.commit({
      setSettings: { [SETTINGS_PREFIX + ca.id]: JSON.stringify(config) },
      audit: [auditEvent(clock, actor, 'acme.enabled', ca.id, { ...config })],
    });
    return view(config);
  }

  async function disable(ref: string, actor: Actor) {
    authorize(actor, 'ca:write');
    const ca = await caOf(ref, actor);
    checkActorMayUseCa(actor, ca);
    const had = (await store.settings.get(SETTINGS_PREFIX + ca.id)) !== undefined;
    await store.commit({
      deleteSettings: [SETTINGS_PREFIX + ca.id],
      audit: [auditEvent(clock, actor, 'acme.disabled', ca.id, { wasEnabled: had })],
    });
    return { caId: ca.id, disabled: had };
  }

  async function listDirectories(actor: Actor) {
    authorize(actor, 'ca:read');
    const rows = await store.settings.listByPrefix(SETTINGS_PREFIX);
    const configs = await visible(
      actor,
      rows.map((r) => JSON.parse(r.value) as AcmeDirectoryConfig),
    );
    return Promise.all(configs.map(view));
  }

  /** only what belongs to CAs the actor may use (API tokens and users limited to some CAs) */
  async function visible<T extends { caId: string }>(actor: Actor, items: T[]): Promise<T[]> {
    if (!actor.resources?.cas) return items;
    const out: T[] = [];
    for (const item of items) {
      try {
        checkActorMayUseCa(actor, await store.cas.findById(item.caId));
        out.push(item);
      } catch {
        // another CA's
      }
    }
    return out;
  }

  async function createEabKey(ref: string, actor: Actor) {
    authorize(actor, 'ca:write');
    const dir = await loadDirectory(ref);
    checkActorMayUseCa(actor, await store.cas.findById(dir.caId));
    const kid = newId('eab');
    const hmacKey = randomBytes(32).toString('base64url');
    const t = clock.now();
    await store.commit({
      acme: {
        insertEabKeys: [
          {
            id: kid,
            caId: dir.caId,
            hmacKey: deps.eabSealer.seal(kid, dir.caId, hmacKey),
            accountId: null,
            createdBy: actor.id,
            createdAt: t,
            usedAt: null,
          },
        ],
      },
      audit: [auditEvent(clock, actor, 'acme.eab_key_created', kid, { caId: dir.caId })],
    });
    return { kid, hmacKey, caId: dir.caId };
  }

  async function listEabKeys(ref: string | undefined, actor: Actor): Promise<AcmeEabKeyView[]> {
    authorize(actor, 'ca:read');
    const ca = ref === undefined ? undefined : await caOf(ref, actor);
    checkActorMayUseCa(actor, ca);
    const rows = await visible(actor, await store.acme.listEabKeys(ca?.id));
    return rows.map((k) => ({
      kid: k.id,
      caId: k.caId,
      status: k.accountId ? ('used' as const) : ('unused' as const),
      createdBy: k.createdBy,
      createdAt: iso(k.createdAt),
      usedAt: k.usedAt === null ? null : iso(k.usedAt),
      accountId: k.accountId,
    }));
  }

  async function revokeEabKey(kid: string, actor: Actor) {
    authorize(actor, 'ca:write');
    const key = await store.acme.eabKeyById(kid.trim());
    if (!key) throw new PkiError('acme.not_found', `no external account binding key ${kid.trim()}`);
    checkActorMayUseCa(actor, await store.cas.findById(key.caId));
    const account = key.accountId ? await store.acme.accountById(key.accountId) : undefined;
    const deactivate = account?.status === 'valid' ? account : undefined;
    await store.commit({
      acme: {
        deleteEabKeys: [key.id],
        ...(deactivate
          ? {
              updateAccounts: [
                { id: deactivate.id, patch: { status: 'deactivated' as const, updatedAt: clock.now() } },
              ],
            }
          : {}),
      },
      audit: [
        auditEvent(clock, actor, 'acme.eab_key_revoked', key.id, {
          caId: key.caId,
          used: key.accountId !== null,
          accountId: key.accountId,
          accountDeactivated: !!deactivate,
        }),
      ],
    });
    return { kid: key.id, caId: key.caId, revoked: true as const, deactivatedAccount: deactivate?.id ?? null };
  }

  async function listAccounts(ref: string | undefined, actor: Actor): Promise<AcmeAccountView[]> {
    authorize(actor, 'ca:read');
    const ca = ref === undefined ? undefined : await caOf(ref, actor);
    checkActorMayUseCa(actor, ca);
    const rows = await visible(actor, await store.acme.listAccounts(ca?.id));
    const t = clock.now();
    return Promise.all(
      rows.map(async (a) => ({
        id: a.id,
        caId: a.caId,
        status: a.status,
        contact: a.contact,
        thumbprint: a.thumbprint,
        eabKeyId: a.eabKeyId,
        orders: await store.acme.countOrdersSince(a.id, t - 365 * 86_400_000),
        createdAt: iso(a.createdAt),
      })),
    );
  }

  // ---------------------------------------------------------------- protocol

  async function newNonce(): Promise<string> {
    const id = randomBytes(16).toString('base64url');
    await store.acme.putNonce({ id, expiresAt: clock.now() + NONCE_TTL_MS });
    return id;
  }

  async function directory(ctx: AcmeRequestContext): Promise<AcmeResponse> {
    const dir = await loadDirectory(ctx.directory);
    const b = ctx.baseUrl;
    return {
      status: 200,
      body: {
        newNonce: `${b}/new-nonce`,
        newAccount: `${b}/new-account`,
        newOrder: `${b}/new-order`,
        revokeCert: `${b}/revoke-cert`,
        keyChange: `${b}/key-change`,
        renewalInfo: `${b}/renewal-info`,
        meta: {
          externalAccountRequired: dir.requireEab,
          website: 'https://github.com/pki-manager/pkim',
          profiles: { [dir.profile]: `certificates with the ${dir.profile} profile` },
        },
      },
    };
  }

  const accountUrl = (ctx: AcmeRequestContext, id: string) => `${ctx.baseUrl}/acct/${id}`;
  const orderUrl = (ctx: AcmeRequestContext, id: string) => `${ctx.baseUrl}/order/${id}`;
  const authzUrl = (ctx: AcmeRequestContext, id: string) => `${ctx.baseUrl}/authz/${id}`;
  const challUrl = (ctx: AcmeRequestContext, authzId: string, type: string) =>
    `${ctx.baseUrl}/chall/${authzId}/${type}`;

  function accountJson(ctx: AcmeRequestContext, a: AcmeAccountRow) {
    return {
      status: a.status,
      contact: a.contact,
      orders: `${accountUrl(ctx, a.id)}/orders`,
      ...(a.eabKeyId ? { externalAccountBinding: { kid: a.eabKeyId } } : {}),
      createdAt: iso(a.createdAt),
    };
  }

  /** the order as the client sees it: a pending order whose authorizations are all valid is ready */
  async function currentOrder(o: AcmeOrderRow): Promise<{ order: AcmeOrderRow; authz: AcmeAuthorizationRow[] }> {
    const authz = await store.acme.authorizationsOfOrder(o.id);
    const now = clock.now();
    if ((o.status === 'pending' || o.status === 'ready') && o.expiresAt <= now) {
      return {
        order: { ...o, status: 'invalid', error: { type: PROBLEM + 'malformed', detail: 'order expired' } },
        authz,
      };
    }
    if (o.status === 'pending' && authz.length && authz.every((z) => z.status === 'valid')) {
      try {
        await store.commit({
          acme: { updateOrders: [{ id: o.id, patch: { status: 'ready', updatedAt: now }, onlyIfStatus: 'pending' }] },
        });
      } catch {
        // another request moved it on; the fresh row tells
      }
      return { order: (await store.acme.orderById(o.id)) ?? o, authz };
    }
    return { order: o, authz };
  }

  function orderJson(ctx: AcmeRequestContext, o: AcmeOrderRow, authz: AcmeAuthorizationRow[]) {
    return {
      status: o.status,
      expires: iso(o.expiresAt),
      identifiers: o.identifiers,
      authorizations: authz.map((z) => authzUrl(ctx, z.id)),
      finalize: `${orderUrl(ctx, o.id)}/finalize`,
      ...(o.certificateId ? { certificate: `${ctx.baseUrl}/cert/${o.certificateId}` } : {}),
      ...(o.error ? { error: o.error } : {}),
      ...(o.replaces ? { replaces: o.replaces } : {}),
    };
  }

  function challengeJson(ctx: AcmeRequestContext, z: AcmeAuthorizationRow, c: AcmeChallengeJson) {
    return {
      type: c.type,
      url: challUrl(ctx, z.id, c.type),
      status: c.status,
      token: c.token,
      ...(c.validated !== null ? { validated: iso(c.validated) } : {}),
      ...(c.error ? { error: c.error } : {}),
    };
  }

  function authzJson(ctx: AcmeRequestContext, z: AcmeAuthorizationRow) {
    const status = z.status === 'pending' && z.expiresAt <= clock.now() ? 'expired' : z.status;
    return {
      identifier: { type: z.identifierType, value: z.identifierValue },
      status,
      expires: iso(z.expiresAt),
      challenges: z.challenges.map((c) => challengeJson(ctx, z, c)),
      ...(z.wildcard ? { wildcard: true } : {}),
    };
  }

  /** verifies JWS, url, key (jwk or kid), nonce and account status */
  async function authenticate(
    kind: AcmePostKind,
    ctx: AcmeRequestContext,
    dir: AcmeDirectoryConfig,
    body: unknown,
  ): Promise<{ jws: AcmeJws; jwk: JWK; account?: AcmeAccountRow; payload: Record<string, unknown> | undefined }> {
    const jws = parseJws(body);
    const h = jws.header;
    let account: AcmeAccountRow | undefined;
    let jwk: JWK;
    if (h.jwk !== undefined) {
      if (kind !== 'new-account' && kind !== 'revoke-cert')
        throw malformed('this request must be signed with the account key id (kid), not a jwk');
      jwk = checkAccountJwk(h.jwk);
    } else {
      if (kind === 'new-account') throw malformed('newAccount must be signed with a jwk, not a kid');
      const prefix = `${ctx.baseUrl}/acct/`;
      const kid = String(h.kid);
      account = kid.startsWith(prefix) ? await store.acme.accountById(kid.slice(prefix.length)) : undefined;
      if (account?.caId !== dir.caId)
        throw new PkiError('acme.account_does_not_exist', `no account ${kid} in this directory`);
      jwk = account.jwk;
    }
    const payload = await verifyJws(jws, jwk);
    if (typeof h.nonce !== 'string' || !h.nonce || !(await store.acme.takeNonce(h.nonce, clock.now())))
      throw new PkiError('acme.bad_nonce', 'the JWS nonce is unknown, expired or already used');
    if (h.url !== ctx.url)
      throw unauthorized(`the JWS url ${JSON.stringify(h.url)} does not match the request URL ${ctx.url}`);
    if (account && account.status !== 'valid') throw unauthorized(`account ${account.id} is ${account.status}`);
    return { jws, jwk, account, payload: payloadJson(payload) };
  }

  async function post(
    kind: AcmePostKind,
    ctx: AcmeRequestContext,
    params: { id?: string; type?: string },
    body: unknown,
  ): Promise<AcmeResponse> {
    const dir = await loadDirectory(ctx.directory);
    const auth = await authenticate(kind, ctx, dir, body);
    const { payload } = auth;
    const account = auth.account;
    const need = () => {
      if (!account) throw malformed('this request must be signed with the account key id (kid)');
      return account;
    };
    const postAsGet = () => {
      if (payload !== undefined) throw malformed('this resource is fetched with POST-as-GET (an empty payload)');
    };
    switch (kind) {
      case 'new-account':
        return newAccount(ctx, dir, auth.jwk, payload ?? {});
      case 'account':
        return updateAccount(ctx, need(), params.id ?? '', payload);
      case 'account-orders': {
        postAsGet();
        const a = need();
        if (params.id !== a.id) throw unauthorized('this is not the account of the signing key');
        const orders = await store.acme.listOrders(a.id, 1000);
        return { status: 200, body: { orders: orders.map((o) => orderUrl(ctx, o.id)) } };
      }
      case 'new-order':
        return newOrder(ctx, dir, need(), payload ?? {});
      case 'order': {
        postAsGet();
        const { order, authz } = await currentOrder(await ownOrder(need(), params.id ?? ''));
        return { status: 200, body: orderJson(ctx, order, authz) };
      }
      case 'finalize':
        return finalize(ctx, dir, need(), params.id ?? '', payload ?? {});
      case 'authz':
        return authorization(ctx, need(), params.id ?? '', payload);
      case 'challenge':
        return challenge(ctx, dir, need(), params.id ?? '', params.type ?? '', payload);
      case 'certificate': {
        postAsGet();
        return certificate(need(), params.id ?? '');
      }
      case 'revoke-cert':
        return revoke(dir, auth.jws, auth.jwk, account, payload ?? {});
      case 'key-change':
        return keyChange(ctx, dir, need(), payload ?? {});
    }
  }

  async function newAccount(
    ctx: AcmeRequestContext,
    dir: AcmeDirectoryConfig,
    jwk: JWK,
    p: Record<string, unknown>,
  ): Promise<AcmeResponse> {
    const thumbprint = await jwkThumbprint(jwk);
    const existing = await store.acme.accountByThumbprint(dir.caId, thumbprint);
    if (existing) {
      if (existing.status !== 'valid') throw unauthorized(`account ${existing.id} is ${existing.status}`);
      return { status: 200, body: accountJson(ctx, existing), location: accountUrl(ctx, existing.id) };
    }
    if (p.onlyReturnExisting === true)
      throw new PkiError('acme.account_does_not_exist', 'no account exists for this key');
    const contact = checkContact(p.contact);
    const id = newId('acct');
    let eabKeyId: string | null = null;
    if (p.externalAccountBinding !== undefined) {
      eabKeyId = await verifyEab(p.externalAccountBinding, {
        url: `${ctx.baseUrl}/new-account`,
        accountJwk: jwk,
        lookup: async (kid) => {
          const k = await store.acme.eabKeyById(kid);
          return k?.caId === dir.caId ? { hmacKey: deps.eabSealer.open(k.id, k.caId, k.hmacKey) } : undefined;
        },
      });
    } else if (dir.requireEab) {
      throw new PkiError(
        'acme.external_account_required',
        'this directory requires an external account binding (ask for an EAB key: pkim acme eab create)',
      );
    }
    const t = clock.now();
    const row: AcmeAccountRow = {
      id,
      caId: dir.caId,
      thumbprint,
      jwk: publicJwk(jwk),
      status: 'valid',
      contact,
      eabKeyId,
      createdAt: t,
      updatedAt: t,
    };
    await store.commit({
      acme: {
        insertAccounts: [row],
        useEabKeys: eabKeyId ? [{ id: eabKeyId, accountId: id, at: t }] : undefined,
      },
      audit: [
        auditEvent(clock, `acme:${id}`, 'acme.account_created', id, {
          caId: dir.caId,
          contact,
          thumbprint,
          eabKeyId,
          ip: ctx.ip,
        }),
      ],
    });
    return { status: 201, body: accountJson(ctx, row), location: accountUrl(ctx, id) };
  }

  function checkContact(v: unknown): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > 10) throw malformed('contact must be an array of at most 10 URLs');
    return v.map((c) => {
      if (typeof c !== 'string' || !/^mailto:[^@\s,]+@[^@\s,]+\.[^@\s,]+$/i.test(c))
        throw new PkiError('acme.invalid_contact', `unsupported contact ${JSON.stringify(c)}: use mailto:<address>`);
      return c;
    });
  }

  async function updateAccount(
    ctx: AcmeRequestContext,
    a: AcmeAccountRow,
    id: string,
    p: Record<string, unknown> | undefined,
  ): Promise<AcmeResponse> {
    if (id !== a.id) throw unauthorized('this is not the account of the signing key');
    if (p === undefined || Object.keys(p).length === 0)
      return { status: 200, body: accountJson(ctx, a), location: accountUrl(ctx, a.id) };
    const t = clock.now();
    const patch: Partial<AcmeAccountRow> = { updatedAt: t };
    let action = 'acme.account_updated';
    if (p.status !== undefined) {
      if (p.status !== 'deactivated') throw malformed(`an account can only be set to "deactivated"`);
      patch.status = 'deactivated';
      action = 'acme.account_deactivated';
    }
    if (p.contact !== undefined) patch.contact = checkContact(p.contact);
    await store.commit({
      acme: { updateAccounts: [{ id: a.id, patch }] },
      audit: [auditEvent(clock, `acme:${a.id}`, action, a.id, { contact: patch.contact, status: patch.status })],
    });
    const fresh = { ...a, ...patch };
    return { status: 200, body: accountJson(ctx, fresh), location: accountUrl(ctx, a.id) };
  }

  function challengesFor(id: AcmeIdentifierJson): AcmeChallengeJson[] {
    const token = () => randomBytes(32).toString('base64url');
    const c = (type: AcmeChallengeJson['type']): AcmeChallengeJson => ({
      type,
      status: 'pending',
      token: token(),
      validated: null,
      error: null,
    });
    if (id.type === 'ip') return [c('http-01'), c('tls-alpn-01')];
    if (id.value.startsWith('*.')) return [c('dns-01')];
    return [c('http-01'), c('dns-01'), c('tls-alpn-01')];
  }

  function checkPolicy(dir: AcmeDirectoryConfig, id: AcmeIdentifierJson): void {
    if (id.type === 'ip') {
      if (!dir.allowIps?.some((p) => nameMatches('ip', id.value, p)))
        throw new PkiError('acme.rejected_identifier', `this directory does not issue for the IP address ${id.value}`, {
          details: { identifier: id },
        });
      return;
    }
    if (dir.allowDns && !dir.allowDns.some((p) => nameMatches('dns', id.value, p)))
      throw new PkiError(
        'acme.rejected_identifier',
        `this directory does not issue for ${id.value} (allowed: ${dir.allowDns.join(', ') || 'no DNS names'})`,
        { details: { identifier: id } },
      );
  }

  /** the newest valid, unexpired authorization of the account for the identifier validated within the reuse window */
  async function reusableAuthorization(
    a: AcmeAccountRow,
    type: string,
    value: string,
    wildcard: boolean,
    now: number,
  ): Promise<AcmeAuthorizationRow | undefined> {
    const window = deps.validation.authzReuseMs ?? 0;
    if (window <= 0) return undefined;
    const validatedAt = (z: AcmeAuthorizationRow) =>
      Math.max(0, ...z.challenges.filter((c) => c.status === 'valid').map((c) => c.validated ?? 0));
    return (await store.acme.validAuthorizations(a.id, type, value, now))
      .filter((z) => z.wildcard === wildcard && validatedAt(z) >= now - window)
      .sort((x, y) => validatedAt(y) - validatedAt(x))[0];
  }

  async function newOrder(
    ctx: AcmeRequestContext,
    dir: AcmeDirectoryConfig,
    a: AcmeAccountRow,
    p: Record<string, unknown>,
  ): Promise<AcmeResponse> {
    if (!Array.isArray(p.identifiers) || p.identifiers.length === 0 || p.identifiers.length > 100)
      throw malformed('identifiers must be an array of 1 to 100 identifiers');
    if (p.notBefore !== undefined || p.notAfter !== undefined)
      throw malformed('notBefore/notAfter are not supported: the lifetime comes from the directory profile');
    if (p.replaces !== undefined && typeof p.replaces !== 'string') throw malformed('replaces must be a string');
    const seen = new Map<string, AcmeIdentifierJson>();
    for (const raw of p.identifiers) {
      const id = checkIdentifier(raw);
      seen.set(`${id.type}:${id.value}`, id);
    }
    const identifiers = [...seen.values()];
    for (const id of identifiers) checkPolicy(dir, id);
    const now = clock.now();
    const recent = await store.acme.countOrdersSince(a.id, now - 3_600_000);
    if (recent >= dir.ordersPerHour)
      throw new PkiError('acme.rate_limited', `account ${a.id} created ${recent} orders in the last hour`, {
        details: { limit: dir.ordersPerHour, retryAfterSeconds: 3600 },
      });
    const orderId = newId('ord');
    const order: AcmeOrderRow = {
      id: orderId,
      accountId: a.id,
      caId: dir.caId,
      status: 'pending',
      identifiers,
      notBefore: null,
      notAfter: null,
      expiresAt: now + ORDER_TTL_MS,
      error: null,
      certificateId: null,
      replaces: p.replaces ?? null,
      createdAt: now,
      updatedAt: now,
    };
    const reused: { identifier: AcmeIdentifierJson; from: string }[] = [];
    const authz: AcmeAuthorizationRow[] = [];
    for (const id of identifiers) {
      const value = id.value.startsWith('*.') ? id.value.slice(2) : id.value;
      const wildcard = id.value.startsWith('*.');
      const previous = await reusableAuthorization(a, id.type, value, wildcard, now);
      if (previous) reused.push({ identifier: id, from: previous.id });
      authz.push({
        id: newId('authz'),
        orderId,
        accountId: a.id,
        identifierType: id.type,
        identifierValue: value,
        wildcard,
        // a recent valid authorization of this account for this identifier is reused: no new challenge
        status: previous ? 'valid' : 'pending',
        expiresAt: previous
          ? Math.min(previous.expiresAt, order.expiresAt)
          : Math.min(now + AUTHZ_TTL_MS, order.expiresAt),
        challenges: previous ? previous.challenges : challengesFor(id),
        createdAt: now,
        updatedAt: now,
      });
    }
    await store.commit({
      acme: { insertOrders: [order], insertAuthorizations: authz },
      audit: [
        auditEvent(clock, accountActor(a), 'acme.order_created', orderId, {
          caId: dir.caId,
          accountId: a.id,
          identifiers,
          replaces: order.replaces,
          ...(reused.length ? { reusedAuthorizations: reused } : {}),
          ip: ctx.ip,
        }),
      ],
    });
    return { status: 201, body: orderJson(ctx, order, authz), location: orderUrl(ctx, orderId) };
  }

  async function ownOrder(a: AcmeAccountRow, id: string): Promise<AcmeOrderRow> {
    const o = await store.acme.orderById(id);
    if (!o) throw notFound(`no order ${id}`);
    if (o.accountId !== a.id) throw unauthorized(`order ${id} belongs to another account`);
    return o;
  }

  async function ownAuthz(a: AcmeAccountRow, id: string): Promise<AcmeAuthorizationRow> {
    const z = await store.acme.authorizationById(id);
    if (!z) throw notFound(`no authorization ${id}`);
    if (z.accountId !== a.id) throw unauthorized(`authorization ${id} belongs to another account`);
    return z;
  }

  async function authorization(
    ctx: AcmeRequestContext,
    a: AcmeAccountRow,
    id: string,
    p: Record<string, unknown> | undefined,
  ): Promise<AcmeResponse> {
    const z = await ownAuthz(a, id);
    if (p !== undefined) {
      if (p.status !== 'deactivated') throw malformed('an authorization can only be set to "deactivated"');
      if (z.status !== 'pending' && z.status !== 'valid')
        throw malformed(`authorization ${id} is ${z.status} and cannot be deactivated`);
      const t = clock.now();
      await store.commit({
        acme: { updateAuthorizations: [{ id, patch: { status: 'deactivated', updatedAt: t } }] },
        audit: [auditEvent(clock, accountActor(a), 'acme.authorization_deactivated', id, { orderId: z.orderId })],
      });
      return { status: 200, body: authzJson(ctx, { ...z, status: 'deactivated' }) };
    }
    return withRetryAfter({ status: 200, body: authzJson(ctx, z) }, z);
  }

  /**
   * RFC 8555 §8.2: a challenge being validated tells the client when to look again (Retry-After on the challenge
   * and its authorization): 1 s for an attempt under way, the retry wait after a failed one (whole seconds). Clients
   * poll on their own default without it (lego 5 s, then backing off).
   */
  function retryAfterOf(z: AcmeAuthorizationRow): number | undefined {
    const c = z.status === 'pending' ? z.challenges.find((x) => x.status === 'processing') : undefined;
    if (!c) return undefined;
    return c.error ? Math.max(1, Math.ceil((deps.validation.retryDelayMs ?? 0) / 1000)) : 1;
  }
  const withRetryAfter = (r: AcmeResponse, z: AcmeAuthorizationRow): AcmeResponse => {
    const after = retryAfterOf(z);
    return after === undefined ? r : { ...r, retryAfterSeconds: after };
  };

  async function challenge(
    ctx: AcmeRequestContext,
    dir: AcmeDirectoryConfig,
    a: AcmeAccountRow,
    authzId: string,
    type: string,
    p: Record<string, unknown> | undefined,
  ): Promise<AcmeResponse> {
    const z = await ownAuthz(a, authzId);
    const c = z.challenges.find((x) => x.type === type);
    if (!c) throw notFound(`authorization ${authzId} has no ${type} challenge`);
    const up = [`<${authzUrl(ctx, z.id)}>;rel="up"`];
    if (p === undefined || z.status !== 'pending' || c.status !== 'pending' || z.expiresAt <= clock.now())
      return withRetryAfter({ status: 200, body: challengeJson(ctx, z, c), links: up }, z);
    const t = clock.now();
    const challenges = z.challenges.map((x) => (x.type === type ? { ...x, status: 'processing' as const } : x));
    await store.commit({
      acme: { updateAuthorizations: [{ id: z.id, patch: { challenges, updatedAt: t } }] },
      audit: [
        auditEvent(clock, accountActor(a), 'acme.challenge_started', z.id, {
          type,
          identifier: { type: z.identifierType, value: z.identifierValue },
          orderId: z.orderId,
        }),
      ],
    });
    const run = validate(dir, a, { ...z, challenges }, type).catch((e: unknown) =>
      logger.error({ err: toPkiError(e).message, authz: z.id }, 'ACME challenge validation could not be recorded'),
    );
    inflight.add(run);
    void run.finally(() => inflight.delete(run));
    return {
      status: 200,
      body: challengeJson(ctx, z, { ...c, status: 'processing' }),
      links: up,
      retryAfterSeconds: 1,
    };
  }

  /** runs the challenge against the client, then records the outcome (authz, order) with its audit event */
  async function validate(
    dir: AcmeDirectoryConfig,
    a: AcmeAccountRow,
    z: AcmeAuthorizationRow,
    type: string,
  ): Promise<void> {
    const c = z.challenges.find((x) => x.type === type)!;
    const keyAuthorization = `${c.token}.${a.thumbprint}`;
    const target = { type: z.identifierType, value: z.identifierValue };
    const attempts = Math.max(1, deps.validation.attempts ?? 1);
    // the validators (node:http, node:tls, node:dns) load with the first challenge, not with every authority
    const { validateDns01, validateHttp01, validateTlsAlpn01 } = await import('./acme-validation');
    let error: PkiError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      error = undefined;
      try {
        if (type === 'http-01') await validateHttp01(target, c.token, keyAuthorization, deps.validation);
        else if (type === 'tls-alpn-01') await validateTlsAlpn01(target, keyAuthorization, deps.validation);
        else await validateDns01(target, keyAuthorization, deps.validation);
      } catch (e) {
        error = toPkiError(e);
        if (!error.code.startsWith('acme.')) error = new PkiError('acme.connection', error.message);
      }
      if (!error || attempt === attempts) break;
      // RFC 8555 §8.2: retry; meanwhile the challenge is `processing` (with the last error) and the authorization
      // `pending`. A deactivated or expired authorization ends the retries.
      const current = await store.acme.authorizationById(z.id);
      if (current?.status !== 'pending' || current.expiresAt <= clock.now()) return;
      const last = { ...problemOf(error), status: 403 };
      await store.commit({
        acme: {
          updateAuthorizations: [
            {
              id: z.id,
              patch: {
                challenges: current.challenges.map((x) => (x.type === type ? { ...x, error: last } : x)),
                updatedAt: clock.now(),
              },
            },
          ],
        },
      });
      logger.info({ authz: z.id, type, attempt, code: error.code }, 'ACME challenge attempt failed; retrying');
      const delay = (deps.validation.retryDelayMs ?? 0) * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, delay));
    }
    const t = clock.now();
    const problem = error ? { ...problemOf(error), status: 403 } : null;
    const challenges = z.challenges.map((x) =>
      x.type === type
        ? { ...x, status: error ? ('invalid' as const) : ('valid' as const), validated: t, error: problem }
        : x,
    );
    const unit: AcmeUnitOfWork = {
      updateAuthorizations: [{ id: z.id, patch: { challenges, status: error ? 'invalid' : 'valid', updatedAt: t } }],
    };
    if (error) {
      unit.updateOrders = [
        {
          id: z.orderId,
          patch: {
            status: 'invalid',
            error: { ...problem!, detail: `authorization of ${z.identifierValue} failed: ${error.message}` },
            updatedAt: t,
          },
        },
      ];
    }
    await store.commit({
      acme: unit,
      audit: [
        auditEvent(
          clock,
          accountActor(a),
          error ? 'acme.challenge_failed' : 'acme.challenge_validated',
          z.id,
          {
            type,
            identifier: target,
            orderId: z.orderId,
            caId: dir.caId,
            attempts,
            ...(error ? { code: error.code, message: error.message } : {}),
          },
          error ? 'failure' : 'success',
        ),
      ],
    });
    if (!error) {
      const o = await store.acme.orderById(z.orderId);
      if (o) await currentOrder(o);
    }
  }

  function provisionerFor(dir: AcmeDirectoryConfig, a: AcmeAccountRow, names: string[]): Provisioner {
    return {
      kind: 'acme',
      id: `acme:${a.id}`,
      name: `ACME account ${a.id}`,
      policy: { cas: [dir.caId], profiles: [dir.profile], names, allowCaCertificates: false },
      modifiers: { defaultProfile: dir.profile, defaultLifetimeMs: dir.lifetimeMs },
    };
  }

  async function finalize(
    ctx: AcmeRequestContext,
    dir: AcmeDirectoryConfig,
    a: AcmeAccountRow,
    id: string,
    p: Record<string, unknown>,
  ): Promise<AcmeResponse> {
    const { order, authz } = await currentOrder(await ownOrder(a, id));
    if (order.status !== 'ready')
      throw new PkiError('acme.order_not_ready', `order ${id} is ${order.status}, not ready to be finalized`);
    if (typeof p.csr !== 'string' || !/^[A-Za-z0-9_-]+$/.test(p.csr)) throw malformed('csr must be base64url DER');
    const csrPem = toPem(new Uint8Array(Buffer.from(p.csr, 'base64url')), 'CERTIFICATE REQUEST');
    let csr: Awaited<ReturnType<typeof decodeCsrAsync>>;
    try {
      csr = await decodeCsrAsync(csrPem);
    } catch (e) {
      throw new PkiError('acme.bad_csr', `the CSR is invalid: ${toPkiError(e).message}`);
    }
    // the CSR must ask for exactly the order's identifiers (RFC 8555 §7.4)
    const want = {
      dns: order.identifiers.filter((i) => i.type === 'dns').map((i) => i.value),
      ip: order.identifiers.filter((i) => i.type === 'ip').map((i) => i.value),
    };
    // IP addresses in DNS SANs (older clients) count as IP SANs
    const dnsSans = (csr.sans.dns ?? []).map((d) => d.toLowerCase());
    const got = {
      dns: [...new Set(dnsSans.filter((d) => !isIP(d)))],
      ip: [...new Set([...(csr.sans.ip ?? []), ...dnsSans.filter((d) => isIP(d))])],
    };
    const cn = csr.subject.find((x) => x.type === 'CN' || x.type === '2.5.4.3')?.value?.toLowerCase();
    if (cn && !want.dns.includes(cn) && !want.ip.includes(cn)) got.dns.push(cn);
    const same = (x: string[], y: string[]) => x.length === y.length && [...x].sort().join() === [...y].sort().join();
    if (!same(got.dns, want.dns) || !same(got.ip, want.ip) || csr.sans.email?.length || csr.sans.uri?.length)
      throw new PkiError(
        'acme.bad_csr',
        `the CSR asks for ${[...got.dns, ...got.ip].join(', ') || 'no names'}, ` +
          `the order for ${[...want.dns, ...want.ip].join(', ')}`,
        { details: { csr: got, order: want } },
      );
    const t = clock.now();
    await store.commit({
      acme: { updateOrders: [{ id, patch: { status: 'processing', updatedAt: t }, onlyIfStatus: 'ready' }] },
    });
    const actor = accountActor(a);
    try {
      await deps.sign(
        {
          kind: 'leaf-csr',
          ca: dir.caId,
          profile: dir.profile,
          lifetimeMs: dir.lifetimeMs,
          csrPem,
          sans: { ...(want.dns.length ? { dns: want.dns } : {}), ...(want.ip.length ? { ip: want.ip } : {}) },
          commitWith: (row: CertificateRow) => ({
            acme: {
              updateOrders: [
                {
                  id,
                  patch: { status: 'valid', certificateId: row.id, updatedAt: row.createdAt },
                  onlyIfStatus: 'processing',
                },
              ],
            },
            audit: [
              auditEvent(clock, actor, 'acme.order_finalized', id, {
                certificateId: row.id,
                serial: row.serialHex,
                accountId: a.id,
              }),
            ],
          }),
        },
        { actor, provisioner: provisionerFor(dir, a, [...want.dns, ...want.ip]) },
      );
    } catch (e) {
      const err = toPkiError(e);
      const code = err.code.startsWith('csr.') || err.code.endsWith('key_type_not_allowed') ? 'acme.bad_csr' : err.code;
      const mapped = code === err.code ? err : new PkiError(code, err.message);
      await store
        .commit({
          acme: {
            updateOrders: [
              {
                id,
                patch: { status: 'invalid', error: problemOf(mapped), updatedAt: clock.now() },
                onlyIfStatus: 'processing',
              },
            ],
          },
        })
        .catch(() => undefined);
      throw mapped;
    }
    const fresh = (await store.acme.orderById(id))!;
    return { status: 200, body: orderJson(ctx, fresh, authz), location: orderUrl(ctx, id) };
  }

  async function certificate(a: AcmeAccountRow, certId: string): Promise<AcmeResponse> {
    const o = await store.acme.orderByCertificateId(certId);
    if (!o) throw notFound(`no certificate ${certId}`);
    if (o.accountId !== a.id) throw unauthorized(`certificate ${certId} was ordered by another account`);
    const row = await store.certificates.findById(certId);
    const ca = row ? await store.cas.findById(row.caId) : undefined;
    if (!row || !ca) throw notFound(`certificate ${certId} is no longer stored`);
    // leaf, then the issuing chain up to (not including) the self-signed root
    const chain = splitPemBundle(await deps.contexts.chainPem(ca)).map((d) => toPem(d, 'CERTIFICATE'));
    const top = chain.length ? parseCertificate(chain[chain.length - 1]!) : undefined;
    if (top && top.subjectDn === top.issuerDn) chain.pop();
    return {
      status: 200,
      body: [row.certificatePem.trim(), ...chain.map((c) => c.trim())].join('\n') + '\n',
      contentType: 'application/pem-certificate-chain',
    };
  }

  async function revoke(
    dir: AcmeDirectoryConfig,
    jws: AcmeJws,
    jwk: JWK,
    a: AcmeAccountRow | undefined,
    p: Record<string, unknown>,
  ): Promise<AcmeResponse> {
    if (typeof p.certificate !== 'string' || !/^[A-Za-z0-9_-]+$/.test(p.certificate))
      throw malformed('certificate must be base64url DER');
    let info: ReturnType<typeof parseCertificate>;
    try {
      info = parseCertificate(new Uint8Array(Buffer.from(p.certificate, 'base64url')));
    } catch {
      throw malformed('the certificate cannot be parsed');
    }
    const row = await store.certificates.findByFingerprint(info.fingerprintSha256);
    if (row?.caId !== dir.caId) throw notFound('this certificate was not issued by this directory');
    let reason: RevocationReason = 'unspecified';
    if (p.reason !== undefined) {
      const r = ACME_REASONS[p.reason as number];
      if (!Number.isInteger(p.reason) || !r)
        throw new PkiError(
          'acme.bad_revocation_reason',
          `reason ${JSON.stringify(p.reason)} is not accepted (0, 1, 3, 4, 5 or 9)`,
        );
      reason = r;
    }
    let actor: Actor;
    if (a) {
      const owner = await store.acme.orderByCertificateId(row.id);
      let allowed = owner?.accountId === a.id;
      if (!allowed) {
        const now = clock.now();
        const names = [
          ...(row.sans.dns ?? []).map((v) => ['dns', v.replace(/^\*\./, '')] as const),
          ...(row.sans.ip ?? []).map((v) => ['ip', v] as const),
        ];
        allowed = names.length > 0;
        for (const [type, value] of names)
          if (!(await store.acme.validAuthorizations(a.id, type, value, now)).length) allowed = false;
      }
      if (!allowed)
        throw unauthorized('the account neither ordered this certificate nor holds authorizations for all its names');
      actor = accountActor(a);
    } else {
      const spki = await jwkSpki(jwk, jws.header.alg!);
      if (Buffer.compare(Buffer.from(spki), Buffer.from(info.publicKey)) !== 0)
        throw unauthorized('the JWS is signed neither by an account nor by the key of the certificate');
      actor = {
        id: `acme:certkey:${info.fingerprintSha256.slice(0, 16)}`,
        name: 'ACME certificate key holder',
        role: 'operator',
        scopes: ['certificate:revoke'],
        resources: { cas: [dir.caId] },
      };
    }
    if (row.status === 'revoked')
      throw new PkiError('acme.already_revoked', `certificate ${row.serialHex} is already revoked`);
    try {
      await deps.certificates.revoke(row.id, reason, actor);
    } catch (e) {
      const err = toPkiError(e);
      if (err.code === 'certificate.already_revoked') throw new PkiError('acme.already_revoked', err.message);
      throw err;
    }
    return { status: 200 };
  }

  async function keyChange(
    ctx: AcmeRequestContext,
    dir: AcmeDirectoryConfig,
    a: AcmeAccountRow,
    p: Record<string, unknown>,
  ): Promise<AcmeResponse> {
    const inner = parseJws(p);
    if (!inner.header.jwk) throw malformed('the inner JWS of keyChange must carry the new key as jwk');
    if (inner.header.nonce !== undefined) throw malformed('the inner JWS of keyChange must not carry a nonce');
    if (inner.header.url !== ctx.url) throw malformed('the inner JWS url must equal the outer one');
    const newJwk = checkAccountJwk(inner.header.jwk);
    const body = payloadJson(await verifyJws(inner, newJwk)) ?? {};
    if (body.account !== accountUrl(ctx, a.id)) throw unauthorized('the inner JWS names another account');
    if (!body.oldKey || (await jwkThumbprint(body.oldKey)) !== a.thumbprint)
      throw unauthorized('oldKey is not the current key of the account');
    const thumbprint = await jwkThumbprint(newJwk);
    const other = await store.acme.accountByThumbprint(dir.caId, thumbprint);
    if (other) {
      throw new PkiError('acme.conflict', 'the new key is already the key of an account', {
        details: { location: accountUrl(ctx, other.id) },
      });
    }
    const t = clock.now();
    await store.commit({
      acme: { updateAccounts: [{ id: a.id, patch: { jwk: publicJwk(newJwk), thumbprint, updatedAt: t } }] },
      audit: [
        auditEvent(clock, accountActor(a), 'acme.account_key_changed', a.id, {
          oldThumbprint: a.thumbprint,
          newThumbprint: thumbprint,
        }),
      ],
    });
    return { status: 200, body: accountJson(ctx, { ...a, thumbprint }), location: accountUrl(ctx, a.id) };
  }

  async function renewalInfo(ctx: AcmeRequestContext, certId: string): Promise<AcmeResponse> {
    const dir = await loadDirectory(ctx.directory);
    const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(certId);
    if (!m) throw malformed('the renewalInfo path must be <base64url AKI keyIdentifier>.<base64url serial>');
    const akiHex = Buffer.from(m[1]!, 'base64url').toString('hex');
    const serialHex = Buffer.from(m[2]!, 'base64url')
      .toString('hex')
      .replace(/^(00)+(?=.)/, '');
    const row = await store.certificates.findBySerial(dir.caId, serialHex);
    const ca = await store.cas.findById(dir.caId);
    if (!row || !ca || (ca.skiHex && ca.skiHex.toLowerCase() !== akiHex))
      throw notFound('no certificate with this certID was issued by this directory');
    const now = clock.now();
    const life = row.notAfter - row.notBefore;
    let start = row.notAfter - life / 3;
    let end = row.notAfter - life / 6;
    // revoked certificate, or an issuing CA that is revoked, disabled or expiring before it: renew now
    const chain: { status: string; notAfter: number | null }[] = [];
    for (let c: typeof ca | undefined = ca; c; c = c.parentId ? await store.cas.findById(c.parentId) : undefined)
      chain.push(c);
    const bad = chain.find((c) => c.status !== 'active' || (c.notAfter !== null && c.notAfter < row.notAfter));
    if (row.status === 'revoked' || bad) {
      start = now - 3_600_000;
      end = now;
    }
    return {
      status: 200,
      body: {
        suggestedWindow: { start: iso(Math.floor(start)), end: iso(Math.floor(end)) },
      },
      retryAfterSeconds: 21_600,
    };
  }

  return {
    validation: deps.validation,
    enable,
    disable,
    listDirectories,
    createEabKey,
    listEabKeys,
    revokeEabKey,
    listAccounts,
    directory,
    newNonce,
    checkDirectory: async (ref) => {
      await loadDirectory(ref);
    },
    post,
    renewalInfo,
    async settle() {
      while (inflight.size) await Promise.allSettled([...inflight]);
    },
  };
}
