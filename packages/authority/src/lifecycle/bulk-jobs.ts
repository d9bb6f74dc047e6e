import type { Logger } from 'pino';
import { PkiError, newId, toPkiError, type Clock, type RevocationReason } from '@pkim/shared';
import type { BulkJobRepository, BulkJobRow } from '@pkim/store';
import type { ExportFile } from '../exports/export-service';
import type { KeySealer } from '../exports/key-sealer';
import type { Actor } from '../types';
import type {
  BatchItem,
  BatchOutcome,
  BatchProgress,
  BatchRenewOptions,
  BatchSelection,
  BatchService,
} from './batch-service';
import { batchResultsCsv, bulkResultsCsv } from './bulk-csv';
import type { BulkIssueOptions, BulkProgress, BulkResult, BulkRowResult, BulkService } from './bulk-service';
import { DEFAULT_BULK_SETTINGS } from '../bulk-settings';

/**
 * Bulk and batch runs started over the API (console, REST, tRPC): the run goes on after the request that started
 * it has been answered, and its progress and results are read by polling `get` (the console does every second).
 *
 * Jobs are rows of the database (`bulk_jobs`, `bulk_job_files`): any instance answers a poll, and a finished job
 * survives a restart. The instance running a job writes its progress (at most every PROGRESS_WRITE_MS) and a
 * heartbeat (every HEARTBEAT_MS); a running job whose heartbeat is older than STALE_MS, or whose instance stopped,
 * is ended as failed with `bulk.interrupted` — never left "running". A finished job and its files (results, generated
 * keys as password-protected PKCS#12 in a ZIP — stored sealed under the key-encryption key, as kept keys are —,
 * certificates ZIP) are kept for PKIM_BULK_JOB_RETENTION, visible only to the actor who started it. Passwords are
 * never kept.
 */

export type BulkJobKind = 'issue-csv' | 'revoke' | 'renew' | 'download';
export type BulkJobState = 'running' | 'succeeded' | 'failed';

export interface BulkJobFile {
  /** the name to ask for (`results.csv`, `results.json`, `keys.zip`, `certificates.zip`) */
  name: string;
  mediaType: string;
  size: number;
  containsPrivateKey: boolean;
}

export interface BulkJobView {
  id: string;
  kind: BulkJobKind;
  state: BulkJobState;
  /** `check`: dry run or the checks of an all-or-nothing batch; `issue`: signing; `run`: a batch action */
  phase: 'check' | 'issue' | 'run';
  done: number;
  total: number;
  startedAt: number;
  finishedAt: number | null;
  /** a batch-wide failure (a row failing is in `rows`/`items`, with the job `succeeded`) */
  error: { code: string; message: string } | null;
  /** the service's batch id (audit events name it) */
  batchId: string | null;
  dryRun: boolean;
  succeeded: number;
  failed: number;
  /** issue-csv: one result per CSV row */
  rows: BulkRowResult[];
  /** revoke/renew/download: one result per certificate */
  items: BatchItem[];
  files: BulkJobFile[];
}

/** a job running on this instance */
interface Job {
  view: BulkJobView;
  /** settles when the job has ended (never rejects) */
  ended: Promise<void>;
  actorId: string;
  /** the job's database writes, in order (progress, heartbeat, the end) */
  writes: Promise<unknown>;
  lastWrite: number;
  heartbeat?: ReturnType<typeof setInterval>;
}

export interface BulkJobs {
  /** starts a bulk CSV issuance (or dry run); errors before the first row (bad CA, CSV, limits) are thrown here */
  issueCsv(o: Omit<BulkIssueOptions, 'onProgress'>, actor: Actor): Promise<BulkJobView>;
  revoke(s: BatchSelection, reason: RevocationReason, actor: Actor): Promise<BulkJobView>;
  renew(s: BatchSelection, o: BatchRenewOptions, actor: Actor): Promise<BulkJobView>;
  download(s: BatchSelection, o: { includeRoot?: boolean }, actor: Actor): Promise<BulkJobView>;
  /** a job of this actor, from any instance (`bulk.job_not_found` for another actor's, an expired or no job) */
  get(id: string, actor: Actor): Promise<BulkJobView>;
  /** one file of a finished job of this actor */
  file(id: string, name: string, actor: Actor): Promise<ExportFile>;
  /** resolves when no job of this instance is running (tests; a graceful stop) */
  idle(): Promise<void>;
  /** the instance stops: its running jobs end as `bulk.interrupted` (polls on other instances say so at once) */
  stop(): Promise<void>;
}

