import type { Clock } from '@pkim/shared';
import type { Store } from '@pkim/store';

/** settings keys of per-CA validity overrides (written by a Vault mount's `config/crl`) */
export const CRL_VALIDITY_KEY = 'ca.crl_validity_ms.';
export const OCSP_VALIDITY_KEY = 'ca.ocsp_validity_ms.';
/**
 * a CA whose complete CRL is a delta CRLs' base (a Vault mount's `config/crl` `enable_delta`): the grace period before
 * its nextUpdate at which the complete CRL is re-signed (`auto_rebuild_grace_period`, ms); absent or empty: delta CRLs
 * off, the complete CRL re-signed after each revocation
 */
export const CRL_DELTA_KEY = 'ca.crl_delta_grace_ms.';

/**
 * Per-CA overrides of the CRL and OCSP validity (nextUpdate − thisUpdate), stored as settings so every process on
 * the database applies them. Read at most once per `recheckMs` (clock time) per CA (OCSP is a hot path), and on
 * SQLite again once another connection committed (Store.otherCommits: a Vault `config/crl` of another process
 * applies at once); a write in this process calls `invalidate` so it applies at once.
 */
export function createRevocationTimings(store: Store, clock: Clock, recheckMs = 1000) {
  const cache = new Map<
    string,
    { crl?: number; ocsp?: number; deltaGrace?: number; at: number; others: number | undefined }
  >();

  async function load(caId: string) {
    const hit = cache.get(caId);
    const now = clock.now();
    const others = store.otherCommits; // before the read: a commit meanwhile makes it stale
    if (hit && hit.others === others && now >= hit.at && now - hit.at < recheckMs) return hit;
    const num = (v: string | undefined) => (v && Number(v) > 0 ? Number(v) : undefined);
    const entry = {
      crl: num(await store.settings.get(CRL_VALIDITY_KEY + caId)),
      ocsp: num(await store.settings.get(OCSP_VALIDITY_KEY + caId)),
      deltaGrace: num(await store.settings.get(CRL_DELTA_KEY + caId)),
      at: now,
      others,
    };
    cache.set(caId, entry);
    return entry;
  }

  return {
    crlValidityMs: async (caId: string): Promise<number | undefined> => (await load(caId)).crl,
    ocspValidityMs: async (caId: string): Promise<number | undefined> => (await load(caId)).ocsp,
    /** delta CRLs on for the CA: its complete CRL's auto-rebuild grace period (ms); undefined: off */
    crlDeltaGraceMs: async (caId: string): Promise<number | undefined> => (await load(caId)).deltaGrace,
    invalidate(caId: string) {
      cache.delete(caId);
    },
  };
}

export type RevocationTimings = ReturnType<typeof createRevocationTimings>;
