// Runs `pkim` in the test's process: apps/cli/src/run.ts's `run(argv, io)` on a thread of its own that loads the
// CLI once (cli-in-process-worker.mjs), instead of a Node process per command (start-up and module loading:
// ≈ 0.4 s of CPU a command, docs/testing.md "Session 33: suite time"). The same signatures as cli-runner.ts's
// runPkim/runPkimAsync: a test switches by its import. runPkim blocks until the command ends, as spawnSync does
// (so a server it talks to must not run on the test's own thread: use runPkimAsync then).
//
// Each run gets its own commander program, CLI context, environment (the test's, PKIM_DATA_DIR, PKIM_LOG_LEVEL
// silent, opts.env) and stdin (opts.input), and must leave no timer, socket or handle running (the run fails
// otherwise). The working directory is the process's: it is `opts.cwd` while a run lasts (relative file paths of
// the command line), and runs with different directories may not overlap. What the binary alone does — exit codes
// as a process, stdout/stderr as pipes, the compiled bundle's chunks — is tested by one spawned test per command
// group (cli-runner.ts) and apps/cli/test/startup-loads.test.ts.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type CliOptions, type CliResult } from './cli-runner';

export { PKIM_BIN, REPO_ROOT, type CliOptions, type CliResult } from './cli-runner';

/** a command, and the wait for what it closes, may take this long before the run is reported as hung */
const TIMEOUT_MS = 120_000;

interface Reply {
  code?: number;
  stdout?: string;
  stderr?: string;
  left?: string[];
  error?: string;
}

let worker: Worker | undefined;
function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./cli-in-process-worker.mjs', import.meta.url));
  w.unref(); // the test process ends when its tests do
  w.on('error', () => (worker = undefined));
  w.on('exit', () => (worker = undefined));
  worker = w;
  return w;
}

/** commands that do not open the authority (or create the data dir themselves): as cli-runner.ts */
const NO_INIT = new Set(['init', 'serve', 'db', 'backup', 'restore', 'keystore', 'help']);

function environment(opts: CliOptions): Record<string, string | undefined> {
  return { ...process.env, PKIM_DATA_DIR: opts.dataDir, PKIM_LOG_LEVEL: 'silent', ...opts.env };
}

/** `pkim init` is due first (cli-runner.ts's CliOptions.init) */
function needsInit(args: string[], opts: CliOptions): boolean {
  const command = args.find((a) => !a.startsWith('-'));
  const env = environment(opts);
  if (opts.init === false || !opts.dataDir || !command || NO_INIT.has(command)) return false;
  if (args.includes('--help') || args.includes('--data-dir') || args.includes('--config')) return false;
  if (args.includes('--database-url') || env.PKIM_DATABASE_URL || env.PKIM_CONFIG) return false;
  return !existsSync(join(opts.dataDir, 'pkim.db'));
}

function result(args: string[], r: Reply): CliResult {
  if (r.error !== undefined) throw new Error(`pkim ${args.join(' ')} threw in the in-process runner: ${r.error}`);
  if (r.left?.length) {
    throw new Error(`pkim ${args.join(' ')} left running: ${r.left.join(', ')} (a run must close what it opens)`);
  }
  const stdout = r.stdout ?? '';
  return {
    code: r.code ?? -1,
    stdout,
    stderr: r.stderr ?? '',
    json() {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`pkim ${args.join(' ')} did not print JSON (exit ${r.code}):\n${stdout}\n${r.stderr}`);
      }
    },
  };
}

/** the working directory of the runs in flight (process-wide) */
let inFlight = 0;
let home: string | undefined;
function enter(cwd: string): void {
  if (inFlight > 0 && process.cwd() !== cwd) {
    throw new Error(`in-process pkim runs in ${process.cwd()} and ${cwd} at once: one working directory at a time`);
  }
  if (inFlight++ === 0) home = process.cwd();
  process.chdir(cwd);
}
function leave(): void {
  if (--inFlight === 0 && home !== undefined) process.chdir(home);
}

function post(args: string[], opts: CliOptions, port: MessagePort, flag?: Int32Array): void {
  const cwd = opts.cwd ?? REPO_ROOT;
  const message = { argv: args, env: environment(opts), cwd, input: opts.input, port, flag };
  thread().postMessage(message, [port]);
}

function runSync(args: string[], opts: CliOptions): CliResult {
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  enter(opts.cwd ?? REPO_ROOT);
  try {
    post(args, opts, port2, flag);
    if (Atomics.wait(flag, 0, 0, TIMEOUT_MS) === 'timed-out') {
      throw new Error(`pkim ${args.join(' ')} did not end within ${TIMEOUT_MS / 1000} s (in-process runner)`);
    }
    const m = receiveMessageOnPort(port1);
    if (!m) throw new Error(`pkim ${args.join(' ')}: the in-process runner gave no answer`);
    return result(args, m.message as Reply);
  } finally {
    port1.close();
    leave();
  }
}

async function runAsync(args: string[], opts: CliOptions): Promise<CliResult> {
  const { port1, port2 } = new MessageChannel();
  enter(opts.cwd ?? REPO_ROOT);
  try {
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`pkim ${args.join(' ')} did not end within ${TIMEOUT_MS / 1000} s (in-process)`)),
        TIMEOUT_MS,
      );
      port1.once('message', (m: Reply) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
    post(args, opts, port2);
    return result(args, await reply);
  } finally {
    port1.close();
    leave();
  }
}

/** cli-runner.ts's runPkim, in this process */
export function runPkim(args: string[], opts: CliOptions): CliResult {
  if (needsInit(args, opts)) {
    const r = runSync(['init'], opts);
    if (r.code !== 0) throw new Error(`pkim init (before pkim ${args.join(' ')}) failed: ${r.stderr}`);
  }
  return runSync(args, opts);
}

/** cli-runner.ts's runPkimAsync, in this process: the test's event loop keeps running meanwhile */
export async function runPkimAsync(args: string[], opts: CliOptions): Promise<CliResult> {
  if (needsInit(args, opts)) {
    const r = await runAsync(['init'], opts);
    if (r.code !== 0) throw new Error(`pkim init (before pkim ${args.join(' ')}) failed: ${r.stderr}`);
  }
  return runAsync(args, opts);
}
