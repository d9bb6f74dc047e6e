import type { Authority } from '@pkim/authority';
import { SYSTEM_ACTOR } from '@pkim/authority';

export interface BackgroundJobsOptions {
  /** how often the jobs run (default 60 s) */
  intervalMs?: number;
  /** regenerate a CRL when its nextUpdate is closer than this (default 1 h) */
  crlRefreshBeforeMs?: number;
}

export interface BackgroundJobs {
  /** runs every job once now (tests, startup) */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Periodic maintenance under the store's leader lock (one instance does it when several share a
 * PostgreSQL database): mark expired certificates, pre-generate CRLs before their nextUpdate, drop
 * expired sessions. Timers are unref'd and stopped on close; a run in progress is awaited.
 */
export function startBackgroundJobs(authority: Authority, opts: BackgroundJobsOptions = {}): BackgroundJobs {
  const intervalMs = opts.intervalMs ?? 60_000;
  const refreshBefore = opts.crlRefreshBeforeMs ?? 3_600_000;
  const log = authority.logger.child({ component: 'jobs' });
  let running: Promise<void> | undefined;
  let stopped = false;

  const markExpired = async () => {
    const n = await authority.store.certificates.markExpired(authority.clock.now());
    if (n > 0) log.info({ count: n }, 'marked certificates expired');
  };
  const refreshCrls = async () => {
    for (const ca of await authority.store.cas.list()) {
      if (stopped) return;
      if (ca.status !== 'active' || !ca.certificatePem) continue;
      try {
        const crl = await authority.crl.current(ca.id);
        if (crl.nextUpdate - authority.clock.now() < refreshBefore) {
          const fresh = await authority.crl.generate(ca.id, SYSTEM_ACTOR);
          log.info({ caId: ca.id, crlNumber: fresh.crlNumber }, 'CRL pre-generated before nextUpdate');
        }
      } catch (e) {
        log.warn({ caId: ca.id, err: (e as Error).message }, 'CRL refresh failed');
      }
    }
  };
  const cleanSessions = async () => {
    await authority.store.sessions.deleteExpired(authority.clock.now());
  };

  const runOnce = (): Promise<void> => {
    if (running) return running;
    running = (async () => {
      try {
        await authority.store.withLeaderLock('pkim.maintenance', async () => {
          for (const job of [markExpired, refreshCrls, cleanSessions]) {
            if (stopped) return;
            try {
              await job();
            } catch (e) {
              log.warn({ job: job.name, err: (e as Error).message }, 'background job failed');
            }
          }
        });
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'background jobs skipped');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const timer = setInterval(() => void runOnce(), intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
