import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import {
  PkiError,
  REVOCATION_REASONS,
  toPkiError,
  publishedRevocationReason,
  type Clock,
  type RevocationReason,
} from '@pkim/shared';

/** the CRL reasonCode extension value (absent for unspecified, RFC 5280 §5.3.1) */
function crlReason(stored: RevocationReason | null): number | undefined {
  const r = publishedRevocationReason(stored);
  return r === 'unspecified' ? undefined : REVOCATION_REASONS[r];
}
import type { CrlEntryWriter } from '@pkim/core';
import type { KeyBackends } from '@pkim/keys';
import type { CaRow, CrlDeltaRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR, type Actor, type CrlService } from './types';
import { auditEvent } from './audit-service';
import { recordFailure, type CaContextLoader, type CrlPartitionSettings } from './ca-context';
import { authorize } from './permissions';
import { partitionOf, partitionUrls, urlsOfCa, type CrlPartition } from './url-plan';

/**
 * PKIM_CRL_PARTITION_ABOVE (certificates; 0 = never; default 100,000) and PKIM_CRL_PARTITION_DAYS (width of a
 * partition's notAfter window; default 7) from the settings map (docs/crl.md). Throws `input.invalid`.
 */
export function crlPartitionFromEnv(env: Record<string, string | undefined>): CrlPartitionSettings {
  const read = (name: string, fallback: number, max: number): number => {
    const v = env[name]?.trim();
    if (!v) return fallback;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > max)
      throw new PkiError('input.invalid', `${name}: expected a whole number from 0 to ${max}, got '${v}'`);
    return n;
  };
  const windowDays = read('PKIM_CRL_PARTITION_DAYS', 7, 366);
  if (windowDays < 1) throw new PkiError('input.invalid', 'PKIM_CRL_PARTITION_DAYS: at least 1');
  return { aboveCertificates: read('PKIM_CRL_PARTITION_ABOVE', 100_000, 1e12), windowDays };
}

export interface CrlServiceDeps {
  store: Store;
  keys: KeyBackends;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  /** nextUpdate - thisUpdate; default 24 h */
  crlValidityMs?: number;
  /** per-CA validity overrides (a Vault mount's config/crl `expiry`) */
  timings?: {
    crlValidityMs(caId: string): Promise<number | undefined>;
    /** delta CRLs on for the CA (a Vault mount's `enable_delta`): its complete CRL's auto-rebuild grace period */
    crlDeltaGraceMs?(caId: string): Promise<number | undefined>;
  };
  /** how long a cached CRL is served before the revocation state is re-checked in the database; default 1 s */
  recheckMs?: number;
  /**
   * a CRL with at least this many entries is re-signed in the background once it is out of date: the previous one,
   * still within its validity, is served meanwhile, so no relying party waits for a million-entry encode; smaller
   * CRLs are rebuilt before answering (they take milliseconds). Default 10,000.
   */
  backgroundEntries?: number;
  publicBaseUrl?: string;
  /** CRL partitioning (PKIM_CRL_PARTITION_ABOVE, PKIM_CRL_PARTITION_DAYS): the windows `refreshPartitions` builds */
  crlPartition?: CrlPartitionSettings;
  /** the claim to sign a delta CRL base (crl_delta_base_claims) and a request's wait for a base: docs/crl.md */
  baseClaim?: BaseClaimSettings;
}

export interface BaseClaimSettings {
  /**
   * how long (clock time) a claim holds from its last renewal before another process may take it over (its holder
   * died); default 15 s
   */
  lifetimeMs?: number;
  /** how often (wall time) the holder renews its claim while it signs; default a third of the lifetime (5 s) */
  renewMs?: number;
  /**
   * how long (wall time) a request waits for a new base (another process's, or this one's signing) before it is
   * answered the previous base while that is within its nextUpdate, else `crl.base_pending` (503); default 10 s
   */
  waitMs?: number;
}

/** how often a process waiting for another's delta CRL base looks for it (wall time) */
const BASE_WAIT_POLL_MS = 25;

/** a claim this process holds while it signs a base: `lost` once a renewal found it taken over */
interface HeldClaim {
  lost: boolean;
}

/**
 * this process's claim was taken over while it signed a base or a delta CRL (caught by `claimedBase` and
 * `claimedDelta`, which wait for the new holder's)
 */
const claimLost = (caId: string, what: 'base' | 'delta' = 'base') =>
  new PkiError(
    'crl.base_claim_lost',
    what === 'base'
      ? `the claim to sign a delta CRL base of CA ${caId} was taken over by another process: its base is not stored`
      : `the claim to sign a delta CRL of CA ${caId} was taken over by another process: its delta is not stored`,
  );

