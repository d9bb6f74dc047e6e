import { createHash } from 'node:crypto';
import type { z as Zod } from 'zod';
import type { buildSvidSignInputSchema } from './svid-sign-schema';
import { PkiError, toPkiError, type Clock } from '@pkim/shared';
import {
  decodeCsrAsync,
  decodeCsrUnverified,
  parseCertificate,
  splitPemBundle,
  toPem,
  verifyCertificateSignature,
  type CsrContent,
} from '@pkim/core';
import type { CaRow, CertificateRow, SpiffeCaRole, SpiffeCaRow, SpiffeSvidView, Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { Actor, AuthService, CaView } from '../types';
import { authorize, hasPermission } from '../permissions';
import { auditEvent } from '../audit-service';
import type { SignFunction } from '../signing/sign-request';
import type { Provisioner } from '../signing/provisioner';
import type { SpiffeConfig } from './spiffe-config';
import {
  SERVICES_SERVICE_TYPES,
  TRANSPORT_SERVICE_TYPES,
  allowPatternsMatch,
  checkInstanceId,
  checkServiceType,
  checkTrustDomain,
  extKeyUsageFor,
  intermediateRoleFor,
  isServiceType,
  parseSpiffeId,
  spiffeIdOf,
  type ServiceType,
  type SpiffeIntermediateRole,
} from './spiffe-id';

/** The profile every SVID is issued with (core's built-in `spiffe-svid`). */
export const SVID_PROFILE = 'spiffe-svid';

let builtSvidSignInputSchema: ReturnType<typeof buildSvidSignInputSchema> | undefined;

/**
 * `POST /pki/csr/sign` body (requirements: `{csrPem, serviceType, instanceId, ttlSeconds?}`); zod loads and the
 * schema is built on first use, not by every CLI command that loads the authority (start-up time, docs/benchmarks.md).
 */
export async function svidSignInputSchema(): Promise<ReturnType<typeof buildSvidSignInputSchema>> {
  // built once: a dynamic import() per request is a module-map lookup and two promises on the SVID route
  if (builtSvidSignInputSchema) return builtSvidSignInputSchema;
  const { buildSvidSignInputSchema: build } = await import('./svid-sign-schema');
  return (builtSvidSignInputSchema ??= build());
}
export type SvidSignInput = Zod.infer<ReturnType<typeof buildSvidSignInputSchema>>;

/** `POST /pki/csr/sign` answer. */
export interface SvidSignResult {
  certificatePem: string;
  /** issuing intermediate up to, not including, the root */
  chain: string[];
  expiresAt: string;
  /** exactly halfway between notBefore and notAfter */
  renewAfter: string;
  /** SHA-256 of the DER, base64url without padding */
  fingerprint: string;
  /** lowercase hex */
  serial: string;
  spiffeId: string;
}

/** `GET /pki/ca/bundle` answer. */
export interface SpiffeBundle {
  trustDomain: string;
  /** services intermediates (current and retiring) + root */
  servicesBundle: string[];
  /** transport intermediates (current and retiring) + root */
  transportBundle: string[];
  /** changes whenever the bundle changes (also the HTTP ETag) */
  version: string;
  /** earliest notAfter of the CAs in the bundle */
  expiresAt: string;
}

export interface SpiffeCaInfo {
  id: string;
  name: string;
  role: SpiffeCaRole;
  /** `current`: signs its plane's SVIDs; `superseded`: replaced by a rotation, in the bundle until `inBundleUntil` */
  state: 'current' | 'superseded';
  fingerprint: string;
  algorithm: string;
  notAfter: string;
  /** a superseded CA leaves the bundle then (its last SVID's expiry); null for a current one */
  inBundleUntil: string | null;
  /** unexpired SVIDs it signed (they chain to it) */
  issuedCertCount: number;
}

export interface SpiffeStatus {
  status: 'healthy' | 'degraded' | 'uninitialized';
  trustDomain: string | null;
  /** the current CA of each role (null: missing, see warnings) */
  rootCa: SpiffeCaInfo | null;
  servicesCa: SpiffeCaInfo | null;
  transportCa: SpiffeCaInfo | null;
  /** every CA in the trust bundle: the root, then each plane's current CA and its superseded ones, newest first */
  bundleCas: SpiffeCaInfo[];
  activeCertCount: number;
  supersededCertCount: number;
  expiredCertCount: number;
  deniedIdentityCount: number;
  warnings: string[];
}

export interface SpiffeInitResult {
  trustDomain: string;
  /** roles created by this call (empty when everything existed: init is idempotent) */
  created: SpiffeCaRole[];
  rootCaId: string;
  servicesCaId: string;
  transportCaId: string;
}

export interface SvidListItem {
  certificateId: string;
  spiffeId: string;
  serviceType: string;
  serial: string;
  fingerprint: string;
  caId: string;
  notBefore: string;
  expiresAt: string;
  /** current | superseded | expired | revoked */
  state: 'current' | 'superseded' | 'expired' | 'revoked';
  supersededBy: string | null;
}

export interface DeniedIdentity {
  spiffeId: string;
  reason: string;
  deniedBy: string;
  deniedAt: string;
}

/** How the caller of `POST /pki/csr/sign` authenticated (the transport passes what it saw). */
export interface SvidCredentials {
  /** the Bearer token, when an Authorization header was sent */
  bearerToken?: string;
  /** DER of the client certificate of the TLS connection (mTLS renewal) */
  clientCertificate?: Uint8Array;
  /** for the audit trail */
  ip?: string;
}

export interface SpiffeService {
  readonly config: SpiffeConfig;
  /** creates root, services and transport CA (whatever is missing); idempotent for the same trust domain */
  init(input: { trustDomain: string }, actor: Actor): Promise<SpiffeInitResult>;
  /** the trust bundle; `spiffe.not_initialized` before init */
  bundle(): Promise<SpiffeBundle>;
  /** signs an SVID from a CSR for a token holder or a workload renewing with its current SVID (refusals audited) */
  sign(body: unknown, credentials: SvidCredentials): Promise<SvidSignResult>;
  deny(
    input: { spiffeId: string; reason: string },
    actor: Actor,
  ): Promise<DeniedIdentity & { currentCertificates: { serial: string; expiresAt: string }[] }>;
  allow(input: { spiffeId: string }, actor: Actor): Promise<{ spiffeId: string; wasDenied: boolean }>;
  listDenied(actor: Actor): Promise<DeniedIdentity[]>;
  status(actor: Actor): Promise<SpiffeStatus>;
  list(
    query: { spiffeId?: string; serviceType?: string; current?: boolean; limit?: number; cursor?: string | null },
    actor: Actor,
  ): Promise<{ items: SvidListItem[]; nextCursor: string | null }>;
  /** replaces the services or transport CA; the old one stays in the bundle until its last SVID expires */
  rotate(
    input: { role: SpiffeIntermediateRole },
    actor: Actor,
  ): Promise<{ role: SpiffeIntermediateRole; oldCaId: string; newCaId: string; oldKeptUntil: string }>;
  /** deletes SVID rows (and their certificate rows) expired for longer than `purgeAfter` */
  purge(actor: Actor): Promise<{ purged: number }>;
}

export interface SpiffeServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  auth: Pick<AuthService, 'authenticateToken'>;
  /** the ONE signing pipeline */
  sign: SignFunction;
  config: SpiffeConfig;
}

