// A real `pkim serve` for the tests that talk to one (the remote CLI, issue #17 item 2; Vault clients; the banner):
// on 127.0.0.1, port 0, with a data dir of its own; ready when it says so (its JSON line, or the banner's). And
// `outputShape`: a command's JSON with what differs between any two runs (ids, serials, times, PEMs, secrets)
// replaced by its type, so a local and a remote run compare equal.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { basename } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import * as spawned from './cli-runner';
import { PKIM_BIN, REPO_ROOT, type CliResult } from './cli-runner';
import * as inProcess from './cli-in-process';
import { TEST_SERVE_ENV } from './test-kit';

export interface PkimServer {
  child: ChildProcess;
  url: string;
  /** what the server has printed on stdout so far */
  output(): string;
  /** its exit: the code, or null when a signal ended it */
  exited: Promise<number | null>;
  /** SIGTERM, then its exit (at once if it has exited) */
  stop(): Promise<void>;
}

export interface PkimServeOptions {
  /**
   * `pkim --json serve` (default): ready at its one JSON line, which carries the URL. false: the banner (JSON log
   * lines when stdout is not a terminal), ready at "pkim listening on <url>" — for tests of the banner itself.
   */
  json?: boolean;
}

/** the banner's ready line */
const LISTENING = /pkim listening on (https?:\/\/[^\s"]+)/;

/**
 * Starts `pkim serve` on port 0 (127.0.0.1 unless `args` say otherwise) for a data dir, and resolves once it is
 * ready: on the line that says so, not after a poll or a deadline — start-up (first boot: the administrator's
 * password hash, every migration) is CPU-bound and took 25 s at load 25; the hook's or test's own timeout bounds a
 * hang, and a server that exits first rejects at once with its output. The environment: log level silent, jobs
 * every 10 min, idle sockets kept TEST_SERVE_ENV's 10 min (test-kit.ts); `env` overrides any of them.
 */
export function startPkimServer(
  dataDir: string,
  args: string[],
  env: Record<string, string>,
  options: PkimServeOptions = {},
): Promise<PkimServer> {
  const json = options.json ?? true;
  const child = spawn(process.execPath, [PKIM_BIN, ...(json ? ['--json'] : []), 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PKIM_LOG_LEVEL: 'silent',
      PKIM_JOBS_INTERVAL_MS: '600000',
      ...TEST_SERVE_ENV,
      ...env,
      PKIM_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  /** the URL once the server says it is ready */
  const ready = (): string | undefined => {
    if (!json) return LISTENING.exec(out)?.[1];
    // (a log line at a level other than silent may come first: the one line is the object that starts with the URL)
    const line = out
      .split('\n')
      .slice(0, -1)
      .find((l) => l.startsWith('{"url":'));
    return line ? (JSON.parse(line) as { url: string }).url : undefined;
  };
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const url = ready();
      if (url) resolve({ child, url, output: () => out, exited, stop });
    });
    child.on('error', reject);
    void exited.then((code) => reject(new Error(`pkim serve exited (${code ?? child.signalCode}):\n${out}\n${err}`)));
  });
}

/** a TCP port nobody listens on */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** fields whose values differ between any two runs (ids, serials, times, PEMs, hashes, secrets, the actor) */
export const VOLATILE_FIELDS = new Set([
  'id',
  'parentId',
  'caId',
  'serial',
  'notBefore',
  'notAfter',
  'createdAt',
  'updatedAt',
  'revokedAt',
  'thisUpdate',
  'nextUpdate',
  'keyUri',
  'ski',
  'aki',
  'fingerprintSha256',
  'certificatePem',
  'chainPem',
  'privateKeyPem',
  'pem',
  'issuedBy',
  'count',
  'lastHash',
  'checkpoint',
]);

/** the output with volatile values replaced by their type, paths under `dir` by their file name */
export function outputShape(
  v: unknown,
  dir: string,
  volatile: ReadonlySet<string> = VOLATILE_FIELDS,
  key = '',
): unknown {
  if (volatile.has(key)) return v === null ? null : `<${typeof v}>`;
  if (typeof v === 'string' && v.startsWith(dir)) return basename(v);
  if (Array.isArray(v)) return v.map((x) => outputShape(x, dir, volatile));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, outputShape(x, dir, volatile, k)]));
  return v;
}

/** prefixed ids inside strings (URLs with a CA id, an id in a message) */
const ID_IN_TEXT = /\b[a-z]{2,4}_[0-9a-z]{20,}\b/g;

/** what two modes' outputs share: `outputShape` over VOLATILE_FIELDS and `more`, ids inside strings as `<id>` */
export function comparableShape(v: unknown, dir: string, more: readonly string[]): unknown {
  const shaped = outputShape(v, dir, new Set([...VOLATILE_FIELDS, ...more]));
  return JSON.parse(JSON.stringify(shaped).replace(ID_IN_TEXT, '<id>')) as unknown;
}

