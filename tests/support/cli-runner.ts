// Runs the real `pkim` CLI as a child process: the compiled CLI that tests/global-setup.ts builds once per run
// (PKIM_TEST_BIN), or the TypeScript launcher apps/cli/bin/pkim.mjs when a test runs without that setup.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKIM_BIN = process.env.PKIM_TEST_BIN ?? join(REPO_ROOT, 'apps/cli/bin/pkim.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  json<T = any>(): T;
}

export interface CliOptions {
  dataDir: string;
  env?: Record<string, string>;
  input?: string;
  cwd?: string;
  /**
   * run `pkim init` on a data dir without a database before the first command that needs one, as a user does
   * (default true; commands other than init refuse a data dir that was never initialised). false: don't.
   */
  init?: boolean;
}

/** commands that do not open the authority (or create the data dir themselves) */
const NO_INIT = new Set(['init', 'serve', 'db', 'backup', 'restore', 'keystore', 'help']);

/** `pkim init` once for a SQLite data dir that has no database yet (see CliOptions.init). */
function ensureInitialised(args: string[], opts: CliOptions): void {
  const command = args.find((a) => !a.startsWith('-'));
  const env = { ...process.env, ...opts.env };
  if (opts.init === false || !opts.dataDir || !command || NO_INIT.has(command)) return;
  if (args.includes('--help') || args.includes('--data-dir') || args.includes('--config')) return;
  if (args.includes('--database-url') || env.PKIM_DATABASE_URL || env.PKIM_CONFIG) return;
  if (existsSync(join(opts.dataDir, 'pkim.db'))) return;
  const r = spawnSync(process.execPath, [PKIM_BIN, 'init'], {
    ...spawnOptions(opts),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`pkim init (before pkim ${args.join(' ')}) failed: ${r.stderr}`);
}

const spawnOptions = (opts: CliOptions) => ({
  cwd: opts.cwd ?? REPO_ROOT,
  env: { ...process.env, PKIM_DATA_DIR: opts.dataDir, PKIM_LOG_LEVEL: 'silent', ...opts.env },
});

function result(args: string[], status: number | null, stdout: string, stderr: string): CliResult {
  return {
    code: status ?? -1,
    stdout,
    stderr,
    json() {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`pkim ${args.join(' ')} did not print JSON (exit ${status}):\n${stdout}\n${stderr}`);
      }
    },
  };
}

export function runPkim(args: string[], opts: CliOptions): CliResult {
  ensureInitialised(args, opts);
  const r = spawnSync(process.execPath, [PKIM_BIN, ...args], {
    ...spawnOptions(opts),
    input: opts.input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return result(args, r.status, r.stdout ?? '', r.stderr ?? '');
}

/**
 * The same without blocking the test's event loop: use it in tests that hold HTTP keep-alive connections
 * (a blocked loop cannot expire an idle pooled socket the server already closed, so the next request fails
 * with "other side closed").
 */
export function runPkimAsync(args: string[], opts: CliOptions): Promise<CliResult> {
  ensureInitialised(args, opts);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PKIM_BIN, ...args], { ...spawnOptions(opts), timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve(result(args, status, stdout, stderr)));
    child.stdin.end(opts.input ?? '');
  });
}
