import type { Counter, Gauge, Metric, Registry } from 'prom-client';
import type { Authority } from '@pkim/authority';
import { BACKGROUND_JOB_NAMES, type BackgroundJobsObserver } from './background-jobs';
import { createRequestDurationHistogram, type RequestDurationHistogram } from './request-duration-histogram';
import { createLabelCounter } from './status-counter';

interface LoadedMetrics {
  registry: Registry;
  /** `pkim_leader{job}`: 1 when this instance ran the job in its last tick, 0 when another instance held its lock */
  jobLeader: Gauge<'job'>;
  /** `pkim_background_job_runs_total{job,result}` */
  jobRuns: Counter<'job' | 'result'>;
  /** feeds jobLeader and jobRuns from the background jobs */
  jobsObserver: BackgroundJobsObserver;
}

/**
 * The server's Prometheus metrics. prom-client (≈ 50–70 ms of CPU to load) is loaded AFTER the server listens
 * (`load()`, called from the onListen hook, or by the first scrape): what is recorded before is queued and replayed
 * once it is there, so no observation is lost and `pkim serve` is ready sooner (issue #12 item 8).
 */
export interface ServerMetrics {
  /** `pkim_http_request_duration_seconds`: recorded from the start (it needs no prom-client), scraped once loaded */
  httpDuration: Pick<RequestDurationHistogram, 'observe'>;
  /** `pkim_ocsp_responses_total{status}`: by certificate status or OCSP error status; recorded from the start too */
  ocspResponses: { inc(status: string): void };
  jobsObserver: BackgroundJobsObserver;
  /** loads prom-client and builds the registry (once); the scrape awaits it */
  load(): Promise<LoadedMetrics>;
}

/** queued recordings before prom-client is loaded; past this many, loading starts on its own */
const QUEUE_LIMIT = 10_000;

export function createServerMetrics(authority: Authority, opts: { defaultMetrics?: boolean } = {}): ServerMetrics {
  let loaded: LoadedMetrics | undefined;
  let loading: Promise<LoadedMetrics> | undefined;
  const queue: ((m: LoadedMetrics) => void)[] = [];
  const httpDuration = createRequestDurationHistogram({
    name: 'pkim_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const ocspResponses = createLabelCounter({
    name: 'pkim_ocsp_responses_total',
    help: 'OCSP responses by certificate status or OCSP error status',
    label: 'status',
  });
  const load = (): Promise<LoadedMetrics> =>
    (loading ??= import('prom-client').then((prom) => {
      const m = buildMetrics(prom, authority, opts);
      m.registry.registerMetric(httpDuration as unknown as Metric);
      m.registry.registerMetric(ocspResponses as unknown as Metric);
      for (const record of queue.splice(0)) record(m);
      loaded = m;
      return m;
    }));
  const record = (fn: (m: LoadedMetrics) => void) => {
    if (loaded) {
      fn(loaded);
      return;
    }
    queue.push(fn);
    if (queue.length >= QUEUE_LIMIT) void load();
  };
  return {
    httpDuration,
    ocspResponses,
    jobsObserver: { onTick: (job, result, leader) => record((m) => m.jobsObserver.onTick(job, result, leader)) },
    load,
  };
}

/**
 * One Prometheus registry per server instance (tests run several servers in one process).
 * Certificate counters and expiry gauges are read from the store on scrape, so they count what
 * every process (CLI, other instances) did, not only this one.
 */