/**
 * how long the SVID route reuses the SPIFFE CAs it read while nothing says they changed, ms of clock time (as the
 * Vault mount view, MOUNT_RECHECK_MS: PostgreSQL's signal stands still while its listening connection is down)
 */
export const STATE_RECHECK_MS = 1000;

const iso = (ms: number): string => new Date(ms).toISOString();
const b64url = (der: Uint8Array): string => createHash('sha256').update(der).digest('base64url');

function caName(role: SpiffeCaRole, trustDomain: string, generation: number): string {
  const suffix = generation > 1 ? `-g${generation}` : '';
  return `spiffe-${role}-${trustDomain}`.slice(0, 64 - suffix.length) + suffix;
}

const SUBJECT_CN: Record<SpiffeCaRole, string> = {
  root: 'SPIFFE Root CA',
  services: 'SPIFFE Services CA',
  transport: 'SPIFFE Transport CA',
};

/** What each intermediate may sign, as URI path prefixes under the trust domain (enforced by the linter). */
function permittedPrefixes(role: SpiffeIntermediateRole, td: string): string[] {
  const types = role === 'transport' ? TRANSPORT_SERVICE_TYPES : SERVICES_SERVICE_TYPES;
  return types.map((t) => `spiffe://${td}/${t}/`);
}

