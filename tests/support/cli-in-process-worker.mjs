// The thread of tests/support/cli-in-process.ts: loads the CLI's sources once (TypeScript through tsx, as
// apps/cli/bin/pkim.mjs does with PKIM_FROM_SOURCE=1) and runs `run(argv, io)` (apps/cli/src/run.ts) for each request,
// one at a time. Each reply goes back on the request's own port; a blocked caller (the synchronous runPkim) is woken
// through the request's shared flag.
import { Writable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../../apps/cli/src/run.ts');

/** a stream that keeps what is written (the run's stdout or stderr) */
function collector() {
  const chunks = [];
  const stream = new Writable({
    write(chunk, encoding, done) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** what of this thread still runs after a run (timers, sockets, handles): a leftover of the run if not at start */
const resources = () =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'MessagePort')
    .sort();

/** what runs now and did not before, once it stays (or LEFTOVER_DEADLINE_MS passed) */
async function leftovers(before) {
  const deadline = Date.now() + LEFTOVER_DEADLINE_MS;
  for (;;) {
    const now = resources();
    const left = now.filter((r, i) => now.indexOf(r) === i && count(now, r) > count(before, r));
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 10));
  }
}
const count = (list, r) => list.filter((x) => x === r).length;
const LEFTOVER_DEADLINE_MS = 30_000;

let queue = Promise.resolve();
parentPort.on('message', (m) => {
  queue = queue.then(() => serve(m));
});

async function serve({ argv, env, cwd, input, port, flag }) {
  const out = collector();
  const err = collector();
  let reply;
  try {
    const before = resources();
    const code = await run(argv, {
      stdout: out.stream,
      stderr: err.stream,
      readStdin: () => input ?? '',
      stdinIsTTY: false,
      env,
      cwd,
    });
    // a timer, socket or file operation the run left open would run on into the next test: the runner refuses it.
    // What the run closed may take a few turns of the loop to go (a socket's close, a pending fs callback): wait
    // for that, up to a deadline far beyond it (a leftover never goes)
    const left = await leftovers(before);
    reply = { code, stdout: out.text(), stderr: err.text(), left };
  } catch (e) {
    reply = { error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply);
  port.close();
  if (flag) {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  }
}
