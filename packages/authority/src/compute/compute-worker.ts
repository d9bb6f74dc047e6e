/**
 * Entry of a compute worker thread (see compute-pool.ts): runs the jobs of compute-jobs.ts. CA keys arrive on the
 * key port from the backend that lends them (the software backend posts its node:crypto KeyObject: the same key,
 * shared, never as bytes); the worker asks for a key the first time a job needs it, so a destroyed key is asked
 * for again and refused, never waited for.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { KeyType } from '@pkim/shared';
import type { KeyLoanMessage } from '@pkim/keys';
import { runJob, toJobError, type JobError, type JobOutcome } from './compute-jobs';
import { createSharedReceiver, type JobsMessage } from './compute-shared';

/** what the pool's side of the key port answers besides the lender's KeyLoanMessage */
type KeyPortMessage = KeyLoanMessage | { type: 'key-error'; uri: string; error: JobError };

const port = parentPort;
const keyPort = (workerData as { keyPort?: MessagePort } | undefined)?.keyPort;
if (!port || !keyPort) throw new Error('compute-worker runs as a worker thread of the compute pool');

const keys = new Map<string, KeyObject>();
const waiting = new Map<string, { resolve: (k: KeyObject) => void; reject: (e: JobError) => void }[]>();

keyPort.on('message', (m: KeyPortMessage) => {
  if (m.type === 'key') keys.set(m.uri, m.key);
  else keys.delete(m.uri);
  const waiters = waiting.get(m.uri);
  if (m.type === 'drop' || !waiters) return;
  waiting.delete(m.uri);
  for (const w of waiters) {
    if (m.type === 'key') w.resolve(m.key);
    else w.reject(m.error);
  }
});

function keyOf(uri: string, keyType: KeyType): Promise<KeyObject> {
  const have = keys.get(uri);
  if (have) return Promise.resolve(have);
  return new Promise((resolve, reject) => {
    const list = waiting.get(uri);
    if (list) list.push({ resolve, reject });
    else {
      waiting.set(uri, [{ resolve, reject }]);
      keyPort!.postMessage({ type: 'need-key', uri, keyType });
    }
  });
}

/** answers finished in this turn of the event loop, sent together (one wake-up of the main thread) */
let outbox: JobOutcome[] = [];
function answer(o: JobOutcome): void {
  outbox.push(o);
  if (outbox.length === 1) {
    setImmediate(() => {
      const results = outbox;
      outbox = [];
      port!.postMessage({ results });
    });
  }
}

const shared = createSharedReceiver();
port.on('message', (m: JobsMessage) => {
  for (const { id, job } of shared.jobsOf(m)) {
    runJob(job, keyOf).then(
      (result) => answer({ id, ok: true, result }),
      (e: unknown) => answer({ id, ok: false, error: isJobError(e) ? e : toJobError(e) }),
    );
  }
});
port.postMessage({ ready: true });

function isJobError(e: unknown): e is JobError {
  return typeof e === 'object' && e !== null && !(e instanceof Error) && 'code' in e && 'message' in e;
}
