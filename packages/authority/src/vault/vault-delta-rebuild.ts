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
 * schedule calls (apps/server delta-crl-schedule.ts: one call at a time in each process — the delta CRL itself is one
 * per database, signed under a claim and stored: CrlService). Each issuer of a mount with `enable_delta` is checked
 * once per its `delta_rebuild_interval` on the authority's clock, due one interval after its stored delta's
 * thisUpdate (whichever process signed it) and after this process's last check — the first check one interval after
 * the mount is first seen with delta CRLs on, as OpenBao's builder starts its window when it is made — and a check
 * makes the issuer's delta CRL current through the CRL service
 * (`CrlService.currentDelta`: re-signed when a revocation happened since the last one, or when the complete CRL, its
 * base, was re-signed at its grace period; else the one made before). `nextInMs` is when the next mount is due;
 * undefined when no mount has delta CRLs on (the schedule then keeps no timer).
 */
export function createVaultDeltaRebuild(deps: VaultDeltaRebuildDeps) {
  const { clock, store, logger } = deps;
  /** mount path → the clock time this process first saw it with delta CRLs on (its first window's start) */
  const firstSeen = new Map<string, number>();
  /** CA id → the clock time of this process's last check of its delta CRL */
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
        const first = firstSeen.get(m.path);
        if (first === undefined || now < first) {
          firstSeen.set(m.path, now);
          soonest(intervalMs);
          continue;
        }
        for (const caId of issuersOfMount(m)) {
          try {
            // due one interval after the CA's stored delta was signed (by any process: one delta per database), and
            // after this process's last check; a delta another process signed within the interval: nothing to do
            const stored = await store.crlDeltas.find(caId);
            const due = Math.max(
              first + intervalMs,
              (lastCheck.get(caId) ?? -Infinity) + intervalMs,
              stored ? stored.thisUpdate + intervalMs : -Infinity,
            );
            if (now < due) {
              soonest(due - now);
              continue;
            }
            lastCheck.set(caId, now);
            soonest(intervalMs);
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
            soonest(intervalMs);
            logger.warn({ mount: m.path, caId, err: toPkiError(e).message }, 'scheduled delta CRL rebuild failed');
          }
        }
      }
      // a mount that turned delta CRLs off (or went) starts a new window when they are on again
      for (const path of [...firstSeen.keys()]) if (!seen.has(path)) firstSeen.delete(path);
      return { checked, failed, nextInMs: next };
    },
  };
}