/** how long a finished job and its files are kept by default (PKIM_BULK_JOB_RETENTION) */
export const BULK_JOB_RETENTION_MS = DEFAULT_BULK_SETTINGS.jobRetentionMs;
/** jobs running at once: per actor (on every instance), and on this instance */
export const MAX_RUNNING_JOBS_PER_ACTOR = 2;
export const MAX_RUNNING_JOBS = 8;
/** a running job's instance refreshes its heartbeat this often … */
export const BULK_JOB_HEARTBEAT_MS = 10_000;
/** … and a running job whose heartbeat is older than this was interrupted (its instance is gone) */
export const BULK_JOB_STALE_MS = 60_000;
/** progress is written at most this often (the end always) */
const PROGRESS_WRITE_MS = 500;
/** ended jobs past their retention are deleted at most this often */
const SWEEP_MS = 60_000;

const text = (name: string, mediaType: string, body: string): ExportFile => ({
  fileName: name,
  mediaType,
  body: new TextEncoder().encode(body),
  containsPrivateKey: false,
});

export interface BulkJobsDeps {
  clock: Clock;
  logger: Logger;
  store: { bulkJobs: BulkJobRepository };
  /** seals result files that hold private keys (the keys ZIP) */
  keySealer: KeySealer;
  bulk: BulkService;
  batch: BatchService;
  retentionMs?: number;
}

const sealedName = (jobId: string, name: string) => `bulk-job:${jobId}/${name}`;

function viewOf(row: BulkJobRow): BulkJobView {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    phase: row.phase,
    done: row.done,
    total: row.total,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.errorCode !== null ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    batchId: row.batchId,
    dryRun: row.dryRun,
    succeeded: row.succeeded,
    failed: row.failed,
    rows: row.results.rows as unknown as BulkRowResult[],
    items: row.results.items as unknown as BatchItem[],
    files: row.files,
  };
}

