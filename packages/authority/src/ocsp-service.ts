import {
  PkiError,
  REVOCATION_REASONS,
  checkDurationMs,
  parseDuration,
  publishedRevocationReason,
  type Clock,
  type RevocationReason,
} from '@pkim/shared';
import type { KeyBackends } from '@pkim/keys';
import type { OcspCertificateState, OcspHashAlgorithm, OcspResponseRow, Store } from '@pkim/store';
import type { OcspSingleResponseInput } from '@pkim/core';
import type { Logger } from 'pino';
import type { OcspService } from './types';
import type { CaContext, CaContextLoader } from './ca-context';
import type { ComputePool } from './compute/compute-pool';

/** the OCSP revocationReason: the same reason the CRL publishes (legacy reasons as unspecified) */
function ocspReason(stored: RevocationReason | null): number | undefined {
  return stored ? REVOCATION_REASONS[publishedRevocationReason(stored)] : undefined;
}

/** what a response says of a certificate; a stored response is served only while its key is still this one */
export function ocspStatusKey(s: Pick<OcspCertificateState, 'status' | 'revokedAt' | 'revocationReason'>): string {
  return s.status === 'revoked' ? `revoked:${s.revokedAt ?? 0}:${ocspReason(s.revocationReason) ?? ''}` : 'good';
}

const SHA1_OID = '1.3.14.3.2.26';
const SHA256_OID = '2.16.840.1.101.3.4.2.1';
/** the CertID hash algorithms a response is stored for */
const ALG_OF: Record<string, OcspHashAlgorithm | undefined> = { [SHA1_OID]: 'sha1', [SHA256_OID]: 'sha256' };
const OID_OF: Record<OcspHashAlgorithm, string> = { sha1: SHA1_OID, sha256: SHA256_OID };
export const DEFAULT_OCSP_VALIDITY_MS = 24 * 3_600_000;
export const DEFAULT_OCSP_REFRESH_BEFORE_MS = 8 * 3_600_000;
/** the refresh job walks every certificate again this often (new ones are picked up at every run) */
const FULL_WALK_MS = 6 * 3_600_000;
/** signatures in flight at once while pre-signing (the worker pool queues them) */
const PRESIGN_CONCURRENCY = 32;

/**
 * PKIM_OCSP_VALIDITY and PKIM_OCSP_REFRESH_BEFORE (durations such as `24h`, `8h`) from the settings map; explicit
 * options win. Throws `input.invalid` for a bad value or a refresh margin not shorter than the validity.
 */
export function ocspSettingsFromEnv(
  env: Record<string, string | undefined>,
  given: { ocspValidityMs?: number; ocspRefreshBeforeMs?: number } = {},
): { ocspValidityMs: number; ocspRefreshBeforeMs: number } {
  const read = (name: string, fallback: number): number => {
    const v = env[name]?.trim();
    if (!v) return fallback;
    try {
      return checkDurationMs(parseDuration(v), name);
    } catch {
      throw new PkiError('input.invalid', `${name}: expected a duration such as 24h or 30m, got '${v}'`);
    }
  };
  const ocspValidityMs = given.ocspValidityMs ?? read('PKIM_OCSP_VALIDITY', DEFAULT_OCSP_VALIDITY_MS);
  const ocspRefreshBeforeMs =
    given.ocspRefreshBeforeMs ??
    read('PKIM_OCSP_REFRESH_BEFORE', Math.min(DEFAULT_OCSP_REFRESH_BEFORE_MS, Math.floor(ocspValidityMs / 3)));
  if (ocspRefreshBeforeMs >= ocspValidityMs)
    throw new PkiError(
      'input.invalid',
      `PKIM_OCSP_REFRESH_BEFORE (${ocspRefreshBeforeMs} ms) must be shorter than PKIM_OCSP_VALIDITY ` +
        `(${ocspValidityMs} ms)`,
    );
  return { ocspValidityMs, ocspRefreshBeforeMs };
}

export interface OcspServiceDeps {
  store: Store;
  keys: KeyBackends;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  /** worker threads: responses signed with software keys are signed there */
  compute?: ComputePool;
  /** nextUpdate - thisUpdate of responses (PKIM_OCSP_VALIDITY); default 24 h */
  ocspValidityMs?: number;
  /** a stored response is signed again this long before its nextUpdate (PKIM_OCSP_REFRESH_BEFORE); default 8 h */
  ocspRefreshBeforeMs?: number;
  /** per-CA validity overrides (a Vault mount's config/crl `ocsp_expiry`) */
  timings?: { ocspValidityMs(caId: string): Promise<number | undefined> };
  /** how long a miss in the issuer index waits before the CA list is read again (other processes' CAs); 1 s */
  issuerRecheckMs?: number;
  /** how long a signed response of the general path (several certificates, unusual CertIDs) is reused; 60 s */
  responseReuseMs?: number;
}

