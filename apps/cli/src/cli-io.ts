import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';

/** where a run of `pkim` writes: process.stdout/stderr for the binary, a collecting stream in a test's process */
export type CliWriter = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * What one run of `pkim` (run.ts) reads and writes besides files: the binary's process streams and environment
 * (processIo), or a test's (tests/support/cli-in-process.ts). Commands reach it through the CLI context (`ctx.io`)
 * or, in helpers that have no context (a `-` file argument read from stdin), through cliIo().
 */
export interface CliIo {
  stdout: CliWriter;
  stderr: CliWriter;
  /** everything on stdin, read when a command asks for it (`--csr -`, `pkim login`) */
  readStdin(): string;
  stdinIsTTY: boolean;
  /** the environment the configuration is read from; undefined: the process's (read in config/cli-config.ts) */
  env?: Record<string, string | undefined>;
  /** the directory the configuration's relative paths resolve against */
  cwd: string;
  /**
   * the binary's way to stop at once (process.exit): `pkim __complete` past its deadline, `pkim keystore run` on
   * SIGINT/SIGTERM. Without it (a run in a test's process) those commands return instead.
   */
  exit?(code: number): void;
}

/** the binary's: process.stdout/stderr, stdin (fd 0), the process environment and working directory */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    readStdin: () => readFileSync(0, 'utf8'),
    stdinIsTTY: !!process.stdin.isTTY,
    cwd: process.cwd(),
    exit: (code) => process.exit(code),
  };
}

const current = new AsyncLocalStorage<CliIo>();

/** runs `f` with `io` as the run's (cliIo() inside it, its timers and promises included) */
export function withCliIo<T>(io: CliIo, f: () => Promise<T>): Promise<T> {
  return current.run(io, f);
}

/** the io of the run this code is part of (the process's outside a run: a helper's own unit test) */
export function cliIo(): CliIo {
  return current.getStore() ?? processIo();
}

/** `-` as a file argument: stdin; otherwise the file */
export function readFileOrStdin(path: string): string {
  return path === '-' ? cliIo().readStdin() : readFileSync(path, 'utf8');
}