function buildMetrics(
  prom: typeof import('prom-client'),
  authority: Authority,
  opts: { defaultMetrics?: boolean },
): LoadedMetrics {
  const { Counter, Gauge, Registry, collectDefaultMetrics } = prom;
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pkim_process_' });

  let countsCache: { at: number; rows: Awaited<ReturnType<Authority['statistics']['certificateCounts']>> } | undefined;
  const counts = async () => {
    // issued and revoked are collected in the same scrape: one query
    if (!countsCache || Date.now() - countsCache.at > 1000) {
      countsCache = { at: Date.now(), rows: await authority.statistics.certificateCounts() };
    }
    return countsCache.rows;
  };

  new Counter({
    name: 'pkim_certificates_issued_total',
    help: 'Certificates issued (all statuses), by CA and profile',
    labelNames: ['ca', 'profile'] as const,
    registers: [registry],
    async collect() {
      const rows = await counts();
      this.reset();
      for (const r of rows) this.inc({ ca: r.caName, profile: r.profile }, r.count);
    },
  });
  new Counter({
    name: 'pkim_certificates_revoked_total',
    help: 'Certificates revoked, by CA and profile',
    labelNames: ['ca', 'profile'] as const,
    registers: [registry],
    async collect() {
      const rows = await counts();
      this.reset();
      for (const r of rows) if (r.status === 'revoked') this.inc({ ca: r.caName, profile: r.profile }, r.count);
    },
  });
  new Gauge({
    name: 'pkim_certificates_expiring',
    help: 'Active certificates expiring within the window',
    labelNames: ['within'] as const,
    registers: [registry],
    async collect() {
      const e = await authority.statistics.expiring();
      this.set({ within: '7d' }, e.within7d);
      this.set({ within: '30d' }, e.within30d);
    },
  });
  // each CA's current certificate, for expiry alerts: `pkim_ca_not_after_seconds - time() < 30 * 86400`; a renewal
  // moves the value, a deleted CA's series goes; status is a label so an alert can leave disabled/revoked CAs out
  new Gauge({
    name: 'pkim_ca_not_after_seconds',
    help: "The NotAfter of each CA's current certificate (Unix seconds), by CA name, id and status",
    labelNames: ['ca', 'ca_id', 'status'] as const,
    registers: [registry],
    async collect() {
      const rows = await authority.statistics.caValidity();
      this.reset();
      for (const r of rows) this.set({ ca: r.caName, ca_id: r.caId, status: r.status }, Math.floor(r.notAfter / 1000));
    },
  });
  new Gauge({
    name: 'pkim_ready',
    help: '1 when the database and all key backends are healthy',
    registers: [registry],
    async collect() {
      this.set((await authority.health()).ok ? 1 : 0);
    },
  });
  // this instance's group commit (Store.commitStats, read at the scrape): how many units a transaction carries
  // (units / commits), how long a batch's first unit waited and how long the writes took
  const commitCounter = (
    name: string,
    help: string,
    value: (c: ReturnType<Authority['describe']>['commits']) => number,
  ) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(authority.describe().commits));
      },
    });
  commitCounter(
    'pkim_store_commits_total',
    'Group-commit batches this instance wrote (one transaction each)',
    (c) => c.batches,
  );
  commitCounter(
    'pkim_store_commit_units_total',
    'Units of work in those batches (a certificate is one)',
    (c) => c.units,
  );
  commitCounter(
    'pkim_store_commit_wait_seconds_total',
    "Seconds the batches' first units waited before their batch was written, summed",
    (c) => (c.heldMs ?? 0) / 1000,
  );
  commitCounter(
    'pkim_store_commit_write_seconds_total',
    'Seconds spent writing the batches, summed (SQLite: on the main thread, the answers settled)',
    (c) => (c.writingMs ?? 0) / 1000,
  );
  const jobLeader = new Gauge({
    name: 'pkim_leader',
    help:
      'Background job leadership: 1 when this instance ran the job in its last tick, 0 when another ' +
      "instance held the job's leader lock",
    labelNames: ['job'] as const,
    registers: [registry],
  });
  const jobRuns = new Counter({
    name: 'pkim_background_job_runs_total',
    help: 'Background job ticks on this instance: ran (leader), skipped (another instance leads), failed',
    labelNames: ['job', 'result'] as const,
    registers: [registry],
  });
  // every series exists from the start (0), so rate()/increase() and absent-leader alerts work
  for (const job of BACKGROUND_JOB_NAMES) {
    jobLeader.set({ job }, 0);
    for (const result of ['ran', 'skipped', 'failed'] as const) jobRuns.inc({ job, result }, 0);
  }
  const jobsObserver: BackgroundJobsObserver = {
    onTick(job, result, leader) {
      jobLeader.set({ job }, leader ? 1 : 0);
      jobRuns.inc({ job, result });
    },
  };
  return { registry, jobLeader, jobRuns, jobsObserver };
}
