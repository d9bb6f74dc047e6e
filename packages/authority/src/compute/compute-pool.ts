/**
 * A small pool of `node:worker_threads` for the CPU-bound steps of the signing pipeline (CSR decoding with its proof
 * of possession, leaf key generation, plan → lint → encode → sign → verify of a certificate, OCSP signing), so every
 * core signs while the main thread keeps the database writes (group commit), the HTTP server and the decisions. Why
 * our own pool and not piscina: docs/architecture.md ("CPU work beside the event loop").
 *
 * - Jobs go to the worker with the fewest jobs in flight; a worker runs its jobs one after the other.
 * - Jobs are posted in batches, one message per worker and turn of the event loop (setImmediate, like the store's
 *   group commit), and a worker answers the jobs it finished in one turn of its loop in one message: each message
 *   wakes a sleeping thread, and on a busy machine the thread that posts is often preempted by the one it woke, so
 *   16 concurrent requests cost a few wake-ups instead of 32 (see docs/benchmarks-record.md).
 * - CA keys: a worker asks for a key the first time a job needs it; the pool passes the request to the key's
 *   backend (`lendKey`, only backends whose keys are node:crypto objects in this process: software), which posts the
 *   key to that worker itself. HSM/KMS keys are never lent: `signsWith` is false and the pipeline signs in-process
 *   through the backend, with the backend's own concurrency.
 * - A worker that dies (crash, out of memory) fails its jobs in flight with `worker.failed` and is replaced; one
 *   that cannot even start (three times in a row) fails every job at once instead of looping.
 * - Workers start with the first job and hold the process open only while they have jobs; `close()` ends them.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import { PkiError, workerModule, type KeyType } from '@pkim/shared';
import { hasCapability, type KeyBackends } from '@pkim/keys';
import type { CertificatePlanInput, DecodedCsr, OcspResponseInput } from '@pkim/core';
import type { CsrLeaf } from '../signing/leaf-checks';
import {
  fromJobError,
  toJobError,
  type ComputeJob,
  type ComputeResults,
  type CsrLeafSigned,
  type JobKey,
  type JobOutcome,
  type KeyLeafSigned,
} from './compute-protocol';
import { createSharedSender } from './compute-shared';

declare const PKIM_BUNDLED: boolean | undefined;

export interface ComputePool {
  /** number of worker threads */
  readonly size: number;
  /** jobs given to the workers so far */
  readonly jobs: number;
  /** the same, per kind of job (`csr-leaf`, `key-leaf`, `certificate`…) */
  readonly jobsByKind: Readonly<Partial<Record<ComputeJob['kind'], number>>>;
  /**
   * messages so far: of jobs to the workers and of answers from them (each may wake a sleeping thread: jobs and
   * answers of one turn of the sending thread's event loop travel together)
   */
  readonly messages: Readonly<{ jobs: number; answers: number }>;
  /** true when certificates and OCSP responses signed with this key can be made in the pool (a software key) */
  signsWith(uri: string): boolean;
  decodeCsr(csr: string | Uint8Array): Promise<DecodedCsr>;
  /** plan → lint → encode → sign → verify → assemble, in a worker */
  signCertificate(
    input: CertificatePlanInput,
    now: number,
    key: JobKey,
    what: string,
  ): Promise<ComputeResults['certificate']>;
  /**
   * a leaf from a CSR in one job: decode + proof of possession → the leaf checks of `leaf` (its provisioners without
   * validator functions) → plan → lint → encode → sign → verify → assemble
   */
  signCsrLeaf(csr: string | Uint8Array, leaf: CsrLeaf, now: number, key: JobKey, what: string): Promise<CsrLeafSigned>;
  /** a leaf with a key generated for it in one job: generate the key pair → plan → lint → encode → sign → verify */
  signKeyLeaf(
    keyType: KeyType,
    input: Omit<CertificatePlanInput, 'publicKey'>,
    now: number,
    key: JobKey,
    what: string,
  ): Promise<KeyLeafSigned>;
  signOcsp(input: OcspResponseInput, key: JobKey): Promise<Uint8Array>;
  /** terminates the workers; jobs still in flight fail with `worker.failed` */
  close(): Promise<void>;
}