export function createSpiffeService(deps: SpiffeServiceDeps): SpiffeService {
  const { store, clock, logger, config } = deps;

  interface State {
    trustDomain: string;
    rows: SpiffeCaRow[];
    cas: Map<string, CaRow>;
    active: Partial<Record<SpiffeCaRole, CaRow>>;
  }

  /**
   * The SPIFFE CAs and their CA rows, read by id — not every CA of the instance (`cas.list()`), which grows with every
   * CA anyone creates: the bundle (`GET /pki/ca/bundle`, polled by every workload) and the status read each SPIFFE CA;
   * `signing` (the SVID route, per request) only the active root's and that intermediate's.
   */
  async function state(signing?: SpiffeIntermediateRole): Promise<State | undefined> {
    const rows = await store.spiffe.listCas();
    if (!rows.length) return undefined;
    const cas = new Map<string, CaRow>();
    for (const r of rows) {
      if (signing && (r.status !== 'active' || (r.role !== 'root' && r.role !== signing))) continue;
      const ca = await store.cas.findById(r.id);
      if (ca) cas.set(ca.id, ca);
    }
    const active: State['active'] = {};
    for (const r of rows) {
      const ca = cas.get(r.id);
      if (r.status === 'active' && ca) active[r.role] = ca;
    }
    return { trustDomain: rows[0]!.trustDomain, rows, cas, active };
  }

  /**
   * The SVID route's state (`state(signing)`, per request), kept while nothing may have changed it — the Vault mount
   * view's rule (vault-mount-service.ts `requestView`): no SPIFFE CA commit of this service since (`ownCommits`), no
   * CA row written by this process (Store.caRowWrites: a CA revoked, disabled, deleted or created), the same
   * Store.otherCommits (SQLite: no other connection committed; PostgreSQL: no other instance announced a CA row or a
   * SPIFFE CA change), and at most STATE_RECHECK_MS of clock time. The counters are read before the state: a change
   * during the read makes the next request read it again. A store that does not count its CA row writes keeps
   * nothing. Issue #12: `listCas` and the CA rows were read per SVID request (≈ 87 µs of the main thread,
   * docs/benchmarks-record.md session 26 "HTTP sign routes").
   */
  const kept = new Map<
    SpiffeIntermediateRole,
    { state: State; own: number; caWrites: number; others: number | undefined; at: number }
  >();
  let ownCommits = 0;
  /** every commit of this service that changes the SPIFFE CAs: it ends what `signingState` keeps */
  async function commitCas(unit: Parameters<Store['commit']>[0]): ReturnType<Store['commit']> {
    try {
      return await store.commit(unit);
    } finally {
      ownCommits++;
      kept.clear();
    }
  }
  async function signingState(signing: SpiffeIntermediateRole): Promise<State | undefined> {
    const own = ownCommits;
    const caWrites = store.caRowWrites;
    const others = store.otherCommits;
    const now = clock.now();
    const k = kept.get(signing);
    if (
      k?.own === own &&
      k.caWrites === caWrites &&
      k.others === others &&
      now >= k.at &&
      now - k.at < STATE_RECHECK_MS
    ) {
      return k.state;
    }
    const s = await state(signing);
    if (s && caWrites !== undefined && own === ownCommits)
      kept.set(signing, { state: s, own, caWrites, others, at: now });
    else kept.delete(signing);
    return s;
  }

  async function requireState(signing?: SpiffeIntermediateRole): Promise<State> {
    const s = signing ? await signingState(signing) : await state();
    if (!s?.active.root)
      throw new PkiError(
        'spiffe.not_initialized',
        'SPIFFE is not initialised: run pkim spiffe init --trust-domain <td>',
      );
    return s;
  }

  async function createCa(
    role: SpiffeCaRole,
    td: string,
    generation: number,
    root: CaRow | undefined,
    actor: Actor,
  ): Promise<CaView> {
    const now = clock.now();
    const subject = `CN=${SUBJECT_CN[role]}${generation > 1 ? ` G${generation}` : ''},O=${td}`;
    if (role === 'root') {
      return deps.sign(
        {
          kind: 'root-ca' as const,
          name: caName(role, td, generation),
          subject,
          keyType: config.caKeyType,
          backend: config.caBackend,
          lifetimeMs: config.rootValidityMs,
          pathLen: 1,
        },
        { actor },
      );
    }
    const lifetimeMs = Math.min(config.intermediateValidityMs, (root!.notAfter ?? now) - now);
    return deps.sign(
      {
        kind: 'intermediate-ca' as const,
        parent: root!.id,
        name: caName(role, td, generation),
        subject,
        keyType: config.caKeyType,
        backend: config.caBackend,
        lifetimeMs,
        pathLen: 0,
        nameConstraints: { permittedUri: [td], permittedUriPrefixes: permittedPrefixes(role, td) },
      },
      { actor },
    );
  }

  async function register(ca: CaRow, role: SpiffeCaRole, td: string, actor: Actor, extra: object = {}): Promise<void> {
    const t = clock.now();
    await commitCas({
      insertSpiffeCas: [
        { id: ca.id, trustDomain: td, role, status: 'active', rotatedAt: null, keepUntil: null, createdAt: t },
      ],
      audit: [
        auditEvent(clock, actor, 'spiffe.ca_registered', ca.id, { trustDomain: td, role, name: ca.name, ...extra }),
      ],
    });
  }

  async function init(input: { trustDomain: string }, actor: Actor): Promise<SpiffeInitResult> {
    authorize(actor, 'spiffe:manage');
    const td = checkTrustDomain(input.trustDomain);
    const s = await state();
    if (s && s.trustDomain !== td)
      throw new PkiError(
        'spiffe.trust_domain_mismatch',
        `SPIFFE is already initialised for trust domain ${s.trustDomain}, not ${td}`,
        { details: { trustDomain: s.trustDomain } },
      );
    const created: SpiffeCaRole[] = [];
    let root = s?.active.root;
    if (!root) {
      root = (await createCa('root', td, 1, undefined, actor)).ca;
      await register(root, 'root', td, actor);
      created.push('root');
    }
    const out: Partial<Record<SpiffeCaRole, CaRow>> = { root };
    for (const role of ['services', 'transport'] as const) {
      let ca = s?.active[role];
      if (!ca) {
        const generation = (s?.rows.filter((r) => r.role === role).length ?? 0) + 1;
        ca = (await createCa(role, td, generation, root, actor)).ca;
        await register(ca, role, td, actor);
        created.push(role);
      }
      out[role] = ca;
    }
    if (created.length) logger.info({ trustDomain: td, created }, 'SPIFFE initialised');
    return {
      trustDomain: td,
      created,
      rootCaId: out.root!.id,
      servicesCaId: out.services!.id,
      transportCaId: out.transport!.id,
    };
  }

  /** whether a SPIFFE CA belongs in the bundle now: the active one, a retiring one until its keepUntil */
  const inBundle = (r: SpiffeCaRow, now: number): boolean => r.status === 'active' || (r.keepUntil ?? 0) > now;

  /**
   * CAs of a role that belong in the bundle now: the active one first, then retiring ones not yet past keepUntil,
   * the most recently retired first (not by creation time: a CA and its successor may share a millisecond).
   */
  function bundleCas(s: State, role: SpiffeCaRole, now: number): CaRow[] {
    return s.rows
      .filter((r) => r.role === role && inBundle(r, now))
      .sort(
        (a, b) =>
          Number(b.status === 'active') - Number(a.status === 'active') || (b.rotatedAt ?? 0) - (a.rotatedAt ?? 0),
      )
      .map((r) => s.cas.get(r.id))
      .filter((c): c is CaRow => !!c && !!c.certificatePem);
  }

  async function bundle(): Promise<SpiffeBundle> {
    const s = await requireState();
    const now = clock.now();
    const root = s.active.root!;
    const services = bundleCas(s, 'services', now);
    const transport = bundleCas(s, 'transport', now);
    const all = [...services, ...transport, root];
    const pem = (c: CaRow) => c.certificatePem!.trim() + '\n';
    const version = createHash('sha256')
      .update(all.map((c) => c.fingerprintSha256).join(','))
      .digest('hex')
      .slice(0, 16);
    return {
      trustDomain: s.trustDomain,
      servicesBundle: [...services, root].map(pem),
      transportBundle: [...transport, root].map(pem),
      version,
      expiresAt: iso(Math.min(...all.map((c) => c.notAfter ?? Number.MAX_SAFE_INTEGER))),
    };
  }

  /**
   * mTLS renewal: the client certificate must be an unexpired SVID issued here, verifying against its CA, and that CA
   * must be in the trust bundle now — the current CA of its plane, or one a rotation superseded until it leaves the
   * bundle (as SPIRE verifies an agent's SVID against the bundle: every authority still in it). The renewal is signed
   * by the current CA, so a rotation moves each workload to it at its next renewal. A superseded SVID (a newer one of
   * the identity exists) renews too: docs/spiffe.md "Renewal after a rotation".
   */
  async function authenticateSvid(der: Uint8Array, s: State): Promise<{ actor: Actor; svid: SpiffeSvidView }> {
    const invalid = (why: string) =>
      new PkiError('spiffe.svid_invalid', `the client certificate is not a current SVID: ${why}`);
    let info: ReturnType<typeof parseCertificate>;
    try {
      info = parseCertificate(der);
    } catch {
      throw invalid('it cannot be parsed');
    }
    const row = await store.certificates.findByFingerprint(info.fingerprintSha256);
    const svid = row ? await store.spiffe.findSvid(row.id) : undefined;
    if (!row || !svid) throw invalid('it was not issued by this SPIFFE authority');
    const ca = s.cas.get(row.caId);
    const spiffeCa = s.rows.find((r) => r.id === row.caId);
    if (
      !ca?.certificatePem ||
      !spiffeCa ||
      !verifyCertificateSignature(der, parseCertificate(ca.certificatePem).publicKey)
    )
      throw invalid('it does not verify against a SPIFFE CA of this trust domain');
    const now = clock.now();
    if (now < info.notBefore || now >= info.notAfter) throw invalid('it is expired or not yet valid');
    if (!inBundle(spiffeCa, now))
      throw invalid(
        `its CA ${ca.name} was superseded by a rotation and left the trust bundle at ${iso(spiffeCa.keepUntil ?? 0)}`,
      );
    if (row.status === 'revoked')
      throw new PkiError('spiffe.svid_revoked', `the SVID ${row.serialHex} presented for renewal is revoked`, {
        details: { serial: row.serialHex, spiffeId: svid.spiffeId },
      });
    return {
      actor: { id: `svid:${row.id}`, name: svid.spiffeId, role: 'operator', scopes: ['spiffe:sign'] },
      svid,
    };
  }

  function provisionerFor(td: string, caId: string, spiffeId: string, serviceType: ServiceType): Provisioner {
    return {
      kind: 'spiffe',
      id: `spiffe:${td}`,
      name: `SPIFFE ${td}`,
      permission: 'spiffe:sign',
      policy: {
        cas: [caId],
        profiles: [SVID_PROFILE],
        names: [spiffeId],
        keyTypes: [...config.keyTypes],
        maxLifetimeMs: config.maxTtlMs,
        allowCaCertificates: false,
      },
      modifiers: {
        defaultProfile: SVID_PROFILE,
        defaultLifetimeMs: config.defaultTtlMs,
        extKeyUsage: extKeyUsageFor(serviceType),
      },
    };
  }

  /** the CSR's identity and key for this SPIFFE ID, and the CA that signs it */
  function checkCsrIdentity(csr: CsrContent, spiffeId: string, st: State, serviceType: ServiceType) {
    const uris = csr.sans.uri ?? [];
    const others = (csr.sans.dns?.length ?? 0) + (csr.sans.ip?.length ?? 0) + (csr.sans.email?.length ?? 0);
    if (uris.length !== 1 || uris[0] !== spiffeId || others > 0)
      throw new PkiError(
        'spiffe.identity_mismatch',
        `the CSR must carry exactly one SAN, the URI ${spiffeId} ` +
          `(it has ${[...uris, ...(csr.sans.dns ?? [])].join(', ') || 'none'})`,
        { details: { spiffeId, csrUris: uris } },
      );
    if (!config.keyTypes.includes(csr.keyType))
      throw new PkiError(
        'spiffe.key_type_not_allowed',
        `SVID keys must be ${config.keyTypes.join(' or ')}, the CSR has ${csr.keyType}`,
        { details: { keyType: csr.keyType, allowed: config.keyTypes } },
      );
    // 5. the ONE signing pipeline, with the SPIFFE provisioner
    const role = intermediateRoleFor(serviceType);
    const ca = st.active[role];
    if (!ca)
      throw new PkiError(
        'spiffe.not_initialized',
        `no active ${role} CA: run pkim spiffe init --trust-domain ${st.trustDomain}`,
      );
    return ca;
  }

  /** an SVID answer's chain: the issuing intermediate up to, not including, the root (the last CA chain, kept) */
  let lastChain: { pem: string; chain: readonly string[] } | undefined;
  function chainOf(chainPem: string): readonly string[] {
    if (lastChain?.pem !== chainPem) {
      const chain = splitPemBundle(chainPem).map((d) => toPem(d, 'CERTIFICATE'));
      chain.pop();
      lastChain = { pem: chainPem, chain };
    }
    return lastChain.chain;
  }

  /** `check`, or when it refuses, the CSR's own error first (its signature verified) */
  async function csrFirst<T>(csrPem: string, check: () => T): Promise<T> {
    try {
      return check();
    } catch (e) {
      await decodeCsrAsync(csrPem);
      throw e;
    }
  }

  async function sign(body: unknown, cred: SvidCredentials): Promise<SvidSignResult> {
    let actor: Actor | undefined;
    let channel: 'token' | 'mtls' | 'none' = 'none';
    let requested: { serviceType?: unknown; instanceId?: unknown; spiffeId?: string } = {};
    let audited = false;
    try {
      // 1. who is asking: an API token with spiffe:sign, or a workload with its current SVID
      let renewing: SpiffeSvidView | undefined;
      // a renewal verifies the presented SVID against its CA (any of the trust domain's); a token needs no CA yet
      let s: State | undefined;
      if (cred.bearerToken !== undefined) {
        channel = 'token';
        actor = await deps.auth.authenticateToken(cred.bearerToken);
        if (!actor) throw new PkiError('auth.unauthenticated', 'invalid, expired or revoked token');
        if (!hasPermission(actor, 'spiffe:sign'))
          throw new PkiError('auth.forbidden', "this token lacks the 'spiffe:sign' scope", {
            details: { permission: 'spiffe:sign' },
          });
      } else if (cred.clientCertificate) {
        channel = 'mtls';
        s = await state();
        if (!s?.active.root) throw new PkiError('spiffe.not_initialized', 'SPIFFE is not initialised');
        const r = await authenticateSvid(cred.clientCertificate, s);
        actor = r.actor;
        renewing = r.svid;
      } else {
        throw new PkiError(
          'auth.unauthenticated',
          'authentication required: Authorization: Bearer <token with spiffe:sign>, ' +
            'or a client certificate (current SVID)',
        );
      }
      // 2. the request
      if (body && typeof body === 'object')
        requested = {
          serviceType: (body as Record<string, unknown>).serviceType,
          instanceId: (body as Record<string, unknown>).instanceId,
        };
      const parsed = (await svidSignInputSchema()).safeParse(body);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((x) => `${x.path.join('.') || 'body'}: ${x.message}`);
        throw new PkiError('input.invalid', `invalid request: ${issues.join('; ')}`);
      }
      const input = parsed.data;
      const st = s?.active.root
        ? s
        : await requireState(isServiceType(input.serviceType) ? intermediateRoleFor(input.serviceType) : 'services');
      const td = st.trustDomain;
      const serviceType = checkServiceType(input.serviceType);
      const instanceId = checkInstanceId(input.instanceId);
      const spiffeId = spiffeIdOf(td, serviceType, instanceId);
      requested.spiffeId = spiffeId;
      // 3. may this caller have this identity?
      if (renewing && renewing.spiffeId !== spiffeId)
        throw new PkiError(
          'spiffe.identity_not_allowed',
          `an SVID for ${renewing.spiffeId} can only renew that identity, not ${spiffeId}`,
          { details: { spiffeId, presented: renewing.spiffeId } },
        );
      if (!renewing) {
        const patterns = actor.resources?.spiffe;
        if (patterns && !allowPatternsMatch(patterns, serviceType, instanceId))
          throw new PkiError('spiffe.identity_not_allowed', `this token may not request ${spiffeId}`, {
            details: { spiffeId, allowed: patterns },
          });
      }
      const denied = await store.spiffe.findDenied(spiffeId);
      if (denied)
        throw new PkiError('spiffe.identity_denied', `${spiffeId} is denied: ${denied.reason}`, {
          details: { spiffeId, reason: denied.reason },
        });
      // 4. lifetime, CSR identity and key
      const ttlMs = input.ttlSeconds !== undefined ? input.ttlSeconds * 1000 : config.defaultTtlMs;
      if (ttlMs > config.maxTtlMs)
        throw new PkiError(
          'spiffe.ttl_exceeded',
          `ttlSeconds ${input.ttlSeconds} exceeds the maximum of ${config.maxTtlMs / 1000} s`,
          { details: { ttlSeconds: input.ttlSeconds, maxTtlSeconds: config.maxTtlMs / 1000 } },
        );
      if (ttlMs < 60_000) throw new PkiError('input.invalid', 'ttlSeconds must be at least 60');
      // the CSR read without verifying its signature: the pipeline verifies it before signing (one P-384
      // verification per request, ≈ 0.5 ms, instead of two); a CSR refused here is verified first, so one without
      // proof of possession is refused as such, as when it was verified here
      const csr = decodeCsrUnverified(input.csrPem);
      const ca = await csrFirst(input.csrPem, () => checkCsrIdentity(csr, spiffeId, st, serviceType));
      audited = true; // from here on the pipeline audits its own failures (certificate.issue_failed)
      const requester = actor;
      const issue = (by: CaRow) =>
        deps.sign(
          {
            kind: 'leaf-csr' as const,
            ca: by.id,
            profile: SVID_PROFILE,
            lifetimeMs: ttlMs,
            csrPem: input.csrPem,
            subject: { organization: td },
            sans: { uri: [spiffeId] },
            commitWith: (row: CertificateRow) => ({
              insertSpiffeSvids: [
                {
                  id: row.id,
                  caId: row.caId,
                  spiffeId,
                  serviceType,
                  notAfter: row.notAfter,
                  supersededBy: null,
                  supersededAt: null,
                  createdAt: row.createdAt,
                },
              ],
              supersedeSpiffeSvids: [{ spiffeId, by: row.id, at: row.createdAt }],
            }),
          },
          { actor: requester, provisioner: provisionerFor(td, by.id, spiffeId, serviceType) },
        );
      let issued: Awaited<ReturnType<typeof issue>>;
      try {
        issued = await issue(ca);
      } catch (e) {
        // a rotation superseded the CA between this request's read of it and its commit, which refused the SVID
        // (spiffe.ca_rotated: the old CA leaves the bundle before the SVID would expire): signed once more by the
        // plane's current CA, read again — a second rotation meanwhile answers the error (503, retryable)
        if (toPkiError(e).code !== 'spiffe.ca_rotated') throw e;
        const role = intermediateRoleFor(serviceType);
        kept.delete(role);
        const next = (await state(role))?.active[role];
        if (!next || next.id === ca.id) throw e;
        issued = await issue(next);
      }
      const row = issued.certificate;
      const chain = [...chainOf(issued.chainPem)];
      const der = splitPemBundle(issued.certificatePem)[0]!;
      return {
        certificatePem: issued.certificatePem,
        chain,
        expiresAt: iso(row.notAfter),
        renewAfter: iso(row.notBefore + (row.notAfter - row.notBefore) / 2),
        fingerprint: b64url(der),
        serial: row.serialHex,
        spiffeId,
      };
    } catch (e) {
      const err = toPkiError(e);
      if (!audited) {
        try {
          await store.audit.append(
            auditEvent(
              clock,
              actor ?? 'anonymous',
              'spiffe.sign_failed',
              requested.spiffeId ?? null,
              {
                code: err.code,
                message: err.message,
                channel,
                serviceType: typeof requested.serviceType === 'string' ? requested.serviceType.slice(0, 64) : undefined,
                instanceId: typeof requested.instanceId === 'string' ? requested.instanceId.slice(0, 256) : undefined,
                ip: cred.ip,
              },
              'failure',
            ),
          );
        } catch (auditError) {
          logger.error({ err: toPkiError(auditError).message }, 'could not audit a refused SVID request');
        }
      }
      throw err;
    }
  }

  function deniedView(r: { id: string; reason: string; deniedBy: string; deniedAt: number }): DeniedIdentity {
    return { spiffeId: r.id, reason: r.reason, deniedBy: r.deniedBy, deniedAt: iso(r.deniedAt) };
  }

  /** SPIFFE IDs on the deny list: of the initialised trust domain, or any well-formed one before init. */
  async function checkId(spiffeId: string): Promise<string> {
    const s = await state();
    if (s) return parseSpiffeId(spiffeId, s.trustDomain).spiffeId;
    const m = /^spiffe:\/\/([^/]+)\//.exec(typeof spiffeId === 'string' ? spiffeId : '');
    if (!m)
      throw new PkiError('spiffe.invalid_id', `'${String(spiffeId)}' is not a SPIFFE ID (spiffe://<td>/<type>/<id>)`);
    return parseSpiffeId(spiffeId, checkTrustDomain(m[1]!)).spiffeId;
  }

  async function deny(input: { spiffeId: string; reason: string }, actor: Actor) {
    authorize(actor, 'spiffe:manage');
    const spiffeId = await checkId(input.spiffeId);
    const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
    if (!reason || reason.length > 500) throw new PkiError('input.invalid', 'a reason of 1-500 characters is required');
    const now = clock.now();
    const row = { id: spiffeId, reason, deniedBy: actor.id, deniedAt: now };
    const current = await store.spiffe.listSvids({ spiffeId, currentAt: now, limit: 1000 });
    await store.commit({
      denySpiffeIds: [row],
      audit: [
        auditEvent(clock, actor, 'spiffe.identity_denied', spiffeId, {
          reason,
          currentCertificates: current.items.map((c) => c.serialHex),
        }),
      ],
    });
    return {
      ...deniedView(row),
      // passive revocation: these stay valid until they expire; no renewal is granted
      currentCertificates: current.items.map((c) => ({ serial: c.serialHex, expiresAt: iso(c.notAfter) })),
    };
  }

  async function allow(input: { spiffeId: string }, actor: Actor) {
    authorize(actor, 'spiffe:manage');
    const spiffeId = await checkId(input.spiffeId);
    const was = await store.spiffe.findDenied(spiffeId);
    await store.commit({
      allowSpiffeIds: [spiffeId],
      audit: [auditEvent(clock, actor, 'spiffe.identity_allowed', spiffeId, { wasDenied: !!was })],
    });
    return { spiffeId, wasDenied: !!was };
  }

  async function listDenied(actor: Actor) {
    authorize(actor, 'spiffe:manage');
    return (await store.spiffe.listDenied()).map(deniedView);
  }

  async function status(actor: Actor): Promise<SpiffeStatus> {
    authorize(actor, 'spiffe:manage');
    const s = await state();
    const now = clock.now();
    const denied = (await store.spiffe.listDenied()).length;
    if (!s?.active.root) {
      return {
        status: 'uninitialized',
        trustDomain: config.trustDomain ?? null,
        rootCa: null,
        servicesCa: null,
        transportCa: null,
        bundleCas: [],
        activeCertCount: 0,
        supersededCertCount: 0,
        expiredCertCount: 0,
        deniedIdentityCount: denied,
        warnings: ['SPIFFE is not initialised (pkim spiffe init --trust-domain <td>)'],
      };
    }
    const counts = await store.spiffe.countSvids(now);
    const byCa = new Map((await store.spiffe.svidsByCa(now)).map((r) => [r.caId, r.count]));
    const info = (r: SpiffeCaRow): SpiffeCaInfo | null => {
      const ca = s.cas.get(r.id);
      if (!ca) return null;
      return {
        id: ca.id,
        name: ca.name,
        role: r.role,
        state: r.status === 'active' ? 'current' : 'superseded',
        fingerprint: ca.fingerprintSha256 ?? '',
        algorithm: ca.keyType,
        notAfter: iso(ca.notAfter ?? 0),
        inBundleUntil: r.status === 'active' || r.keepUntil === null ? null : iso(r.keepUntil),
        issuedCertCount: byCa.get(ca.id) ?? 0,
      };
    };
    const activeRow = (role: SpiffeCaRole) => s.rows.find((r) => r.role === role && r.status === 'active');
    const warnings: string[] = [];
    const labels: Record<SpiffeCaRole, string> = {
      root: 'root CA',
      services: 'services CA',
      transport: 'transport CA',
    };
    for (const role of ['root', 'services', 'transport'] as const) {
      const ca = s.active[role];
      if (!ca) {
        warnings.push(`the ${labels[role]} is missing: run pkim spiffe init --trust-domain ${s.trustDomain}`);
        continue;
      }
      const notAfter = ca.notAfter ?? 0;
      if (notAfter <= now) warnings.push(`the ${labels[role]} ${ca.name} expired at ${iso(notAfter)}`);
      else if (notAfter - now <= config.warnBeforeMs)
        warnings.push(
          `the ${labels[role]} ${ca.name} expires in ${Math.ceil((notAfter - now) / 86_400_000)} day(s), ` +
            `at ${iso(notAfter)}` +
            (role === 'root' ? '' : `: rotate it (pkim spiffe rotate ${role})`),
        );
      if (ca.status !== 'active')
        warnings.push(`the ${labels[role]} ${ca.name} is ${ca.status}: SVIDs cannot be issued`);
    }
    // the bundle's CAs (bundleCas: what GET /pki/ca/bundle publishes), the root first
    const rowOf = new Map(s.rows.map((r) => [r.id, r]));
    const inBundle = [
      ...(s.active.root ? [s.active.root] : []),
      ...bundleCas(s, 'services', now),
      ...bundleCas(s, 'transport', now),
    ];
    return {
      status: warnings.length ? 'degraded' : 'healthy',
      trustDomain: s.trustDomain,
      rootCa: activeRow('root') ? info(activeRow('root')!) : null,
      servicesCa: activeRow('services') ? info(activeRow('services')!) : null,
      transportCa: activeRow('transport') ? info(activeRow('transport')!) : null,
      bundleCas: inBundle.map((c) => info(rowOf.get(c.id)!)).filter((x): x is SpiffeCaInfo => !!x),
      activeCertCount: counts.current,
      supersededCertCount: counts.superseded,
      expiredCertCount: counts.expired,
      deniedIdentityCount: denied,
      warnings,
    };
  }

  async function list(
    query: { spiffeId?: string; serviceType?: string; current?: boolean; limit?: number; cursor?: string | null },
    actor: Actor,
  ) {
    authorize(actor, 'spiffe:manage');
    const now = clock.now();
    const page = await store.spiffe.listSvids({
      spiffeId: query.spiffeId,
      serviceType: query.serviceType,
      currentAt: query.current ? now : undefined,
      limit: query.limit,
      cursor: query.cursor,
    });
    return {
      items: page.items.map((v): SvidListItem => ({
        certificateId: v.id,
        spiffeId: v.spiffeId,
        serviceType: v.serviceType,
        serial: v.serialHex,
        fingerprint: v.fingerprintSha256,
        caId: v.caId,
        notBefore: iso(v.notBefore),
        expiresAt: iso(v.notAfter),
        state:
          v.status === 'revoked'
            ? 'revoked'
            : v.notAfter <= now
              ? 'expired'
              : v.supersededBy
                ? 'superseded'
                : 'current',
        supersededBy: v.supersededBy,
      })),
      nextCursor: page.nextCursor,
    };
  }

  async function rotate(input: { role: SpiffeIntermediateRole }, actor: Actor) {
    authorize(actor, 'spiffe:manage');
    if (input.role !== 'services' && input.role !== 'transport')
      throw new PkiError('input.invalid', `only the services and transport CAs rotate, not '${String(input.role)}'`);
    const s = await requireState();
    const old = s.active[input.role];
    if (!old) throw new PkiError('spiffe.not_initialized', `no active ${input.role} CA: run pkim spiffe init first`);
    const generation = s.rows.filter((r) => r.role === input.role).length + 1;
    const fresh = (await createCa(input.role, s.trustDomain, generation, s.active.root, actor)).ca;
    const now = clock.now();
    const lastNotAfter = async () =>
      (await store.spiffe.svidsByCa(now)).find((r) => r.caId === old.id)?.lastNotAfter ?? now;
    let keepUntil = Math.max(await lastNotAfter(), now);
    await commitCas({
      insertSpiffeCas: [
        {
          id: fresh.id,
          trustDomain: s.trustDomain,
          role: input.role,
          status: 'active',
          rotatedAt: null,
          keepUntil: null,
          createdAt: now,
        },
      ],
      updateSpiffeCas: [{ id: old.id, patch: { status: 'retiring', rotatedAt: now, keepUntil } }],
      audit: [
        auditEvent(clock, actor, 'spiffe.ca_rotated', fresh.id, {
          role: input.role,
          oldCaId: old.id,
          newCaId: fresh.id,
          oldKeptUntil: keepUntil,
        }),
      ],
    });
    // An SVID of the old CA committed between the read above and the commit (an issuance that had the old CA, still
    // the active one): read again now that the old CA no longer signs, and keep the CA until that SVID expires too,
    // or relying parties would drop the CA while the SVID is valid (spiffe-service.test.ts 'a rotation racing …').
    const later = await lastNotAfter();
    if (later > keepUntil) {
      await commitCas({
        updateSpiffeCas: [{ id: old.id, patch: { keepUntil: later } }],
        audit: [
          auditEvent(clock, actor, 'spiffe.ca_kept', old.id, {
            role: input.role,
            newCaId: fresh.id,
            keptUntil: later,
            was: keepUntil,
            reason: 'an SVID of the old CA was issued during the rotation',
          }),
        ],
      });
      keepUntil = later;
    }
    return { role: input.role, oldCaId: old.id, newCaId: fresh.id, oldKeptUntil: iso(keepUntil) };
  }

  async function purge(actor: Actor) {
    authorize(actor, 'spiffe:manage');
    const before = clock.now() - config.purgeAfterMs;
    let purged = 0;
    for (;;) {
      const ids = await store.spiffe.expiredSvidIds(before, 500);
      if (!ids.length) break;
      await store.commit({
        deleteCertificates: ids,
        audit: [auditEvent(clock, actor, 'spiffe.purged', null, { count: ids.length, expiredBefore: before })],
      });
      purged += ids.length;
      if (ids.length < 500) break;
    }
    return { purged };
  }

  return { config, init, bundle, sign, deny, allow, listDenied, status, list, rotate, purge };
}
