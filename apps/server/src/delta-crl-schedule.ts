import type { Authority } from '@pkim/authority';

/** the shortest and longest wait between two checks (a Vault duration has whole seconds; setTimeout's limit) */
const MIN_WAIT_MS = 1000;
const MAX_WAIT_MS = 2_147_483_647;
/** after a failed check (the database away, or the like) */
const RETRY_WAIT_MS = 60_000;

export interface DeltaCrlSchedule {
  /**
   * checks now (or right after the check running): the server's start, a `config/crl` write or a delta CRL made in
   * this process (`CrlService.onDeltaActivity`) — a mount may have turned delta CRLs on, or off
   */
  poke(): void;
  /** a check is running or its timer is waiting (false while no mount has delta CRLs on) */
  armed(): boolean;
  /** clears the timer and awaits a check in progress (server close) */
  stop(): Promise<void>;
}

/**
 * OpenBao's delta CRL rebuild on `delta_rebuild_interval` (docs/vault-api.md "Delta CRLs"): one check at a time —
 * `authority.vault.pki.rebuildDueDeltas`, which re-signs the due mounts' delta CRLs when something was revoked since —
 * then one unref'd timer until the next mount is due. No mount with delta CRLs on: no timer, until `poke`. A timer per
 * process, not leader-only, but one delta CRL per database: it is stored (crl_deltas) and signed by the holder of the
 * CA's delta claim, and a check is due one interval after the stored delta's thisUpdate (CrlService,
 * vault-delta-rebuild.ts), so a tick on one process after another's delta signs nothing.
 */
export function startDeltaCrlSchedule(authority: Authority): DeltaCrlSchedule {
  const log = authority.logger.child({ component: 'delta-crl' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  /** poked while a check ran (it may have read the mounts before the change): look again at once after it */
  let again = false;

  const check = () => {
    timer = undefined;
    again = false;
    running = (async () => {
      let nextInMs: number | undefined;
      try {
        const r = await authority.vault.pki.rebuildDueDeltas();
        for (const c of r.checked)
          if (c.newer)
            log.info(
              { mount: c.mount, caId: c.caId, crlNumber: c.crlNumber, baseCrlNumber: c.baseCrlNumber },
              'delta CRL rebuilt on its interval',
            );
        nextInMs = r.nextInMs;
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'delta CRL schedule check failed; looking again in a minute');
        nextInMs = RETRY_WAIT_MS;
      } finally {
        running = undefined;
      }
      if (again && !stopped) {
        check();
        return;
      }
      if (stopped || nextInMs === undefined) return;
      timer = setTimeout(check, Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, nextInMs)));
      timer.unref();
    })();
  };
  const unsubscribe = authority.crl.onDeltaActivity(() => schedule.poke());

  const schedule: DeltaCrlSchedule = {
    poke() {
      if (stopped) return;
      if (running) again = true;
      else {
        clearTimeout(timer); // a mount whose interval is shorter than the wait may have turned delta CRLs on
        check();
      }
    },
    armed: () => timer !== undefined || running !== undefined,
    async stop() {
      stopped = true;
      unsubscribe();
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
  return schedule;
}
