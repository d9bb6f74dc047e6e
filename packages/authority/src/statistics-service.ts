import type { Clock } from '@pkim/shared';
import type { Store } from '@pkim/store';
import type { StatisticsService } from './types';
import { caStatusAt } from './certificate-view';

const DAY_MS = 86_400_000;

/** Dashboard and metrics numbers, from the store's counters (never by listing rows). */
export function createStatisticsService(deps: { store: Store; clock: Clock }): StatisticsService {
  const { store, clock } = deps;
  const expiring = async () => {
    const now = clock.now();
    const [within7d, within30d] = await Promise.all([
      // not yet past its end (those are expired), as the dashboard and the listing's `expiringWithin` count them
      store.certificates.countExpiringBefore(now + 7 * DAY_MS, now),
      store.certificates.countExpiringBefore(now + 30 * DAY_MS, now),
    ]);
    return { within7d, within30d };
  };
  return {
    async dashboard() {
      const now = clock.now();
      const [cas, stored, pastEnd, exp, requests] = await Promise.all([
        store.cas.list(),
        store.certificates.countByStatus(),
        store.certificates.countExpiringBefore(now + 1), // active, notAfter <= now: read as expired (statusAt)
        expiring(),
        store.requests.countByStatus(),
      ]);
      const byStatus = { ...stored, active: stored.active - pastEnd, expired: stored.expired + pastEnd };
      return {
        cas: { total: cas.length, active: cas.filter((c) => caStatusAt(c, now) === 'active').length },
        certificates: { active: byStatus.active ?? 0, revoked: byStatus.revoked ?? 0, expired: byStatus.expired ?? 0 },
        expiring: exp,
        pendingRequests: requests.pending,
      };
    },
    async certificateCounts() {
      const [rows, cas] = await Promise.all([store.certificates.countsByCaAndProfile(), store.cas.list()]);
      const names = new Map(cas.map((c) => [c.id, c.name]));
      return rows.map((r) => ({ ...r, caName: names.get(r.caId) ?? r.caId }));
    },
    expiring,
    async caValidity() {
      const now = clock.now();
      return (await store.cas.list()).flatMap((c) =>
        c.notBefore === null || c.notAfter === null
          ? []
          : [{ caId: c.id, caName: c.name, status: caStatusAt(c, now), notBefore: c.notBefore, notAfter: c.notAfter }],
      );
    },
  };
}
