import { PkiError } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { SYSTEM_ACTOR } from '@pkim/authority';

export const DEFAULT_JOBS_INTERVAL_MS = 60_000;
const MIN_JOBS_INTERVAL_MS = 100;
const MAX_JOBS_INTERVAL_MS = 86_400_000;

/** The leader-only jobs, as named in metrics (`job` label) and lock names (`pkim.job.<name>`). */
export const BACKGROUND_JOB_NAMES = [
  'mark-expired',
  'crl-refresh',
  'ocsp-refresh',
  'session-cleanup',
  'identity-cleanup',
  'notifications',
  'vault-auto-tidy',
] as const;
export type BackgroundJobName = (typeof BACKGROUND_JOB_NAMES)[number];

/** What one tick of a job did on this instance: ran it (leader), skipped it (another instance leads), or failed. */
export type JobTickResult = 'ran' | 'skipped' | 'failed';

/** Receives every tick (the server's Prometheus metrics implement it). */
export interface BackgroundJobsObserver {
  /** `leader`: this instance held the job's leader lock in this tick */
  onTick(job: BackgroundJobName, result: JobTickResult, leader: boolean): void;
}

export interface BackgroundJobsOptions {
  /** how often the jobs run (default 60 s, env PKIM_JOBS_INTERVAL_MS for `pkim serve`) */
  intervalMs?: number;
  /** regenerate a CRL when its nextUpdate is closer than this (default 1 h) */
  crlRefreshBeforeMs?: number;
  observer?: BackgroundJobsObserver;
}

export interface BackgroundJobs {
  /**
   * Runs one tick of every job now and resolves when it is done (tests, startup): the leader runs
   * the job, a standby tries to take the lock (and skips when another instance holds it).
   */
  runOnce(): Promise<void>;
  /** whether this instance led each job in its last tick */
  leadership(): Record<BackgroundJobName, boolean>;
  /** stops the timers, awaits a run in progress and releases the leader locks */
  stop(): Promise<void>;
}

/** Validates a jobs interval (an option or the PKIM_JOBS_INTERVAL_MS text); throws `input.invalid`. */
export function parseJobsIntervalMs(value: number | string | undefined, source = 'jobs interval'): number {
  if (value === undefined || value === '') return DEFAULT_JOBS_INTERVAL_MS;
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < MIN_JOBS_INTERVAL_MS || n > MAX_JOBS_INTERVAL_MS) {
    throw new PkiError(
      'input.invalid',
      `invalid ${source} '${String(value)}': expected whole milliseconds from ${MIN_JOBS_INTERVAL_MS} to ` +
        `${MAX_JOBS_INTERVAL_MS} (default ${DEFAULT_JOBS_INTERVAL_MS})`,
    );
  }
  return n;
}

interface JobState {
  name: BackgroundJobName;
  run: () => Promise<void>;
  leader: boolean;
  /** runOnce callers waiting for the next tick to complete */
  waiters: (() => void)[];
  /** cancels the current pause (runOnce, stop) */
  wake?: () => void;
  /** a runOnce arrived while a tick was running: do not pause before the next one */
  wakePending: boolean;
}

/**
 * Periodic maintenance, leader-only across instances sharing a PostgreSQL database: mark expired
 * certificates, pre-generate CRLs before their nextUpdate, pre-sign OCSP responses, drop expired sessions,
 * purge long-expired SVIDs,
 * retire rotated SSH CAs whose last certificate has expired, run the Vault mounts' automatic tidies.
 *
 * Leadership is LONG-LIVED, one lock per job (`store.withLeaderLock('pkim.job.<name>')`): the
 * instance that takes a job's session advisory lock keeps it — the leader loop runs inside the
 * lock callback, one run per tick — until the server closes or a run fails. A standby tries the
 * lock once per tick and skips while another instance holds it, so exactly one instance runs each
 * job and `pkim_leader` does not move between healthy instances (with per-run locks the job would
 * wander between instances depending on timer phase). When the leader dies, PostgreSQL ends its
 * session (SIGKILL closes the socket) and releases the lock; a standby takes over at its next tick.
 * Costs and limits: the locks are held on one connection per instance outside the pool (docs/postgresql.md).
 * A leader whose run fails steps down (releases the lock and contends again next tick): a failure
 * is usually the database connection going away, which may also have dropped the lock's session.
 * A lock session dropped alone while the process and its other connections stay healthy (e.g.
 * `pg_terminate_backend` on it) is not detected until the next failure or restart; the jobs are
 * idempotent, so the worst case is a job running on two instances. On SQLite the lock always
 * succeeds (one writer): the instance leads every job.
 *
 * Timers are unref'd; stop() (server close) wakes the loops, awaits a run in progress and leaves
 * the lock callbacks, which unlocks.
 */
