/**
 * What stays the same from job to job crosses to a worker once. A job carries its certificate profile, its issuer's
 * certificate and its CA's public key — the same objects for every certificate of a CA and profile —, and structured
 * clone copied them into every job message (≈ 4 of the ≈ 10 µs of cloning a `csr-leaf` job), so the worker also
 * re-hashed the issuer certificate (its facts are cached by identity) and re-encoded the CA key to find its KeyObject.
 * Now the pool's side numbers these values per worker by identity — a new object (a reloaded profile, a CA's new
 * certificate) is a new value — and puts the number in their place while the message is serialised (the job is
 * restored at once); the first message that uses a value defines it. The worker keeps the values (frozen: a job that
 * changed one would change it for the next jobs) and puts them back into each job before it runs.
 */
import type { CertificatePlanInput } from '@pkim/core';
import type { ComputeJob } from './compute-protocol';

/** one message of jobs to a worker */
export interface JobsMessage {
  jobs: { id: number; job: ComputeJob }[];
  /** values this message uses for the first time: [number, value] */
  define?: [number, unknown][];
  /** forget every value before this message's (the pool's table was full) */
  reset?: true;
}

type Holder = Record<string, unknown>;

/** the places of a job whose values stay the same from job to job: `f(holder, field)` for each */
function forEachShared(job: ComputeJob, f: (holder: Holder, field: string) => void): void {
  const ofInput = (input: Pick<CertificatePlanInput, 'profile' | 'issuer'>): void => {
    f(input, 'profile');
    if (input.issuer) f(input.issuer as unknown as Holder, 'certificateDer');
  };
  if (job.kind === 'csr-leaf') ofInput(job.leaf.input);
  else if (job.kind === 'certificate' || job.kind === 'key-leaf') ofInput(job.input);
  if (job.kind !== 'csr') f(job.key as unknown as Holder, 'publicKey');
}

/** the values a worker holds at most (the pool starts over with `reset` beyond) */
const MAX_SHARED = 256;

/** The pool's side, one per worker: posts jobs with their shared values as numbers. */
export function createSharedSender(max = MAX_SHARED): {
  post(jobs: JobsMessage['jobs'], post: (message: JobsMessage) => void): void;
} {
  const ids = new Map<unknown, number>();
  let next = 1;
  return {
    post(jobs, post) {
      const message: JobsMessage = { jobs };
      // three values per job at most: a table that could overflow in this message starts over before it
      if (ids.size + 3 * jobs.length > max) {
        ids.clear();
        message.reset = true;
      }
      const undo: [Holder, string, unknown][] = [];
      try {
        for (const { job } of jobs) {
          forEachShared(job, (holder, field) => {
            const value = holder[field];
            // a holder two jobs share is numbered already (and numbers are never values)
            if (value === undefined || typeof value === 'number') return;
            let id = ids.get(value);
            if (id === undefined) {
              id = next++;
              ids.set(value, id);
              (message.define ??= []).push([id, value]);
            }
            undo.push([holder, field, value]);
            holder[field] = id;
          });
        }
        post(message); // serialised here, synchronously
      } finally {
        for (let i = undo.length - 1; i >= 0; i--) {
          const [holder, field, value] = undo[i]!;
          holder[field] = value;
        }
      }
    },
  };
}

function deepFreeze(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || Object.isFrozen(v)) return v;
  for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}

/** The worker's side: the values it was sent, put back into each job of a message. */
export function createSharedReceiver(): { jobsOf(message: JobsMessage): JobsMessage['jobs'] } {
  const values = new Map<number, unknown>();
  return {
    jobsOf(message) {
      if (message.reset) values.clear();
      for (const [id, value] of message.define ?? []) values.set(id, deepFreeze(value));
      for (const { job } of message.jobs) {
        forEachShared(job, (holder, field) => {
          const id = holder[field];
          if (typeof id !== 'number') return;
          if (!values.has(id)) throw new Error(`a compute job refers to shared value ${id}, which this worker lacks`);
          holder[field] = values.get(id);
        });
      }
      return message.jobs;
    },
  };
}
