// Runs the real `pkim` CLI (apps/cli/bin/pkim.mjs) as a child process.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKIM_BIN = join(REPO_ROOT, 'apps/cli/bin/pkim.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

export function runPkim(
  args: string[],
  opts: { dataDir: string; env?: Record<string, string>; input?: string; cwd?: string },
): CliResult {
  const r = spawnSync(process.execPath, [PKIM_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, PKIM_DATA_DIR: opts.dataDir, PKIM_LOG_LEVEL: 'silent', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const stdout = r.stdout ?? '';
  return {
    code: r.status ?? -1,
    stdout,
    stderr: r.stderr ?? '',
    json() {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`pkim ${args.join(' ')} did not print JSON (exit ${r.status}):\n${stdout}\n${r.stderr}`);
      }
    },
  };
}
