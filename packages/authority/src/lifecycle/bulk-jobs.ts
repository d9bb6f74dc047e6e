import { PkiError, newId, toPkiError, type Clock, type RevocationReason } from '@pkim/shared';
import type { ExportFile } from '../exports/export-service';
import type { Actor } from '../types';
import type { BatchItem, BatchOutcome, BatchProgress, BatchSelection, BatchService } from './batch-service';
import { batchResultsCsv, bulkResultsCsv } from './bulk-csv';
import type { BulkIssueOptions, BulkProgress, BulkResult, BulkRowResult, BulkService } from './bulk-service';
import type { RenewOptions } from './renewal-service';
import { DEFAULT_BULK_SETTINGS } from './bulk-settings';

/**
 * Bulk and batch runs started over the API (console, REST, tRPC): the run goes on after the request that started
 * it has been answered, and its progress and results are read by polling `get` (the console does every second).
 *
 * Jobs live in the memory of the instance that runs them: a poll must reach that instance (sticky sessions behind
 * a load balancer), and a restart forgets them (the certificates and audit events are in the database as usual).
 * A finished job and its files (results, generated keys as password-protected PKCS#12 in a ZIP, certificates ZIP)
 * are kept for `RETENTION_MS`, visible only to the actor who started it. Passwords are never kept.
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

interface Job {
  view: BulkJobView;
  /** settles when the job has ended (never rejects) */
  ended: Promise<void>;
  actorId: string;
  files: Map<string, ExportFile>;
}

export interface BulkJobs {
  /** starts a bulk CSV issuance (or dry run); errors before the first row (bad CA, CSV, limits) are thrown here */
  issueCsv(o: Omit<BulkIssueOptions, 'onProgress'>, actor: Actor): Promise<BulkJobView>;
  revoke(s: BatchSelection, reason: RevocationReason, actor: Actor): Promise<BulkJobView>;
  renew(
    s: BatchSelection,
    o: Pick<RenewOptions, 'validityMs' | 'revokeOld' | 'keepKey'>,
    actor: Actor,
  ): Promise<BulkJobView>;
  download(s: BatchSelection, o: { includeRoot?: boolean }, actor: Actor): Promise<BulkJobView>;
  /** a job of this actor (`bulk.job_not_found` for another actor's or a forgotten one) */
  get(id: string, actor: Actor): Promise<BulkJobView>;
  /** one file of a finished job of this actor */
  file(id: string, name: string, actor: Actor): Promise<ExportFile>;
  /** resolves when no job is running (tests; a graceful stop) */
  idle(): Promise<void>;
}

/** how long a finished job and its files are kept by default (PKIM_BULK_JOB_RETENTION) */
export const BULK_JOB_RETENTION_MS = DEFAULT_BULK_SETTINGS.jobRetentionMs;
/** jobs running at once: per actor, and on this instance */
export const MAX_RUNNING_JOBS_PER_ACTOR = 2;
export const MAX_RUNNING_JOBS = 8;

const text = (name: string, mediaType: string, body: string): ExportFile => ({
  fileName: name,
  mediaType,
  body: new TextEncoder().encode(body),
  containsPrivateKey: false,
});

export function createBulkJobs(deps: {
  clock: Clock;
  bulk: BulkService;
  batch: BatchService;
  retentionMs?: number;
}): BulkJobs {
  const { clock } = deps;
  const retentionMs = deps.retentionMs ?? BULK_JOB_RETENTION_MS;
  const jobs = new Map<string, Job>();

  function sweep(): void {
    const cutoff = clock.now() - retentionMs;
    for (const [id, j] of jobs) if (j.view.finishedAt !== null && j.view.finishedAt < cutoff) jobs.delete(id);
  }

  function admit(actor: Actor): void {
    sweep();
    const running = [...jobs.values()].filter((j) => j.view.state === 'running');
    if (
      running.length >= MAX_RUNNING_JOBS ||
      running.filter((j) => j.actorId === actor.id).length >= MAX_RUNNING_JOBS_PER_ACTOR
    ) {
      throw new PkiError(
        'bulk.busy',
        running.length >= MAX_RUNNING_JOBS
          ? `${MAX_RUNNING_JOBS} bulk jobs are running on this server: try again when one has finished`
          : `you have ${MAX_RUNNING_JOBS_PER_ACTOR} bulk jobs running: wait for one to finish`,
      );
    }
  }

  function addFile(job: Job, f: ExportFile, name: string): void {
    job.files.set(name, f);
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
    admit(actor);
    const job: Job = {
      ended: Promise.resolve(),
      actorId: actor.id,
      files: new Map(),
      view: {
        id: newId('job'),
        kind,
        state: 'running',
        phase: kind === 'issue-csv' ? (dryRun ? 'check' : 'issue') : 'run',
        done: 0,
        total: 0,
        startedAt: clock.now(),
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
    jobs.set(job.view.id, job);
    let started = false;
    let onStart!: () => void;
    const firstProgress = new Promise<void>((resolve) => (onStart = resolve));
    let early: { error: unknown } | undefined;
    const finish = (state: BulkJobState, error: { code: string; message: string } | null) =>
      Object.assign(job.view, { state, error, finishedAt: clock.now() });
    const run = work(job, (phase, done, total) => {
      Object.assign(job.view, { phase, done, total });
      started = true;
      onStart();
    }).then(
      () => finish('succeeded', null),
      (e: unknown) => {
        if (!started) early = { error: e };
        const p = toPkiError(e);
        finish('failed', { code: p.code, message: p.message });
      },
    );
    job.ended = run.then(() => undefined);
    await Promise.race([firstProgress, run]);
    if (early) {
      // what fails before the first row is the request's own error (4xx): no job
      jobs.delete(job.view.id);
      throw early.error;
    }
    return { ...job.view };
  }

  /** a job of this actor, else `bulk.job_not_found` (another actor's job is not told apart from none) */
  function own(id: string, actor: Actor): Job {
    sweep();
    const job = jobs.get(id);
    if (job?.actorId !== actor.id) throw new PkiError('bulk.job_not_found', `no bulk job '${id}'`);
    return job;
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
    addFile(job, text('results.csv', 'text/csv', await batchResultsCsv(o.items)), 'results.csv');
    addFile(job, text('results.json', 'application/json', `${JSON.stringify(o, null, 2)}\n`), 'results.json');
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
        addFile(job, text('results.csv', 'text/csv', await bulkResultsCsv(r.rows)), 'results.csv');
        addFile(job, text('results.json', 'application/json', `${JSON.stringify(summary, null, 2)}\n`), 'results.json');
        if (keysZip) addFile(job, keysZip, 'keys.zip');
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
        addFile(job, file, 'certificates.zip');
      }),
    async idle() {
      await Promise.all([...jobs.values()].map((j) => j.ended));
    },
    get: async (id, actor) => ({ ...own(id, actor).view }),
    async file(id, name, actor) {
      const { view, files } = own(id, actor);
      const f = files.get(name);
      if (!f) {
        throw new PkiError(
          'bulk.job_not_found',
          view.state === 'running'
            ? `bulk job '${id}' is still running: its files come when it has finished`
            : `bulk job '${id}' has no file '${name}' (it has ${view.files.map((x) => x.name).join(', ') || 'none'})`,
        );
      }
      return f;
    },
  };
}
