import type { Clock } from '@pkim/shared';
import type { Store } from '@pkim/store';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR, type AuditService, type CrlService, type MaintenanceService, type OcspService } from './types';

/**
 * The authority's own housekeeping, called by the server's leader-elected background jobs and by
 * `pkim cert list --refresh`: every decision (what is expired, which CRL is due) stays behind the door.
 */
export function createMaintenanceService(deps: {
  store: Store;
  clock: Clock;
  logger: Logger;
  crl: CrlService;
  ocsp: OcspService;
  audit: AuditService;
}): MaintenanceService {
  const { store, clock, crl, ocsp, audit } = deps;
  return {
    markExpired: () => store.certificates.markExpired(clock.now()),

    async refreshCrls(opts) {
      const refreshed: Awaited<ReturnType<MaintenanceService['refreshCrls']>>['refreshed'] = [];
      const failed: { caId: string; message: string }[] = [];
      for (const ca of await store.cas.list()) {
        if (opts.shouldStop?.()) break;
        if (ca.status !== 'active' || !ca.certificatePem) continue;
        try {
          const current = await crl.current(ca.id);
          if (current.nextUpdate - clock.now() < opts.refreshBeforeMs) {
            const fresh = await crl.generate(ca.id, SYSTEM_ACTOR);
            refreshed.push({ caId: ca.id, crlNumber: fresh.crlNumber });
          }
          for (const { crlNumber, ...partition } of await crl.refreshPartitions(ca.id, opts))
            refreshed.push({ caId: ca.id, crlNumber, partition });
        } catch (e) {
          failed.push({ caId: ca.id, message: (e as Error).message });
        }
      }
      return { refreshed, failed };
    },

    refreshOcsp: (opts) => ocsp.refresh(opts),

    cleanupSessions: () => store.sessions.deleteExpired(clock.now()),

    checkpointAudit: () => audit.checkpoint(),

    runAsLeader: (name, fn) => store.withLeaderLock(name, fn),
  };
}