/** one command's exit code and `--json` output (stdout, or the error object on stderr; text if not JSON) */
export interface CliStep {
  code: number;
  json: unknown;
}

/**
 * Records the steps of a flow run in one mode: `run(name, line)` runs `pkim <line> --json` (words split on spaces,
 * so paths must have none) and returns the parsed output; `steps` by name, for comparing two modes.
 */
export function stepRecorder(pkim: (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>) {
  const steps: Record<string, CliStep> = {};
  const run = async (name: string, line: string) => {
    const r = await pkim(...line.split(' '), '--json');
    const text = r.code === 0 ? r.stdout : r.stderr;
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      /* kept as text: the comparison shows it */
    }
    steps[name] = { code: r.code, json };
    return json as Record<string, unknown>;
  };
  return { steps, run };
}

type Flow = (pkim: (...args: string[]) => Promise<CliResult>, outDir: string) => Promise<Record<string, CliStep>>;

/** how a flow's `pkim` commands run: cli-in-process.ts (in the test's process) or cli-runner.ts (spawned) */
export type PkimRunner = Pick<typeof inProcess, 'runPkim' | 'runPkimAsync'>;

/**
 * Runs `flow` twice side by side: on a fresh local data dir (`<dir>/local-data`, files in `<dir>/local-out`) and
 * through a `pkim serve` on `<dir>/server-data` with an admin token (no data dir at all; files in `<dir>/remote-out`).
 * The commands run in the test's process (`runner`: cli-in-process.ts); the server is a `pkim serve` child.
 */
export async function inBothModes(
  dir: string,
  env: Record<string, string>,
  flow: Flow,
  runner: PkimRunner = inProcess,
) {
  const { runPkim, runPkimAsync } = runner;
  const created = runPkim(['token', 'create', '--name', 'remote-flow', '--role', 'admin', '--json'], {
    dataDir: `${dir}/server-data`,
    env,
  });
  if (created.code !== 0) throw new Error(`token create failed: ${created.stderr}`);
  const token = created.json<{ token: string }>().token;
  const server = await startPkimServer(`${dir}/server-data`, [], env);
  const [local, remote] = await Promise.all([
    flow((...args) => runPkimAsync(args, { dataDir: `${dir}/local-data`, env }), `${dir}/local-out`),
    flow(
      (...args) =>
        runPkimAsync(args, {
          dataDir: `${dir}/no-data-here`,
          init: false,
          env: { ...env, PKIM_SERVER: server.url, PKIM_TOKEN: token },
        }),
      `${dir}/remote-out`,
    ),
  ]);
  return { server, local, remote };
}

/**
 * The two modes' runs of one flow agree: the same steps in the same order, each with the same exit code and the
 * same JSON once `shape` has put aside what differs between any two runs (soft: every differing step is reported).
 */
export function expectSameSteps(
  local: Record<string, CliStep>,
  remote: Record<string, CliStep>,
  shape: (json: unknown) => unknown,
): void {
  expect(Object.keys(remote)).toEqual(Object.keys(local));
  // each mode writes and reads its files in its own directory (`inBothModes`): a message naming a file names it there
  const sameDir = (json: unknown): unknown =>
    json === undefined ? json : JSON.parse(JSON.stringify(json).replace(/\/(local|remote)-out\//g, '/<mode>-out/'));
  for (const [name, l] of Object.entries(local)) {
    const r = remote[name]!;
    const [lj, rj] = [sameDir(shape(l.json)), sameDir(shape(r.json))];
    expect.soft({ code: r.code, json: rj }, name).toEqual({ code: l.code, json: lj });
  }
}

/**
 * Registers the suite's beforeAll (`flow` in both modes, {@link inBothModes}, after `before`) and afterAll (the
 * server stopped, then `after`); the tests read the server and both runs from the returned object once it has run.
 * `spawned`: each command a process of its own (cli-runner.ts), for what only a process has — SoftHSM2 reads
 * SOFTHSM2_CONF once per process (ca-import-existing-kms-cli).
 */
export function bothModesSuite(
  dir: string,
  env: Record<string, string>,
  flow: Flow,
  hooks: { before?: () => void; after?: () => void; spawned?: boolean } = {},
): { server: PkimServer; local: Record<string, CliStep>; remote: Record<string, CliStep> } {
  const runs = {} as ReturnType<typeof bothModesSuite>;
  beforeAll(async () => {
    hooks.before?.();
    Object.assign(runs, await inBothModes(dir, env, flow, hooks.spawned ? spawned : inProcess));
  }, 240_000);
  afterAll(async () => {
    await runs.server?.stop();
    hooks.after?.();
  });
  return runs;
}
