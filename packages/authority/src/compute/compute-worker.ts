/**
 * Entry of a compute worker thread (see compute-pool.ts): runs the jobs of compute-jobs.ts. CA keys arrive on the
 * key port from the backend that lends them (the software backend posts its node:crypto KeyObject: the same key,
 * shared, never as bytes); the worker asks for a key the first time a job needs it, so a destroyed key is asked
 * for again and refused, never waited for.
 */
import type { KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Session } from 'node:inspector/promises';
import { parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import type { KeyType } from '@pkim/shared';
import type { KeyLoanMessage } from '@pkim/keys';
import { runJob, toJobError, type JobError, type JobOutcome } from './compute-jobs';
import { createSharedReceiver, type JobsMessage } from './compute-shared';

/** what the pool's side of the key port answers besides the lender's KeyLoanMessage */
type KeyPortMessage = KeyLoanMessage | { type: 'key-error'; uri: string; error: JobError };

const port = parentPort;
const data = workerData as { keyPort?: MessagePort; cpuProfileDir?: string } | undefined;
const keyPort = data?.keyPort;
if (!port || !keyPort) throw new Error('compute-worker runs as a worker thread of the compute pool');
// ComputePoolOptions.cpuProfileDir: profiled from here to the pool's close(), which asks for the profile
const cpuProfileDir = data?.cpuProfileDir;
const profiler = cpuProfileDir ? await startCpuProfile() : undefined;

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

/** the lent key: at once when held, else a promise (asked for once, whoever waits) */
function keyOf(uri: string, keyType: KeyType): KeyObject | Promise<KeyObject> {
  const have = keys.get(uri);
  if (have) return have;
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
port.on('message', (m: JobsMessage | { writeCpuProfile: true }) => {
  if ('writeCpuProfile' in m) {
    void writeCpuProfile().finally(() => port.postMessage({ cpuProfileWritten: true }));
    return;
  }
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

/** node:inspector's sampling profiler on this thread (loaded only when a profile is asked for) */
async function startCpuProfile(): Promise<Session> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 }); // µs
  await session.post('Profiler.start');
  return session;
}

async function writeCpuProfile(): Promise<void> {
  if (!profiler || !cpuProfileDir) return;
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(
    join(cpuProfileDir, `compute-worker-${process.pid}-${threadId}-${Date.now()}.cpuprofile`),
    JSON.stringify(profile),
  );
  profiler.disconnect();
}
