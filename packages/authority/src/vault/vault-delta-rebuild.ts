import { toPkiError, type Clock } from '@pkim/shared';
import type { Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { CrlService } from '../types';
import { issuersOfMount, type VaultMountService } from './vault-mount-service';

export interface VaultDeltaRebuildDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  mounts: Pick<VaultMountService, 'listMounts'>;
  crl: Pick<CrlService, 'currentDelta'>;
}

/** One issuer's delta CRL as a scheduled check left it; `newer`: not the one the last check saw (signed since). */
export interface DeltaRebuildCheck {
  mount: string;
  caId: string;
  crlNumber: number;
  baseCrlNumber: number;
  newer: boolean;
}

/**
 * OpenBao's periodic delta CRL rebuild (`delta_rebuild_interval`): `rebuildDueDeltas` is what the server's delta CRL
 * schedule calls (apps/server delta-crl-schedule.ts: one call at a time, per process — each process signs its own
 * deltas, of the base the processes share: CrlService). Each mount with `enable_delta` is checked once per its
 * `delta_rebuild_interval` on the authority's clock — the first check one interval after the mount is first seen with
 * delta CRLs on, as OpenBao's builder starts its window when it is made — and a check makes every issuer's delta CRL
 * current through the CRL service
 * (`CrlService.currentDelta`: re-signed when a revocation happened since the last one, or when the complete CRL, its
 * base, was re-signed at its grace period; else the one made before). `nextInMs` is when the next mount is due;
 * undefined when no mount has delta CRLs on (the schedule then keeps no timer).
 */
export function createVaultDeltaRebuild(deps: VaultDeltaRebuildDeps) {
  const { clock, store, logger } = deps;
  /** mount path → the clock time of its last check (this process) */
  const lastCheck = new Map<string, number>();
  /** CA id → the CRL number of its delta CRL at the last check */
  const lastNumber = new Map<string, number>();

  return {
    async rebuildDueDeltas(): Promise<{ checked: DeltaRebuildCheck[]; failed: number; nextInMs: number | undefined }> {
      const checked: DeltaRebuildCheck[] = [];
      let failed = 0;
      let next: number | undefined;
      const soonest = (ms: number) => (next = next === undefined ? ms : Math.min(next, ms));
      const seen = new Set<string>();
      for (const m of await deps.mounts.listMounts()) {
        if (!m.crl?.enable_delta) continue;
        seen.add(m.path);
        const intervalMs = Math.max(1, m.crl.delta_rebuild_interval) * 1000;
        const now = clock.now();
        const last = lastCheck.get(m.path);
        if (last === undefined || now < last) {
          lastCheck.set(m.path, now);
          soonest(intervalMs);
          continue;
        }
        if (now < last + intervalMs) {
          soonest(last + intervalMs - now);
          continue;
        }
        lastCheck.set(m.path, now);
        soonest(intervalMs);
        for (const caId of issuersOfMount(m)) {
          try {
            if (!(await store.cas.findById(caId))?.certificatePem) continue;
            const delta = await deps.crl.currentDelta(caId);
            if (!delta) continue;
            const newer = lastNumber.get(caId) !== delta.crlNumber;
            lastNumber.set(caId, delta.crlNumber);
            checked.push({
              mount: m.path,
              caId,
              crlNumber: delta.crlNumber,
              baseCrlNumber: delta.baseCrlNumber,
              newer,
            });
          } catch (e) {
            failed++;
            logger.warn({ mount: m.path, caId, err: toPkiError(e).message }, 'scheduled delta CRL rebuild failed');
          }
        }
      }
      // a mount that turned delta CRLs off (or went) starts a new window when they are on again
      for (const path of [...lastCheck.keys()]) if (!seen.has(path)) lastCheck.delete(path);
      return { checked, failed, nextInMs: next };
    },
  };
}
