import type { Store } from '@pkim/store';
import type { Actor } from './types';

/**
 * Store.otherCommits read once per request. A request authenticated by an API token has the store's signal read by
 * its token check (auth-service.ts), after the request arrived: every commit of another connection that ended before
 * the request arrived is in that value, so the request's CA check (ca-context.ts loadActive) uses it instead of a
 * second read — on SQLite one `PRAGMA data_version` per signed request instead of two, with the same freshness (a CA
 * changed by another process before the request arrived is read again). The value goes with the actor object the token
 * check returned and is used once: a later use of that actor (another request, a cached actor) reads the store again.
 * Per authority (the values are its store's); the requests of actors it did not authenticate (a CLI's, a console
 * session's, in-process callers') share one read per loop turn, made after all of them asked (readOncePerTurn).
 */
export interface OtherCommitsSeen {
  /** the token check of `actor`'s request read Store.otherCommits as `others` */
  note(actor: Actor, others: number | undefined): void;
  /**
   * what the token check of `actor`'s request read, the first time it is asked (no read: a number); else the store's
   * value, read once for the callers of one loop turn after all of them asked (a promise: readOncePerTurn below)
   */
  take(actor: Actor | undefined): number | undefined | Promise<number | undefined>;
  /**
   * the value the last `take` returned, without a read: what this authority's latest request saw (undefined before
   * the first). The profile view (profile-service.ts) compares it after the request's CA check instead of a read
   */
  last(): number | undefined;
}

export function createOtherCommitsSeen(store: Pick<Store, 'otherCommits'>): OtherCommitsSeen {
  const seen = new WeakMap<Actor, number>();
  let latest: number | undefined;
  // an in-process caller's request (a CLI command, a console session, 16 issuances in flight): one read per loop turn
  const read = readOncePerTurn(() => (latest = store.otherCommits));
  return {
    note(actor, others) {
      if (others !== undefined) seen.set(actor, others);
    },
    take(actor) {
      const others = actor === undefined ? undefined : seen.get(actor);
      if (others === undefined) return read();
      seen.delete(actor!);
      return (latest = others);
    },
    last: () => latest,
  };
}

/**
 * `read` (Store.otherCommits) made ONCE for all the callers that asked since the last read, in the check phase after
 * the first of them asked (setImmediate: the requests one poll phase received share it) — and after every one of them
 * asked. A caller asks while handling a request that has arrived, so each request a read serves arrived before the read
 * started: another connection's commit that ended before a request arrived (`pkim token revoke` beside the server; on
 * PostgreSQL a second instance's revocation once announced) is in its value, as with a read per request — the rule of
 * one read per request (session 19), which ocsp-fast-path.ts keeps the same way for OCSP requests. Nothing is kept past
 * the read: a caller asking after it waits for the next one. A read that throws rejects its callers.
 */
export function readOncePerTurn<T>(read: () => T): () => Promise<T> {
  let waiting: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  const readForBatch = () => {
    const batch = waiting;
    waiting = []; // taken out first: a caller asking from here on waits for its own read
    let value: T;
    try {
      value = read();
    } catch (e) {
      for (const w of batch) w.reject(e);
      return;
    }
    for (const w of batch) w.resolve(value);
  };
  return () =>
    new Promise<T>((resolve, reject) => {
      if (waiting.push({ resolve, reject }) === 1) setImmediate(readForBatch);
    });
}