/**
 * how long (clock time) an answer from a stored response is served from memory before the store is read again:
 * another instance's revocation shows within this window on PostgreSQL (issue #12: < 1 s); on SQLite another
 * connection's commit (Store.otherCommits: `pkim cert revoke` beside the server) and this process's own at once
 */
const ANSWER_RECHECK_MS = 500;
/** answers from stored responses kept in memory at most (each ≈ 0.5–1 KB) */
const ANSWER_CACHE_ENTRIES = 10_000;
/** requests longer than this (e.g. signed ones) are not kept as cache keys */
const ANSWER_CACHE_MAX_REQUEST = 512;

type Status = 'good' | 'revoked' | 'unknown';

/** an answer from a stored response */
interface StoredAnswer {
  der: Uint8Array;
  statuses: Status[];
  thisUpdate: number;
  nextUpdate: number;
}

/**
 * whether answer `a` may replace answer `b` kept for the same request: the rule of the stored responses' writes
 * (OcspResponseRepository.put) — not older, and never one that does not say revoked over one that does
 */
function keepsNewer(a: { statuses: Status[]; thisUpdate: number }, b: { statuses: Status[]; thisUpdate: number }) {
  const aRevoked = a.statuses.includes('revoked');
  return aRevoked === b.statuses.includes('revoked') ? a.thisUpdate >= b.thisUpdate : aRevoked;
}

/** a certificate whose response to sign, for one CertID hash algorithm */
interface ToSign {
  state: OcspCertificateState;
  hashAlg: OcspHashAlgorithm;
}

interface Lookup {
  status: Status;
  revokedAt?: number;
  reason?: number;
}

function lookupOf(s: Pick<OcspCertificateState, 'status' | 'revokedAt' | 'revocationReason'>): Lookup {
  return s.status === 'revoked'
    ? { status: 'revoked', revokedAt: s.revokedAt ?? 0, reason: ocspReason(s.revocationReason) }
    : { status: 'good' };
}

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');

/**
 * RFC 6960 responder with pre-signed responses (docs/ocsp.md). Every certificate — leaves and the certificates of
 * subordinate CAs alike — has a stored response per CertID hash algorithm (`ocsp_responses`; SHA-1 signed ahead of
 * time by the leader's `ocsp-refresh` job, SHA-256 from the first request that asks for it), signed again before its
 * nextUpdate; a request without nonce for one certificate is one indexed read (the certificate's status joined with
 * its stored response) and the stored DER sent as is. The read compares the status the response was signed for with the
 * certificate's status in the same row read, so a revocation committed by any instance is never answered "good"
 * from a stale response: until the revocation's own re-signing lands, the response is signed on the spot.
 * Nonce requests and several certificates per request are signed per request (in the worker pool for software keys).
 */