export function startBackgroundJobs(authority: Authority, opts: BackgroundJobsOptions = {}): BackgroundJobs {
  const intervalMs = parseJobsIntervalMs(opts.intervalMs, 'background jobs interval (ms)');
  const refreshBefore = opts.crlRefreshBeforeMs ?? 3_600_000;
  const log = authority.logger.child({ component: 'jobs' });
  const observer = opts.observer;
  let stopped = false;

  const markExpired = async () => {
    const n = await authority.maintenance.markExpired();
    if (n > 0) log.info({ count: n }, 'marked certificates expired');
  };
  const refreshCrls = async () => {
    const r = await authority.maintenance.refreshCrls({ refreshBeforeMs: refreshBefore, shouldStop: () => stopped });
    for (const x of r.refreshed)
      log.info({ caId: x.caId, crlNumber: x.crlNumber, partition: x.partition }, 'CRL pre-generated before nextUpdate');
    for (const x of r.failed) log.warn({ caId: x.caId, err: x.message }, 'CRL refresh failed');
  };
  /** pre-signed OCSP responses: signed again before their nextUpdate, signed for new certificates (docs/ocsp.md) */
  const refreshOcsp = async () => {
    const r = await authority.maintenance.refreshOcsp({ shouldStop: () => stopped });
    if (r.signed || r.failed || r.removed) log.info(r, 'OCSP responses pre-signed');
  };
  // housekeeping: expired sessions, and a signed checkpoint of the audit chain head (docs/security.md)
  const cleanSessions = async () => {
    await authority.maintenance.cleanupSessions();
    await authority.maintenance.checkpointAudit();
  };
  /** SVID rows expired for longer than PKIM_SPIFFE_PURGE_AFTER (docs/spiffe.md); nothing before SPIFFE init */
  const purgeSvids = async () => {
    const r = await authority.spiffe.purge(SYSTEM_ACTOR);
    if (r.purged > 0) log.info({ count: r.purged }, 'purged expired SVIDs');
  };
  /** rotating SSH CAs whose last certificate expired leave the trust files (docs/ssh.md) */
  const retireSshCas = async () => {
    const retired = await authority.ssh.retireExpiredCas(SYSTEM_ACTOR);
    for (const ca of retired) log.info({ sshCa: ca.name }, 'retired a rotated SSH CA');
  };
  /** expiry warnings and lifecycle webhooks: enqueue what is due (exactly once per rule), send, retry */
  const notify = async () => {
    const r = await authority.notifications.run();
    if (r.enqueued || r.delivered || r.retrying || r.failed) log.info(r, 'notifications');
  };
  /** each Vault mount's `config/auto-tidy`: its tidy when its interval has passed (docs/vault-api.md) */
  const autoTidy = async () => {
    for (const r of await authority.vault.pki.runDue(() => stopped)) {
      const { state, cert_store_deleted_count: certificates, revoked_cert_deleted_count: revoked } = r.status;
      log.info({ mount: r.mount, state, certificates, revoked }, 'vault auto-tidy');
    }
  };
  const runs: Record<BackgroundJobName, () => Promise<void>> = {
    'mark-expired': markExpired,
    'crl-refresh': refreshCrls,
    'ocsp-refresh': refreshOcsp,
    'session-cleanup': cleanSessions,
    // one job (one leader lock on PostgreSQL) for both workload-identity chores
    'identity-cleanup': async () => {
      await purgeSvids();
      await retireSshCas();
    },
    notifications: notify,
    'vault-auto-tidy': autoTidy,
  };
  const jobs: JobState[] = BACKGROUND_JOB_NAMES.map((name) => ({
    name,
    run: runs[name],
    leader: false,
    waiters: [],
    wakePending: false,
  }));

  /** waits one interval (unref'd), or less when woken by runOnce/stop */
  const pause = (job: JobState): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (job.wakePending) {
      job.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, intervalMs);
      timer.unref();
      function done() {
        clearTimeout(timer);
        job.wake = undefined;
        resolve();
      }
      job.wake = done;
    });
  };
  /** the runOnce callers a tick answers: those that arrived before it started */
  const beginTick = (job: JobState) => {
    const waiters = job.waiters;
    job.waiters = [];
    job.wakePending = false;
    return waiters;
  };
  const endTick = (job: JobState, waiters: (() => void)[], result: JobTickResult, leader: boolean) => {
    job.leader = leader;
    try {
      observer?.onTick(job.name, result, leader);
    } catch (e) {
      log.warn({ job: job.name, err: (e as Error).message }, 'background job observer failed');
    }
    for (const w of waiters) w();
  };
  /** one run as the leader; false when it failed */
  const runAsLeader = async (job: JobState): Promise<boolean> => {
    try {
      await job.run();
      return true;
    } catch (e) {
      log.warn(
        { job: job.name, err: (e as Error).message },
        'background job failed; stepping down until the next tick',
      );
      return false;
    }
  };

  const loop = async (job: JobState) => {
    await pause(job); // the first tick comes after one interval (or runOnce, which startServer calls at startup)
    while (!stopped) {
      let waiters = beginTick(job);
      let led = false;
      try {
        await authority.maintenance.runAsLeader(`pkim.job.${job.name}`, async () => {
          led = true;
          for (;;) {
            const ok = await runAsLeader(job);
            endTick(job, waiters, ok ? 'ran' : 'failed', true);
            if (!ok || stopped) return;
            await pause(job);
            if (stopped) return;
            waiters = beginTick(job);
          }
        });
        if (!led) endTick(job, waiters, 'skipped', false);
      } catch (e) {
        // could not contend (database unreachable) or unlocking failed after leading
        log.warn({ job: job.name, err: (e as Error).message }, 'background job leader lock unavailable');
        if (!led) endTick(job, waiters, 'failed', false);
      }
      if (stopped) break;
      await pause(job);
    }
    job.leader = false;
    for (const w of beginTick(job)) w();
  };
  const loops = jobs.map((job) =>
    loop(job).catch((e: unknown) => {
      log.error({ job: job.name, err: (e as Error).message }, 'background job loop crashed');
    }),
  );

  return {
    async runOnce() {
      if (stopped) return;
      await Promise.all(
        jobs.map(
          (job) =>
            new Promise<void>((resolve) => {
              job.waiters.push(resolve);
              if (job.wake) job.wake();
              else job.wakePending = true;
            }),
        ),
      );
    },
    leadership() {
      return Object.fromEntries(jobs.map((j) => [j.name, j.leader])) as Record<BackgroundJobName, boolean>;
    },
    async stop() {
      if (!stopped) {
        stopped = true;
        for (const job of jobs) job.wake?.();
      }
      await Promise.all(loops);
    },
  };
}