export function createBulkJobs(deps: BulkJobsDeps): BulkJobs {
  const { clock, logger } = deps;
  const repo = deps.store.bulkJobs;
  const retentionMs = deps.retentionMs ?? BULK_JOB_RETENTION_MS;
  const instanceId = newId('ins');
  /** the jobs this instance runs */
  const local = new Map<string, Job>();
  let lastSweep = -Infinity;

  const interrupted = (why: string) => ({
    code: 'bulk.interrupted',
    message: `the bulk job was interrupted: ${why}; what it did before is in the certificates and the audit trail`,
  });

  /** ends jobs whose instance is gone and deletes ended jobs past their retention */
  async function sweep(): Promise<void> {
    const now = clock.now();
    await repo.interrupt(
      { staleBefore: now - BULK_JOB_STALE_MS },
      interrupted('the server instance running it stopped answering'),
      now,
    );
    if (now - lastSweep < SWEEP_MS) return;
    lastSweep = now;
    const deleted = await repo.deleteEndedBefore(now - retentionMs);
    if (deleted) logger.debug({ deleted }, 'bulk jobs past their retention deleted');
  }

  async function admit(actor: Actor): Promise<void> {
    await sweep();
    const here = [...local.values()].filter((j) => j.view.state === 'running').length;
    if (here >= MAX_RUNNING_JOBS) {
      throw new PkiError(
        'bulk.busy',
        `${MAX_RUNNING_JOBS} bulk jobs are running on this server: try again when one has finished`,
      );
    }
    if ((await repo.countRunning(actor.id, clock.now() - BULK_JOB_STALE_MS)) >= MAX_RUNNING_JOBS_PER_ACTOR) {
      throw new PkiError(
        'bulk.busy',
        `you have ${MAX_RUNNING_JOBS_PER_ACTOR} bulk jobs running: wait for one to finish`,
      );
    }
  }

  /** queues a write of the job's row (in order; a failure is logged, the run goes on) */
  function write(job: Job, patch: () => Parameters<BulkJobRepository['updateRunning']>[1]): Promise<unknown> {
    job.lastWrite = Date.now();
    job.writes = job.writes
      .then(() => repo.updateRunning(job.view.id, { ...patch(), heartbeatAt: clock.now() }))
      .catch((e: unknown) => logger.warn({ err: toPkiError(e).message, job: job.view.id }, 'bulk job write failed'));
    return job.writes;
  }

  const progressPatch = (v: BulkJobView) => ({ phase: v.phase, done: v.done, total: v.total });

  async function putFile(job: Job, f: ExportFile, name: string): Promise<void> {
    const base64 = Buffer.from(f.body).toString('base64');
    await repo.putFile({
      jobId: job.view.id,
      name,
      fileName: f.fileName,
      mediaType: f.mediaType,
      containsPrivateKey: f.containsPrivateKey,
      body: f.containsPrivateKey ? deps.keySealer.seal(sealedName(job.view.id, name), base64) : base64,
    });
    job.view.files.push({
      name,
      mediaType: f.mediaType,
      size: f.body.byteLength,
      containsPrivateKey: f.containsPrivateKey,
    });
  }

  /**
   * Runs `work` as a job: answers once the work reported its first progress (or ended), so that what fails before
   * any row (unknown CA, unreadable CSV, too many rows, a missing password) is the caller's error, not a job's.
   */
  async function start(
    kind: BulkJobKind,
    actor: Actor,
    dryRun: boolean,
    work: (job: Job, progress: (phase: BulkJobView['phase'], done: number, total: number) => void) => Promise<void>,
  ): Promise<BulkJobView> {
    await admit(actor);
    const now = clock.now();
    const job: Job = {
      ended: Promise.resolve(),
      actorId: actor.id,
      writes: Promise.resolve(),
      lastWrite: 0,
      view: {
        id: newId('job'),
        kind,
        state: 'running',
        phase: kind === 'issue-csv' ? (dryRun ? 'check' : 'issue') : 'run',
        done: 0,
        total: 0,
        startedAt: now,
        finishedAt: null,
        error: null,
        batchId: null,
        dryRun,
        succeeded: 0,
        failed: 0,
        rows: [],
        items: [],
        files: [],
      },
    };
    const { view } = job;
    await repo.insert({
      id: view.id,
      actorId: actor.id,
      kind,
      state: 'running',
      phase: view.phase,
      done: 0,
      total: 0,
      dryRun,
      batchId: null,
      succeeded: 0,
      failed: 0,
      errorCode: null,
      errorMessage: null,
      results: { rows: [], items: [] },
      files: [],
      instanceId,
      heartbeatAt: now,
      startedAt: now,
      finishedAt: null,
    });
    local.set(view.id, job);
    job.heartbeat = setInterval(() => void write(job, () => ({})), BULK_JOB_HEARTBEAT_MS);
    job.heartbeat.unref();
    let started = false;
    let onStart!: () => void;
    const firstProgress = new Promise<void>((resolve) => (onStart = resolve));
    let early: { error: unknown } | undefined;
    const finish = async (state: BulkJobState, error: { code: string; message: string } | null) => {
      clearInterval(job.heartbeat);
      Object.assign(view, { state, error, finishedAt: clock.now() });
      await write(job, () => ({
        state,
        phase: view.phase,
        done: view.done,
        total: view.total,
        batchId: view.batchId,
        succeeded: view.succeeded,
        failed: view.failed,
        errorCode: error?.code ?? null,
        errorMessage: error?.message ?? null,
        results: {
          rows: view.rows as unknown as Record<string, unknown>[],
          items: view.items as unknown as Record<string, unknown>[],
        },
        files: view.files,
        finishedAt: view.finishedAt,
      }));
    };
    const run = work(job, (phase, done, total) => {
      const changed = phase !== view.phase;
      Object.assign(view, { phase, done, total });
      if (!started || changed || Date.now() - job.lastWrite >= PROGRESS_WRITE_MS) {
        void write(job, () => progressPatch(view));
      }
      started = true;
      onStart();
    }).then(
      () => finish('succeeded', null),
      async (e: unknown) => {
        if (!started) {
          early = { error: e };
          clearInterval(job.heartbeat);
          return;
        }
        const p = toPkiError(e);
        await finish('failed', { code: p.code, message: p.message });
      },
    );
    job.ended = run.then(
      () => undefined,
      () => undefined,
    );
    void job.ended.then(() => local.delete(view.id));
    await Promise.race([firstProgress, run]);
    if (early) {
      // what fails before the first row is the request's own error (4xx): no job
      await job.writes;
      await repo.delete(view.id);
      throw early.error;
    }
    // the first progress is in the database before the start is answered: a poll never goes backwards
    await job.writes;
    return { ...view, files: [...view.files] };
  }

  /** a job of this actor, else `bulk.job_not_found` (another actor's job is not told apart from none) */
  async function own(id: string, actor: Actor): Promise<BulkJobRow> {
    await sweep();
    const row = await repo.find(id);
    if (row?.actorId !== actor.id || (row.finishedAt !== null && row.finishedAt < clock.now() - retentionMs)) {
      throw new PkiError('bulk.job_not_found', `no bulk job '${id}'`);
    }
    return row;
  }

  async function finishBatch(job: Job, o: BatchOutcome): Promise<void> {
    Object.assign(job.view, {
      batchId: o.batchId,
      items: o.items,
      succeeded: o.succeeded,
      failed: o.failed,
      done: o.total,
      total: o.total,
    });
    await putFile(job, text('results.csv', 'text/csv', await batchResultsCsv(o.items)), 'results.csv');
    await putFile(job, text('results.json', 'application/json', `${JSON.stringify(o, null, 2)}\n`), 'results.json');
  }

  const batchProgress =
    (progress: (phase: 'run', done: number, total: number) => void): BatchProgress =>
    (p) =>
      progress('run', p.done, p.total);

  return {
    issueCsv: (o, actor) =>
      start('issue-csv', actor, o.dryRun === true, async (job, progress) => {
        const r: BulkResult = await deps.bulk.issueCsv(
          {
            ...o,
            onProgress: (p: BulkProgress) => progress(p.phase === 'validate' ? 'check' : 'issue', p.done, p.total),
          },
          actor,
        );
        Object.assign(job.view, {
          batchId: r.batchId,
          rows: r.rows,
          succeeded: r.dryRun ? r.total - r.failed : r.issued,
          failed: r.failed,
          done: r.total,
          total: r.total,
        });
        const { keysZip, ...summary } = r;
        await putFile(job, text('results.csv', 'text/csv', await bulkResultsCsv(r.rows)), 'results.csv');
        const json = `${JSON.stringify(summary, null, 2)}\n`;
        await putFile(job, text('results.json', 'application/json', json), 'results.json');
        if (keysZip) await putFile(job, keysZip, 'keys.zip');
      }),
    revoke: (s, reason, actor) =>
      start(
        'revoke',
        actor,
        false,
        async (job, progress) =>
          await finishBatch(job, await deps.batch.revoke(s, reason, actor, batchProgress(progress))),
      ),
    renew: (s, o, actor) =>
      start(
        'renew',
        actor,
        false,
        async (job, progress) => await finishBatch(job, await deps.batch.renew(s, o, actor, batchProgress(progress))),
      ),
    download: (s, o, actor) =>
      start('download', actor, false, async (job, progress) => {
        const { outcome, file } = await deps.batch.download(s, o, actor, batchProgress(progress));
        await finishBatch(job, outcome);
        await putFile(job, file, 'certificates.zip');
      }),
    async idle() {
      await Promise.all([...local.values()].map((j) => j.ended));
    },
    async stop() {
      for (const j of local.values()) clearInterval(j.heartbeat);
      const n = await repo.interrupt(
        { instanceId },
        interrupted('the server instance running it stopped'),
        clock.now(),
      );
      if (n) logger.warn({ jobs: n }, 'bulk jobs interrupted by the stop of this instance');
    },
    get: async (id, actor) => viewOf(await own(id, actor)),
    async file(id, name, actor) {
      const row = await own(id, actor);
      const f = row.state === 'running' ? undefined : await repo.findFile(id, name);
      if (!f) {
        throw new PkiError(
          'bulk.job_not_found',
          row.state === 'running'
            ? `bulk job '${id}' is still running: its files come when it has finished`
            : `bulk job '${id}' has no file '${name}' (it has ${row.files.map((x) => x.name).join(', ') || 'none'})`,
        );
      }
      const base64 = f.containsPrivateKey ? deps.keySealer.open(sealedName(id, name), f.body) : f.body;
      return {
        fileName: f.fileName,
        mediaType: f.mediaType,
        body: new Uint8Array(Buffer.from(base64, 'base64')),
        containsPrivateKey: f.containsPrivateKey,
      };
    },
  };
}