export interface ComputePoolOptions {
  /** worker threads (≥ 1) */
  size: number;
  keys: KeyBackends;
  logger: Logger;
  /** the worker module (default: compute-worker beside this module; tests pass their own) */
  workerUrl?: URL;
  /**
   * each worker profiles its CPU (node:inspector, 200 µs sampling) and writes `<dir>/compute-worker-<pid>-<thread
   * id>-<ms>.cpuprofile` when the pool closes (the pool waits up to 5 s for it before ending the thread)
   */
  cpuProfileDir?: string;
}

function defaultWorkerUrl(): URL {
  return typeof PKIM_BUNDLED !== 'undefined' && PKIM_BUNDLED
    ? new URL('./compute-worker.mjs', import.meta.url)
    : new URL('./compute-worker.ts', import.meta.url);
}

/** Starts a worker; a TypeScript module (sources, tests) is loaded through tsx's loader registered in the worker. */
function startWorker(url: URL, keyPort: MessagePort, cpuProfileDir: string | undefined): Worker {
  const options = { workerData: { keyPort, cpuProfileDir }, transferList: [keyPort] };
  const m = workerModule(url);
  return new Worker(m.script, { ...options, eval: m.eval });
}

interface Pending {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each job's result type is its promise's
  resolve(value: any): void;
  reject(e: PkiError): void;
}

interface Slot {
  worker: Worker;
  keyPort: MessagePort;
  inFlight: Map<number, Pending>;
  /** jobs not posted yet (posted together at the end of this turn of the event loop) */
  outbox: { id: number; job: ComputeJob }[];
  /** the values this worker holds (profiles, issuer certificates, CA keys: sent once, compute-shared.ts) */
  shared: ReturnType<typeof createSharedSender>;
  ready: boolean;
  exited: boolean;
  lastError?: string;
  /** close(): the worker wrote its CPU profile (cpuProfileDir) */
  profileWritten?: () => void;
}

const failed = (message: string): PkiError => new PkiError('worker.failed', message, { retryable: true });