/** partition windows of one CA the refresh job builds per run at most (1-day windows of 1-year certificates: 366) */
const MAX_REFRESHED_PARTITIONS = 400;

interface CachedCrl {
  der: Uint8Array;
  /** entries in the CRL */
  count: number;
  crlNumber: number;
  thisUpdate: number;
  nextUpdate: number;
  stamp: string;
  checkedAt: number;
  /** Store.otherCommits as before the stamp was read */
  others: number | undefined;
  /**
   * a complete CRL made while delta CRLs are on: its serials (what a delta CRL based on it leaves out). Stored as the
   * CA's base (`store.crlDeltaBases`), which every process serves and signs its deltas of until its grace period
   */
  serials?: Set<string>;
  /** a delta CRL: the CRL number of its base */
  base?: number;
}

/**
 * CRLs are regenerated when the revocation state of the CA changed — through ANY path: this
 * process, the CLI on the same database or another server instance — detected by a cheap
 * "revocation stamp" query at most every `recheckMs` (clock time) and, on SQLite, at the first request after another
 * connection committed (Store.otherCommits: `pkim cert revoke` beside the server shows at once), and before
 * nextUpdate is near.
 */
export function createCrlService(deps: CrlServiceDeps): CrlService & {
  revocationStamp(caId: string): Promise<string>;
  invalidate(caIds: string[]): void;
  /** a CRL configuration (a Vault mount's `config/crl`) was written in this process: tells `onDeltaActivity` */
  deltaSettingsChanged(): void;
} {
  // the cache holds complete CRLs by CA id and partitions by `<caId>/<start>-<end>`
  const { store, keys, clock, contexts } = deps;
  const validity = deps.crlValidityMs ?? 24 * 3_600_000;
  const recheckMs = deps.recheckMs ?? 1000;
  const backgroundEntries = deps.backgroundEntries ?? 10_000;
  const cache = new Map<string, CachedCrl>();
  const inflight = new Map<string, Promise<CachedCrl>>();
  /** this process in the claims to sign a delta CRL base (crl_delta_base_claims) */
  const claimOwner = randomUUID();
  const baseClaimMs = deps.baseClaim?.lifetimeMs ?? 15_000;
  const renewMs = deps.baseClaim?.renewMs ?? baseClaimMs / 3;
  const baseWaitMs = deps.baseClaim?.waitMs ?? 10_000;
  const deltaListeners = new Set<() => void>();
  const deltaActivity = () => {
    for (const listener of deltaListeners) {
      try {
        listener();
      } catch (e) {
        deps.logger.warn({ err: toPkiError(e).message }, 'a delta CRL listener failed');
      }
    }
  };

  async function revocationStamp(caId: string): Promise<string> {
    const counts = await store.certificates.countByStatus(caId);
    const signedFor = (c: CaRow) => c.id !== caId && !!c.certificateHistory?.some((h) => h.issuerCaId === caId);
    const childCas = (await store.cas.list()).filter(
      (c) => c.status === 'revoked' && (c.parentId === caId || signedFor(c)),
    ).length;
    return `${counts.revoked}/${childCas}`;
  }

  /** rows read from the database per page while the CRL is encoded (memory stays bounded for 1,000,000 entries) */
  const PAGE = 10_000;

  /**
   * the entries of the CA's CRL (of a partition's); `only.seen` collects their serials, `only.skip` leaves those out
   * (a delta CRL: what its base lists)
   */
  async function entriesFor(
    caId: string,
    partition?: CrlPartition,
    only: { seen?: Set<string>; skip?: Set<string> } = {},
  ): Promise<CrlEntryWriter> {
    const { CrlEntryWriter } = await import('./asn1-codecs');
    const writer = new CrlEntryWriter();
    const entries = {
      add(e: Parameters<CrlEntryWriter['add']>[0]) {
        if (only.skip?.has(e.serialHex)) return;
        only.seen?.add(e.serialHex);
        writer.add(e);
      },
    };
    const add = (c: { serialHex: string; revokedAt: number | null; revocationReason: RevocationReason | null }) =>
      entries.add({ serialHex: c.serialHex, revokedAt: c.revokedAt ?? 0, reason: crlReason(c.revocationReason) });
    if (partition) {
      // partitions hold end-entity certificates only (onlyContainsUserCerts): the index range of their window
      const window = { from: partition.start, to: partition.end };
      let after: { notAfter: number; serialHex: string } | null = null;
      for (;;) {
        const page = await store.certificates.listRevokedExpiring(caId, window, { after, limit: PAGE });
        for (const c of page) add(c);
        if (page.length < PAGE) return writer;
        await nextTurn(); // see below
        const last = page[page.length - 1]!;
        after = { notAfter: last.notAfter, serialHex: last.serialHex };
      }
    }
    let after: string | null = null;
    for (;;) {
      const page = await store.certificates.listRevoked(caId, { after, limit: PAGE });
      for (const c of page) add(c);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.serialHex;
      // a turn of the event loop between pages: SQLite's reads are synchronous, so without it 1,000,000 entries were
      // one 7-second task during which OCSP, health and the delta-CRL claim renewal waited (benchmarks-record.md)
      await nextTurn();
    }
    for (const other of await store.cas.list()) {
      // a cross certificate revoked on its own (`ca revoke-cross`), whatever its CA's status
      for (const h of other.certificateHistory ?? [])
        if (
          h.revokedAt !== undefined &&
          h.issuerCaId === caId &&
          other.status !== 'revoked' &&
          h.notAfter > clock.now()
        )
          entries.add({
            serialHex: h.serialHex,
            revokedAt: h.revokedAt,
            reason: crlReason(h.revocationReason ?? null),
          });
      if (other.status !== 'revoked') continue;
      const reason = crlReason(other.revocationReason);
      if (other.parentId === caId && other.serialHex)
        entries.add({ serialHex: other.serialHex, revokedAt: other.revokedAt ?? 0, reason });
      // the earlier certificates this CA signed for that CA's key, revoked with it: a subordinate's before its
      // renewals (`ca renew`), a rotated root's cross certificate (`ca rotate`: its predecessor signed it)
      for (const h of other.certificateHistory ?? [])
        if (h.issuerCaId === caId && other.id !== caId && h.notAfter > clock.now())
          entries.add({ serialHex: h.serialHex, revokedAt: other.revokedAt ?? 0, reason });
    }
    return writer;
  }

  const keyOf = (caId: string, p?: CrlPartition) => (p ? `${caId}/${p.start}-${p.end}` : caId);
  const deltaKey = (caId: string) => `${caId}#delta`;

  /**
   * a complete CRL (or a partition's) signed and cached; `delta`: a delta CRL of that base instead, listing only what
   * the base does not (RFC 5280 §5.2.4), cached under `<caId>#delta`
   */
  async function generateCached(
    caId: string,
    actor: Actor,
    partition?: CrlPartition,
    delta?: CachedCrl,
    claim?: HeldClaim,
  ): Promise<CachedCrl> {
    try {
      const ctx = await contexts.load(caId);
      let idp: string[] | undefined;
      if (partition) {
        const urls = urlsOfCa(ctx.ca, deps.publicBaseUrl).crlDistributionPoints ?? [];
        idp = partitionUrls(ctx.ca.id, urls, partition);
        if (!idp.length)
          throw new PkiError('route.not_found', `CA ${ctx.ca.name} publishes no CRL partitions (docs/crl.md)`);
      }
      const others = store.otherCommits;
      const stamp = await revocationStamp(ctx.ca.id);
      // a complete CRL while delta CRLs are on: a base, its serials kept for its deltas; it names where they are
      const deltasOn = !partition && !delta && (await deps.timings?.crlDeltaGraceMs?.(ctx.ca.id)) !== undefined;
      const serials = deltasOn ? new Set<string>() : undefined;
      const entries = await entriesFor(ctx.ca.id, partition, { seen: serials, skip: delta?.serials });
      // taken over while reading: no number taken, nothing signed
      if (claim?.lost) throw claimLost(ctx.ca.id, delta ? 'delta' : 'base');
      const { crlNumber } = await store.commit({ bumpCrlNumber: ctx.ca.id });
      const thisUpdate = clock.now();
      const nextUpdate = thisUpdate + ((await deps.timings?.crlValidityMs(ctx.ca.id)) ?? validity);
      const freshest = deltasOn ? (ctx.ca.urls?.deltaCrlDistributionPoints ?? []) : [];
      const { buildCrl } = await import('./asn1-codecs');
      const der = await buildCrl(
        {
          issuer: ctx.issuer,
          thisUpdate,
          nextUpdate,
          crlNumber: crlNumber ?? 1,
          entries,
          ...(idp ? { issuingDistributionPoint: idp } : {}),
          ...(delta ? { deltaCrlBase: delta.crlNumber } : {}),
          ...(freshest.length ? { freshestCrl: freshest } : {}),
        },
        (data) =>
          keys.signer({ uri: ctx.ca.keyUri, keyType: ctx.ca.keyType, publicKey: ctx.info.publicKey }).sign(data),
      );
      // a base: stored for the other processes (serve it, sign their deltas of it), unless one made meanwhile is newer;
      // signed under the claim, stored only while this process still holds it (a stale holder stores nothing)
      if (serials) {
        const row = { caId: ctx.ca.id, crlNumber: crlNumber ?? 1, thisUpdate, nextUpdate, der, serials: [...serials] };
        if (!claim) await store.crlDeltaBases.put(row);
        else if ((await store.crlDeltaBases.putClaimed(row, claimOwner)) === 'unclaimed') throw claimLost(ctx.ca.id);
      }
      // a delta: stored as the CA's one delta CRL (crl_deltas) that every process serves, by its claim's holder only
      if (delta && claim) {
        const row = {
          caId: ctx.ca.id,
          crlNumber: crlNumber ?? 1,
          baseCrlNumber: delta.crlNumber,
          thisUpdate,
          nextUpdate,
          stamp,
          der,
        };
        if ((await store.crlDeltas.putClaimed(row, claimOwner)) === 'unclaimed') throw claimLost(ctx.ca.id, 'delta');
      }
      await store.audit.append(
        auditEvent(clock, actor, 'crl.generated', ctx.ca.id, {
          crlNumber,
          entries: entries.count,
          // ISO-8601 as every other time of the audit log (events before session 31 hold epoch ms: left as written)
          nextUpdate: new Date(nextUpdate).toISOString(),
          ...(delta ? { deltaCrlBase: delta.crlNumber } : {}),
          ...(partition
            ? {
                partition: {
                  notAfterFrom: new Date(partition.start).toISOString(),
                  notAfterTo: new Date(partition.end).toISOString(),
                },
              }
            : {}),
        }),
      );
      const entry: CachedCrl = {
        der,
        count: entries.count,
        crlNumber: crlNumber ?? 1,
        thisUpdate,
        nextUpdate,
        stamp,
        checkedAt: clock.now(),
        others,
        ...(serials ? { serials } : {}),
        ...(delta ? { base: delta.crlNumber } : {}),
      };
      if (partition && cache.size > 1_000) evictPartitions();
      cache.set(delta ? deltaKey(ctx.ca.id) : keyOf(ctx.ca.id, partition), entry);
      if (delta) deltaActivity();
      return entry;
    } catch (e) {
      throw await recordFailure(deps, actor, 'crl.generate_failed', caId, e);
    }
  }

  /** a bound on what requests for partitions (any aligned window is a valid URL) can keep in memory */
  function evictPartitions(): void {
    for (const k of cache.keys()) if (k.includes('/')) cache.delete(k);
  }

  /** a complete CRL (or a partition's) made once at a time in this process; a delta CRLs' base by one process */
  function generateOnce(caId: string, actor: Actor, partition?: CrlPartition): Promise<CachedCrl> {
    const key = keyOf(caId, partition);
    let p = inflight.get(key);
    if (!p) {
      const made = async () => {
        const grace = partition ? undefined : await deps.timings?.crlDeltaGraceMs?.(caId);
        return grace === undefined ? generateCached(caId, actor, partition) : claimedBase(caId, actor, grace);
      };
      p = made().finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return p;
  }

  /**
   * a new base of the CA's delta CRLs, signed by one process of the database at a time: the one holding the CA's
   * claim (crl_delta_base_claims) signs and stores it, renewing its claim meanwhile (`renewing`); another process
   * waits for that base and takes it (`sharedBase`), or signs once the claim is released without a base (its signing
   * failed) or expired (its process died: not renewed for the claim's lifetime). A base stored since the caller
   * looked (a claim taken after the previous holder's ended) is taken, not signed again; a holder whose claim was
   * taken over (it stalled past the lifetime) stores nothing and waits for the new holder's base.
   */
  async function claimedBase(caId: string, actor: Actor, grace: number): Promise<CachedCrl> {
    let seen = await store.crlDeltaBases.crlNumber(caId);
    for (;;) {
      const now = clock.now();
      const held = await store.crlDeltaBases.claim({ caId, owner: claimOwner, expiresAt: now + baseClaimMs }, now);
      if (!held) {
        const claim = renewing(caId);
        try {
          const shared = await sharedBase(caId, grace, clock.now(), cache.get(caId));
          return shared ?? (await generateCached(caId, actor, undefined, undefined, claim));
        } catch (e) {
          if (toPkiError(e).code !== 'crl.base_claim_lost') throw e;
        } finally {
          claim.stop();
          await store.crlDeltaBases.release(caId, claimOwner);
        }
      }
      await delay(BASE_WAIT_POLL_MS);
      const stored = await store.crlDeltaBases.crlNumber(caId);
      if (stored !== undefined && stored !== seen) {
        seen = stored;
        const shared = await sharedBase(caId, grace, clock.now(), cache.get(caId));
        if (shared) return shared;
      }
    }
  }

  /**
   * this process's claim on the CA renewed every `renewMs` (wall time) to `lifetimeMs` past the clock's now until
   * `stop`; `lost` once a renewal finds it held by another owner (a renewal that fails — the database out of reach —
   * is tried again at the next tick: the owner-checked store of the base decides)
   */
  function renewing(
    caId: string,
    claims: Pick<Store['crlDeltaBases'], 'renew'> = store.crlDeltaBases,
  ): HeldClaim & { stop(): void } {
    const claim = { lost: false, stop: () => clearInterval(timer) };
    let busy = false;
    const timer = setInterval(() => {
      if (busy || claim.lost) return;
      busy = true;
      claims
        .renew(caId, claimOwner, clock.now() + baseClaimMs)
        .then((kept) => {
          if (kept) return;
          claim.lost = true;
          claim.stop();
        })
        .catch((e: unknown) => deps.logger.warn({ caId, err: toPkiError(e).message }, 'renewing a CRL claim failed'))
        .finally(() => (busy = false));
    }, renewMs);
    timer.unref();
    return claim;
  }

  /**
   * a new base of a delta CRL (`made`: `generateOnce`) as a request waits for it: at most `waitMs` (wall time), then
   * the previous base if it is still within its nextUpdate (a relying party is better served by a valid older CRL
   * than by a timeout) — this process's, or the one stored — else `crl.base_pending`; `made` goes on for the next.
   * `forDelta`: a base a delta is signed of (its serials known) only
   */
  async function withinWait(caId: string, made: Promise<CachedCrl>, forDelta = false): Promise<CachedCrl> {
    const first = await within(made, baseWaitMs);
    if (first) return first;
    made.catch((e: unknown) => deps.logger.error({ caId, err: e }, 'delta CRL base signing failed'));
    const now = clock.now();
    const own = cache.get(caId);
    const row = await store.crlDeltaBases.find(caId);
    const stored: CachedCrl | undefined = row && {
      der: row.der,
      count: row.serials.length,
      crlNumber: row.crlNumber,
      thisUpdate: row.thisUpdate,
      nextUpdate: row.nextUpdate,
      stamp: '',
      checkedAt: now,
      others: undefined,
      serials: new Set(row.serials),
    };
    const previous = [own, stored]
      .filter((c): c is CachedCrl => !!c && now < c.nextUpdate && (!forDelta || !!c.serials))
      .sort((x, y) => y.crlNumber - x.crlNumber)[0];
    if (previous) return previous;
    // retry once the claim's signer has stored its base or, dead, lost its claim: its remaining lifetime (≥ 1 s)
    const claim = await store.crlDeltaBases.findClaim(caId);
    const retryAfterSeconds = Math.max(1, Math.ceil(((claim?.expiresAt ?? now) - now) / 1000));
    throw new PkiError(
      'crl.base_pending',
      `the CRL of CA ${caId} is being signed (delta CRLs on: a new base) and no earlier one is still valid: ` +
        `retry shortly`,
      { details: { caId, retryAfterSeconds } },
    );
  }

  const strip = (c: CachedCrl) => ({
    der: c.der,
    crlNumber: c.crlNumber,
    thisUpdate: c.thisUpdate,
    nextUpdate: c.nextUpdate,
  });

  /**
   * the base another process stored (crl_delta_bases), taken as this process's complete CRL when it is still before
   * its grace period and newer than `have` (this process's own base, if any); undefined else
   */
  async function sharedBase(
    caId: string,
    grace: number,
    now: number,
    have: CachedCrl | undefined,
  ): Promise<CachedCrl | undefined> {
    const row = await store.crlDeltaBases.find(caId);
    if (!row || now >= row.nextUpdate - grace || (have?.serials && row.crlNumber <= have.crlNumber)) return undefined;
    const entry: CachedCrl = {
      der: row.der,
      count: row.serials.length,
      crlNumber: row.crlNumber,
      thisUpdate: row.thisUpdate,
      nextUpdate: row.nextUpdate,
      stamp: '', // never a real stamp: past its grace period it is made again, as this process's own
      checkedAt: now,
      others: undefined,
      serials: new Set(row.serials),
    };
    cache.set(caId, entry);
    return entry;
  }

  async function current(caId: string, partition?: CrlPartition) {
    const ca = (await store.cas.findById(caId)) ?? (await store.cas.findByName(caId));
    const id = ca?.id ?? caId;
    const now = clock.now();
    const key = keyOf(id, partition);
    const entry = cache.get(key);
    // refresh when a quarter of the validity is left
    const fresh = (c: CachedCrl) => now < c.nextUpdate - (c.nextUpdate - c.thisUpdate) / 4;
    // delta CRLs on: the complete CRL made as their base is kept until its grace period before nextUpdate (OpenBao's
    // auto_rebuild); revocations meanwhile are its delta CRL's
    const grace = partition ? undefined : await deps.timings?.crlDeltaGraceMs?.(id);
    if (entry?.serials && grace !== undefined && now < entry.nextUpdate - grace) return strip(entry);
    // none of its own yet (a process started since, or the base reached its grace period): another process's base
    const shared = grace === undefined ? undefined : await sharedBase(id, grace, now, entry);
    if (shared) return strip(shared);
    if (entry && fresh(entry)) {
      const others = store.otherCommits; // before the stamp's read: a commit meanwhile makes it stale
      if (entry.others === others && now >= entry.checkedAt && now - entry.checkedAt < recheckMs) return strip(entry);
      if ((await revocationStamp(id)) === entry.stamp) {
        entry.checkedAt = now;
        entry.others = others;
        return strip(entry);
      }
    }
    if (entry && now < entry.nextUpdate && entry.count >= backgroundEntries) {
      // out of date but still valid, and large: re-sign in the background, serve this one meanwhile
      entry.checkedAt = now;
      generateOnce(id, SYSTEM_ACTOR, partition).catch((e: unknown) =>
        deps.logger.error({ caId: id, err: e }, 'background CRL re-signing failed'),
      );
      return strip(entry);
    }
    const made = generateOnce(id, SYSTEM_ACTOR, partition);
    return strip(grace === undefined ? await made : await withinWait(id, made));
  }

  /**
   * the delta CRL of the CA's current complete CRL (`current`), while delta CRLs are on (else undefined): re-signed
   * when a revocation happened since it was made (any process, as `current` sees them) or its base changed
   */
  async function currentDelta(caId: string) {
    const ca = (await store.cas.findById(caId)) ?? (await store.cas.findByName(caId));
    const id = ca?.id ?? caId;
    const grace = await deps.timings?.crlDeltaGraceMs?.(id);
    if (grace === undefined) return undefined;
    await current(id);
    let base = cache.get(id);
    // another process made a newer base (its grace period came, or a crl/rotate): that one, as its deltas are
    const stored = base?.serials ? await store.crlDeltaBases.crlNumber(id) : undefined;
    if (base && stored !== undefined && stored > base.crlNumber)
      base = (await sharedBase(id, grace, clock.now(), base)) ?? base;
    // a base made before delta CRLs were turned on has no serials: made again as one
    const complete = base?.serials ? base : await withinWait(id, generateOnce(id, SYSTEM_ACTOR), true);
    // the CA's one delta CRL (crl_deltas, any process's): served while it is of this base, within its nextUpdate and
    // made at the revocation stamp the CA has now (one row read; the stamp's read skipped within the recheck window
    // when this process checked that same delta)
    const now = clock.now();
    const key = deltaKey(id);
    const row = await store.crlDeltas.find(id);
    if (row?.baseCrlNumber === complete.crlNumber && now < row.nextUpdate) {
      const entry = cache.get(key);
      const others = store.otherCommits;
      if (
        entry?.crlNumber === row.crlNumber &&
        entry.stamp === row.stamp &&
        entry.others === others &&
        now >= entry.checkedAt &&
        now - entry.checkedAt < recheckMs
      )
        return { ...strip(entry), baseCrlNumber: complete.crlNumber };
      if ((await revocationStamp(id)) === row.stamp) {
        const taken = deltaOfRow(row, now, others);
        cache.set(key, taken);
        return { ...strip(taken), baseCrlNumber: complete.crlNumber };
      }
    }
    let p = inflight.get(key);
    if (!p) {
      p = claimedDelta(id, complete, row?.crlNumber).finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    const made = await deltaWithinWait(id, complete, p);
    return { ...strip(made), baseCrlNumber: made.base ?? complete.crlNumber };
  }

  /** a stored delta CRL (crl_deltas) as this process caches it */
  function deltaOfRow(row: CrlDeltaRow, now: number, others: number | undefined): CachedCrl {
    return {
      der: row.der,
      count: 0,
      crlNumber: row.crlNumber,
      thisUpdate: row.thisUpdate,
      nextUpdate: row.nextUpdate,
      stamp: row.stamp,
      checkedAt: now,
      others,
      base: row.baseCrlNumber,
    };
  }

  /**
   * a new delta CRL of `complete`, signed by one process of the database at a time: the one holding the CA's delta
   * claim (crl_delta_claims) signs it and stores it (renewing its claim meanwhile, stored only while it still holds
   * it); another process waits for it and takes it (a delta stored since `seen`, of the same base). A delta stored by
   * the claim's previous holder, of this base and at the revocation stamp now, is taken, not signed again.
   */
  async function claimedDelta(caId: string, complete: CachedCrl, seen: number | undefined): Promise<CachedCrl> {
    const key = deltaKey(caId);
    const take = (row: CrlDeltaRow) => {
      const taken = deltaOfRow(row, clock.now(), store.otherCommits);
      cache.set(key, taken);
      return taken;
    };
    for (;;) {
      const now = clock.now();
      const held = await store.crlDeltas.claim({ caId, owner: claimOwner, expiresAt: now + baseClaimMs }, now);
      if (!held) {
        const claim = renewing(caId, store.crlDeltas);
        try {
          const row = await store.crlDeltas.find(caId);
          if (
            row?.baseCrlNumber === complete.crlNumber &&
            clock.now() < row.nextUpdate &&
            row.stamp === (await revocationStamp(caId))
          )
            return take(row);
          return await generateCached(caId, SYSTEM_ACTOR, undefined, complete, claim);
        } catch (e) {
          if (toPkiError(e).code !== 'crl.base_claim_lost') throw e;
        } finally {
          claim.stop();
          await store.crlDeltas.release(caId, claimOwner);
        }
      }
      await delay(BASE_WAIT_POLL_MS);
      const row = await store.crlDeltas.find(caId);
      if (row && row.crlNumber !== seen) {
        seen = row.crlNumber;
        if (row.baseCrlNumber === complete.crlNumber && clock.now() < row.nextUpdate) return take(row);
      }
    }
  }

  /**
   * a new delta CRL (`made`: `claimedDelta`) as a request waits for it: at most `waitMs` (wall time), then the
   * previous delta of the same base while it is within its nextUpdate — this process's, or the one stored — else
   * `crl.delta_pending` (503, Retry-After: the claim's seconds left); `made` goes on for the next
   */
  async function deltaWithinWait(caId: string, complete: CachedCrl, made: Promise<CachedCrl>): Promise<CachedCrl> {
    const first = await within(made, baseWaitMs);
    if (first) return first;
    made.catch((e: unknown) => deps.logger.error({ caId, err: e }, 'delta CRL signing failed'));
    const now = clock.now();
    const row = await store.crlDeltas.find(caId);
    const previous = [cache.get(deltaKey(caId)), row && deltaOfRow(row, now, undefined)]
      .filter((c): c is CachedCrl => !!c && c.base === complete.crlNumber && now < c.nextUpdate)
      .sort((x, y) => y.crlNumber - x.crlNumber)[0];
    if (previous) return previous;
    const claim = await store.crlDeltas.findClaim(caId);
    const retryAfterSeconds = Math.max(1, Math.ceil(((claim?.expiresAt ?? now) - now) / 1000));
    throw new PkiError(
      'crl.delta_pending',
      `the delta CRL of CA ${caId} is being signed and no earlier delta of its base is still valid: retry shortly`,
      { details: { caId, retryAfterSeconds } },
    );
  }

  return {
    revocationStamp,
    currentDelta,
    onDeltaActivity(listener) {
      deltaListeners.add(listener);
      return () => deltaListeners.delete(listener);
    },
    deltaSettingsChanged: deltaActivity,
    /** a revocation in this process: the next `current` rebuilds instead of waiting for the recheck window */
    invalidate(caIds) {
      const ids = new Set(caIds);
      for (const [key, entry] of cache) {
        if (ids.has(key.split(/[/#]/)[0]!)) {
          entry.stamp = ''; // never a real stamp: out of date at the next `current`
          entry.checkedAt = -Infinity;
        }
      }
    },
    async generate(caId, actor) {
      authorize(actor, 'ca:write'); // issuing a CRL on demand is a CA operation (the jobs act as the system)
      return strip(await generateCached(caId, actor));
    },
    current,

    async signEntries(caId, input, actor) {
      authorize(actor, 'ca:write');
      try {
        const ctx = await contexts.load(caId);
        const unusable = () =>
          new PkiError(
            'crl.issuer_key_unusable',
            `unable to fetch corresponding key for issuer ${ctx.ca.id}; unable to use this issuer for signing`,
          );
        // the key the CA's URI names must be there and be the certificate's: else a CRL no relying party accepts
        const publicKey = await keys.getPublicKey(ctx.ca.keyUri).catch((e: unknown) => {
          throw toPkiError(e).code === 'kms.key_not_found' ? unusable() : e;
        });
        if (!Buffer.from(publicKey).equals(Buffer.from(ctx.info.publicKey))) throw unusable();
        const thisUpdate = clock.now();
        const nextUpdate = thisUpdate + input.validityMs;
        const { buildCrl, verifyCrlSignature } = await import('./asn1-codecs');
        const der = await buildCrl(
          {
            issuer: ctx.issuer,
            thisUpdate,
            nextUpdate,
            crlNumber: input.crlNumber,
            entries: input.entries,
            ...(input.deltaCrlBase !== undefined ? { deltaCrlBase: input.deltaCrlBase } : {}),
            ...(input.extensions?.length ? { extensions: input.extensions } : {}),
          },
          (data) => keys.signer({ uri: ctx.ca.keyUri, keyType: ctx.ca.keyType, publicKey }).sign(data),
        );
        if (!verifyCrlSignature(der, ctx.info.publicKey))
          throw new PkiError('internal.error', 'the signed CRL did not verify against the CA public key');
        await store.audit.append(
          auditEvent(clock, actor, 'crl.signed', ctx.ca.id, {
            via: input.via,
            crlNumber: input.crlNumber,
            ...(input.deltaCrlBase !== undefined ? { deltaCrlBase: input.deltaCrlBase } : {}),
            entries: input.entries.length,
            nextUpdate: new Date(nextUpdate).toISOString(),
          }),
        );
        return { der, nextUpdate };
      } catch (e) {
        throw await recordFailure(deps, actor, 'crl.sign_failed', caId, e, { via: input.via });
      }
    },

    async refreshPartitions(caId, opts) {
      const settings = deps.crlPartition;
      if (!settings || settings.aboveCertificates <= 0) return [];
      const ctx = await contexts.load(caId);
      const now = clock.now();
      const urls = urlsOfCa(ctx.ca, deps.publicBaseUrl).crlDistributionPoints ?? [];
      if (!partitionUrls(ctx.ca.id, urls, partitionOf(now, settings.windowDays)).length) return [];
      const counts = await store.certificates.countByStatus(ctx.ca.id);
      if (Object.values(counts).reduce((a, b) => a + b, 0) < settings.aboveCertificates) return [];
      // the windows holding the notAfter of a certificate not yet expired, each found by one index step
      const built: (CrlPartition & { crlNumber: number })[] = [];
      let from = now;
      for (let n = 0; n < MAX_REFRESHED_PARTITIONS && !opts.shouldStop?.(); n++) {
        const next = await store.certificates.firstNotAfter(ctx.ca.id, from);
        if (next === undefined) break;
        const partition = partitionOf(next, settings.windowDays);
        from = partition.end;
        // ahead of need: not built by this process yet, or as close to its nextUpdate as a request would rebuild it
        // at (a quarter of its validity left) or the job's margin; a revocation's rebuild stays with the next request,
        // as for the complete CRL (the revocation stamp is the CA's: one revocation would re-sign every window)
        const cached = cache.get(keyOf(ctx.ca.id, partition));
        const margin = cached && Math.max(opts.refreshBeforeMs, (cached.nextUpdate - cached.thisUpdate) / 4);
        if (cached && margin !== undefined && now < cached.nextUpdate - margin) continue;
        const crl = await generateOnce(ctx.ca.id, SYSTEM_ACTOR, partition);
        built.push({ ...partition, crlNumber: crl.crlNumber });
      }
      return built;
    },
  };
}

/** `made`'s value if it settles within `ms` (wall time), else undefined (`made` goes on); its rejection is thrown */
async function within<T>(made: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([made, late]);
  } finally {
    clearTimeout(timer);
  }
}
