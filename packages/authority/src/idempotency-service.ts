import { createHash, randomBytes } from 'node:crypto';
import { PkiError, type Clock } from '@pkim/shared';
import type { AuditEventRow, IdempotencyAnswer, IdempotencyRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import { durationSettingMs } from './bulk-settings';

/**
 * `Idempotency-Key` on the REST API's POSTs (IETF draft "The Idempotency-Key HTTP Header Field", Stripe's practice):
 * the first request with a key runs and its answer (status + body) is kept for `ttlMs`; a retry by the same caller
 * with the same key and the same request (method, path, body) gets that answer instead of a second creation; a
 * different request with the key is refused (422 `idempotency.key_reused`); a retry while the first still runs is
 * told so (409 `idempotency.in_progress`). Only answers 2xx are kept: a failed request changed nothing, so its retry
 * runs again. Keys are per caller (a token, a user's sessions): one caller never sees another's answer. The rows live
 * in the database (migration 0043), so a retry after a restart, or on another instance of the same PostgreSQL
 * database, gets the same answer. The HTTP layer (apps/server http/idempotency-plugin.ts) calls this; answers holding
 * a private key or a secret are never kept (those routes refuse the header there).
 */
export interface IdempotencySettings {
  /** how long a key's answer is replayed (PKIM_IDEMPOTENCY_TTL, 1m to 30d; default 24 h) */
  ttlMs: number;
}

export const DEFAULT_IDEMPOTENCY_SETTINGS: IdempotencySettings = { ttlMs: 24 * 3_600_000 };

/**
 * A first request that has run this long without an answer is taken for dead (its server stopped mid-request): a
 * retry then runs again instead of hearing `idempotency.in_progress` until the key expires
 */
export const IDEMPOTENCY_RUNNING_LEASE_MS = 10 * 60_000;
/** expired rows are deleted at most this often per process, by the request that finds the time has come */
const PURGE_EVERY_MS = 60_000;
/** the audit events searched for a dead request's creation start this long before its claim (instances' clocks) */
const CLOCK_SKEW_MS = 60_000;

/** `PKIM_IDEMPOTENCY_TTL` over `given` over the default; `input.invalid` names the bad value */
export function idempotencySettingsFromEnv(
  env: Record<string, string | undefined>,
  given: Partial<IdempotencySettings> = {},
): IdempotencySettings {
  const s: IdempotencySettings = { ...DEFAULT_IDEMPOTENCY_SETTINGS, ...given };
  const ttl = durationSettingMs(env, 'PKIM_IDEMPOTENCY_TTL', 60_000, 30 * 86_400_000, '1m to 30d');
  if (ttl !== undefined) s.ttlMs = ttl;
  return s;
}

/** what a request is: its method, path (with the query) and body, as the fingerprint compares them */
export interface IdempotentRequest {
  /** the caller's id (`tok_…`, `usr_…`) */
  scope: string;
  key: string;
  method: string;
  path: string;
  /** the body as parsed (compared as its JSON text) */
  body: unknown;
}

/** the claim of a first request: hand it back with its answer (`finish`) or its failure (`abandon`) */
export interface IdempotencyClaim {
  readonly scope: string;
  readonly key: string;
  readonly owner: string;
}

export type IdempotencyBegin = { claim: IdempotencyClaim } | { replay: IdempotencyAnswer };

export interface IdempotencyService {
  readonly ttlMs: number;
  /**
   * The first request with this key claims it (`claim`); a retry of a finished one gets its answer (`replay`).
   * Throws `idempotency.key_reused` (another request had the key) or `idempotency.in_progress` (still running).
   */
  begin(request: IdempotentRequest): Promise<IdempotencyBegin>;
  /** keeps the first answer (2xx) for the key's retries */
  finish(claim: IdempotencyClaim, answer: IdempotencyAnswer): Promise<void>;
  /** the request failed: forgets the claim, so a retry runs again */
  abandon(claim: IdempotencyClaim): Promise<void>;
}

/** The request's fingerprint: SHA-256 of the method, the path and the body's JSON text. */
export function idempotencyFingerprint(r: Pick<IdempotentRequest, 'method' | 'path' | 'body'>): string {
  const body = r.body === undefined ? '' : JSON.stringify(r.body);
  return createHash('sha256').update(`${r.method} ${r.path}\n${body}`).digest('hex');
}

export function createIdempotencyService(deps: {
  store: Store;
  clock: Clock;
  logger: Logger;
  settings: IdempotencySettings;
}): IdempotencyService {
  const { store, clock, logger } = deps;
  const ttlMs = deps.settings.ttlMs;
  let purgedAt = 0;
  const purge = async (now: number) => {
    if (now - purgedAt < PURGE_EVERY_MS) return;
    purgedAt = now;
    try {
      await store.idempotency.deleteExpired(now);
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'could not delete expired idempotency keys');
    }
  };
  /**
   * The event a request claimed as `owner` committed with its creation (`Actor.idempotencyClaim`, auditEvent): the
   * caller's events from the claim on, newest first. Only for a claim whose request died (rare): no index needed.
   */
  const committedUnder = async (dead: IdempotencyRow): Promise<AuditEventRow | undefined> => {
    const since = dead.createdAt - CLOCK_SKEW_MS;
    for (let afterSeq: number | undefined; ;) {
      const page = await store.audit.list({
        actor: dead.scope,
        order: 'desc',
        limit: 1000,
        ...(afterSeq === undefined ? {} : { afterSeq }),
      });
      for (const e of page) {
        if (e.details.idempotencyClaim === dead.owner) return e;
        if (e.time < since) return undefined;
      }
      if (page.length < 1000) return undefined;
      afterSeq = page.at(-1)!.seq;
    }
  };
  return {
    ttlMs,
    async begin(r) {
      const now = clock.now();
      await purge(now);
      const fingerprint = idempotencyFingerprint(r);
      const owner = randomBytes(12).toString('hex');
      const row: IdempotencyRow = {
        scope: r.scope,
        key: r.key,
        fingerprint,
        state: 'running',
        owner,
        status: null,
        contentType: null,
        body: null,
        bodyBase64: false,
        createdAt: now,
        expiresAt: now + ttlMs,
      };
      // a running row is never taken over by the store (staleBefore 0): a dead one is looked at here first
      let found = await store.idempotency.claim(row, now, 0);
      if (found?.state === 'running' && found.createdAt < now - IDEMPOTENCY_RUNNING_LEASE_MS) {
        // its request died with its server — before or after its creation committed?
        const made = await committedUnder(found);
        if (made && found.fingerprint === fingerprint) {
          throw new PkiError(
            'idempotency.answer_lost',
            `the first request with this Idempotency-Key was carried out (audit event #${made.seq} ${made.action}` +
              `${made.target ? ` ${made.target}` : ''}), but its server stopped before it kept the answer: read the ` +
              'result instead of making it again',
            { details: { seq: made.seq, action: made.action, target: made.target } },
          );
        }
        if (!made) {
          // nothing of it committed: the retry runs again (a concurrent retry may claim it first: in progress)
          await store.idempotency.release(r.scope, r.key, found.owner);
          found = await store.idempotency.claim(row, now, 0);
        }
      }
      if (!found) return { claim: { scope: r.scope, key: r.key, owner } };
      if (found.fingerprint !== fingerprint) {
        throw new PkiError(
          'idempotency.key_reused',
          'this Idempotency-Key was used for a different request (method, path or body): use a new key for a new ' +
            'request',
        );
      }
      if (found.state !== 'done' || found.status === null || found.body === null) {
        throw new PkiError(
          'idempotency.in_progress',
          'the first request with this Idempotency-Key is still being answered: retry in a moment',
          { retryable: true },
        );
      }
      return {
        replay: {
          status: found.status,
          contentType: found.contentType ?? 'application/json; charset=utf-8',
          body: found.body,
          bodyBase64: found.bodyBase64,
        },
      };
    },
    async finish(claim, answer) {
      const kept = await store.idempotency.complete(claim.scope, claim.key, claim.owner, answer);
      if (!kept) logger.warn({ scope: claim.scope }, 'an idempotency key was taken over before its answer was kept');
    },
    async abandon(claim) {
      await store.idempotency.release(claim.scope, claim.key, claim.owner);
    },
  };
}