export function createComputePool(opts: ComputePoolOptions): ComputePool {
  if (!Number.isInteger(opts.size) || opts.size < 1) {
    throw new PkiError('input.invalid', `a compute pool needs at least one worker, not ${opts.size}`);
  }
  const { keys, logger } = opts;
  const url = opts.workerUrl ?? defaultWorkerUrl();
  const slots: Slot[] = [];
  let nextId = 1;
  let jobs = 0;
  const messages = { jobs: 0, answers: 0 };
  const jobsByKind: Partial<Record<ComputeJob['kind'], number>> = {};
  let closed = false;
  /** workers that died before they were ready, in a row: a broken installation, not a crash */
  let failedStarts = 0;
  let broken: string | undefined;

  function lend(slot: Slot, m: { type: string; uri: string; keyType: KeyType }): void {
    if (m.type !== 'need-key') return;
    void (async () => {
      const backend = keys.forUri(m.uri);
      if (!hasCapability(backend, 'lendKey')) {
        throw new PkiError('kms.unsupported', `key backend ${backend.name} does not lend keys to worker threads`);
      }
      await backend.lendKey(m.uri, m.keyType, slot.keyPort);
    })().catch((e: unknown) => {
      if (!slot.exited) slot.keyPort.postMessage({ type: 'key-error', uri: m.uri, error: toJobError(e) });
    });
  }

  function spawn(index: number): void {
    const channel = new MessageChannel();
    const worker = startWorker(url, channel.port2, opts.cpuProfileDir);
    const slot: Slot = {
      worker,
      keyPort: channel.port1,
      inFlight: new Map(),
      outbox: [],
      shared: createSharedSender(),
      ready: false,
      exited: false,
    };
    const threadId = worker.threadId;
    slots[index] = slot;
    worker.unref();
    slot.keyPort.unref();
    slot.keyPort.on('message', (m: { type: string; uri: string; keyType: KeyType }) => lend(slot, m));
    worker.on('message', (m: { ready?: true; results?: JobOutcome[]; cpuProfileWritten?: true }) => {
      if (m.ready) {
        slot.ready = true;
        failedStarts = 0;
        return;
      }
      if (m.cpuProfileWritten) {
        slot.profileWritten?.();
        return;
      }
      messages.answers++;
      for (const r of m.results ?? []) {
        const p = slot.inFlight.get(r.id);
        if (!p) continue;
        slot.inFlight.delete(r.id);
        if (r.ok) p.resolve(r.result);
        else p.reject(fromJobError(r.error ?? { code: 'internal.error', message: 'the worker failed the job' }));
      }
      if (slot.inFlight.size === 0) worker.unref();
    });
    worker.on('error', (e) => {
      slot.lastError = e.message;
    });
    worker.on('exit', (code) => {
      slot.exited = true;
      slot.keyPort.close();
      if (closed) return;
      const why = slot.lastError ?? `exit code ${code}`;
      logger.error({ worker: index, threadId, err: why }, 'a compute worker stopped; restarting it');
      for (const p of slot.inFlight.values()) {
        p.reject(failed(`the signing worker thread stopped while handling this request (${why}); retry`));
      }
      slot.inFlight.clear();
      slot.outbox = [];
      if (!slot.ready && ++failedStarts >= 3) {
        broken = `the signing worker threads cannot start (${why})`;
        logger.error({ err: why }, 'compute workers cannot start; signing requests fail until the restart');
        return;
      }
      spawn(index);
    });
  }

  function run<K extends ComputeJob['kind']>(job: Extract<ComputeJob, { kind: K }>): Promise<ComputeResults[K]> {
    if (closed) return Promise.reject(failed('the signing worker pool is closed'));
    if (broken) return Promise.reject(failed(broken));
    // started on the first job: a server that never signs (and every test server) starts no threads
    if (slots.length === 0) for (let i = 0; i < opts.size; i++) spawn(i);
    let slot = slots[0]!;
    for (const s of slots) if (s.inFlight.size < slot.inFlight.size) slot = s;
    const id = nextId++;
    jobs++;
    jobsByKind[job.kind] = (jobsByKind[job.kind] ?? 0) + 1;
    const target = slot;
    return new Promise<ComputeResults[K]>((resolve, reject) => {
      if (target.inFlight.size === 0) target.worker.ref();
      target.inFlight.set(id, { resolve, reject });
      target.outbox.push({ id, job });
      if (target.outbox.length === 1) setImmediate(() => post(target));
    });
  }

  /** the jobs a slot collected in this turn of the event loop, in one message */
  function post(slot: Slot): void {
    const jobs = slot.outbox;
    slot.outbox = [];
    if (jobs.length === 0 || slot.exited) return;
    messages.jobs++;
    slot.shared.post(jobs, (m) => slot.worker.postMessage(m));
  }

  /** asks a worker to write its CPU profile; waits for it (5 s at most: a stuck worker is terminated anyway) */
  async function writeCpuProfile(slot: Slot): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      slot.profileWritten = resolve;
      timer = setTimeout(resolve, 5000);
      slot.worker.ref();
      slot.worker.postMessage({ writeCpuProfile: true });
    });
    clearTimeout(timer);
  }

  return {
    size: opts.size,
    get jobs() {
      return jobs;
    },
    get jobsByKind() {
      return { ...jobsByKind };
    },
    get messages() {
      return { ...messages };
    },
    signsWith(uri) {
      try {
        return hasCapability(keys.forUri(uri), 'lendKey');
      } catch {
        return false;
      }
    },
    decodeCsr: (csr) => run({ kind: 'csr', csr }),
    signCertificate: (input, now, key, what) => run({ kind: 'certificate', input, now, key, what }),
    signCsrLeaf: (csr, leaf, now, key, what) => run({ kind: 'csr-leaf', csr, leaf, now, key, what }),
    signKeyLeaf: (keyType, input, now, key, what) => run({ kind: 'key-leaf', keyType, input, now, key, what }),
    signOcsp: (input, key) => run({ kind: 'ocsp', input, key }),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(
        slots.map(async (s) => {
          for (const p of s.inFlight.values()) p.reject(failed('the signing worker pool was closed'));
          s.inFlight.clear();
          s.outbox = [];
          if (opts.cpuProfileDir && s.ready && !s.exited) await writeCpuProfile(s);
          s.keyPort.close();
          await s.worker.terminate();
        }),
      );
    },
  };
}