export function createOcspService(deps: OcspServiceDeps): OcspService & {
  presign(certs: { caId: string; serialHex: string }[]): Promise<number>;
  presignRevokedCas(caIds: string[], revokedAt: number, opts?: { shouldStop?: () => boolean }): Promise<number>;
  issuersChanged(): void;
} {
  const { store, keys, clock, logger, contexts } = deps;
  const validity = deps.ocspValidityMs ?? DEFAULT_OCSP_VALIDITY_MS;
  const refreshBefore = deps.ocspRefreshBeforeMs ?? DEFAULT_OCSP_REFRESH_BEFORE_MS;
  const reuseMs = deps.responseReuseMs ?? 60_000;
  const responses = new Map<string, { der: Uint8Array; producedAt: number; validFor: number }>();
  // Answers from stored responses, keyed by the request's DER (a request without nonce for one certificate names
  // nothing else the answer depends on): a hit skips parsing, the store read and the base64 decoding. An entry is
  // served for ANSWER_RECHECK_MS of clock time after the read that made it, and while Store.otherCommits has not
  // moved, then read again (another instance's revocation, a re-signed response). What this process changes clears
  // only the entries it can change: a certificate's revocation or a response stored for it → that certificate's
  // entries (CA id + serial), whatever request encoding made them; a CA created, changed, revoked or deleted → all
  // of them. A read that started before a change of its certificate (or of everything) is not kept.
  const answers = new Map<string, StoredAnswer & { checkedAt: number; others: number | undefined; cert: string }>();
  /** certificate (`certKey`) → the request keys of its entries in `answers` */
  const answersOf = new Map<string, Set<string>>();
  /** counts changes; `changedAt`: per certificate the count at its last change, `allChangedAt` of everything */
  let changes = 0;
  let allChangedAt = 0;
  const changedAt = new Map<string, number>();
  const certKey = (caId: string, serialHex: string) => `${caId}:${serialHex.toLowerCase()}`;
  const dropAnswer = (requestKey: string) => {
    const entry = answers.get(requestKey);
    if (!entry) return;
    answers.delete(requestKey);
    const keys = answersOf.get(entry.cert);
    keys?.delete(requestKey);
    if (keys?.size === 0) answersOf.delete(entry.cert);
  };
  /** a change to these certificates (`certKey`s): their entries go, reads of them in flight are not kept */
  const forgetAnswersOf = (certs: Iterable<string>) => {
    const at = ++changes;
    for (const cert of certs) {
      for (const requestKey of answersOf.get(cert) ?? []) answers.delete(requestKey);
      answersOf.delete(cert);
      changedAt.set(cert, at);
    }
    // bounded: past that many changed certificates (a refresh run), every read in flight counts as changed instead
    if (changedAt.size > ANSWER_CACHE_ENTRIES) {
      changedAt.clear();
      allChangedAt = at;
    }
  };
  const forgetAllAnswers = () => {
    allChangedAt = ++changes;
    changedAt.clear();
    answers.clear();
    answersOf.clear();
  };
  /** whether an answer read for `cert` since change count `since` may be kept (no change of it since) */
  const unchangedSince = (cert: string, since: number) => allChangedAt <= since && (changedAt.get(cert) ?? 0) <= since;
  let codecs: typeof import('./asn1-codecs') | undefined;
  /** certificate (`certKey`) → the re-signing of its responses in flight (presign: a revocation), settled either way */
  const resigning = new Map<string, Promise<void>>();
  /** the refresh job's walk over certificates without a stored response */
  let walk: { after: { createdAt: number; id: string } | null; startedAt: number } | undefined;

  // The issuers: `${alg}:${nameHash}:${keyHash}` (hex) → CA id, for every CA with a certificate. A CA written by
  // this process calls `issuersChanged` (the next miss reads the CA list again); a CA written by another process is
  // seen by the first miss after the recheck window (`issuerRecheckMs`, 1 s of clock time) or, on SQLite, after
  // another connection committed (Store.otherCommits), as the CRL cache and the per-CA validity settings see other
  // processes' writes. A request for an unknown issuer between rechecks costs one map
  // miss: no database read, whoever sends it and however often.
  const issuerRecheckMs = deps.issuerRecheckMs ?? 1000;
  let issuers = new Map<string, string>();
  /**
   * the issuer keys that more than one CA answers to — CAs sharing one key and one subject (Vault's "one key, several
   * issuers": a re-signed root or intermediate) — → every such CA id, the one in `issuers` first
   */
  let sharedIssuers = new Map<string, string[]>();
  /**
   * earlier certificates of CAs (`certificateHistory`: a renewal's previous certificate, a rotated root's cross
   * certificate), `${issuer CA id}:${serial}` → the CA whose key they certify: read with the issuers, so an unknown
   * serial costs at most one CA list read per recheck window
   */
  let history = new Map<string, string>();
  /** per CA: the certificate fingerprint it was hashed for and its index keys (hashed once per CA certificate) */
  const hashedCas = new Map<string, { fingerprint: string; keys: string[] }>();
  let issuersReadAt = -Infinity;
  let issuersOthers: number | undefined;
  let issuersReading: Promise<void> | undefined;
  /** counts `issuersChanged` calls: a read that started before a change does not count as a fresh read */
  let issuersGeneration = 0;
  const hex = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');

  async function readIssuers(): Promise<void> {
    const { ocspIssuerHashes } = await import('./asn1-codecs');
    const startedAt = clock.now();
    const others = store.otherCommits;
    const generation = issuersGeneration;
    const next = new Map<string, string>();
    const nextShared = new Map<string, string[]>();
    const nextHistory = new Map<string, string>();
    for (const ca of await store.cas.list()) {
      for (const h of ca.certificateHistory ?? [])
        if (h.issuerCaId !== null && h.issuerCaId !== ca.id) nextHistory.set(certKey(h.issuerCaId, h.serialHex), ca.id);
      if (!ca.certificatePem) continue;
      const ctx = contexts.fromRow(ca);
      let hashed = hashedCas.get(ca.id);
      if (hashed?.fingerprint !== ctx.info.fingerprintSha256) {
        const keys = [SHA1_OID, SHA256_OID].map((alg) => {
          const { nameHash, keyHash } = ocspIssuerHashes(ctx.certificateDer, alg);
          return `${alg}:${hex(nameHash)}:${hex(keyHash)}`;
        });
        hashed = { fingerprint: ctx.info.fingerprintSha256, keys };
        hashedCas.set(ca.id, hashed);
      }
      for (const k of hashed.keys) {
        const first = next.get(k);
        if (first === undefined) next.set(k, ca.id);
        else nextShared.set(k, [...(nextShared.get(k) ?? [first]), ca.id]);
      }
    }
    issuers = next;
    sharedIssuers = nextShared;
    history = nextHistory;
    if (generation === issuersGeneration) {
      issuersReadAt = startedAt;
      issuersOthers = others;
    }
  }

  async function findCaId(alg: string, nameHash: Uint8Array, keyHash: Uint8Array): Promise<string | undefined> {
    const key = `${alg}:${hex(nameHash)}:${hex(keyHash)}`;
    const id = issuers.get(key);
    if (id !== undefined) return id;
    const age = clock.now() - issuersReadAt;
    if (age >= 0 && age < issuerRecheckMs && issuersOthers === store.otherCommits) return id;
    // one read of the CA list at a time, however many unknown issuers arrive meanwhile
    issuersReading ??= readIssuers().finally(() => (issuersReading = undefined));
    await issuersReading;
    return issuers.get(key);
  }

  /**
   * the CA a request names (findCaId); when several CAs share its issuer name and key (one key, several issuers), the
   * one that issued the serial — else the first
   */
  async function findIssuerOf(r: {
    hashAlgorithmOid: string;
    issuerNameHash: Uint8Array;
    issuerKeyHash: Uint8Array;
    serialHex: string;
  }): Promise<string | undefined> {
    const id = await findCaId(r.hashAlgorithmOid, r.issuerNameHash, r.issuerKeyHash);
    const all =
      id === undefined
        ? undefined
        : sharedIssuers.get(`${r.hashAlgorithmOid}:${hex(r.issuerNameHash)}:${hex(r.issuerKeyHash)}`);
    if (!all) return id;
    for (const caId of all) if (await find(caId, r.serialHex)) return caId;
    return id;
  }

  /**
   * a leaf of the CA, else the certificate of a subordinate CA it issued (indexed reads, no CA list), else an earlier
   * certificate it signed for another CA's key (`fromHistory`: the CA's status, never stored as a response)
   */
  async function find(caId: string, serialHex: string, hashAlg: OcspHashAlgorithm = 'sha1') {
    return (
      (await store.ocspResponses.lookup(caId, serialHex, hashAlg)) ??
      (await store.ocspResponses.lookupSubordinateCa(caId, serialHex, hashAlg)) ??
      (await fromHistory(caId, serialHex))
    );
  }

  /** an earlier certificate of a CA signed by `caId` (renewed intermediate, rotated root's cross certificate) */
  async function fromHistory(caId: string, serialHex: string) {
    const age = clock.now() - issuersReadAt;
    if (!(age >= 0 && age < issuerRecheckMs && issuersOthers === store.otherCommits)) {
      issuersReading ??= readIssuers().finally(() => (issuersReading = undefined));
      await issuersReading;
    }
    const serial = serialHex.toLowerCase();
    const holderId = history.get(certKey(caId, serial));
    const holder = holderId === undefined ? undefined : await store.cas.findById(holderId);
    const h = holder?.certificateHistory?.find((e) => e.issuerCaId === caId && e.serialHex.toLowerCase() === serial);
    if (!holder || !h) return undefined;
    // the CA revoked (its earlier certificates with it), else the certificate revoked on its own (ca revoke-cross)
    const revoked = holder.status === 'revoked' ? holder : h.revokedAt !== undefined ? h : undefined;
    return {
      certificateId: holder.id,
      caId,
      serialHex: serial,
      status: revoked ? ('revoked' as const) : ('active' as const),
      revokedAt: revoked?.revokedAt ?? null,
      revocationReason: revoked?.revocationReason ?? null,
      notAfter: h.notAfter,
      createdAt: h.notBefore,
      fromHistory: true as const,
      response: undefined,
    };
  }

  async function lookup(caId: string, serialHex: string): Promise<Lookup> {
    const found = await find(caId, serialHex);
    return found ? lookupOf(found) : { status: 'unknown' };
  }

  const validityOf = async (caId: string) => (await deps.timings?.ocspValidityMs(caId)) ?? validity;

  /** signs one response of `ctx` (in a worker for software keys) */
  async function sign(
    ctx: CaContext,
    items: { certIdDer: Uint8Array; l: Lookup }[],
    now: number,
    validFor: number,
    nonce?: Uint8Array,
  ): Promise<Uint8Array> {
    const { buildOcspResponse } = await import('./asn1-codecs');
    const input = {
      responderCertDer: ctx.certificateDer,
      responderKeyType: ctx.ca.keyType,
      responses: items.map(({ certIdDer, l }): OcspSingleResponseInput => ({
        certIdDer,
        status: l.status,
        revokedAt: l.revokedAt,
        reason: l.reason,
        thisUpdate: now,
        nextUpdate: now + validFor,
      })),
      nonce,
      producedAt: now,
    };
    const key = { uri: ctx.ca.keyUri, keyType: ctx.ca.keyType, publicKey: ctx.info.publicKey };
    return deps.compute?.signsWith(key.uri)
      ? await deps.compute.signOcsp(input, key)
      : await buildOcspResponse(input, (data) => keys.signer(key).sign(data));
  }

  /** the row to store for a response signed at `now` for `state` */
  function storedRow(
    state: OcspCertificateState,
    hashAlg: OcspHashAlgorithm,
    certIdDer: Uint8Array,
    der: Uint8Array,
    now: number,
    validFor: number,
  ): OcspResponseRow {
    // never later than half the validity, so a short per-CA validity cannot make a row due again at once
    const margin = Math.min(refreshBefore, Math.floor(validFor / 2));
    return {
      certificateId: state.certificateId,
      hashAlg,
      statusKey: ocspStatusKey(state),
      certId: b64(certIdDer),
      der: b64(der),
      thisUpdate: now,
      nextUpdate: now + validFor,
      refreshAt: now + validFor - margin,
    };
  }

  /** signs and stores the responses of these certificates, each for its CertID hash algorithm; counts signed/failed */
  async function presignStates(items: ToSign[]): Promise<{ signed: number; failed: number }> {
    const { ocspCertIdDer } = await import('./asn1-codecs');
    const rows: OcspResponseRow[] = [];
    let failed = 0;
    const perCa = new Map<string, Promise<{ ctx: CaContext; validFor: number }>>();
    const caOf = (caId: string) => {
      let p = perCa.get(caId);
      if (!p) {
        p = (async () => ({ ctx: await contexts.load(caId), validFor: await validityOf(caId) }))();
        perCa.set(caId, p);
      }
      return p;
    };
    for (let i = 0; i < items.length; i += PRESIGN_CONCURRENCY) {
      await Promise.all(
        items.slice(i, i + PRESIGN_CONCURRENCY).map(async ({ state, hashAlg }) => {
          try {
            const { ctx, validFor } = await caOf(state.caId);
            const certIdDer = ocspCertIdDer(ctx.certificateDer, state.serialHex, OID_OF[hashAlg]);
            const now = clock.now();
            const der = await sign(ctx, [{ certIdDer, l: lookupOf(state) }], now, validFor);
            rows.push(storedRow(state, hashAlg, certIdDer, der, now, validFor));
          } catch (e) {
            failed++;
            logger.warn(
              { caId: state.caId, serial: state.serialHex, err: (e as Error).message },
              'OCSP pre-sign failed',
            );
          }
        }),
      );
    }
    await store.ocspResponses.put(rows);
    forgetAnswersOf(items.map(({ state }) => certKey(state.caId, state.serialHex)));
    return { signed: rows.length, failed };
  }

  /**
   * one certificate (a leaf or a subordinate CA's), no nonce: the stored response for the request's CertID hash
   * algorithm when it still says the certificate's status, else signed now and stored
   */
  async function respondStored(
    caId: string,
    r: { serialHex: string; certIdDer: Uint8Array; hashAlgorithmOid: string },
    since: number,
  ): Promise<(StoredAnswer & { cert: string; since: number }) | undefined> {
    const hashAlg = ALG_OF[r.hashAlgorithmOid];
    if (!hashAlg) return undefined;
    let found = await find(caId, r.serialHex, hashAlg);
    if (!found) return undefined; // not a certificate of this CA: the general path (unknown)
    const certId = b64(r.certIdDer);
    const cert = certKey(found.caId, found.serialHex);
    const fresh = (f: NonNullable<typeof found>, at: number) =>
      !!f.response &&
      f.response.nextUpdate > at &&
      f.response.statusKey === ocspStatusKey(f) &&
      f.response.certId === certId;
    // this process re-signs the certificate's response (its revocation): the answer is that response, not a second
    // one signed here and stored beside it (two answers of one status, their ETags and Last-Modified differing)
    const resigned = resigning.get(cert);
    if (resigned && !fresh(found, clock.now())) {
      await resigned;
      found = (await find(caId, r.serialHex, hashAlg)) ?? found;
    }
    const now = clock.now();
    const l = lookupOf(found);
    const stored = found.response;
    if (stored && fresh(found, now)) {
      return {
        der: Buffer.from(stored.der, 'base64'),
        statuses: [l.status],
        thisUpdate: stored.thisUpdate,
        nextUpdate: stored.nextUpdate,
        cert,
        since,
      };
    }
    const ctx = await contexts.load(caId);
    const validFor = await validityOf(caId);
    const der = await sign(ctx, [{ certIdDer: r.certIdDer, l }], now, validFor);
    // kept for the next request when the request's CertID is the one the responder makes itself (another encoding of
    // the same certificate, e.g. absent hash parameters, is answered but not stored: it would replace the usual one)
    const { ocspCertIdDer } = (codecs ??= await import('./asn1-codecs'));
    // (an earlier certificate of a CA is signed per request: its CA's own response row holds its current certificate)
    const storable = !('fromHistory' in found);
    if (storable && b64(ocspCertIdDer(ctx.certificateDer, found.serialHex, r.hashAlgorithmOid)) === certId) {
      const row = storedRow(found, hashAlg, r.certIdDer, der, now, validFor);
      const [kept] = await store.ocspResponses.put([row]);
      // a response stored meanwhile that the write kept over this one (newer, or revoked while this one says good:
      // signed by another request or process from a later read) is the answer — what is served does not go
      // backwards — and the store did not change: the answers in memory (that one's, if this process stored it) stay
      if (kept && kept.der !== row.der && kept.certId === certId && kept.nextUpdate > clock.now()) {
        return {
          der: Buffer.from(kept.der, 'base64'),
          statuses: [kept.statusKey.startsWith('revoked:') ? 'revoked' : 'good'],
          thisUpdate: kept.thisUpdate,
          nextUpdate: kept.nextUpdate,
          cert,
          since,
        };
      }
      // this response is what is stored: kept in memory if this process changed nothing of the certificate since the
      // read (this write's own change aside: `since` moves past it)
      const unchanged = unchangedSince(cert, since);
      forgetAnswersOf([cert]);
      const keptSince = unchanged ? changes : since;
      return { der, statuses: [l.status], thisUpdate: now, nextUpdate: now + validFor, cert, since: keptSince };
    }
    return { der, statuses: [l.status], thisUpdate: now, nextUpdate: now + validFor, cert, since };
  }

  /** what to sign for a certificate: SHA-1 always (what clients send), SHA-256 where a response of it is stored */
  async function toSign(caId: string, serialHex: string): Promise<ToSign[]> {
    const sha1 = await find(caId, serialHex);
    if (!sha1 || 'fromHistory' in sha1) return [];
    const { response: _, ...state } = sha1;
    const sha256 = await find(caId, serialHex, 'sha256');
    return sha256?.response
      ? [
          { state, hashAlg: 'sha1' },
          { state, hashAlg: 'sha256' },
        ]
      : [{ state, hashAlg: 'sha1' }];
  }

  /**
   * signs and stores the responses of these certificates now (a revocation re-signs only its certificate's); until it
   * is done, a request for one of them whose stored response no longer says its status waits for it (respondStored)
   */
  async function presign(certs: { caId: string; serialHex: string }[]): Promise<number> {
    // before any await: called right after a revocation's commit
    const keys = certs.map((c) => certKey(c.caId, c.serialHex));
    forgetAnswersOf(keys);
    const done = (async () => {
      const items: ToSign[] = [];
      for (const c of certs) items.push(...(await toSign(c.caId, c.serialHex)));
      return (await presignStates(items)).signed;
    })();
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    for (const k of keys) resigning.set(k, settled);
    void settled.then(() => {
      for (const k of keys) if (resigning.get(k) === settled) resigning.delete(k);
    });
    return done;
  }

  const answerKeyOf = (requestDer: Uint8Array) =>
    requestDer.length <= ANSWER_CACHE_MAX_REQUEST
      ? Buffer.from(requestDer.buffer, requestDer.byteOffset, requestDer.byteLength).toString('latin1')
      : undefined;
  /** the answer kept for this request key, if still good for a read of Store.otherCommits that gave `others` */
  const answerInMemory = (answerKey: string, others: number | undefined, now: number) => {
    const hit = answers.get(answerKey);
    if (hit && hit.others === others && now >= hit.checkedAt && now - hit.checkedAt < ANSWER_RECHECK_MS) {
      if (hit.nextUpdate > now) return hit;
    }
    return undefined;
  };

  return {
    answersInMemory() {
      // one read for every request the caller received before this call (types.ts): not kept past the caller's turn
      const others = store.otherCommits;
      const now = clock.now();
      return (requestDer) => {
        const answerKey = answerKeyOf(requestDer);
        return answerKey === undefined ? undefined : answerInMemory(answerKey, others, now);
      };
    },

    async respond(requestDer, options) {
      // a mount's responder (even one without a default issuer: '') answers for its own issuers only, never from the
      // answers in memory of the whole responder
      const restricted = options?.responderCaId !== undefined || options?.mountCaIds !== undefined;
      const answerKey = restricted ? undefined : answerKeyOf(requestDer);
      // before any read: another connection's commit meanwhile makes what is read stale
      const others = store.otherCommits;
      if (answerKey !== undefined) {
        const hit = answerInMemory(answerKey, others, clock.now());
        if (hit) return hit;
      }
      const since = changes;
      const { ocspErrorResponse, parseOcspRequest } = (codecs ??= await import('./asn1-codecs'));
      let parsed: ReturnType<typeof parseOcspRequest>;
      try {
        parsed = parseOcspRequest(requestDer);
      } catch {
        return { der: ocspErrorResponse('malformedRequest'), statuses: [], errorStatus: 'malformedRequest' };
      }
      try {
        if (parsed.requests.length === 0)
          return { der: ocspErrorResponse('malformedRequest'), statuses: [], errorStatus: 'malformedRequest' };
        const resolved = await Promise.all(
          parsed.requests.map(async (r) => ({
            r,
            caId: await findIssuerOf(r),
          })),
        );
        const mountCaIds = options?.mountCaIds;
        const defaultCaId = options?.responderCaId || undefined;
        let fixed = (mountCaIds && resolved.find((x) => x.caId && mountCaIds.includes(x.caId))?.caId) ?? defaultCaId;
        const single = resolved.length === 1 ? resolved[0] : undefined;
        if (!restricted && !parsed.nonce && single?.caId) {
          const stored = await respondStored(single.caId, single.r, since);
          if (stored) {
            const { since: readSince, ...answer } = stored;
            if (answerKey !== undefined && unchangedSince(answer.cert, readSince)) {
              // a newer answer kept meanwhile (another request read what another process stored since this read)
              // stays, and is the answer: what is served does not go backwards
              const kept = answerInMemory(answerKey, others, clock.now());
              if (kept?.cert === answer.cert && !keepsNewer(answer, kept)) return kept;
              dropAnswer(answerKey);
              if (answers.size >= ANSWER_CACHE_ENTRIES) dropAnswer(answers.keys().next().value!);
              answers.set(answerKey, { ...answer, checkedAt: clock.now(), others });
              let keys = answersOf.get(answer.cert);
              if (!keys) answersOf.set(answer.cert, (keys = new Set()));
              keys.add(answerKey);
            }
            return answer;
          }
        }
        if (restricted) {
          let own = fixed === undefined ? undefined : await store.cas.findById(fixed);
          if (!own && fixed !== defaultCaId && defaultCaId !== undefined) {
            // an issuer of the mount deleted by another process since this one read the mount (and its issuer
            // index): another issuer's certificate now, as the deleting process answers it — the default's `unknown`
            fixed = defaultCaId;
            own = await store.cas.findById(fixed);
          }
          // no issuer of the mount named and no default issuer (OpenBao: no default → unauthorized), or it is gone
          if (!own?.certificatePem) {
            return { der: ocspErrorResponse('unauthorized'), statuses: [], errorStatus: 'unauthorized' };
          }
        }
        const responderCaId = fixed ?? resolved.find((x) => x.caId)?.caId;
        if (!responderCaId)
          return { der: ocspErrorResponse('unauthorized'), statuses: [], errorStatus: 'unauthorized' };
        const ctx = await contexts.load(responderCaId);
        const now = clock.now();
        const validFor = await validityOf(responderCaId);
        const items = await Promise.all(
          resolved.map(async ({ r, caId }) => {
            const l: Lookup = caId === responderCaId ? await lookup(caId, r.serialHex) : { status: 'unknown' };
            return { r, l, certIdDer: r.certIdDer };
          }),
        );
        const statuses = items.map((i) => i.l.status);
        const only = items.length === 1 ? items[0] : undefined;
        const cacheKey =
          !parsed.nonce && only
            ? `${responderCaId}:${only.r.serialHex}:${Buffer.from(only.r.certIdDer).toString('hex')}:` +
              `${only.l.status}:${only.l.revokedAt ?? ''}`
            : undefined;
        if (cacheKey) {
          const hit = responses.get(cacheKey);
          if (hit && now - hit.producedAt < reuseMs)
            return { der: hit.der, statuses, thisUpdate: hit.producedAt, nextUpdate: hit.producedAt + hit.validFor };
        }
        const der = await sign(ctx, items, now, validFor, parsed.nonce);
        // a response signed later for the same key meanwhile (a concurrent request) stays: reuse does not go backwards
        if (cacheKey && !((responses.get(cacheKey)?.producedAt ?? -Infinity) > now)) {
          if (responses.size > 10_000) responses.clear();
          responses.set(cacheKey, { der, producedAt: now, validFor });
        }
        return { der, statuses, thisUpdate: now, nextUpdate: now + validFor };
      } catch (e) {
        if (e instanceof PkiError && e.code === 'ca.not_found') {
          // an issuer deleted by another process since the index was read
          issuersGeneration++;
          issuersReadAt = -Infinity;
          return { der: ocspErrorResponse('unauthorized'), statuses: [], errorStatus: 'unauthorized' };
        }
        logger.error({ err: (e as Error).message }, 'OCSP responder failed');
        return { der: ocspErrorResponse('internalError'), statuses: [], errorStatus: 'internalError' };
      }
    },

    presign,

    /** a CA was created, changed or deleted by this process: the next unknown issuer reads the CA list again */
    issuersChanged() {
      issuersGeneration++;
      issuersReadAt = -Infinity;
      forgetAllAnswers();
    },

    /**
     * after a whole CA was revoked (`ca revoke`, its descendants with it): signs again the responses of every
     * certificate the revocation moved (revoked at `revokedAt`), a page at a time; until then requests are signed on
     * the spot (their stored "good" no longer matches the status read); `shouldStop` (the process closing) ends it
     * after the page in hand, the rest left to on-the-spot signing and the refresh job
     */
    async presignRevokedCas(caIds, revokedAt, opts = {}) {
      // before any await: called right after the revocation's commit (every answer: the CAs' own certificates are
      // answered by their parents, and their descendants' by them)
      forgetAllAnswers();
      let signed = 0;
      const now = clock.now();
      // the revoked CAs' own certificates, answered by their parents
      const own: { caId: string; serialHex: string }[] = [];
      for (const caId of caIds) {
        const ca = await store.cas.findById(caId);
        if (ca?.parentId && ca.serialHex) own.push({ caId: ca.parentId, serialHex: ca.serialHex });
      }
      signed += await presign(own);
      for (const caId of caIds) {
        let after: string | null = null;
        while (opts.shouldStop?.() !== true) {
          const page = await store.certificates.listRevoked(caId, { after, limit: 1000 });
          const moved = page.filter((c) => c.revokedAt === revokedAt && c.notAfter > now);
          if (moved.length) signed += await presign(moved.map((c) => ({ caId, serialHex: c.serialHex })));
          if (page.length < 1000) break;
          after = page[page.length - 1]!.serialHex;
        }
      }
      return signed;
    },

    async refresh(opts = {}) {
      const budget = opts.budget ?? 20_000;
      const stop = () => opts.shouldStop?.() === true;
      const out = { signed: 0, failed: 0, removed: 0 };
      const now = clock.now();
      // 1. stored responses that reached their refresh time (expired certificates: dropped, not signed again)
      const tried = new Set<string>();
      const key = (s: { certificateId: string; hashAlg: string }) => `${s.certificateId}/${s.hashAlg}`;
      while (out.signed + out.failed < budget && !stop()) {
        const due = (await store.ocspResponses.due(now, 500)).filter((s) => !tried.has(key(s)));
        if (due.length === 0) break;
        for (const s of due) tried.add(key(s));
        // expired certificates, and rows whose certificate or CA is gone (notAfter 0)
        out.removed += await store.ocspResponses.remove([
          ...new Set(due.filter((s) => s.notAfter <= now).map((s) => s.certificateId)),
        ]);
        const r = await presignStates(
          due.filter((s) => s.notAfter > now).map(({ hashAlg, ...state }) => ({ state, hashAlg })),
        );
        out.signed += r.signed;
        out.failed += r.failed;
      }
      // 2. certificates without a stored response: a walk in creation order that continues from where the last
      // run stopped (new certificates are picked up at the next run), and starts over every FULL_WALK_MS
      if (!walk || now - walk.startedAt > FULL_WALK_MS) walk = { after: null, startedAt: now };
      while (out.signed + out.failed < budget && !stop()) {
        const page = await store.ocspResponses.missing(walk.after, now, 1000);
        if (page.certificates.length) {
          const r = await presignStates(page.certificates.map((state) => ({ state, hashAlg: 'sha1' as const })));
          out.signed += r.signed;
          out.failed += r.failed;
        }
        if (page.last) walk.after = page.last;
        if (!page.more) break;
      }
      // 3. certificates of subordinate CAs without a stored response (CAs are few: one read)
      if (out.signed + out.failed < budget && !stop()) {
        const cas = await store.ocspResponses.missingSubordinateCas(now);
        const r = await presignStates(cas.map((state) => ({ state, hashAlg: 'sha1' as const })));
        out.signed += r.signed;
        out.failed += r.failed;
      }
      return out;
    },
  };
}
