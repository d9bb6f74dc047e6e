/**
 * Bulk and batch jobs started over the API (issue #16): state, progress, per-row results and result files, shared by
 * every server instance on the database. Ephemeral (deleted after their retention): not copied by copyStore.
 */
export type BulkJobKind = 'issue-csv' | 'revoke' | 'renew' | 'download';
export type BulkJobState = 'running' | 'succeeded' | 'failed';
export type BulkJobPhase = 'check' | 'issue' | 'run';

export interface BulkJobFileMeta {
  name: string;
  mediaType: string;
  size: number;
  containsPrivateKey: boolean;
}

export interface BulkJobRow {
  id: string; // job_…
  /** only this actor reads the job and its files */
  actorId: string;
  kind: BulkJobKind;
  state: BulkJobState;
  phase: BulkJobPhase;
  done: number;
  total: number;
  dryRun: boolean;
  batchId: string | null;
  succeeded: number;
  failed: number;
  errorCode: string | null;
  errorMessage: string | null;
  /** per-row results (CSV issuance) and per-certificate items (batches), written when the job ends */
  results: { rows: Record<string, unknown>[]; items: Record<string, unknown>[] };
  files: BulkJobFileMeta[];
  /** the server instance running it (a random id per process) */
  instanceId: string;
  /** refreshed while it runs: a running job whose heartbeat is old was interrupted (its instance stopped) */
  heartbeatAt: number;
  startedAt: number;
  finishedAt: number | null;
}

export interface BulkJobFileRow {
  jobId: string;
  name: string;
  /** the download's file name */
  fileName: string;
  mediaType: string;
  containsPrivateKey: boolean;
  /** base64 of the bytes; a file with a private key is sealed under the key-encryption key first */
  body: string;
}

export type BulkJobPatch = Partial<Omit<BulkJobRow, 'id' | 'actorId' | 'kind' | 'instanceId' | 'startedAt'>>;

export interface BulkJobRepository {
  insert(row: BulkJobRow): Promise<void>;
  find(id: string): Promise<BulkJobRow | undefined>;
  /** updates a job that is still running; false if it has ended (or was declared interrupted) meanwhile */
  updateRunning(id: string, patch: BulkJobPatch): Promise<boolean>;
  putFile(file: BulkJobFileRow): Promise<void>;
  findFile(jobId: string, name: string): Promise<BulkJobFileRow | undefined>;
  /** running jobs of one actor whose heartbeat is at or after `aliveSince` (on every instance) */
  countRunning(actorId: string, aliveSince: number): Promise<number>;
  /**
   * Ends the running jobs whose heartbeat is before `staleBefore` (or, with `instanceId`, every running job of
   * that instance) as failed with this error; returns how many.
   */
  interrupt(
    o: { staleBefore: number } | { instanceId: string },
    error: { code: string; message: string },
    now: number,
  ): Promise<number>;
  /** deletes the jobs (and their files) that ended before `before`; returns how many */
  deleteEndedBefore(before: number): Promise<number>;
  /** deletes one job and its files (a start refused before its first row) */
  delete(id: string): Promise<void>;
}
