import type { KeystoreCertManager, LifecycleLogger, TickSummary } from './keystore-cert-manager';

export interface KeystoreSchedulerOptions {
  manager: Pick<KeystoreCertManager, 'tick'>;
  /** time between passes; default 60 s */
  intervalMs?: number;
  logger?: LifecycleLogger & { error(obj: object, msg: string): void };
  /** called after every pass (metrics, tests) */
  onTick?: (summary: TickSummary) => void;
}

/**
 * Runs the lifecycle's scheduler pass (`tick`: end grace periods, renew what is due) every `intervalMs`. Passes never
 * overlap; a pass that throws is logged and the next one runs on time. `stop()` waits for a running pass.
 */
export function createKeystoreScheduler(o: KeystoreSchedulerOptions) {
  const intervalMs = o.intervalMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  async function pass(): Promise<void> {
    try {
      const s = await o.manager.tick();
      if (s.renewed.length || s.renewalFailed.length || s.revokedAfterGrace.length || s.errors.length) {
        o.logger?.info(
          {
            renewed: s.renewed.length,
            renewalFailed: s.renewalFailed.length,
            revoked: s.revokedAfterGrace.length,
            errors: s.errors.length,
          },
          'keystore certificate scheduler pass',
        );
      }
      o.onTick?.(s);
    } catch (e) {
      o.logger?.error({ err: (e as Error).message }, 'keystore certificate scheduler pass failed');
    }
  }

  function schedule(delay: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
        schedule(intervalMs);
      });
    }, delay);
    timer.unref?.();
  }

  return {
    start(): void {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    /** one pass now (does not overlap a running one) */
    async runOnce(): Promise<void> {
      if (running) await running;
      running = pass().finally(() => (running = undefined));
      await running;
    },
  };
}
